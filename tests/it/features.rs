//! The classic descriptors (hog, pixels, color) beside the built-in model: each separates
//! the drawn families, is deterministic, and is stored apart from the others.

use crate::common::*;
use imgtui::Summary;
use imgtui::answers::{Clusters, Duplicates, Similar};

#[test]
fn hog_and_pixels_separate_the_families() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    for features in ["hog", "pixels"] {
        let answer: Clusters =
            run_answer(&["cluster", d, "--features", features, "--k", "3"], &store);
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
        let answer: Clusters =
            run_answer(&["cluster", d, "--features", features, "--k", "3"], &store);
        let mut by_cluster =
            std::collections::BTreeMap::<usize, std::collections::BTreeSet<String>>::new();
        for img in &answer.images {
            let name = name(&img.path);
            by_cluster
                .entry(img.cluster)
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
        run_answer::<Similar, _>(
            &[
                "similar",
                image.to_str().unwrap(),
                "--in",
                d,
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
        let first: Summary = run_versioned(&["index", d, "--json", "--features", features], &store);
        // `color` is the colour facet's descriptor under the same id: the first run, with
        // the model, made its vectors beside the model's.
        let own = if features == "color" { 0 } else { 15 };
        assert_eq!(first.embedded, own, "{features}: its own vectors");
        answers.push(nearest(features, &store));
    }
    // Each kind was embedded once: a second pass finds all of them cached.
    for features in kinds {
        let again: Summary = run_versioned(&["index", d, "--json", "--features", features], &store);
        assert_eq!(again.embedded, 0, "{features}");
        assert_eq!(again.cached, 15, "{features}");
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

/// Every number anywhere in `v` is finite: `serde_json` writes a NaN or an infinity as null,
/// so a null where a number belongs is one too. This reads the raw JSON on purpose: it checks
/// every number the answer has, whatever its field, and names the one that is not.
fn all_numbers_finite(v: &serde_json::Value, at: &str) -> Result<(), String> {
    match v {
        serde_json::Value::Number(n) if n.as_f64().is_none_or(|x| !x.is_finite()) => {
            Err(format!("{at}: {n}"))
        }
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| all_numbers_finite(x, &format!("{at}[{i}]"))),
        serde_json::Value::Object(o) => o.iter().try_for_each(|(k, x)| {
            if x.is_null() && ["distance", "x", "y", "explained_variance"].contains(&k.as_str()) {
                return Err(format!("{at}.{k} is null (a NaN)"));
            }
            all_numbers_finite(x, &format!("{at}.{k}"))
        }),
        _ => Ok(()),
    }
}

#[test]
fn flat_images_are_comparable_in_every_descriptor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    // Two blacks of different sizes, and white, grey, red (twice).
    for (name, w, h, rgb) in [
        ("flat-black-a.png", 96, 96, [0, 0, 0]),
        ("flat-black-b.png", 320, 240, [0, 0, 0]),
        ("flat-white.png", 96, 96, [255, 255, 255]),
        ("flat-grey.png", 80, 60, [128, 128, 128]),
        ("flat-red-a.png", 64, 64, [220, 20, 20]),
        ("flat-red-b.png", 100, 120, [220, 20, 20]),
    ] {
        solid(w, h, rgb).save(dir.join(name)).unwrap();
    }
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let flat = |p: &str| p.starts_with("flat-");
    for features in ["hog", "pixels", "color", "model:efficientnet-lite0"] {
        let indexed: Summary =
            run_versioned(&["index", d, "--json", "--features", features], &store);
        assert_eq!(indexed.skipped.len(), 0, "{features}: {indexed:?}");
        // Identical inputs at distance 0.
        let black = dir.join("flat-black-a.png");
        let near: Similar = run_answer(
            &[
                "similar",
                black.to_str().unwrap(),
                "--in",
                dir.to_str().unwrap(),
                "--n",
                "1",
                "--features",
                features,
            ],
            &store,
        );
        let first = &near.neighbours[0];
        assert_eq!(
            name(&first.path),
            "flat-black-b.png",
            "{features}: {near:?}"
        );
        assert!(first.distance < 1e-4, "{features}: {near:?}");
        // Flat images of one colour group together; the near-duplicate groups hold only flat
        // images (never a flat one with a textured one).
        let groups: Duplicates = run_answer(
            &["dups", d, "--threshold", "0.999", "--features", features],
            &store,
        );
        let groups: Vec<Vec<String>> = groups
            .groups
            .iter()
            .map(|g| g.paths.iter().map(|p| name(p).to_owned()).collect())
            .collect();
        for pair in [
            ["flat-black-a.png", "flat-black-b.png"],
            ["flat-red-a.png", "flat-red-b.png"],
        ] {
            assert!(
                groups
                    .iter()
                    .any(|g| pair.iter().all(|p| g.contains(&p.to_string()))),
                "{features}: {pair:?} not grouped in {groups:?}"
            );
        }
        for g in &groups {
            assert!(
                g.iter().all(|p| flat(p)) || g.iter().all(|p| !flat(p)),
                "{features}: {g:?}"
            );
            if features != "hog" {
                // Colour-aware: black is never a duplicate of white.
                assert!(
                    !(g.contains(&"flat-black-a.png".into())
                        && g.contains(&"flat-white.png".into())),
                    "{features}: {g:?}"
                );
            }
        }
        // Nothing downstream sees a NaN: the k sweep, silhouettes, the map, the distances.
        for k in ["auto", "4"] {
            let json = run_json(&["cluster", d, "--features", features, "--k", k], &store);
            let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
            all_numbers_finite(&raw, &format!("{features} k={k}")).unwrap();
            let answer: Clusters = parse_answer(&json);
            let flat_clusters: std::collections::BTreeSet<usize> = answer
                .images
                .iter()
                .filter(|i| name(&i.path).contains("flat-black"))
                .map(|i| i.cluster)
                .collect();
            assert_eq!(flat_clusters.len(), 1, "{features} k={k}: the blacks split");
        }
    }
}
