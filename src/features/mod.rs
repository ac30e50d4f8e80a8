//! Feature extractors: an image in, a vector out.

mod descriptors;
mod onnx;

pub use descriptors::{Colour, Hog, Pixels};
pub use onnx::OnnxModel;

use image::RgbImage;

/// Turns a decoded, resized image into a feature vector.
///
/// Implementations are shared between worker threads, so `extract` takes `&self`.
pub trait Extractor: Send + Sync {
    /// Stable identifier of the extractor and its weights; vectors are stored under it.
    fn id(&self) -> &str;
    /// Short name for people, e.g. "efficientnet-lite0" or "hog".
    fn name(&self) -> &str {
        self.id()
    }
    /// Length of the vectors it produces.
    fn dim(&self) -> usize;
    /// The image size `extract` expects, width × height.
    fn input_size(&self) -> (u32, u32);
    /// The raw (not normalised) feature vector of one image of `input_size()`.
    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>>;
    /// Names of the classes a classifier head scores (empty when there is none).
    fn class_names(&self) -> &[String] {
        &[]
    }
    /// The classifier head's scores for a raw vector as `extract` returned it (or a mean
    /// of such vectors: the head is linear), one per class name.
    fn logits(&self, _embedding: &[f32]) -> anyhow::Result<Vec<f32>> {
        anyhow::bail!("this extractor has no classifier head")
    }
}

/// The names `select` knows, for help texts and errors.
pub const FEATURES: &str = "model:efficientnet-lite0, hog, pixels or color";

/// The extractor a `--features` value names: `model:efficientnet-lite0` (the built-in
/// network; `model:` may be left out), `hog`, `pixels` or `color`.
pub fn select(features: &str) -> anyhow::Result<Box<dyn Extractor>> {
    check(features)?;
    let name = features.strip_prefix("model:").unwrap_or(features);
    Ok(match name {
        "efficientnet-lite0" => Box::new(OnnxModel::builtin()),
        "hog" => Box::new(Hog),
        "pixels" => Box::new(Pixels),
        "color" | "colour" => Box::new(Colour),
        _ => unreachable!("checked"),
    })
}

/// Whether `select` knows `features`, without loading anything.
pub fn check(features: &str) -> anyhow::Result<()> {
    let name = features.strip_prefix("model:").unwrap_or(features);
    anyhow::ensure!(
        ["efficientnet-lite0", "hog", "pixels", "color", "colour"].contains(&name),
        "unknown features {features:?}: expected {FEATURES}"
    );
    Ok(())
}

/// Scales `v` to unit length in place and returns its original length.
pub fn l2_normalize(v: &mut [f32]) -> f32 {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}
