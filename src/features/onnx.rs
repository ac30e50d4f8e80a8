//! A neural image model in ONNX, run on the CPU by tract.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, ensure};
use image::RgbImage;
use tract_onnx::prelude::*;

use super::Extractor;

/// The built-in model: EfficientNet-Lite0, ImageNet weights (see `models/README.md`).
static EFFICIENTNET_LITE0: &[u8] = include_bytes!("../../models/efficientnet_lite0.onnx");
/// The 1000 ImageNet class names, in the order of the model's `logits` output.
static IMAGENET_CLASSES: &str = include_str!("../../models/imagenet_classes.txt");

type Plan = Arc<TypedRunnableModel>;

/// An optimised tract plan plus how to feed it. One plan is shared by all worker threads;
/// each `run` is single-threaded, so throughput comes from running several at once.
pub struct OnnxModel {
    id: String,
    name: String,
    onnx: Cow<'static, [u8]>,
    /// Built on first use: a warm start that embeds nothing never pays for optimising.
    plan: OnceLock<Plan>,
    /// The classifier head alone (`embedding` → `logits`), for naming clusters.
    head: OnceLock<Plan>,
    size: u32,
    dim: usize,
    /// Per-channel `(x / 255 - mean) / std`, RGB order, NCHW layout.
    mean: [f32; 3],
    std: [f32; 3],
    classes: Vec<String>,
}

impl OnnxModel {
    /// The model compiled into the binary; needs no file and no network.
    pub fn builtin() -> OnnxModel {
        Self::efficientnet_lite("efficientnet-lite0", Cow::Borrowed(EFFICIENTNET_LITE0))
    }

    /// An EfficientNet-Lite export (see `models/export_efficientnet_lite.py`): 224×224 RGB input
    /// named `input`, scaled to -1..1, and a 1280-d output named `embedding`.
    pub fn efficientnet_lite(name: &str, onnx: Cow<'static, [u8]>) -> OnnxModel {
        let digest = blake3::hash(&onnx).to_hex();
        OnnxModel {
            id: format!("{name}-{}", &digest[..12]),
            name: name.to_owned(),
            onnx,
            plan: OnceLock::new(),
            head: OnceLock::new(),
            size: 224,
            dim: 1280,
            mean: [0.5; 3],
            std: [0.5; 3],
            classes: IMAGENET_CLASSES.lines().map(str::to_owned).collect(),
        }
    }

    /// The optimised plan, built on first call.
    fn runnable(&self) -> anyhow::Result<&Plan> {
        if let Some(plan) = self.plan.get() {
            return Ok(plan);
        }
        let fact = f32::fact([1, 3, self.size as usize, self.size as usize]);
        let plan = Self::plan(&self.onnx, "input", fact, "embedding")?;
        Ok(self.plan.get_or_init(|| plan))
    }

    /// The classifier head, cut out of the same graph, built on first call.
    fn head(&self) -> anyhow::Result<&Plan> {
        if let Some(plan) = self.head.get() {
            return Ok(plan);
        }
        let plan = Self::plan(&self.onnx, "embedding", f32::fact([1, self.dim]), "logits")?;
        Ok(self.head.get_or_init(|| plan))
    }

    /// The graph from tensor `input` (of shape `fact`) to tensor `output`, optimised.
    /// `input` may be any tensor: the graph is cut there, keeping only the nodes between.
    fn plan(onnx: &[u8], input: &str, fact: TypedFact, output: &str) -> anyhow::Result<Plan> {
        let onnx_fw = tract_onnx::onnx();
        let mut proto = onnx_fw
            .proto_model_for_read(&mut std::io::Cursor::new(onnx))
            .context("reading the ONNX model")?;
        let graph = proto.graph.as_mut().context("the ONNX file has no graph")?;
        let is_graph_input = graph.input.iter().any(|i| i.name == input);
        if !is_graph_input {
            cut_graph(graph, input, output)?;
        }
        let mut model = onnx_fw.model_for_proto_model(&proto)?;
        model
            .set_input_names([input])
            .with_context(|| format!("the model has no input named {input:?}"))?;
        model.set_input_fact(0, fact.into())?;
        model
            .select_outputs_by_name([output])
            .with_context(|| format!("the model has no output named {output:?}"))?;
        let plan = model.into_optimized()?.into_runnable()?;
        Ok(plan)
    }
}

/// Makes tensor `input` the graph's only input and keeps just the nodes that lead from it
/// (and from constants) to `output`.
fn cut_graph(
    graph: &mut tract_onnx::pb::GraphProto,
    input: &str,
    output: &str,
) -> anyhow::Result<()> {
    use std::collections::HashSet;
    let producer = |name: &str| {
        graph
            .node
            .iter()
            .position(|n| n.output.iter().any(|o| o == name))
    };
    anyhow::ensure!(
        producer(input).is_some(),
        "the model has no tensor named {input:?}"
    );
    anyhow::ensure!(
        producer(output).is_some(),
        "the model has no tensor named {output:?}"
    );
    let mut keep = HashSet::new();
    let mut todo = vec![output.to_owned()];
    while let Some(t) = todo.pop() {
        if t == input {
            continue;
        }
        if let Some(i) = producer(&t)
            && keep.insert(i)
        {
            todo.extend(
                graph.node[i]
                    .input
                    .iter()
                    .filter(|x| !x.is_empty())
                    .cloned(),
            );
        }
    }
    let nodes = std::mem::take(&mut graph.node);
    graph.node = nodes
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, n)| n)
        .collect();
    use tract_onnx::pb::{TypeProto, ValueInfoProto, type_proto};
    let float = type_proto::Value::TensorType(type_proto::Tensor {
        elem_type: 1, // FLOAT; the shape comes from the input fact.
        shape: None,
    });
    graph.input = vec![ValueInfoProto {
        name: input.to_owned(),
        r#type: Some(TypeProto {
            value: Some(float),
            ..Default::default()
        }),
        ..Default::default()
    }];
    Ok(())
}

impl Extractor for OnnxModel {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn input_size(&self) -> (u32, u32) {
        (self.size, self.size)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        let s = self.size as usize;
        ensure!(
            img.dimensions() == (self.size, self.size),
            "expected a {s}×{s} image"
        );
        let plane = s * s;
        let mut data = vec![0f32; 3 * plane];
        for (i, px) in img.pixels().enumerate() {
            for c in 0..3 {
                data[c * plane + i] = (px.0[c] as f32 / 255.0 - self.mean[c]) / self.std[c];
            }
        }
        let input = Tensor::from_shape(&[1, 3, s, s], &data)?;
        let outputs = self.runnable()?.run(tvec!(input.into()))?;
        let view = outputs[0].to_plain_array_view::<f32>()?;
        ensure!(
            view.len() == self.dim,
            "the model gave {} numbers, expected {}",
            view.len(),
            self.dim
        );
        Ok(view.iter().copied().collect())
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn logits(&self, embedding: &[f32]) -> anyhow::Result<Vec<f32>> {
        ensure!(embedding.len() == self.dim, "expected {} numbers", self.dim);
        let input = Tensor::from_shape(&[1, self.dim], embedding)?;
        let outputs = self.head()?.run(tvec!(input.into()))?;
        Ok(outputs[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect())
    }
}
