//! One engine session: a folder, what its images are compared by, the feature store and the
//! settings in effect. Both clients, the command line and the explorer, work through it, so
//! opening a store, bringing the index up to date, and loading or fitting a clustering are
//! written once.
//!
//! ```no_run
//! # fn main() -> imgtui::error::Result<()> {
//! use std::sync::{Arc, atomic::AtomicBool};
//! use imgtui::{Session, analysis::saved::Wanted, config::Config};
//!
//! let config = Config::default();
//! let extractor = imgtui::features::select(&config.features)?.into();
//! let mut session = Session::open("art".as_ref(), "store.sqlite".as_ref(), config, extractor)?;
//! session.update_index(&|_| {}, &AtomicBool::new(false))?;
//! let images = session.images()?;
//! let (clustering, _origin) = session.clustering(&images, &Wanted::default())?;
//! println!("{} clusters", clustering.k);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::analysis::clustering::{Clustering, members};
use crate::analysis::saved::{Origin, SavedClustering, Wanted, load_or_fit};
use crate::collection::Collection;
use crate::config::Config;
use crate::decode::DecodeOptions;
use crate::error::{Error, ErrorKind, Result};
use crate::features::Extractor;
use crate::index::{IndexOptions, Progress, Summary};
use crate::store::Store;

/// A folder opened in a feature store, with the extractor and settings that answer for it.
pub struct Session {
    root: PathBuf,
    store: Store,
    extractor: Arc<dyn Extractor>,
    config: Config,
    decode: DecodeOptions,
    feature: String,
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
        })
    }

    /// The same session on a second connection to its store, for a worker thread.
    ///
    /// Fails as [`Session::open`] does for the store.
    pub fn reopen(&self) -> Result<Session> {
        Ok(Session {
            root: self.root.clone(),
            store: Store::open(self.store.path())?,
            extractor: self.extractor.clone(),
            config: self.config.clone(),
            decode: self.decode.clone(),
            feature: self.feature.clone(),
        })
    }

    /// The folder, absolute and free of symlinks.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The feature id the vectors are stored under (extractor + preprocessing).
    pub fn feature(&self) -> &str {
        &self.feature
    }

    /// The settings in effect.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How images are decoded for embedding, previews and montages.
    pub fn decode_options(&self) -> &DecodeOptions {
        &self.decode
    }

    /// The grid thumbnail of `path` (at most 160 pixels a side), decoded from the file.
    pub fn thumbnail(&self, path: &Path, _hash: &[u8; 32]) -> anyhow::Result<image::RgbImage> {
        let bytes = std::fs::read(path)?;
        Ok(crate::decode::decode(&bytes, &self.decode)?
            .thumbnail(160, 160)
            .to_rgb8())
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
        Ok(self.store.collection(&self.root, &self.feature)?)
    }

    /// [`Session::collection`], for a question that needs images: fails with
    /// [`ErrorKind::BadRequest`] when there are none.
    pub fn images(&self) -> Result<Collection> {
        let c = self.collection()?;
        if c.is_empty() {
            return Err(Error::bad_request(format_args!(
                "{}: no images to compare",
                self.root.display()
            )));
        }
        Ok(c)
    }

    /// The clustering of `c` that `wanted` asks for on top of the saved request (or the
    /// configured one): the saved clustering when it answers, else one fitted now and saved.
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the request cannot be met (k larger than the
    /// collection, too many DBSCAN pairs, Ward on too many images), and with the store's
    /// errors ([`ErrorKind::DamagedStore`] included) when it cannot be read or written.
    pub fn clustering(&mut self, c: &Collection, wanted: &Wanted) -> Result<(Clustering, Origin)> {
        Ok(load_or_fit(
            &mut self.store,
            &self.root,
            &self.feature,
            c,
            &self.config.cluster_request(),
            wanted,
            Some(&*self.extractor),
        )?)
    }

    /// The files of the cluster numbered `number` (of every cluster for `None`), nearest the
    /// centre first, by the saved clustering (fitted with the configured request if there is
    /// none): what montages and exports take.
    ///
    /// Fails with [`ErrorKind::BadRequest`] for a cluster number that does not exist or an
    /// empty folder, and as [`Session::clustering`] does.
    pub fn cluster_files(&mut self, number: Option<usize>) -> Result<ClusterFiles> {
        let c = self.images()?;
        let (clustering, origin) = self.clustering(&c, &Wanted::default())?;
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
    /// folder is saved.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn warm_start(&self) -> Result<Option<WarmStart>> {
        let saved: Option<SavedClustering> =
            self.store.load_clustering(&self.root, &self.feature)?;
        let Some(saved) = saved else {
            return Ok(None);
        };
        let files = self.store.files(&self.root)?;
        let known = saved.known(&files);
        let shown = (known.len() >= 2).then(|| {
            let (clustering, _) = saved.apply(&known);
            (known, clustering)
        });
        Ok(Some(WarmStart { files, shown }))
    }

    /// `files` (paths and hashes, as in [`WarmStart::files`]) with their vectors; files
    /// without one are left out.
    ///
    /// Fails when the store cannot be read or a vector is damaged.
    pub fn read_vectors(&self, files: Collection) -> Result<Collection> {
        Ok(self.store.with_vectors(files, &self.feature)?)
    }

    /// The unit vector of an image given as file bytes (one outside the collection, say).
    ///
    /// Fails with [`ErrorKind::BadRequest`] when the bytes are not an image this build
    /// decodes, and when the extractor fails.
    pub fn embed(&self, bytes: &[u8]) -> Result<Vec<f32>> {
        let (v, _) = crate::index::embed_bytes(bytes, &*self.extractor, &self.decode)
            .map_err(Error::bad_request)?;
        Ok(v)
    }

    /// Where the store lives.
    pub fn store_path(&self) -> &Path {
        self.store.path()
    }
}
