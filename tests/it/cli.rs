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

/// The header of a `.npy` v1.0 file, read here as NumPy's format description says (not by
/// imgtui's writer): the shape, and the `f32` values that follow.
fn read_npy(bytes: &[u8]) -> ((usize, usize), Vec<f32>) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    assert_eq!((10 + len) % 64, 0, "the data is aligned");
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let shape = header.split("'shape': (").nth(1).unwrap();
    let shape: Vec<usize> = shape
        .split(')')
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values: Vec<f32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(values.len(), shape[0] * shape[1]);
    ((shape[0], shape[1]), values)
}

#[test]
fn vectors_are_written_as_npy_and_csv_and_match_the_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("art");
    let drawn = varied_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    index_json(&dir, &store);
    let npy = tmp.path().join("v.npy");
    let d = dir.to_str().unwrap();
    let write_npy = || {
        run(
            &[
                "vectors",
                d,
                "--format",
                "npy",
                "--out",
                npy.to_str().unwrap(),
            ],
            &store,
        )
    };
    let out = write_npy();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ((n, dim), values) = read_npy(&std::fs::read(&npy).unwrap());
    assert_eq!(n, drawn.len());
    let paths = std::fs::read_to_string(tmp.path().join("v.npy.paths.txt")).unwrap();
    let paths: Vec<&str> = paths.lines().collect();
    assert_eq!(paths.len(), n);
    let row = |p: &str| {
        let i = paths.iter().position(|q| *q == p).unwrap();
        &values[i * dim..(i + 1) * dim]
    };
    for i in 0..n {
        let v = &values[i * dim..(i + 1) * dim];
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        // Unit vectors, within half precision's rounding (the collection keeps f16).
        assert!((norm - 1.0).abs() < 1e-3, "unit vectors: {norm}");
    }
    // Distances of the kNN graph are 1 − v·w of these vectors, row by row.
    let graph: imgtui::answers::Neighbours = run_answer(&["neighbours", d, "--n", "3"], &store);
    for node in &graph.images {
        let v = row(node.path.to_str().unwrap());
        for e in &node.neighbours {
            let w = row(e.path.to_str().unwrap());
            let dot: f32 = v.iter().zip(w).map(|(a, b)| a * b).sum();
            assert!(
                (1.0 - dot - e.distance).abs() < 1e-5,
                "{} vs {}",
                1.0 - dot,
                e.distance
            );
        }
    }
    // The CSV holds the same values, exactly, in the same order.
    let csv = run(&["vectors", d], &store);
    assert_eq!(csv.code, Some(0), "{}", csv.stderr);
    let mut lines = csv.stdout.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("path,c0,c1,"), "{header}");
    assert_eq!(header.split(',').count(), dim + 1);
    for (i, line) in lines.enumerate() {
        let mut fields = line.split(',');
        assert_eq!(fields.next().unwrap(), paths[i]);
        let parsed: Vec<f32> = fields.map(|f| f.parse().unwrap()).collect();
        assert_eq!(parsed, &values[i * dim..(i + 1) * dim]);
    }
    // Nothing is overwritten; npy needs a file.
    let again = write_npy();
    assert_eq!(again.code, Some(2), "{}", again.stderr);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(again.stderr.trim().lines().count(), 1, "{}", again.stderr);
    let bare = run(&["vectors", d, "--format", "npy"], &store);
    assert_eq!(bare.code, Some(2), "{}", bare.stderr);
    assert!(bare.stderr.contains("--out"), "{}", bare.stderr);
}
