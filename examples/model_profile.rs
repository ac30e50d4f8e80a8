//! Where a frame of an EfficientNet-Lite export goes under tract: milliseconds per operation
//! kind and for the 40 slowest nodes, one thread, planned as imgtui plans it (channels-last
//! convolutions, imgtui's kernels in tract's table).
//!
//!     python3 -c 'import sys; sys.path.insert(0, "bench"); from reference_index import float32_model; \
//!       open("/tmp/lite0-f32.onnx", "wb").write(float32_model("models/efficientnet_lite0.onnx"))'
//!     cargo run --release --example model_profile -- /tmp/lite0-f32.onnx [RUNS]
//!
//! The model must hold float32 weights (the built-in file stores them as float16, which imgtui
//! widens at load; the line above does the same with the `onnx` package).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tract_onnx::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .context("usage: model_profile MODEL_F32.onnx [RUNS]")?;
    let runs: usize = args.get(1).map_or(Ok(50), |a| a.parse())?;
    // Builds the built-in model once, which registers imgtui's kernels with tract.
    imgtui::Extractor::extract(
        &imgtui::OnnxModel::builtin(),
        &image::RgbImage::new(224, 224),
    )?;
    let shape = [1, 3, 224, 224];
    let mut model = tract_onnx::onnx().model_for_path(path)?;
    model.set_input_fact(0, f32::fact(shape).into())?;
    let mut typed = model.into_typed()?.into_decluttered()?;
    if let Some(nhwc) = tract_onnx::tract_core::transform::get_transform("conv_nhwc")? {
        nhwc.transform(&mut typed)?;
    }
    #[cfg(target_arch = "x86_64")]
    eprintln!(
        "{} convolutions run by imgtui",
        imgtui::features::own_convolutions(&mut typed)?
    );
    let plan = typed.into_optimized()?.into_runnable()?;
    let input: Tensor = tract_ndarray::Array4::<f32>::from_shape_fn(shape, |(_, c, y, x)| {
        ((x * 7 + y * 3 + c) % 255) as f32 / 127.5 - 1.0
    })
    .into();
    let mut times: HashMap<usize, Duration> = HashMap::new();
    let mut state = tract_onnx::tract_core::plan::SimpleState::new(&plan)?;
    // The first run warms up and is not counted.
    for run in 0..=runs {
        state.run_plan_with_eval(tvec!(input.clone().into()), |ctx, st, node, inputs| {
            let start = Instant::now();
            let out = tract_onnx::tract_core::plan::eval(ctx, st, node, inputs);
            if run > 0 {
                *times.entry(node.id).or_default() += start.elapsed();
            }
            out
        })?;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / runs as f64;
    let model = plan.model();
    println!("{:8.3} ms a frame", ms(times.values().sum()));
    let mut by_kind: HashMap<String, Duration> = HashMap::new();
    for (&id, &d) in &times {
        *by_kind
            .entry(model.node(id).op().name().to_string())
            .or_default() += d;
    }
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    for (kind, d) in kinds {
        println!("{:8.3} ms  {kind}", ms(d));
    }
    println!();
    let mut nodes: Vec<_> = times.into_iter().collect();
    nodes.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    for (id, d) in nodes.into_iter().take(40) {
        let node = model.node(id);
        let output = model
            .outlet_fact(OutletId::new(id, 0))
            .map(|f| format!("{:?}", f.shape))
            .unwrap_or_default();
        println!(
            "{:8.3} ms  {:32} {:24} -> {output}",
            ms(d),
            node.name,
            node.op().name()
        );
    }
    Ok(())
}
