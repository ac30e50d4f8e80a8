//! Headless answers: similar images (N and radius), the kNN graph, near-duplicates, bad arguments.

use crate::common::*;
use imgtui::answers::{Duplicates, Neighbours, Ranked, SCHEMA, Similar};

fn names(ranked: &[Ranked]) -> Vec<String> {
    ranked.iter().map(|x| name(&x.path).to_owned()).collect()
}

#[test]
fn similar_by_count_and_by_radius() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    solid(90, 90, [200, 40, 40])
        .save(dir.join("solid-red-2.png"))
        .unwrap();
    let store = tmp.path().join("store.sqlite");
    let red = dir.join("solid-red.png");
    let red = red.to_str().unwrap();

    index_json(&dir, &store);
    let near: Similar = run_answer(&["similar", red, "--n", "3"], &store);
    assert!(near.in_collection);
    let got = names(&near.neighbours);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], "solid-red-2.png");
    assert!(
        !got.contains(&"solid-red.png".to_owned()),
        "the query is not its own neighbour"
    );
    let d: Vec<f64> = near
        .neighbours
        .iter()
        .map(|x| f64::from(x.distance))
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "closest first: {d:?}");

    // Every image within the distance of the second neighbour: exactly the first two. (A hair
    // above it: the radius query computes the distances again, and the last digit may differ.)
    let radius = (d[1] + 1e-6).to_string();
    let within: Similar = run_answer(&["similar", red, "--radius", &radius], &store);
    assert_eq!(names(&within.neighbours), got[..2]);

    // A picture outside the collection is embedded on the fly.
    let outside = tmp.path().join("query.png");
    solid(70, 70, [210, 35, 35]).save(&outside).unwrap();
    let dir_s = dir.to_str().unwrap();
    let from_outside: Similar = run_answer(
        &[
            "similar",
            outside.to_str().unwrap(),
            "--in",
            dir_s,
            "--n",
            "2",
        ],
        &store,
    );
    assert!(!from_outside.in_collection);
    let mut two = names(&from_outside.neighbours);
    two.sort();
    assert_eq!(two, ["solid-red-2.png", "solid-red.png"]);

    let csv = imgtui()
        .args(["similar", red, "--n", "2", "--format", "csv", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "rank,path,distance");
    assert!(lines[1].starts_with("1,") && lines[1].contains("solid-red-2.png"));
    assert_eq!(lines.len(), 3);
}

#[test]
fn knn_graph_has_n_neighbours_per_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    // Reading the answer checks its schema is SCHEMA.
    let graph: Neighbours = run_answer(
        &["neighbours", dir.to_str().unwrap(), "--n", "3"],
        &tmp.path().join("s.sqlite"),
    );
    assert_eq!(SCHEMA, 1);
    let rows = &graph.images;
    assert_eq!(rows.len(), 8);
    for row in rows {
        let ns = &row.neighbours;
        assert_eq!(ns.len(), 3);
        assert!(ns.iter().all(|x| x.path != row.path));
    }
}

#[test]
fn near_duplicates_are_grouped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    // A resized copy and a re-encoded (JPEG) copy of the disc.
    let disc = image::open(dir.join("disc.png")).unwrap();
    disc.resize_exact(160, 160, image::imageops::FilterType::Triangle)
        .save(dir.join("disc-big.png"))
        .unwrap();
    let mut jpeg = std::fs::File::create(dir.join("disc-copy.jpg")).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&disc.to_rgb8())
        .unwrap();
    // Reading the answer checks its schema is SCHEMA.
    let groups: Duplicates = run_answer(
        &["dups", dir.to_str().unwrap()],
        &tmp.path().join("s.sqlite"),
    );
    assert_eq!(SCHEMA, 1);
    let groups = groups.groups;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let mut members: Vec<&str> = groups[0].paths.iter().map(|p| name(p)).collect();
    members.sort();
    assert_eq!(members, ["disc-big.png", "disc-copy.jpg", "disc.png"]);
}

#[test]
fn bad_requests_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let store = tmp.path().join("s.sqlite");
    let disc = dir.join("disc.png");
    let cases: &[(&[&str], &str)] = &[
        (&["similar", "/no/such/image.png"], "No such file"),
        (
            &["neighbours", empty.to_str().unwrap()],
            "no images to compare",
        ),
        (
            &["similar", disc.to_str().unwrap(), "--radius", "3"],
            "between 0 and 2",
        ),
        (
            &["dups", dir.to_str().unwrap(), "--threshold", "1.5"],
            "between 0 and 1",
        ),
    ];
    for (args, message) in cases {
        let out = imgtui()
            .args(*args)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// An image the walk reached through a symlink (a linked folder, a link to another image) is
/// one of the collection's by the path the walk gave it: `similar` on it leaves it out of its
/// own neighbours, and names it as the collection does (the other path of a linked file is
/// another entry of the collection, the same picture).
#[cfg(unix)]
#[test]
fn similar_finds_a_query_reached_through_a_symlink_in_the_collection() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let (dir, outside) = (base.join("images"), base.join("outside"));
    varied_folder(&dir);
    std::fs::create_dir(&outside).unwrap();
    solid(90, 90, [200, 40, 40])
        .save(outside.join("far-red.png"))
        .unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("linked")).unwrap();
    std::os::unix::fs::symlink(dir.join("solid-red.png"), dir.join("best.png")).unwrap();
    let store = base.join("store.sqlite");
    index_json(&dir, &store);
    for query in [dir.join("linked/far-red.png"), dir.join("best.png")] {
        let answer: Similar = run_answer(
            &[
                "similar",
                query.to_str().unwrap(),
                "--in",
                dir.to_str().unwrap(),
                "--n",
                "3",
            ],
            &store,
        );
        assert!(answer.in_collection, "{query:?}");
        assert_eq!(answer.query, query);
        assert!(
            answer.neighbours.iter().all(|n| n.path != query),
            "{query:?} is not its own neighbour: {:?}",
            answer.neighbours
        );
    }
}

/// `similar IMAGE` without `--in` searches the image's folder only if it was indexed before,
/// and says which folder it searches; a new folder is not indexed unasked.
#[test]
fn similar_without_in_names_its_folder_and_never_indexes_one_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let image = dir.join("disc-1.png");
    let ran = run(&["similar".as_ref(), image.as_os_str()], &store);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("--in"), "{}", ran.stderr);
    assert!(ran.stderr.contains("not indexed yet"), "{}", ran.stderr);
    // Nothing was indexed: the store knows no file.
    let index = index_json(&dir, &store);
    assert_eq!(index.embedded, 15, "the refusal indexed nothing");
    let ran = run(&["similar".as_ref(), image.as_os_str()], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains(&format!("searching {}, the image's folder", dir.display())),
        "{}",
        ran.stderr
    );
    let answer: Similar = parse_answer(&ran.stdout);
    assert!(answer.in_collection);

    // A damaged image in a folder where nothing could be indexed: the image is what is wrong.
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("a.png"), b"not a picture").unwrap();
    index_json(&bad, &store);
    let ran = run(&["similar".as_ref(), bad.join("a.png").as_os_str()], &store);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("a.png: not a recognised image format"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("not indexed"), "{}", ran.stderr);
    // An empty file is called what indexing calls it.
    std::fs::write(bad.join("b.png"), b"").unwrap();
    let ran = run(&["similar".as_ref(), bad.join("b.png").as_os_str()], &store);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("b.png: empty file"), "{}", ran.stderr);
}
