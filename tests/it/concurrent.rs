//! Two imgtui processes indexing the same folder into the same store at once: both finish,
//! and the store holds exactly one vector per distinct image.

use crate::common::*;

#[test]
fn two_indexers_on_one_store_both_finish_consistently() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    varied_folder(&dir.join("more"));
    let store = tmp.path().join("store.sqlite");
    let spawn = || {
        imgtui()
            .args(["index", "--json", "--threads", "1"])
            .arg(&dir)
            .arg("--store")
            .arg(&store)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut embedded = 0;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: imgtui::answers::Versioned<imgtui::Summary> =
            parse_answer(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(summary.answer.found, 23);
        embedded += summary.answer.embedded;
    }
    // Each image was embedded at least once between them (both may have done some twice).
    assert!(embedded >= 23, "{embedded}");
    // A third run finds everything there, once.
    let third = index_json(&dir, &store);
    assert_eq!(third.embedded, 0);
    assert_eq!(third.cached, 23);
    let db = imgtui::Store::open(&store).unwrap();
    let root = std::fs::canonicalize(&dir).unwrap();
    let c = db.collection(&root, &third.feature).unwrap();
    assert_eq!(c.len(), 23, "one row per file");
    let distinct: std::collections::HashSet<_> = c.hashes.iter().collect();
    assert_eq!(db.vector_count(&third.feature).unwrap(), distinct.len());
}

/// A process that has the store open (as the explorer does, with several connections) keeps
/// it while other processes come and go: opening another connection in the same process
/// must not drop its locks, or the next process to close the store would take it for the
/// last, delete the WAL file under it, and every later write of the first would be lost.
#[cfg(unix)]
#[test]
fn an_open_store_keeps_its_writes_while_other_processes_come_and_go() {
    use imgtui::analysis::clustering::KChoice;
    use imgtui::analysis::curation::Edit;
    use imgtui::analysis::saved::Wanted;

    let tmp = tempfile::tempdir().unwrap();
    let (dir, store) = (tmp.path().join("images"), tmp.path().join("store.sqlite"));
    let (mut session, c) = indexed_families(tmp.path());
    let three = Wanted {
        k: Some(KChoice::Fixed(3)),
        ..Default::default()
    };
    session.clustering(&c, &three).unwrap();
    // The explorer's workers: more connections of this process to the same store.
    let workers = [session.reopen().unwrap(), session.reopen().unwrap()];
    let wal = tmp.path().join("store.sqlite-wal");
    assert!(wal.exists());
    // Another process opens and closes the store.
    let d = dir.to_str().unwrap();
    let other = run(&["outliers", d, "--features", "pixels", "--n", "1"], &store);
    assert_eq!(other.code, Some(0), "{}", other.stderr);
    assert!(
        wal.exists(),
        "the WAL of a store still open here was deleted"
    );
    // A write made now is there for the next process.
    session
        .edit(
            &c,
            Edit::Name {
                cluster: 0,
                name: "still here".into(),
            },
        )
        .unwrap();
    let answer: imgtui::answers::Clusters =
        run_answer(&["cluster", d, "--features", "pixels"], &store);
    let names: Vec<&str> = answer.clusters.iter().map(|cl| cl.name.as_str()).collect();
    assert!(names.contains(&"still here"), "{names:?}");
    drop(workers);
}
