//! Clustering from the command line on images the test draws: three families of pictures
//! must come out as three clusters, by every method; the clustering is saved, reused, and
//! extended to new images.

use std::collections::BTreeSet;

use crate::common::*;
use imgtui::analysis::clustering::{Method, MethodFrom};
use imgtui::answers::{ClusterRow, Clusters, Exported, ImageRow};

#[test]
fn every_method_recovers_the_three_families() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    for method in ["kmeans", "gmm", "agglomerative"] {
        let answer: Clusters = run_answer(&["cluster", d, "--method", method, "--k", "3"], &store);
        assert_eq!(answer.method.name(), method);
        assert_eq!(answer.k, 3);
        assert_eq!(partition(&answer), clean_split(), "{method}");
        let sizes: Vec<usize> = answer.clusters.iter().map(|c| c.size).collect();
        assert_eq!(sizes, [5, 5, 5]);
    }
    // The lattice: 15 images in 5 × 3 cells, each its own, and a family's images side by
    // side (each family's cells touch another of its cells).
    let answer: Clusters = run_answer(&["cluster", d, "--k", "3"], &store);
    let cells: Vec<(u32, u32)> = answer.images.iter().map(|i| (i.gx, i.gy)).collect();
    let unique: BTreeSet<_> = cells.iter().collect();
    assert_eq!(unique.len(), 15);
    assert!(cells.iter().all(|&(x, y)| x < 5 && y < 3), "{cells:?}");
    for (i, a) in answer.images.iter().enumerate() {
        let touches = answer.images.iter().enumerate().any(|(j, b)| {
            j != i
                && family(&a.path) == family(&b.path)
                && a.gx.abs_diff(b.gx) + a.gy.abs_diff(b.gy) == 1
        });
        assert!(
            touches,
            "{} at {:?} is apart from its family",
            a.path.display(),
            cells[i]
        );
    }
    // The lattice is saved with the clustering: reused as it is, and kept by a refit with
    // another k (the same map).
    let cells_of = |answer: &Clusters| -> Vec<(std::path::PathBuf, u32, u32)> {
        let mut cells: Vec<_> = answer
            .images
            .iter()
            .map(|i| (i.path.clone(), i.gx, i.gy))
            .collect();
        cells.sort();
        cells
    };
    let again: Clusters = run_answer(&["cluster", d, "--k", "3"], &store);
    assert_eq!(cells_of(&again), cells_of(&answer));
    let refit: Clusters = run_answer(&["cluster", d, "--k", "4"], &store);
    assert_eq!(refit.k, 4);
    assert_eq!(cells_of(&refit), cells_of(&answer));
    // A t-SNE map: every image placed, not all at one point, and the clusters unchanged.
    let answer: Clusters = run_answer(&["cluster", d, "--k", "3", "--map", "tsne"], &store);
    assert_eq!(partition(&answer), clean_split());
    let xs: Vec<f32> = answer.images.iter().map(|i| i.x).collect();
    assert!(xs.iter().all(|x| x.is_finite()));
    assert!(xs.iter().any(|&x| (x - xs[0]).abs() > 1e-3));

    // DBSCAN with its suggested eps: no cluster mixes two families.
    let answer: Clusters = run_answer(&["cluster", d, "--method", "dbscan"], &store);
    assert!(answer.eps.unwrap() > 0.0);
    assert!(answer.reason.contains("knee"));
    for cl in &answer.clusters {
        let n = cl.cluster;
        if n == 0 {
            assert_eq!(cl.name, "unclustered");
            continue;
        }
        let fams: BTreeSet<&str> = answer
            .images
            .iter()
            .filter(|i| i.cluster == n)
            .map(|i| family(&i.path))
            .collect();
        assert_eq!(fams.len(), 1, "cluster {n} mixes {fams:?}");
    }
}

#[test]
fn auto_k_sweeps_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let answer: Clusters = run_answer(&["cluster", dir.to_str().unwrap()], &store);
    let sweep = answer.sweep.as_ref().unwrap();
    let ks: Vec<usize> = sweep.iter().map(|r| r.k).collect();
    assert_eq!(
        ks,
        (2..=5).collect::<Vec<_>>(),
        "k = 2..=n / 3 for 15 images: clusters of 3 on average at the least"
    );
    let inertia: Vec<f64> = sweep.iter().map(|r| r.inertia).collect();
    assert!(
        inertia.windows(2).all(|w| w[1] <= w[0] * 1.0001),
        "{inertia:?}"
    );
    for r in sweep {
        assert!((-1.0..=1.0).contains(&r.silhouette));
        assert!(r.distortion > 0.0);
        assert!(r.gap_sd >= 0.0);
    }
    assert_eq!(answer.k, 3, "{}", answer.reason);
    assert_eq!(partition(&answer), clean_split());
    let reason = &answer.reason;
    assert!(
        reason.contains("silhouette") && reason.contains("elbow"),
        "{reason}"
    );
    for cl in &answer.clusters {
        assert!(!cl.name.is_empty(), "every cluster is named");
        assert_eq!(cl.classes.len(), 3);
    }
}

#[test]
fn saved_clustering_is_reused_and_extended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let first: Clusters = run_answer(&["cluster", d, "--k", "3"], &store);
    assert!(!first.saved);
    let again: Clusters = run_answer(&["cluster", d], &store);
    assert!(again.saved, "no flag differs from the saved request");
    assert_eq!(again.images, first.images);

    // A new disc joins the disc cluster without refitting.
    disc(100, 100, [255, 200, 30], [30, 20, 70])
        .save(dir.join("disc-new.png"))
        .unwrap();
    let extended: Clusters = run_answer(&["cluster", d], &store);
    assert!(extended.saved);
    assert_eq!(extended.new_images, 1);
    let cluster_of = |answer: &Clusters, file: &str| {
        answer
            .images
            .iter()
            .find(|i| name(&i.path) == file)
            .unwrap()
            .cluster
    };
    assert_eq!(
        cluster_of(&extended, "disc-new.png"),
        cluster_of(&extended, "disc-0.png")
    );
    // On the (UMAP) map it lands among the discs: its nearest mapped images are discs.
    let images = &extended.images;
    let xy = |i: &ImageRow| [f64::from(i.x), f64::from(i.y)];
    let new = images
        .iter()
        .find(|i| name(&i.path) == "disc-new.png")
        .unwrap();
    let mut others: Vec<(f64, &str)> = images
        .iter()
        .filter(|i| !std::ptr::eq(*i, new))
        .map(|i| {
            let (a, b) = (xy(i), xy(new));
            let d = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
            (d, family(&i.path))
        })
        .collect();
    others.sort_by(|a, b| a.0.total_cmp(&b.0));
    let near: Vec<&str> = others[..3].iter().map(|o| o.1).collect();
    assert_eq!(near, ["disc"; 3], "{others:?}");

    // Reclustering is seeded: the same images give the same labels.
    let refit: Clusters = run_answer(&["cluster", d, "--recluster"], &store);
    assert!(!refit.saved);
    let refit2: Clusters = run_answer(&["cluster", d, "--recluster"], &store);
    assert_eq!(refit.images, refit2.images);
    assert_eq!(partition(&refit), clean_split());
}

#[test]
fn a_new_k_keeps_the_sweep_of_the_same_images() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let auto: Clusters = run_answer(&["cluster", d], &store);
    assert!(auto.sweep.as_ref().is_some_and(|s| !s.is_empty()));
    // The sweep does not depend on the k chosen (the explorer's + and -).
    let four: Clusters = run_answer(&["cluster", d, "--k", "4"], &store);
    assert_eq!(four.k, 4);
    assert_eq!(four.sweep, auto.sweep);
    // With other images it would be stale, so it is not kept.
    disc(100, 100, [255, 200, 30], [30, 20, 70])
        .save(dir.join("disc-new.png"))
        .unwrap();
    let five: Clusters = run_answer(&["cluster", d, "--k", "5"], &store);
    assert_eq!(five.k, 5);
    assert!(five.sweep.is_none());
}

#[test]
fn csv_tables_and_bad_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let csv = |table: &str| {
        let out = imgtui()
            .args([
                "cluster",
                dir.to_str().unwrap(),
                "--format",
                "csv",
                "--table",
                table,
            ])
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let images = csv("images");
    assert!(images.starts_with("path,cluster,name,distance,x,y,gx,gy\n"));
    assert_eq!(images.lines().count(), 16);
    let clusters = csv("clusters");
    assert!(clusters.starts_with("cluster,size,name,generated_name\n"));
    let sweep = csv("sweep");
    assert!(sweep.starts_with("k,inertia,distortion,silhouette,gap,gap_sd\n"));
    assert_eq!(sweep.lines().count(), 5, "a header and k = 2..=5");

    for bad in [
        ["--k", "0"],
        ["--k", "16"],
        ["--eps", "3"],
        ["--method", "spectral"],
    ] {
        let out = imgtui()
            .args(["cluster", dir.to_str().unwrap()])
            .args(bad)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.trim().is_empty());
    }
}

#[test]
fn export_copies_a_cluster_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let answer: Clusters = run_answer(&["cluster", d, "--k", "3"], &store);
    let disc_cluster = answer
        .images
        .iter()
        .find(|i| name(&i.path) == "disc-0.png")
        .unwrap()
        .cluster
        .to_string();
    let target = tmp.path().join("out");
    let t = target.to_str().unwrap();
    let report: Exported = run_answer(
        &["export", d, "--cluster", &disc_cluster, "--to", t, "--json"],
        &store,
    );
    assert_eq!(report.written, 5);
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        (0..5).map(|i| format!("disc-{i}.png")).collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read(target.join("disc-3.png")).unwrap(),
        std::fs::read(dir.join("disc-3.png")).unwrap()
    );
    // Copies keep their modification time.
    let mtime = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    assert_eq!(
        mtime(&target.join("disc-3.png")),
        mtime(&dir.join("disc-3.png"))
    );

    // A folder with files in it is refused, and nothing in it changes.
    std::fs::write(target.join("disc-0.png"), b"mine").unwrap();
    let out = imgtui()
        .args(["export", d, "--cluster", &disc_cluster, "--to", t])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not empty") && said.contains("--merge"),
        "{said}"
    );
    assert_eq!(std::fs::read(target.join("disc-0.png")).unwrap(), b"mine");

    // Merging keeps the user's file, adds the image under a new name, skips identical ones.
    let report: Exported = run_answer(
        &[
            "export",
            d,
            "--cluster",
            &disc_cluster,
            "--to",
            t,
            "--merge",
            "--json",
        ],
        &store,
    );
    assert_eq!(report.written, 1);
    assert_eq!(report.already_there, 4);
    assert_eq!(std::fs::read(target.join("disc-0.png")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(target.join("disc-0 (2).png")).unwrap(),
        std::fs::read(dir.join("disc-0.png")).unwrap()
    );

    // Without --to, a second export of the cluster goes to a fresh folder ("-2"), and the
    // first is left as it was; --merge joins the first.
    let export_here = |extra: &[&str]| {
        let out = imgtui()
            .current_dir(tmp.path())
            .args(["export", d, "--cluster", &disc_cluster])
            .args(extra)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    export_here(&[]);
    let exported = tmp.path().join("imgtui-export");
    let folders = || {
        let mut f: Vec<String> = std::fs::read_dir(&exported)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        f.sort();
        f
    };
    let first = folders();
    assert_eq!(first.len(), 1, "{first:?}");
    std::fs::write(exported.join(&first[0]).join("note.txt"), b"mine").unwrap();
    export_here(&[]);
    assert_eq!(folders(), [first[0].clone(), format!("{}-2", first[0])]);
    assert_eq!(
        std::fs::read_dir(exported.join(format!("{}-2", first[0])))
            .unwrap()
            .count(),
        5
    );
    assert_eq!(
        std::fs::read(exported.join(&first[0]).join("note.txt")).unwrap(),
        b"mine"
    );
    export_here(&["--merge"]);
    assert_eq!(folders().len(), 2, "--merge makes no third folder");

    // No such cluster: a one-line usage error.
    let out = imgtui()
        .args(["export", d, "--cluster", "9", "--to", t])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cluster 9"));
}

#[test]
fn montage_draws_one_sheet_per_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    run_json(&["cluster", d, "--k", "3"], &store);
    let sheets = tmp.path().join("sheets");
    let out = imgtui()
        .args([
            "montage",
            d,
            "--size",
            "64",
            "--out",
            sheets.to_str().unwrap(),
        ])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(written.len(), 3);
    for sheet in &written {
        assert!(sheet.ends_with(".png"));
        let img = image::open(sheet).unwrap().to_rgb8();
        // Five 64-pixel thumbnails in a 3 × 2 grid, with padding and captions.
        assert_eq!(img.width(), 6 + 3 * 70);
        assert_eq!(img.height(), 6 + 2 * (64 + 12 + 6));
    }
    // An existing sheet is never replaced: a second run saves "NN-name (2).png" beside it.
    let before: Vec<Vec<u8>> = written.iter().map(|s| std::fs::read(s).unwrap()).collect();
    let again = imgtui()
        .args([
            "montage",
            d,
            "--size",
            "64",
            "--out",
            sheets.to_str().unwrap(),
        ])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let second: Vec<&str> = std::str::from_utf8(&again.stdout)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(second.len(), 3);
    for (first, next) in written.iter().zip(&second) {
        assert_eq!(*next, first.replace(".png", " (2).png"));
        assert!(image::open(next).is_ok());
    }
    let after: Vec<Vec<u8>> = written.iter().map(|s| std::fs::read(s).unwrap()).collect();
    assert_eq!(after, before, "the first sheets are untouched");
    // One cluster's sheet to a file that exists: refused in words, the file untouched.
    let mine = tmp.path().join("mine.png");
    std::fs::write(&mine, b"the user's").unwrap();
    let ran = run(
        &["montage", d, "--cluster", "1", "-o", mine.to_str().unwrap()],
        &store,
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("already exists") && !ran.stderr.contains("os error"),
        "{}",
        ran.stderr
    );
    assert_eq!(std::fs::read(&mine).unwrap(), b"the user's");
}

#[test]
fn links_never_overwrite_either() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    run_json(&["cluster", d, "--k", "3"], &store);
    for mode in ["symlink", "hardlink"] {
        let target = tmp.path().join(mode);
        std::fs::create_dir(&target).unwrap();
        // Every cluster's first file name, taken by the user already.
        for i in 0..5 {
            for f in ["disc", "stripes", "checker"] {
                std::fs::write(target.join(format!("{f}-{i}.png")), b"user").unwrap();
            }
        }
        let t = target.to_str().unwrap();
        let report: Exported = run_answer(
            &[
                "export",
                d,
                "--cluster",
                "1",
                "--to",
                t,
                "--mode",
                mode,
                "--merge",
                "--json",
            ],
            &store,
        );
        assert_eq!(report.written, 5, "{mode}");
        for entry in std::fs::read_dir(&target).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.contains(" (2)") {
                let meta = std::fs::symlink_metadata(&path).unwrap();
                assert_eq!(meta.file_type().is_symlink(), mode == "symlink", "{name}");
                let original = dir.join(name.replace(" (2)", ""));
                assert_eq!(
                    std::fs::read(&path).unwrap(),
                    std::fs::read(original).unwrap()
                );
            } else {
                assert_eq!(std::fs::read(&path).unwrap(), b"user", "{name} untouched");
            }
        }
    }
}

#[test]
fn export_stays_out_of_the_collection_and_never_writes_through_links() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    run_json(&["cluster", d, "--k", "3"], &store);
    // A target inside the collection is refused unless asked for.
    let inside = dir.join("exported");
    let out = imgtui()
        .args([
            "export",
            d,
            "--cluster",
            "1",
            "--to",
            inside.to_str().unwrap(),
        ])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("inside the collection") && err.contains("--inside"),
        "{err}"
    );
    assert!(!inside.exists());
    let report: Exported = run_answer(
        &[
            "export",
            d,
            "--cluster",
            "1",
            "--to",
            inside.to_str().unwrap(),
            "--inside",
            "--json",
        ],
        &store,
    );
    assert_eq!(report.written, 5);

    // Links already in the target are never written through.
    let target = tmp.path().join("out");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let members: Vec<String> = std::fs::read_dir(&inside)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in &members {
        std::os::unix::fs::symlink(elsewhere.join(name), target.join(name)).unwrap();
    }
    let report: Exported = run_answer(
        &[
            "export",
            d,
            "--cluster",
            "1",
            "--to",
            target.to_str().unwrap(),
            "--merge",
            "--json",
        ],
        &store,
    );
    assert_eq!(report.written, 5);
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through a link"
    );
    assert_eq!(
        std::fs::read_dir(&target).unwrap().count(),
        10,
        "new names beside the links"
    );
}

/// A write that fails midway (here: a file-size limit, as a full disk would) leaves no partial
/// file and says which files were not exported.
#[test]
fn a_failing_write_during_export_leaves_no_partial_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3 {
        noise(300, 300, i)
            .save(dir.join(format!("n{i}.png")))
            .unwrap();
    }
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    run_json(&["cluster", d, "--k", "1"], &store);
    let target = tmp.path().join("out");
    // `ulimit -f` in 512-byte blocks: 100 KB, smaller than each image; the signal it would
    // raise is ignored, so the write fails with EFBIG like a full disk's ENOSPC.
    let script = format!(
        "ulimit -f 200; trap '' XFSZ; exec {} export {d} --cluster 1 --to {} --json --store {}",
        env!("CARGO_BIN_EXE_imgtui"),
        target.display(),
        store.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let report: Exported = parse_answer(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(report.written, 0, "{report:?}");
    assert_eq!(report.failed.len(), 3, "{report:?}");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not exported") && err.contains("too large"),
        "{err}"
    );
    // No partial file, and no empty folder either: nothing was exported.
    assert!(!target.exists(), "no partial files, no empty folder");
}

/// The ImageNet classes 0–2: what a contrast of 0 everywhere used to name a cluster, in
/// index order.
const INDEX_ORDER: &str = "tench · goldfish · great white shark";

/// The structure words that end a name by what is visible (see the clusters guide).
const STRUCTURE_WORDS: [&str; 9] = [
    "stripes", "rings", "lines", "cells", "flat", "edges", "grain", "soft", "curves",
];

/// A cluster's classes are listed likeliest first, and the name starts with the first, or
/// (the classifier not confident of a drawing) is made of what is visible.
fn named_by_likeliest(cluster: &ClusterRow) -> Result<(), String> {
    let name = cluster.name.as_str();
    let classes = &cluster.classes;
    let p: Vec<f32> = classes.iter().map(|c| c.probability).collect();
    if name.is_empty() || name.starts_with("tench") || name == INDEX_ORDER {
        return Err(format!("named {name:?}"));
    }
    if !p.windows(2).all(|w| w[0] >= w[1]) {
        return Err(format!("{name:?}: classes not likeliest first: {p:?}"));
    }
    let by_looks = STRUCTURE_WORDS
        .iter()
        .any(|w| name.split(" · ").any(|n| n == *w));
    if !by_looks && !name.starts_with(classes[0].class.as_str()) {
        return Err(format!("{name:?} does not start with the likeliest class"));
    }
    Ok(())
}

#[test]
fn a_cluster_with_nothing_to_contrast_with_is_named_by_its_likeliest_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store.sqlite");
    // Twelve copies of one picture in four lossless formats: every image is the same vector.
    let copies = tmp.path().join("copies");
    std::fs::create_dir_all(&copies).unwrap();
    let picture = disc(120, 90, [250, 200, 0], [20, 20, 60]);
    for i in 0..12 {
        let ext = ["png", "bmp", "tiff", "qoi"][i % 4];
        picture
            .save(copies.join(format!("same-{i:02}.{ext}")))
            .unwrap();
    }
    let c = copies.to_str().unwrap();
    for (k, reason) in [
        ("1", "k = 1 as asked"),
        ("auto", "every image has the same vector: one cluster"),
        (
            "3",
            "k = 3 as asked; the images hold only 1 distinct vector, so 1 cluster",
        ),
    ] {
        let answer: Clusters = run_answer(&["cluster", c, "--k", k], &store);
        assert_eq!(answer.k, 1, "copies, k={k}");
        assert_eq!(answer.reason, reason, "copies, k={k}");
        let explained = answer.explained_variance;
        assert!(
            (0.0..=1.0).contains(&explained),
            "copies, k={k}: explained {explained}"
        );
        for cluster in &answer.clusters {
            named_by_likeliest(cluster).unwrap_or_else(|e| panic!("copies, k={k}: {e}"));
        }
    }
    // Every method: one cluster of the copies (the mixture used to fail, Ward to split them).
    for method in ["kmeans", "gmm", "agglomerative", "dbscan"] {
        let answer: Clusters = run_answer(&["cluster", c, "--method", method, "--k", "3"], &store);
        assert_eq!(answer.k, 1, "{method}: {}", answer.reason);
        named_by_likeliest(&answer.clusters[0]).unwrap_or_else(|e| panic!("{method}: {e}"));
    }
    // `--k 1` on a varied folder: the one cluster is the whole collection.
    let varied = tmp.path().join("varied");
    families(&varied);
    let answer: Clusters = run_answer(&["cluster", varied.to_str().unwrap(), "--k", "1"], &store);
    let clusters = &answer.clusters;
    assert_eq!(clusters.len(), 1);
    named_by_likeliest(&clusters[0]).unwrap();
    // With three clusters the names contrast again: no cluster is named in index order, and
    // they are not all the same.
    let answer: Clusters = run_answer(&["cluster", varied.to_str().unwrap(), "--k", "3"], &store);
    let names: std::collections::BTreeSet<&str> =
        answer.clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(!names.contains(INDEX_ORDER));
}

/// `--k N` after a DBSCAN clustering was saved means N clusters (by the configured method),
/// not the saved DBSCAN with the flag ignored.
#[test]
fn k_after_a_saved_dbscan_is_obeyed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let dbscan: Clusters = run_answer(&["cluster", d, "--method", "dbscan"], &store);
    assert_eq!(dbscan.method, Method::Dbscan);
    let three: Clusters = run_answer(&["cluster", d, "--k", "3"], &store);
    assert_eq!(three.method, Method::Kmeans);
    assert_eq!(three.k, 3);
}

/// Files that vanished between listing and exporting: each is reported, and no empty folder
/// is left behind.
#[test]
fn an_export_of_vanished_files_leaves_no_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = vec![tmp.path().join("gone-1.png"), tmp.path().join("gone-2.png")];
    let target = tmp.path().join("out").join("03-rings");
    let report = imgtui::export::export(&gone, &target, imgtui::export::Mode::Copy, false).unwrap();
    assert_eq!(report.written, 0);
    assert_eq!(report.failed.len(), 2);
    assert!(!target.exists(), "no empty folder is left");
    // A folder that was there before stays.
    std::fs::create_dir_all(&target).unwrap();
    imgtui::export::export(&gone, &target, imgtui::export::Mode::Copy, false).unwrap();
    assert!(target.is_dir());
}

/// A method asked for once sticks (it is the saved clustering's), and every answer says so.
#[test]
fn the_method_and_where_it_came_from_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    let first = run(&["cluster", d, "--k", "3"], &store);
    let answer: Clusters = parse_answer(&first.stdout);
    assert_eq!(answer.method, Method::Kmeans);
    assert_eq!(answer.method_from, MethodFrom::Settings);
    assert!(
        first.stderr.contains("by kmeans (from the settings"),
        "{}",
        first.stderr
    );
    let asked = run(
        &["cluster", d, "--method", "agglomerative", "--k", "3"],
        &store,
    );
    let answer: Clusters = parse_answer(&asked.stdout);
    assert_eq!(answer.method_from, MethodFrom::Asked);
    assert!(
        asked.stderr.contains("by agglomerative (as asked"),
        "{}",
        asked.stderr
    );
    let again = run(&["cluster", d, "--k", "2"], &store);
    let answer: Clusters = parse_answer(&again.stdout);
    assert_eq!(answer.method, Method::Agglomerative);
    assert_eq!(answer.method_from, MethodFrom::Saved);
    assert!(
        again
            .stderr
            .contains("by agglomerative (the saved method; --method to change"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_saved_clustering_answers_without_reading_a_vector() {
    use imgtui::analysis::clustering::KChoice;
    use imgtui::analysis::curation::Edit;
    use imgtui::analysis::saved::Wanted;
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store.sqlite");
    let (mut session, c) = indexed_families(tmp.path());
    let three = Wanted {
        k: Some(KChoice::Fixed(3)),
        ..Default::default()
    };
    session.clustering(&c, &three).unwrap();
    let (named, _) = session
        .edit(
            &c,
            Edit::Name {
                cluster: 0,
                name: "first".to_owned(),
            },
        )
        .unwrap();
    let (full, full_origin, _) = session.clustering(&c, &Wanted::default()).unwrap();
    assert_eq!(full.labels, named.labels);

    // With the vectors gone from the store, the warm answer is the same: none was read.
    rusqlite::Connection::open(&store)
        .unwrap()
        .execute("DELETE FROM vectors", [])
        .unwrap();
    let (files, warm, origin, notes) = session
        .clustered_images(&Wanted::default(), &|_| {})
        .unwrap();
    assert_eq!(files.dim(), 0, "paths and hashes alone");
    assert_eq!(files.paths, c.paths);
    assert_eq!(origin, full_origin);
    assert!(notes.is_empty());
    assert_eq!(warm.labels, full.labels);
    assert_eq!(warm.map, full.map);
    assert_eq!(warm.distances, full.distances);
    assert_eq!(warm.lattice, full.lattice);
    let names = |cl: &imgtui::analysis::clustering::Clustering| -> Vec<String> {
        cl.clusters.iter().map(|c| c.name.clone()).collect()
    };
    assert_eq!(names(&warm), names(&full));
    assert_eq!(warm.clusters[0].name, "first");
    // Another k needs a fit, so the vectors: there are none now.
    let two = Wanted {
        k: Some(KChoice::Fixed(2)),
        ..Default::default()
    };
    assert!(session.clustered_images(&two, &|_| {}).is_err());
}

#[test]
fn a_new_fit_tells_its_stages_in_order_and_a_saved_one_none() {
    use imgtui::session::FitStage;
    use std::cell::RefCell;
    let tmp = tempfile::tempdir().unwrap();
    let (mut session, c) = indexed_families(tmp.path());
    let heard = RefCell::new(Vec::new());
    let wanted = imgtui::analysis::saved::Wanted::default();
    session
        .clustering_reporting(&c, &wanted, &|s| heard.borrow_mut().push(s))
        .unwrap();
    let heard = heard.into_inner();
    let epochs: Vec<(usize, usize)> = heard
        .iter()
        .filter_map(|s| match s {
            FitStage::Mapping { done, total } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    let total = epochs[0].1;
    assert_eq!(epochs, (1..=total).map(|d| (d, total)).collect::<Vec<_>>());
    let mut stages: Vec<FitStage> = heard
        .into_iter()
        .filter(|s| !matches!(s, FitStage::Mapping { .. }))
        .collect();
    stages.dedup();
    assert_eq!(
        stages,
        [
            FitStage::Projecting { images: c.len() },
            FitStage::Neighbours,
            FitStage::Lattice,
            FitStage::ChoosingK,
            FitStage::Assigning,
            FitStage::Naming
        ]
    );
    assert_eq!(
        FitStage::Mapping { done: 3, total: 9 }.to_string(),
        "laying out the map (UMAP epoch 3 of 9)"
    );
    // The saved clustering answers next time: no fit, nothing to tell.
    let quiet = RefCell::new(0);
    session
        .clustering_reporting(&c, &wanted, &|_| *quiet.borrow_mut() += 1)
        .unwrap();
    assert_eq!(quiet.into_inner(), 0);
}
