//! Property tests over hostile input: random and mutated image bytes through decode and
//! preprocessing, random and mutated text through the settings and model-spec parsers. None
//! may panic; errors are one line. Run longer with e.g. `PROPTEST_CASES=20000 cargo test
//! --release --test fuzz`.


use image::{DynamicImage, ImageFormat};
use imgtui::config::Config;
use imgtui::decode::{DecodeOptions, decode, resize_rgb};
use imgtui::features::spec::ModelSpec;
use imgtui::features::{Extractor, Pixels};
use proptest::prelude::*;

/// Small valid images in several formats: the seeds the mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    let img = DynamicImage::ImageRgb8(crate::common::disc(24, 16, [250, 180, 0], [20, 20, 90]));
    let alpha = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(9, 7, |x, y| {
        image::Rgba([x as u8 * 20, y as u8 * 30, 7, (x * y) as u8 * 5])
    }));
    let mut out = Vec::new();
    for (img, format) in [
        (&img, ImageFormat::Png),
        (&img, ImageFormat::Jpeg),
        (&img, ImageFormat::Gif),
        (&img, ImageFormat::Bmp),
        (&img, ImageFormat::Tiff),
        (&img, ImageFormat::WebP),
        (&alpha, ImageFormat::Png),
        (&alpha, ImageFormat::Qoi),
    ] {
        let mut bytes = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .unwrap();
        out.push(bytes);
    }
    out
}

/// Decodes and preprocesses as indexing does; must never panic.
fn decode_and_embed(bytes: &[u8]) {
    let opts = DecodeOptions {
        max_alloc: 64 << 20,
        ..Default::default()
    };
    if let Ok(img) = decode(bytes, &opts) {
        let (w, h) = Pixels.input_size();
        let rgb = resize_rgb(&img, w, h, opts.background);
        let v = Pixels.extract(&rgb).unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
    }
}

/// A mutation of `seed`: bytes overwritten, a cut, and bytes inserted.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    (
        0..seeds.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..16),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(which, flips, cut, insert, at)| {
            let mut bytes = seeds[which].clone();
            for (i, b) in flips {
                let i = i.index(bytes.len());
                bytes[i] = b;
            }
            let at = at.index(bytes.len());
            bytes.splice(at..at, insert);
            let keep = cut.index(bytes.len() + 1).max(bytes.len() / 4);
            bytes.truncate(keep);
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_and_embed(&bytes);
    }

    #[test]
    fn mutated_images_never_panic(bytes in mutated()) {
        decode_and_embed(&bytes);
    }

    #[test]
    fn settings_text_never_panics(text in "[a-z_\\[\\]=\"#. 0-9\n]{0,200}") {
        if let Err(e) = Config::parse(&text, "fuzz.toml") {
            prop_assert_eq!(format!("{e:#}").lines().count(), 1);
        }
    }

    #[test]
    fn mutated_settings_are_answered_in_one_line(
        cut in 0usize..4000,
        insert in "[a-z_=\"\\[\\]0-9. \n]{0,12}",
    ) {
        let default = include_str!("../../config/default.toml");
        let mut text = default.to_owned();
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &insert);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, &text).unwrap();
        if let Err(e) = Config::load(Some(&file)) {
            prop_assert_eq!(format!("{e:#}").lines().count(), 1, "{}", e);
        }
    }

    #[test]
    fn model_specs_never_panic(text in "[a-z_\\[\\]=\"#. 0-9,\n]{0,200}") {
        if let Err(e) = ModelSpec::parse(&text, "fuzz.toml") {
            prop_assert_eq!(format!("{e:#}").lines().count(), 1);
        }
    }
}
