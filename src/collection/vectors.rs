//! The collection's unit vectors, narrowed: half precision (two bytes a value instead of
//! four) or, for a large collection on screen, signed 8-bit codes (one byte a value).
//!
//! In half precision each stored value is the nearest IEEE 754 binary16 to the f32 the
//! extractor gave, so a unit vector's components (all within ±1) keep 11 significant bits: a
//! cosine between two rows moves by about 1e-4 at most, well below any threshold the
//! analysis uses. In 8 bits each row is scaled so that its largest magnitude is 127 and
//! rounded (symmetric scalar quantisation, as in FAISS's `SQ8` and the int8 embeddings of
//! search engines): a cosine moves by about 1e-3 (BENCHMARKS measures it on real embeddings),
//! which ranks neighbours well enough to re-rank a short list on the exact vectors. Every
//! product widens a block of rows to f32 on the way ([`Rows::block`]); half precision is
//! widened with the CPU's F16C instructions where there are some (the `half` crate detects
//! them at run time).

use std::borrow::Cow;

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::matrix::{Matrix, Rows};

/// How [`Vectors`] store a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    /// IEEE 754 binary16, 2 bytes a value: cosines within about 1e-4 of f32's.
    #[default]
    Half,
    /// A signed 8-bit code a value, each row scaled to use −127..=127, 1 byte a value:
    /// cosines within about 1e-3 of f32's.
    Byte,
}

/// The stored values, row-major.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Half(Vec<f16>),
    Byte(Vec<i8>),
}

impl Default for Values {
    fn default() -> Values {
        Values::Half(Vec::new())
    }
}

/// `rows × cols` values stored narrowed ([`Precision`]), row-major, with each stored row's
/// inverse length: rounding moves a unit vector's length (by up to about 4e-4 in half
/// precision), and every value read is scaled back to unit length, so that an image's
/// cosine with itself (or an identical file) is 1 to f32 precision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vectors {
    rows: usize,
    cols: usize,
    data: Values,
    /// 1 / the length of each stored row (1 for a zero row); an 8-bit row's length is that
    /// of its codes.
    scale: Vec<f32>,
}

/// 1 / the length of the stored `row` (1 when it is zero).
fn inverse_length(square: f32) -> f32 {
    if square > 0.0 {
        1.0 / square.sqrt()
    } else {
        1.0
    }
}

/// Rounds `row` to 8-bit codes in `out`, its largest magnitude to ±127; returns 1 / the
/// codes' length.
fn quantise(row: &[f32], out: &mut [i8]) -> f32 {
    let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if largest > 0.0 {
        let k = 127.0 / largest;
        for (o, v) in out.iter_mut().zip(row) {
            // Rounded half away from zero; `as` truncates (and saturates), which compiles to
            // vector instructions where `f32::round` is a call per value.
            let x = v * k;
            *o = (x + 0.5f32.copysign(x)) as i8;
        }
    } else {
        out.fill(0);
    }
    inverse_length(
        out.iter()
            .map(|&c| i32::from(c) * i32::from(c))
            .sum::<i32>() as f32,
    )
}

/// Rounds `row` to half precision in `out`; returns 1 / the stored row's length.
fn narrow_half(row: &[f32], out: &mut [f16]) -> f32 {
    out.convert_from_f32_slice(row);
    let wide = out.to_f32_vec();
    inverse_length(super::dot(&wide, &wide))
}

/// Values widened at a time by [`Vectors::dot`] (on the stack).
const LANE: usize = 256;

impl Vectors {
    /// `rows × cols` zeros in half precision.
    pub fn zeros(rows: usize, cols: usize) -> Vectors {
        Vectors::zeros_in(rows, cols, Precision::Half)
    }

    /// `rows × cols` zeros stored in `precision`.
    pub fn zeros_in(rows: usize, cols: usize, precision: Precision) -> Vectors {
        Vectors {
            rows,
            cols,
            data: match precision {
                Precision::Half => Values::Half(vec![f16::ZERO; rows * cols]),
                Precision::Byte => Values::Byte(vec![0; rows * cols]),
            },
            scale: vec![1.0; rows],
        }
    }

    /// No rows yet; those [`push`](Self::push)ed are stored in `precision`.
    pub fn empty(precision: Precision) -> Vectors {
        Vectors::zeros_in(0, 0, precision)
    }

    /// The rows of `m`, narrowed to half precision.
    pub fn from_matrix(m: &Matrix) -> Vectors {
        let mut v = Vectors::zeros(m.rows, m.cols);
        for i in 0..m.rows {
            v.set_row(i, m.row(i));
        }
        v
    }

    /// How the values are stored.
    pub fn precision(&self) -> Precision {
        match self.data {
            Values::Half(_) => Precision::Half,
            Values::Byte(_) => Precision::Byte,
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
        let end = (self.rows + 1) * self.cols;
        match &mut self.data {
            Values::Half(d) => d.resize(end, f16::ZERO),
            Values::Byte(d) => d.resize(end, 0),
        }
        self.scale.push(1.0);
        self.rows += 1;
        self.set_row(self.rows - 1, row);
    }

    /// Sets row `i` to `row`, narrowed.
    pub fn set_row(&mut self, i: usize, row: &[f32]) {
        let span = i * self.cols..(i + 1) * self.cols;
        self.scale[i] = match &mut self.data {
            Values::Half(d) => narrow_half(row, &mut d[span]),
            Values::Byte(d) => quantise(row, &mut d[span]),
        };
    }

    /// Row `i` as stored, widened into `out` (without its scale).
    fn widen(&self, i: usize, out: &mut [f32]) {
        let span = i * self.cols..(i + 1) * self.cols;
        match &self.data {
            Values::Half(d) => d[span].convert_to_f32_slice(out),
            Values::Byte(d) => {
                for (o, &c) in out.iter_mut().zip(&d[span]) {
                    *o = f32::from(c);
                }
            }
        }
    }

    /// Row `i` widened into `out` (of length [`cols`](Self::cols)), at unit length.
    pub fn row_into(&self, i: usize, out: &mut [f32]) {
        self.widen(i, out);
        let scale = self.scale[i];
        out.iter_mut().for_each(|v| *v *= scale);
    }

    /// Row `i` widened, at unit length.
    pub fn row(&self, i: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.cols];
        self.row_into(i, &mut out);
        out
    }

    /// Whether rows `a` and `b` are stored the same (copies of one vector are).
    pub fn same_rows(&self, a: usize, b: usize) -> bool {
        let (ra, rb) = (
            a * self.cols..(a + 1) * self.cols,
            b * self.cols..(b + 1) * self.cols,
        );
        match &self.data {
            Values::Half(d) => d[ra] == d[rb],
            Values::Byte(d) => d[ra] == d[rb],
        }
    }

    /// The dot product of row `i` (at unit length) with `q` (of length
    /// [`cols`](Self::cols)), widening [`LANE`] values at a time on the stack.
    pub fn dot(&self, i: usize, q: &[f32]) -> f32 {
        let mut buf = [0f32; LANE];
        let start = i * self.cols;
        let mut sum = 0f32;
        for (k, q) in q[..self.cols].chunks(LANE).enumerate() {
            let at = start + k * LANE;
            let wide = &mut buf[..q.len()];
            match &self.data {
                Values::Half(d) => d[at..at + q.len()].convert_to_f32_slice(wide),
                Values::Byte(d) => {
                    for (w, &c) in wide.iter_mut().zip(&d[at..at + q.len()]) {
                        *w = f32::from(c);
                    }
                }
            }
            sum += super::dot(wide, q);
        }
        sum * self.scale[i]
    }

    /// The dot product of rows `a` and `b` at unit length (their cosine similarity).
    pub fn dot_rows(&self, a: usize, b: usize) -> f32 {
        let d = self.cols;
        let sum = match &self.data {
            Values::Half(h) => {
                let (mut x, mut y) = ([0f32; LANE], [0f32; LANE]);
                h[a * d..(a + 1) * d]
                    .chunks(LANE)
                    .zip(h[b * d..(b + 1) * d].chunks(LANE))
                    .map(|(ha, hb)| {
                        let (wa, wb) = (&mut x[..ha.len()], &mut y[..hb.len()]);
                        ha.convert_to_f32_slice(wa);
                        hb.convert_to_f32_slice(wb);
                        super::dot(wa, wb)
                    })
                    .sum()
            }
            // Exact in i32: at most cols × 127² (2 × 10⁷ for 1280 values).
            Values::Byte(c) => c[a * d..(a + 1) * d]
                .iter()
                .zip(&c[b * d..(b + 1) * d])
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum::<i32>() as f32,
        };
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
        let (d, span) = (self.cols, from * self.cols..(from + 1) * self.cols);
        match &mut self.data {
            Values::Half(h) => h.copy_within(span, to * d),
            Values::Byte(c) => c.copy_within(span, to * d),
        }
        self.scale[to] = self.scale[from];
    }

    /// Keeps the first `rows` rows.
    pub fn truncate(&mut self, rows: usize) {
        self.rows = self.rows.min(rows);
        let len = self.rows * self.cols;
        match &mut self.data {
            Values::Half(h) => h.truncate(len),
            Values::Byte(c) => c.truncate(len),
        }
        self.scale.truncate(self.rows);
    }

    /// Bytes the values and their scales take.
    pub fn bytes(&self) -> usize {
        let values = match &self.data {
            Values::Half(h) => h.len() * 2,
            Values::Byte(c) => c.len(),
        };
        values + self.scale.len() * 4
    }
}

impl Rows for Vectors {
    fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    fn block(&self, first: usize, rows: usize) -> Cow<'_, [f32]> {
        let mut out = vec![0f32; rows * self.cols];
        for (k, row) in out.chunks_mut(self.cols.max(1)).enumerate() {
            self.row_into(first + k, row);
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 300 deterministic rows of 1280 at unit length, their values `shape`d from a spread
    /// over -0.5..0.5.
    fn unit_rows(shape: impl Fn(f32) -> f32) -> Matrix {
        let mut state = 7u64;
        let mut m = Matrix::from_fn(300, 1280, |_, _| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            shape((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
        });
        for i in 0..m.rows {
            let len = crate::collection::dot(m.row(i), m.row(i)).sqrt();
            m.row_mut(i).iter_mut().for_each(|v| *v /= len);
        }
        m
    }

    #[test]
    fn half_rows_keep_cosines_within_a_thousandth_and_products_match_f32() {
        let m = unit_rows(|x| x);
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

    #[test]
    fn byte_rows_keep_cosines_within_two_thousandths_in_a_quarter_of_the_room() {
        // Evenly spread values, and skewed ones (most near 0, a few large: as a network's
        // pooled activations are), whose large values set the codes' step.
        for m in [unit_rows(|x| x), unit_rows(|x| (x + 0.5).powi(6))] {
            let mut v = Vectors::zeros_in(m.rows, m.cols, Precision::Byte);
            for i in 0..m.rows {
                v.set_row(i, m.row(i));
            }
            assert_eq!(v.precision(), Precision::Byte);
            assert_eq!(v.bytes(), 300 * (1280 + 4));
            for i in [0, 7, 299] {
                assert!((v.dot_rows(i, i) - 1.0).abs() < 1e-6);
                assert!((v.dot(i, &v.row(i)) - 1.0).abs() < 1e-5);
            }
            let mut worst = 0f32;
            for a in 0..40 {
                for b in 200..240 {
                    let exact = crate::collection::dot(m.row(a), m.row(b));
                    worst = worst.max((v.dot_rows(a, b) - exact).abs());
                    worst = worst.max((v.dot(a, m.row(b)) - exact).abs());
                    assert!((v.dot_rows(a, b) - v.dot(a, &v.row(b))).abs() < 1e-5);
                }
            }
            assert!(worst < 2e-3, "{worst}");
            assert_eq!(v.select(&[3, 1]).row(1), &v.row(1)[..]);
            assert_eq!(v.to_matrix().row(5), &v.row(5)[..]);
            let mut grown = Vectors::empty(Precision::Byte);
            grown.push(m.row(4));
            grown.push(m.row(9));
            grown.push(m.row(4));
            assert_eq!(grown.row(1), v.row(9));
            assert!(grown.same_rows(0, 2) && !grown.same_rows(0, 1));
            grown.copy_row(1, 0);
            grown.truncate(1);
            assert_eq!((grown.rows(), grown.row(0)), (1, v.row(9)));
        }
        // A zero row stays zero, at scale 1.
        let mut z = Vectors::zeros_in(1, 4, Precision::Byte);
        z.set_row(0, &[0.0; 4]);
        assert_eq!(z.row(0), vec![0.0; 4]);
    }
}
