//! Files that change or vanish while they are indexed: the run succeeds, every file ends up
//! indexed or skipped with a reason, and the next run converges on what is on disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::*;
use imgtui::{IndexOptions, OnnxModel, Store};

#[test]
fn a_folder_deleted_and_a_file_rewritten_during_indexing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let (keep, doomed) = (dir.join("keep"), dir.join("doomed"));
    std::fs::create_dir_all(&keep).unwrap();
    std::fs::create_dir_all(&doomed).unwrap();
    for i in 0..40u64 {
        noise(40, 40, i)
            .save(keep.join(format!("k{i:02}.png")))
            .unwrap();
        noise(40, 40, 100 + i)
            .save(doomed.join(format!("d{i:02}.png")))
            .unwrap();
    }
    let changing = dir.join("changing.png");
    let versions: Vec<Vec<u8>> = (0..2)
        .map(|v| {
            let mut bytes = Vec::new();
            image::DynamicImage::ImageRgb8(disc(300, 300, [250, 10 + v * 200, 0], [0, 0, 90]))
                .write_to(
                    &mut std::io::Cursor::new(&mut bytes),
                    image::ImageFormat::Png,
                )
                .unwrap();
            bytes
        })
        .collect();
    std::fs::write(&changing, &versions[0]).unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();

    // While indexing runs: the doomed folder goes, and one file is rewritten again and again
    // (in place, not atomically, so a reader may see half of it).
    let stop = Arc::new(AtomicBool::new(false));
    let meddler = {
        let (stop, doomed, changing, versions) = (
            stop.clone(),
            doomed.clone(),
            changing.clone(),
            versions.clone(),
        );
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            let _ = std::fs::remove_dir_all(&doomed);
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let _ = std::fs::write(&changing, &versions[n % 2]);
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            std::fs::write(&changing, &versions[1]).unwrap();
        })
    };
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let model = OnnxModel::builtin();
    let opts = IndexOptions::default();
    let first = crate::common::index_with(&dir, &mut store, &model, &opts);
    stop.store(true, Ordering::SeqCst);
    meddler.join().unwrap();
    assert!(!first.interrupted);
    for s in &first.skipped {
        let known = ["cannot read", "corrupt image", "empty file", "No such file"];
        assert!(known.iter().any(|k| s.reason.contains(k)), "{s:?}");
    }

    // The next run converges: the doomed files are gone, the rewritten file's vector is the
    // one of its final content.
    let second = crate::common::index_with(&dir, &mut store, &model, &opts);
    assert!(second.skipped.is_empty(), "{:?}", second.skipped);
    let c = store.collection(&dir, &second.feature).unwrap();
    assert_eq!(c.len(), 41, "the 40 kept files and the rewritten one");
    assert!(c.paths.iter().all(|p| !p.starts_with(dir.join("doomed"))));
    let row = c
        .paths
        .iter()
        .position(|p| *p == dir.join("changing.png"))
        .unwrap();
    assert_eq!(c.hashes[row], *blake3::hash(&versions[1]).as_bytes());
}
