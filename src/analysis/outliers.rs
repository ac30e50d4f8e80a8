//! The odd ones out: images least like any other.
//!
//! An image's score is the mean cosine distance to its k nearest neighbours (k = 10 by
//! default, [`OUTLIER_K`]), in the units of cosine distance (`1 − cosine similarity`, 0..2;
//! 0 would mean k exact copies). It is simple to explain, monotone (an image moved further
//! from everything only scores higher) and robust on these sets: averaging k distances keeps
//! one near-copy from hiding an otherwise lonely image, as the distance to the single nearest
//! neighbour would. The local outlier factor (LOF) was considered and not chosen: it scores a
//! point against the density of its neighbours' neighbourhoods, so in the embedding of a
//! curated folder it flags the members of small, legitimate groups (five sketches among
//! hundreds of photos) as strongly as a truly unrelated image, and its ratio has no unit to
//! read.
//!
//! The neighbours come from the exact kNN graph ([`knn_graph`]: blocked matrix products,
//! n² · dim multiply-adds, in parallel), as `imgtui neighbours` uses at every size.

use crate::collection::Collection;

use super::neighbours::knn_graph;

/// Neighbours averaged per image unless told otherwise.
pub const OUTLIER_K: usize = 10;

/// Every image of `c` as `(row, score)`, the score being the mean cosine distance to its
/// `k` nearest other images (fewer when the collection is smaller), highest score (most
/// odd) first, ties by row. A collection of one image scores it 0.
pub fn outliers(c: &Collection, k: usize) -> Vec<(usize, f32)> {
    let graph = knn_graph(c, k.max(1));
    let mut scored: Vec<(usize, f32)> = graph
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mean = if row.is_empty() {
                0.0
            } else {
                row.iter().map(|n| n.distance).sum::<f32>() / row.len() as f32
            };
            (i, mean)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lonely_vector_comes_first() {
        let mut c = Collection::default();
        for i in 0..6 {
            let a = 0.05 * i as f32;
            c.push(
                format!("/f/{i}.png").into(),
                [0; 32],
                &[a.cos(), a.sin(), 0.0],
                1.0,
            );
        }
        c.push("/f/odd.png".into(), [1; 32], &[0.0, 0.0, 1.0], 1.0);
        let ranked = outliers(&c, 3);
        assert_eq!(ranked.len(), 7);
        assert_eq!(ranked[0].0, 6);
        assert!((ranked[0].1 - 1.0).abs() < 1e-4, "{ranked:?}");
        assert!(ranked[1].1 < 0.1);
    }
}
