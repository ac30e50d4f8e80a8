//! A neural image model in ONNX, run on the CPU by tract.

use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, ensure};
use image::RgbImage;
use tract_onnx::prelude::*;

use super::graph::{Plan, plan};
#[cfg(feature = "ort")]
use super::graph::{cut_graph, widen_float16};
use super::spec::ModelSpec;
use super::text::TextEncoder;
use super::{Extractor, Runtime};
use crate::decode::Fit;

/// The built-in model: EfficientNet-Lite0, ImageNet weights (see `models/README.md`).
static EFFICIENTNET_LITE0: &[u8] = include_bytes!("../../models/efficientnet_lite0.onnx");

/// The built-in model's feature id: that of the float32 export with the built-in spec (the
/// blake3 of the file and the pixel recipe), kept when the weights were stored as float16
/// (see [`OnnxModel::builtin`]). Change it when the weights or the spec change the vectors.
pub const BUILTIN_ID: &str = "efficientnet-lite0-737180cf3bd2";

/// What the id of the built-in model would be from its float16 file and recipe; mapped to
/// [`BUILTIN_ID`].
const BUILTIN_FLOAT16_ID: &str = "efficientnet-lite0-68b125acbaa5";
/// How to run it: the spec `config/models/efficientnet-lite0.toml`.
static EFFICIENTNET_LITE0_SPEC: &str = include_str!("../../config/models/efficientnet-lite0.toml");
/// The 1000 ImageNet class names, in the order of the model's `logits` output.
static IMAGENET_CLASSES: &str = include_str!("../../models/imagenet_classes.txt");

/// The visual words a CLIP-type model (a spec with `[text]` and no `logits`) names clusters
/// with, zero-shot: colours, patterns and media, one a line (`config/models/art-words.txt`).
static ART_WORDS: &str = include_str!("../../config/models/art-words.txt");
/// Each word is scored as "a picture of WORD" (CLIP's zero-shot prompts, after Radford et al.
/// 2021, §3.1.4: a sentence scores better than a bare word).
const ZERO_SHOT_PROMPT: &str = "a picture of ";
/// CLIP's logit scale: the learned temperature, which training clamps at 100.
const CLIP_LOGIT_SCALE: f32 = 100.0;

/// An ONNX model described by a [`ModelSpec`], run by tract. One optimised plan is shared
/// by all worker threads; each `run` is single-threaded, so throughput comes from running
/// several at once.
pub struct OnnxModel {
    id: String,
    spec: ModelSpec,
    onnx: Cow<'static, [u8]>,
    /// Built on first use: a warm start that embeds nothing never pays for optimising.
    plan: OnceLock<Plan>,
    /// The classifier head alone (`embedding` → `logits`), for naming clusters.
    head: OnceLock<Plan>,
    /// The spec's text encoder, loaded on first use (search by words).
    text: OnceLock<TextEncoder>,
    /// The unit vectors of [`ART_WORDS`] in their prompts, for naming clusters zero-shot.
    words: OnceLock<Vec<Vec<f32>>>,
    classes: Vec<String>,
    /// Set by [`OnnxModel::on`] for ONNX Runtime; the embedding then runs there.
    #[cfg(feature = "ort")]
    ort: Option<super::onnxruntime::OrtModel>,
}

impl OnnxModel {
    /// The model compiled into the binary; needs no file and no network.
    ///
    /// Its feature id is [`BUILTIN_ID`], the id of the float32 export it was made from: the
    /// weights are now stored as float16 (widened at load), which moves the vectors by less
    /// than 1e-4 in cosine (1 − 3.6e-5 at worst over 180 images of three kinds), so the
    /// vectors in existing stores still answer for it and nothing is embedded again.
    pub fn builtin() -> OnnxModel {
        let spec = ModelSpec::parse(EFFICIENTNET_LITE0_SPEC, "the built-in model spec")
            .expect("the built-in spec parses");
        let classes = IMAGENET_CLASSES.lines().map(str::to_owned).collect();
        Self::new(spec, Cow::Borrowed(EFFICIENTNET_LITE0), classes)
    }

    /// The built-in model's graph with other weights: an EfficientNet-Lite export by
    /// `models/export_efficientnet_lite.py` (for timing other variants).
    pub fn efficientnet_lite(name: &str, onnx: Cow<'static, [u8]>) -> OnnxModel {
        let mut model = Self::builtin();
        model.spec.name = name.to_owned();
        Self::new(model.spec, onnx, model.classes)
    }

    /// The model a spec file describes, checked now: the ONNX file and class names are
    /// read, the declared input shape compared, and one blank image run through the graph,
    /// so a wrong input name, size or output fails here, before any indexing.
    pub fn from_spec_file(path: &Path) -> anyhow::Result<OnnxModel> {
        let spec = ModelSpec::read(path)?;
        let onnx = std::fs::read(&spec.onnx).with_context(|| {
            format!(
                "{}: onnx = {}",
                crate::text::shown(path),
                crate::text::shown(&spec.onnx)
            )
        })?;
        let classes = match &spec.classes {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| {
                    format!(
                        "{}: classes = {}",
                        crate::text::shown(path),
                        crate::text::shown(file)
                    )
                })?
                .lines()
                .map(str::to_owned)
                .collect(),
            // A CLIP-type model without a classifier names clusters by visual words.
            None if spec.text.is_some() && spec.logits.is_none() => {
                ART_WORDS.lines().map(str::to_owned).collect()
            }
            None => Vec::new(),
        };
        let model = Self::new(spec, Cow::Owned(onnx), classes);
        model
            .check()
            .with_context(|| format!("model spec {}", crate::text::shown(path)))?;
        Ok(model)
    }

    fn new(spec: ModelSpec, onnx: Cow<'static, [u8]>, classes: Vec<String>) -> OnnxModel {
        // The vectors depend on the weights and on how pixels are fed: both key them.
        let mut hasher = blake3::Hasher::new();
        hasher.update(&onnx);
        let recipe = format!(
            "{}|{}|{:?}|{:?}|{}|{:?}|{:?}|{}|{:?}",
            spec.input,
            spec.size,
            spec.layout,
            spec.channels,
            spec.range,
            spec.mean,
            spec.std,
            spec.embedding,
            spec.fit
        );
        hasher.update(recipe.as_bytes());
        let digest = hasher.finalize().to_hex();
        let mut id = format!("{}-{}", spec.name, &digest[..12]);
        // The built-in weights and recipe (also when a spec file names them): the id of the
        // float32 export they were stored from (see [`BUILTIN_ID`]).
        if id == BUILTIN_FLOAT16_ID {
            id = BUILTIN_ID.to_owned();
        }
        OnnxModel {
            id,
            spec,
            onnx,
            plan: OnceLock::new(),
            head: OnceLock::new(),
            text: OnceLock::new(),
            words: OnceLock::new(),
            classes,
            #[cfg(feature = "ort")]
            ort: None,
        }
    }

    /// The same model run by `runtime`. For ONNX Runtime the library is loaded and a session
    /// made now, so that a missing or too old library fails here, before any indexing. The
    /// feature id does not change: both runtimes give the same vectors (tests/it/model.rs).
    /// The classifier head that names clusters stays on tract (one small matrix product).
    ///
    /// Fails for ONNX Runtime in a build without the `ort` feature, when no ONNX Runtime
    /// library loads, or when it refuses the model.
    pub fn on(self, runtime: Runtime) -> anyhow::Result<OnnxModel> {
        match runtime {
            Runtime::Tract => Ok(self),
            #[cfg(feature = "ort")]
            Runtime::OnnxRuntime => {
                let onnx = for_onnxruntime(&self.onnx, &self.spec.input, &self.spec.embedding)?;
                let ort = super::onnxruntime::OrtModel::new(
                    onnx,
                    &self.spec.input,
                    &self.spec.embedding,
                )?;
                Ok(OnnxModel {
                    ort: Some(ort),
                    ..self
                })
            }
            #[cfg(not(feature = "ort"))]
            Runtime::OnnxRuntime => anyhow::bail!(
                "this imgtui was built without ONNX Runtime: build it with `--features ort` \
                 (docs/guide/models.md, \"ONNX Runtime, and a GPU\"), or use --runtime tract"
            ),
        }
    }

    /// Runs a blank image through the model (and its head) to prove the spec fits the graph,
    /// and checks that a text encoder's files exist (it is loaded when a search needs it).
    fn check(&self) -> anyhow::Result<()> {
        check_declared_input(&self.onnx, &self.spec)?;
        if let Some(text) = &self.spec.text {
            for (key, file) in [
                ("text.onnx", &text.onnx),
                ("text.vocabulary", &text.vocabulary),
            ] {
                ensure!(
                    file.is_file(),
                    "{key} = {}: no such file",
                    crate::text::shown(file)
                );
            }
        }
        let size = self.spec.size;
        let embedding = self.extract(&RgbImage::new(size, size))?;
        if let Some(logits) = &self.spec.logits {
            let scores = self
                .logits(&embedding)
                .with_context(|| format!("logits = {logits:?}"))?;
            ensure!(
                self.classes.is_empty() || self.classes.len() == scores.len(),
                "{} class names for {} logits",
                self.classes.len(),
                scores.len()
            );
        }
        Ok(())
    }

    /// The optimised plan, built on first call.
    fn runnable(&self) -> anyhow::Result<&Plan> {
        if let Some(plan) = self.plan.get() {
            return Ok(plan);
        }
        let fact = f32::fact(self.spec.input_shape());
        let plan = plan(&self.onnx, &self.spec.input, fact, &self.spec.embedding)?;
        Ok(self.plan.get_or_init(|| plan))
    }

    /// The classifier head, cut out of the same graph, built on first call.
    fn head(&self, dim: usize) -> anyhow::Result<&Plan> {
        if let Some(plan) = self.head.get() {
            return Ok(plan);
        }
        let logits = self
            .spec
            .logits
            .as_deref()
            .context("the spec names no logits")?;
        let plan = plan(
            &self.onnx,
            &self.spec.embedding,
            f32::fact([1, dim]),
            logits,
        )?;
        Ok(self.head.get_or_init(|| plan))
    }
}

/// The model as ONNX Runtime is given it: weights widened to float32, the graph cut at
/// `input` when that is an inner tensor, and `output` its only output, so ONNX Runtime computes
/// nothing else.
///
/// Fails when the bytes are not an ONNX model or the tensors are missing.
#[cfg(feature = "ort")]
fn for_onnxruntime(onnx: &[u8], input: &str, output: &str) -> anyhow::Result<Vec<u8>> {
    use prost::Message;
    use tract_onnx::pb::{TypeProto, ValueInfoProto, type_proto};
    let mut proto = tract_onnx::onnx()
        .proto_model_for_read(&mut std::io::Cursor::new(onnx))
        .context("reading the ONNX model")?;
    let graph = proto.graph.as_mut().context("the ONNX file has no graph")?;
    widen_float16(graph);
    if !graph.input.iter().any(|i| i.name == input) {
        cut_graph(graph, input, output)?;
    }
    let declared = graph.output.iter().find(|o| o.name == output).cloned();
    graph.output = vec![declared.unwrap_or_else(|| ValueInfoProto {
        name: output.to_owned(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1, // FLOAT
                shape: None,
            })),
            ..Default::default()
        }),
        ..Default::default()
    })];
    Ok(proto.encode_to_vec())
}

/// Compares the graph's declared input shape (where it gives numbers) with the spec's.
fn check_declared_input(onnx: &[u8], spec: &ModelSpec) -> anyhow::Result<()> {
    let proto = tract_onnx::onnx().proto_model_for_read(&mut std::io::Cursor::new(onnx))?;
    let graph = proto.graph.as_ref().context("the ONNX file has no graph")?;
    let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    let Some(input) = graph.input.iter().find(|i| i.name == spec.input) else {
        anyhow::bail!(
            "input = {:?}: the model's inputs are {inputs:?}",
            spec.input
        );
    };
    use tract_onnx::pb::type_proto::Value;
    let Some(Value::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Ok(());
    };
    let Some(shape) = &t.shape else {
        return Ok(());
    };
    let declared: Vec<Option<usize>> = shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(v)) if v > 0 => {
                Some(v as usize)
            }
            _ => None,
        })
        .collect();
    let wanted = spec.input_shape();
    let fits = declared.len() == 4
        && declared
            .iter()
            .zip(wanted)
            .skip(1)
            .all(|(d, w)| d.is_none_or(|d| d == w));
    let show: Vec<String> = declared
        .iter()
        .map(|d| d.map_or("?".into(), |d| d.to_string()))
        .collect();
    ensure!(
        fits,
        "the model's input {:?} is [{}], but size = {} and layout = {:?} make {:?}",
        spec.input,
        show.join(", "),
        spec.size,
        spec.layout,
        wanted
    );
    Ok(())
}

impl OnnxModel {
    /// See [`Extractor::logits`]: the zero-shot scores of the class names (the visual words).
    fn zero_shot(&self, embedding: &[f32]) -> anyhow::Result<Vec<f32>> {
        use rayon::prelude::*;
        let words = match self.words.get() {
            Some(words) => words,
            None => {
                let text = self
                    .text_encoder()?
                    .context("the spec has no text encoder")?;
                let words = self
                    .classes
                    .par_iter()
                    .map(|w| {
                        let mut v = text.embed(&format!("{ZERO_SHOT_PROMPT}{w}"))?;
                        super::l2_normalize(&mut v);
                        Ok(v)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                self.words.get_or_init(|| words)
            }
        };
        let mut e = embedding.to_vec();
        super::l2_normalize(&mut e);
        Ok(words
            .iter()
            .map(|w| CLIP_LOGIT_SCALE * w.iter().zip(&e).map(|(a, b)| a * b).sum::<f32>())
            .collect())
    }
}

impl Extractor for OnnxModel {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> &str {
        &self.spec.name
    }

    /// Length of the embedding (builds the plan to read it off the graph).
    fn dim(&self) -> usize {
        self.runnable()
            .ok()
            .and_then(|p| {
                p.model()
                    .output_fact(0)
                    .ok()?
                    .shape
                    .as_concrete()
                    .map(|s| s.iter().product())
            })
            .unwrap_or(0)
    }

    fn input_size(&self) -> (u32, u32) {
        (self.spec.size, self.spec.size)
    }

    fn fit(&self) -> Fit {
        self.spec.fit
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        let s = self.spec.size;
        ensure!(img.dimensions() == (s, s), "expected a {s}×{s} image");
        let data = self.spec.input_data(img.as_raw());
        #[cfg(feature = "ort")]
        if let Some(ort) = &self.ort {
            return ort.run(&self.spec.input_shape(), &data);
        }
        let input = Tensor::from_shape(&self.spec.input_shape(), &data)?;
        let outputs = self.runnable()?.run(tvec!(input.into()))?;
        let view = outputs[0].to_plain_array_view::<f32>()?;
        ensure!(!view.is_empty(), "the model gave an empty embedding");
        Ok(view.iter().copied().collect())
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn runtime(&self) -> Option<String> {
        #[cfg(feature = "ort")]
        if let Some(ort) = &self.ort {
            return Some(ort.describe());
        }
        Some("tract".to_owned())
    }

    fn has_text_encoder(&self) -> bool {
        self.spec.text.is_some()
    }

    fn text_encoder(&self) -> anyhow::Result<Option<&TextEncoder>> {
        let Some(spec) = &self.spec.text else {
            return Ok(None);
        };
        if let Some(text) = self.text.get() {
            return Ok(Some(text));
        }
        let text = TextEncoder::load(spec, self.dim())?;
        Ok(Some(self.text.get_or_init(|| text)))
    }

    /// With a classifier head, its logits. A CLIP-type model without one scores the visual
    /// words zero-shot: 100 × the cosine of the embedding with each word's text vector, as CLIP
    /// scores captions (the words are embedded on first call, on every core).
    fn logits(&self, embedding: &[f32]) -> anyhow::Result<Vec<f32>> {
        if self.spec.logits.is_none() && self.spec.text.is_some() {
            return self.zero_shot(embedding);
        }
        let input = Tensor::from_shape(&[1, embedding.len()], embedding)?;
        let outputs = self.head(embedding.len())?.run(tvec!(input.into()))?;
        Ok(outputs[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the CPU has AVX-512F, the built-in model's stem and its 1×1 convolutions (all but the first block's projection and the head)
    /// run as imgtui's own channels-last convolutions (their values: `direct_conv`'s tests and
    /// tests/it/model.rs against onnxruntime).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_stem_and_the_expansions_run_as_imgtuis_convolutions() {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F, tract runs every convolution");
            return;
        }
        let model = OnnxModel::builtin();
        let plan = model.runnable().unwrap();
        let owned = plan
            .model()
            .nodes()
            .iter()
            .filter(|n| n.op().name() == "imgtui.DirectConv")
            .count();
        assert_eq!(owned, 31);
    }
}
