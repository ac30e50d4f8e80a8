//! A plain row-major f32 matrix and the two products the analysis needs, on sgemm,
//! split across threads by rows. The left operand of a product is any [`Rows`]: a
//! [`Matrix`], or the collection's half-precision vectors widened a block at a time.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A dense row-major `rows × cols` f32 matrix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows × cols` values, row after row.
    pub data: Vec<f32>,
}

impl Matrix {
    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix::from_vec(rows, cols, vec![0.0; rows * cols])
    }

    /// `data` (row-major) as a `rows × cols` matrix. Panics when the length is not `rows × cols`.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Matrix {
        assert_eq!(data.len(), rows * cols, "matrix data and shape differ");
        Matrix { rows, cols, data }
    }

    /// A `rows × cols` matrix whose entry `(i, j)` is `f(i, j)`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f32) -> Matrix {
        let data = (0..rows * cols).map(|i| f(i / cols, i % cols)).collect();
        Matrix { rows, cols, data }
    }

    /// The rows listed in `which`, in that order.
    pub fn select(&self, which: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(which.len() * self.cols);
        for &i in which {
            data.extend_from_slice(self.row(i));
        }
        Matrix::from_vec(which.len(), self.cols, data)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, to change.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.cols + j]
    }

    /// Sets entry `(i, j)` to `v`.
    pub fn set(&mut self, i: usize, j: usize, v: f32) {
        self.data[i * self.cols + j] = v;
    }

    /// The `cols × rows` transpose.
    pub fn transposed(&self) -> Matrix {
        Matrix::from_fn(self.cols, self.rows, |i, j| self.get(j, i))
    }
}

/// Rows of f32 read a block at a time: what the products take as their left operand, so
/// that a matrix stored narrower is widened one block at a time, never whole.
pub trait Rows: Sync {
    /// `(rows, cols)`.
    fn shape(&self) -> (usize, usize);

    /// Rows `first..first + rows`, row-major (borrowed when stored as f32).
    fn block(&self, first: usize, rows: usize) -> Cow<'_, [f32]>;

    /// Calls `f(first_row, block)` for consecutive blocks of at most [`BLOCK`] rows, in
    /// order, one at a time.
    fn for_each_block(&self, mut f: impl FnMut(usize, &[f32])) {
        let n = self.shape().0;
        for first in (0..n).step_by(BLOCK) {
            f(first, &self.block(first, BLOCK.min(n - first)));
        }
    }
}

impl Rows for Matrix {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn block(&self, first: usize, rows: usize) -> Cow<'_, [f32]> {
        Cow::Borrowed(&self.data[first * self.cols..(first + rows) * self.cols])
    }
}

/// Rows per parallel task.
pub const BLOCK: usize = 1024;

/// A·B.
pub fn matmul(a: &(impl Rows + ?Sized), b: &Matrix) -> Matrix {
    let (rows, cols) = a.shape();
    assert_eq!(cols, b.rows, "matmul shapes");
    let mut out = Matrix::zeros(rows, b.cols);
    if b.cols == 0 {
        return out;
    }
    out.data
        .par_chunks_mut(BLOCK * b.cols)
        .enumerate()
        .for_each(|(blk, o)| {
            let first = blk * BLOCK;
            let rows = o.len() / b.cols;
            let a_rows = a.block(first, rows);
            gemm(
                rows,
                cols,
                b.cols,
                &a_rows,
                (cols, 1),
                &b.data,
                (b.cols, 1),
                o,
            );
        });
    out
}

/// Aᵀ·B, summing per-block partial products so that neither matrix is transposed.
pub fn matmul_tn(a: &(impl Rows + ?Sized), b: &Matrix) -> Matrix {
    let (rows, m) = a.shape();
    assert_eq!(rows, b.rows, "matmul_tn shapes");
    let n = b.cols;
    let parts: Vec<Vec<f32>> = (0..rows.div_ceil(BLOCK))
        .into_par_iter()
        .map(|blk| {
            let first = blk * BLOCK;
            let k = BLOCK.min(rows - first);
            let mut o = vec![0f32; m * n];
            let a_rows = a.block(first, k);
            let b_rows = &b.data[first * n..(first + k) * n];
            gemm(m, k, n, &a_rows, (1, m), b_rows, (n, 1), &mut o);
            o
        })
        .collect();
    let mut out = Matrix::zeros(m, n);
    for p in parts {
        for (o, v) in out.data.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// out (m × n, row-major) = A (m × k, given strides) · B (k × n, given strides).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (a_row, a_col): (usize, usize),
    b: &[f32],
    (b_row, b_col): (usize, usize),
    out: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(out.len() >= m * n);
    assert!(k == 0 || (m - 1) * a_row + (k - 1) * a_col < a.len());
    assert!(k == 0 || (k - 1) * b_row + (n - 1) * b_col < b.len());
    // SAFETY: the asserts above keep every index sgemm touches inside the three slices.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_row as isize,
            a_col as isize,
            b.as_ptr(),
            b_row as isize,
            b_col as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_the_definition() {
        let a = Matrix::from_fn(2500, 3, |i, j| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Matrix::from_fn(3, 2, |i, j| (i + 2 * j) as f32);
        let ab = matmul(&a, &b);
        let atb = matmul_tn(&a, &a);
        for i in [0, 1, 1500, 2499] {
            for j in 0..2 {
                let want: f32 = (0..3).map(|t| a.get(i, t) * b.get(t, j)).sum();
                assert_eq!(ab.get(i, j), want);
            }
        }
        for i in 0..3 {
            for j in 0..3 {
                let want: f32 = (0..2500).map(|t| a.get(t, i) * a.get(t, j)).sum();
                assert!((atb.get(i, j) - want).abs() < 1e-3 * want.abs().max(1.0));
            }
        }
    }
}
