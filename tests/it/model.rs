//! The built-in model, run by tract, against onnxruntime's answer for the same input.

use image::RgbImage;
use imgtui::features::l2_normalize;
use imgtui::{Extractor, OnnxModel};

/// onnxruntime's answer for [`synthetic`], as tests/fixtures/make_reference.py writes it.
#[derive(serde::Deserialize)]
struct Reference {
    /// The 1280 pooled features.
    embedding: Vec<f32>,
    /// The 1000 ImageNet logits.
    logits: Vec<f32>,
}

/// Reads a reference file's JSON.
fn reference(json: &str) -> Reference {
    serde_json::from_str(json).unwrap()
}

/// Same formula as tests/fixtures/make_reference.py.
fn synthetic() -> RgbImage {
    RgbImage::from_fn(224, 224, |x, y| {
        image::Rgb(std::array::from_fn(|c| {
            ((x * 7 + y * 13 + c as u32 * 61 + (x * y) / 17) % 256) as u8
        }))
    })
}

#[test]
fn tract_matches_onnxruntime() {
    let expected = reference(include_str!("fixtures/efficientnet_lite0_reference.json")).embedding;
    let model = OnnxModel::builtin();
    let got = model.extract(&synthetic()).unwrap();
    assert_eq!(got.len(), 1280);
    assert_eq!(model.dim(), 1280);
    let worst = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!("largest difference from onnxruntime: {worst:e}");
    assert!(worst < 1e-3, "largest difference from onnxruntime: {worst}");
}

#[test]
fn embedding_is_deterministic_and_normalisable() {
    let model = OnnxModel::builtin();
    let a = model.extract(&synthetic()).unwrap();
    let b = model.extract(&synthetic()).unwrap();
    assert_eq!(a, b);
    let mut v = a.clone();
    let norm = l2_normalize(&mut v);
    assert!(norm > 1.0);
    let len: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((len - 1.0).abs() < 1e-5);
}

#[test]
fn ships_the_imagenet_class_names() {
    let model = OnnxModel::builtin();
    assert_eq!(model.class_names().len(), 1000);
    assert_eq!(model.class_names()[285], "Egyptian cat");
    assert_eq!(model.class_names()[967], "espresso");
}

#[test]
fn classifier_head_cut_from_the_graph_matches_onnxruntime() {
    let reference = reference(include_str!("fixtures/efficientnet_lite0_reference.json"));
    let model = OnnxModel::builtin();
    let logits = model.logits(&reference.embedding).unwrap();
    let expected = reference.logits;
    assert_eq!(logits.len(), 1000);
    let worst = logits
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-3, "largest difference from onnxruntime: {worst}");
    let top = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    assert_eq!(top(&logits), top(&expected));
}

/// The built-in weights are stored as float16 and widened at load; the vectors stay within
/// 1e-3 in cosine of the float32 export's (onnxruntime's answer before the change).
#[test]
fn float16_weights_keep_the_float32_vectors() {
    let mut expected = reference(include_str!(
        "fixtures/efficientnet_lite0_float32_reference.json"
    ))
    .embedding;
    let mut got = OnnxModel::builtin().extract(&synthetic()).unwrap();
    l2_normalize(&mut expected);
    l2_normalize(&mut got);
    let cosine: f32 = got.iter().zip(&expected).map(|(a, b)| a * b).sum();
    eprintln!("cosine to the float32 model: {cosine}");
    assert!(cosine > 1.0 - 1e-3, "cosine {cosine}");
}

/// ONNX Runtime (`--runtime onnxruntime`, cargo feature `ort`) gives tract's vectors to 1e-4,
/// so both share one feature id. Runs where a libonnxruntime can be loaded (ORT_DYLIB_PATH, an
/// active virtual environment with `onnxruntime`, or the system's library path); elsewhere it
/// says why and passes.
#[cfg(feature = "ort")]
#[test]
fn onnxruntime_gives_tracts_vectors() {
    use imgtui::features::Runtime;
    let ort = match OnnxModel::builtin().on(Runtime::OnnxRuntime) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipped: no ONNX Runtime here ({e:#})");
            return;
        }
    };
    eprintln!("{}", ort.runtime().unwrap());
    let tract = OnnxModel::builtin();
    let mut noise = 0x2545_f491_u32;
    let images = [
        synthetic(),
        RgbImage::from_fn(224, 224, |x, y| image::Rgb([x as u8, y as u8, 128])),
        RgbImage::from_pixel(224, 224, image::Rgb([200, 30, 60])),
        RgbImage::from_fn(224, 224, |_, _| {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            image::Rgb([noise as u8, (noise >> 8) as u8, (noise >> 16) as u8])
        }),
    ];
    for (i, img) in images.iter().enumerate() {
        let (mut a, mut b) = (tract.extract(img).unwrap(), ort.extract(img).unwrap());
        assert_eq!(a.len(), b.len());
        l2_normalize(&mut a);
        l2_normalize(&mut b);
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        eprintln!("image {i}: largest difference of the unit vectors {worst:e}");
        assert!(worst <= 1e-4, "image {i}: {worst}");
    }
}

/// The int8 model that `models/quantize_int8.py` makes (not built in: see models/README.md)
/// stays near the float model: cosine ≥ 0.7 on every drawn image. Measured: 0.989 on the
/// textured and noise images, 0.88 on the gradient, 0.74–0.82 on flat-colour shapes (the
/// calibration saw pictures, not flat fills; on the Wesnoth sprites the median is 0.989).
/// Runs where the spec the script writes is named by `IMGTUI_INT8_SPEC`; elsewhere it says so
/// and passes.
#[test]
fn int8_model_stays_near_the_float_one() {
    let Some(spec) = std::env::var_os("IMGTUI_INT8_SPEC") else {
        eprintln!("skipped: IMGTUI_INT8_SPEC names no int8 model spec (models/quantize_int8.py)");
        return;
    };
    let int8 = OnnxModel::from_spec_file(std::path::Path::new(&spec)).unwrap();
    let float = OnnxModel::builtin();
    assert_ne!(
        int8.id(),
        float.id(),
        "the int8 vectors have their own feature id"
    );
    let mut noise = 0x9e37_79b9_u32;
    let mut next = move || {
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        noise
    };
    let disc = |cx: f32, cy: f32, r: f32, fg: [u8; 3], bg: [u8; 3]| {
        RgbImage::from_fn(224, 224, move |x, y| {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            image::Rgb(if d < r { fg } else { bg })
        })
    };
    let images = [
        synthetic(),
        RgbImage::from_fn(224, 224, |x, y| image::Rgb([x as u8, y as u8, 128])),
        disc(112.0, 112.0, 60.0, [220, 40, 40], [250, 250, 250]),
        disc(70.0, 150.0, 30.0, [20, 20, 160], [240, 220, 100]),
        RgbImage::from_fn(224, 224, |x, y| {
            let on = (x / 28 + y / 28) % 2 == 0;
            image::Rgb(if on { [0, 0, 0] } else { [255, 255, 255] })
        }),
        RgbImage::from_fn(224, 224, |_, _| {
            let v = next();
            image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
        }),
    ];
    for (i, img) in images.iter().enumerate() {
        let (mut a, mut b) = (float.extract(img).unwrap(), int8.extract(img).unwrap());
        l2_normalize(&mut a);
        l2_normalize(&mut b);
        let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        eprintln!("image {i}: cosine of the int8 vector to the float one {cosine:.4}");
        assert!(cosine >= 0.7, "image {i}: cosine {cosine}");
    }
}
