//! Choosing k: KMeans for every k in 2..=k_max, scored by inertia, distortion, silhouette
//! and the gap statistic, and the rule behind `--k auto`.
//!
//! The sweep ends at `k_max`, at most n / 3 (see [`k_limit`]); when the choice is its last k
//! it goes on once, and the reason says plainly when the choice is still the end.
//!
//! Work is shared: each k starts from the k − 1 centres plus one k-means++ draw (and, for
//! the scores, also from [`sweep_starts`] fresh k-means++ starts), the silhouette sample's
//! distance matrix is computed once, and the gap statistic's reference sets are drawn once.

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
    /// Share of the images (0..1) in clusters of one or two members at this k.
    #[serde(default)]
    pub crumbs: f32,
}

/// The whole sweep and what it suggests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sweep {
    /// One row per k swept, from 2 (see [`sweep`] for where it ends).
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
    /// k-means++ starts beside the warm start at each k; `None`: [`sweep_starts`] of n.
    pub starts: Option<u64>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            k_max: 30,
            silhouette_sample: 3000,
            gap_sample: 1000,
            references: 5,
            seed: 0,
            starts: None,
        }
    }
}

/// Clusters may average no fewer images than this: the sweep stops at k = n / 3, so a small
/// collection is never split into pairs and singletons.
pub const MIN_MEAN_SIZE: usize = 3;

/// A k whose fit leaves more than this share of the images in clusters of one or two
/// ("crumbs") is not chosen: a person sees such clusters as leftovers, not groups.
pub const MAX_CRUMBS: f32 = 0.1;

/// The largest k the sweep may reach for `n` images and `k_max` asked: `k_max`, but at most
/// n / [`MIN_MEAN_SIZE`] and n − 1, and at least 2.
pub fn k_limit(n: usize, k_max: usize) -> usize {
    k_max.min(n / MIN_MEAN_SIZE).min(n.saturating_sub(1)).max(2)
}

/// Runs the sweep. `x` is the clustering space (PCA coordinates); `unit` holds the same
/// images' unit vectors, for the cosine silhouette. Returns the sweep and each k's fit.
///
/// The sweep covers k = 2..=[`k_limit`]`(n, k_max)`. When the choice lands on its last k and
/// the collection allows more (n / [`MIN_MEAN_SIZE`] is larger), the sweep goes on once, to
/// twice that k, and chooses again; if the choice is still the last k, the reason says the
/// sweep's end was reached. The reason only ever names k that were swept.
///
/// Fails with a bad request for fewer than 3 images, and when a KMeans fit fails.
pub fn sweep(
    x: &Matrix,
    unit: &Matrix,
    opts: &SweepOptions,
) -> anyhow::Result<(Sweep, Vec<KMeansFit>)> {
    let n = x.rows;
    crate::error::ensure_request!(n >= 3, "choosing k needs at least 3 images, found {n}");
    let mut k_max = k_limit(n, opts.k_max);
    let most = k_limit(n, 2 * k_max);
    let mut rng = Lcg::new(opts.seed);

    let mut main = Chain::new(opts.seed, opts.starts.unwrap_or_else(|| sweep_starts(n)));
    let sample = rng.sample(n, opts.silhouette_sample);
    let sample_unit = unit.select(&sample);
    let distances = cosine_distances(&sample_unit);

    // Gap statistic: the data sample and uniform sets in its bounding box.
    let gap_rows = rng.sample(n, opts.gap_sample);
    let gx = x.select(&gap_rows);
    let (lo, hi) = bounding_box(&gx);
    let mut refs: Vec<(Matrix, Chain)> = (0..opts.references.max(1))
        .map(|b| {
            let r = Matrix::from_fn(gx.rows, gx.cols, |_, j| {
                lo[j] + rng.uniform() * (hi[j] - lo[j])
            });
            (r, Chain::new(opts.seed + 1 + b as u64, 0))
        })
        .collect();
    let mut data = Chain::new(opts.seed, 0);

    let mut rows: Vec<SweepRow> = Vec::new();
    loop {
        main.grow_to(x, k_max)?;
        data.grow_to(&gx, k_max)?;
        for (r, chain) in &mut refs {
            chain.grow_to(r, k_max)?;
        }
        for k in rows.len() + 2..=k_max {
            let i = k - 2;
            let fit = &main.fits[i];
            let labels: Vec<usize> = sample.iter().map(|&s| fit.labels[s]).collect();
            let ref_w: Vec<f64> = refs.iter().map(|(_, c)| c.log_inertia(i)).collect();
            let mean = ref_w.iter().sum::<f64>() / ref_w.len() as f64;
            let sd = (ref_w.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / ref_w.len() as f64)
                .sqrt()
                * (1.0 + 1.0 / ref_w.len() as f64).sqrt();
            rows.push(SweepRow {
                k,
                inertia: fit.inertia(),
                distortion: fit.distortion(),
                silhouette: silhouette(&distances, &labels, k),
                gap: (mean - data.log_inertia(i)) as f32,
                gap_sd: sd as f32,
                crumbs: crumbs(&fit.labels, k),
            });
        }
        let chosen = choose(&rows);
        if chosen.chosen == k_max && k_max < most {
            k_max = most;
            continue;
        }
        let extended = k_max > k_limit(n, opts.k_max);
        let more = k_max < k_limit(n, usize::MAX);
        let sweep = chosen.finish(rows, extended, more, opts.k_max);
        return Ok((
            Sweep {
                silhouette_sample: sample.len(),
                gap_sample: gap_rows.len(),
                ..sweep
            },
            main.fits,
        ));
    }
}

/// k-means++ starts the sweep's own fits compare at each k beside the warm start, for `n`
/// images: 10,000 / n, from 1 at 10,000 images and more up to 10 at 1,000 and fewer, so the
/// sweep's time stays bounded. Without them the warm-started fits stay in a poor local optimum
/// for a run of k and then drop at once: the inertia curve turns into steps, and its elbow
/// lands on a step (k = 14 for 100 images of 8 art families, where fits from ten starts give
/// a smooth curve with its elbow at 8).
pub fn sweep_starts(n: usize) -> u64 {
    (10_000 / n.max(1)).clamp(1, 10) as u64
}

/// Warm-started KMeans for k = 2, 3, …: each k starts from the k − 1 centres plus one
/// k-means++ draw and, when the chain has `starts`, from that many k-means++ starts as well;
/// the lowest inertia is kept (and grown from at the next k).
struct Chain {
    seed: u64,
    starts: u64,
    rng: Lcg,
    fits: Vec<KMeansFit>,
}

impl Chain {
    fn new(seed: u64, starts: u64) -> Chain {
        Chain {
            seed,
            starts,
            rng: Lcg::new(seed ^ 0x5eed),
            fits: Vec::new(),
        }
    }

    /// Fits every k up to `k_max` not fitted yet.
    fn grow_to(&mut self, x: &Matrix, k_max: usize) -> anyhow::Result<()> {
        for k in self.fits.len() + 2..=k_max {
            let fit = match self.fits.last() {
                None => kmeans::fit(x, k, Start::PlusPlus { runs: 4 }, self.seed)?,
                Some(prev) => {
                    let start = kmeans::grow(x, prev, &mut self.rng);
                    let warm = kmeans::fit(x, k, Start::From(&start), self.seed)?;
                    if self.starts == 0 {
                        warm
                    } else {
                        let runs = Start::PlusPlus { runs: self.starts };
                        let fresh = kmeans::fit(x, k, runs, self.seed + k as u64)?;
                        if fresh.inertia() < warm.inertia() {
                            fresh
                        } else {
                            warm
                        }
                    }
                }
            };
            self.fits.push(fit);
        }
        Ok(())
    }

    /// ln of the inertia of the fit at index `i` (k = i + 2).
    fn log_inertia(&self, i: usize) -> f64 {
        self.fits[i].inertia().max(1e-30).ln()
    }
}

/// Share of the rows whose cluster (of `k`) has one or two members.
fn crumbs(labels: &[usize], k: usize) -> f32 {
    let mut sizes = vec![0usize; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let small = labels.iter().filter(|&&l| sizes[l] <= 2).count();
    small as f32 / labels.len().max(1) as f32
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
    let labels: Vec<Option<usize>> = labels.iter().map(|&l| Some(l)).collect();
    silhouette_with_noise(distances, &labels, k)
}

/// [`silhouette`] where `None` marks an unclustered image (DBSCAN's noise): it scores 0, counts
/// in the mean, and is no cluster to the others. With fewer than two clusters every image
/// scores 0.
pub fn silhouette_with_noise(distances: &Matrix, labels: &[Option<usize>], k: usize) -> f32 {
    let n = labels.len();
    let mut sizes = vec![0usize; k];
    labels.iter().flatten().for_each(|&l| sizes[l] += 1);
    let mut total = 0f64;
    let mut sums = vec![0f64; k];
    for i in 0..n {
        let Some(own) = labels[i] else { continue };
        if sizes[own] <= 1 {
            continue;
        }
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (j, &d) in distances.row(i).iter().enumerate() {
            if let Some(l) = labels[j] {
                sums[l] += d as f64;
            }
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

/// The `--k auto` rule: the silhouette peak among k from half to twice the inertia elbow
/// (Kneedle, Satopää et al. 2011, over every k swept; the window is cut to the k swept),
/// leaving out any k whose fit puts more than [`MAX_CRUMBS`] of the images in clusters of one
/// or two. The elbow sets the scale of the structure and the silhouette picks the best split
/// at that scale. Neither alone does well on image embeddings: silhouette alone often peaks at
/// k = 2 (two halves of a collection are rarely what a person browsing wants), and the elbow
/// alone is blunt on smooth inertia curves. On a small collection both drift towards many
/// tiny clusters (pairs of near-copies score well), which the crumbs rule and the sweep's end
/// at n / [`MIN_MEAN_SIZE`] prevent.
///
/// Both scores are only as good as each k's fit: a fit stuck in a poor local optimum for a
/// run of k turns the inertia curve into steps and the elbow lands on one, which is why the
/// sweep compares fresh starts with the warm start at every k ([`sweep_starts`]).
fn choose(rows: &[SweepRow]) -> Choice {
    let inertia: Vec<f32> = rows.iter().map(|r| r.inertia as f32).collect();
    let elbow = rows[elbow_of_decreasing(&inertia)].k;
    let last = rows.last().expect("the sweep has rows").k;
    let best = |ok: &dyn Fn(&SweepRow) -> bool| {
        rows.iter()
            .filter(|r| ok(r))
            .fold(None::<&SweepRow>, |b, r| match b {
                Some(b) if b.silhouette >= r.silhouette => Some(b),
                _ => Some(r),
            })
            .cloned()
    };
    let silhouette_peak = best(&|_| true).expect("the sweep has rows").k;
    let (lo, hi) = (elbow.div_ceil(2).max(2), (2 * elbow).min(last));
    let window = |r: &SweepRow| (lo..=hi).contains(&r.k);
    let full = |r: &SweepRow| r.crumbs <= MAX_CRUMBS;
    let (pick, whole) = match best(&|r| window(r) && full(r)) {
        Some(p) => (p, false),
        None => match best(&full) {
            Some(p) => (p, true),
            None => (best(&window).expect("the window holds the elbow"), false),
        },
    };
    let left_out: Vec<usize> = rows
        .iter()
        .filter(|r| window(r) && !full(r))
        .map(|r| r.k)
        .collect();
    let gap_k = rows
        .windows(2)
        .find(|w| w[0].gap >= w[1].gap - w[1].gap_sd)
        .map(|w| w[0].k);
    Choice {
        chosen: pick.k,
        silhouette: pick.silhouette,
        elbow,
        silhouette_peak,
        gap_k,
        window: (lo, hi),
        whole,
        left_out,
    }
}

/// What [`choose`] found, before the reason is written.
struct Choice {
    chosen: usize,
    silhouette: f32,
    elbow: usize,
    silhouette_peak: usize,
    gap_k: Option<usize>,
    window: (usize, usize),
    /// Every k of the window had too many crumbs: the pick is from the whole sweep.
    whole: bool,
    /// k of the window left out for their crumbs.
    left_out: Vec<usize>,
}

impl Choice {
    /// The sweep with its reason. `extended`: the sweep went past `k_max` (asked); `more`:
    /// the collection would allow a larger k than the sweep's last.
    fn finish(self, rows: Vec<SweepRow>, extended: bool, more: bool, k_max: usize) -> Sweep {
        let last = rows.last().expect("the sweep has rows").k;
        let (lo, hi) = self.window;
        let mut reason = if self.whole {
            format!(
                "k = {}: highest silhouette ({:.3}) of the k swept (2..={last}) that leave at most \
                 {:.0} % of the images in clusters of one or two; every k in {lo}..={hi}, around \
                 the inertia elbow at k = {}, leaves more",
                self.chosen,
                self.silhouette,
                100.0 * MAX_CRUMBS,
                self.elbow
            )
        } else {
            format!(
                "k = {}: highest silhouette ({:.3}) for k in {lo}..={hi}, around the inertia elbow \
                 at k = {} (sweep 2..={last})",
                self.chosen, self.silhouette, self.elbow
            )
        };
        if !self.whole && !self.left_out.is_empty() {
            let ks: Vec<String> = self.left_out.iter().map(|k| k.to_string()).collect();
            reason += &format!(
                "; left out for putting more than {:.0} % of the images in clusters of one or \
                 two: k = {}",
                100.0 * MAX_CRUMBS,
                ks.join(", ")
            );
        }
        if extended {
            reason += &format!(
                "; the sweep went on past cluster.k_max = {k_max}, where the best k had been its last"
            );
        }
        if self.chosen == last && more {
            reason += &format!(
                "; k = {last} is the end of the sweep, so more clusters may fit better \
                 (raise cluster.k_max or give --k)"
            );
        }
        if self.silhouette_peak != self.chosen {
            reason += &format!(
                "; the overall silhouette peak is k = {}",
                self.silhouette_peak
            );
        }
        match self.gap_k {
            Some(g) => reason += &format!("; the gap statistic suggests k = {g}"),
            None => reason += "; the gap statistic keeps rising (no k suggested)",
        }
        Sweep {
            chosen: self.chosen,
            elbow: self.elbow,
            silhouette_peak: self.silhouette_peak,
            gap_k: self.gap_k,
            reason,
            rows,
            silhouette_sample: 0,
            gap_sample: 0,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    #[test]
    fn a_best_k_at_the_end_goes_on_and_the_reason_names_only_k_swept() {
        // Twelve groups, a sweep asked to stop at 5: it goes on once (to 10) and says that
        // the choice is still its end.
        let x = crate::analysis::rng::groups(12, 20, 0.1);
        let opts = SweepOptions {
            k_max: 5,
            ..Default::default()
        };
        let (s, fits) = sweep(&x, &x, &opts).unwrap();
        let last = s.rows.last().unwrap().k;
        assert_eq!(last, 10, "{}", s.reason);
        assert_eq!(fits.len(), s.rows.len());
        assert_eq!(s.chosen, 10, "{}", s.reason);
        assert!(
            s.reason.contains("went on past cluster.k_max = 5"),
            "{}",
            s.reason
        );
        assert!(s.reason.contains("end of the sweep"), "{}", s.reason);
        // Every range and k the reason names was swept.
        for part in s.reason.split("..=").skip(1) {
            let hi: usize = part
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap();
            assert!(hi <= last, "{hi} > {last}: {}", s.reason);
        }
        // With room enough, the same groups are found and nothing is said of an end.
        let (s, _) = sweep(&x, &x, &SweepOptions::default()).unwrap();
        assert_eq!(s.chosen, 12, "{}", s.reason);
        assert!(!s.reason.contains("end of the sweep"), "{}", s.reason);
        assert!(!s.reason.contains("went on"), "{}", s.reason);
    }

    #[test]
    fn a_small_collection_of_few_groups_gets_that_k_without_crumbs() {
        // 30 images in 5 loose groups: the old rule chose far more clusters than that.
        let x = crate::analysis::rng::groups(5, 6, 0.35);
        let (s, fits) = sweep(&x, &x, &SweepOptions::default()).unwrap();
        assert_eq!(s.rows.last().unwrap().k, 10, "the sweep ends at n / 3");
        assert_eq!(s.chosen, 5, "{}", s.reason);
        let labels = &fits[s.chosen - 2].labels;
        for c in 0..s.chosen {
            assert!(labels.iter().filter(|&&l| l == c).count() >= 3);
        }
        assert_eq!(s.rows[s.chosen - 2].crumbs, 0.0);
    }

    #[test]
    fn the_elbow_of_eight_groups_is_eight_where_warm_starts_alone_made_steps() {
        // 96 images in 8 tight groups. With warm starts alone (one k-means++ draw added to
        // the k − 1 centres) the fits stuck in poor local optima and the inertia curve fell
        // in steps: its elbow landed at k = 10, and so did the choice.
        let x = crate::analysis::rng::groups(8, 12, 0.3);
        let (s, fits) = sweep(&x, &x, &SweepOptions::default()).unwrap();
        assert_eq!((s.elbow, s.chosen), (8, 8), "{}", s.reason);
        let labels = &fits[s.chosen - 2].labels;
        for i in 0..x.rows {
            for j in 0..x.rows {
                assert_eq!(labels[i] == labels[j], i % 8 == j % 8, "{i} {j}");
            }
        }
    }

    #[test]
    fn crumbs_count_images_in_clusters_of_one_or_two() {
        assert_eq!(crumbs(&[0, 0, 0, 1, 1, 2], 3), 0.5);
        assert_eq!(crumbs(&[0, 0, 0, 1, 1, 1], 2), 0.0);
        assert_eq!(k_limit(31, 30), 10);
        assert_eq!(k_limit(400, 30), 30);
        assert_eq!(k_limit(4, 30), 2);
    }

    #[test]
    fn noise_scores_zero_in_the_silhouette() {
        let x = blobs();
        let d = cosine_distances(&x);
        let good: Vec<Option<usize>> = (0..200).map(|i| Some(i % 4)).collect();
        let half: Vec<Option<usize>> = (0..200).map(|i| (i < 100).then_some(i % 4)).collect();
        let one: Vec<Option<usize>> = vec![Some(0); 200];
        let full = silhouette_with_noise(&d, &good, 4);
        assert!(full > 0.9);
        assert!((silhouette_with_noise(&d, &half, 4) - full / 2.0).abs() < 0.02);
        assert_eq!(silhouette_with_noise(&d, &one, 1), 0.0);
    }
}
