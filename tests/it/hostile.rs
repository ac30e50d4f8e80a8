//! File names that talk to the terminal: names holding escape sequences (a window title,
//! OSC 52 which writes the clipboard, a cursor move, a C1 CSI) go through every command, and
//! nothing any command writes may hold a control character a terminal acts on. JSON keeps
//! the exact names (escaped by JSON), CSV quotes them, and a name that is not UTF-8 has its
//! exact bytes in JSON.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::common::{Ran, disc, noise, parse_answer, run, stripes};

/// A `cluster --json` answer's images as written, each path in its written shape (the test
/// checks the shape; [`imgtui::answers::Clusters`] reads paths back as `PathBuf`s).
#[derive(Debug, serde::Deserialize)]
struct Written {
    images: Vec<WrittenImage>,
}

/// One image of [`Written`].
#[derive(Debug, serde::Deserialize)]
struct WrittenImage {
    path: WrittenPath,
}

/// A path as JSON writes it: a string, or for a name that is not UTF-8 its lossy text and its
/// exact bytes in base64.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum WrittenPath {
    Text(String),
    Exact { text: String, bytes: String },
}

/// Names that would retitle the window, home the cursor, set the clipboard, or start a CSI
/// with the one-byte C1 control (U+009B).
const HOSTILE: [&str; 3] = [
    "bad\u{1b}]2;TITLE\u{7}\u{1b}[H.png",
    "clip\u{1b}]52;c;SGVsbG8=\u{7}.png",
    "c1\u{9b}2Jcsi\u{7f}.png",
];

/// Whether `bytes` hold anything a terminal would act on: a C0 control other than a line
/// break (ESC, BEL, …), DEL, or a C1 control (raw, or encoded in UTF-8 as C2 80–9F).
fn drives_a_terminal(bytes: &[u8]) -> Option<usize> {
    bytes.iter().enumerate().position(|(i, &b)| {
        (b < 0x20 && b != b'\n')
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

fn assert_safe(what: &str, ran: &Ran) {
    for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
        if let Some(at) = drives_a_terminal(text.as_bytes()) {
            panic!(
                "{what}: {stream} holds a control character at byte {at}: {:?}",
                text
            );
        }
    }
}

/// A folder with hostile names: three images, a file that is not an image, and a name that
/// is not UTF-8 (its bytes hold ESC too). Returns the folder and the image paths.
fn hostile_folder(root: &Path) -> (PathBuf, Vec<PathBuf>) {
    let dir = root.join("art");
    std::fs::create_dir_all(&dir).unwrap();
    let images = [
        disc(64, 64, [250, 200, 0], [20, 20, 60]),
        stripes(64, 64, 6, true, [0, 0, 0], [255, 255, 0]),
        noise(64, 64, 3),
    ];
    let mut paths = Vec::new();
    for (name, img) in HOSTILE.iter().zip(images) {
        let path = dir.join(name);
        img.save_with_format(&path, image::ImageFormat::Png)
            .unwrap();
        paths.push(path);
    }
    let raw = dir.join(OsStr::from_bytes(b"bytes\xff\x1b[2J.png"));
    disc(64, 64, [10, 200, 90], [200, 20, 60])
        .save_with_format(&raw, image::ImageFormat::Png)
        .unwrap();
    paths.push(raw);
    std::fs::write(dir.join("broken\u{1b}[31m.png"), b"not an image at all").unwrap();
    (dir, paths)
}

#[test]
fn hostile_file_names_never_reach_the_terminal_raw() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, paths) = hostile_folder(tmp.path());
    let store = tmp.path().join("s.sqlite");
    let d = dir.as_os_str();
    let index = run(&["index".as_ref(), d], &store);
    assert_eq!(index.code, Some(0), "{}", index.stderr);
    assert_safe("index", &index);
    // The skipped file is named, visibly escaped.
    assert!(
        index.stderr.contains("broken\\e[31m.png"),
        "{}",
        index.stderr
    );
    assert!(index.stderr.contains("skipped"), "{}", index.stderr);

    let out = tmp.path().join("out\u{1b}]0;x\u{7}");
    let sheet = tmp.path().join("sheet\u{1b}[2J.png");
    let runs: Vec<(&str, Vec<&OsStr>)> = vec![
        ("index --json", vec!["index".as_ref(), d, "--json".as_ref()]),
        (
            "cluster",
            vec!["cluster".as_ref(), d, "--k".as_ref(), "2".as_ref()],
        ),
        (
            "cluster csv",
            vec!["cluster".as_ref(), d, "--format".as_ref(), "csv".as_ref()],
        ),
        (
            "similar",
            vec!["similar".as_ref(), paths[0].as_os_str(), "--in".as_ref(), d],
        ),
        (
            "similar without --in",
            vec!["similar".as_ref(), paths[1].as_os_str()],
        ),
        (
            "neighbours",
            vec!["neighbours".as_ref(), d, "--n".as_ref(), "2".as_ref()],
        ),
        (
            "neighbours csv",
            vec![
                "neighbours".as_ref(),
                d,
                "--format".as_ref(),
                "csv".as_ref(),
            ],
        ),
        ("dups", vec!["dups".as_ref(), d]),
        (
            "dups dry run",
            vec![
                "dups".as_ref(),
                d,
                "--threshold".as_ref(),
                "0.5".as_ref(),
                "--action".as_ref(),
                "trash".as_ref(),
                "--dry-run".as_ref(),
            ],
        ),
        ("outliers", vec!["outliers".as_ref(), d]),
        (
            "export",
            vec![
                "export".as_ref(),
                d,
                "--cluster".as_ref(),
                "1".as_ref(),
                "--to".as_ref(),
                out.as_os_str(),
            ],
        ),
        (
            "montage",
            vec![
                "montage".as_ref(),
                d,
                "--cluster".as_ref(),
                "1".as_ref(),
                "--out".as_ref(),
                sheet.as_os_str(),
            ],
        ),
        ("config", vec!["config".as_ref()]),
        (
            "a missing folder",
            vec!["index".as_ref(), "/no/such/\u{1b}[2J\u{9b}folder".as_ref()],
        ),
        (
            "a folder argument that is not UTF-8",
            vec![
                "index".as_ref(),
                OsStr::from_bytes(b"/no/such/dir\xff\x1b[2J"),
            ],
        ),
        (
            "an argument clap refuses",
            vec![
                "similar".as_ref(),
                paths[0].as_os_str(),
                paths[1].as_os_str(),
            ],
        ),
        (
            "a value clap refuses",
            vec![
                "cluster".as_ref(),
                d,
                "--method".as_ref(),
                paths[2].as_os_str(),
            ],
        ),
    ];
    for (what, args) in &runs {
        let mut ran = run(args, &store);
        assert_ne!(ran.code, None, "{what}");
        assert_ne!(ran.code, Some(101), "{what} panicked: {}", ran.stderr);
        if what.ends_with("csv") {
            // CSV for programs keeps names exact, quoted (a terminal gets them escaped).
            for line in ran.stdout.lines().filter(|l| l.contains('\u{1b}')) {
                assert!(
                    line.starts_with('"') || line.contains(",\""),
                    "{what}: {line:?}"
                );
            }
            ran.stdout.clear();
        }
        assert_safe(what, &ran);
    }

    // JSON keeps every name exactly; a name that is not UTF-8 has its bytes. Read in its
    // written shape on purpose (a string, or text and base64 bytes), as ripgrep's tests do…
    let ran = run(&["cluster".as_ref(), d], &store);
    let written: Written = parse_answer(&ran.stdout);
    let mut names: Vec<Vec<u8>> = written
        .images
        .iter()
        .map(|img| match &img.path {
            WrittenPath::Text(s) => s.as_bytes().to_vec(),
            exact @ WrittenPath::Exact { text, bytes } => {
                use base64::Engine;
                assert!(text.contains('\u{fffd}'), "{exact:?}");
                base64::engine::general_purpose::STANDARD
                    .decode(bytes)
                    .unwrap()
            }
        })
        .collect();
    names.sort();
    let mut expected: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    // …and read back as the answer the command wrote, every path has the same bytes.
    let answer: imgtui::answers::Clusters = parse_answer(&ran.stdout);
    let mut read_back: Vec<Vec<u8>> = answer
        .images
        .iter()
        .map(|img| img.path.as_os_str().as_bytes().to_vec())
        .collect();
    read_back.sort();
    assert_eq!(read_back, expected);

    // CSV quotes a field holding control characters.
    let ran = run(
        &["cluster".as_ref(), d, "--format".as_ref(), "csv".as_ref()],
        &store,
    );
    assert!(ran.stdout.contains("\"/"), "{}", ran.stdout);
}

#[test]
fn a_store_path_and_a_damaged_store_are_named_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = hostile_folder(tmp.path());
    let store = tmp.path().join("store\u{1b}]2;pwned\u{7}.sqlite");
    std::fs::write(&store, b"SQLite format 3\0garbage garbage garbage").unwrap();
    let ran = run(&["index".as_ref(), dir.as_os_str()], &store);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_safe("a damaged store", &ran);
    assert!(
        ran.stderr.contains("store\\e]2;pwned\\x07.sqlite"),
        "{}",
        ran.stderr
    );
}
