//! Near-duplicate groups: pairs above a cosine similarity, joined into connected components.

use crate::store::Collection;

use super::neighbours::for_each_block;

/// Cosine similarity above which two images count as near-duplicates, unless told otherwise.
pub const DUPLICATE_THRESHOLD: f32 = 0.95;

/// Groups of images whose vectors are at least `threshold` similar (directly or through a chain),
/// largest group first, each sorted by row. Images without a near-duplicate are left out.
pub fn groups(c: &Collection, threshold: f32) -> Vec<Vec<usize>> {
    let pairs: Vec<(usize, usize)> = for_each_block(c, |first, sims| {
        let mut pairs = Vec::new();
        for (k, row) in sims.chunks(c.len()).enumerate() {
            let i = first + k;
            for (j, &s) in row.iter().enumerate().skip(i + 1) {
                if s >= threshold {
                    pairs.push((i, j));
                }
            }
        }
        pairs
    })
    .into_iter()
    .flatten()
    .collect();

    let mut parent: Vec<usize> = (0..c.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, j) in pairs {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..c.len() {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    groups
}
