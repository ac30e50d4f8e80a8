//! Model specs: the built-in model is one, a spec describing it shares its vectors, and a spec
//! that does not fit its graph fails with a clear line before anything is indexed.

use std::path::{Path, PathBuf};

use crate::common::*;
use imgtui::Summary;

/// The built-in spec with its paths made absolute, then `edit` applied to its text.
fn spec_file(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(repo.join("config/models/efficientnet-lite0.toml"))
        .unwrap()
        .replace("../../models/", &format!("{}/models/", repo.display()));
    let path = dir.join("model.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

/// `imgtui index DIR --model SPEC`: exit code and stderr.
fn index_with(spec: &Path, images: &Path, store: &Path) -> (Option<i32>, String) {
    let args = [
        "index".as_ref(),
        "--json".as_ref(),
        "--model".as_ref(),
        spec.as_os_str(),
        images.as_os_str(),
    ];
    let ran = run(&args, store);
    (ran.code, ran.stderr)
}

#[test]
fn a_spec_of_the_builtin_model_shares_its_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    families(&images);
    let store = tmp.path().join("store.sqlite");
    let builtin = index_json(&images, &store);
    assert_eq!(builtin.embedded, 15);
    let spec = spec_file(tmp.path(), |t| t);
    let args: Vec<&std::ffi::OsStr> = vec![
        "index".as_ref(),
        "--json".as_ref(),
        "--model".as_ref(),
        spec.as_os_str(),
        images.as_os_str(),
    ];
    let from_spec: Summary = run_versioned(&args, &store);
    assert_eq!(from_spec.feature, builtin.feature);
    assert_eq!(
        from_spec.embedded, 0,
        "same weights, same recipe: same vectors"
    );
    // Another recipe (here: centre crop) is another feature set.
    let cropped = spec_file(tmp.path(), |t| {
        t.replace("fit = \"stretch\"", "fit = \"crop\"")
    });
    let args: Vec<&std::ffi::OsStr> = vec![
        "index".as_ref(),
        "--json".as_ref(),
        "--model".as_ref(),
        cropped.as_os_str(),
        images.as_os_str(),
    ];
    let other: Summary = run_versioned(&args, &store);
    assert_ne!(other.feature, builtin.feature);
    assert_eq!(other.embedded, 15);
}

#[test]
fn specs_that_do_not_fit_the_graph_fail_before_indexing() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    families(&images);
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "input = \"input\"",
            "input = \"pixels\"",
            "the model's inputs are [\"input\"]",
            "input name",
        ),
        ("size = 224", "size = 300", "size = 300", "size"),
        (
            "embedding = \"embedding\"",
            "embedding = \"pool5\"",
            "no output named \"pool5\"",
            "output",
        ),
        (
            "size = 224",
            "size = \"large\"",
            "line 11, key size",
            "TOML",
        ),
    ];
    for (from, to, expected, what) in cases {
        let spec = spec_file(tmp.path(), |t| t.replace(from, to));
        let store = tmp.path().join(format!("store-{what}.sqlite"));
        let (code, err) = index_with(&spec, &images, &store);
        assert_eq!(code, Some(2), "{what}: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(
            err.contains(expected) && err.contains("model.toml"),
            "{what}: {err}"
        );
        assert!(!store.exists(), "{what}: nothing indexed");
    }
    let missing = tmp.path().join("missing.toml");
    let (code, err) = index_with(&missing, &images, &tmp.path().join("s.sqlite"));
    assert_eq!(code, Some(2));
    assert!(err.contains("no model spec"), "{err}");
}
