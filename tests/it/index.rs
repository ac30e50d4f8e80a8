//! The indexing pipeline end to end, on images the tests draw, through the library and the CLI.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::common::*;
use imgtui::{IndexOptions, OnnxModel, Store, index};

fn run(dir: &Path, store: &mut Store) -> imgtui::Summary {
    let model = OnnxModel::builtin();
    index(
        dir,
        store,
        &model,
        &IndexOptions::default(),
        &|_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

/// The varied test folder, indexed once: (temp dir, image folder, store, feature id).
fn indexed_varied_folder() -> (tempfile::TempDir, std::path::PathBuf, Store, String) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let feature = run(&dir, &mut store).feature;
    (tmp, dir, store, feature)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn vectors_are_unit_length_and_tell_kinds_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    // A second red square, a little different: it should sit next to the first one.
    solid(90, 90, [200, 40, 40])
        .save(dir.join("solid-red-2.png"))
        .unwrap();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let summary = run(&dir, &mut store);
    assert_eq!((summary.found, summary.embedded, summary.cached), (9, 9, 0));
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);

    let c = store.collection(&dir, &summary.feature).unwrap();
    assert_eq!(c.len(), 9);
    assert_eq!(c.dim(), 1280);
    for i in 0..c.len() {
        let len = cosine(&c.row(i), &c.row(i)).sqrt();
        // Unit length, within half precision's rounding (the collection keeps f16).
        assert!((len - 1.0).abs() < 1e-3, "row {i} has length {len}");
        assert!(c.norms[i] > 0.0);
    }
    let at = |name: &str| c.paths.iter().position(|p| p.ends_with(name)).unwrap();
    let red = at("solid-red.png");
    let nearest = (0..c.len())
        .filter(|&j| j != red)
        .max_by(|&a, &b| cosine(&c.row(red), &c.row(a)).total_cmp(&cosine(&c.row(red), &c.row(b))))
        .unwrap();
    assert!(c.paths[nearest].ends_with("solid-red-2.png"));
    assert!(
        cosine(&c.row(red), &c.row(at("solid-red-2.png")))
            > cosine(&c.row(red), &c.row(at("noise-1.png")))
    );
}

#[test]
fn embedding_the_same_folder_twice_gives_the_same_vectors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let mut a = Store::open(&tmp.path().join("a.sqlite")).unwrap();
    let mut b = Store::open(&tmp.path().join("b.sqlite")).unwrap();
    let feature = run(&dir, &mut a).feature;
    run(&dir, &mut b);
    let (ca, cb) = (
        a.collection(&dir, &feature).unwrap(),
        b.collection(&dir, &feature).unwrap(),
    );
    assert_eq!(ca.paths, cb.paths);
    assert_eq!(ca.vectors, cb.vectors);
}

#[test]
fn second_run_embeds_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let store = tmp.path().join("store.sqlite");
    let first = index_json(&dir, &store);
    assert_eq!(first.embedded, 8);
    let second = index_json(&dir, &store);
    assert_eq!(second.found, 8);
    assert_eq!(second.embedded, 0);
    assert_eq!(second.cached, 8);
}

#[test]
fn renamed_file_is_found_by_its_hash() {
    let (_tmp, dir, mut store, feature) = indexed_varied_folder();
    let before = store.collection(&dir, &feature).unwrap();

    std::fs::create_dir(dir.join("moved")).unwrap();
    std::fs::rename(dir.join("disc.png"), dir.join("moved/renamed-disc.png")).unwrap();
    let summary = run(&dir, &mut store);
    assert_eq!(
        (summary.embedded, summary.cached, summary.removed),
        (0, 8, 1)
    );
    assert_eq!(store.vector_count(&feature).unwrap(), 8);

    let after = store.collection(&dir, &feature).unwrap();
    let old = before
        .paths
        .iter()
        .position(|p| p.ends_with("disc.png"))
        .unwrap();
    let new = after
        .paths
        .iter()
        .position(|p| p.ends_with("moved/renamed-disc.png"))
        .unwrap();
    assert_eq!(before.row(old), after.row(new));
    assert!(!after.paths.iter().any(|p| p.ends_with("images/disc.png")));
}

#[test]
fn modified_file_is_embedded_again_and_deleted_file_dropped() {
    let (_tmp, dir, mut store, feature) = indexed_varied_folder();
    let before = store.collection(&dir, &feature).unwrap();

    checkerboard(120, 120, 4)
        .save(dir.join("checker.png"))
        .unwrap();
    std::fs::remove_file(dir.join("noise-1.png")).unwrap();
    let summary = run(&dir, &mut store);
    assert_eq!(
        (
            summary.found,
            summary.embedded,
            summary.cached,
            summary.removed
        ),
        (7, 1, 6, 1)
    );

    let after = store.collection(&dir, &feature).unwrap();
    assert_eq!(after.len(), 7);
    assert!(!after.paths.iter().any(|p| p.ends_with("noise-1.png")));
    let row = |c: &imgtui::Collection| {
        let i = c
            .paths
            .iter()
            .position(|p| p.ends_with("checker.png"))
            .unwrap();
        c.row(i).to_vec()
    };
    assert_ne!(row(&before), row(&after));
    // The vector of the deleted image is gone too.
    assert_eq!(store.vector_count(&feature).unwrap(), 7);
}

#[test]
fn bad_files_are_skipped_with_reasons_and_the_run_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    std::fs::write(dir.join("notes.jpg"), "this is text, not a picture").unwrap();
    std::fs::write(dir.join("empty.png"), b"").unwrap();
    let png = std::fs::read(dir.join("checker.png")).unwrap();
    std::fs::write(dir.join("truncated.png"), &png[..png.len() / 2]).unwrap();
    // A JPEG with a .png name is still a fine image.
    std::fs::copy(dir.join("noise-2.jpg"), dir.join("really-a-jpeg.png")).unwrap();
    std::fs::write(dir.join("readme.txt"), "not an image name, not counted").unwrap();

    let summary = index_json(&dir, &tmp.path().join("store.sqlite"));
    assert_eq!(summary.found, 12);
    assert_eq!(summary.embedded, 8); // really-a-jpeg.png has noise-2.jpg's content
    assert_eq!(summary.cached, 1);
    let skipped = &summary.skipped;
    let reason = |file: &str| {
        skipped
            .iter()
            .find(|s| name(&s.path) == file)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{file} not skipped: {skipped:?}"))
    };
    assert_eq!(skipped.len(), 3);
    assert_eq!(reason("notes.jpg"), "not a recognised image format");
    assert_eq!(reason("empty.png"), "empty file");
    assert!(
        reason("truncated.png").starts_with("corrupt image"),
        "{}",
        reason("truncated.png")
    );
}

#[test]
fn transparent_images_are_composited_onto_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    // A fully transparent image is the background: white, the same as a white image.
    image::RgbaImage::from_pixel(50, 50, image::Rgba([0, 0, 0, 0]))
        .save(dir.join("clear.png"))
        .unwrap();
    solid(50, 50, [255, 255, 255])
        .save(dir.join("white.png"))
        .unwrap();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let summary = run(&dir, &mut store);
    let c = store.collection(&dir, &summary.feature).unwrap();
    assert_eq!(c.len(), 2);
    assert!(cosine(&c.row(0), &c.row(1)) > 0.9999);
}

#[test]
fn missing_folder_is_a_one_line_error_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [&["index"][..], &[][..]] {
        let out = imgtui()
            .args(args)
            .arg(tmp.path().join("no-such-folder"))
            .arg("--store")
            .arg(tmp.path().join("store.sqlite"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("no such folder"), "{stderr}");
    }
    let file = tmp.path().join("file.png");
    solid(4, 4, [0, 0, 0]).save(&file).unwrap();
    let out = imgtui().arg("index").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_not_followed_forever() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    let summary = index_json(&dir, &tmp.path().join("store.sqlite"));
    assert_eq!(summary.found, 8);
    let skipped = &summary.skipped;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].reason, "symlink loop");
}

/// Indexes `dir` with the built-in model; returns the summary and how many files the run
/// had to read (the rest were trusted from their stat fields unread).
fn run_counting_reads(dir: &Path, store: &mut Store) -> (imgtui::Summary, usize) {
    let to_read = std::sync::Mutex::new(None);
    let summary = index(
        dir,
        store,
        &OnnxModel::builtin(),
        &IndexOptions::default(),
        &|p| {
            if let imgtui::Progress::Scanned { to_process, .. } = p {
                *to_read.lock().unwrap() = Some(to_process);
            }
        },
        &AtomicBool::new(false),
    )
    .unwrap();
    (summary, to_read.into_inner().unwrap().unwrap())
}

/// Sets a file's mtime, as an archive tool or `cp -p` / `touch -r` does.
fn set_mtime(path: &Path, t: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Waits until files written now are no longer "racy" (see `imgtui::scan::RACY_MARGIN`).
fn let_files_settle() {
    std::thread::sleep(imgtui::scan::RACY_MARGIN + Duration::from_millis(200));
}

/// Issue 16, case 5: six BMPs of one size and one mtime (as unpacked from one archive); two
/// swapped by renaming, a third overwritten by `cp -p` (same size, same mtime). Size and mtime
/// alone called all six unchanged and kept the old vectors; the store must answer as a fresh
/// store does. An unchanged folder is still re-indexed without reading a file, and a file
/// changed within the timestamp granularity of its read is verified once more.
#[test]
fn files_replaced_with_the_same_size_and_mtime_are_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let pictures = [
        disc(96, 96, [250, 200, 0], [20, 20, 60]),
        stripes(96, 96, 6, true, [0, 0, 0], [255, 255, 0]),
        checkerboard(96, 96, 12),
        noise(96, 96, 7),
        disc(96, 96, [30, 200, 90], [240, 240, 240]),
        stripes(96, 96, 9, false, [200, 0, 0], [0, 0, 200]),
    ];
    let archive_time = std::time::UNIX_EPOCH + Duration::from_secs(1_704_067_200);
    for (name, img) in ["a", "b", "c", "d", "e", "f"].iter().zip(&pictures) {
        let path = dir.join(format!("{name}.bmp"));
        img.save(&path).unwrap();
        set_mtime(&path, archive_time);
    }
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len();
    assert!(
        ["b.bmp", "c.bmp", "f.bmp"]
            .iter()
            .all(|n| size(n) == size("a.bmp"))
    );
    let_files_settle();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let (first, read) = run_counting_reads(&dir, &mut store);
    assert_eq!((first.embedded, first.changed, read), (6, 6, 6));
    // Nothing changed: nothing is read.
    let (again, read) = run_counting_reads(&dir, &mut store);
    assert_eq!(
        (again.embedded, again.cached, again.changed, read),
        (0, 6, 0, 0)
    );

    // Swap a and b by renaming (mv keeps each file's mtime); cp -p a new picture over c.
    std::fs::rename(dir.join("a.bmp"), dir.join("tmp.swap")).unwrap();
    std::fs::rename(dir.join("b.bmp"), dir.join("a.bmp")).unwrap();
    std::fs::rename(dir.join("tmp.swap"), dir.join("b.bmp")).unwrap();
    noise(96, 96, 99).save(dir.join("c.bmp")).unwrap();
    set_mtime(&dir.join("c.bmp"), archive_time);
    assert_eq!(size("c.bmp"), size("d.bmp"));
    let (swapped, read) = run_counting_reads(&dir, &mut store);
    assert_eq!(read, 3, "a, b and c are read again");
    assert_eq!(
        (swapped.embedded, swapped.cached, swapped.changed),
        (1, 5, 3)
    );
    let feature = swapped.feature.clone();
    let mut fresh = Store::open(&tmp.path().join("fresh.sqlite")).unwrap();
    run(&dir, &mut fresh);
    let (kept, truth) = (
        store.collection(&dir, &feature).unwrap(),
        fresh.collection(&dir, &feature).unwrap(),
    );
    assert_eq!(kept.paths, truth.paths);
    assert_eq!(kept.hashes, truth.hashes);
    assert_eq!(
        kept.vectors, truth.vectors,
        "the store answers as a fresh one"
    );

    // Those three were probably read less than RACY_MARGIN after they changed: their records
    // are then racy and the next run verifies them by hashing (finding nothing new); after
    // that they are trusted and an unchanged folder is again re-indexed without reading.
    let_files_settle();
    let (verified, read) = run_counting_reads(&dir, &mut store);
    assert_eq!((verified.embedded, verified.changed), (0, 0));
    assert!(read <= 3, "only the racy records are verified: {read}");
    let (settled, read) = run_counting_reads(&dir, &mut store);
    assert_eq!((settled.embedded, settled.changed, read), (0, 0, 0));
}

/// A symlink to a folder of the collection, or to the folder above it, would list every image
/// twice under another name; each is left out with its reason, and a link to a folder outside
/// is followed.
#[test]
fn links_back_into_the_collection_do_not_count_images_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir.join("inner"));
    let outside = tmp.path().join("outside");
    varied_folder(&outside);
    std::os::unix::fs::symlink("..", dir.join("up")).unwrap();
    std::os::unix::fs::symlink(dir.join("inner"), dir.join("again")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("more")).unwrap();
    let summary = index_json(&dir, &tmp.path().join("s.sqlite"));
    assert_eq!(summary.found, 16, "inner and more, once each: {summary:?}");
    let reasons = skipped_by_name(&summary);
    assert!(
        reasons.contains(&(
            "again".into(),
            "symlink to a folder already in the collection".into()
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "up".into(),
            "symlink to a folder that holds the collection".into()
        )),
        "{reasons:?}"
    );
}

/// `imgtui index --watch DIR --features pixels --store TMP/s.sqlite EXTRA...`, its stdout
/// lines coming through the receiver.
fn spawn_watch(
    tmp: &Path,
    dir: &Path,
    extra: &[&std::ffi::OsStr],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let mut child = imgtui()
        .args(["index", "--watch", "--features", "pixels"])
        .args(extra)
        .arg(dir)
        .arg("--store")
        .arg(tmp.join("s.sqlite"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    (child, rx)
}

/// `index --watch`: one summary line at the start, one per change, and Ctrl-C stops it.
#[test]
fn index_watch_reports_each_change_until_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let (child, rx) = spawn_watch(tmp.path(), &dir, &[]);
    let next = || rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(next().starts_with("8 found, 8 embedded"));
    // Written beside the folder and renamed in, so that on a loaded machine the watcher
    // cannot index it half written (and count it skipped, then removed, in the next line).
    let staged = tmp.path().join("added.png");
    noise(30, 30, 7).save(&staged).unwrap();
    std::fs::rename(&staged, dir.join("added.png")).unwrap();
    let line = next();
    assert!(line.starts_with("9 found, 1 embedded, 8 cached"), "{line}");
    std::fs::remove_file(dir.join("checker.png")).unwrap();
    let line = next();
    // On a loaded machine a late event for the added file can start a pass that lists
    // checker.png just before it goes: it is then counted found and skipped (it vanished),
    // which is true. Either way the deletion is reported.
    assert!(line.contains(" removed"), "{line}");
    // Ctrl-C: it stops watching, keeps what it did, and exits 0.
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped watching"));
}

/// `watch.mode = "rescan"` (what a network file system or inotify's limit falls back to): no
/// file events, a rescan every `rescan_seconds`, said on stderr, and changes still reported.
#[test]
fn index_watch_by_rescans_reports_changes_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "[watch]\nmode = \"rescan\"\nrescan_seconds = 1\n").unwrap();
    let (child, rx) = spawn_watch(tmp.path(), &dir, &["--config".as_ref(), config.as_os_str()]);
    let next = || rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(next().starts_with("8 found, 8 embedded"));
    let staged = tmp.path().join("added.png");
    noise(30, 30, 7).save(&staged).unwrap();
    std::fs::rename(&staged, dir.join("added.png")).unwrap();
    let line = next();
    assert!(line.starts_with("9 found, 1 embedded, 8 cached"), "{line}");
    // A file that is not an image changes nothing in the collection, and is still a line.
    std::fs::write(dir.join("junk.png"), b"not an image").unwrap();
    let line = next();
    assert!(line.contains(", 1 skipped"), "{line}");
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("junk.png: not a recognised image format"),
        "{stderr}"
    );
    assert!(
        stderr.starts_with("imgtui: rescanning every 1 s (watch.mode = \"rescan\") "),
        "{stderr}"
    );
}

/// A bad `[watch]` setting is refused with its key, before anything runs.
#[test]
fn a_bad_watch_setting_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.toml");
    std::fs::write(&config, "[watch]\nmode = \"inotify\"\n").unwrap();
    let out = imgtui()
        .args(["index", "--config"])
        .arg(&config)
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("watch.mode: one of auto, rescan"),
        "{stderr}"
    );
}

/// A file that was an image and is overwritten with something else (junk, nothing) drops out
/// of the collection with its reason: its old vector no longer answers for it.
#[test]
fn an_image_overwritten_with_junk_drops_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let d = dir.to_str().unwrap();
    assert_eq!(index_json(&dir, &store).embedded, 8);
    std::fs::write(dir.join("disc.png"), b"not an image any more").unwrap();
    std::fs::write(dir.join("checker.png"), b"").unwrap();
    let summary = index_json(&dir, &store);
    assert_eq!(summary.removed, 2, "{summary:?}");
    assert_eq!(
        skipped_by_name(&summary),
        [
            ("checker.png".to_owned(), "empty file".to_owned()),
            (
                "disc.png".to_owned(),
                "not a recognised image format".to_owned()
            ),
        ]
    );
    let graph: imgtui::answers::Neighbours = run_answer(&["neighbours", d, "--n", "1"], &store);
    let paths: Vec<&str> = graph
        .images
        .iter()
        .map(|n| n.path.to_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 6, "{paths:?}");
    assert!(
        paths
            .iter()
            .all(|p| !p.ends_with("disc.png") && !p.ends_with("checker.png"))
    );
}

/// An indexed image that became a FIFO (or a broken link) is removed once, and said so once.
#[cfg(unix)]
#[test]
fn an_image_that_became_a_fifo_is_removed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let store = tmp.path().join("store.sqlite");
    let first = index_json(&dir, &store);
    let fifo = dir.join("solid-red.png");
    std::fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo);
    let second = index_json(&dir, &store);
    assert_eq!(second.found, first.found - 1);
    assert_eq!(second.removed, 1, "{second:?}");
    assert_eq!(second.skipped.len(), 1);
    assert_eq!(second.skipped[0].reason, "not a regular file");
}
