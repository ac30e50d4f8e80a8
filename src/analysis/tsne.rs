//! t-SNE for the 2-D map (linfa-tsne, Barnes–Hut), run on the PCA coordinates as is usual:
//! the PCA removes noise and makes the neighbour search cheap.

use linfa::traits::Transformer;
use linfa_tsne::TSneParams;
use ndarray::Array2;

use crate::collection::matrix::Matrix;

/// 2-D positions of the rows of `x`. Seeded inside linfa-tsne, so repeatable.
///
/// Fails with a bad request for fewer than 4 images, and when t-SNE fails.
pub fn tsne(x: &Matrix) -> anyhow::Result<Vec<[f32; 2]>> {
    let n = x.rows;
    crate::error::ensure_request!(n >= 4, "t-SNE needs at least 4 images");
    // Perplexity 30, or less for small collections (it must stay below (n − 1) / 3).
    let perplexity = 30f64.min((n as f64 - 1.0) / 3.0 - 0.5).max(1.0);
    let data = Array2::from_shape_vec((n, x.cols), x.data.iter().map(|&v| v as f64).collect())?;
    let out = TSneParams::embedding_size(2)
        .perplexity(perplexity)
        .approx_threshold(0.5)
        .max_iter(1000)
        .transform(data)
        .map_err(|e| anyhow::anyhow!("t-SNE failed: {e}"))?;
    Ok(out
        .rows()
        .into_iter()
        .map(|r| [r[0] as f32, r[1] as f32])
        .collect())
}
