//! UMAP for the 2-D map: Uniform Manifold Approximation and Projection (McInnes, Healy &
//! Melville 2018, arXiv:1802.03426), with umap-learn's defaults: cosine distance, 15
//! neighbours, min_dist 0.1, spread 1.0, 5 negative samples per positive one.
//!
//! 1. The kNN graph by cosine distance on the full unit vectors. Candidates come from the PCA
//!    space the clustering already computed (a blocked sgemm over 32 columns instead of 1280)
//!    and are re-ranked by their exact cosine distance.
//! 2. The fuzzy simplicial set: each image's distances are shifted by its nearest one (ρ) and
//!    scaled by σ, found by binary search so that the memberships sum to log₂ 15; the directed
//!    memberships are joined by the fuzzy union `p + q − p·q`.
//! 3. The layout starts from the first two principal components, each scaled to 0..10, and is
//!    optimised by stochastic gradient descent on the fuzzy cross-entropy: each edge is sampled
//!    in proportion to its membership and pulls its ends together, each sample pushes its image
//!    away from 5 random ones, and the learning rate falls linearly from 1 to 0.
//!
//! Deterministic: the images are split into fixed blocks (independent of the thread count);
//! in an epoch each block moves only its own images, reading the others as they were when the
//! epoch began, with its own seeded random stream. The same input and seed give the same map,
//! bit for bit, on any number of threads.

use rayon::prelude::*;

use super::neighbours::Neighbour;
use super::rng::{Lcg, mix};
use crate::collection::matrix::Matrix;
use crate::collection::{Collection, dot};

/// Settings of a UMAP fit. The defaults are umap-learn's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UmapOptions {
    /// Size of each image's neighbourhood, counting the image itself (umap-learn's
    /// `n_neighbors`): 15.
    pub neighbours: usize,
    /// Least distance between images on the map (`min_dist`): 0.1.
    pub min_dist: f32,
    /// Scale of distances on the map (`spread`): 1.0.
    pub spread: f32,
    /// Optimisation epochs; `None`: [`default_epochs`] (500 up to 10,000 images, 200 up to
    /// 200,000, 100 above).
    pub epochs: Option<usize>,
    /// Random images pushed away per sampled edge: 5.
    pub negative_rate: usize,
    /// Seed of the starting noise and the negative samples.
    pub seed: u64,
}

impl Default for UmapOptions {
    fn default() -> Self {
        UmapOptions {
            neighbours: 15,
            min_dist: 0.1,
            spread: 1.0,
            epochs: None,
            negative_rate: 5,
            seed: 0,
        }
    }
}

/// Candidates per neighbour taken from the PCA space before the exact re-ranking.
const CANDIDATES_PER_NEIGHBOUR: usize = 3;

/// The 2-D map of the images of `c` (unit vectors, `n × d`), one `[x, y]` per row, in map
/// units: only distances on the map mean something (the layout starts in 0..10 on each axis
/// and the optimisation moves it from there).
///
/// `x` is `c`'s PCA projection (`n × dims`, rows aligned with `c`): it gives the starting
/// layout (its first two columns) and the kNN candidates, so it should keep most of the
/// variance (the clustering's 32 dimensions do). Fewer than 3 images are laid out by the
/// PCA alone. Never fails; panics when `x` and `c` differ in rows.
pub fn umap(c: &Collection, x: &Matrix, opts: &UmapOptions) -> Vec<[f32; 2]> {
    let n = c.len();
    assert_eq!(
        x.rows, n,
        "the PCA projection is row-aligned with the collection"
    );
    let knn = if n < 3 {
        Vec::new()
    } else {
        knn(c, x, others(n, opts), opts.seed)
    };
    umap_of_knn(x, knn, opts)
}

/// Optimisation epochs for `n` images: umap-learn's 500 up to 10,000 and 200 above, then
/// 100 above 200,000. Each epoch costs the same per image at any size, so at a million images
/// the 200 epochs were 10 of a 15.6-minute first fit on 2 cores. Halving them cost 0.009 of
/// knn@10 (0.154 → 0.145) and 0.006 of label@10 on Fashion-MNIST's 20,000 (BENCHMARKS, "NN-descent").
pub fn default_epochs(n: usize) -> usize {
    match n {
        0..=10_000 => 500,
        10_001..=200_000 => 200,
        _ => 100,
    }
}

/// How many others each image's neighbourhood holds in a UMAP fit of `n` images (n ≥ 2):
/// `opts.neighbours − 1`, at most `n − 1`.
pub fn others(n: usize, opts: &UmapOptions) -> usize {
    opts.neighbours.max(2).min(n) - 1
}

/// [`umap`] from a kNN graph already made: `knn[i]` holds image i's [`others`] nearest by
/// cosine distance, nearest first (as [`knn`] gives them), so that the graph can serve the
/// lattice too (take what it needs first: the graph is let go once the fuzzy graph is made,
/// 264 MB at a million images). Panics when `knn` and `x` differ in rows (for 3 images or
/// more).
pub fn umap_of_knn(x: &Matrix, knn: Vec<Vec<Neighbour>>, opts: &UmapOptions) -> Vec<[f32; 2]> {
    umap_of_knn_reporting(x, knn, opts, &|_, _| {})
}

/// [`umap_of_knn`], telling `epoch` (done, total) after each optimisation epoch.
pub fn umap_of_knn_reporting(
    x: &Matrix,
    knn: Vec<Vec<Neighbour>>,
    opts: &UmapOptions,
    epoch: &dyn Fn(usize, usize),
) -> Vec<[f32; 2]> {
    let n = x.rows;
    let mut map = initial_layout(x, opts.seed);
    if n < 3 {
        return map;
    }
    assert_eq!(knn.len(), n, "the kNN graph is row-aligned with the map");
    let graph = fuzzy_graph(&knn, opts.neighbours.max(2));
    drop(knn);
    let epochs = opts.epochs.unwrap_or(default_epochs(n)).max(1);
    let (a, b) = fit_ab(opts.spread, opts.min_dist);
    optimise(&mut map, graph, (epochs, epoch), (a, b), opts);
    map
}

/// Collections from this size on find the kNN graph's candidates by NN-descent
/// ([`super::nn_descent`]) instead of comparing every pair: at 50,000 images the exact
/// candidates take about as long as NN-descent, and their cost grows as n².
pub const DESCENT_FROM: usize = 50_000;

/// How the candidates of the kNN graph are found in the PCA space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Every pair compared (blocked sgemm): n² products, exact.
    Exact,
    /// NN-descent from a random projection forest, seeded: about n·k² products, approximate.
    Descent {
        /// Seed of the forest and of the candidates' sampling.
        seed: u64,
    },
}

impl Candidates {
    /// Exact below [`DESCENT_FROM`] images, NN-descent (with `seed`) from there on.
    pub fn for_size(n: usize, seed: u64) -> Candidates {
        if n < DESCENT_FROM {
            Candidates::Exact
        } else {
            Candidates::Descent { seed }
        }
    }
}

/// The `others` nearest images of every image by cosine distance, nearest first (ties by row),
/// leaving the image itself out: candidates by Euclidean distance in the PCA space `x` (exact
/// or by NN-descent as [`Candidates::for_size`] chooses), re-ranked by the exact cosine
/// distance of the unit vectors of `c`. Deterministic for a given `seed`.
pub fn knn(c: &Collection, x: &Matrix, others: usize, seed: u64) -> Vec<Vec<Neighbour>> {
    knn_by(c, x, others, Candidates::for_size(c.len(), seed))
}

/// [`knn`] with the candidates found as `how` says (to compare the two ways).
pub fn knn_by(c: &Collection, x: &Matrix, others: usize, how: Candidates) -> Vec<Vec<Neighbour>> {
    rerank(c, knn_candidates(x, others, how), others)
}

/// The first half of [`knn_by`], which reads only `x` (one row an image): each row's
/// candidates for its `others` nearest, by Euclidean distance in `x`.
pub fn knn_candidates(x: &Matrix, others: usize, how: Candidates) -> Vec<Vec<u32>> {
    let want = (others * CANDIDATES_PER_NEIGHBOUR).min(x.rows.saturating_sub(1));
    let candidates = match how {
        Candidates::Exact => pca_candidates(x, want),
        Candidates::Descent { seed } => super::nn_descent::knn_graph(x, want, seed),
    };
    super::give_back_freed_memory();
    candidates
}

/// The second half of [`knn_by`]: each row's `others` nearest of its `candidates` by the
/// exact cosine distance of `c`'s unit vectors, nearest first (ties by row).
pub fn rerank(c: &Collection, candidates: Vec<Vec<u32>>, others: usize) -> Vec<Vec<Neighbour>> {
    candidates
        .into_par_iter()
        .enumerate()
        .map(|(i, candidates)| {
            let mut row: Vec<Neighbour> = candidates
                .into_iter()
                .map(|j| Neighbour {
                    index: j as usize,
                    distance: (1.0 - c.vectors.dot_rows(i, j as usize)).max(0.0),
                })
                .collect();
            row.sort_by(|p, q| {
                p.distance
                    .total_cmp(&q.distance)
                    .then(p.index.cmp(&q.index))
            });
            row.truncate(others);
            // The graph lives through UMAP and the lattice: 15 neighbours, not the 45
            // candidates' room (at a million images, 264 MB instead of 744 MB).
            row.shrink_to_fit();
            row
        })
        .collect()
}

/// The `want` nearest rows of each row of `x` by Euclidean distance (not the row itself), by
/// blocks of sgemm: ‖xᵢ − xⱼ‖² ranks like ‖xⱼ‖² − 2·xᵢ·xⱼ.
fn pca_candidates(x: &Matrix, want: usize) -> Vec<Vec<u32>> {
    const ROWS: usize = 512;
    const COLS: usize = 2048;
    let (n, d) = (x.rows, x.cols);
    let norms: Vec<f32> = (0..n).map(|j| dot(x.row(j), x.row(j))).collect();
    (0..n.div_ceil(ROWS))
        .into_par_iter()
        .flat_map_iter(|block| {
            let first = block * ROWS;
            let rows = ROWS.min(n - first);
            let mut best: Vec<Nearest> = (0..rows).map(|_| Nearest::new(want)).collect();
            let mut scores = vec![0f32; rows * COLS];
            for start in (0..n).step_by(COLS) {
                let cols = COLS.min(n - start);
                // scores (rows × cols) = −2 · X[first..] (rows × d) · X[start..]ᵀ (d × cols).
                // SAFETY: the pointers and strides describe row-major `rows × d` and
                // `cols × d` slices of `x.data` (read transposed) and `rows × cols` of `scores`.
                unsafe {
                    matrixmultiply::sgemm(
                        rows,
                        d,
                        cols,
                        -2.0,
                        x.data[first * d..].as_ptr(),
                        d as isize,
                        1,
                        x.data[start * d..].as_ptr(),
                        1,
                        d as isize,
                        0.0,
                        scores.as_mut_ptr(),
                        cols as isize,
                        1,
                    );
                }
                for (r, top) in best.iter_mut().enumerate() {
                    let row = &scores[r * cols..(r + 1) * cols];
                    let mut worst = top.worst();
                    for (k, (&s, &norm)) in row.iter().zip(&norms[start..start + cols]).enumerate()
                    {
                        let score = s + norm;
                        if score < worst && start + k != first + r {
                            top.insert(score, (start + k) as u32);
                            worst = top.worst();
                        }
                    }
                }
            }
            best.into_iter()
                .map(|top| top.items.into_iter().map(|(_, j)| j).collect())
        })
        .collect()
}

/// The `size` lowest scores seen, lowest first; among equal scores the first seen first.
struct Nearest {
    size: usize,
    items: Vec<(f32, u32)>,
}

impl Nearest {
    fn new(size: usize) -> Nearest {
        Nearest {
            size,
            items: Vec::with_capacity(size + 1),
        }
    }

    fn worst(&self) -> f32 {
        if self.items.len() < self.size {
            f32::INFINITY
        } else {
            self.items.last().map_or(f32::NEG_INFINITY, |l| l.0)
        }
    }

    fn insert(&mut self, score: f32, index: u32) {
        let at = self.items.partition_point(|item| item.0 <= score);
        self.items.insert(at, (score, index));
        self.items.truncate(self.size);
    }
}

/// The symmetric fuzzy graph as edges sorted by head: both directions of every pair, each
/// with the pair's membership (0..=1].
#[derive(Debug, Clone, PartialEq)]
struct Graph {
    /// `offsets[i]..offsets[i + 1]` are the edges of image `i`.
    offsets: Vec<usize>,
    tails: Vec<u32>,
    weights: Vec<f32>,
}

/// Binary search steps for σ and the tolerance on the sum of memberships.
const SIGMA_STEPS: usize = 64;
const SIGMA_TOLERANCE: f64 = 1e-5;
/// σ is at least this share of the image's mean neighbour distance (umap-learn's
/// MIN_K_DIST_SCALE), so an image among copies keeps finite memberships.
const MIN_SIGMA_SCALE: f64 = 1e-3;

/// ρ and σ of each image (`k`: the neighbourhood size counting the image): with distances
/// `d` to its neighbours, Σ exp(−max(0, d − ρ) / σ) = log₂ k (the paper's equation for σᵢ).
fn smooth_distances(knn: &[Vec<Neighbour>], k: usize) -> Vec<(f64, f64)> {
    let target = (k as f64).log2();
    let (sum_all, count_all) = knn.iter().flatten().fold((0f64, 0usize), |(s, c), nb| {
        (s + f64::from(nb.distance), c + 1)
    });
    let mean_all = sum_all / count_all.max(1) as f64;
    knn.iter()
        .map(|row| {
            let distances: Vec<f64> = row.iter().map(|nb| f64::from(nb.distance)).collect();
            let rho = distances.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0);
            let (mut lo, mut hi, mut sigma) = (0.0, f64::INFINITY, 1.0);
            for _ in 0..SIGMA_STEPS {
                let sum: f64 = distances
                    .iter()
                    .map(|&d| {
                        if d > rho {
                            (-(d - rho) / sigma).exp()
                        } else {
                            1.0
                        }
                    })
                    .sum();
                if (sum - target).abs() < SIGMA_TOLERANCE {
                    break;
                }
                if sum > target {
                    hi = sigma;
                    sigma = (lo + hi) / 2.0;
                } else {
                    lo = sigma;
                    sigma = if hi.is_finite() {
                        (lo + hi) / 2.0
                    } else {
                        sigma * 2.0
                    };
                }
            }
            let mean = if rho > 0.0 {
                distances.iter().sum::<f64>() / distances.len().max(1) as f64
            } else {
                mean_all
            };
            (rho, sigma.max(MIN_SIGMA_SCALE * mean))
        })
        .collect()
}

/// The fuzzy simplicial set of the kNN graph: membership exp(−(d − ρᵢ) / σᵢ) of each directed
/// edge, joined with the reverse edge's by the fuzzy union p + q − p·q.
fn fuzzy_graph(knn: &[Vec<Neighbour>], k: usize) -> Graph {
    let n = knn.len();
    let scales = smooth_distances(knn, k);
    // Each edge is put in both ends' rows (made in place, in CSR form: an edge list beside
    // the result took 12 bytes an edge more, 360 MB at a million images); a pair then
    // appears once or twice in each row, from each end's list.
    let mut starts = vec![0usize; n + 1];
    for (i, row) in knn.iter().enumerate() {
        starts[i + 1] += row.len();
        for nb in row {
            starts[nb.index + 1] += 1;
        }
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let mut tails = vec![0u32; starts[n]];
    let mut weights = vec![0f32; starts[n]];
    let mut next = starts.clone();
    for (i, (row, &(rho, sigma))) in knn.iter().zip(&scales).enumerate() {
        for nb in row {
            let d = f64::from(nb.distance);
            let w = if d > rho {
                (-(d - rho) / sigma).exp()
            } else {
                1.0
            } as f32;
            for (from, to) in [(i, nb.index), (nb.index, i)] {
                tails[next[from]] = to as u32;
                weights[next[from]] = w;
                next[from] += 1;
            }
        }
    }
    drop(next);
    // Each row sorted by tail, a pair's two memberships joined (p + q − p·q, the fuzzy
    // union), and the rows moved up over the room their doubles took.
    let mut offsets = vec![0; n + 1];
    let mut row: Vec<(u32, f32)> = Vec::new();
    let mut out = 0;
    for i in 0..n {
        row.clear();
        row.extend((starts[i]..starts[i + 1]).map(|e| (tails[e], weights[e])));
        row.sort_unstable_by_key(|&(j, _)| j);
        let mut e = 0;
        while e < row.len() {
            let (j, p) = row[e];
            let w = match row.get(e + 1) {
                Some(&(j2, q)) if j2 == j => {
                    e += 1;
                    p + q - p * q
                }
                _ => p,
            };
            e += 1;
            if w > 0.0 {
                tails[out] = j;
                weights[out] = w;
                out += 1;
            }
        }
        offsets[i + 1] = out;
    }
    tails.truncate(out);
    tails.shrink_to_fit();
    weights.truncate(out);
    weights.shrink_to_fit();
    Graph {
        offsets,
        tails,
        weights,
    }
}

/// The first two principal components, each scaled to 0..10, with a little seeded noise so
/// that copies of one picture do not start on one point.
fn initial_layout(x: &Matrix, seed: u64) -> Vec<[f32; 2]> {
    let n = x.rows;
    let mut rng = Lcg::new(mix(seed ^ 0x756d_6170));
    let mut map = vec![[0f32; 2]; n];
    for axis in 0..2 {
        let column: Vec<f32> = (0..n)
            .map(|i| if axis < x.cols { x.get(i, axis) } else { 0.0 })
            .collect();
        let lo = column.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = column.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let scale = if hi > lo { 10.0 / (hi - lo) } else { 0.0 };
        for (p, v) in map.iter_mut().zip(column) {
            p[axis] = (v - lo) * scale + 1e-3 * rng.normal();
        }
    }
    map
}

/// `a` and `b` of the map's membership curve 1 / (1 + a·d^2b), fitted by least squares
/// (Levenberg–Marquardt) to 1 below `min_dist` and exp(−(d − min_dist) / spread) above, on
/// 300 points of 0..3·spread as umap-learn does. min_dist 0.1, spread 1 give a ≈ 1.577,
/// b ≈ 0.895.
pub fn fit_ab(spread: f32, min_dist: f32) -> (f32, f32) {
    let (spread, min_dist) = (f64::from(spread), f64::from(min_dist));
    let points: Vec<(f64, f64)> = (0..300)
        .map(|k| {
            let d = 3.0 * spread * k as f64 / 299.0;
            let y = if d < min_dist {
                1.0
            } else {
                (-(d - min_dist) / spread).exp()
            };
            (d, y)
        })
        .collect();
    let residuals = |a: f64, b: f64| -> f64 {
        points
            .iter()
            .map(|&(d, y)| (1.0 / (1.0 + a * d.powf(2.0 * b)) - y).powi(2))
            .sum()
    };
    let (mut a, mut b, mut lambda) = (1.0f64, 1.0f64, 1e-3);
    let mut cost = residuals(a, b);
    for _ in 0..200 {
        // Normal equations JᵀJ·δ = −Jᵀr for the two parameters.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(d, y) in &points {
            if d <= 0.0 {
                continue;
            }
            let u = d.powf(2.0 * b);
            let f = 1.0 / (1.0 + a * u);
            let r = f - y;
            let da = -u * f * f;
            let db = -a * u * 2.0 * d.ln() * f * f;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let (maa, mbb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
        let det = maa * mbb - jab * jab;
        if det.abs() < 1e-300 {
            break;
        }
        let step_a = -(mbb * ga - jab * gb) / det;
        let step_b = -(maa * gb - jab * ga) / det;
        let next = residuals(a + step_a, b + step_b);
        if next < cost {
            let done = cost - next < 1e-14;
            (a, b, cost) = (a + step_a, b + step_b, next);
            lambda /= 10.0;
            if done {
                break;
            }
        } else {
            lambda *= 10.0;
        }
    }
    (a as f32, b as f32)
}

/// Images per block of the optimisation: about 32 blocks, at least 256 images each.
fn block_len(n: usize) -> usize {
    n.div_ceil(32).max(256)
}

/// Each gradient step along an axis is clipped to ±4, as in umap-learn.
const CLIP: f32 = 4.0;
/// Weight of the repulsion (umap-learn's `repulsion_strength`, γ in the paper).
const GAMMA: f32 = 1.0;

/// Stochastic gradient descent of the fuzzy cross-entropy between `graph` and the map.
/// UMAP's stochastic gradient descent: `epochs` (how many, and what hears each one done), and
/// the curve's `(a, b)`.
fn optimise(
    map: &mut [[f32; 2]],
    graph: Graph,
    (epochs, done): (usize, &dyn Fn(usize, usize)),
    (a, b): (f32, f32),
    o: &UmapOptions,
) {
    let n = map.len();
    let max_w = graph.weights.iter().copied().fold(0f32, f32::max);
    // Each edge's sampling period in epochs, made in place of its weight (a second array
    // was 120 MB at a million images). Edges too weak to be sampled once in all the epochs
    // are left out.
    let Graph {
        offsets,
        tails,
        weights: mut every,
    } = graph;
    for w in &mut every {
        *w = if *w >= max_w / epochs as f32 {
            max_w / *w
        } else {
            f32::INFINITY
        };
    }
    let negative_rate = o.negative_rate as f32;
    let len = block_len(n);
    // Per edge: the epoch of its next sample, and of its next negative samples.
    let mut next: Vec<(f32, f32)> = every.iter().map(|&e| (e, e / negative_rate)).collect();
    let mut next_blocks: Vec<&mut [(f32, f32)]> = Vec::new();
    let mut rest = next.as_mut_slice();
    for block in 0..n.div_ceil(len) {
        let first = block * len;
        let last = (first + len).min(n);
        let (mine, tail) = rest.split_at_mut(offsets[last] - offsets[first]);
        next_blocks.push(mine);
        rest = tail;
    }
    for epoch in 0..epochs {
        let alpha = 1.0 - epoch as f32 / epochs as f32;
        let before = map.to_vec();
        map.par_chunks_mut(len)
            .zip(next_blocks.par_iter_mut())
            .enumerate()
            .for_each(|(block, (own, next))| {
                let first = block * len;
                let mut rng = Lcg::new(mix(o.seed ^ mix((epoch * 1024 + block) as u64)));
                let position = |own: &[[f32; 2]], j: usize| {
                    if (first..first + own.len()).contains(&j) {
                        own[j - first]
                    } else {
                        before[j]
                    }
                };
                let base = offsets[first];
                for i in first..first + own.len() {
                    for e in offsets[i]..offsets[i + 1] {
                        let next = &mut next[e - base];
                        if next.0 > epoch as f32 {
                            continue;
                        }
                        let j = tails[e] as usize;
                        let (yi, yj) = (own[i - first], position(own, j));
                        let d2 = (yi[0] - yj[0]).powi(2) + (yi[1] - yj[1]).powi(2);
                        let coefficient = if d2 > 0.0 {
                            let power = d2.powf(b);
                            -2.0 * a * b * (power / d2) / (1.0 + a * power)
                        } else {
                            0.0
                        };
                        // Each pair is an edge in both directions: each end is pulled when
                        // its own edge is sampled.
                        for axis in 0..2 {
                            let step = (coefficient * (yi[axis] - yj[axis])).clamp(-CLIP, CLIP);
                            own[i - first][axis] += alpha * step;
                        }
                        next.0 += every[e];

                        let negatives =
                            ((epoch as f32 - next.1) * negative_rate / every[e]) as usize;
                        for _ in 0..negatives {
                            let k = rng.below(n);
                            if k == i {
                                continue;
                            }
                            let (yi, yk) = (own[i - first], position(own, k));
                            let d2 = (yi[0] - yk[0]).powi(2) + (yi[1] - yk[1]).powi(2);
                            let coefficient =
                                2.0 * GAMMA * b / ((0.001 + d2) * (1.0 + a * d2.powf(b)));
                            for axis in 0..2 {
                                // Two images on one point are pushed apart by a full step.
                                let step = if d2 > 0.0 {
                                    (coefficient * (yi[axis] - yk[axis])).clamp(-CLIP, CLIP)
                                } else {
                                    CLIP
                                };
                                own[i - first][axis] += alpha * step;
                            }
                        }
                        next.1 += negatives as f32 * every[e] / negative_rate;
                    }
                }
            });
        done(epoch + 1, epochs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::neighbours::knn_graph;
    use crate::analysis::pca::Pca;

    /// `families` groups of `size` unit vectors in 40 dimensions around random centres, rows
    /// interleaved (row i is of family i % families).
    fn blobs(families: usize, size: usize, spread: f32) -> Collection {
        let (dim, mut rng) = (40, Lcg::new(11));
        let centres: Vec<Vec<f32>> = (0..families)
            .map(|_| (0..dim).map(|_| rng.normal()).collect())
            .collect();
        let mut c = Collection::default();
        for i in 0..families * size {
            let mut v: Vec<f32> = centres[i % families]
                .iter()
                .map(|x| x + spread * rng.normal())
                .collect();
            crate::features::l2_normalize(&mut v);
            c.push(format!("{i}.png").into(), [0; 32], &v, 1.0);
        }
        c
    }

    fn pca(c: &Collection) -> Matrix {
        Pca::fit(&c.vectors, 32, 0).project(&c.vectors)
    }

    #[test]
    fn the_curve_fits_umap_learns_values() {
        let (a, b) = fit_ab(1.0, 0.1);
        assert!((a - 1.577).abs() < 0.01, "a = {a}");
        assert!((b - 0.895).abs() < 0.01, "b = {b}");
    }

    /// How many neighbours of `found` are also in the same row of `exact`.
    fn shared(found: &[Vec<Neighbour>], exact: &[Vec<Neighbour>]) -> usize {
        found
            .iter()
            .zip(exact)
            .map(|(f, e)| {
                f.iter()
                    .filter(|nb| e.iter().any(|x| x.index == nb.index))
                    .count()
            })
            .sum()
    }

    #[test]
    fn the_knn_from_pca_candidates_is_the_exact_one() {
        let c = blobs(3, 60, 0.5);
        let found = knn(&c, &pca(&c), 14, 0);
        let exact = knn_graph(&c, 14);
        let same = shared(&found, &exact);
        assert!(
            same as f64 / (14.0 * 180.0) > 0.99,
            "{same} of {}",
            14 * 180
        );
        for (i, row) in found.iter().enumerate() {
            assert_eq!(row.len(), 14);
            assert!(row.iter().all(|nb| nb.index != i));
            assert!(row.windows(2).all(|w| w[0].distance <= w[1].distance));
        }
    }

    #[test]
    fn the_knn_from_nn_descent_candidates_is_nearly_the_exact_one() {
        let c = blobs(6, 400, 0.5);
        let x = pca(&c);
        let exact = knn_by(&c, &x, 14, Candidates::Exact);
        let found = knn_by(&c, &x, 14, Candidates::Descent { seed: 4 });
        let same = shared(&found, &exact);
        let recall = same as f64 / (14.0 * 2400.0);
        assert!(recall > 0.95, "recall@14 {recall}");
        assert_eq!(found, knn_by(&c, &x, 14, Candidates::Descent { seed: 4 }));
    }

    #[test]
    fn the_fuzzy_graph_is_symmetric_with_memberships_up_to_1() {
        let c = blobs(3, 30, 0.5);
        let knn = knn(&c, &pca(&c), 14, 0);
        // Each image's directed memberships sum to log₂ 15.
        for (row, &(rho, sigma)) in knn.iter().zip(&smooth_distances(&knn, 15)) {
            let sum: f64 = row
                .iter()
                .map(|nb| (-(f64::from(nb.distance) - rho).max(0.0) / sigma).exp())
                .sum();
            assert!((sum - 15f64.log2()).abs() < 1e-3, "{sum}");
        }
        let g = fuzzy_graph(&knn, 15);
        let weight = |i: usize, j: usize| {
            (g.offsets[i]..g.offsets[i + 1])
                .find(|&e| g.tails[e] as usize == j)
                .map(|e| g.weights[e])
        };
        for (i, row) in knn.iter().enumerate() {
            for e in g.offsets[i]..g.offsets[i + 1] {
                let j = g.tails[e] as usize;
                assert_ne!(i, j);
                assert!(g.weights[e] > 0.0 && g.weights[e] <= 1.0);
                assert_eq!(weight(j, i), Some(g.weights[e]), "{i} → {j}");
            }
            // The nearest neighbour is always fully a member (up to rounding in the union).
            assert!(weight(i, row[0].index).unwrap() > 1.0 - 1e-6);
        }
    }

    #[test]
    fn the_map_is_the_same_on_any_number_of_threads() {
        let c = blobs(3, 200, 0.5);
        let x = pca(&c);
        let opts = UmapOptions {
            epochs: Some(50),
            seed: 4,
            ..Default::default()
        };
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| umap(&c, &x, &opts))
        };
        let bits = |map: Vec<[f32; 2]>| -> Vec<[u32; 2]> {
            map.iter().map(|p| p.map(f32::to_bits)).collect()
        };
        let one = bits(on(1));
        assert_eq!(one, bits(on(3)));
        assert_eq!(one, bits(umap(&c, &x, &opts)));
        let other_seed = umap(&c, &x, &UmapOptions { seed: 5, ..opts });
        assert_ne!(one, bits(other_seed));
    }

    #[test]
    fn families_stay_together_on_the_map() {
        let c = blobs(3, 100, 0.6);
        let map = umap(&c, &pca(&c), &UmapOptions::default());
        let mut same = 0;
        for (i, p) in map.iter().enumerate() {
            let mut near: Vec<(f32, usize)> = map
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2), j))
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0));
            same += near[..10].iter().filter(|(_, j)| j % 3 == i % 3).count();
        }
        assert!(same as f64 / 3000.0 > 0.98, "{same} of 3000");
    }

    #[test]
    fn tiny_and_degenerate_collections_get_finite_maps() {
        let c = blobs(2, 20, 0.5);
        for n in 1..=4 {
            let rows: Vec<usize> = (0..n).collect();
            let mut small = Collection::default();
            for &i in &rows {
                small.push(format!("{i}.png").into(), [0; 32], &c.row(i), 1.0);
            }
            let x = Pca::fit(&small.vectors, 32, 0).project(&small.vectors);
            let map = umap(&small, &x, &UmapOptions::default());
            assert_eq!(map.len(), n);
            assert!(map.iter().flatten().all(|v| v.is_finite()), "{n}: {map:?}");
        }
        // Copies of one picture: spread out, not all on one point, and finite.
        let mut copies = Collection::default();
        for i in 0..30 {
            copies.push(format!("{i}.png").into(), [0; 32], &c.row(0), 1.0);
        }
        let x = Pca::fit(&copies.vectors, 32, 0).project(&copies.vectors);
        let map = umap(&copies, &x, &UmapOptions::default());
        assert!(map.iter().flatten().all(|v| v.is_finite()));
        assert!(map.iter().any(|p| p != &map[0]));
    }
}
