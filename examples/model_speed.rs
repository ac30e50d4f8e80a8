//! Inference speed of an EfficientNet-Lite ONNX export under tract, images per second.
//!
//!     cargo run --release --example model_speed -- [MODEL.onnx] [IMAGES] [THREADS]
//!
//! Without MODEL it times the built-in model. Every thread shares one plan, as indexing does.

use std::borrow::Cow;
use std::time::Instant;

use image::RgbImage;
use imgtui::{Extractor, OnnxModel};
use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = match args.first().filter(|a| *a != "-") {
        Some(path) => OnnxModel::efficientnet_lite("custom", Cow::Owned(std::fs::read(path)?)),
        None => OnnxModel::builtin(),
    };
    let images: usize = args.get(1).map_or(Ok(64), |a| a.parse())?;
    let threads: usize = args.get(2).map_or(Ok(1), |a| a.parse())?;
    let img = RgbImage::from_fn(224, 224, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    });
    model.extract(&img)?; // build the plan
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    pool.install(|| {
        (0..images)
            .into_par_iter()
            .try_for_each(|_| model.extract(&img).map(drop))
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{images} images, {threads} threads: {:.1} ms/image, {:.1} images/s",
        secs * 1000.0 / images as f64,
        images as f64 / secs
    );
    // Which channels-last depthwise kernel tract ran (imgtui registers one for AVX2 + FMA).
    use tract_onnx::tract_core::tract_linalg::{isa, routines};
    let depthwise = routines::best_for(
        routines::Func::DepthwiseC,
        tract_onnx::prelude::DatumType::F32,
        &isa::native(),
    );
    println!(
        "depthwise kernel: {}",
        depthwise.map_or("tract's scalar loop", |r| r.name())
    );
    Ok(())
}
