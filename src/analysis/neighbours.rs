//! Nearest neighbours by cosine distance over the collection's unit vectors.
//!
//! Distances are `1 − cosine similarity`, in 0..2. One query is a parallel matrix–vector
//! product over the half-precision rows, bound by memory traffic. Once a large collection's
//! IVF index is made or loaded ([`Collection::index`], [`crate::collection::ivf`], from
//! 50,000 images by default), "the N nearest" scans only the cells nearest to the query;
//! every distance returned is still computed from the vectors. The kNN graph and the full
//! duplicate comparison (small collections) use blocked matrix–matrix products.

use rayon::prelude::*;
use serde::Serialize;

use crate::collection::Collection;
use crate::collection::ivf::Ivf;
use crate::collection::matrix::Rows;

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
                *s = c.vectors.dot(first + k, query);
            }
        });
    out
}

/// The neighbours of `query`, closest first, leaving out row `exclude` (the query itself).
/// "The N nearest" goes through `c`'s index when it has one.
pub fn query(
    c: &Collection,
    query: &[f32],
    select: Select,
    exclude: Option<usize>,
) -> Vec<Neighbour> {
    match (select, c.index.get()) {
        (Select::Nearest(n), Some(ivf)) if ivf.assignment_len() == c.len() => {
            through_index(c, ivf, query, n, exclude)
        }
        _ => exact_query(c, query, select, exclude),
    }
}

/// The `n` nearest to `query` among the rows in `ivf`'s probed cells, closest first,
/// leaving out row `exclude`; by every row when those cells hold fewer than `n + 1`. `ivf`
/// must index `c`'s rows.
pub fn through_index(
    c: &Collection,
    ivf: &Ivf,
    query: &[f32],
    n: usize,
    exclude: Option<usize>,
) -> Vec<Neighbour> {
    let mut rows = ivf.candidates(query, ivf.probes());
    // The probed cells cannot give n: every row is searched (a long list is asked for).
    if rows.len() < n.saturating_add(1) {
        return exact_query(c, query, Select::Nearest(n), exclude);
    }
    // In row order, the scan reads memory forward as an exact scan does.
    rows.sort_unstable();
    let mut sims = vec![0f32; rows.len()];
    sims.par_chunks_mut(CHUNK)
        .zip(rows.par_chunks(CHUNK))
        .for_each(|(sims, rows)| {
            for (s, &i) in sims.iter_mut().zip(rows) {
                *s = c.vectors.dot(i as usize, query);
            }
        });
    let mut best = pick(&sims, Select::Nearest(n.saturating_add(1)), None);
    for b in &mut best {
        b.index = rows[b.index] as usize;
    }
    best.retain(|b| Some(b.index) != exclude);
    best.truncate(n);
    best
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

/// How many nearest images a search over 8-bit vectors takes for `n` before [`rerank`]
/// orders them on the exact vectors: enough that an image the rounding (about 1e-3 of
/// cosine) moved down the list is still in it.
pub fn shortlist(n: usize) -> usize {
    n.saturating_mul(4).saturating_add(16)
}

/// The `n` closest of `found` (a [`shortlist`] from a search over rounded vectors) by
/// `similarity`, each row's exact cosine similarity with the query (`None`: its rounded
/// distance stays), closest first, ties by row.
pub fn rerank(
    mut found: Vec<Neighbour>,
    similarity: impl Fn(usize) -> Option<f32>,
    n: usize,
) -> Vec<Neighbour> {
    for f in &mut found {
        if let Some(s) = similarity(f.index) {
            f.distance = distance(s);
        }
    }
    found.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.index.cmp(&b.index))
    });
    found.truncate(n);
    found
}

/// Distances under this are the rounding of a dot product of 1280 f32 products (an image
/// and an identical file give 1 ± 1e-7): they read as 0, so that `--radius 0` finds copies.
const ROUNDING: f32 = 1e-6;

/// The cosine distance of a cosine similarity `s`: `1 − s`, in 0..=2, 0 up to [`ROUNDING`].
fn distance(s: f32) -> f32 {
    let d = 1.0 - s;
    if d < ROUNDING { 0.0 } else { d }
}

/// Chooses neighbours from a row of similarities, closest first (ties by row order).
fn pick(sims: &[f32], select: Select, exclude: Option<usize>) -> Vec<Neighbour> {
    let mut all: Vec<Neighbour> = sims
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != exclude)
        .map(|(index, &s)| Neighbour {
            index,
            distance: distance(s),
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
/// Each block of queries meets the collection a slab of rows at a time, both widened from
/// half precision on the way.
pub(crate) fn for_each_block<T: Send>(
    c: &Collection,
    f: impl Fn(usize, &[f32]) -> T + Sync,
) -> Vec<T> {
    const BLOCK: usize = 256;
    const SLAB: usize = 4096;
    let n = c.len();
    let dim = c.dim();
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let first = b * BLOCK;
            let rows = BLOCK.min(n - first);
            let mut sims = vec![0f32; rows * n];
            let a = c.vectors.block(first, rows);
            for start in (0..n).step_by(SLAB) {
                let len = SLAB.min(n - start);
                let slab = c.vectors.block(start, len);
                // sims[.., start..start + len] (rows × len, row stride n) = A · Slabᵀ.
                // SAFETY: `a` is rows × dim, `slab` len × dim (read transposed), and the
                // output starts at column `start` of `sims` (rows × n) and stays within it.
                unsafe {
                    matrixmultiply::sgemm(
                        rows,
                        dim,
                        len,
                        1.0,
                        a.as_ptr(),
                        dim as isize,
                        1,
                        slab.as_ptr(),
                        1,
                        dim as isize,
                        0.0,
                        sims.as_mut_ptr().add(start),
                        n as isize,
                        1,
                    );
                }
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
        let near = query(&c, &c.row(0), Select::Nearest(2), Some(0));
        assert_eq!(near.iter().map(|x| x.index).collect::<Vec<_>>(), [1, 4]);
        // Within half precision's rounding of the stored vectors.
        assert!((near[0].distance - (1.0 - 1.0 / 1.01f32.sqrt())).abs() < 1e-3);
        let within = query(&c, &c.row(0), Select::Within(1.0), Some(0));
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
    fn large_collections_go_through_the_index_with_recall_and_exact_distances() {
        // Drawn like embeddings: rows around 400 directions, not uniform noise.
        let mut rng = crate::analysis::rng::Lcg::new(3);
        let centres: Vec<Vec<f32>> = (0..400)
            .map(|_| (0..32).map(|_| rng.normal()).collect())
            .collect();
        let mut c = Collection::default();
        for i in 0..20_000 {
            let mut v: Vec<f32> = centres[rng.below(400)]
                .iter()
                .map(|x| x + 0.5 * rng.normal())
                .collect();
            crate::features::l2_normalize(&mut v);
            c.push(format!("{i}.png").into(), [0; 32], &v, 1.0);
        }
        assert!(
            c.index
                .set(crate::collection::ivf::Ivf::train(&c.vectors))
                .is_ok()
        );
        let mut found = 0;
        for q in 0..40 {
            let row = q * 499;
            let fast = query(&c, &c.row(row), Select::Nearest(10), Some(row));
            let exact = exact_query(&c, &c.row(row), Select::Nearest(10), Some(row));
            assert_eq!(fast.len(), 10);
            assert!(fast.iter().all(|f| f.index != row), "the query is left out");
            found += fast.iter().filter(|f| exact.contains(f)).count();
            // Whatever is returned carries its distance from the vectors.
            for f in &fast {
                let d = 1.0 - c.vectors.dot_rows(f.index, row);
                assert!((f.distance - d.max(0.0)).abs() < 1e-6);
            }
        }
        let recall = found as f64 / 400.0;
        assert!(recall >= 0.95, "recall@10 {recall}");
        // The query's own vector is at distance 0, not a rounding above it.
        let itself = exact_query(&c, &c.row(7), Select::Within(0.0), None);
        assert_eq!(
            itself
                .iter()
                .map(|x| (x.index, x.distance))
                .collect::<Vec<_>>(),
            [(7, 0.0)]
        );
        // More than the probed cells hold: every row is searched, and n are given.
        let long = query(&c, &c.row(0), Select::Nearest(15_000), Some(0));
        assert_eq!(
            long,
            exact_query(&c, &c.row(0), Select::Nearest(15_000), Some(0))
        );
        // A collection that is not the one indexed (a row more) is searched exactly.
        let mut more = c.clone();
        more.push("extra.png".into(), [1; 32], &c.row(5), 1.0);
        let near = query(&more, &more.row(5), Select::Nearest(1), Some(5));
        assert_eq!(near[0].index, more.len() - 1);
    }
}
