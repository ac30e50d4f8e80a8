//! Settings: defaults < the user's file (or --config) < flags, `imgtui config` shows where each
//! value came from, and a bad file stops the program with one line naming file, line and key.

use crate::common::*;
use imgtui::answers::Clusters;

fn run(args: &[&str], store: &std::path::Path, home: &std::path::Path) -> std::process::Output {
    imgtui()
        .args(args)
        .arg("--store")
        .arg(store)
        .env("XDG_CONFIG_HOME", home)
        .output()
        .unwrap()
}

/// The clustering a successful `imgtui cluster` run wrote.
fn json(out: std::process::Output) -> Clusters {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_answer(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn flags_beat_the_user_file_which_beats_the_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let d = dir.to_str().unwrap();
    let store = tmp.path().join("store.sqlite");
    let home = tmp.path().join("xdg");
    std::fs::create_dir_all(home.join("imgtui")).unwrap();
    std::fs::write(
        home.join("imgtui/config.toml"),
        "# mine\nfeatures = \"hog\"\n\n[cluster]\nk = \"4\"\n",
    )
    .unwrap();
    // The user's file (found through XDG_CONFIG_HOME) sets the features and k.
    let answer = json(run(&["cluster", d], &store, &home));
    assert_eq!(answer.k, 4);
    assert!(answer.feature.starts_with("hog"), "{answer:?}");
    // Flags win over it.
    let answer = json(run(
        &["cluster", d, "--k", "3", "--features", "pixels"],
        &store,
        &home,
    ));
    assert_eq!(answer.k, 3);
    assert!(answer.feature.starts_with("pixels"));
    // --config reads another file instead of the user's.
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, "[cluster]\nk = \"5\"\n").unwrap();
    let answer = json(run(
        &["cluster", d, "--config", other.to_str().unwrap()],
        &store,
        &home,
    ));
    assert_eq!(answer.k, 5);
    assert!(answer.feature.starts_with("efficientnet-lite0"));
    // `imgtui config` says where each value came from.
    let out = run(&["config", "--features", "color"], &store, &home);
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{key} in {text}"))
            .to_owned()
    };
    assert!(line("features").ends_with("# --features"), "{text}");
    assert!(
        line("k").contains("\"4\"") && line("k").ends_with("imgtui/config.toml"),
        "{text}"
    );
    assert!(line("k_max").ends_with("# default"), "{text}");
}

#[test]
fn a_bad_settings_file_is_one_line_and_nothing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let cases = [
        // `k = 4` is a number of clusters; a fraction is not.
        (
            "[cluster]\nk = 2.5\n",
            "line 2, key cluster.k: expected \"auto\" or a number of clusters",
        ),
        (
            "[cluster]\nmethod = \"kmedoids\"\n",
            "line 2, key cluster.method",
        ),
        (
            "[index]\nthreds = 2\n",
            "line 2, key index.threds: unknown setting",
        ),
        ("store = \"a\"\n[cluster\n", "line 2"),
    ];
    for (text, expected) in cases {
        let file = tmp.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = run(
            &[
                "index",
                dir.to_str().unwrap(),
                "--config",
                file.to_str().unwrap(),
            ],
            &store,
            tmp.path(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("bad.toml") && err.contains(expected),
            "{text:?}: {err}"
        );
        assert!(!store.exists(), "nothing indexed with half a config");
    }
}

/// `imgtui config` without `--store` names the file the store really is, not `""`.
#[test]
fn config_prints_the_effective_store_path() {
    let tmp = tempfile::tempdir().unwrap();
    let out = imgtui()
        .arg("config")
        .env("XDG_CONFIG_HOME", tmp.path().join("config"))
        .env("XDG_CACHE_HOME", tmp.path().join("cache"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("store = ")).unwrap();
    let want = tmp.path().join("cache/imgtui/store.sqlite");
    assert!(line.contains(&format!("\"{}\"", want.display())), "{line}");
    assert!(
        line.ends_with("# default: the user's cache folder"),
        "{line}"
    );
}
