//! The indexing pipeline: scan → hash → decode → embed → store, in parallel, resumable.
//!
//! Worker threads read, hash, decode and embed files, and make each new content's thumbnail,
//! pixel signature and facet descriptors ([`crate::features::Facet`]: colour, texture) from the
//! image decoded for the embedding (content indexed before signatures or facets existed is
//! decoded once more, for them alone); the calling thread writes their results to
//! the store in batches. A batch is one transaction, so a crash loses at most the batch in flight
//! and the next run carries on from there.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::decode::signature::{self, GRID};
use crate::decode::thumbnail::{THUMBNAIL_SIZE, encode_thumbnail, make_thumbnail};
use crate::decode::{self, DecodeOptions};
use crate::features::{Extractor, facet_descriptors, l2_normalize};
use crate::scan::{self, FileEntry, Skipped};
use crate::store::HAS_SIGNATURE;
use crate::store::{FileRecord, FileUpdate, Hash, Hashes, Store};

/// Most worker threads an indexing run takes: each holds a decoded image and the model's
/// buffers, and beyond a few per core they only add memory.
pub const MAX_THREADS: usize = 256;

/// Checks a worker thread count: 0 (one per core, plus one) up to [`MAX_THREADS`]. The error
/// is the rule, for the caller to prefix with where the value came from.
pub fn check_threads(threads: usize) -> Result<usize, &'static str> {
    if threads <= MAX_THREADS {
        Ok(threads)
    } else {
        Err("at most 256 worker threads (0: one per core, plus one)")
    }
}

/// The worker threads [`IndexOptions::threads`] asks for: `threads`, or for 0 one per CPU
/// core plus one.
pub fn worker_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get()) + 1
    } else {
        threads
    }
}

/// Settings of one indexing run.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexOptions {
    /// How images are decoded.
    pub decode: DecodeOptions,
    /// Worker threads; 0 means one per CPU core plus one, so that a thread waiting on the disk
    /// leaves no core idle.
    pub threads: usize,
    /// Largest number of files written per transaction.
    pub batch: usize,
    /// Longest time results wait before they are written.
    pub batch_interval: Duration,
    /// Files larger than this are skipped unread.
    pub max_file_bytes: u64,
    /// Whether new content gets a thumbnail ([`crate::decode::thumbnail`]) in the store.
    pub thumbnails: bool,
    /// Whether content gets the vectors of the facets' descriptors
    /// ([`crate::features::facet_descriptors`]) beside the extractor's, under their own
    /// feature ids; content indexed without them gets them on the next run that makes them.
    pub facets: bool,
    /// Only shard I of N (1 ≤ I ≤ N, see [`in_shard`]): the files of other shards are neither
    /// read, recorded nor removed. `None` takes every file.
    pub shard: Option<(u32, u32)>,
}

/// Checks a shard as `--shard I/N` writes it: whole numbers with 1 ≤ I ≤ N. The error is the
/// rule, for the caller to prefix with where the value came from.
pub fn parse_shard(text: &str) -> Result<(u32, u32), &'static str> {
    let rule = "a shard is I/N with whole numbers 1 ≤ I ≤ N, e.g. 2/3";
    let (i, n) = text.split_once('/').ok_or(rule)?;
    let (i, n) = (
        i.trim().parse::<u32>().map_err(|_| rule)?,
        n.trim().parse::<u32>().map_err(|_| rule)?,
    );
    if i >= 1 && i <= n {
        Ok((i, n))
    } else {
        Err(rule)
    }
}

/// The shard (1..=`count`) of a file whose path relative to the indexed folder is `relative`:
/// the first 8 bytes of the blake3 hash of the path's bytes (UTF-8 where the platform's paths
/// are not bytes), as a little-endian u64, mod `count`, plus 1. It depends only on the
/// relative path, so every machine splits a folder the same way wherever it is mounted.
/// `count` must be at least 1.
pub fn shard_of(relative: &Path, count: u32) -> u32 {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(relative.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = relative.to_string_lossy().replace('\\', "/").into_bytes();
    let hash = blake3::hash(&bytes);
    let first: [u8; 8] = hash.as_bytes()[..8].try_into().expect("32 bytes");
    (u64::from_le_bytes(first) % u64::from(count)) as u32 + 1
}

/// Whether `path` (at or below `root`) falls in `shard` (I, N); every path does without one.
pub fn in_shard(root: &Path, path: &Path, shard: Option<(u32, u32)>) -> bool {
    match shard {
        None => true,
        Some((i, n)) => shard_of(path.strip_prefix(root).unwrap_or(path), n) == i,
    }
}

impl Default for IndexOptions {
    /// One thread per core, batches of 64 files or 1 s, files up to 256 MiB, thumbnails and
    /// facets on:
    /// the values of `config/default.toml` (a test in `config` keeps the two the same).
    fn default() -> Self {
        IndexOptions {
            decode: DecodeOptions::default(),
            threads: 0,
            batch: 64,
            batch_interval: Duration::from_millis(1000),
            max_file_bytes: 256 << 20,
            thumbnails: true,
            facets: true,
            shard: None,
        }
    }
}

/// What the indexer reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The walk is over.
    Scanned {
        /// Images found.
        found: usize,
        /// Of which need reading (new or changed).
        to_process: usize,
    },
    /// Files handled so far.
    Processed {
        /// Files handled.
        done: usize,
        /// Files to handle in all.
        to_process: usize,
    },
}

/// The outcome of an indexing run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The folder indexed, absolute.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub root: PathBuf,
    /// The feature id the vectors are stored under.
    pub feature: String,
    /// Image files found by the walk (in every shard).
    pub found: usize,
    /// The shard this run took, when it took one.
    pub shard: Option<ShardTaken>,
    /// Files embedded in this run.
    pub embedded: usize,
    /// Thumbnails made in this run (one per new content, when thumbnails are on).
    pub thumbnails: usize,
    /// Pixel signatures made in this run: one per new content, and one per content indexed
    /// before signatures were kept.
    #[serde(default)]
    pub signatures: usize,
    /// Files whose vector was already stored (unchanged, renamed or duplicate content).
    pub cached: usize,
    /// Files removed from the store because they are gone from disk.
    pub removed: usize,
    /// Files new to the store or whose content changed since it was recorded (embedded or
    /// not), so the collection differs from the stored one even when nothing was embedded.
    pub changed: usize,
    /// Files that could not be used, with reasons.
    pub skipped: Vec<Skipped>,
    /// Whether the run was stopped before it finished.
    pub interrupted: bool,
    /// The symlinks to folders the walk followed ([`scan::Scan::linked`]), for a watch of the
    /// folder to watch too; not part of the JSON summary.
    #[serde(skip)]
    pub linked: Vec<PathBuf>,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Embedded images per second.
    pub images_per_second: f64,
}

/// The part of a folder a sharded run took ([`IndexOptions::shard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTaken {
    /// I, 1-based.
    pub index: u32,
    /// N, the number of shards.
    pub count: u32,
    /// Image files found in this shard, of [`Summary::found`].
    pub files: usize,
}

impl Summary {
    /// Whether the folder's collection differs from the one before the run: images embedded,
    /// removed, or with new content (a copy or a swap needs no embedding but changes it).
    pub fn changed_collection(&self) -> bool {
        self.embedded > 0 || self.removed > 0 || self.changed > 0
    }
}

/// Where a file's work ended.
enum Outcome {
    Embedded(FileUpdate),
    Cached(FileUpdate),
    Skipped(Skipped),
}

/// Brings the store up to date with the images at or below `root`.
///
/// `cancel` stops the run early (Ctrl-C): work already done is kept.
///
/// Fails when the folder cannot be scanned or the store cannot be written; files that cannot
/// be used are skipped with their reason instead.
pub fn index(
    root: &Path,
    store: &mut Store,
    extractor: &dyn Extractor,
    opts: &IndexOptions,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &AtomicBool,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let root = scan::resolve_root(root)?;
    let feature = feature_id(extractor, &opts.decode);
    let mut walk = scan::scan(&root);
    let found = walk.files.len();
    if opts.shard.is_some() {
        walk.files.retain(|f| in_shard(&root, &f.path, opts.shard));
        walk.skipped
            .retain(|s| in_shard(&root, &s.path, opts.shard));
    }
    let shard = opts.shard.map(|(index, count)| ShardTaken {
        index,
        count,
        files: walk.files.len(),
    });

    // Files of other shards are another machine's: not known here, so never removed.
    let mut stored_files = store.files_under(&root)?;
    stored_files.retain(|(p, _)| in_shard(&root, p, opts.shard));
    // Keyed by the paths' bytes: hashing a `Path` parses its components, which at a million
    // files cost more than the rest of a re-index that finds nothing to do.
    let known: FxHashMap<&OsStr, &FileRecord> = stored_files
        .iter()
        .map(|(p, r)| (p.as_os_str(), r))
        .collect();
    let on_disk: FxHashSet<&OsStr> = walk.files.iter().map(|f| f.path.as_os_str()).collect();
    let gone: Vec<PathBuf> = stored_files
        .iter()
        .filter(|(p, _)| !on_disk.contains(p.as_os_str()))
        .map(|(p, _)| p.clone())
        .collect();
    store.remove_files(&gone)?;

    // The facets' descriptors, each under its own feature id (one the extractor itself
    // answers for is not made twice).
    let facets: Vec<(&dyn Extractor, String)> = facet_descriptors()
        .filter(|_| opts.facets)
        .map(|e| (e, feature_id(e, &opts.decode)))
        .filter(|(_, id)| *id != feature)
        .collect();
    // What each content has: bit 0 its vector, bits 1.. its facets' vectors, and a signature.
    let features: Vec<&str> = std::iter::once(feature.as_str())
        .chain(facets.iter().map(|(_, id)| id.as_str()))
        .collect();
    let held = store.content_held(&features)?;
    let facet_bits = ((1u32 << features.len()) - 1) & !1;
    let complete = 1 | facet_bits | HAS_SIGNATURE;
    // Files the store describes are not read; every other one is read and hashed (and
    // embedded only if its content is new, decoded for its signature and facets only if it
    // lacks them).
    let (cached, todo): (Vec<&FileEntry>, Vec<&FileEntry>) = walk.files.iter().partition(|f| {
        known.get(f.path.as_os_str()).is_some_and(|r| {
            r.describes(f) && held.get(&r.hash).is_some_and(|m| m & complete == complete)
        })
    });
    // The content with a vector, a signature, and every facet's vector: wanted only when
    // there is work to do.
    let with = |bits: u32| -> Hashes {
        match todo.is_empty() {
            true => Hashes::default(),
            false => held
                .iter()
                .filter(|(_, m)| *m & bits == bits)
                .map(|(h, _)| *h)
                .collect(),
        }
    };
    let faceted = with(match facets.is_empty() {
        true => 1,
        false => facet_bits,
    });
    let (stored, signed) = (with(1), with(HAS_SIGNATURE));
    drop(held);
    let mut summary = Summary {
        root: root.clone(),
        feature: feature.clone(),
        found,
        shard,
        embedded: 0,
        thumbnails: 0,
        signatures: 0,
        cached: cached.len(),
        removed: gone.len(),
        changed: 0,
        skipped: walk.skipped,
        interrupted: false,
        linked: walk.linked,
        seconds: 0.0,
        images_per_second: 0.0,
    };
    progress(Progress::Scanned {
        found: summary.found,
        to_process: todo.len(),
    });

    let threads = worker_threads(opts.threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("imgtui-index-{i}"))
        .build()?;
    // Content already claimed by a worker in this run, so duplicates are embedded once.
    let claimed = Mutex::new(stored);
    // Content that has a signature, or whose signature a worker is making in this run.
    let signed = Mutex::new(signed);
    // Content that has its facet vectors, or whose facet vectors a worker is making.
    let faceted = Mutex::new(faceted);
    let extras = Extras {
        signed: &signed,
        faceted: &faceted,
        facets: &facets,
    };
    // Content that has a thumbnail already (made for another feature, or by the explorer).
    let with_thumbnail = if opts.thumbnails && !todo.is_empty() {
        store.hashes_with_thumbnails()?
    } else {
        Hashes::default()
    };
    let recorded: FxHashMap<&OsStr, Hash> = known.iter().map(|(&p, r)| (p, r.hash)).collect();
    // Each outcome travels with whether it changes the path's recorded content.
    let (tx, rx) = crossbeam_channel::bounded::<(Outcome, bool)>(threads * 4);

    let embed_started = Instant::now();
    let write_result = std::thread::scope(|s| {
        s.spawn(|| {
            pool.install(|| {
                todo.par_iter()
                    .with_max_len(1)
                    .for_each_with(tx, |tx, file| {
                        if cancel.load(Ordering::Relaxed) {
                            return;
                        }
                        let outcome =
                            process(file, extractor, opts, &claimed, &extras, &with_thumbnail);
                        let changed = match &outcome {
                            Outcome::Embedded(u) | Outcome::Cached(u) => {
                                recorded.get(u.file.path.as_os_str()) != Some(&u.hash)
                            }
                            Outcome::Skipped(_) => false,
                        };
                        let _ = tx.send((outcome, changed));
                    });
            })
        });
        write_results(
            store,
            &feature,
            &rx,
            opts,
            todo.len(),
            &mut summary,
            progress,
        )
    });
    write_result?;
    // A file that was an image and no longer is one (overwritten with other content,
    // emptied, unreadable) drops out: its old vector must not answer for it.
    // (One the walk left out, a FIFO or a broken link now, went with the files gone.)
    let unusable: Vec<PathBuf> = summary
        .skipped
        .iter()
        .filter(|s| {
            recorded.contains_key(s.path.as_os_str()) && on_disk.contains(s.path.as_os_str())
        })
        .map(|s| s.path.clone())
        .collect();
    store.remove_files(&unusable)?;
    summary.removed += unusable.len();

    summary.interrupted = cancel.load(Ordering::Relaxed);
    // Content no file has any more (a file deleted, or overwritten with other content)
    // leaves its vector and thumbnail behind until collected.
    if !summary.interrupted && (summary.removed > 0 || summary.changed > 0) {
        store.collect_garbage()?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    let embed_seconds = embed_started.elapsed().as_secs_f64();
    if summary.embedded > 0 && embed_seconds > 0.0 {
        summary.images_per_second = summary.embedded as f64 / embed_seconds;
    }
    summary.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(summary)
}

/// The store key of vectors made by `extractor` from images decoded with `decode`.
pub fn feature_id(extractor: &dyn Extractor, decode: &DecodeOptions) -> String {
    let [r, g, b] = decode.background;
    format!("{}/bg{r:02x}{g:02x}{b:02x}", extractor.id())
}

/// Receives results and writes them in batches until every worker is done.
fn write_results(
    store: &mut Store,
    feature: &str,
    rx: &crossbeam_channel::Receiver<(Outcome, bool)>,
    opts: &IndexOptions,
    to_process: usize,
    summary: &mut Summary,
    progress: &(dyn Fn(Progress) + Sync),
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(opts.batch);
    let mut last_write = Instant::now();
    let mut done = 0;
    loop {
        let received = rx.recv_timeout(opts.batch_interval);
        let finished = matches!(
            received,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        );
        if let Ok((outcome, changed)) = received {
            done += 1;
            summary.changed += usize::from(changed);
            match outcome {
                Outcome::Embedded(u) => {
                    summary.embedded += 1;
                    summary.thumbnails += usize::from(u.thumbnail.is_some());
                    summary.signatures += usize::from(u.signature.is_some());
                    batch.push(u);
                }
                Outcome::Cached(u) => {
                    summary.cached += 1;
                    summary.signatures += usize::from(u.signature.is_some());
                    batch.push(u);
                }
                Outcome::Skipped(s) => summary.skipped.push(s),
            }
            progress(Progress::Processed { done, to_process });
        }
        if !batch.is_empty()
            && (finished
                || batch.len() >= opts.batch
                || last_write.elapsed() >= opts.batch_interval)
        {
            store.write(feature, &batch)?;
            batch.clear();
            last_write = Instant::now();
        }
        if finished {
            return Ok(());
        }
    }
}

/// What a content gets beside its vector, and which content has it already.
struct Extras<'a> {
    /// Content with a signature, or whose signature a worker is making.
    signed: &'a Mutex<Hashes>,
    /// Content with every facet vector, or whose facet vectors a worker is making.
    faceted: &'a Mutex<Hashes>,
    /// The facets' descriptors and their feature ids.
    facets: &'a [(&'a dyn Extractor, String)],
}

/// Reads, hashes and (unless its content is already stored or claimed) embeds one file, and
/// makes its thumbnail if asked and the content has none, and its signature and facet
/// vectors if the content has none.
fn process(
    file: &FileEntry,
    extractor: &dyn Extractor,
    opts: &IndexOptions,
    claimed: &Mutex<Hashes>,
    extras: &Extras,
    with_thumbnail: &Hashes,
) -> Outcome {
    let skip = |reason: String| {
        Outcome::Skipped(Skipped {
            path: file.path.clone(),
            reason,
        })
    };
    if file.size > opts.max_file_bytes {
        return skip(format!(
            "file too large ({} MiB, limit {} MiB)",
            file.size >> 20,
            opts.max_file_bytes >> 20
        ));
    }
    // The record pairs the hash with the metadata of the file actually opened, taken before
    // reading, and the time the read began: a change during or after the read moves a stat
    // field or makes the record racy (see `FileRecord::describes`), so it is never trusted.
    let read_ns = scan::epoch_ns(std::time::SystemTime::now());
    let (file, bytes) = match read_file(&file.path, opts.max_file_bytes) {
        Ok(read) => read,
        Err(reason) => return skip(reason),
    };
    if bytes.is_empty() {
        return skip("empty file".into());
    }
    let hash: Hash = *blake3::hash(&bytes).as_bytes();
    let unsigned = extras.signed.lock().expect("poisoned").insert(hash);
    let unfaceted = extras.faceted.lock().expect("poisoned").insert(hash);
    let facets = if unfaceted { extras.facets } else { &[] };
    if !claimed.lock().expect("poisoned").insert(hash) {
        // Embedded already: only a missing signature and facet vectors are made. A content
        // that no longer decodes keeps its vector and stays unconfirmed.
        let side = extras
            .facets
            .iter()
            .map(|(e, _)| e.input_size().0.max(e.input_size().1))
            .fold(GRID as u32, u32::max);
        let img = (unsigned || !facets.is_empty())
            .then(|| decode::decode_at_least(&bytes, &opts.decode, (side, side)))
            .and_then(Result::ok);
        let signature = img
            .as_ref()
            .filter(|_| unsigned)
            .map(|img| signature::signature(img, opts.decode.background));
        let facets = img
            .as_ref()
            .map(|img| facet_vectors(img, facets, &opts.decode))
            .unwrap_or_default();
        return Outcome::Cached(FileUpdate {
            file,
            read_ns,
            hash,
            vector: None,
            thumbnail: None,
            signature,
            facets,
        });
    }
    let thumbnail = opts.thumbnails && !with_thumbnail.contains(&hash);
    let wanted = Wanted {
        thumbnail,
        signature: unsigned,
        facets,
    };
    match embed_with_extras(&bytes, extractor, &opts.decode, &wanted) {
        Ok(e) => Outcome::Embedded(FileUpdate {
            file,
            read_ns,
            hash,
            vector: Some((e.vector, e.norm)),
            thumbnail: e.thumbnail,
            signature: e.signature,
            facets: e.facets,
        }),
        Err(reason) => {
            claimed.lock().expect("poisoned").remove(&hash);
            if unsigned {
                extras.signed.lock().expect("poisoned").remove(&hash);
            }
            if unfaceted {
                extras.faceted.lock().expect("poisoned").remove(&hash);
            }
            skip(reason.to_string())
        }
    }
}

/// The unit vectors the descriptors of `facets` make of `img` (brought to each one's input
/// size as for indexing), with their feature ids and lengths. A descriptor that fails or gives
/// a vector without a direction is left out (the content is then read again next run).
pub fn facet_vectors(
    img: &image::DynamicImage,
    facets: &[(&dyn Extractor, String)],
    decode: &DecodeOptions,
) -> Vec<(String, Vec<f32>, f32)> {
    // The descriptors share an input size: the image is resized once for them.
    let mut resized: Option<((u32, u32), decode::Fit, image::RgbImage)> = None;
    let mut out = Vec::with_capacity(facets.len());
    for (e, id) in facets {
        let (size, fit) = (e.input_size(), e.fit());
        if !matches!(&resized, Some((s, f, _)) if *s == size && *f == fit) {
            let rgb = decode::resize_rgb_fit(img, size.0, size.1, decode.background, fit);
            resized = Some((size, fit, rgb));
        }
        let Some((_, _, rgb)) = &resized else {
            continue;
        };
        let Ok(mut v) = e.extract(rgb) else { continue };
        let norm = l2_normalize(&mut v);
        if norm > 0.0 && norm.is_finite() && v.iter().all(|x| x.is_finite()) {
            out.push((id.clone(), v, norm));
        }
    }
    out
}

/// Opens `path`, takes its metadata from the open file, then reads it: what is recorded
/// describes exactly the file whose bytes were hashed, even if the path was replaced since the
/// walk. A file grown past `max_bytes` since the walk is refused unread. Errors are skip reasons.
fn read_file(path: &Path, max_bytes: u64) -> Result<(FileEntry, Vec<u8>), String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read: {e}");
    let mut f = std::fs::File::open(path).map_err(cannot)?;
    let meta = f.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "file too large ({} MiB, limit {} MiB)",
            meta.len() >> 20,
            max_bytes >> 20
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).map_err(cannot)?;
    let mut entry = FileEntry::new(path.to_owned(), &meta);
    // A file that grew or shrank while being read is recorded with what was read; its stat
    // no longer matches the next walk, so it is read again then.
    entry.size = bytes.len() as u64;
    Ok((entry, bytes))
}

/// Why an image could not be embedded. Shown to the user next to the file name.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// It could not be decoded (corrupt, unsupported, too large).
    #[error(transparent)]
    Decode(#[from] decode::DecodeError),
    /// The extractor failed on it.
    #[error("model failed: {0:#}")]
    Model(anyhow::Error),
    /// The extractor gave a vector with no direction to compare (non-finite, all zero, or
    /// too long to store): what was wrong with it.
    #[error("{0}")]
    Vector(String),
}

/// Decodes, resizes and embeds an encoded image: its unit vector and original length.
///
/// Fails when the bytes do not decode, the extractor fails, or its vector cannot be compared.
pub fn embed_bytes(
    bytes: &[u8],
    extractor: &dyn Extractor,
    decode: &DecodeOptions,
) -> Result<(Vec<f32>, f32), EmbedError> {
    let e = embed_with_extras(bytes, extractor, decode, &Wanted::default())?;
    Ok((e.vector, e.norm))
}

/// What [`embed_with_extras`] makes beside the vector.
#[derive(Default)]
struct Wanted<'a> {
    /// The thumbnail.
    thumbnail: bool,
    /// The pixel signature.
    signature: bool,
    /// The vectors of these descriptors, under these feature ids.
    facets: &'a [(&'a dyn Extractor, String)],
}

/// What [`embed_with_thumbnail`] makes of an image.
struct Embedding {
    /// Unit length.
    vector: Vec<f32>,
    /// The length before normalising.
    norm: f32,
    /// The JPEG thumbnail, when asked for.
    thumbnail: Option<Vec<u8>>,
    /// The pixel signature, when asked for.
    signature: Option<Vec<u8>>,
    /// The facets' vectors asked for ([`facet_vectors`]).
    facets: Vec<(String, Vec<f32>, f32)>,
}

/// [`embed_bytes`], and as `wanted` asks the image's thumbnail as a JPEG, its pixel
/// signature ([`signature::signature`]) and its facet vectors ([`facet_vectors`]), all made
/// from the same decoded image (decoded at least [`THUMBNAIL_SIZE`] a side with a thumbnail,
/// so a JPEG's scaled decoding never gives a thumbnail smaller than a full decoding would).
fn embed_with_extras(
    bytes: &[u8],
    extractor: &dyn Extractor,
    decode: &DecodeOptions,
    wanted: &Wanted,
) -> Result<Embedding, EmbedError> {
    let (w, h) = extractor.input_size();
    let sizes = wanted.facets.iter().map(|(e, _)| e.input_size());
    let mut at_least = sizes.fold((w, h), |(w, h), (fw, fh)| (w.max(fw), h.max(fh)));
    if wanted.thumbnail {
        at_least = (
            at_least.0.max(THUMBNAIL_SIZE),
            at_least.1.max(THUMBNAIL_SIZE),
        );
    }
    let img = decode::decode_at_least(bytes, decode, at_least)?;
    let rgb = decode::resize_rgb_fit(&img, w, h, decode.background, extractor.fit());
    let thumbnail = wanted
        .thumbnail
        .then(|| encode_thumbnail(&make_thumbnail(&img)));
    let signature = wanted
        .signature
        .then(|| signature::signature(&img, decode.background));
    let facets = facet_vectors(&img, wanted.facets, decode);
    drop(img);
    let mut v = extractor.extract(&rgb).map_err(EmbedError::Model)?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(EmbedError::Vector(
            "model produced a non-finite vector".into(),
        ));
    }
    let norm = l2_normalize(&mut v);
    // An all-zero vector has no direction: its cosine distance to anything is 0/0.
    if norm == 0.0 {
        return Err(EmbedError::Vector(format!(
            "{} gave an all-zero vector, which cannot be compared",
            extractor.name()
        )));
    }
    if !norm.is_finite() {
        return Err(EmbedError::Vector(format!(
            "{} gave a vector too long to store",
            extractor.name()
        )));
    }
    Ok(Embedding {
        vector: v,
        norm,
        thumbnail,
        signature,
        facets,
    })
}
