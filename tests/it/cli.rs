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
