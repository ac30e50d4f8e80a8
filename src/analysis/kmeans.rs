//! KMeans (linfa-clustering) on the rows of a [`Matrix`], seeded.

use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::{Array2, ArrayView2};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

use super::rng::Lcg;
use crate::collection::matrix::{Matrix, Rows};

/// A fitted KMeans: centres, each row's centre and its squared distance to it.
#[derive(Debug, Clone)]
pub struct KMeansFit {
    /// `k × d`, one centre per row.
    pub centroids: Matrix,
    /// Each row's centre.
    pub labels: Vec<usize>,
    /// Each row's squared Euclidean distance to its centre.
    pub sq_distances: Vec<f32>,
}

impl KMeansFit {
    /// Sum of squared distances to the nearest centre.
    pub fn inertia(&self) -> f64 {
        self.sq_distances.iter().map(|&d| d as f64).sum()
    }

    /// Mean (unsquared) distance to the nearest centre.
    pub fn distortion(&self) -> f64 {
        let n = self.sq_distances.len().max(1) as f64;
        self.sq_distances
            .iter()
            .map(|&d| (d.max(0.0) as f64).sqrt())
            .sum::<f64>()
            / n
    }
}

/// How a fit starts: `runs` k-means++ starts (the best is kept), or given centres.
pub enum Start<'a> {
    /// `runs` k-means++ starts (Arthur & Vassilvitskii 2007); the lowest inertia wins.
    PlusPlus {
        /// How many starts.
        runs: u64,
    },
    /// These centres (`k × d`), e.g. the previous k's, warm-started.
    From(&'a Matrix),
}

/// Fits `k` centres to the rows of `x`. The same input and seed give the same answer.
///
/// `k` is clamped to 1..=rows. Fails when linfa's KMeans fails (the given centres do not
/// match `x`'s columns, say).
pub fn fit(x: &Matrix, k: usize, start: Start, seed: u64) -> anyhow::Result<KMeansFit> {
    let k = k.clamp(1, x.rows.max(1));
    let view = ArrayView2::from_shape((x.rows, x.cols), &x.data)?;
    let data = DatasetBase::from(view);
    let params = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .tolerance(1e-5)
        .max_n_iterations(300);
    let params = match start {
        Start::PlusPlus { runs } => params.n_runs(runs.max(1) as usize),
        Start::From(c) => {
            params
                .n_runs(1)
                .init_method(KMeansInit::Precomputed(Array2::from_shape_vec(
                    (c.rows, c.cols),
                    c.data.clone(),
                )?))
        }
    };
    let model = params.fit(&data)?;
    let labels = model.predict(&view).to_vec();
    let sq_distances = model.transform(&view).to_vec();
    let centroids = model.centroids();
    let centroids = Matrix::from_vec(k, x.cols, centroids.iter().copied().collect());
    Ok(KMeansFit {
        centroids,
        labels,
        sq_distances,
    })
}

/// The best of `starts` KMeans fits: k-means++ starts on `x` (a reduced space, e.g. PCA;
/// seeds `seed`, `seed + 1`, …) and the `warm` labels when given, each finished by [`refine`]
/// on `full` (the same rows' full vectors) until no label moves; the lowest inertia on `full`
/// wins (Arthur & Vassilvitskii 2007; the restarts are scikit-learn's `n_init`). Never worse
/// than any single start.
///
/// Fails when a KMeans fit fails (see [`fit`]).
pub fn best_of_starts(
    x: &Matrix,
    full: &Matrix,
    k: usize,
    starts: u64,
    seed: u64,
    warm: Option<&[usize]>,
) -> anyhow::Result<KMeansFit> {
    let mut best: Option<KMeansFit> = None;
    let mut consider = |labels: &[usize]| {
        let fit = refine(full, labels, k, 300);
        if best.as_ref().is_none_or(|b| fit.inertia() < b.inertia()) {
            best = Some(fit);
        }
    };
    for run in 0..starts.max(1) {
        consider(&fit(x, k, Start::PlusPlus { runs: 1 }, seed + run)?.labels);
    }
    if let Some(labels) = warm {
        consider(labels);
    }
    Ok(best.expect("at least one start"))
}

/// Centres for `k + 1` clusters from a fit with `k`: the old centres plus one row of `x`
/// drawn with probability ∝ squared distance (the k-means++ step), for warm starts.
pub fn grow(x: &Matrix, fit: &KMeansFit, rng: &mut Lcg) -> Matrix {
    let total: f64 = fit.inertia();
    let mut pick = x.rows - 1;
    if total > 0.0 {
        let mut target = rng.uniform() as f64 * total;
        for (i, &d) in fit.sq_distances.iter().enumerate() {
            target -= d as f64;
            if target <= 0.0 {
                pick = i;
                break;
            }
        }
    } else {
        pick = rng.below(x.rows);
    }
    let mut data = fit.centroids.data.clone();
    data.extend_from_slice(x.row(pick));
    Matrix::from_vec(fit.centroids.rows + 1, x.cols, data)
}

/// Lloyd iterations on the full vectors `x`, starting from `labels` (from a fit in a
/// reduced space): centres are the members' means, and each row moves to its nearest
/// centre, found with one matrix product per iteration. Stops when no label changes.
/// Returns the refined fit; `k` clusters, empty ones keep their old centre.
pub fn refine(
    x: &(impl Rows + ?Sized),
    labels: &[usize],
    k: usize,
    max_iterations: usize,
) -> KMeansFit {
    let (n, d) = x.shape();
    let mut labels = labels.to_vec();
    let mut centroids = Matrix::zeros(k, d);
    let mut sq_distances = vec![0f32; n];
    let row_sq = squared_norms(x);
    for _ in 0..max_iterations.max(1) {
        let mut sums = Matrix::zeros(k, d);
        let mut counts = vec![0usize; k];
        x.for_each_block(|first, block| {
            for (row, &l) in block.chunks_exact(d.max(1)).zip(&labels[first..]) {
                counts[l] += 1;
                sums.row_mut(l)
                    .iter_mut()
                    .zip(row)
                    .for_each(|(s, v)| *s += v);
            }
        });
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                let inv = 1.0 / count as f32;
                let (src, dst) = (sums.row(c).to_vec(), centroids.row_mut(c));
                dst.iter_mut().zip(src).for_each(|(o, s)| *o = s * inv);
            }
        }
        let changed = assign(x, &row_sq, &centroids, &mut labels, &mut sq_distances);
        if !changed {
            break;
        }
    }
    KMeansFit {
        centroids,
        labels,
        sq_distances,
    }
}

/// Each row's nearest centre.
pub fn nearest(x: &(impl Rows + ?Sized), centroids: &Matrix) -> Vec<usize> {
    let row_sq = squared_norms(x);
    let n = x.shape().0;
    let mut labels = vec![0; n];
    assign(x, &row_sq, centroids, &mut labels, &mut vec![0.0; n]);
    labels
}

/// Each row's squared length.
fn squared_norms(x: &(impl Rows + ?Sized)) -> Vec<f32> {
    let d = x.shape().1.max(1);
    let mut out = Vec::with_capacity(x.shape().0);
    x.for_each_block(|_, block| {
        out.extend(
            block
                .chunks_exact(d)
                .map(|r| r.iter().map(|v| v * v).sum::<f32>()),
        )
    });
    out
}

/// Moves each row to its nearest centre (one matrix product); says whether a label changed.
fn assign(
    x: &(impl Rows + ?Sized),
    row_sq: &[f32],
    centroids: &Matrix,
    labels: &mut [usize],
    sq_distances: &mut [f32],
) -> bool {
    let centre_sq: Vec<f32> = (0..centroids.rows)
        .map(|c| centroids.row(c).iter().map(|v| v * v).sum())
        .collect();
    let dots = crate::collection::matrix::matmul(x, &centroids.transposed());
    let mut changed = false;
    for i in 0..x.shape().0 {
        let (best, dist) = (0..centroids.rows)
            .map(|c| {
                (
                    c,
                    (row_sq[i] - 2.0 * dots.get(i, c) + centre_sq[c]).max(0.0),
                )
            })
            .fold(
                (labels[i], f32::INFINITY),
                |b, (c, v)| if v < b.1 { (c, v) } else { b },
            );
        changed |= best != labels[i];
        labels[i] = best;
        sq_distances[i] = dist;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_never_end_above_a_single_run() {
        // Overlapping groups, where single starts land in different local optima.
        let full = crate::analysis::rng::groups(9, 20, 0.6);
        let pca = crate::analysis::pca::Pca::fit(&full, 6, 0);
        let x = pca.project(&full);
        let singles: Vec<f64> = (0..12)
            .map(|seed| {
                let start = fit(&x, 7, Start::PlusPlus { runs: 1 }, seed).unwrap();
                refine(&full, &start.labels, 7, 300).inertia()
            })
            .collect();
        let best = best_of_starts(&x, &full, 7, 12, 0, None).unwrap();
        assert!(singles.iter().all(|&s| best.inertia() <= s), "{singles:?}");
        let low = singles.iter().copied().fold(f64::INFINITY, f64::min);
        assert!((best.inertia() - low).abs() < 1e-9 * low.max(1.0));
        // A warm start is one more candidate, and the answer is seeded.
        let warm = best_of_starts(&x, &full, 7, 3, 0, Some(&best.labels)).unwrap();
        assert!(warm.inertia() <= best.inertia() + 1e-9);
        assert_eq!(
            best.labels,
            best_of_starts(&x, &full, 7, 12, 0, None).unwrap().labels
        );
    }
}
