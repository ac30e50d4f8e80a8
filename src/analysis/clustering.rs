//! Clusters of a collection: the method, its labels, the 2-D map, the k sweep and names.
//!
//! KMeans, the Gaussian mixture and Ward run in a PCA space (default 32 dimensions) of the
//! unit vectors: it keeps most of the variance and makes a k sweep over 10,000 images take
//! seconds. DBSCAN and all distances shown to the user are cosine distances on the full
//! vectors. Clusters are numbered by size, largest first, so labels are stable across runs.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::kmeans;
use super::pca::{Pca, total_variance};
use super::rng::Lcg;
use super::sweep::{Sweep, SweepOptions, sweep};
use super::umap::UmapOptions;
use super::{agglomerative, dbscan, gmm};
use crate::collection::Collection;
use crate::collection::matrix::Matrix;
use crate::features::Extractor;
use crate::store::Store;

/// A clustering method, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// KMeans (Lloyd, k-means++ starts) in the PCA space, finished on the full vectors.
    Kmeans,
    /// DBSCAN (Ester et al. 1996) by cosine distance; unclustered images form cluster 0.
    Dbscan,
    /// A Gaussian mixture (linfa's EM, full covariances) in the PCA space.
    Gmm,
    /// Ward's agglomerative clustering (kodama) in the PCA space, up to 10,000 images.
    Agglomerative,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Method::Kmeans,
            Method::Dbscan,
            Method::Gmm,
            Method::Agglomerative,
        ]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| format!("expected kmeans, dbscan, gmm or agglomerative, got {s:?}"))
    }
}

impl Method {
    /// The name on the command line and in answers: `kmeans`, `dbscan`, `gmm`, `agglomerative`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Kmeans => "kmeans",
            Method::Dbscan => "dbscan",
            Method::Gmm => "gmm",
            Method::Agglomerative => "agglomerative",
        }
    }
}

/// KMeans starts of the final fit for `n` images (clustered, or in the sample): 100,000 / n,
/// from 10 (scikit-learn's n_init = 10) at 10,000 images and more up to 100 at 1,000 and
/// fewer. Every start costs about the same multiple of n, so the final fit's time
/// stays bounded, and small collections, where one bad start shows most, get the most.
pub fn kmeans_starts(n: usize) -> u64 {
    (100_000 / n.max(1)).clamp(10, 100) as u64
}

/// How the 2-D map is made.
///
/// Saved clusterings name it (`"pca"`, `"tsne"`, `"umap"`); one saved before the map could
/// be chosen has a PCA map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapMethod {
    /// UMAP (see [`super::umap`]): neighbours stay neighbours, a few seconds at 10k images.
    #[default]
    Umap,
    /// First two principal components: fastest, and new images are placed exactly, but
    /// images far apart in the vectors can land together.
    Pca,
    /// t-SNE on the PCA space: local groups stand apart; slower (tens of seconds at 10k).
    Tsne,
}

impl MapMethod {
    /// The name shown to people: "UMAP", "PCA" or "t-SNE".
    pub fn name(self) -> &'static str {
        match self {
            MapMethod::Umap => "UMAP",
            MapMethod::Pca => "PCA",
            MapMethod::Tsne => "t-SNE",
        }
    }
}

impl std::str::FromStr for MapMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pca" => Ok(MapMethod::Pca),
            "tsne" => Ok(MapMethod::Tsne),
            "umap" => Ok(MapMethod::Umap),
            _ => Err(format!("expected umap, pca or tsne, got {s:?}")),
        }
    }
}

/// How many clusters: chosen by the sweep, or given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KChoice {
    /// Chosen from the k sweep (see `sweep`).
    Auto,
    /// Exactly this many.
    Fixed(usize),
}

impl std::str::FromStr for KChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(KChoice::Auto),
            _ => match s.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(KChoice::Fixed(k)),
                _ => Err(format!(
                    "expected `auto` or a number of clusters ≥ 1, got {s:?}"
                )),
            },
        }
    }
}

/// Everything that decides a clustering. Saved with it, so a rerun can tell whether the
/// saved one still answers the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The clustering method.
    pub method: Method,
    /// How many clusters (ignored by DBSCAN).
    pub k: KChoice,
    /// Upper end of the k sweep.
    pub k_max: usize,
    /// DBSCAN radius in cosine distance; `None` = chosen by [`dbscan::choose_eps`].
    pub eps: Option<f32>,
    /// DBSCAN: neighbours (counting the image itself) that make a core image.
    pub min_points: usize,
    /// Dimensions of the PCA space that KMeans, GMM and Ward work in.
    pub dims: usize,
    /// Seed of every random choice (starts, samples, UMAP's layout).
    pub seed: u64,
    /// How the 2-D map is drawn.
    #[serde(default = "saved_before_map_choice")]
    pub map: MapMethod,
    /// Above this many images, k is chosen and KMeans starts are compared on a seeded sample
    /// of this size; the winner then takes every image and is finished on all of them.
    #[serde(default = "default_sample")]
    pub sample: usize,
}

/// The map of a clustering saved before the map could be chosen: PCA, the only one then.
fn saved_before_map_choice() -> MapMethod {
    MapMethod::Pca
}

fn default_sample() -> usize {
    20_000
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: Method::Kmeans,
            k: KChoice::Auto,
            k_max: 30,
            eps: None,
            min_points: 5,
            dims: 32,
            seed: 0,
            map: MapMethod::Umap,
            sample: default_sample(),
        }
    }
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// 1, 2, … by size, largest first; 0 for DBSCAN's unclustered images (listed last).
    pub number: usize,
    /// Images in the cluster.
    pub size: usize,
    /// The name shown: the user's name when they gave one (see [`super::curation`]), else
    /// [`Cluster::generated_name`].
    pub name: String,
    /// The name made for the cluster (see [`Naming`]): its top ImageNet classes, e.g.
    /// "jellyfish · coral reef", when the classifier is confident, else what its pictures
    /// show, e.g. "teal · magenta · rings" ("unclustered" for DBSCAN's unclustered images;
    /// empty with neither a classifier head nor pictures).
    #[serde(default)]
    pub generated_name: String,
    /// Stable identity across edits: a fitted cluster's index in the fitted clustering, and
    /// ids from there up for clusters that edits made (split parts, new clusters). Edits refer
    /// to clusters by it; `number` is only the display order.
    #[serde(default)]
    pub id: usize,
    /// The classifier's classes for the cluster (behind the name when it is confident), with
    /// their softmax probability.
    pub classes: Vec<(String, f32)>,
    /// Mean of the members' unit vectors, scaled to unit length.
    pub centroid: Vec<f32>,
}

impl Cluster {
    /// Whether this is DBSCAN's group of unclustered images (number 0).
    pub fn is_noise(&self) -> bool {
        self.number == 0
    }
}

/// Where the clustering method of a request came from: a saved clustering's method is used
/// again until another is asked for, so every answer says which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodFrom {
    /// `--method` (or the explorer's own choice).
    Asked,
    /// The folder's saved clustering was made by it.
    Saved,
    /// The settings' `cluster.method` (or the built-in default).
    #[default]
    Settings,
}

impl MethodFrom {
    /// How a person is told, e.g. `the saved method; --method to change`.
    pub fn describe(self) -> &'static str {
        match self {
            MethodFrom::Asked => "as asked",
            MethodFrom::Saved => "the saved method; --method to change",
            MethodFrom::Settings => "from the settings",
        }
    }

    /// One word for the explorer's status line: `asked`, `saved` or `settings`.
    pub fn word(self) -> &'static str {
        match self {
            MethodFrom::Asked => "asked",
            MethodFrom::Saved => "saved",
            MethodFrom::Settings => "settings",
        }
    }
}

/// A clustering of a collection, row-aligned with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// Where `request.method` came from (not saved: it is a fact of each run).
    #[serde(skip)]
    pub method_from: MethodFrom,
    /// What was asked for.
    pub request: Request,
    /// k actually used (clusters, not counting the unclustered group).
    pub k: usize,
    /// DBSCAN's eps actually used.
    pub eps: Option<f32>,
    /// Why this k (or eps).
    pub reason: String,
    /// The clusters, largest first (DBSCAN's unclustered group last).
    pub clusters: Vec<Cluster>,
    /// Index into `clusters` of each image.
    pub labels: Vec<usize>,
    /// Cosine distance of each image to its cluster's centroid.
    pub distances: Vec<f32>,
    /// 2-D map position of each image (UMAP, PCA or t-SNE, as the request says).
    pub map: Vec<[f32; 2]>,
    /// Each image's cell `[column, row]` of the lattice (see [`Clustering::lattice`]); empty
    /// when not made (then the map's bisection stands in).
    #[serde(default)]
    pub lattice: Vec<[u32; 2]>,
    /// Projection that placed the map, to place new images.
    pub map_projection: Pca,
    /// Share of the variance the clustering space keeps.
    pub explained: f32,
    /// The k sweep, when k was chosen automatically.
    pub sweep: Option<Sweep>,
    /// How many of the user's edits are replayed on the fitted clustering (0: as fitted;
    /// see [`super::curation`]).
    #[serde(default)]
    pub edits: usize,
    /// k of the fit the edits were replayed on (`k` counts the clusters shown): what a refit
    /// with one cluster more or fewer starts from. 0 in clusterings saved before edits.
    #[serde(default)]
    pub fitted_k: usize,
}

/// Checks a DBSCAN radius: a cosine distance strictly between 0 and 2. The error is the
/// rule, for the caller to prefix with where the value came from.
pub fn check_eps(eps: f32) -> Result<f32, &'static str> {
    if eps > 0.0 && eps < 2.0 {
        Ok(eps)
    } else {
        Err("a cosine distance between 0 and 2")
    }
}

/// The clustering of a collection too small to cluster (0 or 1 image, see [`cluster`]): no
/// cluster, or one cluster of the one image at the centre of the map, named as a fitted
/// cluster would be. It is shown, never saved; the explorer uses it while a live folder
/// holds fewer than 2 images.
pub fn of_too_few(c: &Collection, req: &Request, names: &Naming) -> Clustering {
    debug_assert!(c.len() < 2);
    let raw = vec![Some(0); c.len()];
    let (clusters, labels) = number_by_size(c, &raw, names);
    let dims = c.dim();
    Clustering {
        method_from: MethodFrom::default(),
        request: req.clone(),
        k: clusters.len(),
        fitted_k: clusters.len(),
        eps: None,
        reason: match c.len() {
            0 => "no images yet".to_owned(),
            _ => "one image: nothing to compare it with yet".to_owned(),
        },
        clusters,
        labels,
        distances: vec![0.0; c.len()],
        map: vec![[0.0, 0.0]; c.len()],
        lattice: vec![[0, 0]; c.len()],
        map_projection: Pca {
            mean: vec![0.0; dims],
            components: Matrix::zeros(0, dims),
            variance: Vec::new(),
        },
        explained: 0.0,
        sweep: None,
        edits: 0,
    }
}

/// A step of a fit, in the order [`cluster_keeping_map`] takes them, for a caller to show
/// while a large collection is fitted (minutes at a million images).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStage {
    /// The PCA of the vectors of this many images.
    Projecting {
        /// Images fitted.
        images: usize,
    },
    /// Each image's nearest, the kNN graph the map and the lattice are made from.
    Neighbours,
    /// UMAP's epochs: `done` of `total`.
    Mapping {
        /// Epochs done.
        done: usize,
        /// Epochs in all.
        total: usize,
    },
    /// Laying the map out on the lattice.
    Lattice,
    /// Choosing k: the sweep of inertia and silhouette.
    ChoosingK,
    /// Fitting the clusters with the chosen k (or eps).
    Assigning,
    /// Naming the clusters.
    Naming,
}

impl std::fmt::Display for FitStage {
    /// What the stage does, for a status line: "laying out the map (UMAP epoch 37 of 100)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FitStage::Projecting { images } => {
                write!(f, "projecting the vectors of {images} images (PCA)")
            }
            FitStage::Neighbours => write!(f, "finding each image's nearest (kNN graph)"),
            FitStage::Mapping { done, total } => {
                write!(f, "laying out the map (UMAP epoch {done} of {total})")
            }
            FitStage::Lattice => write!(f, "placing the images on the lattice"),
            FitStage::ChoosingK => write!(f, "choosing k (inertia and silhouette sweep)"),
            FitStage::Assigning => write!(f, "assigning the images to clusters"),
            FitStage::Naming => write!(f, "naming the clusters"),
        }
    }
}

/// Clusters `c` as `req` asks; `names` names the clusters (see [`Naming`]).
///
/// Fails with a bad request when the collection has fewer than 2 images, `k` is larger than
/// it, DBSCAN's eps puts too many pairs within reach, or Ward gets too many images; and when a
/// Gaussian mixture or t-SNE does not converge.
pub fn cluster(c: &Collection, req: &Request, names: &Naming) -> anyhow::Result<Clustering> {
    cluster_keeping_map(c, req, names, None, &|_| {})
}

/// A layout kept from an earlier fit of the same images (row-aligned with them): the map
/// and, when it was saved, the lattice made from it.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    /// Each image's map position.
    pub map: Vec<[f32; 2]>,
    /// Each image's lattice cell; empty to make it again.
    pub lattice: Vec<[u32; 2]>,
}

/// [`cluster`], with the 2-D map (and its lattice) given, row-aligned with `c`, instead of
/// made: they depend on the vectors, the map method and the seed, not on the clusters, so a
/// refit with another k keeps them (a UMAP of 100,000 images takes about 40 s on 2 cores).
///
/// The lattice is refined ([`super::lattice::lay_out`]) with the kNN graph that UMAP is
/// fitted on (made for it with the other maps).
///
/// `progress` hears each [`FitStage`] as it starts (and each UMAP epoch), on this thread.
///
/// Fails as [`cluster`] does.
pub fn cluster_keeping_map(
    c: &Collection,
    req: &Request,
    names: &Naming,
    kept: Option<Kept>,
    progress: &dyn Fn(FitStage),
) -> anyhow::Result<Clustering> {
    let n = c.len();
    crate::error::ensure_request!(n >= 2, "clustering needs at least 2 images, found {n}");
    progress(FitStage::Projecting { images: n });
    let pca = Pca::fit(&c.vectors, req.dims.max(2), req.seed);
    let x = pca.project(&c.vectors);
    let explained = pca.explained(total_variance(&c.vectors));
    let kept = kept.filter(|k| k.map.len() == n);
    let umap_options = UmapOptions {
        seed: req.seed,
        ..UmapOptions::default()
    };
    let knn_graph = || {
        progress(FitStage::Neighbours);
        super::umap::knn(c, &x, super::umap::others(n, &umap_options), req.seed)
    };
    // What the lattice needs of the kNN graph, taken before UMAP lets the graph go.
    let nearest = |knn: &[Vec<super::neighbours::Neighbour>]| -> Vec<Vec<usize>> {
        knn.iter()
            .map(|row| {
                row.iter()
                    .take(super::lattice::NEIGHBOURS)
                    .map(|nb| nb.index)
                    .collect()
            })
            .collect()
    };
    let mut lattice_graph = None;
    let map = match (&kept, req.map) {
        (Some(kept), _) => kept.map.clone(),
        // Two images span one axis: the map is then a line.
        (_, MapMethod::Pca) => (0..n)
            .map(|i| {
                let y = if x.cols > 1 { x.get(i, 1) } else { 0.0 };
                [x.get(i, 0), y]
            })
            .collect(),
        (_, MapMethod::Tsne) => super::tsne::tsne(&x)?,
        (_, MapMethod::Umap) => {
            let graph = knn_graph();
            lattice_graph = Some(nearest(&graph));
            let epoch = |done, total| progress(FitStage::Mapping { done, total });
            super::umap::umap_of_knn_reporting(&x, graph, &umap_options, &epoch)
        }
    };
    // Identical files share a place: the saved clustering keeps one position per content,
    // so a copy shown elsewhere now would move on the next start.
    let mut map = map;
    let mut first = std::collections::HashMap::new();
    for i in 0..n {
        let at = *first.entry(c.hashes[i]).or_insert(i);
        map[i] = map[at];
    }
    let lattice = match kept {
        Some(kept) if kept.lattice.len() == n => kept.lattice,
        _ => {
            let graph = lattice_graph.unwrap_or_else(|| nearest(&knn_graph()));
            progress(FitStage::Lattice);
            super::lattice::lay_out(&map, Some(&graph)).1
        }
    };
    let map_projection = Pca {
        mean: pca.mean.clone(),
        components: first_rows(&pca.components, 2),
        variance: pca.variance[..2.min(pca.variance.len())].to_vec(),
    };

    // Large collections choose k and compare KMeans starts on a seeded sample: the sweep's
    // cost grows with n, and a sample of 20,000 images already shows the structure.
    let sample = (n > req.sample.max(100)).then(|| Lcg::new(req.seed ^ 0x5a).sample(n, req.sample));
    let (xs, units) = match &sample {
        Some(rows) => (Cow::Owned(x.select(rows)), c.vectors.select(rows)),
        None => (Cow::Borrowed(&x), c.vectors.to_matrix()),
    };

    // Copies of one picture: there is nothing to choose k from (every score is 0/0 or 0).
    let one_vector = (1..n).all(|i| c.vectors.same_rows(i, 0));
    let needs_sweep = req.k == KChoice::Auto && req.method != Method::Dbscan && !one_vector;
    let (sweep, fits) = if needs_sweep && n >= 3 {
        progress(FitStage::ChoosingK);
        let opts = SweepOptions {
            k_max: req.k_max,
            seed: req.seed,
            ..Default::default()
        };
        let (s, f) = sweep(&xs, &units, &opts)?;
        (Some(s), f)
    } else {
        (None, Vec::new())
    };
    if let KChoice::Fixed(k) = req.k
        && req.method != Method::Dbscan
    {
        crate::error::ensure_request!(k <= n, "k = {k} but there are only {n} images");
    }
    let (k, mut reason) = match (req.k, &sweep) {
        (KChoice::Fixed(k), _) => (k, format!("k = {k} as asked")),
        (KChoice::Auto, Some(s)) => (s.chosen, s.reason.clone()),
        (KChoice::Auto, None) if one_vector => {
            (1, "every image has the same vector: one cluster".to_owned())
        }
        (KChoice::Auto, None) => (1, "too few images to choose k".to_owned()),
    };
    // Copies of a picture: no method can make more clusters than there are distinct vectors
    // (KMeans leaves some empty, the mixture fails, Ward splits identical images at random).
    let distinct = match req.method {
        Method::Dbscan => k,
        _ => distinct_rows(c, k),
    };
    let k = if distinct < k {
        let (noun, clusters) = if distinct == 1 {
            ("vector", "cluster")
        } else {
            ("vectors", "clusters")
        };
        reason.push_str(&format!(
            "; the images hold only {distinct} distinct {noun}, so {distinct} {clusters}"
        ));
        distinct
    } else {
        k
    };
    if let Some(rows) = &sample {
        let what = match (sweep.is_some(), req.method == Method::Kmeans) {
            (true, true) => "k and the best KMeans start",
            (true, false) => "k",
            (false, true) => "the best KMeans start",
            (false, false) => "",
        };
        if !what.is_empty() {
            reason.push_str(&format!(
                " ({what} found on a seeded sample of {} of {n} images)",
                rows.len()
            ));
        }
    }

    progress(FitStage::Assigning);
    let mut eps_used = None;
    let raw: Vec<Option<usize>> = match req.method {
        Method::Kmeans => {
            // Several k-means++ starts (and the sweep's warm-started fit) in the reduced
            // space, each finished with Lloyd steps on the full vectors, which recover what
            // the PCA cut away; the lowest full-space inertia wins.
            let warm = fits.get(k.wrapping_sub(2)).map(|f| f.labels.as_slice());
            let best =
                kmeans::best_of_starts(&xs, &units, k, kmeans_starts(xs.rows), req.seed, warm)?;
            let labels = match &sample {
                // Every image joins the sample's nearest centre, then Lloyd steps on all.
                Some(_) => {
                    let all = kmeans::nearest(&c.vectors, &best.centroids);
                    kmeans::refine(&c.vectors, &all, k, 20).labels
                }
                None => best.labels,
            };
            labels.into_iter().map(Some).collect()
        }
        Method::Gmm => gmm::gmm(&x, k, req.seed)?.into_iter().map(Some).collect(),
        Method::Agglomerative => agglomerative::ward(&x, k)?.into_iter().map(Some).collect(),
        Method::Dbscan => {
            let mut auto_labels = None;
            let eps = match req.eps {
                Some(e) => {
                    reason = format!("eps = {e} as asked, min_points = {}", req.min_points);
                    e
                }
                None => {
                    let chosen = dbscan::choose_eps(c, req.min_points, req.seed)?;
                    reason = chosen.reason;
                    auto_labels = Some(chosen.labels);
                    chosen.eps
                }
            };
            eps_used = Some(eps);
            match auto_labels {
                Some(labels) => labels,
                None => dbscan::dbscan(c, eps, req.min_points)?,
            }
        }
    };

    progress(FitStage::Naming);
    let (clusters, labels) = number_by_size(c, &raw, names);
    let distances = distances_to_centroids(c, &clusters, &labels);
    let found = clusters.iter().filter(|c| !c.is_noise()).count();
    if req.method != Method::Dbscan && found < k {
        reason.push_str(&format!("; {found} of them with members"));
    }
    let k = found;
    Ok(Clustering {
        method_from: MethodFrom::default(),
        request: req.clone(),
        k,
        fitted_k: k,
        eps: eps_used,
        reason,
        clusters,
        labels,
        distances,
        map,
        lattice,
        map_projection,
        explained,
        sweep,
        edits: 0,
    })
}

/// How many distinct rows `c` has, counting no further than `limit`.
fn distinct_rows(c: &Collection, limit: usize) -> usize {
    let mut seen = std::collections::HashSet::new();
    for i in 0..c.len() {
        seen.insert(c.row(i).iter().map(|x| x.to_bits()).collect::<Vec<u32>>());
        if seen.len() >= limit {
            break;
        }
    }
    seen.len()
}

fn first_rows(m: &Matrix, rows: usize) -> Matrix {
    let rows = rows.min(m.rows);
    Matrix::from_vec(rows, m.cols, m.data[..rows * m.cols].to_vec())
}

/// Renumbers raw labels by size (ties: the cluster whose first image comes first), puts
/// unlabelled images in a trailing "unclustered" group, and computes centroids and names.
fn number_by_size(
    c: &Collection,
    raw: &[Option<usize>],
    names: &Naming,
) -> (Vec<Cluster>, Vec<usize>) {
    let groups = raw.iter().flatten().max().map_or(0, |m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups];
    let mut noise = Vec::new();
    for (i, l) in raw.iter().enumerate() {
        match l {
            Some(l) => members[*l].push(i),
            None => noise.push(i),
        }
    }
    members.retain(|m| !m.is_empty());
    members.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let mut numbered: Vec<(usize, Vec<usize>)> = members
        .into_iter()
        .enumerate()
        .map(|(i, m)| (i + 1, m))
        .collect();
    if !noise.is_empty() {
        numbered.push((0, noise));
    }
    let mut labels = vec![0; c.len()];
    for (index, (_, m)) in numbered.iter().enumerate() {
        m.iter().for_each(|&i| labels[i] = index);
    }
    let centroids: Vec<Vec<f32>> = numbered.iter().map(|(_, m)| mean_direction(c, m)).collect();
    let named_groups: Vec<Vec<usize>> = numbered
        .iter()
        .filter(|(number, _)| *number != 0)
        .map(|(_, m)| m.clone())
        .collect();
    let mut named = name_groups(c, &named_groups, names).into_iter();
    let clusters = numbered
        .into_iter()
        .zip(centroids)
        .enumerate()
        .map(|(index, ((number, m), centroid))| {
            let (name, classes) = match number {
                0 => ("unclustered".to_owned(), Vec::new()),
                _ => named.next().expect("a name for each cluster"),
            };
            Cluster {
                number,
                size: m.len(),
                generated_name: name.clone(),
                name,
                id: index,
                classes,
                centroid,
            }
        })
        .collect();
    (clusters, labels)
}

/// The mean of the unit vectors of rows `members` of `c`, scaled to unit length.
pub(crate) fn mean_direction(c: &Collection, members: &[usize]) -> Vec<f32> {
    let mut mean = vec![0f32; c.dim()];
    for &i in members {
        mean.iter_mut().zip(c.row(i)).for_each(|(m, v)| *m += v);
    }
    crate::features::l2_normalize(&mut mean);
    mean
}

/// What names clusters: the classifier head of the extractor that made the vectors, and the
/// pictures of the contents, for names that say what is visible.
///
/// A cluster is named by its classes (see [`Namer`]) when the classifier is confident of
/// them ([`MIN_CONFIDENCE`]); otherwise, and without a classifier head, by its dominant
/// colours and a structure word measured on the pictures of the [`PICTURES`] members nearest
/// its centre (see [`super::looks`]), e.g. "teal · magenta · rings". Without pictures, the
/// classes name it whatever the confidence. No two clusters named together share a name:
/// spare words (a class or colour not shown, a second structure word) are added to those
/// that would, then a number.
#[derive(Clone, Copy, Default)]
pub struct Naming<'a> {
    /// The extractor that made the vectors; it names only with a classifier head.
    pub model: Option<&'a dyn Extractor>,
    /// Where the members' pictures come from; `None` names by classes alone.
    pub pictures: Option<&'a dyn Pictures>,
}

/// Gives the small RGB picture of a content, to name clusters by what is visible.
pub trait Pictures {
    /// The picture of the content whose BLAKE3 hash is `hash`, or `None` when there is none
    /// (or it cannot be read).
    fn picture(&self, hash: &[u8; 32]) -> Option<image::RgbImage>;
}

/// The store's thumbnails (JPEGs of at most 160 pixels a side, see
/// [`crate::decode::thumbnail`]); a thumbnail that is missing or damaged gives `None`.
impl Pictures for Store {
    fn picture(&self, hash: &[u8; 32]) -> Option<image::RgbImage> {
        let jpeg = self.thumbnail(hash).ok()??;
        crate::decode::thumbnail::decode_thumbnail(&jpeg).ok()
    }
}

/// How many members nearest the centre of a cluster have their pictures measured for its name:
/// a bounded cost per cluster, whatever its size (decoding a thumbnail and measuring it takes
/// well under a millisecond).
pub const PICTURES: usize = 24;

/// The least confidence of the classifier in a cluster's classes for them to name it: the
/// probability mass of the classes shown in the name, in the cluster's mean prediction (the
/// softmax of the head applied to the mean raw vector).
///
/// Measured on sets that are not ImageNet photos, with the built-in EfficientNet-Lite0 and
/// the auto-k KMeans clusters: Fashion-MNIST (10,000 images, 8 clusters) 0.09–0.44
/// ("sweatshirt · trench coat · cloak" 0.23, sandals as "hatchet · cleaver" 0.44) and
/// procedural art (`/tmp/art`, 120 images, 4 clusters) 0.11–0.40 ("dishrag · poncho ·
/// chain mail" 0.40). Photos of one kind put most of the mass on the classes shown: at 0.5
/// the classes say what the cluster is more than all other classes together.
pub const MIN_CONFIDENCE: f32 = 0.5;

/// The generated name and the classes behind it of each group of rows of `c`, classes
/// contrasted with the whole of `c` (see [`Naming`]), told apart from one another.
pub(crate) fn name_groups(
    c: &Collection,
    groups: &[Vec<usize>],
    names: &Naming,
) -> Vec<(String, Vec<(String, f32)>)> {
    let namer = Namer::new(c, names.model);
    let mut words = Vec::with_capacity(groups.len());
    let mut classes_of = Vec::with_capacity(groups.len());
    for m in groups {
        let (shown, classes) = match &namer {
            Some(namer) => namer.name(c, m),
            None => (Vec::new(), Vec::new()),
        };
        let confidence: f32 = classes
            .iter()
            .filter(|(n, _)| shown.contains(n))
            .map(|(_, p)| p)
            .sum();
        let by_pictures = names
            .pictures
            .filter(|_| shown.is_empty() || confidence < MIN_CONFIDENCE)
            .map(|pictures| super::looks::words(&central_pictures(c, m, pictures)))
            .filter(|(words, _)| !words.is_empty());
        words.push(by_pictures.unwrap_or_else(|| {
            let spare = classes
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| !shown.contains(n))
                .collect();
            (shown, spare)
        }));
        classes_of.push(classes);
    }
    distinct_names(words).into_iter().zip(classes_of).collect()
}

/// The pictures of the (at most [`PICTURES`]) members nearest the mean direction of
/// `members`, one per content.
fn central_pictures(
    c: &Collection,
    members: &[usize],
    pictures: &dyn Pictures,
) -> Vec<image::RgbImage> {
    let centre = mean_direction(c, members);
    let mut order: Vec<(f32, usize)> = members
        .iter()
        .map(|&i| (c.vectors.dot(i, &centre), i))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut seen = std::collections::HashSet::new();
    order
        .into_iter()
        .filter(|&(_, i)| seen.insert(c.hashes[i]))
        .filter_map(|(_, i)| pictures.picture(&c.hashes[i]))
        .take(PICTURES)
        .collect()
}

/// Names (words joined by " · ") from `(words, spare words)`, none shared: while names
/// repeat, each that does takes its next spare word not already in it; names still alike
/// after that are numbered from the second on ("teal · rings 2").
fn distinct_names(mut named: Vec<(Vec<String>, Vec<String>)>) -> Vec<String> {
    let join = |w: &[String]| w.join(" · ");
    loop {
        let mut count = std::collections::HashMap::new();
        for (w, _) in &named {
            *count.entry(join(w)).or_insert(0) += 1;
        }
        let mut grew = false;
        for (w, spare) in &mut named {
            if count[&join(w)] < 2 {
                continue;
            }
            while !spare.is_empty() {
                let word = spare.remove(0);
                if !w.contains(&word) {
                    w.push(word);
                    grew = true;
                    break;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut taken = std::collections::HashSet::new();
    named
        .iter()
        .map(|(w, _)| {
            let name = join(w);
            let mut shown = name.clone();
            let mut n = 2;
            // No words, no name: nothing to tell apart.
            while !name.is_empty() && !taken.insert(shown.clone()) {
                shown = format!("{name} {n}");
                n += 1;
            }
            shown
        })
        .collect()
}

/// Numbers the names of clusters (not `fixed`) that another cluster already has, from 2 on,
/// so that no two share one; `fixed` names (the user's) are kept as they are and win.
pub(crate) fn tell_apart(clusters: &mut [Cluster], fixed: &[bool]) {
    let mut taken: std::collections::HashSet<String> = clusters
        .iter()
        .zip(fixed)
        .filter(|(_, f)| **f)
        .map(|(cl, _)| cl.name.clone())
        .collect();
    // A cluster without a name (no classifier head and no pictures) stays without one.
    for (cl, _) in clusters
        .iter_mut()
        .zip(fixed)
        .filter(|(cl, f)| !**f && !cl.name.is_empty())
    {
        let base = cl.name.clone();
        let mut n = 2;
        while !taken.insert(cl.name.clone()) {
            cl.name = format!("{base} {n}");
            n += 1;
        }
    }
}

/// Names clusters by the classes that set them apart from the whole collection.
///
/// The head is linear, so the mean of the members' logits is the head applied to their
/// mean raw vector: one evaluation per cluster. Classes are ranked by p·ln(p / q), where
/// p is the cluster's class probability and q the collection's: a class common in the
/// cluster and rarer elsewhere wins, so a class every image shares (a white background
/// read as "hair slide") does not name every cluster; only classes with a positive score
/// (likelier in the cluster than overall) are shown.
///
/// When there is nothing to contrast with — the cluster is the whole collection (one cluster,
/// `--k 1`, a folder of copies of one picture) or reads as it — every score is about 0 and
/// their order would be the class index order ("tench · goldfish"). Then, as whenever the
/// cluster differs from the collection by less than [`MIN_CONTRAST`] (the sum of the scores,
/// KL(p‖q)), the name is the cluster's most probable classes.
struct Namer<'a> {
    model: &'a dyn Extractor,
    overall: Vec<f32>,
}

/// The least KL divergence, in nats, between a cluster's class distribution and the
/// collection's for the contrast to name it. A cluster of 98 % of the collection can differ
/// from it by about ln(1 / 0.98) ≈ 0.02: below that it reads as the collection.
pub const MIN_CONTRAST: f32 = 0.02;

impl<'a> Namer<'a> {
    fn new(c: &Collection, model: Option<&'a dyn Extractor>) -> Option<Namer<'a>> {
        let model = model.filter(|m| !m.class_names().is_empty())?;
        let all: Vec<usize> = (0..c.len()).collect();
        let overall = softmax(&model.logits(&mean_raw(c, &all)).ok()?);
        Some(Namer { model, overall })
    }

    /// The classes shown in the name, and the classes behind it with their probability.
    fn name(&self, c: &Collection, members: &[usize]) -> (Vec<String>, Vec<(String, f32)>) {
        let Ok(logits) = self.model.logits(&mean_raw(c, members)) else {
            return (Vec::new(), Vec::new());
        };
        name_by_contrast(&softmax(&logits), &self.overall, self.model.class_names())
    }
}

/// The classes shown in the name and the classes behind it for a cluster with class probabilities `p` in a
/// collection with `overall` (both sum to 1, one per name). Returns up to three classes with
/// their probability in the cluster; the name shows two, and the third when it scores at
/// least half as well as the second. See [`Namer`] for the ranking.
fn name_by_contrast(
    p: &[f32],
    overall: &[f32],
    names: &[String],
) -> (Vec<String>, Vec<(String, f32)>) {
    let n = p.len().min(overall.len()).min(names.len());
    let contrast = |i: usize| {
        if p[i] > 0.0 {
            p[i] * (p[i] / overall[i].max(1e-12)).ln()
        } else {
            0.0
        }
    };
    let divergence: f32 = (0..n).map(contrast).sum();
    let by_contrast = divergence >= MIN_CONTRAST;
    let score = |i: usize| if by_contrast { contrast(i) } else { p[i] };
    let mut order: Vec<usize> = (0..n).collect();
    // Ties (and there are many at 0) go to the likelier class, never to the lower index.
    order.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(p[b].total_cmp(&p[a])));
    order.truncate(3);
    if by_contrast {
        order.retain(|&i| contrast(i) > 0.0);
    }
    let classes: Vec<(String, f32)> = order.iter().map(|&i| (names[i].clone(), p[i])).collect();
    let shown = order
        .iter()
        .enumerate()
        .filter(|&(rank, &i)| rank < 2 || score(i) >= 0.5 * score(order[1]))
        .map(|(_, &i)| names[i].clone())
        .collect();
    (shown, classes)
}

/// Mean of the members' raw vectors (unit vector × stored length).
fn mean_raw(c: &Collection, members: &[usize]) -> Vec<f32> {
    let mut mean = vec![0f32; c.dim()];
    for &i in members {
        let norm = c.norms[i];
        mean.iter_mut()
            .zip(c.row(i))
            .for_each(|(m, v)| *m += v * norm);
    }
    mean.iter_mut()
        .for_each(|m| *m /= members.len().max(1) as f32);
    mean
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = e.iter().sum();
    e.into_iter().map(|v| v / total).collect()
}

/// The `n` most likely classes, with softmax probabilities.
pub fn top_classes(logits: &[f32], names: &[String], n: usize) -> Vec<(String, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    let mut order: Vec<usize> = (0..logits.len().min(names.len())).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order
        .into_iter()
        .take(n)
        .map(|i| (names[i].clone(), (logits[i] - max).exp() / total))
        .collect()
}

/// Cosine distance of each image to its cluster's centroid.
pub(crate) fn distances_to_centroids(
    c: &Collection,
    clusters: &[Cluster],
    labels: &[usize],
) -> Vec<f32> {
    use rayon::prelude::*;
    (0..c.len())
        .into_par_iter()
        .map(|i| distance_to(&clusters[labels[i]], &c.row(i)))
        .collect()
}

/// Cosine distance of the unit vector `v` to the centre of `cluster`.
pub fn distance_to(cluster: &Cluster, v: &[f32]) -> f32 {
    (1.0 - crate::collection::dot(v, &cluster.centroid)).max(0.0)
}

/// The rows of each cluster (indexed like `clustering.clusters`), nearest the centre first;
/// ties keep collection order. The one ordering every client shows and exports.
pub fn members(clustering: &Clustering) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); clustering.clusters.len()];
    for (i, &l) in clustering.labels.iter().enumerate() {
        out[l].push(i);
    }
    for m in &mut out {
        m.sort_by(|&a, &b| {
            clustering.distances[a]
                .total_cmp(&clustering.distances[b])
                .then(a.cmp(&b))
        });
    }
    out
}

impl Clustering {
    /// The index in `clusters` of the cluster numbered `number` (as shown: 1 is the largest).
    ///
    /// Fails with a [`crate::error::ErrorKind::BadRequest`] naming the clusters there are.
    pub fn index_of(&self, number: usize) -> Result<usize, crate::error::Error> {
        self.clusters
            .iter()
            .position(|cl| cl.number == number)
            .ok_or_else(|| {
                let numbers: Vec<String> = self
                    .clusters
                    .iter()
                    .map(|cl| cl.number.to_string())
                    .collect();
                crate::error::Error::bad_request(format_args!(
                    "no cluster {number}: the clusters are {}",
                    numbers.join(", ")
                ))
            })
    }

    /// The lattice: each image's own cell `[column, row]` of a near-square grid of
    /// `(columns, rows)` (row 0 at the top), laid out from the map and refined towards the
    /// embedding's neighbours when the clustering was fitted (see [`super::lattice`]). When
    /// images came or went since the fit, the map's bisection alone, until the next fit.
    pub fn lattice(&self) -> ((usize, usize), Vec<[u32; 2]>) {
        let shape = super::lattice::shape(self.map.len());
        // Each image in a cell of its own inside the grid (a damaged store may say otherwise).
        let mut taken = vec![false; shape.0 * shape.1];
        let fits = self.lattice.len() == self.map.len()
            && self.lattice.iter().all(|&[x, y]| {
                let (x, y) = (x as usize, y as usize);
                x < shape.0 && y < shape.1 && !std::mem::replace(&mut taken[y * shape.0 + x], true)
            });
        if fits {
            (shape, self.lattice.clone())
        } else {
            super::lattice::lay_out(&self.map, None)
        }
    }
}

/// Index of the cluster whose centroid is nearest to the unit vector `v`, skipping the
/// unclustered group, and the cosine distance to it.
pub fn nearest_cluster(clusters: &[Cluster], v: &[f32]) -> Option<(usize, f32)> {
    clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.is_noise())
        .map(|(i, c)| (i, distance_to(c, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four well-apart blobs of 60 unit vectors in 48 dimensions, rows interleaved.
    fn blobs() -> Collection {
        let (dim, mut rng) = (48, Lcg::new(3));
        let centres: Vec<Vec<f32>> = (0..4)
            .map(|_| (0..dim).map(|_| rng.normal()).collect())
            .collect();
        let mut c = Collection::default();
        for i in 0..240 {
            let mut v: Vec<f32> = centres[i % 4]
                .iter()
                .map(|x| x + 0.3 * rng.normal())
                .collect();
            crate::features::l2_normalize(&mut v);
            c.push(format!("{i}.png").into(), [0; 32], &v, 1.0);
        }
        c
    }

    #[test]
    fn a_sampled_sweep_and_fit_find_the_same_clusters_as_the_full_ones() {
        let c = blobs();
        let full = Request {
            k_max: 8,
            ..Request::default()
        };
        let sampled = Request {
            sample: 100,
            ..full.clone()
        };
        let (a, b) = (
            cluster(&c, &full, &Naming::default()).unwrap(),
            cluster(&c, &sampled, &Naming::default()).unwrap(),
        );
        assert_eq!((a.k, b.k), (4, 4));
        assert!(
            b.reason.contains("seeded sample of 100 of 240"),
            "{}",
            b.reason
        );
        assert!(!a.reason.contains("sample of"), "{}", a.reason);
        for (i, &l) in b.labels.iter().enumerate() {
            assert_eq!(
                l,
                b.labels[i % 4],
                "row {i} is in the blob of row {}",
                i % 4
            );
        }
        assert_eq!(a.labels, b.labels);
    }

    #[test]
    fn k_parses() {
        assert_eq!("auto".parse::<KChoice>(), Ok(KChoice::Auto));
        assert_eq!("7".parse::<KChoice>(), Ok(KChoice::Fixed(7)));
        assert!("0".parse::<KChoice>().is_err());
        assert!("many".parse::<KChoice>().is_err());
    }

    #[test]
    fn a_cluster_that_is_the_whole_collection_is_named_by_its_likeliest_classes() {
        let names: Vec<String> = ["tench", "goldfish", "shark", "cat", "dog"]
            .map(String::from)
            .to_vec();
        // One cluster: p = q, every contrast is 0. Index order would say "tench · goldfish".
        let p = softmax(&[0.0, 0.1, 0.2, 3.0, 2.5]);
        let (name, classes) = name_by_contrast(&p, &p, &names);
        assert_eq!(name.join(" · "), "cat · dog");
        assert_eq!(classes[0].0, "cat");
        assert!((classes[0].1 - p[3]).abs() < 1e-6);
        // A flat distribution (the model has no idea): still the likeliest first, not index 0.
        let flat = softmax(&[0.0, 0.0, 0.0, 1e-3, 0.0]);
        assert!(name_by_contrast(&flat, &flat, &names).0[0] == "cat");
        // A cluster of 99 % of the collection reads as the collection too.
        let q: Vec<f32> = p
            .iter()
            .zip(softmax(&[3.0, 0.0, 0.0, 0.0, 0.0]))
            .map(|(a, b)| 0.99 * a + 0.01 * b)
            .collect();
        assert_eq!(name_by_contrast(&p, &q, &names).0.join(" · "), "cat · dog");
    }

    #[test]
    fn a_distinct_cluster_is_named_by_contrast_and_only_by_likelier_classes() {
        let names: Vec<String> = ["tench", "goldfish", "shark", "cat", "dog"]
            .map(String::from)
            .to_vec();
        // Every image looks like a cat; this cluster has the sharks.
        let overall = softmax(&[0.0, 0.0, 1.0, 4.0, 1.0]);
        let p = softmax(&[0.0, 0.0, 3.5, 4.0, 0.0]);
        let (name, classes) = name_by_contrast(&p, &overall, &names);
        assert_eq!(name, ["shark"], "{classes:?}");
        assert!(
            classes.iter().all(|(n, _)| n != "tench" && n != "dog"),
            "{classes:?}"
        );
    }

    #[test]
    fn softmax_top_classes() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let top = top_classes(&[1.0, 3.0, 2.0, 0.0], &names, 2);
        assert_eq!(top[0].0, "b");
        assert_eq!(top[1].0, "c");
        assert!((top.iter().map(|t| t.1).sum::<f32>() - 0.9).abs() < 0.1);
    }
}
