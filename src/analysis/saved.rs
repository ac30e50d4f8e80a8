//! The clustering saved in the feature store, reused as it is on the next start.
//!
//! Images are keyed by content hash, so renames keep their cluster. Images added since
//! are assigned to the nearest centroid and placed on the map without refitting it (a PCA map
//! by the saved projection, UMAP and t-SNE among their nearest mapped images), until the user
//! asks to recluster.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::clustering::{
    Cluster, Clustering, FitStage, KChoice, Kept, MapMethod, Method, MethodFrom, Naming, Request,
    cluster_keeping_map, distance_to, nearest_cluster,
};
use super::curation::{Logged, carry_over, replay};
use super::neighbours::similarities;
use super::pca::Pca;
use super::sweep::Sweep;
use crate::collection::{Collection, HashKey, hex};
use crate::features::Extractor;
use crate::store::Store;

/// A map keyed by content hash (written as hex in JSON), hashed with FxHash (rustc-hash): a
/// warm start looks up each of a million images in it.
pub type ByHash<V> = HashMap<HashKey, V, rustc_hash::FxBuildHasher>;

/// A clustering without its row alignment: each image's label and map position by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedClustering {
    /// What was asked for.
    pub request: Request,
    /// Clusters found.
    pub k: usize,
    /// DBSCAN's radius, when it ran.
    pub eps: Option<f32>,
    /// Why this k (or eps).
    pub reason: String,
    /// The clusters, with their centroids and names.
    pub clusters: Vec<Cluster>,
    /// The 2-D projection that places new images on the map.
    pub map_projection: Pca,
    /// Share of the variance the clustering space keeps (0..1).
    pub explained: f32,
    /// The k sweep, when k was chosen automatically.
    pub sweep: Option<Sweep>,
    /// Hex content hash → (index into `clusters`, map position, cosine distance to the
    /// cluster's centre): all the explorer needs to show a known image before the vectors
    /// are read.
    pub members: ByHash<(usize, [f32; 2], f32)>,
    /// Hex content hash → the lattice cells of the images with that content, in the order
    /// of their paths (identical files share a map position, not a cell). Empty in
    /// clusterings saved before the lattice was saved.
    #[serde(default)]
    pub lattice: ByHash<Vec<[u32; 2]>>,
}

impl SavedClustering {
    /// What to save of `clustering` of `c` (row-aligned): labels keyed by content hash.
    pub fn new(clustering: &Clustering, c: &Collection) -> SavedClustering {
        let members = (0..c.len())
            .map(|i| {
                let member = (
                    clustering.labels[i],
                    clustering.map[i],
                    clustering.distances[i],
                );
                (HashKey(c.hashes[i]), member)
            })
            .collect();
        let mut lattice: ByHash<Vec<[u32; 2]>> = ByHash::default();
        if clustering.lattice.len() == c.len() {
            for (hash, &cell) in c.hashes.iter().zip(&clustering.lattice) {
                lattice.entry(HashKey(*hash)).or_default().push(cell);
            }
        }
        SavedClustering {
            request: clustering.request.clone(),
            k: clustering.k,
            eps: clustering.eps,
            reason: clustering.reason.clone(),
            clusters: clustering.clusters.clone(),
            map_projection: clustering.map_projection.clone(),
            explained: clustering.explained,
            sweep: clustering.sweep.clone(),
            members,
            lattice,
        }
    }

    /// The saved lattice's cells row-aligned with `c`, when it was made for exactly the
    /// images of `c` (the same contents, each as many times); else empty.
    pub fn lattice_of(&self, c: &Collection) -> Vec<[u32; 2]> {
        let total: usize = self.lattice.values().map(Vec::len).sum();
        if total != c.len() {
            return Vec::new();
        }
        let mut taken: HashMap<&HashKey, usize, rustc_hash::FxBuildHasher> = HashMap::default();
        let mut cells = Vec::with_capacity(c.len());
        for hash in &c.hashes {
            let Some((key, saved)) = self.lattice.get_key_value(&HashKey(*hash)) else {
                return Vec::new();
            };
            let next = taken.entry(key).or_default();
            let Some(&cell) = saved.get(*next) else {
                return Vec::new();
            };
            *next += 1;
            cells.push(cell);
        }
        cells
    }

    /// The images of `c` this clustering has placed, as paths and hashes: enough to
    /// [apply](Self::apply) it to before any vector is read.
    pub fn known(&self, c: &Collection) -> Collection {
        let mut known = Collection::default();
        for (path, hash) in c.paths.iter().zip(&c.hashes) {
            let member = self.members.get(&HashKey(*hash));
            if matches!(member, Some(m) if m.0 < self.clusters.len()) {
                known.paths.push(path.clone());
                known.hashes.push(*hash);
            }
        }
        known
    }

    /// The clustering of `c`: saved labels where known, nearest centroid otherwise.
    /// Returns it and how many images were new. Cluster sizes are recounted.
    ///
    /// Only new images need their vectors: `c` may be paths and hashes alone when this
    /// clustering [knows](Self::known) all of them.
    pub fn apply(self, c: &Collection) -> (Clustering, usize) {
        let mut labels = Vec::with_capacity(c.len());
        let mut map = Vec::with_capacity(c.len());
        let mut distances = Vec::with_capacity(c.len());
        let mut new = Vec::new();
        for i in 0..c.len() {
            match self.members.get(&HashKey(c.hashes[i])) {
                Some(&(label, xy, distance)) if label < self.clusters.len() => {
                    labels.push(label);
                    map.push(xy);
                    distances.push(distance);
                }
                _ => {
                    let (label, distance) = nearest_cluster(&self.clusters, &c.row(i))
                        .unwrap_or_else(|| (0, distance_to(&self.clusters[0], &c.row(i))));
                    labels.push(label);
                    map.push([0.0, 0.0]);
                    distances.push(distance);
                    new.push(i);
                }
            }
        }
        if !new.is_empty() && self.request.map != MapMethod::Pca {
            // UMAP and t-SNE have no projection: place each from its mapped neighbours.
            place_by_neighbours(c, &new, &mut map);
        } else if !new.is_empty() && self.map_projection.dims() >= 2 {
            let placed = self.map_projection.project(&c.vectors.select(&new));
            for (k, &i) in new.iter().enumerate() {
                map[i] = [placed.get(k, 0), placed.get(k, 1)];
            }
        }
        // Images new since the fit leave the lattice to the map's bisection (see
        // `Clustering::lattice`).
        let lattice = if new.is_empty() {
            self.lattice_of(c)
        } else {
            Vec::new()
        };
        let mut clusters = self.clusters;
        for (id, cl) in clusters.iter_mut().enumerate() {
            cl.size = 0;
            // Saved before edits existed: the fitted index is the id, the name generated.
            cl.id = id;
            if cl.generated_name.is_empty() {
                cl.generated_name = cl.name.clone();
            }
        }
        labels.iter().for_each(|&l| clusters[l].size += 1);
        let clustering = Clustering {
            method_from: Default::default(),
            request: self.request,
            k: self.k,
            fitted_k: self.k,
            eps: self.eps,
            reason: self.reason,
            clusters,
            labels,
            distances,
            map,
            lattice,
            map_projection: self.map_projection,
            explained: self.explained,
            sweep: self.sweep,
            edits: 0,
        };
        (clustering, new.len())
    }
}

/// Mapped images a new image is placed among.
pub const PLACED_AMONG: usize = 5;

/// Places each of the rows `new` of `c` at the similarity-weighted mean of the map positions
/// of its [`PLACED_AMONG`] nearest mapped images (by cosine similarity of the unit vectors),
/// without refitting the map. The other rows of `map` are the mapped images.
fn place_by_neighbours(c: &Collection, new: &[usize], map: &mut [[f32; 2]]) {
    let mut is_new = vec![false; c.len()];
    new.iter().for_each(|&i| is_new[i] = true);
    for &i in new {
        let sims = similarities(c, &c.row(i));
        let mut mapped: Vec<usize> = (0..c.len()).filter(|&j| !is_new[j]).collect();
        let order = |a: &usize, b: &usize| sims[*b].total_cmp(&sims[*a]).then(a.cmp(b));
        if mapped.len() > PLACED_AMONG {
            mapped.select_nth_unstable_by(PLACED_AMONG - 1, order);
            mapped.truncate(PLACED_AMONG);
        }
        mapped.sort_by(order);
        // Weights stay positive so that far neighbours still average (a cosine can be < 0).
        let weights: Vec<f32> = mapped.iter().map(|&j| sims[j].max(0.0) + 1e-6).collect();
        let total: f32 = weights.iter().sum();
        if total > 0.0 {
            let mut xy = [0f32; 2];
            for (&j, w) in mapped.iter().zip(&weights) {
                xy[0] += w * map[j][0];
                xy[1] += w * map[j][1];
            }
            map[i] = [xy[0] / total, xy[1] / total];
        }
    }
}

/// What a new fit needs besides the images and the request.
#[derive(Clone, Copy)]
pub struct FitWith<'a> {
    /// The extractor that made the vectors, whose classes name the clusters ([`Naming`]).
    pub names: Option<&'a dyn Extractor>,
    /// Hears each stage of a new fit as it starts ([`FitStage`]); a saved clustering that
    /// answers says nothing.
    pub progress: &'a dyn Fn(FitStage),
}

impl<'a> FitWith<'a> {
    /// Names by `names`, progress heard by nobody.
    pub fn quiet(names: Option<&'a dyn Extractor>) -> FitWith<'a> {
        FitWith {
            names,
            progress: &|_| {},
        }
    }
}

/// What the user asked for on top of the saved (or default) request.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Another method.
    pub method: Option<Method>,
    /// Another k.
    pub k: Option<KChoice>,
    /// Another DBSCAN radius (cosine distance).
    pub eps: Option<f32>,
    /// Another seed.
    pub seed: Option<u64>,
    /// Another map.
    pub map: Option<MapMethod>,
    /// Fit again even if the saved clustering answers the request.
    pub recluster: bool,
}

/// Where a clustering came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Reused from the store.
    Saved {
        /// Images added since, assigned to the nearest centroid.
        new_images: usize,
    },
    /// Fitted now (and saved).
    Fitted,
}

/// Whether `saved` was fitted on exactly the images of `c` (by content).
fn same_images(saved: &SavedClustering, c: &Collection) -> bool {
    let distinct: std::collections::HashSet<_> = c.hashes.iter().collect();
    distinct.len() == saved.members.len()
        && distinct
            .iter()
            .all(|h| saved.members.contains_key(&HashKey(**h)))
}

/// The saved clustering of `root` if it answers `wanted`, else a new one, saved, with the
/// user's edits replayed on it (see [`super::curation`]). A new fit's clusters are named by
/// `names` (the extractor that made the vectors) and the store's thumbnails (see
/// [`Naming`]). Returns it row-aligned with `c`, where it came from, and notes: edits that
/// could not be carried over to a new fit, or not applied.
///
/// Fails when the store cannot be read or written (a damaged store included) and as
/// [`cluster`] does.
pub fn load_or_fit(
    store: &mut Store,
    root: &Path,
    feature: &str,
    c: &Collection,
    defaults: &Request,
    wanted: &Wanted,
    fit: &FitWith,
) -> anyhow::Result<(Clustering, Origin, Vec<String>)> {
    let (fitted, origin, mut notes) = fitted(store, root, feature, c, defaults, wanted, fit)?;
    let log = active_edits(store, root, feature)?;
    let (clustering, more) = replay(fitted, c, &log);
    notes.extend(more);
    Ok((clustering, origin, notes))
}

/// The edits of the saved clustering of `root` under `feature` that are in effect (not
/// undone), in order.
///
/// Fails when the store cannot be read or is damaged.
pub fn active_edits(store: &Store, root: &Path, feature: &str) -> anyhow::Result<Vec<Logged>> {
    let log: Vec<(i64, Logged, bool, String)> = store.edits(root, feature)?;
    Ok(log
        .into_iter()
        .filter(|(_, _, undone, _)| !undone)
        .map(|(_, e, _, _)| e)
        .collect())
}

/// The fitted clustering [`load_or_fit`] starts from, before the edits: the saved one if it
/// answers `wanted`, else a new one, saved. A new fit carries the edit log over to it
/// ([`carry_over`], in the same transaction as the save) and returns the notes of what
/// could not be carried over.
///
/// Fails as [`load_or_fit`] does.
pub fn fitted(
    store: &mut Store,
    root: &Path,
    feature: &str,
    c: &Collection,
    defaults: &Request,
    wanted: &Wanted,
    fit: &FitWith,
) -> anyhow::Result<(Clustering, Origin, Vec<String>)> {
    let mut saved: Option<SavedClustering> = store.load_clustering(root, feature)?;
    let (req, method_from) = requested(saved.as_ref(), defaults, wanted);
    if let Some(s) = saved.take_if(|s| !wanted.recluster && s.request == req) {
        let (mut clustering, new_images) = s.apply(c);
        clustering.method_from = method_from;
        return Ok((clustering, Origin::Saved { new_images }, Vec::new()));
    }
    // The map does not depend on the clusters: a refit of the same images with the same map
    // method, seed and PCA keeps the saved one (`+` / `-` would otherwise redo a UMAP).
    let kept = saved
        .as_ref()
        .filter(|s| {
            !wanted.recluster
                && same_images(s, c)
                && (s.request.map, s.request.seed, s.request.dims) == (req.map, req.seed, req.dims)
        })
        .map(|s| Kept {
            map: c.hashes.iter().map(|h| s.members[&HashKey(*h)].1).collect(),
            lattice: s.lattice_of(c),
        });
    let naming = Naming {
        model: fit.names,
        pictures: Some(&*store),
    };
    let mut clustering = cluster_keeping_map(c, &req, &naming, kept, fit.progress)?;
    clustering.method_from = method_from;
    // A given k skips the sweep, but the sweep does not depend on k: when only k changed
    // (`+` / `-` in the explorer) and the images are the same, keep the saved curves.
    if clustering.sweep.is_none()
        && let Some(s) = &saved
        && same_images(s, c)
        && (Request {
            k: req.k,
            ..s.request.clone()
        }) == req
    {
        clustering.sweep = s.sweep.clone();
    }
    let new = SavedClustering::new(&clustering, c);
    let log: Vec<(i64, Logged, bool, String)> = store.edits(root, feature)?;
    if log.is_empty() {
        store.save_clustering(root, feature, &new)?;
        return Ok((clustering, Origin::Fitted, Vec::new()));
    }
    let log: Vec<(Logged, bool, String)> = log.into_iter().map(|(_, e, u, a)| (e, u, a)).collect();
    let (kept, notes) = match &saved {
        Some(old) => {
            let labels = |s: &SavedClustering| -> HashMap<String, usize> {
                s.members.iter().map(|(h, m)| (hex(&h.0), m.0)).collect()
            };
            carry_over(
                log,
                &labels(old),
                &old.clusters,
                &labels(&new),
                new.clusters.len(),
            )
        }
        None => {
            let active = log.iter().filter(|(_, undone, _)| !undone).count();
            let notes = (active > 0)
                .then(|| {
                    format!(
                        "{active} edits were dropped: the clustering they were made on could not be read"
                    )
                })
                .into_iter()
                .collect();
            (Vec::new(), notes)
        }
    };
    store.save_clustering_with_edits(root, feature, &new, &kept)?;
    Ok((clustering, Origin::Fitted, notes))
}

/// The saved clustering of `root` under `feature` with the edits in effect replayed, as
/// [`load_or_fit`] gives it, when that needs no vector: the saved clustering answers
/// `wanted` (no refit), it [knows](SavedClustering::known) every image of `files` (paths and
/// hashes, as [`Store::files`] gives them), and the edits only name clusters (a merge, split
/// or move recomputes centres and distances from the vectors). `None` otherwise, and for no
/// image. What a warm `imgtui cluster`, montage or export at a million images answers from,
/// without reading 5 GB of vectors.
///
/// Fails when the store cannot be read or is damaged.
pub fn without_vectors(
    store: &Store,
    root: &Path,
    feature: &str,
    files: &Collection,
    defaults: &Request,
    wanted: &Wanted,
) -> anyhow::Result<Option<Clustering>> {
    if files.is_empty() || wanted.recluster {
        return Ok(None);
    }
    let Some(saved) = store.load_clustering(root, feature)? else {
        return Ok(None);
    };
    let (req, method_from) = requested(Some(&saved), defaults, wanted);
    if saved.request != req || saved.known(files).len() != files.len() {
        return Ok(None);
    }
    let log = active_edits(store, root, feature)?;
    if !log.iter().all(|e| matches!(e, Logged::Name { .. })) {
        return Ok(None);
    }
    let (mut clustering, _) = saved.apply(files);
    clustering.method_from = method_from;
    Ok(Some(replay(clustering, files, &log).0))
}

/// The request `wanted` makes on top of the saved request (or `defaults` when none is saved),
/// and where its method came from.
fn requested(
    saved: Option<&SavedClustering>,
    defaults: &Request,
    wanted: &Wanted,
) -> (Request, MethodFrom) {
    let base = saved.map_or(defaults, |s| &s.request);
    let mut req = base.clone();
    let method_from = if wanted.method.is_some() {
        MethodFrom::Asked
    } else if base.method != defaults.method
        && !(wanted.k.is_some() && base.method == Method::Dbscan)
    {
        MethodFrom::Saved
    } else {
        MethodFrom::Settings
    };
    if let Some(m) = wanted.method {
        if m != req.method {
            req.eps = None;
        }
        req.method = m;
    }
    if let Some(k) = wanted.k {
        req.k = k;
        // A number of clusters asked of a saved DBSCAN (which finds its own) means a method
        // that takes one: the configured one, else KMeans.
        if wanted.method.is_none() && req.method == Method::Dbscan {
            req.method = match defaults.method {
                Method::Dbscan => Method::Kmeans,
                m => m,
            };
            req.eps = None;
        }
    }
    if wanted.eps.is_some() {
        req.eps = wanted.eps;
    }
    if let Some(seed) = wanted.seed {
        req.seed = seed;
    }
    if let Some(map) = wanted.map {
        req.map = map;
    }
    (req, method_from)
}
