//! The command line people expect: completions for every shell, a man page, a version that
//! names the model.

use crate::common::*;

#[test]
fn completions_cover_every_shell_and_subcommand() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = imgtui().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for sub in [
            "index",
            "similar",
            "cluster",
            "dups",
            "export",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
    }
    // bash accepts the script and registers it.
    let registered = std::process::Command::new("bash")
        .args([
            "-c",
            "source <(\"$0\" completions bash) && complete -p imgtui",
            env!("CARGO_BIN_EXE_imgtui"),
        ])
        .output();
    if let Ok(out) = registered {
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("imgtui"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bad = imgtui().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = imgtui().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH imgtui 1"), "{page}");
    assert!(page.contains("visual similarity"));
    for sub in [
        "index",
        "similar",
        "cluster",
        "montage",
        "export",
        "neighbours",
        "dups",
    ] {
        assert!(page.contains(sub), "the man page lacks {sub}");
    }
    // Each subcommand has its own page, with its options.
    let out = imgtui().args(["man", "index"]).output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH imgtui-index 1"), "{page}");
    assert!(page.contains("watch") && page.contains("threads"), "{page}");
    let out = imgtui().args(["man", "nothing"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_version_names_the_model_and_the_build() {
    let out = imgtui().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("imgtui {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains("built-in model: efficientnet-lite0 (feature id efficientnet-lite0-"),
        "{text}"
    );
    assert!(text.contains("cargo features:"), "{text}");
}

/// Values a user can get wrong are one line and exit 2, before anything is written.
#[test]
fn bad_values_are_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("s.sqlite");
    let d = dir.to_str().unwrap();
    let inside = dir.join("sheet.png");
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["index", d, "--threads", "100000"],
            "at most 256 worker threads",
        ),
        (vec!["neighbours", d, "--n", "0"], "0 is not in 1.."),
        (
            vec!["montage", d, "--cluster", "1", "-o", "/tmp/sheet.jpg"],
            "a montage is a PNG",
        ),
        (
            vec![
                "montage",
                d,
                "--cluster",
                "1",
                "-o",
                inside.to_str().unwrap(),
            ],
            "--inside allows it",
        ),
    ];
    for (args, says) in &cases {
        let ran = run(args, &store);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
    assert!(!inside.exists());
    // A settings file asking for too many threads stops before anything runs.
    let settings = tmp.path().join("settings.toml");
    std::fs::write(&settings, "[index]\nthreads = 100000\n").unwrap();
    let ran = run(
        &[
            "index".as_ref(),
            dir.as_os_str(),
            "--config".as_ref(),
            settings.as_os_str(),
        ],
        &store,
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("index.threads"), "{}", ran.stderr);
}

/// A reader that stops early (`| head`) is not an error, for `config` too.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let out = std::process::Command::new("sh")
        .args(["-c", "\"$0\" config | true", env!("CARGO_BIN_EXE_imgtui")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{err}");
}
