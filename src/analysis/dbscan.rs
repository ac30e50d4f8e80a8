//! DBSCAN by cosine distance on the unit vectors, with neighbourhoods found by the same
//! blocked matrix products as the neighbour search, and its automatic radius
//! ([`choose_eps`]).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::knee::knee_of_increasing;
use super::neighbours::{for_each_block, knn_graph};
use super::rng::Lcg;
use super::sweep::{cosine_distances, silhouette_with_noise};
use crate::collection::Collection;

/// Neighbour lists larger than this in total mean eps is far too large for the data.
const MAX_PAIRS: usize = 50_000_000;

/// Cluster of each image, `None` for noise. Clusters are numbered in order of discovery.
///
/// Fails with a bad request when `eps` puts more pairs within reach than memory allows.
pub fn dbscan(c: &Collection, eps: f32, min_points: usize) -> anyhow::Result<Vec<Option<usize>>> {
    let neighbours = neighbourhoods(c, eps, MAX_PAIRS)?;
    Ok(expand(&neighbours, eps, min_points))
}

/// DBSCAN's expansion over neighbour lists found for a radius of at least `eps`: only
/// neighbours within `eps` count.
fn expand(neighbours: &[Vec<(u32, f32)>], eps: f32, min_points: usize) -> Vec<Option<usize>> {
    let n = neighbours.len();
    let within = |p: usize| neighbours[p].iter().filter(move |nb| nb.1 <= eps);
    // A point counts itself, as in scikit-learn's min_samples.
    let core: Vec<bool> = (0..n)
        .map(|i| within(i).count() + 1 >= min_points)
        .collect();
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let mut next = 0;
    for start in 0..n {
        if labels[start].is_some() || !core[start] {
            continue;
        }
        labels[start] = Some(next);
        let mut stack = vec![start];
        while let Some(p) = stack.pop() {
            if !core[p] {
                continue;
            }
            for &(q, _) in within(p) {
                let q = q as usize;
                if labels[q].is_none() {
                    labels[q] = Some(next);
                    stack.push(q);
                }
            }
        }
        next += 1;
    }
    labels
}

/// Every image's neighbours within `eps` and their cosine distance, unless there are more
/// than `max_pairs` in all.
fn neighbourhoods(
    c: &Collection,
    eps: f32,
    max_pairs: usize,
) -> anyhow::Result<Vec<Vec<(u32, f32)>>> {
    let n = c.len();
    let min_sim = 1.0 - eps;
    // Counted as the blocks come in, so that an eps far too large stops collecting at the
    // limit instead of holding every pair in memory first.
    let pairs = AtomicUsize::new(0);
    let lists = for_each_block(c, |first, block| {
        block
            .chunks(n)
            .enumerate()
            .map(|(k, sims)| {
                if pairs.load(Ordering::Relaxed) > max_pairs {
                    return Vec::new();
                }
                let mut list: Vec<(u32, f32)> = sims
                    .iter()
                    .enumerate()
                    .filter(|&(j, &s)| j != first + k && s >= min_sim)
                    .map(|(j, &s)| (j as u32, (1.0 - s).max(0.0)))
                    .collect();
                list.shrink_to_fit();
                pairs.fetch_add(list.len(), Ordering::Relaxed);
                list
            })
            .collect::<Vec<_>>()
    });
    crate::error::ensure_request!(
        pairs.load(Ordering::Relaxed) <= max_pairs,
        "eps {eps} puts more than {max_pairs} pairs of images within reach of each other; \
         try a smaller --eps"
    );
    Ok(lists.into_iter().flatten().collect())
}

/// The sorted distances from each image to its `(min_points − 1)`-th nearest neighbour (the
/// k-distance plot of Ester et al. 1996).
fn k_distances(c: &Collection, min_points: usize) -> Vec<f32> {
    let k = min_points.saturating_sub(1).max(1);
    let mut kdist: Vec<f32> = knn_graph(c, k)
        .iter()
        .filter_map(|row| row.last().map(|nb| nb.distance))
        .collect();
    kdist.sort_by(f32::total_cmp);
    kdist
}

/// The knee of the k-distance plot (Ester et al. 1996): the largest radius
/// [`choose_eps`] tries.
pub fn suggest_eps(c: &Collection, min_points: usize) -> f32 {
    let kdist = k_distances(c, min_points);
    if kdist.is_empty() {
        return 0.1;
    }
    kdist[knee_of_increasing(&kdist)].max(1e-4)
}

/// Images in the silhouette sample that scores each radius.
const EPS_SAMPLE: usize = 2000;

/// The automatic radius and its clustering.
#[derive(Debug, Clone)]
pub struct EpsChoice {
    /// The radius, a cosine distance.
    pub eps: f32,
    /// Each image's cluster, `None` for noise (as [`dbscan`] gives).
    pub labels: Vec<Option<usize>>,
    /// Why this radius, in words.
    pub reason: String,
}

/// Chooses DBSCAN's radius: of the radii at the deciles of the k-distance plot up to its
/// knee (and the knee itself, see [`suggest_eps`]), the one whose clustering has the highest
/// mean silhouette by cosine distance, unclustered images scoring 0 (as singletons do in
/// scikit-learn's silhouette) and a single cluster scoring 0 too. The knee alone sits where
/// the distances jump to the outliers' and joins most of a collection of related images into
/// one cluster; the silhouette prefers separated clusters that still hold most images. The
/// silhouette uses a seeded sample of [`EPS_SAMPLE`] images. When no radius scores above 0
/// (no separated groups at any), the knee is kept.
///
/// Fails with a bad request when the knee puts more pairs within reach than memory allows.
pub fn choose_eps(c: &Collection, min_points: usize, seed: u64) -> anyhow::Result<EpsChoice> {
    let kdist = k_distances(c, min_points);
    let nth = min_points.saturating_sub(1).max(1);
    let knee = suggest_eps(c, min_points);
    let mut radii: Vec<f32> = (1..10)
        .map(|q| {
            kdist
                .get(q * kdist.len() / 10)
                .copied()
                .unwrap_or(knee)
                .max(1e-4)
        })
        .filter(|&e| e < knee)
        .chain([knee])
        .collect();
    radii.dedup();
    let neighbours = neighbourhoods(c, knee, MAX_PAIRS)?;
    let sample = Lcg::new(seed ^ 0xdb).sample(c.len(), EPS_SAMPLE);
    let distances = cosine_distances(&c.vectors.select(&sample));
    let scored: Vec<(f32, f32, Vec<Option<usize>>)> = radii
        .iter()
        .map(|&eps| {
            let labels = expand(&neighbours, eps, min_points);
            let picked: Vec<Option<usize>> = sample.iter().map(|&i| labels[i]).collect();
            let k = labels.iter().flatten().max().map_or(0, |m| m + 1);
            (eps, silhouette_with_noise(&distances, &picked, k), labels)
        })
        .collect();
    let (eps, score, labels) = scored
        .into_iter()
        .fold(
            None::<(f32, f32, Vec<Option<usize>>)>,
            |best, s| match best {
                Some(b) if b.1 >= s.1 => Some(b),
                _ => Some(s),
            },
        )
        .expect("the knee is a radius");
    let (eps, labels, reason) = if score > 0.0 {
        let reason = format!(
            "eps = {eps:.4}: of the radii at the deciles of the distances to each image's \
             {nth}th nearest neighbour up to their knee ({knee:.4}), the one whose clusters have \
             the highest silhouette ({score:.3}, unclustered images counting 0)"
        );
        (eps, labels, reason)
    } else {
        let labels = expand(&neighbours, knee, min_points);
        let reason = format!(
            "eps = {knee:.4}: the knee of the distances to each image's {nth}th nearest \
             neighbour (no radius up to it gives separated clusters)"
        );
        (knee, labels, reason)
    };
    Ok(EpsChoice {
        eps,
        labels,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight groups of 20 unit vectors, far apart.
    fn two_groups() -> Collection {
        let mut c = Collection::default();
        for i in 0..40 {
            let (base, jitter) = (if i < 20 { 0.0f32 } else { 1.5 }, i as f32 * 1e-3);
            let v = [(base + jitter).cos(), (base + jitter).sin()];
            c.push(format!("{i}.png").into(), [i as u8; 32], &v, 1.0);
        }
        c
    }

    #[test]
    fn finds_the_groups() {
        let labels = dbscan(&two_groups(), 0.01, 5).unwrap();
        assert!(labels[..20].iter().all(|&l| l == labels[0] && l.is_some()));
        assert!(labels[20..].iter().all(|&l| l == labels[20] && l.is_some()));
        assert_ne!(labels[0], labels[20]);
    }

    #[test]
    fn an_eps_that_reaches_everything_stops_at_the_limit() {
        let c = two_groups();
        assert_eq!(neighbourhoods(&c, 2.0, 40 * 39).unwrap()[0].len(), 39);
        let err = neighbourhoods(&c, 2.0, 100).unwrap_err().to_string();
        assert!(err.contains("try a smaller --eps"), "{err}");
    }

    #[test]
    fn the_automatic_radius_keeps_separated_groups_apart() {
        // Four groups of 40 in 24-D and 12 scattered images: the radii near the knee join
        // groups, the chosen one must not.
        let x = crate::analysis::rng::groups(4, 40, 0.25);
        let mut rng = Lcg::new(9);
        let mut c = Collection::default();
        for i in 0..x.rows {
            c.push(format!("{i}.png").into(), [i as u8; 32], x.row(i), 1.0);
        }
        for i in 0..12 {
            let mut v: Vec<f32> = (0..x.cols).map(|_| rng.normal()).collect();
            crate::features::l2_normalize(&mut v);
            c.push(format!("o{i}.png").into(), [200 + i as u8; 32], &v, 1.0);
        }
        let chosen = choose_eps(&c, 5, 0).unwrap();
        let clusters = chosen.labels.iter().flatten().max().map_or(0, |m| m + 1);
        assert_eq!(clusters, 4, "{}", chosen.reason);
        for g in 0..4 {
            let first = chosen.labels[g];
            assert!(first.is_some());
            let same = (g..160)
                .step_by(4)
                .filter(|&i| chosen.labels[i] == first)
                .count();
            assert!(same >= 36, "group {g}: {same} of 40 together");
        }
        assert_eq!(
            chosen.labels,
            choose_eps(&c, 5, 0).unwrap().labels,
            "seeded"
        );
    }
}
