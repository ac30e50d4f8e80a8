//! kill -9 at several points of indexing loses at most the batch in flight each time; the next
//! run resumes and ends with exactly the right set of vectors.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use imgtui::Store;

#[test]
fn kills_during_indexing_lose_nothing_committed_and_the_next_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let total = 160;
    for i in 0..total {
        let img = match i % 4 {
            0 => noise(48, 48, i as u64),
            1 => stripes(
                64,
                64,
                2 + i % 9,
                i % 2 == 0,
                [i as u8, 0, 90],
                [255, 255, 255],
            ),
            2 => disc(64, 64, [(i * 7) as u8, 120, 0], [0, (i * 3) as u8, 200]),
            _ => checkerboard(64, 64, 2 + i % 13),
        };
        img.save(dir.join(format!("img-{i:03}.png"))).unwrap();
    }
    let store_path = tmp.path().join("store.sqlite");

    // Kill runs at several points: at fixed moments after the start (opening the store,
    // scanning, mid-batch), then each once a few more batches are committed.
    let spawn = || {
        imgtui()
            .args(["index", "--batch", "8", "--store"])
            .arg(&store_path)
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut kills = 0;
    for delay_ms in [5, 60, 250] {
        let mut child = spawn();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    let mut committed = 0;
    for more in [16, 32, 48] {
        let before = Store::open(&store_path).map_or(0, |s| count_vectors(&s));
        let mut child = spawn();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            if let Ok(store) = Store::open(&store_path) {
                committed = count_vectors(&store);
                if committed >= before + more {
                    break;
                }
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 4, "only {kills} runs were killed mid-way");
    assert!(committed >= 16, "the killed runs committed nothing");

    let store = Store::open(&store_path).unwrap();
    let survived = count_vectors(&store);
    assert!(survived >= committed);
    drop(store);

    let summary = index_json(&dir, &store_path);
    assert_eq!(summary.found, total as usize);
    assert_eq!(summary.skipped.len(), 0);
    let (embedded, cached) = (summary.embedded, summary.cached);
    assert_eq!(embedded + cached, total as usize);
    assert!(
        cached >= survived,
        "vectors committed before the kill were embedded again"
    );

    let store = Store::open(&store_path).unwrap();
    let c = store.collection(&dir, &summary.feature).unwrap();
    let mut expected: Vec<_> = (0..total)
        .map(|i| dir.canonicalize().unwrap().join(format!("img-{i:03}.png")))
        .collect();
    expected.sort();
    assert_eq!(c.paths, expected);
    // One vector per distinct content (some drawings repeat).
    let distinct: std::collections::HashSet<Vec<u8>> =
        expected.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(count_vectors(&store), distinct.len());

    let again = index_json(&dir, &store_path);
    assert_eq!(again.embedded, 0);
}

fn count_vectors(store: &Store) -> usize {
    let feature = imgtui::index::feature_id(&imgtui::OnnxModel::builtin(), &Default::default());
    store.vector_count(&feature).unwrap()
}
