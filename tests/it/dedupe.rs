//! `imgtui dups` with keep rules and actions (move, trash, dry run, undo), and `imgtui
//! outliers`, on images drawn here and embedded by the real model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::common::*;
use imgtui::answers::{ACTIONS_SCHEMA, Actions, Duplicates, FileStatus, Outliers, SCHEMA};
use imgtui::dedupe::{Kind, Tier};

/// Every file under `dir` (relative path → bytes).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return files;
    }
    for entry in walk(dir) {
        files.insert(
            entry.strip_prefix(dir).unwrap().to_owned(),
            std::fs::read(&entry).unwrap(),
        );
    }
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn set_age(path: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * 86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// A folder with a disc, its exact copy (in a subfolder), a larger resized copy and a JPEG
/// re-encoding, beside unrelated images. Ages: the twin oldest, then the JPEG.
fn disc_folder(dir: &Path) {
    varied_folder(dir);
    let disc = image::open(dir.join("disc.png")).unwrap();
    disc.resize_exact(160, 160, image::imageops::FilterType::Triangle)
        .save(dir.join("disc-big.png"))
        .unwrap();
    std::fs::write(dir.join("disc-copy.jpg"), jpeg(&disc.to_rgb8(), false)).unwrap();
    std::fs::create_dir_all(dir.join("keep")).unwrap();
    std::fs::copy(dir.join("disc.png"), dir.join("keep/disc-twin.png")).unwrap();
    set_age(&dir.join("keep/disc-twin.png"), 30);
    set_age(&dir.join("disc-copy.jpg"), 20);
    set_age(&dir.join("disc.png"), 10);
    set_age(&dir.join("disc-big.png"), 5);
}

/// `imgtui dups DIR EXTRA…`: [`Duplicates`], or [`Actions`] with `--action` or `--undo`.
fn dups<T: serde::de::DeserializeOwned>(dir: &Path, store: &Path, extra: &[&str]) -> T {
    let mut args = vec!["dups", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_answer(&args, store)
}

#[test]
fn exact_and_near_copies_are_reported_apart_with_each_keep_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    // Reading the answer checks its schema is SCHEMA.
    let answer: Duplicates = dups(&dir, &store, &[]);
    assert_eq!(SCHEMA, 1);
    assert_eq!(answer.keep, "best");
    let groups = &answer.groups;
    assert_eq!(groups.len(), 1, "{groups:?}");
    let g = &groups[0];
    let mut paths: Vec<&str> = g.paths.iter().map(|p| name(p)).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["disc-big.png", "disc-copy.jpg", "disc-twin.png", "disc.png"]
    );
    assert_eq!(g.kind, Kind::Near);
    assert_eq!(g.tier, Tier::SamePicture);
    for m in &g.members {
        let expected = match name(&m.path) {
            "disc.png" | "disc-twin.png" => Kind::Exact,
            _ => Kind::Near,
        };
        assert_eq!(m.kind, expected, "{m:?}");
    }
    assert_eq!(name(&g.keeper), "disc-big.png", "largest");
    let keeper = |rule: &str| {
        let a: Duplicates = dups(&dir, &store, &["--keep", rule]);
        name(&a.groups[0].keeper).to_owned()
    };
    assert_eq!(keeper("oldest"), "disc-twin.png");
    assert_eq!(keeper("newest"), "disc-big.png");
    assert_eq!(keeper("shortest-path"), "disc.png");
    assert_eq!(keeper("path:keep"), "disc-twin.png");
    // A folder that holds no file of the group leaves the choice to the next rule.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    assert_eq!(keeper("path:keep/../empty,oldest"), "disc-twin.png");
    // A misspelt folder is an error, not a silent fall-through.
    let out = run(
        &["dups", dir.to_str().unwrap(), "--keep", "path:nowhere"],
        &store,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("path:nowhere: no such folder"),
        "{}",
        out.stderr
    );
    // disc.png and its twin tie on pixels and bytes; the older twin wins.
    assert_eq!(
        keeper(&format!("path:{},largest", dir.join("keep").display())),
        "disc-twin.png"
    );
    let csv = run(&["dups", dir.to_str().unwrap(), "--format", "csv"], &store);
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("group,path,kind,keep,bytes,width,height,tier,acted")
    );
    let twin = lines.find(|l| l.contains("disc-twin.png")).unwrap();
    assert!(twin.contains(",exact,false,"), "{twin}");
    assert!(twin.ends_with(",true"), "acted on: {twin}");
}

#[test]
fn move_never_loses_a_file_and_undo_puts_every_file_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let out = tmp.path().join("dups-out");
    let store = tmp.path().join("s.sqlite");
    // One target already taken: that file stays where it is.
    std::fs::create_dir_all(out.join("keep")).unwrap();
    std::fs::write(out.join("keep/disc-twin.png"), b"someone else's").unwrap();
    let before = snapshot(&dir);
    let target = format!("move:{}", out.display());
    let ran = run(
        &["dups", dir.to_str().unwrap(), "--action", &target],
        &store,
    );
    assert_eq!(ran.code, Some(1), "a file was left: {}", ran.stderr);
    let answer: Actions = parse_answer(&ran.stdout);
    assert_eq!(answer.done, 2, "{answer:?}");
    assert_eq!(answer.planned, 0, "{answer:?}");
    assert_eq!(answer.left, 1);
    let left = answer
        .files
        .iter()
        .find(|f| f.status == FileStatus::Left)
        .unwrap();
    assert_eq!(name(&left.path), "disc-twin.png");
    assert!(
        left.reason.as_ref().unwrap().contains("already exists"),
        "{left:?}"
    );
    assert!(ran.stderr.contains("left "), "{}", ran.stderr);
    // Every file is somewhere, byte for byte.
    let after = snapshot(&dir);
    let moved = snapshot(&out);
    for (rel, bytes) in &before {
        let here = after.get(rel).or_else(|| moved.get(rel));
        assert_eq!(here, Some(bytes), "{}", rel.display());
    }
    assert!(
        after.contains_key(Path::new("disc-big.png")),
        "the keeper stays"
    );
    assert_eq!(moved[Path::new("keep/disc-twin.png")], b"someone else's");
    let journal = imgtui::Store::open(&store)
        .unwrap()
        .journal(&std::fs::canonicalize(&dir).unwrap())
        .unwrap();
    assert_eq!(journal.len(), 2);
    assert!(
        journal
            .iter()
            .all(|e| e.action == imgtui::store::JournalAction::Move && e.bytes > 0)
    );

    // Undo: both back, unchanged; the other file in the target folder untouched.
    let undone: Actions = run_answer(&["dups", dir.to_str().unwrap(), "--undo"], &store);
    assert_eq!(undone.action, "undo");
    assert_eq!(undone.done, 2, "{undone:?}");
    assert_eq!(snapshot(&dir), before);
    assert_eq!(
        snapshot(&out).keys().collect::<Vec<_>>(),
        [Path::new("keep/disc-twin.png")]
    );
    // The folders the move made for the files are gone again; the target itself stays.
    let folders: Vec<PathBuf> = walk_folders(&out);
    assert_eq!(folders, [out.join("keep")], "{folders:?}");
    let again = run(&["dups", dir.to_str().unwrap(), "--undo"], &store);
    assert!(again.stderr.contains("nothing to undo"), "{}", again.stderr);
}

#[test]
fn a_dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let out = tmp.path().join("out");
    let before = snapshot(&dir);
    for action in [format!("move:{}", out.display()), "trash".to_owned()] {
        // Reading the answer checks its schema is ACTIONS_SCHEMA.
        let answer: Actions = dups(&dir, &store, &["--action", &action, "--dry-run"]);
        assert_eq!(ACTIONS_SCHEMA, 2);
        assert!(answer.dry_run);
        assert_eq!(answer.done, 0, "nothing is done in a dry run: {answer:?}");
        assert_eq!(answer.planned, 3, "{answer:?}");
        assert_eq!(answer.left, 0, "{answer:?}");
        assert!(answer.files.iter().all(|f| f.status == FileStatus::Planned));
    }
    assert_eq!(snapshot(&dir), before);
    assert!(!out.exists());
    let journal = imgtui::Store::open(&store)
        .unwrap()
        .journal(&std::fs::canonicalize(&dir).unwrap())
        .unwrap();
    assert!(journal.is_empty());
}

#[test]
fn the_last_copy_stays_when_every_rule_ties() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let img = disc(90, 90, [200, 40, 40], [10, 10, 10]);
    let t = SystemTime::now() - Duration::from_secs(3600);
    for name in ["b.png", "a.png", "c.png"] {
        img.save(dir.join(name)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    noise(64, 64, 3).save(dir.join("other.png")).unwrap();
    let store = tmp.path().join("s.sqlite");
    let out = tmp.path().join("out");
    let target = format!("move:{}", out.display());
    let all_rules = "largest,newest,oldest,shortest-path";
    let answer: Actions = dups(&dir, &store, &["--keep", all_rules, "--action", &target]);
    assert_eq!(answer.done, 2, "{answer:?}");
    assert!(dir.join("a.png").exists(), "path order keeps a.png");
    assert!(!dir.join("b.png").exists() && !dir.join("c.png").exists());
    // Again: one copy is no group, so nothing moves.
    let answer: Actions = dups(&dir, &store, &["--keep", all_rules, "--action", &target]);
    assert_eq!(answer.done, 0, "{answer:?}");
    assert!(dir.join("a.png").exists());
}

#[test]
fn a_target_that_cannot_be_written_is_reported_file_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    // The target folder's "keep" is a file, so nothing can go under it; elsewhere, a
    // read-only folder (which root may still write, so then it is only the first case).
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), b"a file").unwrap();
    let ro = tmp.path().join("read-only");
    std::fs::create_dir_all(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let root_can_write = std::fs::write(ro.join("probe"), b"").is_ok();
    let before = snapshot(&dir);
    let mut targets = vec![(out.clone(), 1)];
    if root_can_write {
        eprintln!(
            "note: running as root, a read-only folder is writable; only the blocked path is tried"
        );
    } else {
        targets.push((ro.clone(), 3));
    }
    for (target, left) in targets {
        let action = format!("move:{}", target.display());
        let ran = run(
            &[
                "dups",
                dir.to_str().unwrap(),
                "--keep",
                "largest",
                "--action",
                &action,
            ],
            &store,
        );
        assert_eq!(ran.code, Some(1), "{}", ran.stderr);
        let answer: Actions = parse_answer(&ran.stdout);
        assert_eq!(answer.left, left, "{answer:?}");
        let moved = snapshot(&target);
        // No partial file anywhere, and every file is whole in one place.
        assert!(
            moved
                .keys()
                .all(|k| !k.to_string_lossy().contains(".partial")),
            "{moved:?}"
        );
        for (rel, bytes) in &before {
            let now = snapshot(&dir);
            assert_eq!(now.get(rel).or_else(|| moved.get(rel)), Some(bytes));
        }
        // Put back what did move, for the next target.
        run_json(&["dups", dir.to_str().unwrap(), "--undo"], &store);
        assert_eq!(snapshot(&dir), before);
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_move_to_another_file_system_copies_and_undoes() {
    let tmp = tempfile::tempdir().unwrap();
    let shm = Path::new("/dev/shm");
    use std::os::unix::fs::MetadataExt;
    let other_fs = shm.is_dir()
        && std::fs::metadata(shm).unwrap().dev() != std::fs::metadata(tmp.path()).unwrap().dev();
    if !other_fs {
        eprintln!("note: /dev/shm is not another file system here; skipped");
        return;
    }
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let out = tempfile::tempdir_in(shm).unwrap();
    let before = snapshot(&dir);
    let action = format!("move:{}", out.path().display());
    let answer: Actions = dups(&dir, &store, &["--action", &action]);
    assert_eq!(answer.done, 3, "{answer:?}");
    let moved = snapshot(out.path());
    assert_eq!(moved.len(), 3);
    for (rel, bytes) in &moved {
        assert_eq!(Some(bytes), before.get(rel));
    }
    run_json(&["dups", dir.to_str().unwrap(), "--undo"], &store);
    assert_eq!(snapshot(&dir), before);
    assert!(snapshot(out.path()).is_empty());
}

#[test]
fn trash_and_undo_from_the_trash() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let data = tmp.path().join("xdg-data");
    std::fs::create_dir_all(&data).unwrap();
    let before = snapshot(&dir);
    let with_trash = |args: &[&str]| {
        let out = imgtui()
            .args(args)
            .arg("--store")
            .arg(&store)
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let d = dir.to_str().unwrap();
    let (code, stdout, stderr) = with_trash(&["dups", d, "--action", "trash"]);
    if code != Some(0) && stderr.contains("trash") {
        eprintln!("note: the trash does not work in this sandbox, skipped: {stderr}");
        return;
    }
    assert_eq!(code, Some(0), "{stderr}");
    let answer: Actions = parse_answer(&stdout);
    assert_eq!(answer.done, 3, "{answer:?}");
    let trashed = snapshot(&data.join("Trash/files"));
    assert_eq!(trashed.len(), 3, "{:?}", trashed.keys());
    // `to` is where each file now is: in the trash's files/ folder, with its bytes.
    for f in &answer.files {
        let to = f.to.clone().unwrap();
        assert_eq!(
            std::fs::canonicalize(to.parent().unwrap()).unwrap(),
            std::fs::canonicalize(data.join("Trash/files")).unwrap(),
            "{f:?}"
        );
        let relative = f
            .path
            .strip_prefix(std::fs::canonicalize(&dir).unwrap())
            .unwrap();
        assert_eq!(
            std::fs::read(&to).ok().as_ref(),
            before.get(relative),
            "{f:?}"
        );
    }
    assert_eq!(snapshot(&data.join("Trash/info")).len(), 3);
    assert!(dir.join("disc-big.png").exists());
    let (code, stdout, stderr) = with_trash(&["dups", d, "--undo"]);
    assert_eq!(code, Some(0), "{stderr}");
    let undone: Actions = parse_answer(&stdout);
    assert_eq!(undone.done, 3, "{undone:?}");
    assert_eq!(snapshot(&dir), before);
    assert!(snapshot(&data.join("Trash/files")).is_empty());
}

#[test]
fn bad_rules_actions_and_targets_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let inside = format!("move:{}", dir.join("dups").display());
    // A folder the collection reaches through a link is inside it too.
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("linked")).unwrap();
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir.join("linked")).unwrap();
    let through_link = format!("move:{}", dir.join("linked/dups").display());
    let d = dir.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["dups", d, "--keep", "biggest"], "unknown keep rule"),
        (&["dups", d, "--action", "delete"], "unknown action"),
        (&["dups", d, "--action", &inside], "inside the collection"),
        (
            &["dups", d, "--action", &through_link],
            "inside the collection",
        ),
    ];
    for (args, message) in cases {
        let ran = run(args, &store);
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(message), "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    }
}

#[test]
fn the_odd_ones_out_come_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    // Three families of twelve similar drawings.
    for i in 0..12u32 {
        let v = (i * 10) as u8;
        disc(96 + i * 4, 96, [250, 150 + v / 2, v], [20, 20, 60 + v])
            .save(dir.join(format!("disc-{i}.png")))
            .unwrap();
        stripes(112, 112, 5 + i / 2, i % 2 == 0, [0, 0, v], [255, 255, 0])
            .save(dir.join(format!("stripes-{i}.png")))
            .unwrap();
        checkerboard(120, 120, 8 + 2 * i)
            .save(dir.join(format!("checker-{i}.png")))
            .unwrap();
    }
    // A blank image, noise, and a drawing like none of them (a thin ring of dots).
    solid(100, 100, [255, 255, 255])
        .save(dir.join("odd-blank.png"))
        .unwrap();
    noise(100, 100, 9).save(dir.join("odd-noise.png")).unwrap();
    let ring = image::RgbImage::from_fn(120, 120, |x, y| {
        let (dx, dy) = (x as f32 - 60.0, y as f32 - 60.0);
        let r = (dx * dx + dy * dy).sqrt();
        let on = (r - 40.0).abs() < 3.0 && (dy.atan2(dx) * 6.0).sin() > 0.3;
        image::Rgb(if on { [0, 160, 60] } else { [240, 230, 200] })
    });
    ring.save(dir.join("odd-ring.png")).unwrap();
    let store = tmp.path().join("s.sqlite");
    // Reading the answer checks its schema is SCHEMA.
    let answer: Outliers = run_answer(&["outliers", dir.to_str().unwrap(), "--n", "5"], &store);
    assert_eq!(SCHEMA, 1);
    assert_eq!(answer.k, 10);
    let images = &answer.images;
    assert_eq!(images.len(), 5);
    let top: Vec<&str> = images[..3].iter().map(|i| name(&i.path)).collect();
    eprintln!("outliers: {images:?}");
    assert!(top.iter().all(|n| n.starts_with("odd-")), "{top:?}");
    let scores: Vec<f32> = images.iter().map(|i| i.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let csv = run(
        &[
            "outliers",
            dir.to_str().unwrap(),
            "--n",
            "2",
            "--format",
            "csv",
        ],
        &store,
    );
    assert_eq!(csv.stdout.lines().next(), Some("rank,path,score"));
    assert_eq!(csv.stdout.lines().count(), 3);
}

/// Every folder below `dir`, sorted.
fn walk_folders(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_folders(&path));
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn undoing_a_move_removes_the_folders_it_made_and_keeps_the_target() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::copy(dir.join("disc.png"), dir.join("sub/deeper/disc-again.png")).unwrap();
    set_age(&dir.join("sub/deeper/disc-again.png"), 1);
    let (out, store) = (tmp.path().join("out"), tmp.path().join("s.sqlite"));
    let target = format!("move:{}", out.display());
    let before = snapshot(&dir);
    let moved: Actions = dups(&dir, &store, &["--keep", "newest", "--action", &target]);
    assert_eq!(moved.done, 1, "{moved:?}");
    assert!(out.join("sub/deeper/disc-again.png").is_file());
    dups::<Actions>(&dir, &store, &["--undo"]);
    assert_eq!(snapshot(&dir), before);
    assert!(out.is_dir(), "the target folder stays");
    assert_eq!(walk_folders(&out), Vec::<PathBuf>::new());
}

/// The names of each group's files, sorted, group by group.
fn group_names(answer: &Duplicates) -> Vec<Vec<String>> {
    answer
        .groups
        .iter()
        .map(|g| {
            let mut names: Vec<String> = g.paths.iter().map(|p| name(p).to_owned()).collect();
            names.sort();
            names
        })
        .collect()
}

#[test]
fn pairs_marked_not_duplicates_stay_apart_across_renames_and_merges_until_taken_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    disc_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let at = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    let whole = ["disc-big.png", "disc-copy.jpg", "disc-twin.png", "disc.png"];
    assert_eq!(group_names(&dups(&dir, &store, &[])), [whole]);

    // Exact copies cannot be parted: exit 2, the two named, nothing marked.
    let pair = format!("{},{}", at("disc.png"), at("keep/disc-twin.png"));
    let out = run(&["dups", &at(""), "--not-duplicates", &pair], &store);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("exact copies"), "{}", out.stderr);
    // One file is no pair; a file outside the collection is named.
    let out = run(
        &["dups", &at(""), "--not-duplicates", &at("disc.png")],
        &store,
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let stray = tmp.path().join("stray.png");
    std::fs::copy(dir.join("disc.png"), &stray).unwrap();
    let two = format!("{},{}", at("disc.png"), stray.display());
    let out = run(&["dups", &at(""), "--not-duplicates", &two], &store);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is not an image of"), "{}", out.stderr);
    // A name with a comma is split: the message says so.
    let comma = format!("{},{}", at("disc.png"), at("disc, big.png"));
    let out = run(&["dups", &at(""), "--not-duplicates", &comma], &store);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("split at commas"), "{}", out.stderr);

    // The JPEG is not a duplicate of the disc nor of the big disc: it leaves the group, and the
    // disc's exact twin shares the disc's mark (it is the same content).
    let three = format!(
        "{},{},{}",
        at("disc-copy.jpg"),
        at("disc.png"),
        at("disc-big.png")
    );
    let ran = run(&["dups", &at(""), "--not-duplicates", &three], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("3 pairs newly marked not duplicates"),
        "{}",
        ran.stderr
    );
    let report: Duplicates = parse_answer(&ran.stdout);
    assert!(
        group_names(&report)
            .iter()
            .all(|g| !g.contains(&"disc-copy.jpg".to_owned())),
        "{report:?}"
    );
    // Kept by content: a renamed copy stays apart.
    std::fs::rename(dir.join("disc-copy.jpg"), dir.join("renamed.jpg")).unwrap();
    let apart = |store: &Path| {
        let names = group_names(&dups(&dir, store, &[]));
        !names.iter().flatten().any(|n| n == "renamed.jpg")
    };
    assert!(apart(&store));
    // A merged store carries the marks.
    let merged = tmp.path().join("merged.sqlite");
    let out = run(
        &[
            "store",
            "merge",
            merged.to_str().unwrap(),
            store.to_str().unwrap(),
        ],
        &store,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("3 pairs marked not duplicates added"),
        "{}",
        out.stderr
    );
    assert!(apart(&merged));
    // Taken back: the copy joins its group again.
    let back = format!(
        "{},{},{}",
        at("renamed.jpg"),
        at("disc.png"),
        at("disc-big.png")
    );
    let out = run(&["dups", &at(""), "--undo-not-duplicates", &back], &store);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("3 pairs no longer marked"),
        "{}",
        out.stderr
    );
    assert!(!apart(&store));
}

/// Rings around (cx, cy), `freq` cycles across, shaded from colour `a` to colour `b`.
fn rings(side: u32, (cx, cy): (f32, f32), freq: f32, a: [f32; 3], b: [f32; 3]) -> image::RgbImage {
    image::RgbImage::from_fn(side, side, |x, y| {
        let (u, v) = (x as f32 / side as f32 - cx, y as f32 / side as f32 - cy);
        let t = 0.5 + 0.5 * ((u * u + v * v).sqrt() * freq * std::f32::consts::TAU).sin();
        image::Rgb(std::array::from_fn(|c| (a[c] + (b[c] - a[c]) * t) as u8))
    })
}

/// A ring picture with a copy per transformation a person calls the same picture (JPEG at
/// quality 50, 25 % of the size, its centre 92 %, 8 % brighter), two pictures of its style
/// (another palette; other parameters), the picture with something else in one corner (as
/// another photo of one scene: the signatures agree, the thumbnails do not), and unrelated
/// images. Returns the copies' names.
fn rings_folder(dir: &Path) -> [&'static str; 4] {
    varied_folder(dir);
    let (navy, gold, red) = (
        [20.0, 40.0, 90.0],
        [230.0, 200.0, 60.0],
        [200.0, 30.0, 30.0],
    );
    let art = rings(320, (0.4, 0.55), 6.0, navy, gold);
    art.save(dir.join("rings.png")).unwrap();
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, 50)
        .encode(art.as_raw(), 320, 320, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    std::fs::write(dir.join("rings-q50.jpg"), bytes).unwrap();
    let img = image::DynamicImage::ImageRgb8(art.clone());
    img.resize_exact(80, 80, image::imageops::FilterType::Lanczos3)
        .save(dir.join("rings-quarter.png"))
        .unwrap();
    img.crop_imm(13, 13, 294, 294)
        .save(dir.join("rings-crop92.png"))
        .unwrap();
    image::RgbImage::from_fn(320, 320, |x, y| {
        image::Rgb(
            art.get_pixel(x, y)
                .0
                .map(|v| (f32::from(v) * 1.08).min(255.0) as u8),
        )
    })
    .save(dir.join("rings-bright8.png"))
    .unwrap();
    rings(320, (0.4, 0.55), 6.0, navy, red)
        .save(dir.join("sibling-palette.png"))
        .unwrap();
    rings(320, (0.6, 0.4), 9.0, navy, gold)
        .save(dir.join("sibling-params.png"))
        .unwrap();
    let mut patched = art.clone();
    for (x, y, p) in patched.enumerate_pixels_mut() {
        if x < 48 && y < 48 {
            *p = image::Rgb([240, 240, 240]);
        }
    }
    patched.save(dir.join("sibling-patched.png")).unwrap();
    [
        "rings-q50.jpg",
        "rings-quarter.png",
        "rings-crop92.png",
        "rings-bright8.png",
    ]
}

#[test]
fn copies_are_the_same_picture_and_pictures_of_one_style_never_are() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let copies = rings_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    // A low threshold makes the siblings similar to the embedding.
    let answer: Duplicates = dups(&dir, &store, &["--threshold", "0.5"]);
    let names = |g: &imgtui::answers::Group| {
        let mut n: Vec<String> = g.paths.iter().map(|p| name(p).to_owned()).collect();
        n.sort();
        n
    };
    let same: Vec<_> = answer
        .groups
        .iter()
        .filter(|g| g.tier != Tier::Similar)
        .collect();
    assert_eq!(same.len(), 1, "{:?}", answer.groups);
    let mut expected: Vec<String> = copies.iter().map(|c| c.to_string()).collect();
    expected.push("rings.png".into());
    expected.sort();
    assert_eq!(names(same[0]), expected);
    assert_eq!(same[0].tier, Tier::SamePicture);
    assert!(same[0].acted);
    for g in answer.groups.iter().filter(|g| g.tier == Tier::Similar) {
        assert!(!g.acted, "{g:?}");
    }
    let similar: Vec<String> = answer
        .groups
        .iter()
        .filter(|g| g.tier == Tier::Similar)
        .flat_map(names)
        .collect();
    assert!(
        similar.iter().any(|n| n.starts_with("sibling")),
        "a sibling is similar: {:?}",
        answer.groups
    );

    // A move takes the copies only; the siblings stay however alike they look.
    let out = tmp.path().join("out");
    let action = format!("move:{}", out.display());
    let report: Actions = dups(&dir, &store, &["--threshold", "0.5", "--action", &action]);
    let mut moved: Vec<&str> = report.files.iter().map(|f| name(&f.path)).collect();
    moved.sort();
    let mut kept_one: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(moved.len(), copies.len(), "{report:?}");
    kept_one.retain(|n| !moved.contains(n));
    assert_eq!(kept_one.len(), 1, "one of the picture's files is kept");
    assert!(dir.join("sibling-palette.png").exists());
    assert!(dir.join("sibling-params.png").exists());
    let _: Actions = dups(&dir, &store, &["--undo"]);

    // Asked to, the similar ones are acted on too (a dry run changes nothing).
    let plan: Actions = dups(
        &dir,
        &store,
        &[
            "--threshold",
            "0.5",
            "--include-similar",
            "--action",
            &action,
            "--dry-run",
        ],
    );
    assert!(
        plan.files
            .iter()
            .any(|f| name(&f.path).starts_with("sibling")),
        "{plan:?}"
    );
    assert!(dir.join("sibling-palette.png").exists());
}

#[test]
fn copies_far_from_their_original_to_the_embedding_are_found_at_the_default_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    let copies = rings_folder(&dir);
    let store = tmp.path().join("s.sqlite");
    let answer: Duplicates = dups(&dir, &store, &[]);
    let same: Vec<Vec<String>> = answer
        .groups
        .iter()
        .filter(|g| g.tier == Tier::SamePicture)
        .map(|g| {
            let mut n: Vec<String> = g.paths.iter().map(|p| name(p).to_owned()).collect();
            n.sort();
            n
        })
        .collect();
    let mut expected: Vec<String> = copies.iter().map(|c| c.to_string()).collect();
    expected.push("rings.png".into());
    expected.sort();
    assert_eq!(same, vec![expected], "{:?}", answer.groups);
}

/// A file reached by two paths (a symlink to it, two links to one folder) is one file, not
/// two copies: `dups` groups them never, so no action moves the real file away from its link
/// (which would then point nowhere) or reaches outside the folder through a link.
#[cfg(unix)]
#[test]
fn one_file_reached_by_two_paths_is_not_a_duplicate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    std::os::unix::fs::symlink(dir.join("solid-red.png"), dir.join("best.png")).unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    rings(
        96,
        (0.3, 0.6),
        6.0,
        [230.0, 200.0, 20.0],
        [20.0, 40.0, 150.0],
    )
    .save(outside.join("o.png"))
    .unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("ext1")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("ext2")).unwrap();
    let store = tmp.path().join("s.sqlite");
    let answer: Duplicates = dups(&dir, &store, &["--include-similar"]);
    for group in &answer.groups {
        let names: Vec<&str> = group.paths.iter().map(|p| name(p)).collect();
        assert!(!names.contains(&"best.png"), "{names:?}");
        assert!(
            names.iter().filter(|n| **n == "o.png").count() <= 1,
            "{names:?}"
        );
    }
    let before = (snapshot(&dir), snapshot(&outside));
    let out = tmp.path().join("dups-out");
    let target = format!("move:{}", out.display());
    let ran = run(
        &["dups", dir.to_str().unwrap(), "--action", &target],
        &store,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    // solid-red.png is where it was, and its link still reaches it.
    assert!(std::fs::read(dir.join("best.png")).is_ok());
    assert!(dir.join("solid-red.png").is_file());
    assert_eq!(
        before.1,
        snapshot(&outside),
        "nothing outside the folder moved"
    );
    assert_eq!(before.0.len(), snapshot(&dir).len());
}

/// A copy a symlink of the folder leads to is the one kept: moving it would leave the link
/// pointing nowhere. The keep rules choose among such files first, and one they do not keep
/// is left where it is.
#[cfg(unix)]
#[test]
fn a_copy_a_symlink_leads_to_is_kept_and_its_link_still_reaches_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    // An exact copy of solid-red.png, newer: the rule `best` keeps the older file, so
    // without the link the copy would go.
    let copy = dir.join("a-red.png");
    newer_copy(&dir.join("solid-red.png"), &copy);
    std::os::unix::fs::symlink("a-red.png", dir.join("link.png")).unwrap();
    let store = tmp.path().join("s.sqlite");
    let answer: Duplicates = dups(&dir, &store, &[]);
    let group = answer
        .groups
        .iter()
        .find(|g| g.paths.iter().any(|p| name(p) == "solid-red.png"))
        .expect("the two red files are grouped");
    let names: Vec<&str> = group.paths.iter().map(|p| name(p)).collect();
    assert_eq!(
        names,
        ["a-red.png", "solid-red.png"],
        "one path for the linked file"
    );
    assert_eq!(name(&group.keeper), "a-red.png");

    let out = tmp.path().join("dups-out");
    let target = format!("move:{}", out.display());
    let ran = run(
        &["dups", dir.to_str().unwrap(), "--action", &target],
        &store,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(!dir.join("solid-red.png").exists());
    assert!(out.join("solid-red.png").is_file());
    assert_eq!(
        std::fs::read(dir.join("link.png")).unwrap(),
        std::fs::read(&copy).unwrap(),
        "the link still reaches its file"
    );
}

/// A symlink is never moved or trashed, even when it is the copy the rules would let go:
/// that frees nothing, and a relative link moved elsewhere points nowhere. The report says it
/// stays (`keep`), so that a script acting on the other rows leaves it too.
#[cfg(unix)]
#[test]
fn a_symlink_to_a_file_outside_the_folder_is_never_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    varied_folder(&dir);
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // The same bytes as solid-red.png, outside, and newer: `best` keeps the older file
    // inside, and the link would go.
    newer_copy(&dir.join("solid-red.png"), &outside.join("red.png"));
    std::os::unix::fs::symlink("../outside/red.png", dir.join("link.png")).unwrap();
    let store = tmp.path().join("s.sqlite");
    let answer: Duplicates = dups(&dir, &store, &[]);
    let group = answer
        .groups
        .iter()
        .find(|g| g.paths.iter().any(|p| name(p) == "link.png"))
        .expect("the link and the file inside are grouped");
    assert_eq!(name(&group.keeper), "solid-red.png");
    let link = group.members.iter().find(|m| name(&m.path) == "link.png");
    assert!(link.unwrap().keep, "the link stays, and the report says so");

    let out = tmp.path().join("deep").join("er");
    let target = format!("move:{}", out.display());
    let ran = run(
        &["dups", dir.to_str().unwrap(), "--action", &target],
        &store,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(dir.join("link.png").symlink_metadata().is_ok());
    assert!(
        std::fs::read(dir.join("link.png")).is_ok(),
        "it still reaches red.png"
    );
    assert!(dir.join("solid-red.png").is_file());
}

/// Copies `from` to `to`, its modification time 100 s in the future: the rule `best` keeps
/// the older of two copies.
fn newer_copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(100);
    (std::fs::File::options().write(true).open(to).unwrap())
        .set_modified(later)
        .unwrap();
}
