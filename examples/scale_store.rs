//! A benchmark tool, not a feature: makes a collection of N images whose store is already
//! current, to time imgtui at sizes no folder here has (100,000, 1,000,000).
//!
//!     cargo run --release --example scale_store -- --n N --out DIR --from STORE --from-dir FOLDER
//!         [--noise 0.011] [--exact 0.005] [--near 0.01] [--seed 1]
//!
//! FOLDER is a folder indexed into STORE with the built-in model (for instance the shared
//! Fashion-MNIST set: `imgtui index /tmp/imgsets/fashion_mnist --store fm.sqlite`); its m real
//! vectors, thumbnails and pixel signatures are the source. It writes:
//!
//! - `DIR/images/dNNNN/img-NNNNNNN.png`: N small distinct PNGs (8×8, a few hundred bytes), a
//!   fraction `--exact` of them byte-identical copies of an earlier one;
//! - `DIR/store.sqlite`: a current row for every file, so that `imgtui index DIR/images --store
//!   DIR/store.sqlite` embeds nothing. Image i takes real vector i mod m plus Gaussian noise of
//!   `--noise` per component, renormalised (0.011 puts it at cosine about 0.93 from its source
//!   and its siblings about 0.87 from one another, below the near-duplicate threshold 0.92), and
//!   the source's thumbnail. A fraction `--near` are near copies of one of the first m images
//!   (noise 0.0012: cosine about 0.999, the file's noise one pixel apart) with its thumbnail, so
//!   the pixel check confirms them. Each file's pixel signature is made from its own noise, as
//!   indexing makes it: siblings share a thumbnail, but their signatures never agree.
//!
//! It says what it made and how long each step took.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use imgtui::analysis::rng::Lcg;
use imgtui::index::feature_id;
use imgtui::scan::FileEntry;
use imgtui::store::FileUpdate;
use imgtui::{OnnxModel, Store};
use rayon::prelude::*;

struct Args {
    n: usize,
    out: PathBuf,
    from: PathBuf,
    from_dir: PathBuf,
    noise: f32,
    exact: f32,
    near: f32,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let mut get = HashMap::new();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        get.insert(flag, value);
    }
    let need = |k: &str| {
        get.get(k).cloned().with_context(|| {
            format!(
                "usage: scale_store --n N --out DIR --from STORE --from-dir FOLDER (missing {k})"
            )
        })
    };
    let num = |k: &str, default: f32| -> anyhow::Result<f32> {
        get.get(k).map_or(Ok(default), |v| Ok(v.parse()?))
    };
    Ok(Args {
        n: need("--n")?.parse()?,
        out: need("--out")?.into(),
        from: need("--from")?.into(),
        from_dir: std::fs::canonicalize(need("--from-dir")?)?,
        noise: num("--noise", 0.011)?,
        exact: num("--exact", 0.005)?,
        near: num("--near", 0.01)?,
        seed: get.get("--seed").map_or(Ok(1), |v| v.parse())?,
    })
}

/// Image i's bytes: an 8×8 PNG of noise drawn from i (so every file differs, and no two look
/// alike to the pixel signatures); `touched` changes one pixel, for a near copy of image i.
fn png(i: usize, touched: bool) -> Vec<u8> {
    let mut noise = [0u8; 192];
    blake3::Hasher::new()
        .update(&(i as u64).to_le_bytes())
        .finalize_xof()
        .fill(&mut noise);
    if touched {
        noise[0] ^= 0x10;
    }
    let img = image::RgbImage::from_raw(8, 8, noise.to_vec()).expect("8×8 RGB");
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG in memory");
    out.into_inner()
}

fn file_path(images: &Path, i: usize) -> PathBuf {
    images
        .join(format!("d{:04}", i / 1000))
        .join(format!("img-{i:07}.png"))
}

/// What image i is.
#[derive(Clone, Copy)]
enum Kind {
    /// A sibling of source vector `base` (the first m images are the sources' own look-alikes).
    Sibling { base: usize },
    /// Byte for byte image `of`.
    Exact { of: usize },
    /// Image `of` (one of the first m) with a hair of noise.
    Near { of: usize },
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    ensure!(
        !a.out.join("store.sqlite").exists(),
        "{} exists: choose a fresh --out",
        a.out.join("store.sqlite").display()
    );
    let start = Instant::now();
    let source = Store::open(&a.from)?;
    let feature = feature_id(&OnnxModel::builtin(), &Default::default());
    let src = source.collection(&a.from_dir, &feature)?;
    let m = src.len();
    if m == 0 {
        bail!(
            "nothing indexed under {} in {}",
            a.from_dir.display(),
            a.from.display()
        );
    }
    println!(
        "source: {m} vectors of {} dims ({:.1} s)",
        src.dim(),
        start.elapsed().as_secs_f64()
    );
    let decode = imgtui::decode::DecodeOptions::default();
    let background = decode.background;
    // The facets' descriptors under their feature ids, as indexing makes them.
    let facets: Vec<(&dyn imgtui::Extractor, String)> = imgtui::features::facet_descriptors()
        .map(|e| (e, feature_id(e, &decode)))
        .collect();

    let mut rng = Lcg::new(a.seed);
    let kinds: Vec<Kind> = (0..a.n)
        .map(|i| {
            let r = rng.uniform();
            if i >= m && r < a.exact {
                Kind::Exact { of: rng.below(i) }
            } else if i >= m && r < a.exact + a.near {
                Kind::Near { of: rng.below(m) }
            } else {
                Kind::Sibling { base: i % m }
            }
        })
        .collect();

    // 1. The files (exact copies repeat an earlier file's bytes).
    let t = Instant::now();
    let images = a.out.join("images");
    // A copy of a copy has the bytes of the first file of the chain.
    let original = |mut i: usize| {
        while let Kind::Exact { of } = kinds[i] {
            i = of;
        }
        i
    };
    let bytes_of = |i: usize| match kinds[original(i)] {
        Kind::Near { of } => png(of, true),
        _ => png(original(i), false),
    };
    for i in 0..a.n {
        let path = file_path(&images, i);
        if i % 1000 == 0 {
            std::fs::create_dir_all(path.parent().unwrap())?;
        }
        std::fs::write(&path, bytes_of(i))?;
    }
    println!("{} files written ({:.1} s)", a.n, t.elapsed().as_secs_f64());
    // A record is trusted only for files older than it by the racy margin.
    std::thread::sleep(imgtui::scan::RACY_MARGIN + std::time::Duration::from_millis(100));

    // 2. The store: every file current, vectors, thumbnails, signatures.
    let t = Instant::now();
    let mut store = Store::open(&a.out.join("store.sqlite"))?;
    let mut thumbnails: HashMap<usize, Vec<u8>> = HashMap::new();
    let mut vectors: Vec<Vec<f32>> = Vec::new(); // the vectors of the first m, for near copies
    let (mut exact, mut near) = (0, 0);
    let read_ns = imgtui::scan::epoch_ns(std::time::SystemTime::now());
    for chunk in (0..a.n).collect::<Vec<_>>().chunks(5000) {
        // Reading, hashing and the signatures on every core; the vectors in order (one seed).
        type Read = (
            FileEntry,
            [u8; 32],
            Option<Vec<u8>>,
            Vec<(String, Vec<f32>, f32)>,
        );
        let read: Vec<Read> = chunk
            .par_iter()
            .map(|&i| -> anyhow::Result<_> {
                let path = file_path(&images, i);
                let bytes = std::fs::read(&path)?;
                let hash = *blake3::hash(&bytes).as_bytes();
                let file = FileEntry::new(path.clone(), &std::fs::metadata(&path)?);
                // An exact copy's content has its signature and facets already.
                let (signature, facets) = match kinds[i] {
                    Kind::Exact { .. } => (None, Vec::new()),
                    _ => {
                        let img = image::load_from_memory(&bytes)?;
                        let sig = imgtui::decode::signature::signature(&img, background);
                        (
                            Some(sig),
                            imgtui::index::facet_vectors(&img, &facets, &decode),
                        )
                    }
                };
                Ok((file, hash, signature, facets))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut updates = Vec::with_capacity(chunk.len());
        for (&i, (file, hash, signature, facets)) in chunk.iter().zip(read) {
            let (vector, thumb_of) = match kinds[i] {
                Kind::Exact { .. } => {
                    exact += 1;
                    (None, None)
                }
                Kind::Near { of } => {
                    near += 1;
                    let v = jitter(&vectors[of], 0.0012, &mut rng);
                    (Some((v, src.norms[of])), Some(of))
                }
                Kind::Sibling { base } => {
                    let v = jitter(&src.row(base), a.noise, &mut rng);
                    if i < m {
                        vectors.push(v.clone());
                    }
                    (Some((v, src.norms[base])), Some(base))
                }
            };
            let thumbnail = match thumb_of {
                Some(b) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = thumbnails.entry(b)
                        && let Some(jpeg) = source.thumbnail(&src.hashes[b])?
                    {
                        slot.insert(jpeg);
                    }
                    thumbnails.get(&b).cloned()
                }
                None => None,
            };
            updates.push(FileUpdate {
                file,
                read_ns,
                hash,
                vector,
                thumbnail,
                signature,
                facets,
            });
        }
        store.write(&feature, &updates)?;
    }
    store.checkpoint()?;
    let bytes = std::fs::metadata(a.out.join("store.sqlite"))?.len();
    println!(
        "store written: {} files ({exact} exact copies, {near} near copies), {:.0} MB, {:.1} bytes an image ({:.1} s)",
        a.n,
        bytes as f64 / 1e6,
        bytes as f64 / a.n as f64,
        t.elapsed().as_secs_f64()
    );
    println!(
        "done in {:.1} s: imgtui index {} --store {} embeds nothing",
        start.elapsed().as_secs_f64(),
        images.display(),
        a.out.join("store.sqlite").display()
    );
    Ok(())
}

/// `v` plus Gaussian noise of `sigma` per component, back to unit length.
fn jitter(v: &[f32], sigma: f32, rng: &mut Lcg) -> Vec<f32> {
    let mut out: Vec<f32> = v.iter().map(|x| x + sigma * rng.normal()).collect();
    imgtui::features::l2_normalize(&mut out);
    out
}
