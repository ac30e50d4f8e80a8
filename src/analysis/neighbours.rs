//! Nearest neighbours by cosine distance over the collection's unit vectors.
//!
//! Distances are `1 − cosine similarity`, in 0..2. One query is a parallel matrix–vector
//! product, bound by memory traffic: from [`APPROXIMATE_FROM`] images on, the N nearest are
//! found in an 8-bit copy of the vectors (a quarter of the bytes) and the best candidates
//! re-ranked with the exact vectors, so the distances returned are always exact. The kNN graph
//! and the full duplicate comparison (small collections) use blocked matrix–matrix products.

use rayon::prelude::*;
use serde::Serialize;

use crate::collection::{Collection, Quantized, dot};

/// One neighbour: the image's row in the collection and its cosine distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Neighbour {
    /// Row of the image in the collection.
    pub index: usize,
    /// Cosine distance to the query (0..2).
    pub distance: f32,
}

/// Which neighbours a query wants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Select {
    /// The `n` closest.
    Nearest(usize),
    /// Every image within this cosine distance.
    Within(f32),
}

impl Select {
    /// Every image within `radius`, a cosine distance in 0..=2. The error is the rule, for
    /// the caller to prefix with where the value came from.
    pub fn within(radius: f32) -> Result<Select, &'static str> {
        if (0.0..=2.0).contains(&radius) {
            Ok(Select::Within(radius))
        } else {
            Err("a cosine distance between 0 and 2")
        }
    }
}

/// Rows handled per task in the parallel loops.
const CHUNK: usize = 512;

/// Cosine similarity of `query` (unit length) with every row.
pub fn similarities(c: &Collection, query: &[f32]) -> Vec<f32> {
    assert_eq!(
        query.len(),
        c.dim(),
        "query and collection differ in length"
    );
    let mut out = vec![0f32; c.len()];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, sims)| {
            let first = chunk * CHUNK;
            for (k, s) in sims.iter_mut().enumerate() {
                *s = dot(c.row(first + k), query);
            }
        });
    out
}

/// Collections from this size on answer "the N nearest" through the 8-bit copy.
pub const APPROXIMATE_FROM: usize = 20_000;

/// Candidates re-ranked exactly per neighbour asked for (at least [`MIN_CANDIDATES`]).
const CANDIDATES_PER_NEIGHBOUR: usize = 10;
const MIN_CANDIDATES: usize = 200;

/// The neighbours of `query`, closest first, leaving out row `exclude` (the query itself).
pub fn query(
    c: &Collection,
    query: &[f32],
    select: Select,
    exclude: Option<usize>,
) -> Vec<Neighbour> {
    match select {
        Select::Nearest(n) if c.len() >= APPROXIMATE_FROM => {
            let q = c.quantized.get_or_init(|| Quantized::new(c));
            let rough = q.similarities(query);
            let want = (n * CANDIDATES_PER_NEIGHBOUR).max(MIN_CANDIDATES);
            let candidates = pick(&rough, Select::Nearest(want), exclude);
            let exact: Vec<Neighbour> = candidates
                .iter()
                .map(|cand| Neighbour {
                    index: cand.index,
                    distance: (1.0 - dot(c.row(cand.index), query)).max(0.0),
                })
                .collect();
            let mut best = exact;
            best.sort_by(|a, b| {
                a.distance
                    .total_cmp(&b.distance)
                    .then(a.index.cmp(&b.index))
            });
            best.truncate(n);
            best
        }
        _ => exact_query(c, query, select, exclude),
    }
}

/// [`query`] by the full vectors alone, whatever the size.
pub fn exact_query(
    c: &Collection,
    query: &[f32],
    select: Select,
    exclude: Option<usize>,
) -> Vec<Neighbour> {
    let sims = similarities(c, query);
    pick(&sims, select, exclude)
}

/// Chooses neighbours from a row of similarities, closest first (ties by row order).
fn pick(sims: &[f32], select: Select, exclude: Option<usize>) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = sims
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != exclude)
        .map(|(index, &s)| Neighbour {
            index,
            distance: (1.0 - s).max(0.0),
        })
        .collect();
    let order = |a: &Neighbour, b: &Neighbour| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.index.cmp(&b.index))
    };
    match select {
        Select::Nearest(n) => {
            if n < all.len() {
                if n > 0 {
                    all.select_nth_unstable_by(n - 1, order);
                }
                all.truncate(n);
            }
        }
        Select::Within(r) => all.retain(|x| x.distance <= r),
    }
    all.sort_by(order);
    // `all` was sized for every image: a kNN graph keeps one result per image, so without
    // this it held n² entries (1.6 GB at 10,000 images).
    all.shrink_to_fit();
    all
}

/// The `n` nearest neighbours of every image (the kNN graph), row by row.
pub fn knn_graph(c: &Collection, n: usize) -> Vec<Vec<Neighbour>> {
    let mut graph = vec![Vec::new(); c.len()];
    for_each_block(c, |first, block| {
        block
            .chunks(c.len())
            .enumerate()
            .map(|(k, sims)| (first + k, pick(sims, Select::Nearest(n), Some(first + k))))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .for_each(|(i, row)| graph[i] = row);
    graph
}

/// Calls `f(first_row, similarities)` for consecutive blocks of rows in parallel, where
/// `similarities` is `rows × len` (each row against every image), and collects the results.
pub(crate) fn for_each_block<T: Send>(
    c: &Collection,
    f: impl Fn(usize, &[f32]) -> T + Sync,
) -> Vec<T> {
    const BLOCK: usize = 256;
    let n = c.len();
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let first = b * BLOCK;
            let rows = BLOCK.min(n - first);
            let mut sims = vec![0f32; rows * n];
            let dim = c.dim();
            let a = &c.vectors.data[first * dim..(first + rows) * dim];
            // sims (rows × n) = A (rows × dim) · Vᵀ (dim × n).
            // SAFETY: the pointers and strides describe `a` (rows × dim), `c.vectors`
            // (n × dim, read transposed) and `sims` (rows × n), all within their buffers.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    dim,
                    n,
                    1.0,
                    a.as_ptr(),
                    dim as isize,
                    1,
                    c.vectors.data.as_ptr(),
                    1,
                    dim as isize,
                    0.0,
                    sims.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
            f(first, &sims)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(rows: &[[f32; 2]]) -> Collection {
        let mut c = Collection::default();
        for (i, r) in rows.iter().enumerate() {
            let len = (r[0] * r[0] + r[1] * r[1]).sqrt();
            c.push(
                format!("{i}.png").into(),
                [i as u8; 32],
                &[r[0] / len, r[1] / len],
                1.0,
            );
        }
        c
    }

    #[test]
    fn nearest_and_within_agree_with_brute_force() {
        let c = collection(&[[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [-1.0, 0.0], [1.0, 0.5]]);
        let near = query(&c, c.row(0), Select::Nearest(2), Some(0));
        assert_eq!(near.iter().map(|x| x.index).collect::<Vec<_>>(), [1, 4]);
        assert!((near[0].distance - (1.0 - 1.0 / 1.01f32.sqrt())).abs() < 1e-6);
        let within = query(&c, c.row(0), Select::Within(1.0), Some(0));
        assert_eq!(
            within.iter().map(|x| x.index).collect::<Vec<_>>(),
            [1, 4, 2]
        );
        let graph = knn_graph(&c, 1);
        assert_eq!(graph[3][0].index, 2);
        assert_eq!(graph[2][0].index, 4);
        // Each row holds its neighbours only, not room for every image.
        assert!(graph.iter().all(|row| row.capacity() == 1), "{graph:?}");
    }

    #[test]
    fn large_collections_go_through_the_8_bit_copy_and_stay_exact() {
        let mut rng = crate::analysis::rng::Lcg::new(3);
        let mut c = Collection::default();
        for i in 0..APPROXIMATE_FROM + 500 {
            let mut v: Vec<f32> = (0..32).map(|_| rng.normal()).collect();
            crate::features::l2_normalize(&mut v);
            c.push(format!("{i}.png").into(), [0; 32], &v, 1.0);
        }
        let mut found = 0;
        for q in 0..20 {
            let row = q * 997;
            let fast = query(&c, c.row(row), Select::Nearest(10), Some(row));
            let exact = exact_query(&c, c.row(row), Select::Nearest(10), Some(row));
            assert!(c.quantized.get().is_some(), "the 8-bit copy was used");
            found += fast.iter().filter(|f| exact.contains(f)).count();
            // Whatever is returned carries its exact distance.
            for f in &fast {
                let d = 1.0 - dot(c.row(f.index), c.row(row));
                assert!((f.distance - d.max(0.0)).abs() < 1e-6);
            }
        }
        assert!(
            found as f64 / 200.0 >= 0.99,
            "recall@10 {}",
            found as f64 / 200.0
        );
    }
}
