//! The neighbour index (IVF): `imgtui index` makes and saves it once a folder is large
//! enough (`index.neighbour_index_from`, lowered here so that a few hundred drawn images
//! are), keeps it in step as images come and go, and a process killed while making it
//! leaves a store whose next run finishes the job.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use imgtui::analysis::neighbours::{Select, exact_query, query};
use imgtui::{Collection, Session};

use crate::common::*;

/// `n` small drawn images, `first` on: discs, stripes and noise, each a little different.
fn draw(dir: &Path, first: u32, n: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in first..first + n {
        let v = (i * 37 % 200) as u8;
        let img = match i % 3 {
            0 => disc(24 + i % 9, 24, [250, v, 40], [10, 20, 60]),
            1 => stripes(28, 28, 3 + i % 5, i % 2 == 0, [0, v, 0], [255, 255, v]),
            _ => noise(26, 26, i as u64),
        };
        img.save(dir.join(format!("img-{i:04}.png"))).unwrap();
    }
}

/// A library session on `dir` with the `pixels` descriptor (as the runs below use) and the
/// index made from 100 images.
fn session(dir: &Path, store: &Path) -> Session {
    let mut config = imgtui::config::Config::default();
    config.index.neighbour_index_from = 100;
    let pixels: std::sync::Arc<dyn imgtui::Extractor> =
        imgtui::features::select("pixels", Default::default())
            .unwrap()
            .into();
    Session::open(dir, store, config, pixels).unwrap()
}

/// The collection with its saved index, which must index every image of it.
fn with_saved_index(dir: &Path, store: &Path) -> Collection {
    let s = session(dir, store);
    let c = s.images().unwrap();
    s.use_saved_search_index(&c);
    let index = c.index.get().expect("an index is saved");
    assert_eq!(index.assignment_len(), c.len());
    c
}

/// Every image's 5 nearest through the index, against an exact search: recall@5.
fn recall(c: &Collection) -> f64 {
    let mut found = 0;
    for i in 0..c.len() {
        let fast = query(c, &c.row(i), Select::Nearest(5), Some(i));
        let exact = exact_query(c, &c.row(i), Select::Nearest(5), Some(i));
        assert_eq!(fast.len(), 5);
        found += fast.iter().filter(|f| exact.contains(f)).count();
    }
    found as f64 / (5 * c.len()) as f64
}

#[test]
fn the_neighbour_index_is_saved_kept_in_step_and_survives_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("art");
    let store = tmp.path().join("store.sqlite");
    let settings = tmp.path().join("settings.toml");
    std::fs::write(&settings, "[index]\nneighbour_index_from = 100\n").unwrap();
    let index = |store: &Path| {
        let args = [
            "--config".as_ref(),
            settings.as_os_str(),
            "--features".as_ref(),
        ];
        let mut args: Vec<&std::ffi::OsStr> = args.to_vec();
        args.extend(["pixels".as_ref(), "index".as_ref(), dir.as_os_str()]);
        let ran = run(&args, store);
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        ran.stderr
    };

    // Below the threshold: no index.
    draw(&dir, 0, 60);
    assert!(!index(&store).contains("neighbour index"));
    // From it: made and saved, and it finds what an exact search finds.
    draw(&dir, 60, 240);
    let said = index(&store);
    assert!(
        said.contains("neighbour index saved: 4 cells of similar images"),
        "{said}"
    );
    let c = with_saved_index(&dir, &store);
    assert_eq!(c.len(), 300);
    let first = recall(&c);
    assert!(first >= 0.95, "recall@5 {first}");
    // Nothing changed: the index is not made again (and no vector is read).
    assert!(!index(&store).contains("neighbour index"));

    // Images come and go: the saved index is fitted to them and saved again.
    for i in 0..20 {
        std::fs::remove_file(dir.join(format!("img-{i:04}.png"))).unwrap();
    }
    draw(&dir, 300, 40);
    assert!(index(&store).contains("neighbour index saved"));
    let c = with_saved_index(&dir, &store);
    assert_eq!(c.len(), 320);
    assert!(recall(&c) >= 0.95);

    // kill -9 at several moments of a run that must make the index again (the folder grew
    // fourfold, so it is trained anew): each later open reads the old index or the new.
    draw(&dir, 340, 1000);
    let mut killed = 0;
    for delay_ms in [30, 120, 400, 900] {
        let mut child = imgtui()
            .args(["--config".as_ref(), settings.as_os_str()])
            .args(["--features", "pixels", "index", "--store"])
            .arg(&store)
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        let s = session(&dir, &store);
        let c = s.collection().unwrap();
        s.use_saved_search_index(&c);
        let index = c.index.get().expect("the old index or the new");
        assert_eq!(index.assignment_len(), c.len());
    }
    assert!(killed >= 1, "no run was killed mid-way");
    // The next run finishes: every image indexed and in the index.
    index(&store);
    let c = with_saved_index(&dir, &store);
    assert_eq!(c.len(), 1320);
    // Trained by this run for 1,320 images (20 cells), or by a killed one on the images
    // indexed by then: one made for at least half as many cells is kept.
    let cells = c.index.get().unwrap().cells();
    assert!((10..=20).contains(&cells), "{cells} cells");
    assert!(recall(&c) >= 0.95);

    // `similar` reads only the probed cells' vectors: the same answers as the index in
    // memory gives, with exact distances, the query left out.
    for i in [0, 333, 1000] {
        let path = c.paths[i].clone();
        let args = [
            "--config".as_ref(),
            settings.as_os_str(),
            "--features".as_ref(),
            "pixels".as_ref(),
            "similar".as_ref(),
            path.as_os_str(),
            "--n".as_ref(),
            "5".as_ref(),
        ];
        let answer: imgtui::answers::Similar = run_answer(&args, &store);
        let want = query(&c, &c.row(i), Select::Nearest(5), Some(i));
        let got: Vec<(std::path::PathBuf, f32)> = answer
            .neighbours
            .iter()
            .map(|nb| (nb.path.clone(), nb.distance))
            .collect();
        assert_eq!(got.len(), 5);
        for (nb, (path, distance)) in want.iter().zip(&got) {
            assert_eq!(&c.paths[nb.index], path);
            assert!((nb.distance - distance).abs() < 1e-5);
        }
    }
}

#[test]
fn a_folder_held_in_8_bits_finds_the_neighbours_half_precision_finds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("art");
    let store = tmp.path().join("store.sqlite");
    draw(&dir, 0, 300);
    let mut half = session(&dir, &store);
    half.update_index(&|_| {}, &Default::default()).unwrap();
    let c = half.images().unwrap();
    half.prepare_search(&c);
    assert_eq!(c.vectors.precision(), imgtui::collection::Precision::Half);

    // From 301 images: still half precision; from 300: the codes, a byte a value.
    let mut bytes = session(&dir, &store);
    bytes.keep_vectors_in_bytes_from(301);
    assert_eq!(
        bytes.images().unwrap().vectors.precision(),
        imgtui::collection::Precision::Half
    );
    bytes.keep_vectors_in_bytes_from(300);
    let b = bytes.images().unwrap();
    assert_eq!(b.vectors.precision(), imgtui::collection::Precision::Byte);
    assert_eq!(b.paths, c.paths);
    assert!(b.vectors.bytes() * 10 < c.vectors.bytes() * 6);
    // The same saved index, and re-ranked on the exact vectors: every list, distance for
    // distance, as half precision gives it.
    bytes.prepare_search(&b);
    assert!(b.index.get().is_some());
    let mut rounded_differ = 0;
    for i in 0..c.len() {
        let want = Session::similar(&c, &c.row(i), Select::Nearest(8), Some(i));
        assert_eq!(bytes.neighbours_of(&b, i, 8).unwrap(), want, "image {i}");
        assert_eq!(half.neighbours_of(&c, i, 8).unwrap(), want);
        rounded_differ +=
            usize::from(Session::similar(&b, &b.row(i), Select::Nearest(8), Some(i)) != want);
    }
    // The codes alone give other distances: the re-rank is what makes them equal.
    assert!(rounded_differ > 0);
}
