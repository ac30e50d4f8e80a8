//! A store damaged on disk is noticed with a clear line and a way out (`--rebuild-store`);
//! it never hands back wrong vectors.


use std::path::Path;

use crate::common::*;

fn similar(image: &Path, store: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["similar".as_ref(), image.as_os_str(), "--n".as_ref(), "3".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let ran = run(&args, store);
    (ran.code, ran.stdout, ran.stderr)
}

#[test]
fn damaged_stores_are_refused_until_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let good = tmp.path().join("good.sqlite");
    index_json(&dir, &good);
    let len = std::fs::metadata(&good).unwrap().len();
    let image = dir.join("disc-0.png");
    let (code, healthy, _) = similar(&image, &good, &[]);
    assert_eq!(code, Some(0));

    let damaged = |name: &str, damage: &dyn Fn(&Path)| {
        let copy = tmp.path().join(name);
        std::fs::copy(&good, &copy).unwrap();
        damage(&copy);
        copy
    };
    let cases = [
        damaged("truncated.sqlite", &|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(len / 2)
                .unwrap()
        }),
        // Bytes overwritten in the middle of the vectors: SQLite cannot see it, imgtui must.
        damaged("scribbled.sqlite", &|p| {
            let mut bytes = std::fs::read(p).unwrap();
            let at = bytes.len() / 2;
            bytes[at..at + 400].fill(0x7f);
            std::fs::write(p, bytes).unwrap()
        }),
        damaged("not-sqlite.sqlite", &|p| {
            std::fs::write(p, noise(20, 20, 1).into_raw()).unwrap()
        }),
    ];
    for store in &cases {
        let (code, out, err) = similar(&image, store, &[]);
        // Either refused with the way out, or (if the damage missed everything it reads)
        // the very same answer: never a different one.
        if code == Some(0) {
            assert_eq!(out, healthy, "{}", store.display());
            continue;
        }
        assert_eq!(code, Some(2), "{}: {err}", store.display());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("damaged") || err.contains("malformed") || err.contains("not a database"),
            "{err}"
        );
        assert!(err.contains("--rebuild-store"), "{err}");
        // The way out: the old file is kept aside and a fresh store answers as before.
        let (code, out, err) = similar(&image, store, &["--rebuild-store"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, healthy);
        assert!(err.contains("moved the old store aside"), "{err}");
        let kept = std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(store.file_name().unwrap().to_str().unwrap())
                    && name.contains(".damaged-")
            })
            .count();
        assert!(kept >= 1, "the damaged file is kept");
    }
}

#[test]
fn a_store_that_cannot_be_created_is_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    // A store "inside" a file: the folder cannot exist, whoever runs the test.
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let out = imgtui()
        .arg("index")
        .arg(&dir)
        .arg("--store")
        .arg(file.join("store.sqlite"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot use") && err.contains("--store PATH"),
        "{err}"
    );
}
