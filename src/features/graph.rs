//! An ONNX graph made ready for tract: float16 weights widened, the graph cut at an inner
//! tensor when asked, optimised into a plan that threads share. Used by the image models
//! ([`super::onnx`]) and the text encoders ([`super::text`]).

use std::sync::Arc;

use anyhow::Context;
use tract_onnx::prelude::*;

/// An optimised tract plan, shared by threads.
pub(super) type Plan = Arc<TypedRunnableModel>;

/// The graph from tensor `input` (of shape `fact`) to tensor `output`, optimised.
/// `input` may be any tensor: the graph is cut there, keeping only the nodes between.
pub(super) fn plan(
    onnx: &[u8],
    input: &str,
    fact: TypedFact,
    output: &str,
) -> anyhow::Result<Plan> {
    let onnx_fw = tract_onnx::onnx();
    let mut proto = onnx_fw
        .proto_model_for_read(&mut std::io::Cursor::new(onnx))
        .context("reading the ONNX model")?;
    let graph = proto.graph.as_mut().context("the ONNX file has no graph")?;
    widen_float16(graph);
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
    // Depthwise convolutions run about 2.5× faster with channels last (EfficientNet-Lite0:
    // 21.6 → 8.3 ms of a 46 ms frame); the moves between layers cancel out when decluttered.
    let mut typed = model.into_typed()?.into_decluttered()?;
    if let Some(nhwc) = tract_onnx::tract_core::transform::get_transform("conv_nhwc")? {
        nhwc.transform(&mut typed)?;
    }
    #[cfg(target_arch = "x86_64")]
    super::direct_conv::own_convolutions(&mut typed)?;
    let plan = typed.into_optimized()?.into_runnable()?;
    Ok(plan)
}

/// Widens the weights stored as float16 (ONNX data type 10) to float32 (1), in place, so that
/// a graph written for float32 runs on them. The built-in model is stored this way (half the
/// bytes: a crate must stay under 10 MB); its vectors stay within 1e-3 cosine of the float32
/// model's (tests/it/model.rs).
pub(super) fn widen_float16(graph: &mut tract_onnx::pb::GraphProto) {
    const FLOAT: i32 = 1;
    const FLOAT16: i32 = 10;
    for t in graph
        .initializer
        .iter_mut()
        .filter(|t| t.data_type == FLOAT16)
    {
        let halves: Vec<u16> = if t.raw_data.is_empty() {
            // Without raw data, float16 values sit in int32_data, one per element.
            t.int32_data.iter().map(|&v| v as u16).collect()
        } else {
            t.raw_data
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect()
        };
        t.raw_data = halves
            .into_iter()
            .flat_map(|h| {
                tract_onnx::prelude::f16::from_bits(h)
                    .to_f32()
                    .to_le_bytes()
            })
            .collect();
        t.int32_data.clear();
        t.data_type = FLOAT;
    }
}

/// Makes tensor `input` the graph's only input and keeps just the nodes that lead from it
/// (and from constants) to `output`.
pub(super) fn cut_graph(
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
