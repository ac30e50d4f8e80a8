//! CLIP-type models on the tiny random-weight export in fixtures/clip-tiny (made by
//! `models/export_clip.py --tiny --float16`, its reference vectors by `bench/clip_reference.py`):
//! both encoders under tract against torch, and `imgtui search` end to end.

use std::path::{Path, PathBuf};

use imgtui::features::l2_normalize;
use imgtui::{Extractor, OnnxModel};

use crate::common::*;

fn spec() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/clip-tiny/spec.toml")
}

/// torch's vectors for the drawn images and the texts (bench/clip_reference.py).
#[derive(serde::Deserialize)]
struct Reference {
    images: Vec<Vec<f32>>,
    texts: Vec<ReferenceText>,
}

#[derive(serde::Deserialize)]
struct ReferenceText {
    text: String,
    tokens: Vec<i64>,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("fixtures/clip-tiny/reference.json")).unwrap()
}

/// The formula of bench/clip_reference.py.
fn drawn(k: u32) -> image::RgbImage {
    image::RgbImage::from_fn(224, 224, |x, y| {
        image::Rgb(std::array::from_fn(|c| {
            ((x * (3 + k) + y * (5 + 2 * k) + 85 * c as u32 + 17 * k) % 256) as u8
        }))
    })
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn both_encoders_under_tract_match_torch() {
    let model = OnnxModel::from_spec_file(&spec()).unwrap();
    let want = reference();
    for (k, v) in want.images.iter().enumerate() {
        let got = model.extract(&drawn(k as u32)).unwrap();
        let d = largest_difference(&got, v);
        assert!(d <= 1e-4, "image {k}: largest difference {d:e}");
    }
    let text = model.text_encoder().unwrap().expect("the spec has [text]");
    assert_eq!(text.dim(), model.dim());
    for t in &want.texts {
        let got = text.embed(&t.text).unwrap();
        let d = largest_difference(&got, &t.embedding);
        assert!(d <= 1e-4, "{:?}: largest difference {d:e}", t.text);
    }
    // The ids open_clip gave, start and end included.
    let tok = imgtui::features::clip_tokenizer::ClipTokenizer::from_vocab_file(
        &spec().with_file_name("bpe_simple_vocab_16e6.txt.gz"),
    )
    .unwrap();
    for t in &want.texts {
        let mut ids = tok.tokenize(&t.text, 77);
        ids.truncate(t.tokens.len());
        assert_eq!(ids, t.tokens, "{:?}", t.text);
    }
}

/// Six drawn images of three kinds.
fn collection(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let images = [
        ("red.png", solid(96, 96, [220, 30, 30])),
        ("blue.png", solid(96, 96, [30, 40, 210])),
        (
            "stripes.png",
            stripes(96, 96, 8, true, [0, 0, 0], [255, 255, 255]),
        ),
        (
            "stripes2.png",
            stripes(96, 96, 12, false, [200, 200, 0], [0, 0, 90]),
        ),
        ("board.png", checkerboard(96, 96, 12)),
        ("noise.png", noise(96, 96, 7)),
    ];
    for (name, img) in images {
        img.save(dir.join(name)).unwrap();
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    l2_normalize(&mut a);
    l2_normalize(&mut b);
    a.iter().zip(&b).map(|(x, y)| x * y).sum()
}

#[test]
fn a_text_query_ranks_the_images_by_cosine_to_its_vector() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pics");
    collection(&dir);
    let store = tmp.path().join("store.sqlite");
    let spec = spec();
    let query = "blue and white stripes";
    let answer: imgtui::answers::Search = run_answer(
        &[
            "search".as_ref(),
            dir.as_os_str(),
            query.as_ref(),
            "--model".as_ref(),
            spec.as_os_str(),
            "--n".as_ref(),
            "4".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        &store,
    );
    assert_eq!(answer.results.len(), 4);
    assert_eq!(answer.query.len(), 1);
    assert_eq!(answer.query[0].text.as_deref(), Some(query));
    // The same ranking from the library: the text's vector against each image's.
    let model = OnnxModel::from_spec_file(&spec).unwrap();
    let text = model.text_encoder().unwrap().unwrap().embed(query).unwrap();
    let mut want: Vec<(f32, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let img = image::open(&path).unwrap();
            let rgb = imgtui::decode::resize_rgb_fit(
                &img,
                224,
                224,
                [255, 255, 255],
                imgtui::decode::Fit::Crop,
            );
            let v = model.extract(&rgb).unwrap();
            (cosine(&text, &v), name(&path).to_owned())
        })
        .collect();
    want.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (got, (score, file)) in answer.results.iter().zip(&want) {
        assert_eq!(name(&got.path), file, "{:?}", answer.results);
        assert!((got.score - score).abs() < 1e-3, "{} vs {score}", got.score);
    }
    // Text and image together: the image's own direction pulls it to the top.
    let red = dir.join("red.png");
    let answer: imgtui::answers::Search = run_answer(
        &[
            "search".as_ref(),
            dir.as_os_str(),
            "stripes".as_ref(),
            "-".as_ref(),
            "noise".as_ref(),
            "+".as_ref(),
            red.as_os_str(),
            "--model".as_ref(),
            spec.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        &store,
    );
    assert_eq!(answer.query.len(), 3);
    assert_eq!(answer.query[1].sign, '-');
    assert_eq!(answer.query[2].image.as_deref(), Some(red.as_path()));
    assert_eq!(answer.results.len(), 6);
    assert_eq!(name(&answer.results[0].path), "red.png");
    let scores: Vec<f32> = answer.results.iter().map(|r| r.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn a_search_that_cannot_run_says_why_in_one_line_and_indexes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pics");
    collection(&dir);
    let store = tmp.path().join("store.sqlite");
    let spec = spec();
    let search = |args: &[&std::ffi::OsStr]| {
        let mut all: Vec<&std::ffi::OsStr> = vec!["search".as_ref(), dir.as_os_str()];
        all.extend_from_slice(args);
        run(&all, &store)
    };
    let long = "stripes ".repeat(80);
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        // The built-in model has no text encoder: how to get one.
        (vec!["blue".as_ref()], "export_clip.py"),
        (
            vec!["".as_ref(), "--model".as_ref(), spec.as_os_str()],
            "the query is empty",
        ),
        (
            vec![long.as_ref(), "--model".as_ref(), spec.as_os_str()],
            "tokens long; this model reads at most 75",
        ),
        (
            vec![
                "red".as_ref(),
                "-".as_ref(),
                "red".as_ref(),
                "--model".as_ref(),
                spec.as_os_str(),
            ],
            "cancel out",
        ),
        (
            vec![
                "red".as_ref(),
                "blue".as_ref(),
                "--model".as_ref(),
                spec.as_os_str(),
            ],
            "quote words that belong together",
        ),
    ];
    for (args, says) in cases {
        let ran = search(&args);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    }
    // Only "cancel out" got as far as indexing (its words are fine): the tiny model's
    // vectors are there, the built-in model's are not.
    let summary = index_json(&dir, &store);
    assert_eq!(
        summary.embedded, 6,
        "nothing was indexed with the built-in model"
    );
}

#[test]
fn a_spec_with_a_broken_text_encoder_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pics");
    collection(&dir);
    let store = tmp.path().join("store.sqlite");
    let fixture = spec().parent().unwrap().to_owned();
    let text = std::fs::read_to_string(spec()).unwrap();
    let write = |name: &str, text: String| {
        let folder = tmp.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        for f in ["image.onnx", "text.onnx", "bpe_simple_vocab_16e6.txt.gz"] {
            std::fs::copy(fixture.join(f), folder.join(f)).unwrap();
        }
        std::fs::write(folder.join("spec.toml"), text).unwrap();
        folder.join("spec.toml")
    };
    let no_vocabulary = write(
        "novocab",
        text.replace("\"bpe_simple_vocab_16e6.txt.gz\"", "\"missing.txt.gz\""),
    );
    // The token embeddings, [1, 77, 32]: 2464 numbers against the image encoder's 32.
    let other_dim = write(
        "otherdim",
        text.replace(
            "[text]\nonnx = \"text.onnx\"\ninput = \"tokens\"\nembedding = \"embedding\"",
            "[text]\nonnx = \"text.onnx\"\ninput = \"tokens\"\nembedding = \"/Add_output_0\"",
        ),
    );
    assert_ne!(std::fs::read_to_string(&other_dim).unwrap(), text);
    for (spec, says) in [
        (&no_vocabulary, "missing.txt.gz: no such file"),
        (&other_dim, "must share one space"),
    ] {
        let ran = run(
            &[
                "search".as_ref(),
                dir.as_os_str(),
                "stripes".as_ref(),
                "--model".as_ref(),
                spec.as_os_str(),
            ],
            &store,
        );
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(ran.stderr.contains(says), "{}", ran.stderr);
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    }
}

#[test]
fn a_clip_model_without_a_classifier_names_clusters_by_visual_words() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pics");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let spec = spec();
    let answer: imgtui::answers::Clusters = run_answer(
        &[
            "cluster".as_ref(),
            dir.as_os_str(),
            "--k".as_ref(),
            "3".as_ref(),
            "--model".as_ref(),
            spec.as_os_str(),
        ],
        &store,
    );
    let words: Vec<&str> = include_str!("../../config/models/art-words.txt")
        .lines()
        .collect();
    assert_eq!(answer.clusters.len(), 3);
    for c in &answer.clusters {
        assert!(!c.classes.is_empty(), "{c:?}");
        for class in &c.classes {
            assert!(words.contains(&class.class.as_str()), "{class:?}");
        }
    }
}
