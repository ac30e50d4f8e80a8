//! Curation from the command line on images the test draws: names, merges, splits and moves
//! change the saved clustering, survive a refit with another k and a restart, can be undone
//! and redone, and reach exports and montages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::*;
use imgtui::answers::{ClusterRow, Clusters};

/// Each image's file name → its cluster number.
fn labels(answer: &Clusters) -> BTreeMap<String, usize> {
    answer
        .images
        .iter()
        .map(|i| (name(&i.path).to_owned(), i.cluster))
        .collect()
}

/// The number of the cluster holding `file`.
fn cluster_of(answer: &Clusters, file: &str) -> usize {
    labels(answer)[file]
}

/// The cluster row numbered `number`.
fn row(answer: &Clusters, number: usize) -> &ClusterRow {
    answer
        .clusters
        .iter()
        .find(|c| c.cluster == number)
        .unwrap()
}

/// The files of each cluster, as a set of sets of file names.
fn groups(answer: &Clusters) -> BTreeSet<BTreeSet<String>> {
    let mut by = BTreeMap::<usize, BTreeSet<String>>::new();
    for (file, n) in labels(answer) {
        by.entry(n).or_default().insert(file);
    }
    by.into_values().collect()
}

fn family_files(family: &str) -> Vec<String> {
    (0..5).map(|i| format!("{family}-{i}.png")).collect()
}

/// Three families clustered with k = 3, in a fresh store.
fn three(tmp: &Path) -> (String, std::path::PathBuf, Clusters) {
    let dir = tmp.join("images");
    families(&dir);
    let store = tmp.join("store.sqlite");
    let d = dir.to_str().unwrap().to_owned();
    let answer: Clusters = run_answer(&["cluster", &d, "--k", "3"], &store);
    assert_eq!(partition(&answer), clean_split());
    (d, store, answer)
}

#[test]
fn names_survive_a_refit_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    let disc = cluster_of(&first, "disc-0.png").to_string();
    let generated = row(&first, cluster_of(&first, "disc-0.png")).name.clone();
    let named: Clusters = run_answer(
        &["cluster", &d, "--name", &format!("{disc}=spirals")],
        &store,
    );
    let n = cluster_of(&named, "disc-0.png");
    assert_eq!(row(&named, n).name, "spirals");
    assert_eq!(row(&named, n).generated_name, generated);
    assert_eq!(named.edits, 1);
    assert_eq!(labels(&named), labels(&first), "a name moves no image");

    // A second process reads it from the store.
    let again: Clusters = run_answer(&["cluster", &d], &store);
    assert_eq!(
        row(&again, cluster_of(&again, "disc-0.png")).name,
        "spirals"
    );

    // Refits with another k (the explorer's + and -) keep it on the discs' cluster.
    for k in ["4", "3"] {
        let refit: Clusters = run_answer(&["cluster", &d, "--k", k], &store);
        assert!(!refit.saved);
        let n = cluster_of(&refit, "disc-0.png");
        assert_eq!(row(&refit, n).name, "spirals", "k = {k}");
        let others: Vec<&ClusterRow> = refit.clusters.iter().filter(|c| c.cluster != n).collect();
        assert!(others.iter().all(|c| c.name != "spirals"));
    }
}

#[test]
fn names_that_cannot_follow_a_refit_are_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    for (family, name) in [
        ("disc", "round"),
        ("stripes", "lines"),
        ("checker", "squares"),
    ] {
        let n = cluster_of(&first, &format!("{family}-0.png"));
        run_json(&["cluster", &d, "--name", &format!("{n}={name}")], &store);
    }
    // Two clusters for three names: one name has no cluster left to follow.
    let ran = run(&["cluster", &d, "--k", "2"], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let answer: Clusters = parse_answer(&ran.stdout);
    let shown: BTreeSet<String> = answer.clusters.iter().map(|c| c.name.clone()).collect();
    let dropped: Vec<&str> = ["round", "lines", "squares"]
        .into_iter()
        .filter(|n| !shown.contains(*n))
        .collect();
    assert_eq!(dropped.len(), 1, "{shown:?}");
    assert!(
        ran.stderr
            .contains(&format!("the name “{}” was dropped", dropped[0])),
        "{}",
        ran.stderr
    );
}

#[test]
fn merge_split_and_move_change_exactly_their_members_and_undo_redo() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    let disc = cluster_of(&first, "disc-0.png");
    let stripes = cluster_of(&first, "stripes-0.png");

    // Merge the discs into the stripes.
    let merged: Clusters = run_answer(
        &["cluster", &d, "--merge", &format!("{disc},{stripes}")],
        &store,
    );
    assert_eq!(merged.k, 2);
    let mut both = family_files("disc");
    both.extend(family_files("stripes"));
    let expected: BTreeSet<BTreeSet<String>> = [
        both.iter().cloned().collect(),
        family_files("checker").into_iter().collect(),
    ]
    .into();
    assert_eq!(groups(&merged), expected);
    let merged_cluster = cluster_of(&merged, "stripes-0.png");
    assert_eq!(row(&merged, merged_cluster).size, 10);

    // Split it in two again: the families come apart.
    let split: Clusters = run_answer(
        &["cluster", &d, "--split", &format!("{merged_cluster}:2")],
        &store,
    );
    assert_eq!(split.k, 3);
    assert_eq!(partition(&split), clean_split());

    // Move one disc to the checkerboards: only it changes cluster.
    let checker = cluster_of(&split, "checker-0.png");
    let disc0 = Path::new(&d).join("disc-0.png");
    let moved: Clusters = run_answer(
        &[
            "cluster",
            &d,
            "--move",
            &format!("{}={checker}", disc0.display()),
        ],
        &store,
    );
    let (before, after) = (labels(&split), labels(&moved));
    for (file, n) in &after {
        if file == "disc-0.png" {
            assert_eq!(*n, cluster_of(&moved, "checker-0.png"));
        } else {
            // Numbers may change with sizes; groups must not.
            let peers_before: BTreeSet<&String> = before
                .iter()
                .filter(|(_, m)| **m == before[file])
                .map(|(f, _)| f)
                .collect();
            let peers_after: BTreeSet<&String> = after
                .iter()
                .filter(|(f, m)| **m == *n && *f != "disc-0.png")
                .map(|(f, _)| f)
                .collect();
            let mut peers_before = peers_before;
            peers_before.remove(&"disc-0.png".to_owned());
            assert_eq!(peers_before, peers_after, "{file}");
        }
    }

    // A move to a new cluster: the image alone.
    let alone: Clusters = run_answer(
        &["cluster", &d, "--move", &format!("{}=new", disc0.display())],
        &store,
    );
    assert_eq!(alone.k, 4);
    let n = cluster_of(&alone, "disc-0.png");
    assert_eq!(row(&alone, n).size, 1);
    assert_eq!(alone.edits, 4);

    // Undo restores the exact previous clustering, step by step, also in a new process.
    let undone = run(&["cluster", &d, "--undo"], &store);
    assert_eq!(undone.code, Some(0));
    assert!(
        undone
            .stderr
            .contains("undid the move of 1 image to a new cluster"),
        "{}",
        undone.stderr
    );
    let undone: Clusters = parse_answer(&undone.stdout);
    assert_eq!(undone.images, moved.images);
    assert_eq!(undone.clusters, moved.clusters);
    let undone: Clusters = run_answer(&["cluster", &d, "--undo"], &store);
    assert_eq!(undone.images, split.images);
    // Redo applies it again.
    let redone = run(&["cluster", &d, "--redo"], &store);
    assert!(
        redone
            .stderr
            .contains("redid the move of 1 image to cluster"),
        "{}",
        redone.stderr
    );
    let redone: Clusters = parse_answer(&redone.stdout);
    assert_eq!(redone.images, moved.images);
    // Back to the start.
    for _ in 0..3 {
        run_json(&["cluster", &d, "--undo"], &store);
    }
    let start = run(&["cluster", &d, "--undo"], &store);
    assert!(start.stderr.contains("nothing to undo"), "{}", start.stderr);
    let start: Clusters = parse_answer(&start.stdout);
    assert_eq!(start.images, first.images);
    assert_eq!(start.clusters, first.clusters);
    assert_eq!(start.edits, 0);
    // A new edit after undo ends the redo history.
    run_json(&["cluster", &d, "--name", "1=one"], &store);
    let none = run(&["cluster", &d, "--redo"], &store);
    assert!(none.stderr.contains("nothing to redo"), "{}", none.stderr);
}

#[test]
fn bad_edits_are_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    let own = format!("{d}/disc-0.png={}", cluster_of(&first, "disc-0.png"));
    let outside = tmp.path().join("elsewhere.png");
    solid(32, 32, [1, 2, 3]).save(&outside).unwrap();
    for args in [
        vec!["--name", "9=x"],
        vec!["--name", "1"],
        vec!["--merge", "1,1"],
        vec!["--merge", "1,7"],
        vec!["--split", "4"],
        vec!["--split", "1:99"],
        vec!["--move", "nowhere.png=1"],
        vec!["--move", &format!("{}=1", outside.display())],
        vec!["--move", &format!("{d}/disc-0.png=8")],
        // Into the cluster it is in: nothing would change.
        vec!["--move", &own],
    ] {
        let mut all = vec!["cluster", &d];
        all.extend(&args);
        let ran = run(&all, &store);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "{args:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{args:?}");
    }
    // Nothing was recorded.
    assert_eq!(run_answer::<Clusters, _>(&["cluster", &d], &store).edits, 0);
}

#[test]
fn exports_and_montages_use_the_users_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    let disc = cluster_of(&first, "disc-0.png");
    run_json(
        &["cluster", &d, "--name", &format!("{disc}=Round Things!")],
        &store,
    );
    let out = imgtui()
        .current_dir(tmp.path())
        .args(["export", &d, "--cluster", &disc.to_string()])
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = tmp
        .path()
        .join("imgtui-export")
        .join(format!("{disc:02}-round-things"));
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 5);

    let sheets = tmp.path().join("sheets");
    let out = imgtui()
        .args([
            "montage",
            &d,
            "--size",
            "48",
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
    assert!(sheets.join(format!("{disc:02}-round-things.png")).is_file());
}

#[test]
fn the_session_api_edits_undoes_and_warm_starts_with_the_edits() {
    use imgtui::analysis::clustering::KChoice;
    use imgtui::analysis::curation::Edit;
    use imgtui::analysis::saved::Wanted;
    use std::sync::atomic::AtomicBool;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    let store = tmp.path().join("store.sqlite");
    let open = || pixels_session(&dir, &store);
    let mut session = open();
    session
        .update_index(&|_| {}, &AtomicBool::new(false))
        .unwrap();
    let c = session.images().unwrap();
    let three = Wanted {
        k: Some(KChoice::Fixed(3)),
        ..Default::default()
    };
    let (fitted, _, notes) = session.clustering(&c, &three).unwrap();
    assert!(notes.is_empty());
    let disc = c
        .paths
        .iter()
        .position(|p| p.ends_with("disc-0.png"))
        .unwrap();
    let index = fitted.labels[disc];
    let (named, notes) = session
        .edit(
            &c,
            Edit::Name {
                cluster: index,
                name: "spirals".into(),
            },
        )
        .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(named.clusters[named.labels[disc]].name, "spirals");
    assert_eq!(named.labels, fitted.labels);

    // The warm start (no vectors) shows the name too.
    let warm = open().warm_start().unwrap().unwrap();
    let (known, early) = warm.shown.unwrap();
    let row = known
        .paths
        .iter()
        .position(|p| p.ends_with("disc-0.png"))
        .unwrap();
    assert_eq!(early.clusters[early.labels[row]].name, "spirals");

    // Moving an image to a new cluster and undoing it gives back the named clustering.
    let (moved, _) = session
        .edit(
            &c,
            Edit::Move {
                images: vec![c.hashes[disc]],
                to: None,
            },
        )
        .unwrap();
    assert_eq!(moved.clusters[moved.labels[disc]].size, 1);
    let (undone, what) = session.undo(&c).unwrap().unwrap();
    assert!(what.starts_with("undid the move"), "{what}");
    assert_eq!(undone, named);
    let (redone, _) = session.redo(&c).unwrap().unwrap();
    assert_eq!(redone, moved);
    assert!(session.redo(&c).unwrap().is_none());

    // A refit with k = 2 carries what it can and notes the rest through `clustering`.
    let two = Wanted {
        k: Some(KChoice::Fixed(2)),
        ..Default::default()
    };
    let (refit, _, _) = session.clustering(&c, &two).unwrap();
    assert_eq!(
        refit.clusters[refit.labels[disc]].size, 1,
        "the moved image stays apart"
    );
    let one = Wanted {
        k: Some(KChoice::Fixed(1)),
        ..Default::default()
    };
    let (_, _, notes) = session.clustering(&c, &one).unwrap();
    assert!(
        !notes.is_empty(),
        "two fitted clusters cannot both follow to one"
    );
}

#[test]
fn split_with_a_colon_and_no_k_chooses_k_inside_the_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, store, first) = three(tmp.path());
    let disc = cluster_of(&first, "disc-0.png");
    let a: Clusters = run_answer(&["cluster", &d, "--split", &format!("{disc}:")], &store);
    assert_eq!(a.edits, 1);
    assert!(a.clusters.len() > 3, "{a:?}");
}

/// Two explorers on one folder: `u` in one does not undo the other's edit while that one is
/// still open, and says whose it is; once it has ended, its edit can be undone.
#[cfg(unix)]
#[test]
fn undo_leaves_the_edits_of_another_open_explorer_alone() {
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
    session
        .edit(
            &c,
            Edit::Name {
                cluster: 0,
                name: "theirs".into(),
            },
        )
        .unwrap();
    // The edit is made another running process's: an imgtui on this machine, still open.
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let host = {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer and its length.
        unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap();
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    let db = rusqlite::Connection::open(&store).unwrap();
    db.execute(
        "UPDATE edits SET author = ?1",
        [format!("{host}/{}/1", other.id())],
    )
    .unwrap();
    let err = session.undo(&c).unwrap_err();
    assert_eq!(err.kind(), imgtui::ErrorKind::BadRequest);
    let text = err.to_string();
    assert!(
        text.contains("another imgtui still open") && text.contains(&other.id().to_string()),
        "{text}"
    );
    assert!(text.contains("“theirs”"), "{text}");
    // Its own edits it undoes as before.
    session
        .edit(
            &c,
            Edit::Name {
                cluster: 1,
                name: "mine".into(),
            },
        )
        .unwrap();
    let (_, what) = session.undo(&c).unwrap().unwrap();
    assert!(what.contains("“mine”"), "{what}");
    // The other has ended: its edit is anybody's now.
    other.kill().unwrap();
    other.wait().unwrap();
    let (_, what) = session.undo(&c).unwrap().unwrap();
    assert!(what.contains("“theirs”"), "{what}");
}

#[test]
fn a_clustering_an_older_imgtui_saved_by_hash_reads_the_same_and_is_saved_again_in_columns() {
    use imgtui::analysis::saved::{SavedClustering, Wanted};
    use std::sync::atomic::AtomicBool;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    families(&dir);
    // Two files of one content: one row each, each with its own lattice cell.
    std::fs::copy(dir.join("disc-0.png"), dir.join("disc-0 copy.png")).unwrap();
    let store_path = tmp.path().join("store.sqlite");
    let open = || pixels_session(&dir, &store_path);
    let mut session = open();
    session
        .update_index(&|_| {}, &AtomicBool::new(false))
        .unwrap();
    let c = session.images().unwrap();
    let (fitted, _, _) = session.clustering(&c, &Wanted::default()).unwrap();
    assert_eq!(fitted.lattice.len(), c.len());
    let (root, feature) = (session.root().to_owned(), session.feature().to_owned());
    let mut store = imgtui::Store::open(&store_path).unwrap();
    let saved: SavedClustering = store.load_clustering(&root, &feature).unwrap().unwrap();
    assert!(!saved.written_before_columns);
    assert_eq!(saved.images.hashes, c.hashes);

    // As it was written before: each content's hex hash → (cluster, place, distance), and
    // → its lattice cells in the order of its paths.
    let mut old = serde_json::to_value(&saved).unwrap();
    let object = old.as_object_mut().unwrap();
    object.remove("images");
    let (mut members, mut lattice) = (serde_json::Map::new(), serde_json::Map::new());
    for i in 0..c.len() {
        let hash = imgtui::collection::hex(&c.hashes[i]);
        let member = serde_json::json!([fitted.labels[i], fitted.map[i], fitted.distances[i]]);
        members.insert(hash.clone(), member);
        let cells = lattice.entry(hash).or_insert(serde_json::json!([]));
        cells
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!(fitted.lattice[i]));
    }
    object.insert("members".into(), members.into());
    object.insert("lattice".into(), lattice.into());
    store.save_clustering(&root, &feature, &old).unwrap();
    let read: SavedClustering = store.load_clustering(&root, &feature).unwrap().unwrap();
    assert!(read.written_before_columns);
    let (applied, new) = read.apply(&c);
    assert_eq!(new, 0);
    assert_eq!(
        (
            &applied.labels,
            &applied.map,
            &applied.distances,
            &applied.lattice
        ),
        (
            &fitted.labels,
            &fitted.map,
            &fitted.distances,
            &fitted.lattice
        )
    );

    // The explorer's warm start shows it as it was, and saves it again in columns, in the
    // order of the paths.
    let warm = open().warm_start().unwrap().unwrap();
    let (known, early) = warm.shown.unwrap();
    assert_eq!(known.paths, c.paths);
    assert_eq!(
        (&early.labels, &early.lattice),
        (&fitted.labels, &fitted.lattice)
    );
    let again: SavedClustering = store.load_clustering(&root, &feature).unwrap().unwrap();
    assert!(!again.written_before_columns);
    assert_eq!(again.images, saved.images);

    // A damaged column is not a clustering: it is fitted again.
    let mut damaged = serde_json::to_value(&saved).unwrap();
    damaged["images"]["labels"] = "AAAA".into();
    store.save_clustering(&root, &feature, &damaged).unwrap();
    let gone: Option<SavedClustering> = store.load_clustering(&root, &feature).unwrap();
    assert!(gone.is_none());
    let (refit, _, _) = session.clustering(&c, &Wanted::default()).unwrap();
    assert_eq!(refit.labels, fitted.labels);

    // So is one without clusters, and an old one with a place that is not a number.
    let mut empty = serde_json::to_value(&saved).unwrap();
    empty["clusters"] = serde_json::json!([]);
    let mut huge = old.clone();
    let first = huge["members"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    huge["members"][&first][1][0] = serde_json::json!(1e39);
    for damaged in [empty, huge] {
        store.save_clustering(&root, &feature, &damaged).unwrap();
        let gone: Option<SavedClustering> = store.load_clustering(&root, &feature).unwrap();
        assert!(gone.is_none());
    }
    // A lattice cell outside the grid, or two images in one cell: the map's own lattice.
    let mut odd = saved.clone();
    odd.images.lattice[0] = [1_000_000, 0];
    let (applied, _) = odd.apply(&c);
    let (shape, cells) = applied.lattice();
    assert!(
        cells
            .iter()
            .all(|&[x, y]| (x as usize) < shape.0 && (y as usize) < shape.1)
    );
    let mut twice = saved.clone();
    twice.images.lattice[1] = twice.images.lattice[0];
    let (applied, _) = twice.apply(&c);
    let (_, cells) = applied.lattice();
    assert_ne!(cells[0], cells[1]);
}
