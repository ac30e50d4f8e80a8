//! Agglomerative clustering with Ward linkage (kodama) in the PCA space.

use kodama::{Method, linkage};

use crate::collection::matrix::Matrix;

/// Ward needs all pairwise distances: n·(n−1)/2 floats, 200 MB at this size.
pub const MAX_IMAGES: usize = 10_000;

/// Cuts the Ward tree into `k` clusters; labels in order of first appearance.
///
/// Fails with a bad request above 10,000 images (it needs every pairwise distance).
pub fn ward(x: &Matrix, k: usize) -> anyhow::Result<Vec<usize>> {
    let n = x.rows;
    crate::error::ensure_request!(
        n <= MAX_IMAGES,
        "agglomerative clustering is limited to {MAX_IMAGES} images (it needs every pairwise distance); \
         this folder has {n}: use --method kmeans"
    );
    let mut condensed = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        let a = x.row(i);
        for j in i + 1..n {
            let d: f32 = a.iter().zip(x.row(j)).map(|(p, q)| (p - q) * (p - q)).sum();
            condensed.push(d.sqrt());
        }
    }
    let tree = linkage(&mut condensed, n, Method::Ward);
    // Apply the first n − k merges; dendrogram labels ≥ n name the cluster made at step i − n.
    let mut parent: Vec<usize> = (0..2 * n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (step, s) in tree.steps().iter().take(n.saturating_sub(k)).enumerate() {
        let merged = n + step;
        let (a, b) = (root(&mut parent, s.cluster1), root(&mut parent, s.cluster2));
        parent[a] = merged;
        parent[b] = merged;
    }
    let mut ids = std::collections::HashMap::new();
    Ok((0..n)
        .map(|i| {
            let r = root(&mut parent, i);
            let next = ids.len();
            *ids.entry(r).or_insert(next)
        })
        .collect())
}
