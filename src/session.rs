//! One engine session: a folder, what its images are compared by, the feature store and the
//! settings in effect. Both clients, the command line and the explorer, work through it, so
//! opening a store, bringing the index up to date, and loading or fitting a clustering are
//! written once, and so are the other jobs they share (`session/jobs.rs`: neighbours, outliers,
//! near-duplicates, exports, montages, previews). The explorer imports from the engine only
//! through this module, which re-exports the data types it names.
//!
//! ```no_run
//! # fn main() -> imgtui::error::Result<()> {
//! use std::sync::{Arc, atomic::AtomicBool};
//! use imgtui::{Session, analysis::saved::Wanted, config::Config};
//!
//! let config = Config::default();
//! let extractor = imgtui::features::select(&config.features, config.runtime()?)?.into();
//! let mut session = Session::open("art".as_ref(), "store.sqlite".as_ref(), config, extractor)?;
//! session.update_index(&|_| {}, &AtomicBool::new(false))?;
//! let images = session.images()?;
//! let (clustering, _origin, _notes) = session.clustering(&images, &Wanted::default())?;
//! println!("{} clusters", clustering.k);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use image::RgbImage;
use rayon::prelude::*;

use crate::analysis::clustering::Naming;
use crate::analysis::curation::{self, Logged};
use crate::analysis::saved::{FitWith, SavedClustering, active_edits, fitted, load_or_fit};
use crate::config::Config;
use crate::decode::thumbnail::{
    THUMBNAIL_SIZE, decode_thumbnail, encode_thumbnail, make_thumbnail,
};
use crate::error::{Error, ErrorKind, Result};
use crate::features::Extractor;
use crate::index::IndexOptions;
use crate::store::{Hash, Store};

mod jobs;
mod search;

pub use jobs::{
    DUPLICATES_AT_START_BELOW, FoundSimilar, ImageFacts, Keeper, NotDuplicates, PREVIEW_SIDE,
};
pub use search::{NO_TEXT_ENCODER, Signed, Term};

// The data the clients name, re-exported so that the explorer (which may import from the
// engine only through this module, `python3 .ci/layers.py` checks it) names them here.
pub use crate::analysis::clustering::{Clustering, FitStage, KChoice, Method, members};
pub use crate::analysis::curation::Edit;
pub use crate::analysis::duplicates::DUPLICATE_THRESHOLD;
pub use crate::analysis::neighbours::{Neighbour, Select};
pub use crate::analysis::outliers::OUTLIER_K;
pub use crate::analysis::saved::{Origin, Wanted};
pub use crate::collection::Collection;
use crate::collection::Precision;
pub use crate::decode::DecodeOptions;
pub use crate::dedupe::{Action, KeepRule, Plan, Report, Status};
pub use crate::export::{ExportReport, Mode, folder_name};
pub use crate::features::{FACETS, Facet, Space};
pub use crate::index::{Progress, Summary};
pub use crate::watch::WatchMode;

/// A folder opened in a feature store, with the extractor and settings that answer for it.
pub struct Session {
    root: PathBuf,
    store: Store,
    extractor: Arc<dyn Extractor>,
    config: Config,
    decode: DecodeOptions,
    /// The feature id of the vectors compared: the extractor's, a facet's, or a blend's.
    feature: String,
    /// What "similar" means ([`Session::set_space`]).
    space: Space,
    /// Who this session is in the edit log (see [`author_id`]), shared by its reopened copies.
    author: String,
    /// Collections of this many images or more are read in 8 bits; 0: never
    /// ([`Session::keep_vectors_in_bytes_from`]).
    bytes_from: usize,
}

/// An id for the edits a process makes: `host/pid/start` (nanoseconds since the epoch), so
/// that an explorer can tell its own edits from those of another one still open.
fn author_id() -> String {
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}/{}/{start}", host_name(), std::process::id())
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length; the name is NUL-terminated when it fits.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    if ok {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

#[cfg(not(unix))]
fn host_name() -> String {
    String::new()
}

/// The process id of the other imgtui, still running on this machine, that made an edit
/// by `author` (`None`: made by `me`, by a process that has ended, or elsewhere).
fn made_by_another(author: &str, me: &str) -> Option<u32> {
    if author == me || author.is_empty() {
        return None;
    }
    let mut parts = author.split('/');
    let (host, pid) = (parts.next()?, parts.next()?.parse::<u32>().ok()?);
    if host != host_name() || pid == std::process::id() {
        return None;
    }
    alive(pid).then_some(pid)
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let sent = unsafe { libc::kill(pid, 0) } == 0;
    sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn alive(_: u32) -> bool {
    false
}

/// How long a folder must be quiet before a burst of file events counts as one change: what
/// the explorer and `index --watch` both wait.
pub const WATCH_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(800);

/// A folder watched for changes ([`Session::watch`]), and the one rule, shared by the explorer
/// and `imgtui index --watch`, for which indexing passes are worth telling.
pub struct Watching {
    watch: crate::watch::FolderWatch,
    /// The files the last pass skipped.
    skipped: HashSet<PathBuf>,
}

/// What one indexing pass of a watched folder changed (see [`Watching::assess`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Images new or changed (embedded, or found again under another name).
    pub changed: usize,
    /// Images gone.
    pub removed: usize,
    /// Files skipped now that were not the pass before (a bad file added).
    pub newly_skipped: usize,
    /// Files skipped the pass before that are not now (a bad file removed or mended).
    pub no_longer_skipped: usize,
}

impl Change {
    /// Whether the collection itself changed (so clusters and neighbours must follow).
    pub fn collection_changed(&self) -> bool {
        self.changed > 0 || self.removed > 0
    }
}

impl Watching {
    /// How the folder is watched (by events, or by rescans and why).
    pub fn mode(&self) -> &WatchMode {
        self.watch.mode()
    }

    /// Waits at most `timeout` for the folder to change; true when it has (then index it and
    /// [`Watching::assess`] the pass).
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        self.watch.wait(timeout)
    }

    /// What an indexing pass of the folder changed, or `None` when nothing worth telling did:
    /// no image added, changed or removed, and the same files skipped as before. An
    /// interrupted pass changes nothing here (its files are looked at again next time).
    ///
    /// The folders the pass reached through symlinks are watched from now on too (see
    /// [`crate::watch::FolderWatch::follow`]).
    pub fn assess(&mut self, summary: &Summary) -> Option<Change> {
        self.watch.follow(&summary.linked);
        let now: HashSet<PathBuf> = summary.skipped.iter().map(|s| s.path.clone()).collect();
        let change = Change {
            changed: summary.changed.max(summary.embedded),
            removed: summary.removed,
            newly_skipped: now.difference(&self.skipped).count(),
            no_longer_skipped: self.skipped.difference(&now).count(),
        };
        if summary.interrupted {
            return None;
        }
        self.skipped = now;
        (summary.changed_collection() || change.newly_skipped > 0 || change.no_longer_skipped > 0)
            .then_some(change)
    }
}

/// The files of some clusters, nearest each centre first, and the clustering they come from.
pub struct ClusterFiles {
    /// The folder's clustering.
    pub clustering: Clustering,
    /// Whether it was reused or fitted now.
    pub origin: Origin,
    /// Each cluster asked for: its index in `clustering.clusters` and its files.
    pub clusters: Vec<(usize, Vec<PathBuf>)>,
}

/// What the explorer can show before the folder has been checked: the saved clustering
/// applied to the files the store knows.
pub struct WarmStart {
    /// Every file of the folder in the store, as paths and hashes (no vectors yet).
    pub files: Collection,
    /// The saved clustering placed on the files it knows, as paths and hashes, when it
    /// knows at least two.
    pub shown: Option<(Collection, Clustering)>,
}

/// A session to open again, on any thread: see [`Session::reopener`].
pub struct Reopener {
    root: PathBuf,
    store: PathBuf,
    extractor: Arc<dyn Extractor>,
    config: Config,
    decode: DecodeOptions,
    feature: String,
    space: Space,
    author: String,
    bytes_from: usize,
}

impl Reopener {
    /// Opens the session: a connection of its own to the same store.
    ///
    /// Fails when the store cannot be opened.
    pub fn open(self) -> Result<Session> {
        Ok(Session {
            store: Store::open(&self.store)?,
            root: self.root,
            extractor: self.extractor,
            config: self.config,
            decode: self.decode,
            feature: self.feature,
            space: self.space,
            author: self.author,
            bytes_from: self.bytes_from,
        })
    }
}

impl Session {
    /// Opens the store file `store` (creating it if needed) for the folder `dir`, whose images
    /// `extractor` embeds, with `config` in effect.
    ///
    /// Fails with [`ErrorKind::MissingInput`] when `dir` is not a readable folder,
    /// [`ErrorKind::BadRequest`] when the store cannot be created there or a setting is
    /// invalid, and [`ErrorKind::DamagedStore`] when the file is not a usable store.
    pub fn open(
        dir: &Path,
        store: &Path,
        config: Config,
        extractor: Arc<dyn Extractor>,
    ) -> Result<Session> {
        let root = crate::scan::resolve_root(dir)
            .map_err(|e| Error::with_kind(ErrorKind::MissingInput, e))?;
        let decode = config
            .decode_options()
            .map_err(|e| Error::with_kind(ErrorKind::BadRequest, e))?;
        let feature = crate::index::feature_id(&*extractor, &decode);
        let store = Store::open(store)?;
        Ok(Session {
            root,
            store,
            extractor,
            config,
            decode,
            feature,
            space: Space::default(),
            author: author_id(),
            bytes_from: 0,
        })
    }

    /// The same session on a second connection to its store, for a worker thread.
    ///
    /// Fails as [`Session::open`] does for the store.
    pub fn reopen(&self) -> Result<Session> {
        self.reopener().open()
    }

    /// What [`Session::reopen`] needs, to open the session again on another thread (a
    /// worker opens its connection there, not on the thread that drew nothing yet).
    pub fn reopener(&self) -> Reopener {
        Reopener {
            root: self.root.clone(),
            store: self.store.path().to_owned(),
            extractor: self.extractor.clone(),
            config: self.config.clone(),
            decode: self.decode.clone(),
            feature: self.feature.clone(),
            space: self.space.clone(),
            author: self.author.clone(),
            bytes_from: self.bytes_from,
        }
    }

    /// From now on (and in its reopened copies), collections of `images` images or more are
    /// read with their vectors in 8 bits ([`Precision::Byte`]: 1.3 GB instead of 2.6 GB at a
    /// million images), and the nearest images found in them ([`Session::nearest`]) are
    /// re-ranked on the exact vectors; 0 keeps half precision whatever the size. What the
    /// explorer sets (`explore.byte_vectors_from`) to stay small beside everything else it
    /// holds.
    pub fn keep_vectors_in_bytes_from(&mut self, images: usize) {
        self.bytes_from = images;
    }

    /// The folder, absolute and free of symlinks.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The feature id of the vectors compared (extractor or facet descriptor, and
    /// preprocessing; for a blend, its parts' ids and weights): vectors, saved clusterings and
    /// edits are kept under it.
    pub fn feature(&self) -> &str {
        &self.feature
    }

    /// What "similar" means in this session: content (the extractor's vectors, the default),
    /// a facet, or a blend.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// Compares images in `space` from now on: collections, neighbours, clusterings (saved
    /// apart for each space, with their own edits) and embeddings of outside images all
    /// follow. The vectors of colour and texture are made by every index run.
    pub fn set_space(&mut self, space: Space) {
        self.feature = match space.single() {
            Some(facet) => self.facet_feature(facet),
            None => {
                let parts: Vec<String> = space
                    .parts()
                    .iter()
                    .map(|&(facet, w)| format!("{w}*{}", self.facet_feature(facet)))
                    .collect();
                format!("blend({})", parts.join("+"))
            }
        };
        self.space = space;
    }

    /// The feature id `facet`'s vectors are stored under.
    fn facet_feature(&self, facet: Facet) -> String {
        let extractor = facet.descriptor().unwrap_or(&*self.extractor);
        crate::index::feature_id(extractor, &self.decode)
    }

    /// What makes `facet`'s vectors.
    fn facet_extractor(&self, facet: Facet) -> &dyn Extractor {
        facet.descriptor().unwrap_or(&*self.extractor)
    }

    /// The extractor whose classifier head names clusters: the model's, for content alone.
    fn naming_model(&self) -> Option<&dyn Extractor> {
        naming_model(&self.space, &*self.extractor)
    }

    /// The settings in effect.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How images are decoded for embedding, previews and montages.
    pub fn decode_options(&self) -> &DecodeOptions {
        &self.decode
    }

    /// What makes the vectors.
    pub fn extractor(&self) -> &Arc<dyn Extractor> {
        &self.extractor
    }

    /// The indexing settings in effect (callers may tune threads and batch size).
    pub fn index_options(&self) -> IndexOptions {
        self.config
            .index_options()
            .expect("checked when the session was opened")
    }

    /// Brings the store up to date with the folder using the configured settings: see
    /// [`Session::update_index_with`].
    ///
    /// Fails as [`Session::update_index_with`] does.
    pub fn update_index(
        &mut self,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Summary> {
        self.update_index_with(&self.index_options(), progress, cancel)
    }

    /// Brings the store up to date with the folder: new and changed images are embedded,
    /// deleted ones dropped. `progress` hears of each file; raising `cancel` stops early and
    /// keeps what was done (the summary says `interrupted`).
    ///
    /// Fails with [`ErrorKind::MissingInput`] when the folder is gone or cannot be read, and
    /// when the store cannot be written.
    pub fn update_index_with(
        &mut self,
        opts: &IndexOptions,
        progress: &(dyn Fn(Progress) + Sync),
        cancel: &AtomicBool,
    ) -> Result<Summary> {
        crate::index(
            &self.root,
            &mut self.store,
            &*self.extractor,
            opts,
            progress,
            cancel,
        )
        .map_err(|e| {
            // The folder went away (or became unreadable) since the session was opened.
            if e.chain().any(|c| c.is::<crate::scan::ScanError>()) {
                Error::with_kind(ErrorKind::MissingInput, e)
            } else {
                Error::from(e)
            }
        })
    }

    /// Every image of the folder that has a vector, sorted by path (possibly none).
    ///
    /// Fails when the store cannot be read or a vector is damaged.
    pub fn collection(&self) -> Result<Collection> {
        self.read_vectors(self.store.files(&self.root)?)
    }

    /// [`Session::collection`], for a question that needs images: fails with
    /// [`ErrorKind::BadRequest`] when there are none, and when a facet's vectors are missing
    /// for some of the folder's images (a store indexed before facets: `imgtui index` makes
    /// them).
    pub fn images(&self) -> Result<Collection> {
        self.images_of(self.store.files(&self.root)?)
    }

    /// [`Session::images`] of `files`, the folder's files as the store lists them.
    fn images_of(&self, files: Collection) -> Result<Collection> {
        let listed = files.len();
        let c = self.read_vectors(files)?;
        if self.space.single() != Some(Facet::Content) && c.len() < listed {
            return Err(Error::bad_request(format_args!(
                "{} of {listed} images of {} have no {} vectors (indexed before facets \
                 were kept): run `imgtui index {}` to make them",
                listed - c.len(),
                crate::text::shown(&self.root),
                self.space,
                crate::text::shown(&self.root)
            )));
        }
        if c.is_empty() {
            return Err(Error::bad_request(format_args!(
                "{}: no images to compare",
                crate::text::shown(&self.root)
            )));
        }
        Ok(c)
    }

    /// The clustering of `c` that `wanted` asks for on top of the saved request (or the
    /// configured one): the saved clustering when it answers, else one fitted now and saved;
    /// either way with the user's edits (names, merges, splits, moves) replayed on it.
    /// Returns it row-aligned with `c`, where it came from, and notes for the user: when it
    /// was fitted now (another k, `recluster`), the edits that could not be carried over to
    /// it (e.g. "the name “spirals” was dropped: no cluster of the new clustering matches the
    /// cluster “nematode · dugong”"); usually none.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the request cannot be met (k larger than the
    /// collection, too many DBSCAN pairs, Ward on too many images), and with the store's
    /// errors ([`ErrorKind::DamagedStore`] included) when it cannot be read or written.
    pub fn clustering(
        &mut self,
        c: &Collection,
        wanted: &Wanted,
    ) -> Result<(Clustering, Origin, Vec<String>)> {
        self.clustering_reporting(c, wanted, &|_| {})
    }

    /// [`Session::clustering`], telling `progress` each stage of a new fit as it starts
    /// (minutes at a million images: the explorer and `imgtui cluster` on a terminal show
    /// them).
    ///
    /// Fails as [`Session::clustering`] does.
    pub fn clustering_reporting(
        &mut self,
        c: &Collection,
        wanted: &Wanted,
        progress: &dyn Fn(FitStage),
    ) -> Result<(Clustering, Origin, Vec<String>)> {
        let fit = FitWith {
            names: naming_model(&self.space, &*self.extractor),
            progress,
        };
        Ok(load_or_fit(
            &mut self.store,
            &self.root,
            &self.feature,
            c,
            &self.config.cluster_request(),
            wanted,
            &fit,
        )?)
    }

    /// The folder's images and their clustering for `wanted`, as [`Session::images`] and
    /// [`Session::clustering`] give them, but reading no vector when the saved clustering
    /// answers without them ([`crate::analysis::saved::without_vectors`]: no refit, no image
    /// added since, no edit but names). The collection is then paths and hashes alone
    /// (`dim() == 0`). What a plain `imgtui cluster`, montage and export need: at a million
    /// images the vectors are 5 GB. `progress` hears each stage of a new fit, if one is made.
    ///
    /// Fails as [`Session::images`] and [`Session::clustering`] do.
    pub fn clustered_images(
        &mut self,
        wanted: &Wanted,
        progress: &dyn Fn(FitStage),
    ) -> Result<(Collection, Clustering, Origin, Vec<String>)> {
        let files = self.store.files(&self.root)?;
        let defaults = self.config.cluster_request();
        let warm = crate::analysis::saved::without_vectors(
            &self.store,
            &self.root,
            &self.feature,
            &files,
            &defaults,
            wanted,
        )?;
        if let Some(clustering) = warm {
            let origin = Origin::Saved { new_images: 0 };
            return Ok((files, clustering, origin, Vec::new()));
        }
        let c = self.images_of(files)?;
        let (clustering, origin, notes) = self.clustering_reporting(&c, wanted, progress)?;
        Ok((c, clustering, origin, notes))
    }

    /// What the explorer shows for `c`: [`Session::clustering`], or for a folder of fewer than
    /// 2 images (which no method clusters) no cluster or the one image alone, not saved
    /// ([`crate::analysis::clustering::of_too_few`]).
    ///
    /// `progress` hears each stage of a new fit as it starts.
    ///
    /// Fails as [`Session::clustering`] does.
    pub fn clustering_to_show(
        &mut self,
        c: &Collection,
        progress: &dyn Fn(FitStage),
    ) -> Result<Clustering> {
        if c.len() < 2 {
            let req = self.config.cluster_request();
            return Ok(crate::analysis::clustering::of_too_few(
                c,
                &req,
                &self.naming(),
            ));
        }
        Ok(self
            .clustering_reporting(c, &Wanted::default(), progress)?
            .0)
    }

    /// What names clusters: the extractor's classifier head and the store's thumbnails.
    fn naming(&self) -> Naming<'_> {
        Naming {
            model: self.naming_model(),
            pictures: Some(&self.store),
        }
    }

    /// The saved fitted clustering of `c` (fitted now if there is none), before the edits,
    /// and notes from carrying the edits over when it had to be fitted.
    fn fitted(&mut self, c: &Collection) -> Result<(Clustering, Vec<String>)> {
        let (clustering, _, notes) = fitted(
            &mut self.store,
            &self.root,
            &self.feature,
            c,
            &self.config.cluster_request(),
            &Wanted::default(),
            &FitWith::quiet(naming_model(&self.space, &*self.extractor)),
        )?;
        Ok((clustering, notes))
    }

    /// Applies `edit` to the saved clustering of `c` (the images with their vectors, as from
    /// [`Session::images`]), whose clusters it names by index into
    /// [`Clustering::clusters`] of the clustering [`Session::clustering`] shows, and records
    /// it in the store's edit log (dropping any undone edits: redo ends there). Returns the
    /// new clustering, row-aligned with `c`, and notes (edits that could not be applied;
    /// usually none).
    ///
    /// Fails with [`ErrorKind::BadRequest`] for a cluster index out of range, an edit the
    /// unclustered group cannot take, an empty name, a split into fewer than 2 parts or
    /// more than the cluster's images (or of alike images), a move of an image not in `c`;
    /// and with the store's errors when it cannot be read or written.
    pub fn edit(&mut self, c: &Collection, edit: Edit) -> Result<(Clustering, Vec<String>)> {
        let (fitted, mut notes) = self.fitted(c)?;
        let mut log = active_edits(&self.store, &self.root, &self.feature)?;
        let (shown, before) = curation::replay(fitted.clone(), c, &log);
        let next = curation::next_id(fitted.clusters.len(), &log);
        let logged = curation::prepare(edit, &shown, c, &fitted.request, &self.naming(), next)?;
        self.store
            .push_edit(&self.root, &self.feature, &logged, &self.author)?;
        log.push(logged);
        let (clustering, after) = curation::replay(fitted, c, &log);
        notes.extend(after.into_iter().skip(before.len()));
        Ok((clustering, notes))
    }

    /// Undoes the last edit in effect of the saved clustering of `c` (marked undone in the
    /// store, so it can be redone, also after a restart). Returns the clustering without it
    /// and what was undone, e.g. "undid the merge of cluster 4 “kites” into cluster 1
    /// “birds”"; `None` when there is nothing to undo.
    ///
    /// An edit made by another imgtui still running on this machine (another explorer on the
    /// same folder) is not undone: the error says whose it is.
    ///
    /// Fails with [`ErrorKind::BadRequest`] for another explorer's edit, with the store's
    /// errors when it cannot be read or written, and as [`Session::clustering`] does when
    /// there is no saved clustering to fit again.
    pub fn undo(&mut self, c: &Collection) -> Result<Option<(Clustering, String)>> {
        let (fitted, _) = self.fitted(c)?;
        let mut log: Vec<(i64, Logged, bool, String)> =
            self.store.edits(&self.root, &self.feature)?;
        log.retain(|(_, _, undone, _)| !undone);
        let Some((seq, last, _, author)) = log.pop() else {
            return Ok(None);
        };
        if let Some(pid) = made_by_another(&author, &self.author) {
            let active: Vec<Logged> = log.into_iter().map(|(_, e, _, _)| e).collect();
            let (before, _) = curation::replay(fitted, c, &active);
            let what = curation::describe(&last, &before);
            return Err(Error::bad_request(format_args!(
                "not undone: the last edit, {what}, was made by another imgtui still open on \
                 this folder (process {pid}); undo it there"
            )));
        }
        self.store
            .set_undone(&self.root, &self.feature, seq, true)?;
        let kept: Vec<Logged> = log.into_iter().map(|(_, e, _, _)| e).collect();
        let (clustering, _) = curation::replay(fitted, c, &kept);
        let what = format!("undid {}", curation::describe(&last, &clustering));
        Ok(Some((clustering, what)))
    }

    /// Redoes the first undone edit of the saved clustering of `c`. Returns the clustering
    /// with it and what was redone, e.g. "redid the name “spirals” of cluster 3 “nematode ·
    /// dugong”"; `None` when there is nothing to redo.
    ///
    /// Fails as [`Session::undo`] does.
    pub fn redo(&mut self, c: &Collection) -> Result<Option<(Clustering, String)>> {
        let (fitted, _) = self.fitted(c)?;
        let log: Vec<(i64, Logged, bool, String)> = self.store.edits(&self.root, &self.feature)?;
        let Some((seq, next, _, author)) = log.iter().find(|(_, _, undone, _)| *undone).cloned()
        else {
            return Ok(None);
        };
        let mut active: Vec<Logged> = log
            .into_iter()
            .filter(|(_, _, undone, _)| !undone)
            .map(|(_, e, _, _)| e)
            .collect();
        let (before, _) = curation::replay(fitted.clone(), c, &active);
        if let Some(pid) = made_by_another(&author, &self.author) {
            return Err(Error::bad_request(format_args!(
                "not redone: the edit to redo, {}, was made by another imgtui still open on \
                 this folder (process {pid}); redo it there",
                curation::describe(&next, &before)
            )));
        }
        let what = format!("redid {}", curation::describe(&next, &before));
        self.store
            .set_undone(&self.root, &self.feature, seq, false)?;
        active.push(next);
        let (clustering, _) = curation::replay(fitted, c, &active);
        Ok(Some((clustering, what)))
    }

    /// The files of the cluster numbered `number` (of every cluster for `None`), nearest the
    /// centre first, by the saved clustering (fitted with the configured request if there is
    /// none): what montages and exports take.
    ///
    /// Fails with [`ErrorKind::BadRequest`] for a cluster number that does not exist or an
    /// empty folder, and as [`Session::clustering`] does.
    pub fn cluster_files(&mut self, number: Option<usize>) -> Result<ClusterFiles> {
        let (c, clustering, origin, _) = self.clustered_images(&Wanted::default(), &|_| {})?;
        let indices = match number {
            Some(n) => vec![clustering.index_of(n)?],
            None => (0..clustering.clusters.len()).collect(),
        };
        let members = members(&clustering);
        let clusters = indices
            .into_iter()
            .map(|i| (i, members[i].iter().map(|&r| c.paths[r].clone()).collect()))
            .collect();
        Ok(ClusterFiles {
            clustering,
            origin,
            clusters,
        })
    }

    /// The start the explorer makes from the store alone: `None` when no clustering of this
    /// folder is saved. A clustering an older imgtui saved is saved again in the current form
    /// (its images in columns: in the order of their paths when it knows every image).
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn warm_start(&mut self) -> Result<Option<WarmStart>> {
        let saved: Option<SavedClustering> =
            self.store.load_clustering(&self.root, &self.feature)?;
        let Some(saved) = saved else {
            return Ok(None);
        };
        let files = self.store.files(&self.root)?;
        let known = saved.known(&files);
        let log = active_edits(&self.store, &self.root, &self.feature)?;
        let again = saved.written_before_columns && known.len() == files.len();
        if saved.written_before_columns && !again {
            // Images came since: saved in columns as read (by hash), still quicker to read.
            let _ = self
                .store
                .save_clustering(&self.root, &self.feature, &saved);
        }
        let shown = (known.len() >= 2).then(|| {
            let (clustering, _) = saved.apply(&known);
            if again {
                // Read as it is should the store not be writable now.
                let _ = self.store.save_clustering(
                    &self.root,
                    &self.feature,
                    &SavedClustering::new(&clustering, &known),
                );
            }
            let (clustering, _) = curation::replay(clustering, &known, &log);
            (known, clustering)
        });
        Ok(Some(WarmStart { files, shown }))
    }

    /// `files` (paths and hashes, as in [`WarmStart::files`]) with their vectors, in half
    /// precision, or in 8 bits for as many images as [`Session::keep_vectors_in_bytes_from`]
    /// says; files without one are left out.
    ///
    /// Fails when the store cannot be read or a vector is damaged.
    pub fn read_vectors(&self, files: Collection) -> Result<Collection> {
        let precision = if self.bytes_from > 0 && files.len() >= self.bytes_from {
            Precision::Byte
        } else {
            Precision::Half
        };
        self.read_vectors_in(files, precision)
    }

    /// [`Session::read_vectors`] in `precision`.
    pub(crate) fn read_vectors_in(
        &self,
        files: Collection,
        precision: Precision,
    ) -> Result<Collection> {
        if self.space.single().is_some() {
            return Ok(self
                .store
                .with_vectors_in(files, &self.feature, precision)?);
        }
        let parts = self
            .space
            .parts()
            .iter()
            .map(|&(facet, w)| {
                let c = self
                    .store
                    .with_vectors(files.clone(), &self.facet_feature(facet))?;
                Ok((c, w.sqrt()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(blend(&parts, precision))
    }

    /// The unit vector of an image given as file bytes (one outside the collection, say), in
    /// the session's space.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the bytes are not an image this build
    /// decodes, and when the extractor fails.
    pub fn embed(&self, bytes: &[u8]) -> Result<Vec<f32>> {
        let mut blended = Vec::new();
        for &(facet, w) in self.space.parts() {
            let extractor = self.facet_extractor(facet);
            let (v, _) = crate::index::embed_bytes(bytes, extractor, &self.decode)
                .map_err(Error::bad_request)?;
            blended.extend(v.iter().map(|x| x * w.sqrt()));
        }
        Ok(blended)
    }

    /// The keep rules `text` asks for (`best`, `largest,oldest`; the setting `duplicates.keep` when
    /// `None`), `path:` prefixes made absolute against the folder.
    ///
    /// Fails with [`ErrorKind::BadRequest`] naming the rule that is wrong.
    pub fn keep_rules(&self, text: Option<&str>) -> Result<Vec<KeepRule>> {
        let text = text.unwrap_or(&self.config.duplicates.keep);
        crate::dedupe::KeepRule::parse_list(text, &self.root)
            .map_err(|rule| Error::bad_request(format_args!("--keep {text}: {rule}")))
    }

    /// The plan for the near-duplicate groups of `c` in tiers (exact, same picture, similar at
    /// `threshold`; see [`crate::dedupe::groups`]): each group's keeper by `rules`, and what
    /// `action` would do with the rest of the exact and same-picture groups, and of the
    /// similar ones too with `include_similar` (see [`crate::dedupe::plan`]); also the files
    /// that could not be read now, left out of it, and the pairs the pixels could not confirm.
    /// Pairs marked not duplicates ([`Session::not_duplicates`]) are never grouped.
    ///
    /// Takes the collection: its vectors are let go while NN-descent looks for the candidate
    /// pairs in their PCA projection, and read again for the exact re-rank
    /// ([`crate::analysis::duplicates::candidates_rereading`]); then let go again before
    /// the candidates' pixel signatures are read, a block of contents at a time (see
    /// [`crate::analysis::duplicates::tiered`]; 2.6 KB of vector and 3 KB of signature an
    /// image: at a million images both at once would need 5.7 GB).
    ///
    /// Fails when the store cannot be read or is damaged, or changes meanwhile.
    pub fn dedupe_plan(
        &self,
        mut c: Collection,
        threshold: f32,
        include_similar: bool,
        rules: &[crate::dedupe::KeepRule],
        action: &crate::dedupe::Action,
    ) -> Result<(crate::dedupe::Plan, crate::dedupe::Found)> {
        let precision = c.vectors.precision();
        let candidates =
            crate::analysis::duplicates::candidates_rereading(&mut c, threshold, |files| {
                Ok(self.read_vectors_in(files, precision)?)
            })?;
        c.vectors = Default::default();
        c.index = Default::default();
        crate::analysis::give_back_freed_memory();
        let pixels = crate::analysis::duplicates::Pixels {
            signatures: &self.store,
            pictures: &self.store,
        };
        let apart = self.not_duplicates()?;
        let mut found = crate::dedupe::groups(&c, candidates, &pixels, &apart, include_similar)?;
        let groups = std::mem::take(&mut found.groups);
        Ok((
            crate::dedupe::plan(&self.root, groups, rules, action),
            found,
        ))
    }

    /// Every pair of contents marked "not duplicates" in the store (whatever the folder:
    /// a decision is about two contents), for [`Session::near_duplicates`].
    ///
    /// Fails when the store cannot be read.
    pub fn not_duplicates(&self) -> Result<NotDuplicates> {
        Ok(self.store.not_duplicates()?)
    }

    /// Marks each pair of images (rows of `c`) as not duplicates, by content, so that no
    /// near-duplicate grouping joins them again directly (a third image alike to both still
    /// links them). Returns how many pairs were not marked before. [`every_pair`] gives the
    /// pairs of a group.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when there is no pair, or a pair is one image or
    /// two exact copies (the same bytes are duplicates whatever is decided): nothing is marked
    /// then; and when the store cannot be written.
    pub fn mark_not_duplicates(&self, c: &Collection, pairs: &[(usize, usize)]) -> Result<usize> {
        let hashes = decision_pairs(c, pairs)?;
        if let Some(&(i, j)) = pairs.iter().find(|&&(i, j)| c.hashes[i] == c.hashes[j]) {
            return Err(Error::bad_request(format_args!(
                "{} and {} are exact copies (the same bytes): they cannot be marked not \
                 duplicates",
                crate::text::shown(&c.paths[i]),
                crate::text::shown(&c.paths[j])
            )));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        Ok(self.store.mark_not_duplicates(&hashes, now)?)
    }

    /// Takes back the "not duplicates" mark of each pair of images (rows of `c`); returns how
    /// many were marked.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when there is no pair or a pair is one image, and
    /// when the store cannot be written.
    pub fn unmark_not_duplicates(&self, c: &Collection, pairs: &[(usize, usize)]) -> Result<usize> {
        let hashes = decision_pairs(c, pairs)?;
        Ok(self.store.unmark_not_duplicates(&hashes)?)
    }

    /// Carries out `plan` on this session's store ([`crate::dedupe::execute`]).
    ///
    /// Fails when the store cannot be written.
    pub fn dedupe_execute(
        &mut self,
        plan: &crate::dedupe::Plan,
        cancel: &AtomicBool,
        progress: &dyn Fn(&crate::dedupe::Outcome),
    ) -> Result<crate::dedupe::Report> {
        Ok(crate::dedupe::execute(
            plan,
            &mut self.store,
            cancel,
            progress,
        )?)
    }

    /// Puts back the folder's last batch of moved or trashed files
    /// ([`crate::dedupe::undo_last`]).
    ///
    /// Fails when the store cannot be read or written.
    pub fn dedupe_undo(&mut self) -> Result<crate::dedupe::Report> {
        Ok(crate::dedupe::undo_last(&mut self.store, &self.root)?)
    }

    /// Where the store lives.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }

    /// Starts watching the folder as the settings' `[watch]` says (file events, or rescans),
    /// before the first pass so that nothing added meanwhile is missed. The first pass is
    /// then assessed against no skipped files.
    pub fn watch(&self) -> Watching {
        let options = self.config.watch_options(WATCH_DEBOUNCE);
        Watching {
            watch: crate::watch::FolderWatch::start(&self.root, &options),
            skipped: HashSet::new(),
        }
    }

    /// Whether the folder has been indexed into the store before (any of its files).
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn was_indexed(&self) -> Result<bool> {
        Ok(self.store.holds_files_under(&self.root)?)
    }

    /// The thumbnail (see [`crate::decode::thumbnail`]) of the image at `path` whose content
    /// hash is `hash` (as in [`Collection::hashes`]): the stored one, else one made now from
    /// the file (decoded and turned upright as for indexing) and stored, when the file still
    /// has that content, for next time.
    ///
    /// Fails when the store cannot be read or written, a stored thumbnail does not decode, or
    /// the file cannot be read or decoded.
    pub fn thumbnail(&self, path: &Path, hash: &[u8; 32]) -> anyhow::Result<RgbImage> {
        if let Some(jpeg) = self.store.thumbnail(hash)? {
            return decode_thumbnail(&jpeg)
                .with_context(|| format!("the stored thumbnail of {}", crate::text::shown(path)));
        }
        let (content, thumbnail) = thumbnail_of_file(path, &self.decode)?;
        if content == *hash {
            self.store
                .put_thumbnails(&[(content, encode_thumbnail(&thumbnail))])?;
        }
        Ok(thumbnail)
    }

    /// Makes and stores the thumbnail of every image of the folder whose content has none
    /// (a store made before thumbnails, or indexed with them off): files are read and decoded
    /// on the indexing worker threads, thumbnails written in batches of the indexing batch
    /// size. `progress` hears (done, to do) on this thread; raising `cancel` stops early and
    /// keeps what was written. Files that cannot be decoded, or whose content changed since
    /// they were indexed, are passed over (indexing answers for them). Returns how many
    /// thumbnails were stored.
    ///
    /// Fails when the store cannot be read or written.
    pub fn fill_thumbnails(
        &self,
        mut progress: impl FnMut(usize, usize),
        cancel: &AtomicBool,
    ) -> anyhow::Result<usize> {
        let files = self.store.files(&self.root)?;
        // One file per content.
        let mut seen = HashSet::new();
        let first: Vec<(&PathBuf, Hash)> = files
            .paths
            .iter()
            .zip(files.hashes.iter().copied())
            .filter(|(_, h)| seen.insert(*h))
            .collect();
        let hashes: Vec<Hash> = first.iter().map(|(_, h)| *h).collect();
        let missing: HashSet<Hash> = self
            .store
            .missing_thumbnails(&hashes)?
            .into_iter()
            .collect();
        let todo: Vec<(&PathBuf, Hash)> = first
            .into_iter()
            .filter(|(_, h)| missing.contains(h))
            .collect();
        let total = todo.len();
        progress(0, total);
        if total == 0 {
            return Ok(0);
        }
        let opts = self.index_options();
        let threads = crate::index::worker_threads(opts.threads);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("imgtui-thumbnail-{i}"))
            .build()?;
        // Raised when writing fails, so the workers stop too.
        let stop = AtomicBool::new(false);
        let decode = &self.decode;
        let (tx, rx) = crossbeam_channel::bounded::<Option<(Hash, Vec<u8>)>>(threads * 4);
        std::thread::scope(|s| {
            s.spawn(|| {
                pool.install(|| {
                    todo.par_iter()
                        .with_max_len(1)
                        .for_each_with(tx, |tx, (path, hash)| {
                            if cancel.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                                return;
                            }
                            let made = thumbnail_of_file(path, decode)
                                .ok()
                                .filter(|(content, _)| content == hash)
                                .map(|(content, t)| (content, encode_thumbnail(&t)));
                            let _ = tx.send(made);
                        });
                })
            });
            let written = (|| {
                let (mut batch, mut done, mut stored) = (Vec::new(), 0, 0);
                for made in &rx {
                    done += 1;
                    batch.extend(made);
                    if batch.len() >= opts.batch {
                        self.store.put_thumbnails(&batch)?;
                        stored += batch.len();
                        batch.clear();
                    }
                    progress(done, total);
                }
                self.store.put_thumbnails(&batch)?;
                Ok(stored + batch.len())
            })();
            if written.is_err() {
                stop.store(true, Ordering::Relaxed);
                drop(rx);
            }
            written
        })
    }
}

/// Reads the file at `path` and makes its thumbnail: its content hash and the thumbnail.
fn thumbnail_of_file(path: &Path, decode: &DecodeOptions) -> anyhow::Result<(Hash, RgbImage)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading {}", crate::text::shown(path)))?;
    let hash = *blake3::hash(&bytes).as_bytes();
    let size = (THUMBNAIL_SIZE, THUMBNAIL_SIZE);
    let img = crate::decode::decode_at_least(&bytes, decode, size)
        .with_context(|| crate::text::shown(path).to_string())?;
    Ok((hash, make_thumbnail(&img)))
}

/// `extractor`, whose classifier head names clusters, when `space` is content alone.
fn naming_model<'a>(space: &Space, extractor: &'a dyn Extractor) -> Option<&'a dyn Extractor> {
    (space.single() == Some(Facet::Content)).then_some(extractor)
}

/// The images every part has, each row the parts' unit vectors scaled by their factor and
/// put end to end (unit length when the squared factors sum to 1: a blend's dot product is
/// then the weighted mean of the parts' cosine similarities). Lengths are 1.
fn blend(parts: &[(Collection, f32)], precision: Precision) -> Collection {
    let mut out = Collection {
        vectors: crate::collection::Vectors::empty(precision),
        ..Collection::default()
    };
    let Some(((first, _), rest)) = parts.split_first() else {
        return out;
    };
    let rows: Vec<HashMap<&Path, usize>> = rest
        .iter()
        .map(|(c, _)| {
            c.paths
                .iter()
                .enumerate()
                .map(|(i, p)| (p.as_path(), i))
                .collect()
        })
        .collect();
    let mut row = Vec::new();
    for (i, path) in first.paths.iter().enumerate() {
        let Some(others) = rows
            .iter()
            .map(|r| r.get(path.as_path()).copied())
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        row.clear();
        row.extend(first.row(i).iter().map(|x| x * parts[0].1));
        for ((c, factor), j) in rest.iter().zip(others) {
            row.extend(c.row(j).iter().map(|x| x * factor));
        }
        out.push(path.clone(), first.hashes[i], &row, 1.0);
    }
    out
}

/// Every pair `(i, j)` of `rows`, each once: what marking a group not duplicates marks.
pub fn every_pair(rows: &[usize]) -> Vec<(usize, usize)> {
    rows.iter()
        .enumerate()
        .flat_map(|(k, &i)| rows[k + 1..].iter().map(move |&j| (i, j)))
        .collect()
}

/// The content hashes of each pair of rows; a bad request for no pair or a pair of one image.
fn decision_pairs(c: &Collection, pairs: &[(usize, usize)]) -> Result<Vec<(Hash, Hash)>> {
    if pairs.is_empty() || pairs.iter().any(|(i, j)| i == j) {
        return Err(Error::bad_request(
            "name two different images or more to mark them not duplicates of one another",
        ));
    }
    Ok(pairs
        .iter()
        .map(|&(i, j)| (c.hashes[i], c.hashes[j]))
        .collect())
}

#[cfg(test)]
impl Session {
    /// A session on `dir` in `store` with the default settings and the `pixels` descriptor
    /// (no model: fast), not yet indexed: for the unit tests of the clients.
    pub(crate) fn with_pixels(dir: &Path, store: &Path) -> Session {
        let pixels: Arc<dyn Extractor> = crate::features::select("pixels", Default::default())
            .expect("the pixels descriptor")
            .into();
        Session::open(dir, store, Config::default(), pixels).expect("a session")
    }
}
