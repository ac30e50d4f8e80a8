//! A CLIP-type export under tract: its vectors against torch's, and its speed.
//!
//!     cargo run --release --example clip_check -- DIR/spec.toml [IMAGES=16]
//!
//! DIR comes from `models/export_clip.py` and holds `reference.json` from
//! `bench/clip_reference.py` (torch's vectors of images drawn by formula and of a few texts).
//! Prints the largest difference per component of both encoders, then ms per image on 1 and 2
//! threads for this image encoder and for the built-in EfficientNet-Lite0, and ms per text.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use imgtui::{Extractor, OnnxModel};
use rayon::prelude::*;

/// The formula of `bench/clip_reference.py`.
fn drawn(k: u32, size: u32) -> RgbImage {
    RgbImage::from_fn(size, size, |x, y| {
        image::Rgb(std::array::from_fn(|c| {
            ((x * (3 + k) + y * (5 + 2 * k) + 85 * c as u32 + 17 * k) % 256) as u8
        }))
    })
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "vector lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Milliseconds per image over `n` images on `threads` threads sharing one plan.
fn speed(model: &dyn Extractor, n: usize, threads: usize) -> anyhow::Result<f64> {
    let (w, _) = model.input_size();
    let img = drawn(0, w);
    model.extract(&img)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let start = Instant::now();
    pool.install(|| {
        (0..n)
            .into_par_iter()
            .try_for_each(|_| model.extract(&img).map(drop))
    })?;
    Ok(start.elapsed().as_secs_f64() * 1000.0 / n as f64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = PathBuf::from(args.first().map_or("spec.toml", String::as_str));
    let n: usize = args.get(1).map_or(Ok(16), |a| a.parse())?;
    let start = Instant::now();
    let model = OnnxModel::from_spec_file(&spec)?;
    println!(
        "image encoder loaded and checked in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let text = model
        .text_encoder()?
        .ok_or_else(|| anyhow::anyhow!("the spec has no [text] encoder"))?;
    println!(
        "text encoder loaded in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        spec.with_file_name("reference.json"),
    )?)?;
    let (size, _) = model.input_size();
    let mut worst = 0f32;
    for (k, want) in reference["images"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let want: Vec<f32> = serde_json::from_value(want.clone())?;
        worst = worst.max(largest_difference(
            &model.extract(&drawn(k as u32, size))?,
            &want,
        ));
    }
    println!("image encoder: tract against torch, largest difference {worst:.2e}");
    let mut worst = 0f32;
    for t in reference["texts"].as_array().into_iter().flatten() {
        let want: Vec<f32> = serde_json::from_value(t["embedding"].clone())?;
        let got = text.embed(t["text"].as_str().unwrap_or_default())?;
        worst = worst.max(largest_difference(&got, &want));
    }
    println!("text encoder: tract against torch, largest difference {worst:.2e}");

    let start = Instant::now();
    for _ in 0..n {
        text.embed("a painting of blue waves with foam")?;
    }
    println!(
        "text encoder: {:.1} ms per text",
        start.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
    let builtin = OnnxModel::builtin();
    for threads in [1, 2] {
        println!(
            "{threads} thread(s): {} {:.1} ms/image, efficientnet-lite0 {:.1} ms/image",
            model.name(),
            speed(&model, n, threads)?,
            speed(&builtin, n.max(32), threads)?
        );
    }
    Ok(())
}
