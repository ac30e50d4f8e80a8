//! The collection's unit vectors in half precision: two bytes a value instead of four.
//!
//! Each stored value is the nearest IEEE 754 binary16 to the f32 the extractor gave, so a
//! unit vector's components (all within ±1) keep 11 significant bits: a cosine between two
//! rows moves by about 1e-4 at most, well below any threshold the analysis uses. Every
//! product widens a block of rows to f32 on the way ([`Rows::block`]); the widening uses the
//! CPU's F16C instructions where there are some (the `half` crate detects them at run time).

use std::borrow::Cow;

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::matrix::{Matrix, Rows};

/// `rows × cols` values stored as f16, row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vectors {
    rows: usize,
    cols: usize,
    data: Vec<f16>,
}

/// Values widened at a time by [`Vectors::dot`] (on the stack).
const LANE: usize = 256;

impl Vectors {
    /// `rows × cols` zeros.
    pub fn zeros(rows: usize, cols: usize) -> Vectors {
        Vectors {
            rows,
            cols,
            data: vec![f16::ZERO; rows * cols],
        }
    }

    /// The rows of `m`, narrowed.
    pub fn from_matrix(m: &Matrix) -> Vectors {
        let mut data = vec![f16::ZERO; m.data.len()];
        data.convert_from_f32_slice(&m.data);
        Vectors {
            rows: m.rows,
            cols: m.cols,
            data,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Length of each row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Appends a row, narrowed. Panics when its length is not [`cols`](Self::cols) (the first
    /// row of an empty set fixes it).
    pub fn push(&mut self, row: &[f32]) {
        if self.rows == 0 {
            self.cols = row.len();
        }
        assert_eq!(row.len(), self.cols, "every row has the same length");
        let start = self.data.len();
        self.data.resize(start + row.len(), f16::ZERO);
        self.data[start..].convert_from_f32_slice(row);
        self.rows += 1;
    }

    /// Sets row `i` to `row`, narrowed.
    pub fn set_row(&mut self, i: usize, row: &[f32]) {
        self.data[i * self.cols..(i + 1) * self.cols].convert_from_f32_slice(row);
    }

    /// Row `i` widened into `out` (of length [`cols`](Self::cols)).
    pub fn row_into(&self, i: usize, out: &mut [f32]) {
        self.half_row(i).convert_to_f32_slice(out);
    }

    /// Row `i` widened.
    pub fn row(&self, i: usize) -> Vec<f32> {
        self.half_row(i).to_f32_vec()
    }

    /// Row `i` as stored.
    pub fn half_row(&self, i: usize) -> &[f16] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The dot product of row `i` with `q` (of length [`cols`](Self::cols)), widening
    /// [`LANE`] values at a time on the stack.
    pub fn dot(&self, i: usize, q: &[f32]) -> f32 {
        let mut buf = [0f32; LANE];
        self.half_row(i)
            .chunks(LANE)
            .zip(q.chunks(LANE))
            .map(|(h, q)| {
                let wide = &mut buf[..h.len()];
                h.convert_to_f32_slice(wide);
                super::dot(wide, q)
            })
            .sum()
    }

    /// The dot product of rows `a` and `b` (their cosine similarity, for unit rows).
    pub fn dot_rows(&self, a: usize, b: usize) -> f32 {
        let (mut x, mut y) = ([0f32; LANE], [0f32; LANE]);
        self.half_row(a)
            .chunks(LANE)
            .zip(self.half_row(b).chunks(LANE))
            .map(|(ha, hb)| {
                let (wa, wb) = (&mut x[..ha.len()], &mut y[..hb.len()]);
                ha.convert_to_f32_slice(wa);
                hb.convert_to_f32_slice(wb);
                super::dot(wa, wb)
            })
            .sum()
    }

    /// The rows listed in `which`, in that order, widened.
    pub fn select(&self, which: &[usize]) -> Matrix {
        let mut out = Matrix::zeros(which.len(), self.cols);
        for (k, &i) in which.iter().enumerate() {
            self.row_into(i, out.row_mut(k));
        }
        out
    }

    /// Every row, widened (`rows × cols` f32: twice the memory).
    pub fn to_matrix(&self) -> Matrix {
        Matrix::from_vec(self.rows, self.cols, self.data.to_f32_vec())
    }

    /// Copies row `from` onto row `to`.
    pub fn copy_row(&mut self, from: usize, to: usize) {
        let d = self.cols;
        self.data.copy_within(from * d..(from + 1) * d, to * d);
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        self.data.truncate(self.rows * self.cols);
    }

    /// Bytes the values take.
    pub fn bytes(&self) -> usize {
        self.data.len() * 2
    }
}

impl Rows for Vectors {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn block(&self, first: usize, rows: usize) -> Cow<'_, [f32]> {
        Cow::Owned(self.data[first * self.cols..(first + rows) * self.cols].to_f32_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rng::Lcg;

    #[test]
    fn half_rows_keep_cosines_within_a_thousandth_and_products_match_f32() {
        let mut rng = Lcg::new(7);
        let mut m = Matrix::from_fn(300, 1280, |_, _| rng.normal());
        for i in 0..m.rows {
            crate::features::l2_normalize(m.row_mut(i));
        }
        let v = Vectors::from_matrix(&m);
        assert_eq!((v.rows(), v.cols(), v.bytes()), (300, 1280, 300 * 1280 * 2));
        for (a, b) in [(0, 1), (5, 299), (17, 17)] {
            let exact = crate::collection::dot(m.row(a), m.row(b));
            assert!((v.dot(a, m.row(b)) - exact).abs() < 1e-3);
            assert!((crate::collection::dot(&v.row(a), &v.row(b)) - exact).abs() < 1e-3);
            assert_eq!(v.dot_rows(a, b), v.dot(a, &v.row(b)));
        }
        let b = Matrix::from_fn(1280, 3, |i, j| ((i + j) % 5) as f32 - 2.0);
        let (wide, narrow) = (
            crate::collection::matrix::matmul(&m, &b),
            crate::collection::matrix::matmul(&v, &b),
        );
        let worst = wide
            .data
            .iter()
            .zip(&narrow.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-2, "{worst}");
        assert_eq!(v.select(&[3, 1]).row(1), &v.row(1)[..]);
        let mut grown = Vectors::default();
        grown.push(m.row(4));
        grown.push(m.row(9));
        assert_eq!(grown.row(1), v.row(9));
    }
}
