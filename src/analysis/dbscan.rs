//! DBSCAN by cosine distance on the unit vectors, with neighbourhoods found by the same
//! blocked matrix products as the neighbour search.

use super::knee::knee_of_increasing;
use super::neighbours::{for_each_block, knn_graph};
use crate::store::Collection;

/// Neighbour lists larger than this in total mean eps is far too large for the data.
const MAX_PAIRS: usize = 50_000_000;

/// Cluster of each image, `None` for noise. Clusters are numbered in order of discovery.
pub fn dbscan(c: &Collection, eps: f32, min_points: usize) -> anyhow::Result<Vec<Option<usize>>> {
    let n = c.len();
    let min_sim = 1.0 - eps;
    let lists = for_each_block(c, |first, block| {
        block
            .chunks(n)
            .enumerate()
            .map(|(k, sims)| {
                sims.iter()
                    .enumerate()
                    .filter(|&(j, &s)| j != first + k && s >= min_sim)
                    .map(|(j, _)| j as u32)
                    .collect::<Vec<u32>>()
            })
            .collect::<Vec<_>>()
    });
    let neighbours: Vec<Vec<u32>> = lists.into_iter().flatten().collect();
    let pairs: usize = neighbours.iter().map(Vec::len).sum();
    anyhow::ensure!(
        pairs <= MAX_PAIRS,
        "eps {eps} puts {pairs} pairs of images within reach of each other; try a smaller --eps"
    );
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
