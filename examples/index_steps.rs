//! What each step of indexing one image costs, on one thread, as `imgtui index` does them:
//! decoding (at least the model's and the thumbnail's size), the embedding (resize and the
//! built-in model), the thumbnail (make and encode) and the pixel signature. Prints the mean
//! milliseconds per image of each step and the signature's share of the whole.
//!
//!     cargo run --release --example index_steps -- DIR [N]
//!
//! DIR is a folder of images (the first N files by name, 200 by default; files that do not
//! decode are skipped).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use imgtui::Extractor as _;
use imgtui::decode::{self, DecodeOptions, signature, thumbnail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().context("usage: index_steps DIR [N]")?;
    let n: usize = args.get(1).map_or(Ok(200), |a| a.parse())?;
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.truncate(n);
    let model = imgtui::OnnxModel::builtin();
    let opts = DecodeOptions::default();
    let (w, h) = model.input_size();
    let at_least = (
        w.max(thumbnail::THUMBNAIL_SIZE),
        h.max(thumbnail::THUMBNAIL_SIZE),
    );
    // One image first, so the model's one-time setup is not counted.
    model.extract(&image::RgbImage::new(w, h))?;
    let mut spent = [Duration::ZERO; 4];
    let mut images = 0;
    for path in &files {
        let bytes = std::fs::read(path)?;
        let t = Instant::now();
        let Ok(img) = decode::decode_at_least(&bytes, &opts, at_least) else {
            continue;
        };
        spent[0] += t.elapsed();
        let t = Instant::now();
        let rgb = decode::resize_rgb_fit(&img, w, h, opts.background, model.fit());
        std::hint::black_box(model.extract(&rgb)?);
        spent[1] += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(thumbnail::encode_thumbnail(&thumbnail::make_thumbnail(
            &img,
        )));
        spent[2] += t.elapsed();
        let t = Instant::now();
        std::hint::black_box(signature::signature(&img, opts.background));
        spent[3] += t.elapsed();
        images += 1;
    }
    anyhow::ensure!(images > 0, "no image in {dir} decoded");
    let ms = |d: Duration| d.as_secs_f64() * 1e3 / images as f64;
    let total: Duration = spent.iter().sum();
    println!("{images} images from {dir}, one thread, ms per image:");
    for (step, d) in ["decode", "embedding", "thumbnail", "signature"]
        .iter()
        .zip(spent)
    {
        println!("  {step:<10} {:>8.2}", ms(d));
    }
    println!(
        "  {:<10} {:>8.2}   signature share {:.1} %",
        "all",
        ms(total),
        100.0 * spent[3].as_secs_f64() / total.as_secs_f64()
    );
    Ok(())
}
