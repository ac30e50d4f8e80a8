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

/// `rows × cols` values stored as f16, row-major, with each stored row's inverse length:
/// rounding moves a unit vector's length by up to about 4e-4, and every value read is
/// scaled back to unit length, so that an image's cosine with itself (or an identical file)
/// is 1 to f32 precision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vectors {
    rows: usize,
    cols: usize,
    data: Vec<f16>,
    /// 1 / the length of each stored row (1 for a zero row).
    scale: Vec<f32>,
}

/// 1 / the length of `row` as stored (1 when it is zero).
fn inverse_length(row: &[f16]) -> f32 {
    let wide = row.to_f32_vec();
    let square = super::dot(&wide, &wide);
    if square > 0.0 {
        1.0 / square.sqrt()
    } else {
        1.0
    }
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
            scale: vec![1.0; rows],
        }
    }

    /// The rows of `m`, narrowed.
    pub fn from_matrix(m: &Matrix) -> Vectors {
        let mut data = vec![f16::ZERO; m.data.len()];
        data.convert_from_f32_slice(&m.data);
        let scale = data.chunks(m.cols.max(1)).map(inverse_length).collect();
        Vectors {
            rows: m.rows,
            cols: m.cols,
            data,
            scale,
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
        self.scale.push(inverse_length(&self.data[start..]));
        self.rows += 1;
    }

    /// Sets row `i` to `row`, narrowed.
    pub fn set_row(&mut self, i: usize, row: &[f32]) {
        let stored = &mut self.data[i * self.cols..(i + 1) * self.cols];
        stored.convert_from_f32_slice(row);
        self.scale[i] = inverse_length(stored);
    }

    /// Row `i` widened into `out` (of length [`cols`](Self::cols)), at unit length.
    pub fn row_into(&self, i: usize, out: &mut [f32]) {
        self.half_row(i).convert_to_f32_slice(out);
        let scale = self.scale[i];
        out.iter_mut().for_each(|v| *v *= scale);
    }

    /// Row `i` widened, at unit length.
    pub fn row(&self, i: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.cols];
        self.row_into(i, &mut out);
        out
    }

    /// Row `i` as stored (its length within about 4e-4 of 1).
    pub fn half_row(&self, i: usize) -> &[f16] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The dot product of row `i` (at unit length) with `q` (of length
    /// [`cols`](Self::cols)), widening [`LANE`] values at a time on the stack.
    pub fn dot(&self, i: usize, q: &[f32]) -> f32 {
        let mut buf = [0f32; LANE];
        let sum: f32 = self
            .half_row(i)
            .chunks(LANE)
            .zip(q.chunks(LANE))
            .map(|(h, q)| {
                let wide = &mut buf[..h.len()];
                h.convert_to_f32_slice(wide);
                super::dot(wide, q)
            })
            .sum();
        sum * self.scale[i]
    }

    /// The dot product of rows `a` and `b` at unit length (their cosine similarity).
    pub fn dot_rows(&self, a: usize, b: usize) -> f32 {
        let (mut x, mut y) = ([0f32; LANE], [0f32; LANE]);
        let sum: f32 = self
            .half_row(a)
            .chunks(LANE)
            .zip(self.half_row(b).chunks(LANE))
            .map(|(ha, hb)| {
                let (wa, wb) = (&mut x[..ha.len()], &mut y[..hb.len()]);
                ha.convert_to_f32_slice(wa);
                hb.convert_to_f32_slice(wb);
                super::dot(wa, wb)
            })
            .sum();
        sum * self.scale[a] * self.scale[b]
    }

    /// The rows listed in `which`, in that order, widened.
    pub fn select(&self, which: &[usize]) -> Matrix {
        let mut out = Matrix::zeros(which.len(), self.cols);
        for (k, &i) in which.iter().enumerate() {
            self.row_into(i, out.row_mut(k));
        }
        out
    }

    /// Every row, widened at unit length (`rows × cols` f32: twice the memory).
    pub fn to_matrix(&self) -> Matrix {
        Matrix::from_vec(self.rows, self.cols, self.block(0, self.rows).into_owned())
    }

    /// Copies row `from` onto row `to`.
    pub fn copy_row(&mut self, from: usize, to: usize) {
        let d = self.cols;
        self.data.copy_within(from * d..(from + 1) * d, to * d);
        self.scale[to] = self.scale[from];
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        self.data.truncate(self.rows * self.cols);
        self.scale.truncate(self.rows);
    }

    /// Bytes the values and their scales take.
    pub fn bytes(&self) -> usize {
        self.data.len() * 2 + self.scale.len() * 4
    }
}

impl Rows for Vectors {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn block(&self, first: usize, rows: usize) -> Cow<'_, [f32]> {
        let mut out = self.data[first * self.cols..(first + rows) * self.cols].to_f32_vec();
        for (row, scale) in out.chunks_mut(self.cols.max(1)).zip(&self.scale[first..]) {
            row.iter_mut().for_each(|v| *v *= scale);
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rows_keep_cosines_within_a_thousandth_and_products_match_f32() {
        // Deterministic values spread over -0.5..0.5, each row then scaled to unit length.
        let mut state = 7u64;
        let mut m = Matrix::from_fn(300, 1280, |_, _| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        });
        for i in 0..m.rows {
            let len = crate::collection::dot(m.row(i), m.row(i)).sqrt();
            m.row_mut(i).iter_mut().for_each(|v| *v /= len);
        }
        let v = Vectors::from_matrix(&m);
        assert_eq!(
            (v.rows(), v.cols(), v.bytes()),
            (300, 1280, 300 * (1280 * 2 + 4))
        );
        // Every row reads back at unit length: an image is at distance 0 from itself.
        for i in [0, 7, 299] {
            assert!((v.dot_rows(i, i) - 1.0).abs() < 1e-6);
            assert!((v.dot(i, &v.row(i)) - 1.0).abs() < 1e-6);
            let r = v.row(i);
            assert!((crate::collection::dot(&r, &r) - 1.0).abs() < 1e-6);
        }
        for (a, b) in [(0, 1), (5, 299), (17, 17)] {
            let exact = crate::collection::dot(m.row(a), m.row(b));
            assert!((v.dot(a, m.row(b)) - exact).abs() < 1e-3);
            assert!((crate::collection::dot(&v.row(a), &v.row(b)) - exact).abs() < 1e-3);
            assert!((v.dot_rows(a, b) - v.dot(a, &v.row(b))).abs() < 1e-6);
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
