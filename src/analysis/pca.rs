//! Principal components by randomized SVD (Halko, Martinsson & Tropp 2011), on sgemm.
//!
//! At 10,000 × 1280 this takes a fraction of a second where linfa-reduction's LOBPCG PCA
//! took 2.6 s for 2 components and 7.9 s for 64 (BENCHMARKS.md). The data are never
//! copied or centred in place: the mean is subtracted inside the products.

use serde::{Deserialize, Serialize};

use crate::analysis::rng::Lcg;
use crate::collection::matrix::{Matrix, Rows, matmul, matmul_tn};

/// A fitted projection: `coords = (x − mean) · componentsᵀ`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pca {
    /// Mean of the fitted rows, length `d`.
    pub mean: Vec<f32>,
    /// `dims × d`, one unit-length principal axis per row, largest variance first.
    pub components: Matrix,
    /// Variance along each axis.
    pub variance: Vec<f32>,
}

/// Extra random directions beyond `dims`, and power iterations: the usual choices that
/// make the randomized result match an exact SVD to plotting and clustering precision.
const OVERSAMPLE: usize = 10;
const POWER_ITERATIONS: usize = 3;

impl Pca {
    /// Fits `dims` components to the rows of `x`; `seed` fixes the random start, so the same
    /// data give the same axes (signs are fixed too: each axis's largest loading is positive).
    pub fn fit(x: &(impl Rows + ?Sized), dims: usize, seed: u64) -> Pca {
        let (n, d) = x.shape();
        let mut sum = vec![0f64; d];
        x.for_each_block(|_, block| {
            for row in block.chunks_exact(d.max(1)) {
                for (m, &v) in sum.iter_mut().zip(row) {
                    *m += v as f64;
                }
            }
        });
        let mean: Vec<f32> = sum.iter().map(|m| (m / n.max(1) as f64) as f32).collect();
        let dims = dims.min(d).min(n.saturating_sub(1)).max(1);
        let r = (dims + OVERSAMPLE).min(d).min(n);

        // Y = Xc·Ω, orthonormalised, refined by power iterations.
        let mut rng = Lcg::new(seed);
        let omega = Matrix::from_fn(d, r, |_, _| rng.normal());
        let mut y = centred_times(x, &mean, &omega);
        orthonormalise(&mut y);
        for _ in 0..POWER_ITERATIONS {
            let mut z = centred_transpose_times(x, &mean, &y); // d × r
            orthonormalise(&mut z);
            y = centred_times(x, &mean, &z);
            orthonormalise(&mut y);
        }
        // B = Yᵀ·Xc (r × d); its SVD gives the axes: B·Bᵀ = U·S²·Uᵀ, axes = S⁻¹·Uᵀ·B.
        let b = centred_transpose_times(x, &mean, &y).transposed();
        let gram = matmul(&b, &b.transposed());
        let (values, vectors) = symmetric_eigen(&gram);
        let mut components = Matrix::zeros(dims, d);
        let mut variance = Vec::with_capacity(dims);
        for c in 0..dims {
            let s = values[c].max(0.0).sqrt();
            variance.push((values[c].max(0.0) / (n.max(2) - 1) as f64) as f32);
            let row = components.row_mut(c);
            for (j, out) in row.iter_mut().enumerate() {
                let mut acc = 0f64;
                for t in 0..r {
                    acc += vectors[t * r + c] * b.get(t, j) as f64;
                }
                *out = if s > 0.0 { (acc / s) as f32 } else { 0.0 };
            }
            let largest = row
                .iter()
                .copied()
                .fold(0f32, |a, v| if v.abs() > a.abs() { v } else { a });
            if largest < 0.0 {
                row.iter_mut().for_each(|v| *v = -*v);
            }
        }
        Pca {
            mean,
            components,
            variance,
        }
    }

    /// Number of output dimensions.
    pub fn dims(&self) -> usize {
        self.components.rows
    }

    /// Projects rows of `x` (same width as the fit) to `rows × dims` coordinates.
    pub fn project(&self, x: &(impl Rows + ?Sized)) -> Matrix {
        centred_times(x, &self.mean, &self.components.transposed())
    }

    /// Share of the fitted data's total variance the components keep, given that total.
    ///
    /// In 0..=1. A collection of (nearly) one vector, total variance under 1e-6 (unit vectors
    /// have at most 1), has nothing to lose: 1. Rounding in the two sums could otherwise give
    /// any ratio of two noises (2.4 for twelve copies of one picture).
    pub fn explained(&self, total_variance: f32) -> f32 {
        if total_variance.is_nan() || total_variance <= 1e-6 {
            return 1.0;
        }
        (self.variance.iter().sum::<f32>() / total_variance).clamp(0.0, 1.0)
    }
}

/// Total variance (sum over columns) of the rows of `x`.
pub fn total_variance(x: &(impl Rows + ?Sized)) -> f32 {
    let (rows, cols) = x.shape();
    let n = rows.max(2);
    let mut mean = vec![0f64; cols];
    let mut sq = 0f64;
    x.for_each_block(|_, block| {
        for row in block.chunks_exact(cols.max(1)) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
                sq += (v as f64) * (v as f64);
            }
        }
    });
    let mean_sq: f64 = mean.iter().map(|m| (m / n as f64).powi(2)).sum::<f64>() * rows as f64;
    ((sq - mean_sq) / (n - 1) as f64) as f32
}

/// (X − 1·meanᵀ)·M without forming the centred X.
fn centred_times(x: &(impl Rows + ?Sized), mean: &[f32], m: &Matrix) -> Matrix {
    let mut out = matmul(x, m);
    let shift = matmul(&Matrix::from_vec(1, mean.len(), mean.to_vec()), m);
    for i in 0..out.rows {
        for (o, s) in out.row_mut(i).iter_mut().zip(&shift.data) {
            *o -= s;
        }
    }
    out
}

/// (X − 1·meanᵀ)ᵀ·Y without forming the centred X.
fn centred_transpose_times(x: &(impl Rows + ?Sized), mean: &[f32], y: &Matrix) -> Matrix {
    let mut out = matmul_tn(x, y);
    let mut col_sums = vec![0f32; y.cols];
    for i in 0..y.rows {
        for (s, v) in col_sums.iter_mut().zip(y.row(i)) {
            *s += v;
        }
    }
    for (j, &m) in mean.iter().enumerate() {
        for (o, s) in out.row_mut(j).iter_mut().zip(&col_sums) {
            *o -= m * s;
        }
    }
    out
}

/// Orthonormalises the columns of `a` in place (modified Gram–Schmidt, in f64, twice for
/// stability). A column that vanishes is left at zero.
fn orthonormalise(a: &mut Matrix) {
    let (n, r) = (a.rows, a.cols);
    let mut cols: Vec<Vec<f64>> = (0..r)
        .map(|j| (0..n).map(|i| a.get(i, j) as f64).collect())
        .collect();
    for _ in 0..2 {
        for j in 0..r {
            for p in 0..j {
                let dot: f64 = cols[j].iter().zip(&cols[p]).map(|(x, y)| x * y).sum();
                let (head, tail) = cols.split_at_mut(j);
                for (x, y) in tail[0].iter_mut().zip(&head[p]) {
                    *x -= dot * y;
                }
            }
            let norm = cols[j].iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = if norm > 1e-12 { 1.0 / norm } else { 0.0 };
            cols[j].iter_mut().for_each(|x| *x *= scale);
        }
    }
    for (j, col) in cols.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            a.set(i, j, *v as f32);
        }
    }
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations.
/// Returns eigenvalues in descending order and the eigenvectors as the columns of a
/// row-major `r × r` array, in the same order.
fn symmetric_eigen(m: &Matrix) -> (Vec<f64>, Vec<f64>) {
    let r = m.rows;
    let mut a: Vec<f64> = m.data.iter().map(|&v| v as f64).collect();
    let mut v = vec![0f64; r * r];
    for i in 0..r {
        v[i * r + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..r)
            .flat_map(|i| (0..r).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * r + j] * a[i * r + j])
            .sum();
        let scale: f64 = (0..r).map(|i| a[i * r + i] * a[i * r + i]).sum();
        if off <= 1e-24 * scale.max(1e-300) {
            break;
        }
        for p in 0..r {
            for q in p + 1..r {
                let apq = a[p * r + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * r + q] - a[p * r + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..r {
                    let (akp, akq) = (a[k * r + p], a[k * r + q]);
                    a[k * r + p] = c * akp - s * akq;
                    a[k * r + q] = s * akp + c * akq;
                }
                for k in 0..r {
                    let (apk, aqk) = (a[p * r + k], a[q * r + k]);
                    a[p * r + k] = c * apk - s * aqk;
                    a[q * r + k] = s * apk + c * aqk;
                }
                for k in 0..r {
                    let (vkp, vkq) = (v[k * r + p], v[k * r + q]);
                    v[k * r + p] = c * vkp - s * vkq;
                    v[k * r + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..r).collect();
    order.sort_by(|&i, &j| a[j * r + j].total_cmp(&a[i * r + i]));
    let values = order.iter().map(|&i| a[i * r + i]).collect();
    let mut vectors = vec![0f64; r * r];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..r {
            vectors[k * r + new] = v[k * r + old];
        }
    }
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_an_elongated_cloud() {
        // Points along (3, 4, 0)/5 with small noise in the other directions.
        let mut rng = Lcg::new(1);
        let x = Matrix::from_fn(500, 3, |_, _| 0.0);
        let mut x = x;
        for i in 0..500 {
            let t = rng.normal() * 10.0;
            let row = [
                0.6 * t + 0.1 * rng.normal(),
                0.8 * t + 0.1 * rng.normal(),
                0.1 * rng.normal() + 5.0,
            ];
            x.row_mut(i).copy_from_slice(&row);
        }
        let pca = Pca::fit(&x, 2, 7);
        let axis = pca.components.row(0);
        assert!(
            (axis[0] - 0.6).abs() < 0.01 && (axis[1] - 0.8).abs() < 0.01,
            "{axis:?}"
        );
        assert!((pca.mean[2] - 5.0).abs() < 0.05);
        let kept = pca.explained(total_variance(&x));
        assert!(kept > 0.99 && kept <= 1.0001, "{kept}");
        let again = Pca::fit(&x, 2, 7);
        assert_eq!(pca.components.data, again.components.data);
    }

    #[test]
    fn jacobi_matches_a_known_decomposition() {
        let m = Matrix::from_vec(2, 2, vec![2.0, 1.0, 1.0, 2.0]);
        let (values, vectors) = symmetric_eigen(&m);
        assert!((values[0] - 3.0).abs() < 1e-9 && (values[1] - 1.0).abs() < 1e-9);
        assert!((vectors[0].abs() - 0.5f64.sqrt()).abs() < 1e-9);
    }
}
