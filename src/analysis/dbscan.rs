//! DBSCAN by cosine distance on the unit vectors, with neighbourhoods found by the same
//! blocked matrix products as the neighbour search.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::knee::knee_of_increasing;
use super::neighbours::{for_each_block, knn_graph};
use crate::collection::Collection;

/// Neighbour lists larger than this in total mean eps is far too large for the data.
const MAX_PAIRS: usize = 50_000_000;

/// Cluster of each image, `None` for noise. Clusters are numbered in order of discovery.
///
/// Fails with a bad request when `eps` puts more pairs within reach than memory allows.
pub fn dbscan(c: &Collection, eps: f32, min_points: usize) -> anyhow::Result<Vec<Option<usize>>> {
    let neighbours = neighbourhoods(c, eps, MAX_PAIRS)?;
    let n = c.len();
    // A point counts itself, as in scikit-learn's min_samples.
    let core = |i: usize| neighbours[i].len() + 1 >= min_points;
    let mut labels: Vec<Option<usize>> = vec![None; n];
    let mut next = 0;
    for start in 0..n {
        if labels[start].is_some() || !core(start) {
            continue;
        }
        labels[start] = Some(next);
        let mut stack = vec![start];
        while let Some(p) = stack.pop() {
            if !core(p) {
                continue;
            }
            for &q in &neighbours[p] {
                let q = q as usize;
                if labels[q].is_none() {
                    labels[q] = Some(next);
                    stack.push(q);
                }
            }
        }
        next += 1;
    }
    Ok(labels)
}

/// Every image's neighbours within `eps`, unless there are more than `max_pairs` in all.
fn neighbourhoods(c: &Collection, eps: f32, max_pairs: usize) -> anyhow::Result<Vec<Vec<u32>>> {
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
                let mut list: Vec<u32> = sims
                    .iter()
                    .enumerate()
                    .filter(|&(j, &s)| j != first + k && s >= min_sim)
                    .map(|(j, _)| j as u32)
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

/// A suggested eps: the knee of the sorted distances from each image to its
/// `(min_points − 1)`-th nearest neighbour (the k-distance plot of Ester et al. 1996).
pub fn suggest_eps(c: &Collection, min_points: usize) -> f32 {
    let k = min_points.saturating_sub(1).max(1);
    let mut kdist: Vec<f32> = knn_graph(c, k)
        .iter()
        .filter_map(|row| row.last().map(|nb| nb.distance))
        .collect();
    if kdist.is_empty() {
        return 0.1;
    }
    kdist.sort_by(f32::total_cmp);
    kdist[knee_of_increasing(&kdist)].max(1e-4)
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
}
