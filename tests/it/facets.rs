//! Facets: `--facet colour|texture` on a folder where colour and pattern disagree, the
//! facets' vectors under their own feature ids, and a store indexed without them.

use std::path::Path;

use crate::common::{disc, run, stripes};

/// Stripes and discs, each in red and in blue on white: by colour a red image's nearest is
/// the other red one, by texture it is the stripes (or disc) of the other colour.
fn stripes_and_discs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let (red, blue, white) = ([210, 30, 30], [30, 40, 200], [255, 255, 255]);
    stripes(96, 96, 8, true, red, white)
        .save(dir.join("red-stripes.png"))
        .unwrap();
    stripes(96, 96, 8, true, blue, white)
        .save(dir.join("blue-stripes.png"))
        .unwrap();
    disc(96, 96, red, white)
        .save(dir.join("red-disc.png"))
        .unwrap();
    disc(96, 96, blue, white)
        .save(dir.join("blue-disc.png"))
        .unwrap();
}

/// `imgtui neighbours DIR --n 1` under `facet`: each image's nearest, by file name.
fn nearest(dir: &Path, store: &Path, facet: &str) -> Vec<(String, String)> {
    let dir = dir.to_str().unwrap();
    let args = ["--features", "pixels", "neighbours", dir, "--n", "1"];
    let ran = run(
        &[&args[..], &["--facet", facet, "--format", "csv"]].concat(),
        store,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    ran.stdout
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (name(cols[0]), name(cols[2]))
        })
        .collect()
}

#[test]
fn the_facet_switch_changes_the_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    stripes_and_discs(&dir);
    let store = tmp.path().join("store.sqlite");
    let colour = nearest(&dir, &store, "colour");
    let texture = nearest(&dir, &store, "texture");
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert!(
        colour.contains(&pair("red-stripes.png", "red-disc.png")),
        "{colour:?}"
    );
    assert!(
        colour.contains(&pair("blue-disc.png", "blue-stripes.png")),
        "{colour:?}"
    );
    assert!(
        texture.contains(&pair("red-stripes.png", "blue-stripes.png")),
        "{texture:?}"
    );
    assert!(
        texture.contains(&pair("blue-disc.png", "red-disc.png")),
        "{texture:?}"
    );
    // A blend lies between: its distances are the weighted mean of the facets'.
    let blend = nearest(&dir, &store, "colour:0.5,texture:0.5");
    assert_eq!(blend.len(), 4, "{blend:?}");
    // Each facet's vectors have their own feature id beside the extractor's.
    let db = imgtui::Store::open(&store).unwrap();
    for feature in [
        "pixels-v2/bgffffff",
        "color-v1/bgffffff",
        "texture-v1/bgffffff",
    ] {
        assert_eq!(db.vector_count(feature).unwrap(), 4, "{feature}");
    }
}

#[test]
fn a_facet_missing_from_the_store_is_one_line_and_exit_2_until_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    stripes_and_discs(&dir);
    let store = tmp.path().join("store.sqlite");
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "[index]\nfacets = false\n").unwrap();
    let d = dir.to_str().unwrap();
    let without = [
        "--config",
        config.to_str().unwrap(),
        "--features",
        "pixels",
        "neighbours",
        d,
        "--facet",
        "colour",
    ];
    let ran = run(&without, &store);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("have no colour vectors"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty());
    // An unknown facet is refused the same way.
    let ran = run(
        &["--features", "pixels", "neighbours", d, "--facet", "shape"],
        &store,
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("unknown facet \"shape\""),
        "{}",
        ran.stderr
    );
    // The next index with facets on makes them, without embedding anything again.
    let ran = run(&["--features", "pixels", "index", d, "--json"], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("\"embedded\":0"), "{}", ran.stdout);
    assert_eq!(nearest(&dir, &store, "colour").len(), 4);
}
