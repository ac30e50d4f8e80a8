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
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["found"], 23);
        embedded += summary["embedded"].as_u64().unwrap();
    }
    // Each image was embedded at least once between them (both may have done some twice).
    assert!(embedded >= 23, "{embedded}");
    // A third run finds everything there, once.
    let third = index_json(&dir, &store);
    assert_eq!(third["embedded"], 0);
    assert_eq!(third["cached"], 23);
    let db = imgtui::Store::open(&store).unwrap();
    let root = std::fs::canonicalize(&dir).unwrap();
    let c = db
        .collection(&root, third["feature"].as_str().unwrap())
        .unwrap();
    assert_eq!(c.len(), 23, "one row per file");
    let distinct: std::collections::HashSet<_> = c.hashes.iter().collect();
    assert_eq!(
        db.vector_count(third["feature"].as_str().unwrap()).unwrap(),
        distinct.len()
    );
}
