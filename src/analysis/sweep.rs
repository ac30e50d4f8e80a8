//! Choosing k: KMeans for every k in 2..=k_max, scored by inertia, distortion, silhouette
//! and the gap statistic, and the rule behind `--k auto`.
//!
//! Work is shared: each k starts from the k − 1 centres plus one k-means++ draw, the
//! silhouette sample's distance matrix is computed once, and the gap statistic's reference
//! sets are drawn once.

use serde::{Deserialize, Serialize};

use super::kmeans::{self, KMeansFit, Start};
use super::knee::elbow_of_decreasing;
use super::rng::Lcg;
use crate::collection::matrix::{Matrix, matmul};

/// Scores of one k.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepRow {
    /// Number of clusters.
    pub k: usize,
    /// Sum of squared distances to the nearest centre (in the clustering space).
    pub inertia: f64,
    /// Mean distance to the nearest centre.
    pub distortion: f64,
    /// Mean silhouette by cosine distance on the full vectors (−1..1, higher is better).
    pub silhouette: f32,
    /// Gap statistic and its standard error (Tibshirani et al. 2001).
    pub gap: f32,
    /// Standard error of the gap.
    pub gap_sd: f32,
}

/// The whole sweep and what it suggests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sweep {
    /// One row per k, 2 to `k_max`.
    pub rows: Vec<SweepRow>,
    /// Kneedle elbow of inertia.
    pub elbow: usize,
    /// Highest silhouette over all k.
    pub silhouette_peak: usize,
    /// Smallest k with gap(k) ≥ gap(k+1) − sd(k+1), if any.
    pub gap_k: Option<usize>,
    /// The `--k auto` choice and why.
    pub chosen: usize,
    /// Why `chosen`, in words.
    pub reason: String,
    /// Images in the silhouette sample and the gap statistic's sample.
    pub silhouette_sample: usize,
    /// Images the gap statistic clustered.
    pub gap_sample: usize,
}

/// Sweep settings.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Largest k tried.
    pub k_max: usize,
    /// Silhouette uses at most this many images (seeded sample).
    pub silhouette_sample: usize,
    /// The gap statistic clusters at most this many images, and `references` uniform sets.
    pub gap_sample: usize,
    /// Uniform reference sets for the gap statistic.
    pub references: usize,
    /// Seed of the samples and starts.
    pub seed: u64,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            k_max: 30,
            silhouette_sample: 3000,
            gap_sample: 1000,
            references: 5,
            seed: 0,
        }
    }
}

/// Runs the sweep. `x` is the clustering space (PCA coordinates); `unit` holds the same
/// images' unit vectors, for the cosine silhouette. Returns the sweep and each k's fit.
///
/// Fails with a bad request for fewer than 3 images, and when a KMeans fit fails.
pub fn sweep(
    x: &Matrix,
    unit: &Matrix,
    opts: &SweepOptions,
) -> anyhow::Result<(Sweep, Vec<KMeansFit>)> {
    let n = x.rows;
    crate::error::ensure_request!(n >= 3, "choosing k needs at least 3 images, found {n}");
    let k_max = opts.k_max.clamp(2, n - 1);
    let mut rng = Lcg::new(opts.seed);

    let fits = chain(x, k_max, opts.seed)?;

    let sample = rng.sample(n, opts.silhouette_sample);
    let sample_unit = unit.select(&sample);
    let distances = cosine_distances(&sample_unit);

    // Gap statistic: the data sample and uniform sets in its bounding box.
    let gap_rows = rng.sample(n, opts.gap_sample);
    let gx = x.select(&gap_rows);
    let data_w = log_inertias(&gx, k_max, opts.seed)?;
    let (lo, hi) = bounding_box(&gx);
    let mut ref_w = Vec::new();
    for b in 0..opts.references.max(1) {
        let r = Matrix::from_fn(gx.rows, gx.cols, |_, j| {
            lo[j] + rng.uniform() * (hi[j] - lo[j])
        });
        ref_w.push(log_inertias(&r, k_max, opts.seed + 1 + b as u64)?);
    }

    let mut rows = Vec::new();
    for (i, fit) in fits.iter().enumerate() {
        let k = i + 2;
        let labels: Vec<usize> = sample.iter().map(|&s| fit.labels[s]).collect();
        let refs: Vec<f64> = ref_w.iter().map(|w| w[i]).collect();
        let mean = refs.iter().sum::<f64>() / refs.len() as f64;
        let sd = (refs.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / refs.len() as f64).sqrt()
            * (1.0 + 1.0 / refs.len() as f64).sqrt();
        rows.push(SweepRow {
            k,
            inertia: fit.inertia(),
            distortion: fit.distortion(),
            silhouette: silhouette(&distances, &labels, k),
            gap: (mean - data_w[i]) as f32,
            gap_sd: sd as f32,
        });
    }
    let sweep = choose(rows, sample.len(), gap_rows.len());
    Ok((sweep, fits))
}

/// Warm-started KMeans for k = 2..=k_max.
fn chain(x: &Matrix, k_max: usize, seed: u64) -> anyhow::Result<Vec<KMeansFit>> {
    let mut rng = Lcg::new(seed ^ 0x5eed);
    let mut fits: Vec<KMeansFit> = Vec::new();
    for k in 2..=k_max {
        let fit = match fits.last() {
            None => kmeans::fit(x, k, Start::PlusPlus { runs: 4 }, seed)?,
            Some(prev) => kmeans::fit(x, k, Start::From(&kmeans::grow(x, prev, &mut rng)), seed)?,
        };
        fits.push(fit);
    }
    Ok(fits)
}

fn log_inertias(x: &Matrix, k_max: usize, seed: u64) -> anyhow::Result<Vec<f64>> {
    Ok(chain(x, k_max, seed)?
        .iter()
        .map(|f| f.inertia().max(1e-30).ln())
        .collect())
}

fn bounding_box(x: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let mut lo = vec![f32::INFINITY; x.cols];
    let mut hi = vec![f32::NEG_INFINITY; x.cols];
    for i in 0..x.rows {
        for (j, &v) in x.row(i).iter().enumerate() {
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    }
    (lo, hi)
}

/// `1 − cos` between all rows of unit vectors, `n × n`.
pub fn cosine_distances(unit: &Matrix) -> Matrix {
    let mut d = matmul(unit, &unit.transposed());
    d.data.iter_mut().for_each(|s| *s = (1.0 - *s).max(0.0));
    d
}

/// Mean silhouette from a precomputed distance matrix (singletons score 0, as in scikit-learn).
pub fn silhouette(distances: &Matrix, labels: &[usize], k: usize) -> f32 {
    let n = labels.len();
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut total = 0f64;
    let mut sums = vec![0f64; k];
    for i in 0..n {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (j, &d) in distances.row(i).iter().enumerate() {
            sums[labels[j]] += d as f64;
        }
        let own = labels[i];
        if sizes[own] <= 1 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && sizes[c] > 0)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b).max(1e-12);
        }
    }
    (total / n.max(1) as f64) as f32
}

/// The `--k auto` rule: the silhouette peak among k from half to twice the inertia elbow.
/// The elbow sets the scale of the structure and the silhouette picks the best split at
/// that scale. Neither alone does well on image embeddings: silhouette alone often peaks
/// at k = 2 (two halves of a collection are rarely what a person browsing wants), and the
/// elbow alone is blunt on smooth inertia curves.
fn choose(rows: Vec<SweepRow>, silhouette_sample: usize, gap_sample: usize) -> Sweep {
    let inertia: Vec<f32> = rows.iter().map(|r| r.inertia as f32).collect();
    let elbow = rows[elbow_of_decreasing(&inertia)].k;
    let best = |lo: usize, hi: usize| {
        rows.iter()
            .filter(|r| (lo..=hi).contains(&r.k))
            .fold(None::<&SweepRow>, |b, r| match b {
                Some(b) if b.silhouette >= r.silhouette => Some(b),
                _ => Some(r),
            })
            .expect("the window holds the elbow")
    };
    let silhouette_peak = best(0, usize::MAX).k;
    let (lo, hi) = (elbow.div_ceil(2).max(2), 2 * elbow);
    let pick = best(lo, hi);
    let gap_k = rows
        .windows(2)
        .find(|w| w[0].gap >= w[1].gap - w[1].gap_sd)
        .map(|w| w[0].k);
    let mut reason = format!(
        "k = {}: highest silhouette ({:.3}) for k in {lo}..={hi}, around the inertia elbow at k = {elbow}",
        pick.k, pick.silhouette
    );
    if silhouette_peak != pick.k {
        reason += &format!("; the overall silhouette peak is k = {silhouette_peak}");
    }
    match gap_k {
        Some(g) => reason += &format!("; the gap statistic suggests k = {g}"),
        None => reason += "; the gap statistic keeps rising (no k suggested)",
    }
    Sweep {
        chosen: pick.k,
        elbow,
        silhouette_peak,
        gap_k,
        reason,
        rows,
        silhouette_sample,
        gap_sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four tight blobs in 3-D, on the unit sphere.
    fn blobs() -> Matrix {
        let centres = [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [-1.0, 0.0, 0.0],
        ];
        let mut rng = Lcg::new(3);
        let mut x = Matrix::zeros(200, 3);
        for i in 0..200 {
            let c = centres[i % 4];
            let v: Vec<f32> = c.iter().map(|&m| m + 0.05 * rng.normal()).collect();
            let len = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            x.row_mut(i)
                .iter_mut()
                .zip(&v)
                .for_each(|(o, a)| *o = a / len);
        }
        x
    }

    #[test]
    fn finds_four_blobs() {
        let x = blobs();
        let opts = SweepOptions {
            k_max: 8,
            ..Default::default()
        };
        let (s, fits) = sweep(&x, &x, &opts).unwrap();
        assert_eq!(s.rows.len(), 7);
        assert_eq!(fits.len(), 7);
        assert_eq!(s.chosen, 4, "{}", s.reason);
        assert_eq!(s.silhouette_peak, 4);
        assert_eq!(s.gap_k, Some(4));
        assert!(s.rows[2].silhouette > 0.8);
        assert!(
            s.rows
                .windows(2)
                .all(|w| w[1].inertia <= w[0].inertia * 1.0001)
        );
        let (again, _) = sweep(&x, &x, &opts).unwrap();
        assert_eq!(s, again, "the sweep is seeded");
    }

    #[test]
    fn silhouette_of_two_clean_groups_is_high_and_of_a_bad_split_low() {
        let x = blobs();
        let d = cosine_distances(&x);
        let good: Vec<usize> = (0..200).map(|i| i % 4).collect();
        let bad: Vec<usize> = (0..200).map(|i| i / 50).collect();
        assert!(silhouette(&d, &good, 4) > 0.9);
        assert!(silhouette(&d, &bad, 4).abs() < 0.1);
    }
}
