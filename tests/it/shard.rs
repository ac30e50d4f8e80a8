//! Many machines: `index --shard I/N` into one store each, then `store merge`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;
use imgtui::answers::{Clusters, SCHEMA};
use imgtui::store::MergeReport;
use imgtui::{Store, Summary};

/// A folder of 23 drawn images, some in a subfolder: (temp dir, the folder, canonical).
fn folder() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    families(&dir.join("families"));
    let dir = std::fs::canonicalize(&dir).unwrap();
    (tmp, dir)
}

/// `imgtui index DIR --json --features pixels [EXTRA...] --store STORE`, expected to succeed.
fn index(dir: &Path, store: &Path, extra: &[&str]) -> Summary {
    let mut args = vec!["index", "--json", "--features", "pixels"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    run_versioned(&args, store)
}

/// The paths `store` records at or below `dir`.
fn recorded(store: &Path, dir: &Path) -> BTreeSet<PathBuf> {
    Store::open(store)
        .unwrap()
        .files_under(dir)
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// The modification time `store` records for `file`, in the folder `dir`.
fn recorded_mtime(store: &Path, dir: &Path, file: &Path) -> i64 {
    let files = Store::open(store).unwrap().files_under(dir).unwrap();
    files.iter().find(|(p, _)| p == file).unwrap().1.mtime_ns
}

/// `imgtui store merge OUT IN... --format json` (reading it checks its schema is SCHEMA).
fn merge(out: &Path, inputs: &[PathBuf]) -> MergeReport {
    let mut args: Vec<&std::ffi::OsStr> = vec!["store".as_ref(), "merge".as_ref(), out.as_os_str()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.push("--format".as_ref());
    args.push("json".as_ref());
    run_versioned(&args, out)
}

/// Each image's cluster as `cluster --k 3` gives it: (path, cluster) in path order.
fn labels(dir: &Path, store: &Path) -> Vec<(PathBuf, usize)> {
    let answer: Clusters = run_answer(
        &[
            "cluster",
            dir.to_str().unwrap(),
            "--k",
            "3",
            "--features",
            "pixels",
        ],
        store,
    );
    let mut labels: Vec<(PathBuf, usize)> = answer
        .images
        .into_iter()
        .map(|i| (i.path, i.cluster))
        .collect();
    labels.sort();
    labels
}

#[test]
fn three_shards_merged_are_the_folder_indexed_in_one_go() {
    let (tmp, dir) = folder();
    let whole = tmp.path().join("whole.sqlite");
    let one_go = index(&dir, &whole, &[]);
    assert_eq!(one_go.found, 23);
    assert_eq!(one_go.embedded, 23);
    let all = recorded(&whole, &dir);
    assert_eq!(all.len(), 23);

    let mut stores = Vec::new();
    let mut seen = BTreeSet::new();
    for i in 1..=3u32 {
        let store = tmp.path().join(format!("s{i}.sqlite"));
        let shard = format!("{i}/3");
        let summary = index(&dir, &store, &["--shard", &shard]);
        assert_eq!(summary.found, 23, "{summary:?}");
        let taken = summary.shard.unwrap();
        assert_eq!(taken.index, i);
        assert_eq!(taken.count, 3);
        let took = taken.files;
        assert_eq!(summary.embedded, took, "{summary:?}");
        assert_eq!(summary.removed, 0);
        let files = recorded(&store, &dir);
        assert_eq!(files.len(), took);
        for f in &files {
            let relative = f.strip_prefix(&dir).unwrap();
            assert_eq!(imgtui::index::shard_of(relative, 3), i, "{}", f.display());
            assert!(seen.insert(f.clone()), "{} is in two shards", f.display());
        }
        // Indexing the shard again takes the same files and removes none of the others.
        let again = index(&dir, &store, &["--shard", &shard]);
        assert_eq!((again.embedded, again.removed), (0, 0));
        stores.push(store);
    }
    assert_eq!(seen, all, "the shards together are every file");

    let merged = tmp.path().join("merged").join("store.sqlite");
    let report = merge(&merged, &stores);
    assert_eq!(SCHEMA, 1);
    // Three vectors a content: the model's, and the colour and texture facets'.
    assert_eq!(report.vectors_added, 3 * 23, "{report:?}");
    assert_eq!(report.thumbnails_added, 23, "{report:?}");
    assert_eq!(report.files_added, 23, "{report:?}");
    assert_eq!(report.vector_conflicts, []);
    assert_eq!(report.file_conflicts, []);
    assert_eq!(recorded(&merged, &dir), all);

    let after = index(&dir, &merged, &[]);
    assert_eq!(after.embedded, 0, "{after:?}");
    assert_eq!(after.cached, 23, "{after:?}");
    assert_eq!(after.removed, 0, "{after:?}");
    assert_eq!(labels(&dir, &merged), labels(&dir, &whole));

    // Merging the same stores again adds nothing and finds everything there.
    let again = merge(&merged, &stores);
    assert_eq!(again.vectors_added, 0, "{again:?}");
    assert_eq!(again.vectors_present, 3 * 23, "{again:?}");
    assert_eq!(again.files_present, 23, "{again:?}");
}

#[test]
fn bad_shards_are_refused_in_one_line() {
    let (tmp, dir) = folder();
    let store = tmp.path().join("s.sqlite");
    for bad in [
        "0/3", "4/3", "1/0", "a/3", "3", "1/3/3", "-1/3", "1.5/3", "",
    ] {
        let ran = run(
            &[
                "index",
                "--features",
                "pixels",
                &format!("--shard={bad}"),
                dir.to_str().unwrap(),
            ],
            &store,
        );
        assert_eq!(ran.code, Some(2), "--shard {bad:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
        assert!(ran.stderr.contains("--shard"), "{}", ran.stderr);
        assert!(!store.exists(), "--shard {bad:?} left a store behind");
    }
    // A bad --threads is refused before the store is made, too.
    let ran = run(
        &["index", "--threads", "999", dir.to_str().unwrap()],
        &store,
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(!store.exists(), "--threads 999 left a store behind");
}

/// `imgtui store merge OUT IN...` with `--store UNUSED` (which a merge ignores).
fn merge_ran(tmp: &Path, out: &Path, inputs: &[&Path]) -> Ran {
    let mut args: Vec<&std::ffi::OsStr> = vec!["store".as_ref(), "merge".as_ref(), out.as_os_str()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    let unused = tmp.join("unused.sqlite");
    let ran = run(&args, &unused);
    assert!(!unused.exists(), "a merge made the --store file");
    ran
}

#[test]
fn an_input_that_is_not_a_store_is_named_and_nothing_is_created_or_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, store) = (tmp.path().join("images"), tmp.path().join("s.sqlite"));
    varied_folder(&dir);
    index(&dir, &store, &[]);
    let text = tmp.path().join("notes.txt");
    std::fs::write(&text, "not a store, a shopping list\n").unwrap();
    let empty = tmp.path().join("empty.sqlite");
    std::fs::write(&empty, "").unwrap();
    // Another program's SQLite database: it must not gain imgtui's tables.
    let foreign = tmp.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let foreign_bytes = std::fs::read(&foreign).unwrap();

    for bad in [&text, &empty, &foreign] {
        let out = tmp.path().join("new").join("out.sqlite");
        let ran = merge_ran(tmp.path(), &out, &[&store, bad]);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
        let line = ran.stderr.trim();
        assert!(line.contains("not an imgtui store"), "{line}");
        assert!(line.contains(&*bad.to_string_lossy()), "{line}");
        assert!(!line.contains("rebuild-store"), "{line}");
        assert!(!out.exists(), "{} left behind", out.display());
        assert!(!out.parent().unwrap().exists(), "its folder left behind");
    }
    assert_eq!(
        std::fs::read(&text).unwrap(),
        b"not a store, a shopping list\n"
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    assert_eq!(std::fs::read(&foreign).unwrap(), foreign_bytes);

    // An OUT that is some other file is refused and left as it was.
    let ran = merge_ran(tmp.path(), &text, &[&store]);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("not an imgtui store"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("rebuild-store"), "{}", ran.stderr);
    assert_eq!(
        std::fs::read(&text).unwrap(),
        b"not a store, a shopping list\n"
    );
}

#[test]
fn a_merge_that_fails_removes_the_out_it_made_and_only_that() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, store) = (tmp.path().join("images"), tmp.path().join("s.sqlite"));
    varied_folder(&dir);
    index(&dir, &store, &[]);
    // A store that passes for one (its schema row) but whose vectors table is not imgtui's:
    // the merge fails after OUT was opened.
    let odd = tmp.path().join("odd.sqlite");
    rusqlite::Connection::open(&odd)
        .unwrap()
        .execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
             INSERT INTO meta VALUES ('schema', 3);
             CREATE TABLE vectors (hash BLOB, feature TEXT, UNIQUE (hash, feature));",
        )
        .unwrap();

    let out = tmp.path().join("made").join("out.sqlite");
    let ran = merge_ran(tmp.path(), &out, &[&store, &odd]);
    assert_ne!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("odd.sqlite"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("rebuild-store"), "{}", ran.stderr);
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(!out.exists(), "the OUT it made was left: {left:?}");
    assert!(
        !out.parent().unwrap().exists(),
        "its folder was left: {left:?}"
    );

    // An OUT that was there before stays, whatever the merge did.
    let before = tmp.path().join("before.sqlite");
    merge(&before, std::slice::from_ref(&store));
    let ran = merge_ran(tmp.path(), &before, &[&odd]);
    assert_ne!(ran.code, Some(0), "{}", ran.stderr);
    let dir = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(recorded(&before, &dir), recorded(&store, &dir));
}

#[test]
fn a_merge_reports_a_path_recorded_with_another_mtime_and_keeps_the_newer() {
    let (tmp, dir) = folder();
    let (a, b) = (tmp.path().join("a.sqlite"), tmp.path().join("b.sqlite"));
    index(&dir, &a, &[]);
    let touched = dir.join("disc.png");
    let later = std::fs::metadata(&touched).unwrap().modified().unwrap()
        + std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&touched)
        .unwrap()
        .set_modified(later)
        .unwrap();
    index(&dir, &b, &[]);

    let out = tmp.path().join("out.sqlite");
    let report = merge(&out, &[a.clone(), b.clone()]);
    assert_eq!(report.files_added, 23, "{report:?}");
    assert_eq!(report.files_present, 22, "{report:?}");
    assert_eq!(report.files_replaced, 1, "{report:?}");
    let conflicts = &report.file_conflicts;
    assert_eq!(conflicts.len(), 1, "{report:?}");
    assert_eq!(conflicts[0].path.as_os_str(), touched.as_os_str());
    assert_eq!(conflicts[0].input.as_os_str(), b.as_os_str());
    assert!(conflicts[0].kept_input);
    // The same content: its vectors (the model's and two facets') are one, found in both.
    assert_eq!(report.vectors_added, 3 * 23, "{report:?}");
    assert_eq!(report.vector_conflicts, []);
    let kept = recorded_mtime(&out, &dir, &touched);
    let newer = recorded_mtime(&b, &dir, &touched);
    assert_eq!(kept, newer);

    // Merged the other way round, the newer record already there stays; the line says so.
    let other = tmp.path().join("other.sqlite");
    let ran = run(
        &[
            "store".as_ref(),
            "merge".as_ref(),
            other.as_os_str(),
            b.as_os_str(),
            a.as_os_str(),
        ],
        &other,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("1 files whose stat differs"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains(&format!("stat differs: {}", touched.display())),
        "{}",
        ran.stderr
    );
    let kept = recorded_mtime(&other, &dir, &touched);
    assert_eq!(kept, newer);

    // A missing input is one line, exit 2, and the output is left as it was.
    let missing = tmp.path().join("missing.sqlite");
    let ran = run(
        &[
            "store".as_ref(),
            "merge".as_ref(),
            out.as_os_str(),
            missing.as_os_str(),
        ],
        &out,
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(ran.stderr.trim().lines().count(), 1, "{}", ran.stderr);
    assert!(!missing.exists());
}
