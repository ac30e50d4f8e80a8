//! An inverted-file index (IVF) over the collection's unit vectors, for approximate nearest
//! neighbours in large collections.
//!
//! The method is IVF-Flat (Jégou, Douze & Schmid, "Product quantization for nearest
//! neighbor search", TPAMI 2011; FAISS's `IndexIVFFlat`): spherical k-means splits the rows
//! into about √n cells (lists); a query ranks the cells by their centroid's cosine and scans
//! the rows of the nearest [`Ivf::probes`] cells exactly. A neighbour is missed only when it
//! lies in a cell that was not scanned; `examples/neighbours_speed.rs` measures recall@10
//! against exact search.
//!
//! The index is kept by content: [`Ivf::cells_by_hash`] names each row's cell by its image's
//! hash, so a saved index serves a collection that gained or lost images since (new rows
//! join their nearest cell when it is loaded; rows that are gone are simply not listed).

use rayon::prelude::*;

use super::matrix::{BLOCK, Matrix, Rows, gemm};
use super::{Collection, Hash, Vectors};

/// Rows per cell the index aims at (√n cells for n rows, at least this many rows in each).
const MIN_ROWS_PER_CELL: usize = 64;
/// Training rows per cell: k-means runs on an evenly spaced sample of this many per cell.
const SAMPLE_PER_CELL: usize = 40;
/// Lloyd iterations when training.
const ITERATIONS: usize = 10;

/// An IVF index: `cells × dim` unit centroids, and each cell's rows in row order.
#[derive(Debug, Clone, PartialEq)]
pub struct Ivf {
    centroids: Matrix,
    lists: Vec<Vec<u32>>,
    probes: usize,
}

impl Ivf {
    /// Trains an index on the rows of `v`: √n cells (at least [`MIN_ROWS_PER_CELL`] rows a
    /// cell), spherical k-means on an evenly spaced sample, then every row joins its nearest
    /// centroid. Deterministic: the same rows give the same index.
    ///
    /// Cost: the assignment is one `n × dim × cells` product, a block of rows at a time, and
    /// training a few such products on the sample: 9–13 s for a million 1280-wide rows on
    /// two cores (BENCHMARKS).
    pub fn train(v: &Vectors) -> Ivf {
        let n = v.rows();
        let cells = cells_for(n);
        let sample: Vec<usize> = spaced(n, (cells * SAMPLE_PER_CELL).min(n));
        let x = v.select(&sample);
        let mut centroids = x.select(&spaced(x.rows, cells));
        for _ in 0..ITERATIONS {
            let nearest = nearest_cells(&x, &centroids);
            let mut sums = Matrix::zeros(cells, x.cols);
            for (i, &c) in nearest.iter().enumerate() {
                for (s, v) in sums.row_mut(c as usize).iter_mut().zip(x.row(i)) {
                    *s += v;
                }
            }
            for c in 0..cells {
                // An empty cell keeps its centroid: it may win rows in the assignment.
                if unit(sums.row_mut(c)) {
                    centroids.row_mut(c).copy_from_slice(sums.row(c));
                }
            }
        }
        let assignment = nearest_cells(v, &centroids);
        Ivf::from_assignment(centroids, &assignment)
    }

    /// The index whose cell `c` has centroid row `c` of `centroids` (unit rows) and holds
    /// the rows `i` with `assignment[i] == c`. Panics when a cell number is out of range.
    pub fn from_assignment(centroids: Matrix, assignment: &[u32]) -> Ivf {
        let mut lists = vec![Vec::new(); centroids.rows];
        for (i, &c) in assignment.iter().enumerate() {
            lists[c as usize].push(i as u32);
        }
        let probes = default_probes(lists.len());
        Ivf {
            centroids,
            lists,
            probes,
        }
    }

    /// The saved form's inverse: `centroids`, and each image's cell by its content hash
    /// (as [`cells_by_hash`](Self::cells_by_hash) gave them). Rows of `c` whose hash is not
    /// listed (images added since) join their nearest centroid; `None` when the centroids do
    /// not fit `c` (another width, or none).
    pub fn restore(
        c: &Collection,
        centroids: Matrix,
        cell_of: &rustc_hash::FxHashMap<Hash, u32>,
    ) -> Option<Ivf> {
        if centroids.rows == 0 || centroids.cols != c.dim() {
            return None;
        }
        let mut assignment: Vec<u32> = Vec::with_capacity(c.len());
        let mut new = Vec::new();
        for (i, h) in c.hashes.iter().enumerate() {
            match cell_of.get(h) {
                Some(&cell) if (cell as usize) < centroids.rows => assignment.push(cell),
                _ => {
                    new.push(i);
                    assignment.push(0);
                }
            }
        }
        // A block at a time: a folder whose images were all replaced would otherwise widen
        // every vector at once.
        for rows in new.chunks(BLOCK) {
            let joined = nearest_cells(&c.vectors.select(rows), &centroids);
            for (&i, cell) in rows.iter().zip(joined) {
                assignment[i] = cell;
            }
        }
        Some(Ivf::from_assignment(centroids, &assignment))
    }

    /// Number of rows indexed.
    pub fn assignment_len(&self) -> usize {
        self.lists.iter().map(Vec::len).sum()
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.lists.len()
    }

    /// The `cells × dim` unit centroids.
    pub fn centroids(&self) -> &Matrix {
        &self.centroids
    }

    /// Each row's cell, in row order.
    pub fn assignment(&self) -> Vec<u32> {
        let n = self.lists.iter().map(Vec::len).sum();
        let mut out = vec![0u32; n];
        for (c, list) in self.lists.iter().enumerate() {
            for &i in list {
                out[i as usize] = c as u32;
            }
        }
        out
    }

    /// Each image's cell, keyed by the content hashes of `c` (the rows this index was made
    /// for): what a store saves.
    pub fn cells_by_hash<'a>(&self, c: &'a Collection) -> Vec<(&'a Hash, u32)> {
        c.hashes.iter().zip(self.assignment()).collect()
    }

    /// Cells a query scans ([`default_probes`] unless [`with_probes`](Self::with_probes)
    /// says otherwise).
    pub fn probes(&self) -> usize {
        self.probes
    }

    /// This index scanning `probes` cells a query (1 to [`cells`](Self::cells)).
    pub fn with_probes(mut self, probes: usize) -> Ivf {
        self.probes = probes.clamp(1, self.cells().max(1));
        self
    }

    /// The rows in the `probes` cells whose centroids are nearest to `query` (unit length),
    /// unordered.
    pub fn candidates(&self, query: &[f32], probes: usize) -> Vec<u32> {
        nearest_centroids(&self.centroids, query, probes)
            .into_iter()
            .flat_map(|c| self.lists[c].iter().copied())
            .collect()
    }
}

/// The `probes` rows of `centroids` (unit rows) nearest to `query` by cosine, nearest first
/// (ties to the lower row).
pub fn nearest_centroids(centroids: &Matrix, query: &[f32], probes: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = (0..centroids.rows)
        .map(|c| (super::dot(centroids.row(c), query), c))
        .collect();
    let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let probes = probes.min(scored.len());
    if probes == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(probes - 1, order);
    scored.truncate(probes);
    scored.sort_by(order);
    scored.into_iter().map(|(_, c)| c).collect()
}

/// Cells a query scans of `cells`: 1 in 16, never fewer than 12. On Fashion-MNIST's
/// embeddings (141 cells) 12 give recall@10 ≈ 0.97 and 8 give 0.963 (BENCHMARKS).
pub fn default_probes(cells: usize) -> usize {
    (cells / 16).max(12).min(cells)
}

/// Cells for `n` rows: √n, with at least [`MIN_ROWS_PER_CELL`] rows a cell, at least 1.
pub fn cells_for(n: usize) -> usize {
    ((n as f64).sqrt() as usize)
        .min(n / MIN_ROWS_PER_CELL)
        .max(1)
}

/// `k` row numbers spread evenly over `0..n`.
fn spaced(n: usize, k: usize) -> Vec<usize> {
    (0..k).map(|i| i * n / k.max(1)).collect()
}

/// Scales `v` to unit length; false (and `v` untouched) when it is zero.
fn unit(v: &mut [f32]) -> bool {
    let len = super::dot(v, v).sqrt();
    if len > 0.0 && len.is_finite() {
        v.iter_mut().for_each(|x| *x /= len);
        true
    } else {
        false
    }
}

/// Each row's nearest centroid by cosine (the largest dot product), ties to the lower cell.
/// A block of rows at a time, so that only `BLOCK × cells` products are held at once.
fn nearest_cells(x: &(impl Rows + ?Sized), centroids: &Matrix) -> Vec<u32> {
    let (n, dim) = x.shape();
    let cells = centroids.rows;
    let transposed = centroids.transposed();
    let blocks: Vec<Vec<u32>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let first = b * BLOCK;
            let rows = BLOCK.min(n - first);
            let mut dots = vec![0f32; rows * cells];
            gemm(
                rows,
                dim,
                cells,
                &x.block(first, rows),
                (dim, 1),
                &transposed.data,
                (cells, 1),
                &mut dots,
            );
            dots.chunks(cells.max(1))
                .map(|row| {
                    let mut best = 0;
                    for (c, &d) in row.iter().enumerate() {
                        if d > row[best] {
                            best = c;
                        }
                    }
                    best as u32
                })
                .collect()
        })
        .collect();
    blocks.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` unit rows around `groups` random directions, in a cheap deterministic way.
    fn clustered(n: usize, groups: usize, dim: usize) -> Collection {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..groups)
            .map(|_| (0..dim).map(|_| next()).collect())
            .collect();
        let mut c = Collection::default();
        for i in 0..n {
            let mut v: Vec<f32> = centres[i % groups]
                .iter()
                .map(|x| x + 0.4 * next())
                .collect();
            unit(&mut v);
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            c.push(format!("{i}.png").into(), hash, &v, 1.0);
        }
        c
    }

    #[test]
    fn every_row_is_in_one_cell_and_a_restored_index_is_the_same() {
        let c = clustered(5000, 40, 24);
        let ivf = Ivf::train(&c.vectors);
        assert_eq!(ivf.cells(), cells_for(5000));
        let assignment = ivf.assignment();
        assert_eq!(assignment.len(), 5000);
        assert_eq!(ivf.lists.iter().map(Vec::len).sum::<usize>(), 5000);
        assert_eq!(Ivf::train(&c.vectors), ivf, "deterministic");

        let saved: rustc_hash::FxHashMap<Hash, u32> = ivf
            .cells_by_hash(&c)
            .into_iter()
            .map(|(h, cell)| (*h, cell))
            .collect();
        let again = Ivf::restore(&c, ivf.centroids().clone(), &saved).unwrap();
        assert_eq!(again, ivf);
        // An image the saved index never saw joins its nearest cell.
        let mut fewer = saved.clone();
        fewer.remove(&c.hashes[17]);
        let grown = Ivf::restore(&c, ivf.centroids().clone(), &fewer).unwrap();
        assert_eq!(grown.assignment()[17], assignment[17]);
        // Centroids of another width do not fit.
        assert!(Ivf::restore(&c, Matrix::zeros(3, 5), &saved).is_none());
    }
}
