//! The classic descriptors (hog, pixels, color) beside the built-in model: each separates
//! the drawn families, is deterministic, and is stored apart from the others.

use crate::common::*;

#[test]
fn hog_and_pixels_separate_the_families() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    for features in ["hog", "pixels"] {
        let answer = run_json(&["cluster", d, "--features", features, "--k", "3"], &store);
        assert_eq!(partition(&answer), clean_split(), "{features}");
    }
}

/// Three shapes in three palettes, named `palette-shape-N.png`.
fn shapes_in_palettes(dir: &std::path::Path) {
    use image::{Rgb, RgbImage};
    std::fs::create_dir_all(dir).unwrap();
    let palettes = [
        ("red", [210, 40, 30], [90, 15, 10]),
        ("green", [40, 190, 50], [10, 70, 20]),
        ("blue", [40, 60, 210], [10, 20, 90]),
    ];
    for (name, light, dark) in palettes {
        for i in 0..3u32 {
            let disc = disc(90 + 10 * i, 90, light, dark);
            let stripes = stripes(100, 100, 5 + i, true, light, dark);
            let cell = 10 + 3 * i;
            let checker = RgbImage::from_fn(100, 100, |x, y| {
                Rgb(if (x / cell + y / cell) % 2 == 0 {
                    light
                } else {
                    dark
                })
            });
            for (shape, img) in [("disc", disc), ("stripes", stripes), ("checker", checker)] {
                img.save(dir.join(format!("{name}-{shape}-{i}.png")))
                    .unwrap();
            }
        }
    }
}

#[test]
fn color_groups_by_palette_and_hog_by_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    shapes_in_palettes(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let groups = |features: &str, part: usize| {
        let answer = run_json(&["cluster", d, "--features", features, "--k", "3"], &store);
        let mut by_cluster =
            std::collections::BTreeMap::<u64, std::collections::BTreeSet<String>>::new();
        for img in answer["images"].as_array().unwrap() {
            let name = img["path"].as_str().unwrap().rsplit('/').next().unwrap();
            by_cluster
                .entry(img["cluster"].as_u64().unwrap())
                .or_default()
                .insert(name.split('-').nth(part).unwrap().to_owned());
        }
        by_cluster.into_values().collect::<Vec<_>>()
    };
    let one_each = |groups: Vec<std::collections::BTreeSet<String>>| {
        groups.len() == 3 && groups.iter().all(|g| g.len() == 1)
    };
    let by_palette = groups("color", 0);
    assert!(one_each(by_palette.clone()), "color: {by_palette:?}");
    let by_shape = groups("hog", 1);
    assert!(one_each(by_shape.clone()), "hog: {by_shape:?}");
}

#[test]
fn descriptors_are_deterministic_and_stored_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let d = dir.to_str().unwrap();
    let store = tmp.path().join("store.sqlite");
    let nearest = |features: &str, store: &std::path::Path| {
        let image = dir.join("disc-0.png");
        run_json(
            &[
                "similar",
                image.to_str().unwrap(),
                "--n",
                "14",
                "--features",
                features,
            ],
            store,
        )
    };
    let kinds = ["model:efficientnet-lite0", "hog", "pixels", "color"];
    let mut answers = Vec::new();
    for features in kinds {
        let first = run_json(&["index", d, "--json", "--features", features], &store);
        assert_eq!(first["embedded"], 15, "{features}: its own vectors");
        answers.push(nearest(features, &store));
    }
    // Each kind was embedded once: a second pass finds all of them cached.
    for features in kinds {
        let again = run_json(&["index", d, "--json", "--features", features], &store);
        assert_eq!(again["embedded"], 0, "{features}");
        assert_eq!(again["cached"], 15, "{features}");
    }
    // Different descriptors rank differently; none borrowed another's vectors.
    for i in 0..kinds.len() {
        for j in i + 1..kinds.len() {
            assert_ne!(answers[i], answers[j], "{} vs {}", kinds[i], kinds[j]);
        }
    }
    // The same descriptor in a fresh store gives the very same distances.
    let fresh = tmp.path().join("fresh.sqlite");
    for (features, answer) in kinds.iter().zip(&answers) {
        assert_eq!(&nearest(features, &fresh), answer, "{features}");
    }
}

#[test]
fn unknown_features_are_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let out = imgtui()
        .args(["index", dir.to_str().unwrap(), "--features", "sift"])
        .arg("--store")
        .arg(tmp.path().join("store.sqlite"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown features \"sift\""), "{err}");
}
