//! Thumbnails: made while indexing (once per content), dropped with their vectors, switched
//! off by the setting or `--no-thumbnails`, filled in by the session for older stores.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::common::*;
use imgtui::decode::thumbnail::{THUMBNAIL_SIZE, decode_thumbnail};
use imgtui::{Store, Summary};

/// Each file of the folder (canonical path) with its content hash, as the store knows them.
fn hashes(dir: &Path, store: &Path) -> Vec<(PathBuf, [u8; 32])> {
    let files = Store::open(store)
        .unwrap()
        .files(&dir.canonicalize().unwrap())
        .unwrap();
    files.paths.into_iter().zip(files.hashes).collect()
}

fn thumbnail_count(store: &Path) -> usize {
    Store::open(store).unwrap().thumbnail_count().unwrap().0
}

/// The stored thumbnail of `hash`, decoded.
fn stored(store: &Path, hash: &[u8; 32]) -> Option<image::RgbImage> {
    let jpeg = Store::open(store).unwrap().thumbnail(hash).unwrap()?;
    Some(decode_thumbnail(&jpeg).unwrap())
}

fn index_args<'a>(dir: &'a Path, extra: &'a [&'a str]) -> Vec<&'a std::ffi::OsStr> {
    let mut args = vec!["index".as_ref(), "--json".as_ref(), dir.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args
}

#[test]
fn one_thumbnail_per_content_dropped_with_the_last_vector() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let store = tmp.path().join("store.sqlite");
    varied_folder(&dir);
    // Two files with one content: one thumbnail.
    std::fs::copy(dir.join("disc.png"), dir.join("disc-copy.png")).unwrap();
    stripes(1024, 768, 40, true, [0, 0, 0], [250, 250, 0])
        .save(dir.join("big.png"))
        .unwrap();
    let summary = index_json(&dir, &store);
    assert_eq!(summary.embedded, 9);
    assert_eq!(summary.thumbnails, 9);
    assert_eq!(thumbnail_count(&store), 9);
    let files = hashes(&dir, &store);
    assert_eq!(files.len(), 10);
    for (path, hash) in &files {
        let t = stored(&store, hash).unwrap_or_else(|| panic!("{}", path.display()));
        assert!(
            t.width().max(t.height()) <= THUMBNAIL_SIZE,
            "{}",
            path.display()
        );
    }
    let hash_of = |name: &str| files.iter().find(|(p, _)| p.ends_with(name)).unwrap().1;
    // 1024×768 → 160×120; 96×96 stays 96×96; the copy shares its original's row.
    assert_eq!(
        stored(&store, &hash_of("big.png")).unwrap().dimensions(),
        (160, 120)
    );
    assert_eq!(
        stored(&store, &hash_of("solid-red.png"))
            .unwrap()
            .dimensions(),
        (96, 96)
    );
    assert_eq!(hash_of("disc.png"), hash_of("disc-copy.png"));

    // Nothing new: nothing made again.
    assert_eq!(index_json(&dir, &store).thumbnails, 0);
    assert_eq!(thumbnail_count(&store), 9);

    // One of two copies deleted: the content keeps its vector and its thumbnail; the only
    // file of a content deleted: both go.
    std::fs::remove_file(dir.join("disc-copy.png")).unwrap();
    std::fs::remove_file(dir.join("big.png")).unwrap();
    let summary = index_json(&dir, &store);
    assert_eq!(summary.removed, 2);
    assert_eq!(thumbnail_count(&store), 8);
    assert!(stored(&store, &hash_of("big.png")).is_none());
    assert!(stored(&store, &hash_of("disc.png")).is_some());

    // A file overwritten with other content: the old content's row goes, the new one's comes.
    noise(60, 60, 9).save(dir.join("checker.png")).unwrap();
    let summary = index_json(&dir, &store);
    assert_eq!(summary.embedded, 1);
    assert_eq!(thumbnail_count(&store), 8);
    assert!(stored(&store, &hash_of("checker.png")).is_none());
}

#[test]
fn the_flag_and_the_setting_turn_thumbnails_off() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let store = tmp.path().join("flag.sqlite");
    let summary: Summary = run_versioned(&index_args(&dir, &["--no-thumbnails"]), &store);
    assert_eq!((summary.embedded, summary.thumbnails), (8, 0));
    assert_eq!(thumbnail_count(&store), 0);

    let settings = tmp.path().join("settings.toml");
    std::fs::write(&settings, "[index]\nthumbnails = false\n").unwrap();
    let store = tmp.path().join("setting.sqlite");
    let extra = ["--config", settings.to_str().unwrap()];
    assert_eq!(
        run_versioned::<Summary, _>(&index_args(&dir, &extra), &store).thumbnails,
        0
    );
    assert_eq!(thumbnail_count(&store), 0);
    let ran = imgtui()
        .args(["config", "--config"])
        .arg(&settings)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&ran.stdout);
    assert!(shown.contains("thumbnails = false"), "{shown}");
}

/// A store indexed without thumbnails (as before they existed) gets them from the session:
/// one on demand, the rest in one pass; a file changed since indexing is passed over.
#[test]
fn the_session_fills_in_thumbnails_a_store_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let store = tmp.path().join("store.sqlite");
    varied_folder(&dir);
    std::fs::copy(dir.join("checker.png"), dir.join("checker-copy.png")).unwrap();
    run_json(&index_args(&dir, &["--no-thumbnails"]), &store);
    assert_eq!(thumbnail_count(&store), 0);

    let config = imgtui::config::Config::default();
    let model = imgtui::features::select(&config.features, Default::default())
        .unwrap()
        .into();
    let session = imgtui::Session::open(&dir, &store, config, model).unwrap();
    let files = hashes(&dir, &store);
    let (path, hash) = files
        .iter()
        .find(|(p, _)| p.ends_with("stripes-h.jpg"))
        .unwrap();
    let made = session.thumbnail(path, hash).unwrap();
    assert_eq!(made.dimensions(), (128, 96));
    assert_eq!(thumbnail_count(&store), 1);
    // Asked again: the stored one, the same picture but for JPEG's loss.
    let again = session.thumbnail(path, hash).unwrap();
    assert_eq!(again.dimensions(), made.dimensions());

    // A file whose content changed since indexing is not stored under the old hash.
    solid(40, 40, [1, 2, 3])
        .save(dir.join("solid-red.png"))
        .unwrap();
    let cancel = AtomicBool::new(false);
    let mut heard = Vec::new();
    let filled = session
        .fill_thumbnails(|done, total| heard.push((done, total)), &cancel)
        .unwrap();
    // 9 files, 8 contents: one had its thumbnail, one changed.
    assert_eq!(filled, 6);
    assert_eq!(heard.first(), Some(&(0, 7)));
    assert_eq!(heard.last(), Some(&(7, 7)));
    assert_eq!(thumbnail_count(&store), 7);
    assert_eq!(session.fill_thumbnails(|_, _| {}, &cancel).unwrap(), 0);
    // The changed file's thumbnail is made for what it holds now (40 px, twice as large),
    // and not stored.
    let (red, red_hash) = files
        .iter()
        .find(|(p, _)| p.ends_with("solid-red.png"))
        .unwrap();
    assert_eq!(
        session.thumbnail(red, red_hash).unwrap().dimensions(),
        (80, 80)
    );
    assert_eq!(thumbnail_count(&store), 7);
}

/// A JPEG whose EXIF says "rotate 90°" gives an upright thumbnail, also when the extractor
/// wants a tiny input (the scaled JPEG decoding still covers the thumbnail).
#[test]
fn thumbnails_are_upright_and_full_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    // 1200×600, red left half: upright it is 600×1200 with red on top.
    let img = image::RgbImage::from_fn(1200, 600, |x, _| {
        image::Rgb(if x < 600 { [255, 0, 0] } else { [0, 0, 255] })
    });
    std::fs::write(
        dir.join("turned.jpg"),
        crate::decode::jpeg_with_orientation(&img, 6),
    )
    .unwrap();
    for features in ["model:efficientnet-lite0", "pixels"] {
        let store = tmp.path().join(format!("{}.sqlite", features.len()));
        run_versioned::<Summary, _>(&index_args(&dir, &["--features", features]), &store);
        let (_, hash) = hashes(&dir, &store)[0];
        let t = stored(&store, &hash).unwrap();
        assert_eq!(t.dimensions(), (80, 160), "{features}");
        let (top, bottom) = (t.get_pixel(40, 20).0, t.get_pixel(40, 140).0);
        assert!(top[0] > 200 && top[2] < 60, "{features}: top {top:?}");
        assert!(
            bottom[2] > 200 && bottom[0] < 60,
            "{features}: bottom {bottom:?}"
        );
    }
}
