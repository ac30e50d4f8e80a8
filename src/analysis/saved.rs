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
use crate::collection::{Collection, Hash, HashKey, hex};
use crate::features::Extractor;
use crate::store::Store;

/// A map keyed by content hash, hashed with FxHash (rustc-hash): a changed folder's warm
/// start looks up each of a million images in it.
pub type ByHash<V> = HashMap<HashKey, V, rustc_hash::FxBuildHasher>;

/// The images a clustering was fitted on, row by row in the order of their paths then:
/// what the explorer needs to show each known image before any vector is read. Saved as
/// columns of little-endian numbers, each in base64 ([`packed`]): a million images are 71 MB
/// read in about 0.1 s, where keying each by its hex hash in JSON took 181 MB and 0.7 s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    /// Each image's content hash (identical files repeat it).
    pub hashes: Vec<Hash>,
    /// Each image's index into [`SavedClustering::clusters`].
    pub labels: Vec<u32>,
    /// Each image's map position.
    pub map: Vec<[f32; 2]>,
    /// Each image's cosine distance to its cluster's centre.
    pub distances: Vec<f32>,
    /// Each image's lattice cell; empty when none was saved.
    pub lattice: Vec<[u32; 2]>,
}

impl Members {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether these are exactly `c`'s images in `c`'s order (the folder unchanged since
    /// the fit): then every column is row-aligned with `c` as it is.
    fn aligned_with(&self, c: &Collection) -> bool {
        self.hashes == c.hashes
    }

    /// Each content's first row.
    fn rows_by_hash(&self) -> ByHash<usize> {
        let mut rows = ByHash::with_capacity_and_hasher(self.len(), Default::default());
        for (i, h) in self.hashes.iter().enumerate().rev() {
            rows.insert(HashKey(*h), i);
        }
        rows
    }
}

/// How [`Members`] are written: `{"rows": n, "hashes": "…", "labels": "…", …}`, each column
/// its values' little-endian bytes in standard base64.
mod packed {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Members;

    #[derive(Serialize, Deserialize)]
    struct Columns {
        rows: usize,
        hashes: String,
        labels: String,
        map: String,
        distances: String,
        lattice: String,
    }

    fn encode<T, const N: usize>(values: &[T], bytes: impl Fn(&T) -> [u8; N]) -> String {
        let mut raw = Vec::with_capacity(values.len() * N);
        values.iter().for_each(|v| raw.extend_from_slice(&bytes(v)));
        STANDARD.encode(raw)
    }

    fn decode<T, E: serde::de::Error, const N: usize>(
        text: &str,
        rows: usize,
        name: &str,
        value: impl Fn([u8; N]) -> T,
    ) -> Result<Vec<T>, E> {
        let raw = STANDARD
            .decode(text)
            .map_err(|e| E::custom(format_args!("members' {name}: {e}")))?;
        if raw.len() != rows * N {
            return Err(E::custom(format_args!(
                "members' {name}: {} bytes for {rows} rows",
                raw.len()
            )));
        }
        Ok(raw
            .chunks_exact(N)
            .map(|b| value(b.try_into().expect("chunks of N")))
            .collect())
    }

    fn pair(b: [u8; 8]) -> [[u8; 4]; 2] {
        [[b[0], b[1], b[2], b[3]], [b[4], b[5], b[6], b[7]]]
    }

    fn both(x: [u8; 4], y: [u8; 4]) -> [u8; 8] {
        [x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3]]
    }

    pub fn serialize<S: Serializer>(m: &Members, s: S) -> Result<S::Ok, S::Error> {
        Columns {
            rows: m.len(),
            hashes: encode(&m.hashes, |h| *h),
            labels: encode(&m.labels, |l| l.to_le_bytes()),
            map: encode(&m.map, |[x, y]| both(x.to_le_bytes(), y.to_le_bytes())),
            distances: encode(&m.distances, |d| d.to_le_bytes()),
            lattice: encode(&m.lattice, |[x, y]| both(x.to_le_bytes(), y.to_le_bytes())),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        let c = Columns::deserialize(d)?;
        let n = c.rows;
        let lattice_rows = if c.lattice.is_empty() { 0 } else { n };
        let m = Members {
            hashes: decode(&c.hashes, n, "hashes", |h: [u8; 32]| h)?,
            labels: decode(&c.labels, n, "labels", u32::from_le_bytes)?,
            map: decode(&c.map, n, "map", |b| {
                let [x, y] = pair(b);
                [f32::from_le_bytes(x), f32::from_le_bytes(y)]
            })?,
            distances: decode(&c.distances, n, "distances", f32::from_le_bytes)?,
            lattice: decode(&c.lattice, lattice_rows, "lattice", |b| {
                let [x, y] = pair(b);
                [u32::from_le_bytes(x), u32::from_le_bytes(y)]
            })?,
        };
        if m.map
            .iter()
            .flatten()
            .chain(&m.distances)
            .any(|v| !v.is_finite())
        {
            return Err(D::Error::custom(
                "members: a position or distance is not a number",
            ));
        }
        Ok(m)
    }
}

/// A clustering without its row alignment: each image's label and map position by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "Stored")]
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
    /// The images it was fitted on, with their clusters, places and lattice cells.
    #[serde(with = "packed")]
    pub images: Members,
    /// Read from the JSON an imgtui before 2026-12-08 wrote (see [`Stored`]), its images in
    /// hash order: worth saving again in the order of their paths, so that the next start
    /// takes the columns as they are.
    #[serde(skip)]
    pub written_before_columns: bool,
}

/// A saved clustering as its JSON holds it: [`SavedClustering`], or as written before the
/// images were kept in columns (2026-12-08): a map from each content's hex hash to its
/// (cluster, map position, distance), and one to its lattice cells, in the order of their
/// paths (identical files share a map position, not a cell).
#[derive(Deserialize)]
struct Stored {
    request: Request,
    k: usize,
    eps: Option<f32>,
    reason: String,
    clusters: Vec<Cluster>,
    map_projection: Pca,
    explained: f32,
    sweep: Option<Sweep>,
    #[serde(default, with = "packed")]
    images: Members,
    #[serde(default)]
    members: ByHash<(usize, [f32; 2], f32)>,
    #[serde(default)]
    lattice: ByHash<Vec<[u32; 2]>>,
}

impl TryFrom<Stored> for SavedClustering {
    type Error = &'static str;

    /// Fails (the store then holds no usable clustering, and the next run fits one) when it
    /// places images without a cluster to place them in, or a place or distance is not a
    /// finite number.
    fn try_from(s: Stored) -> Result<SavedClustering, &'static str> {
        if s.clusters.is_empty() && !(s.images.is_empty() && s.members.is_empty()) {
            return Err("a saved clustering without clusters");
        }
        let finite = |xy: &[f32; 2], d: f32| xy.iter().all(|v| v.is_finite()) && d.is_finite();
        if !s.members.values().all(|(_, xy, d)| finite(xy, *d)) {
            return Err("members: a position or distance is not a number");
        }
        let mut images = s.images;
        let old_form = images.is_empty() && !s.members.is_empty();
        if old_form {
            // One row per lattice cell of a content (one when it has none), by hash.
            let mut old: Vec<_> = s.members.into_iter().collect();
            old.sort_unstable_by_key(|(h, _)| h.0);
            let with_cells = old.iter().all(|(h, _)| s.lattice.contains_key(h));
            for (h, (label, xy, distance)) in old {
                let cells: Vec<Option<[u32; 2]>> = match s.lattice.get(&h) {
                    Some(cells) if with_cells && !cells.is_empty() => {
                        cells.iter().copied().map(Some).collect()
                    }
                    _ => vec![None],
                };
                for cell in cells {
                    images.hashes.push(h.0);
                    images.labels.push(u32::try_from(label).unwrap_or(u32::MAX));
                    images.map.push(xy);
                    images.distances.push(distance);
                    images.lattice.extend(cell);
                }
            }
            if images.lattice.len() != images.len() {
                images.lattice.clear();
            }
        }
        Ok(SavedClustering {
            request: s.request,
            k: s.k,
            eps: s.eps,
            reason: s.reason,
            clusters: s.clusters,
            map_projection: s.map_projection,
            explained: s.explained,
            sweep: s.sweep,
            images,
            written_before_columns: old_form,
        })
    }
}

impl SavedClustering {
    /// What to save of `clustering` of `c` (row-aligned).
    pub fn new(clustering: &Clustering, c: &Collection) -> SavedClustering {
        SavedClustering {
            request: clustering.request.clone(),
            k: clustering.k,
            eps: clustering.eps,
            reason: clustering.reason.clone(),
            clusters: clustering.clusters.clone(),
            map_projection: clustering.map_projection.clone(),
            explained: clustering.explained,
            sweep: clustering.sweep.clone(),
            images: Members {
                hashes: c.hashes.clone(),
                labels: clustering.labels.iter().map(|&l| l as u32).collect(),
                map: clustering.map.clone(),
                distances: clustering.distances.clone(),
                lattice: if clustering.lattice.len() == c.len() {
                    clustering.lattice.clone()
                } else {
                    Vec::new()
                },
            },
            written_before_columns: false,
        }
    }

    /// Whether row `i` of the saved images names one of the clusters.
    fn placed(&self, i: usize) -> bool {
        (self.images.labels[i] as usize) < self.clusters.len()
    }

    /// The saved lattice's cells row-aligned with `c`, when it was made for exactly the
    /// images of `c` (the same contents, each as many times); else empty.
    pub fn lattice_of(&self, c: &Collection) -> Vec<[u32; 2]> {
        let saved = &self.images;
        if saved.lattice.len() != c.len() {
            return Vec::new();
        }
        if saved.aligned_with(c) {
            return saved.lattice.clone();
        }
        // Each content's cells, in the order of its rows, handed out in the order of `c`.
        let mut cells: ByHash<(Vec<[u32; 2]>, usize)> = ByHash::default();
        for (h, &cell) in saved.hashes.iter().zip(&saved.lattice) {
            cells.entry(HashKey(*h)).or_default().0.push(cell);
        }
        let mut out = Vec::with_capacity(c.len());
        for hash in &c.hashes {
            let Some((of, next)) = cells.get_mut(&HashKey(*hash)) else {
                return Vec::new();
            };
            let Some(&cell) = of.get(*next) else {
                return Vec::new();
            };
            *next += 1;
            out.push(cell);
        }
        out
    }

    /// The images of `c` this clustering has placed, as paths and hashes: enough to
    /// [apply](Self::apply) it to before any vector is read.
    pub fn known(&self, c: &Collection) -> Collection {
        let mut known = Collection::default();
        if self.images.aligned_with(c) && (0..c.len()).all(|i| self.placed(i)) {
            known.paths = c.paths.clone();
            known.hashes = c.hashes.clone();
            return known;
        }
        let rows = self.images.rows_by_hash();
        for (path, hash) in c.paths.iter().zip(&c.hashes) {
            if rows.get(&HashKey(*hash)).is_some_and(|&r| self.placed(r)) {
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
        let saved = &self.images;
        let (mut labels, mut map, mut distances) = (
            Vec::with_capacity(c.len()),
            Vec::with_capacity(c.len()),
            Vec::with_capacity(c.len()),
        );
        let mut new = Vec::new();
        let rows = (!saved.aligned_with(c)).then(|| saved.rows_by_hash());
        for i in 0..c.len() {
            let row = match &rows {
                None => Some(i),
                Some(rows) => rows.get(&HashKey(c.hashes[i])).copied(),
            };
            match row.filter(|&r| self.placed(r)) {
                Some(r) => {
                    labels.push(saved.labels[r] as usize);
                    map.push(saved.map[r]);
                    distances.push(saved.distances[r]);
                }
                None => {
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

    /// Each content's saved cluster, by hex hash (what [`carry_over`] matches on).
    fn labels_by_hex(&self) -> HashMap<String, usize> {
        (self.images.hashes.iter().zip(&self.images.labels))
            .map(|(h, &l)| (hex(h), l as usize))
            .collect()
    }

    /// Each content's saved map position, row-aligned with `c`; `None` unless every image
    /// of `c` is known.
    fn map_of(&self, c: &Collection) -> Option<Vec<[f32; 2]>> {
        if self.images.aligned_with(c) {
            return Some(self.images.map.clone());
        }
        let rows = self.images.rows_by_hash();
        c.hashes
            .iter()
            .map(|h| rows.get(&HashKey(*h)).map(|&r| self.images.map[r]))
            .collect()
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
    if saved.images.aligned_with(c) {
        return true;
    }
    let distinct =
        |hashes: &[Hash]| -> std::collections::HashSet<Hash> { hashes.iter().copied().collect() };
    distinct(&c.hashes) == distinct(&saved.images.hashes)
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
        let again = s.written_before_columns;
        let (mut clustering, new_images) = s.apply(c);
        if again && new_images == 0 {
            // Written by an older imgtui: saved in columns, in `c`'s order, for next time.
            store.save_clustering(root, feature, &SavedClustering::new(&clustering, c))?;
        }
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
        .and_then(|s| {
            Some(Kept {
                map: s.map_of(c)?,
                lattice: s.lattice_of(c),
            })
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
        Some(old) => carry_over(
            log,
            &old.labels_by_hex(),
            &old.clusters,
            &new.labels_by_hex(),
            new.clusters.len(),
        ),
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
