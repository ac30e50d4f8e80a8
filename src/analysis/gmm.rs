//! Gaussian mixture (linfa-clustering, full covariances, KMeans start) in the PCA space.

use linfa::prelude::*;
use linfa_clustering::{GaussianMixtureModel, GmmInitMethod};
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::collection::matrix::Matrix;

/// Component of each row under the most likely of `k` Gaussians.
///
/// Fails with a bad request when the mixture does not fit (linfa's EM), typically with a `k`
/// too large for the images.
pub fn gmm(x: &Matrix, k: usize, seed: u64) -> anyhow::Result<Vec<usize>> {
    let data =
        Array2::from_shape_vec((x.rows, x.cols), x.data.iter().map(|&v| v as f64).collect())?;
    let dataset = DatasetBase::from(data.clone());
    let model = GaussianMixtureModel::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
        .init_method(GmmInitMethod::KMeans)
        .n_runs(2)
        .reg_covariance(1e-4)
        .tolerance(1e-4)
        .max_n_iterations(200)
        .fit(&dataset)
        .map_err(|e| {
            crate::error::Error::bad_request(format_args!(
                "the Gaussian mixture did not fit with k = {k} ({e}); try a smaller --k"
            ))
        })?;
    Ok(model.predict(&data).to_vec())
}
