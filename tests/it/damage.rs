//! A store damaged on disk is noticed with a clear line and a way out (`--rebuild-store`);
//! it never hands back wrong vectors.

use std::path::Path;

use crate::common::*;

/// `similar IMAGE --in ITS_FOLDER --n 3` on `store`.
fn similar(image: &Path, store: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "similar".as_ref(),
        image.as_os_str(),
        "--in".as_ref(),
        image.parent().unwrap().as_os_str(),
        "--n".as_ref(),
        "3".as_ref(),
    ];
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
        // The header overwritten: still imgtui's by the table definitions on its first page.
        damaged("headless.sqlite", &|p| {
            let mut bytes = std::fs::read(p).unwrap();
            bytes[..100].fill(0);
            std::fs::write(p, bytes).unwrap()
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

/// A file at the store's path that is not an imgtui store (a picture, noise, another
/// program's SQLite database) is refused in one line and never written to or moved, not
/// even with --rebuild-store.
#[test]
fn a_file_that_is_not_a_store_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let picture = tmp.path().join("pic.png");
    noise(20, 20, 1).save(&picture).unwrap();
    let noise_file = tmp.path().join("noise.sqlite");
    std::fs::write(&noise_file, noise(20, 20, 2).into_raw()).unwrap();
    let foreign = tmp.path().join("other-program.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);")
            .unwrap();
    }
    for file in [&picture, &noise_file, &foreign] {
        let before = std::fs::read(file).unwrap();
        for extra in [&[][..], &["--rebuild-store"][..]] {
            let out = imgtui()
                .arg("index")
                .arg(&dir)
                .arg("--store")
                .arg(file)
                .args(extra)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{}: {err}", file.display());
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains("is not an imgtui store"), "{err}");
            assert!(!err.contains("--rebuild-store"), "{err}");
            assert_eq!(std::fs::read(file).unwrap(), before, "{}", file.display());
        }
        // Nothing was moved aside or made beside it.
        let beside: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".damaged-") || n.ends_with("-wal") || n.ends_with("-shm"))
            .collect();
        assert!(beside.is_empty(), "{beside:?}");
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

/// The page that holds the saved clusterings is overwritten: `cluster`, `montage` and `export`
/// (which read the saved clustering) refuse with the way out, like every other damage.
#[test]
fn a_damaged_clusterings_table_names_the_way_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    run_json(&["cluster", d, "--k", "3"], &store);

    // Where the table lives in the file: its root page (the saved clustering is small, so
    // the page holds it; larger ones continue on overflow pages reached from it).
    crate::common::damage_table(&store, "clusterings");

    let export_to = tmp.path().join("out");
    let commands: [Vec<&str>; 3] = [
        vec!["cluster", d],
        vec!["montage", d, "--cluster", "1", "-o", "/dev/null/x.png"],
        vec![
            "export",
            d,
            "--cluster",
            "1",
            "--to",
            export_to.to_str().unwrap(),
        ],
    ];
    for args in &commands {
        let ran = run(args, &store);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
        assert!(
            ran.stderr.contains("malformed") || ran.stderr.contains("damaged"),
            "{}",
            ran.stderr
        );
        assert!(ran.stderr.contains("--rebuild-store"), "{}", ran.stderr);
    }
    // The way out works: a fresh store clusters as before.
    let ran = run(&["cluster", d, "--k", "3", "--rebuild-store"], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        !export_to.exists(),
        "nothing was exported from a damaged store"
    );
}
