//! Feature extractors: an image in, a vector out.

#[cfg(target_arch = "x86_64")]
mod by_scalar;
#[cfg(target_arch = "x86_64")]
mod direct_conv;
#[cfg(target_arch = "x86_64")]
pub use direct_conv::own_convolutions;
pub mod clip_tokenizer;
#[cfg(target_arch = "x86_64")]
mod depthwise;
mod descriptors;
mod facet;
mod graph;
mod onnx;
#[cfg(feature = "ort")]
mod onnxruntime;
pub mod spec;
mod text;

pub use descriptors::{Colour, Hog, Pixels, Texture};
pub use facet::{FACETS, Facet, Space, facet_descriptors};
pub use onnx::OnnxModel;
pub use text::TextEncoder;

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
    /// How images are brought to `input_size`.
    fn fit(&self) -> crate::decode::Fit {
        crate::decode::Fit::Stretch
    }
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

    /// The text encoder that shares this extractor's space (a CLIP-type model's `[text]`),
    /// loaded on first call; `Ok(None)` when it has none.
    ///
    /// Fails when the spec's text encoder cannot be loaded or disagrees with the image
    /// encoder's dimension (see [`TextEncoder::load`]).
    fn text_encoder(&self) -> anyhow::Result<Option<&TextEncoder>> {
        Ok(None)
    }

    /// Whether [`Extractor::text_encoder`] would give one, without loading it.
    fn has_text_encoder(&self) -> bool {
        false
    }

    /// What runs it, for messages: "tract", or ONNX Runtime's version and device; `None` for
    /// the descriptors, which are plain code.
    fn runtime(&self) -> Option<String> {
        None
    }
}

/// What runs a neural model (`--runtime`, setting `runtime`).
///
/// Both give the same vectors (within 1e-4 per component on the built-in model), so they
/// share one feature id and one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runtime {
    /// tract, pure Rust, built in.
    #[default]
    Tract,
    /// ONNX Runtime from a `libonnxruntime` found at run time (cargo feature `ort`); CUDA
    /// when the library has it (`onnxruntime-gpu`) and a device answers.
    OnnxRuntime,
}

/// The values `--runtime` and the setting accept.
pub const RUNTIMES: [&str; 2] = ["tract", "onnxruntime"];

impl std::str::FromStr for Runtime {
    type Err = String;

    fn from_str(s: &str) -> Result<Runtime, String> {
        match s {
            "tract" => Ok(Runtime::Tract),
            "onnxruntime" | "ort" => Ok(Runtime::OnnxRuntime),
            _ => Err(format!(
                "unknown runtime {s:?}: expected tract or onnxruntime"
            )),
        }
    }
}

/// The names `select` knows, for help texts and errors.
pub const FEATURES: &str = "model:efficientnet-lite0, model:NAME|PATH.toml, hog, pixels or color";

/// The extractor a `--features` value names: `model:efficientnet-lite0` (the built-in
/// network; `model:` may be left out), `model:PATH.toml` or `model:NAME` (a model spec, NAME
/// looked up as `NAME.toml` in the user's `models` config folder), `hog`, `pixels` or `color`.
///
/// A model runs on `runtime`; the descriptors ignore it.
///
/// Fails with the names it knows for an unknown name, when a model spec cannot be read or
/// does not fit its graph, and when `runtime` cannot be used (see [`OnnxModel::on`]).
pub fn select(features: &str, runtime: Runtime) -> anyhow::Result<Box<dyn Extractor>> {
    Ok(match kind(features)? {
        Kind::Builtin => Box::new(OnnxModel::builtin().on(runtime)?),
        Kind::Hog => Box::new(Hog),
        Kind::Pixels => Box::new(Pixels),
        Kind::Colour => Box::new(Colour),
        Kind::Spec(path) => Box::new(OnnxModel::from_spec_file(&path)?.on(runtime)?),
    })
}

/// Whether `select` knows `features` (a spec file must exist), without loading anything.
///
/// Fails as [`select`] does for an unknown name or a spec file that does not exist.
pub fn check(features: &str) -> anyhow::Result<()> {
    kind(features).map(drop)
}

/// Where the user keeps model specs: `~/.config/imgtui/models` on Linux.
pub fn user_models_dir() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "imgtui").map(|d| d.config_dir().join("models"))
}

enum Kind {
    Builtin,
    Hog,
    Pixels,
    Colour,
    Spec(std::path::PathBuf),
}

fn kind(features: &str) -> anyhow::Result<Kind> {
    let model = features.strip_prefix("model:");
    let name = model.unwrap_or(features);
    Ok(match name {
        "efficientnet-lite0" => Kind::Builtin,
        "hog" if model.is_none() => Kind::Hog,
        "pixels" if model.is_none() => Kind::Pixels,
        "color" | "colour" if model.is_none() => Kind::Colour,
        _ if model.is_none() => {
            anyhow::bail!("unknown features {features:?}: expected {FEATURES}")
        }
        _ => {
            let path = if name.ends_with(".toml") || name.contains(std::path::MAIN_SEPARATOR) {
                std::path::PathBuf::from(name)
            } else {
                user_models_dir()
                    .map(|d| d.join(format!("{name}.toml")))
                    .unwrap_or_default()
            };
            anyhow::ensure!(
                path.is_file(),
                "no model spec {}: give a spec file's path, or put {name}.toml in {}",
                crate::text::shown(&path),
                crate::text::shown(&user_models_dir().unwrap_or_default())
            );
            Kind::Spec(path)
        }
    })
}

/// Scales `v` to unit length in place and returns its original length. Sums in f64, so a
/// vector of tiny (or huge) numbers is still scaled rather than left as it was; the zero
/// vector stays zero (length 0), and a non-finite one comes back with a non-finite length.
pub fn l2_normalize(v: &mut [f32]) -> f32 {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut()
            .for_each(|x| *x = (f64::from(*x) / norm) as f32);
    }
    norm as f32
}
