//! The explorer in a real terminal: tmux runs `imgtui DIR`, keys go in with `send-keys`,
//! the screen comes back with `capture-pane`. Skipped (with a note) where tmux is missing.

use std::process::Command;
use std::time::{Duration, Instant};

/// Runs tmux on the test's own server socket.
fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

/// The shell command that runs `imgtui DIR --store STORE` with the environment assignments
/// `env` (shell words, may be empty), followed by the shell text `after`.
fn command(env: &str, dir: &std::path::Path, store: &std::path::Path, after: &str) -> String {
    format!(
        "{env} {} {} --store {}{after}",
        env!("CARGO_BIN_EXE_imgtui"),
        dir.display(),
        store.display()
    )
}

/// Starts `imgtui DIR --store STORE` and then the shell text `after` in a new detached tmux
/// session of `size` columns × rows, in folder `cwd` if given.
fn start(
    socket: &str,
    session: &str,
    cwd: Option<&std::path::Path>,
    (width, height): (u16, u16),
    dir: &std::path::Path,
    store: &std::path::Path,
    after: &str,
) {
    let cmd = command("", dir, store, after);
    let (width, height) = (width.to_string(), height.to_string());
    let mut args = vec![
        "-u",
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        &width,
        "-y",
        &height,
    ];
    if let Some(cwd) = cwd {
        args.extend(["-c", cwd.to_str().unwrap()]);
    }
    args.push(&cmd);
    let out = tmux(socket, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until the pane shows `text`, or fails showing the pane.
fn wait_for(socket: &str, session: &str, text: &str) -> String {
    wait_until(socket, session, text, |screen| screen.contains(text))
}

/// Waits until the pane's text passes `ok`, or fails showing the pane.
fn wait_until(socket: &str, session: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let out = tmux(socket, &["capture-pane", "-p", "-t", session]);
        let screen = String::from_utf8_lossy(&out.stdout).into_owned();
        if ok(&screen) {
            return screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "waited for {what}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The neighbour pane's rows ("● 0.123 name").
fn neighbour_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| l.find("● ").map(|at| l[at..].to_owned()))
        .collect()
}

#[test]
fn explore_a_folder_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-test";
    start(
        sock,
        session,
        Some(tmp.path()),
        (120, 40),
        &dir,
        &store,
        "; echo exited $?; sleep 30",
    );
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    let wait = |text: &str| wait_for(sock, session, text);

    // Indexing and clustering run behind the first frame; then the panes appear.
    let s = wait("clusters:");
    assert!(
        s.contains("15 images") && s.contains("nearest neighbours"),
        "{s}"
    );
    assert!(
        s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "the map is drawn in braille:\n{s}"
    );
    // The neighbour pane follows the cursor.
    let s = wait_until(sock, session, "neighbours", |s| {
        neighbour_rows(s).len() >= 5
    });
    let before = neighbour_rows(&s);
    keys("j");
    wait_until(sock, session, "other neighbours", |s| {
        let now = neighbour_rows(s);
        now.len() >= 5 && now != before
    });
    keys("l");
    wait("cluster 2 ·");
    keys("s");
    wait("similar (Esc returns)");
    keys("Escape");
    wait("nearest neighbours (s)");
    keys("?");
    wait("export the marked images, or the cluster");
    keys("Escape");
    wait_until(sock, session, "help closed", |s| !s.contains("this help"));
    // e: the prompt offers imgtui-export/02-…, Enter copies the cluster there.
    keys("e");
    wait("export cluster to folder");
    keys("Enter");
    wait("files copied to imgtui-export/02-");
    let exported: Vec<_> = std::fs::read_dir(tmp.path().join("imgtui-export"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(exported.len(), 1);
    assert_eq!(std::fs::read_dir(&exported[0]).unwrap().count(), 5);
    keys("q");
    // The program exits cleanly and hands the normal screen back.
    let s = wait("exited 0");
    assert!(
        !s.contains("clusters:"),
        "the alternate screen is gone:\n{s}"
    );
    tmux(sock, &["kill-server"]);
}

/// The name on the grid tile with the thick (cursor's) frame: `┏name━…┓`.
fn cursor_tile(screen: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let at = l.find('┏')?;
        let rest = &l[at + '┏'.len_utf8()..];
        Some(rest.split('━').next()?.to_owned())
    })
}

#[test]
fn the_grid_in_tmux_moves_in_two_dimensions_and_shows_similar_images() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-grid";
    start(sock, session, None, (160, 48), &dir, &store, "; sleep 30");
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    wait_for(sock, session, "clusters:");
    // tmux draws no images here: the list first, g for the grid (half blocks).
    wait_for(sock, session, "g grid");
    keys("g");
    // The grid is drawn at once; its thumbnails come from the store a moment later.
    let s = wait_until(sock, session, "the grid's thumbnails", |s| {
        cursor_tile(s).is_some() && (s.contains('▀') || s.contains('▄'))
    });
    let first = cursor_tile(&s).unwrap();
    // → moves along the row; ↓ goes a row down (the cluster of 5 has 4 in the first row).
    keys("Right");
    let s = wait_until(sock, session, "the cursor on the second tile", |s| {
        cursor_tile(s).is_some_and(|t| t != first)
    });
    let second = cursor_tile(&s).unwrap();
    // The row of a tile: its name on its top frame.
    let row_of = |s: &str, name: &str| {
        s.lines()
            .position(|l| l.contains(&format!("┌{name}")) || l.contains(&format!("┏{name}")))
            .unwrap()
    };
    assert_eq!(row_of(&s, &first), row_of(&s, &second), "same row");
    keys("Down");
    let s = wait_until(sock, session, "a row down", |s| {
        cursor_tile(s).is_some_and(|t| t != second)
    });
    let below = cursor_tile(&s).unwrap();
    assert!(row_of(&s, &below) > row_of(&s, &second), "{s}");
    // s: the similar images, as a grid.
    keys("s");
    let s = wait_for(sock, session, "similar to ");
    assert!(cursor_tile(&s).is_some(), "{s}");
    keys("q");
    tmux(sock, &["kill-server"]);
}

/// SIGHUP (a dropped SSH connection) and SIGTERM end the explorer cleanly: it leaves the
/// alternate screen, exits 0, and the store opens fine afterwards.
#[test]
fn hangup_and_terminate_end_the_explorer_cleanly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    for (i, signal) in ["HUP", "TERM"].iter().enumerate() {
        let session = format!("signal-{i}");
        start(
            sock,
            &session,
            None,
            (100, 30),
            &dir,
            &store,
            "; echo exited $?; sleep 30",
        );
        wait_for(sock, &session, "clusters:");
        let pane = tmux(sock, &["display", "-p", "-t", &session, "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&pane.stdout).trim().to_owned();
        // The shell's child is imgtui (read from /proc; `kill` is the shell's own builtin).
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        let pid = children
            .split_whitespace()
            .next()
            .expect("imgtui runs")
            .to_owned();
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {pid}")])
            .status()
            .unwrap();
        assert!(status.success(), "signalled imgtui ({pid})");
        let s = wait_for(sock, &session, "exited 0");
        assert!(
            !s.contains("clusters:"),
            "the alternate screen is gone:\n{s}"
        );
    }
    // The terminal itself goes away (the SSH connection drops): imgtui must not linger.
    start(sock, "gone", None, (100, 30), &dir, &store, "");
    wait_for(sock, "gone", "clusters:");
    let pane = tmux(sock, &["display", "-p", "-t", "gone", "#{pane_pid}"]);
    let pid = String::from_utf8_lossy(&pane.stdout).trim().to_owned();
    tmux(sock, &["kill-session", "-t", "gone"]);
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "imgtui ({pid}) outlived its terminal"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(sock, &["kill-server"]);
    let db = imgtui::Store::open(&store).unwrap();
    assert!(db.vector_count("x").is_ok());
}

/// The environment of a shell that xterm started: imgtui takes the terminal for one that may
/// draw images and asks it (here nobody answers: the tmux session has no client).
const LOOKS_GRAPHICAL: &str = "XTERM_VERSION='XTerm(390)'";

/// Kills the test's tmux server when dropped, so a failing test leaves no explorer running.
struct Server<'a>(&'a str);

impl Drop for Server<'_> {
    fn drop(&mut self) {
        tmux(self.0, &["kill-server"]);
    }
}

/// The pid of the program a tmux pane's shell runs (read from /proc).
fn child_of_pane(socket: &str, target: &str) -> String {
    let pane = tmux(socket, &["display", "-p", "-t", target, "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&pane.stdout).trim().to_owned();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    children
        .split_whitespace()
        .next()
        .expect("imgtui runs")
        .to_owned()
}

/// Issue 16, case 7: in a terminal that looks graphics-capable but never answers the query,
/// no key is lost or reordered: keys typed while the query is out and after its time is up
/// all reach the explorer in order, and a single `q` quits.
#[test]
fn keys_typed_while_nobody_answers_the_graphics_query_all_arrive_in_order() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "probe";
    // Indexed and clustered beforehand, so the explorer opens on its clusters at once (it
    // takes only q, ? and Esc while loading) and the keys below meet the query in flight.
    let ran = crate::common::run(&["cluster".as_ref(), dir.as_os_str()], &store);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let cmd = command(LOOKS_GRAPHICAL, &dir, &store, "; echo exited $?; sleep 30");
    let out = tmux(
        sock,
        &[
            "-u",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "160",
            "-y",
            "40",
            &cmd,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _server = Server(sock);
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    // The first frame is drawn, then the query goes out (and is never answered): type at once.
    wait_for(sock, session, "clusters:");
    keys("/");
    keys("ab");
    std::thread::sleep(Duration::from_millis(300));
    keys("cd");
    // Well past the query's 1 s limit.
    std::thread::sleep(Duration::from_millis(1500));
    keys("ef");
    wait_for(sock, session, "abcdef▏");
    keys("Escape");
    wait_until(sock, session, "the filter closed", |s| {
        !s.contains("filter by file name")
    });
    keys("q");
    let s = wait_for(sock, session, "exited 0");
    assert!(!s.contains("clusters:"), "one q quits:\n{s}");
}

/// Issue 16, case 6: started in a pane that is not the active one (as editor runner plugins
/// and `send-keys` do), imgtui switches tmux's `allow-passthrough` on for its own pane only,
/// never the active pane, and puts back exactly what it found: unset stays unset, an explicit
/// `off` is `off` again, after `q` and after SIGTERM alike; with a forced graphics protocol it
/// stays on for the whole session and is put back the same way.
#[test]
fn tmux_passthrough_is_changed_for_its_own_pane_only_and_put_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let out = tmux(
        sock,
        &[
            "-u",
            "new-session",
            "-d",
            "-s",
            "pass",
            "-x",
            "160",
            "-y",
            "40",
            "sleep 600",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _server = Server(sock);
    let active =
        String::from_utf8_lossy(&tmux(sock, &["display", "-p", "-t", "pass", "#{pane_id}"]).stdout)
            .trim()
            .to_owned();
    let option = |pane: &str| {
        let out = tmux(sock, &["show", "-p", "-t", pane, "-v", "allow-passthrough"]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    for (before, quit, flags) in [
        ("", "q", ""),
        ("off", "TERM", ""),
        ("", "q", " --protocol sixel"),
    ] {
        let set_before = if before.is_empty() {
            String::new()
        } else {
            format!("tmux set -p -t \"$TMUX_PANE\" allow-passthrough {before}; ")
        };
        let cmd = format!(
            "{set_before}{}",
            command(
                LOOKS_GRAPHICAL,
                &dir,
                &store,
                &format!("{flags}; echo exited $?; sleep 30")
            )
        );
        let out = tmux(
            sock,
            &[
                "split-window",
                "-d",
                "-P",
                "-F",
                "#{pane_id}",
                "-t",
                "pass:0",
                &cmd,
            ],
        );
        let pane = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            pane.starts_with('%'),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // While the query is out the option is on for imgtui's pane; the active pane is never
        // touched.
        let started = Instant::now();
        let mut seen_on = false;
        while started.elapsed() < Duration::from_secs(4) {
            seen_on |= option(&pane) == "on";
            assert_eq!(option(&active), "", "the active pane was changed");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(seen_on, "passthrough was switched on for imgtui's pane");
        wait_for(sock, &pane, "q quit");
        if !flags.is_empty() {
            assert_eq!(option(&pane), "on", "kept on for the forced protocol");
        }
        if quit == "q" {
            tmux(sock, &["send-keys", "-t", &pane, "q"]);
        } else {
            let pid = child_of_pane(sock, &pane);
            let status = Command::new("sh")
                .args(["-c", &format!("kill -{quit} {pid}")])
                .status()
                .unwrap();
            assert!(status.success());
        }
        wait_for(sock, &pane, "exited 0");
        assert_eq!(option(&pane), before, "put back after {quit}");
        assert_eq!(option(&active), "");
        tmux(sock, &["kill-pane", "-t", &pane]);
    }
}

/// The live folder: images added, deleted, renamed and changed while the explorer runs are
/// indexed in the background and the screen follows, without a key.
#[test]
fn the_explorer_follows_a_changing_folder() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-live";
    start(
        sock,
        session,
        Some(tmp.path()),
        (120, 40),
        &dir,
        &store,
        " --features pixels; echo exited $?; sleep 30",
    );
    let wait = |text: &str| wait_for(sock, session, text);
    // The clusters are on screen (the loading screen's "embedding 15 of 15 images" is not).
    wait("clusters:");
    wait("15 images");
    // Added.
    crate::common::noise(40, 40, 1)
        .save(dir.join("new-1.png"))
        .unwrap();
    crate::common::noise(40, 40, 2)
        .save(dir.join("new-2.png"))
        .unwrap();
    wait("17 images");
    wait("the folder changed: 2 new or changed");
    // Deleted.
    std::fs::remove_file(dir.join("disc-0.png")).unwrap();
    wait("16 images");
    wait("the folder changed: 1 removed");
    // Renamed: the same picture under a new name.
    std::fs::rename(dir.join("new-1.png"), dir.join("renamed.png")).unwrap();
    wait("the folder changed: 1 new or changed, 1 removed");
    // Changed in place.
    crate::common::checkerboard(40, 40, 5)
        .save(dir.join("new-2.png"))
        .unwrap();
    let s = wait_until(sock, session, "the change of new-2.png", |s| {
        s.contains("16 images")
            && s.contains("the folder changed: 1 new or changed")
            && !s.contains("removed")
    });
    assert!(s.contains("clusters:"), "{s}");
    tmux(sock, &["send-keys", "-t", session, "q"]);
    wait("exited 0");
    // What the explorer wrote is in the store file itself, not left in its WAL.
    let wal = tmp.path().join("store.sqlite-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "the WAL still holds {left} bytes after q");
    tmux(sock, &["kill-server"]);
}

/// From an empty folder to one image, two, and back to none, without a restart: the live
/// folder carries the explorer across the sizes no clustering takes.
#[test]
fn the_explorer_waits_on_an_empty_folder_and_follows_it_through_one_image() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-few";
    start(
        sock,
        session,
        Some(tmp.path()),
        (120, 40),
        &dir,
        &store,
        " --features pixels; echo exited $?; sleep 30",
    );
    let wait = |text: &str| wait_for(sock, session, text);
    wait("no images here yet");
    crate::common::disc(48, 48, [250, 200, 0], [20, 20, 60])
        .save(dir.join("first.png"))
        .unwrap();
    let s = wait_until(sock, session, "one image", |s| {
        s.contains("1 image") && s.contains("first.png")
    });
    assert!(!s.contains("no images here yet"), "{s}");
    crate::common::noise(48, 48, 4)
        .save(dir.join("second.png"))
        .unwrap();
    wait_until(sock, session, "two images", |s| {
        s.contains("2 images") && s.contains("second.png")
    });
    std::fs::remove_file(dir.join("second.png")).unwrap();
    let s = wait_until(sock, session, "one image again", |s| {
        s.contains("1 image ") && !s.contains("second.png")
    });
    assert!(s.contains("first.png"), "{s}");
    std::fs::remove_file(dir.join("first.png")).unwrap();
    wait("no images here yet");
    tmux(sock, &["send-keys", "-t", session, "q"]);
    wait("exited 0");
    tmux(sock, &["kill-server"]);
}

/// `imgtui .` inside the collection, then `m`: the contact sheet goes beside the collection,
/// not into it, and the collection does not grow.
#[test]
fn a_montage_made_inside_the_collection_is_saved_beside_it() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-montage";
    start(
        sock,
        session,
        Some(&dir),
        (120, 40),
        std::path::Path::new("."),
        &store,
        " --features pixels; echo exited $?; sleep 30",
    );
    let wait = |text: &str| wait_for(sock, session, text);
    // "15 images" alone also matches the loading screen ("embedding 15 of 15 images"),
    // where keys other than q wait; `m` needs the clusters on screen.
    wait("clusters:");
    tmux(sock, &["send-keys", "-t", session, "m"]);
    wait("(Esc returns)");
    let beside = tmp.path().join("imgtui-montage");
    let sheets: Vec<_> = std::fs::read_dir(&beside).unwrap().collect();
    assert_eq!(sheets.len(), 1);
    assert!(!dir.join("imgtui-montage").exists());
    tmux(sock, &["send-keys", "-t", session, "Escape"]);
    // The folder still holds its 15 images, and no more.
    std::thread::sleep(Duration::from_secs(2));
    wait("15 images");
    tmux(sock, &["send-keys", "-t", session, "q"]);
    wait("exited 0");
    tmux(sock, &["kill-server"]);
}

/// A store damaged where the explorer reads it: the screen says what the command line says
/// (the file, the way out), and quitting repeats it and exits 2.
#[test]
fn a_damaged_store_in_the_explorer_names_the_file_and_the_way_out() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let d = dir.to_str().unwrap();
    crate::common::run_json(&["cluster", d, "--k", "3", "--features", "pixels"], &store);
    crate::common::damage_table(&store, "clusterings");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-damaged";
    start(
        sock,
        session,
        Some(tmp.path()),
        (160, 40),
        &dir,
        &store,
        " --features pixels; echo exited $?; sleep 30",
    );
    let s = wait_for(sock, session, "--rebuild-store");
    assert!(s.contains("store.sqlite"), "{s}");
    tmux(sock, &["send-keys", "-t", session, "q"]);
    let s = wait_for(sock, session, "exited 2");
    assert!(
        s.contains("imgtui: ") && s.contains("--rebuild-store"),
        "{s}"
    );
    tmux(sock, &["kill-server"]);
}

/// `imgtui doctor > report.txt`: the questions go to the terminal, the report to the file,
/// readable (answers decoded, no Some([…]) of bytes).
#[test]
fn doctor_writes_its_report_to_a_redirected_stdout() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-doctor";
    let report = tmp.path().join("report.txt");
    let cmd = format!(
        "{} doctor > {} < /dev/null; echo exited $?; sleep 30",
        env!("CARGO_BIN_EXE_imgtui"),
        report.display()
    );
    let out = tmux(
        sock,
        &[
            "-u",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "100",
            "-y",
            "30",
            &cmd,
        ],
    );
    assert!(out.status.success());
    wait_for(sock, session, "exited 0");
    let text = std::fs::read_to_string(&report).unwrap();
    for line in ["TERM", "DA1", "XTVERSION", "kitty graphics", "imgtui draws"] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains("Some("), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    tmux(sock, &["kill-server"]);
}

/// `--view overview`: every cluster a row of thumbnails on the first screen (half blocks in
/// tmux); the arrows walk it, Enter opens the cluster in the grid, w brings it back.
#[test]
fn the_explorer_starts_on_the_overview() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-overview";
    start(
        sock,
        session,
        None,
        (120, 40),
        &dir,
        &store,
        " --view overview --features pixels; echo exited $?; sleep 30",
    );
    let wait = |text: &str| wait_for(sock, session, text);
    // Every cluster has its row (auto k finds 3 or 4 in the three families).
    let rows = |s: &str| s.lines().filter(|l| l.starts_with("██ ")).count();
    let s = wait_until(sock, session, "a row per cluster, thumbnails drawn", |s| {
        rows(s) >= 3 && (s.contains('▀') || s.contains('▄'))
    });
    assert!(s.contains(" images"), "{s}");
    assert!(s.contains("Enter opens the cluster"), "{s}");
    tmux(
        sock,
        &["send-keys", "-t", session, "Down", "Right", "Enter"],
    );
    wait("cluster 2 ·");
    tmux(sock, &["send-keys", "-t", session, "w"]);
    wait_until(sock, session, "the overview again", |s| rows(s) >= 3);
    tmux(sock, &["send-keys", "-t", session, "q"]);
    wait("exited 0");
    tmux(sock, &["kill-server"]);
}

/// `--view lattice`: every image in its own cell of one grid (half blocks in tmux); Enter
/// opens the image's cluster in the grid.
#[test]
fn the_explorer_starts_on_the_lattice() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-lattice";
    start(
        sock,
        session,
        None,
        (120, 40),
        &dir,
        &store,
        " --view lattice --features pixels; echo exited $?; sleep 30",
    );
    // 15 images in 5 × 3 framed cells, their thumbnails drawn.
    let s = wait_until(sock, session, "15 cells, thumbnails drawn", |s| {
        s.matches('┌').count() + s.matches('┏').count() == 15
            && (s.contains('▀') || s.contains('▄'))
    });
    assert!(s.contains("+/- zoom"), "{s}");
    tmux(sock, &["send-keys", "-t", session, "Right", "Enter"]);
    // The panes: the images pane's title names the cluster.
    wait_until(sock, session, "the cluster's grid", |s| {
        s.contains("┐┌ cluster ")
    });
    tmux(sock, &["send-keys", "-t", session, "q"]);
    wait_for(sock, session, "exited 0");
    tmux(sock, &["kill-server"]);
}

/// The name on the compare view's frame of image `k` (1-based): `┌ k · name ─`.
fn compared_name(screen: &str, k: usize) -> Option<String> {
    let title = format!(" {k} · ");
    screen.lines().find_map(|l| {
        let at = l.find(&title)?;
        Some(l[at + title.len()..].split(' ').next()?.to_owned())
    })
}

/// The pixels `families` drew `name` with.
fn family_size(name: &str) -> String {
    let i: u32 = name[name.find('-').unwrap() + 1..name.find('.').unwrap()]
        .parse()
        .unwrap();
    match crate::common::family(std::path::Path::new(name)) {
        "disc" => format!("{}×96", 96 + i * 8),
        "stripes" => "112×112".to_owned(),
        _ => "120×120".to_owned(),
    }
}

#[test]
fn c_in_tmux_compares_two_marked_images_with_their_facts_and_distance() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-compare";
    start(sock, session, None, (160, 48), &dir, &store, "; sleep 30");
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    wait_for(sock, session, "clusters:");
    wait_for(sock, session, "g grid");
    keys("Space");
    keys("Space");
    wait_for(sock, session, "2 images marked");
    keys("C");
    // Both pictures' captions: pixels, format, bytes and time from the files, and the
    // distance of the second to the first from the vectors.
    let s = wait_until(sock, session, "the compare view", |s| {
        s.matches(" · PNG · ").count() == 2 && s.contains("distance to 1: 0.")
    });
    let (first, second) = (compared_name(&s, 1).unwrap(), compared_name(&s, 2).unwrap());
    assert_ne!(first, second);
    for name in [&first, &second] {
        let caption = format!("{} · PNG · ", family_size(name));
        assert!(s.contains(&caption), "{caption} for {name}:\n{s}");
    }
    assert_eq!(s.matches("modified 20").count(), 2, "{s}");
    assert!(s.contains("the first: distances are to it"), "{s}");
    // Both pictures, in half blocks, each in its own panel.
    let halves = |l: &str| l.chars().filter(|&c| c == '▀' || c == '▄').count();
    wait_until(sock, session, "both pictures", |s| {
        s.lines().any(|l| {
            let middle = l.char_indices().nth(80).map_or(l.len(), |(at, _)| at);
            halves(&l[..middle]) > 20 && halves(&l[middle..]) > 20
        })
    });
    // f: one place, the two in turn; Esc: back to the panes.
    keys("f");
    wait_for(sock, session, "flickering 1 ⇄ 2");
    let shown = |s: &str| s.contains(&format!("2 · {second}"));
    wait_until(sock, session, "the second image in its turn", shown);
    wait_until(sock, session, "the first image in its turn", |s| !shown(s));
    keys("Escape");
    wait_until(sock, session, "the panes again", |s| {
        s.contains("clusters:") && !s.contains("flickering")
    });
    keys("q");
    tmux(sock, &["kill-server"]);
}

#[test]
fn t_searches_by_words_with_a_clip_model_and_esc_brings_the_neighbours_back() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-search";
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/clip-tiny/spec.toml");
    let after = format!(" --model {}; echo exited $?; sleep 30", spec.display());
    start(sock, session, None, (160, 48), &dir, &store, &after);
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    let typed = |k: &str| tmux(sock, &["send-keys", "-l", "-t", session, k]);
    wait_for(sock, session, "clusters:");
    wait_until(sock, session, "the neighbours", |s| {
        neighbour_rows(s).len() >= 5
    });
    keys("t");
    wait_for(sock, session, "search by words");
    typed("stripes - noise");
    wait_for(sock, session, "stripes - noise▏");
    keys("Enter");
    let s = wait_for(sock, session, "search: stripes - noise (Esc returns)");
    // Every image is ranked, by cosine similarity (as `imgtui search` gives it).
    let scores: Vec<f32> = neighbour_rows(&s)
        .iter()
        .filter_map(|r| r.split_whitespace().nth(1)?.parse().ok())
        .collect();
    assert!(scores.len() >= 10, "{s}");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}\n{s}");
    // s on a result: that image's own similar images.
    keys("s");
    wait_for(sock, session, "similar (Esc returns)");
    keys("Escape");
    wait_for(sock, session, "nearest neighbours (s)");
    // A query that cannot run says why on the status line and changes nothing.
    keys("t");
    wait_for(sock, session, "search by words");
    keys("C-u");
    typed("red - red");
    keys("Enter");
    // The query comes back to be mended.
    let s = wait_for(sock, session, "cancel out");
    assert!(s.contains("red - red▏"), "{s}");
    keys("Escape");
    wait_until(sock, session, "the query line closed", |s| {
        !s.contains("search by words")
    });
    keys("q");
    wait_for(sock, session, "exited 0");
    tmux(sock, &["kill-server"]);
}

#[test]
fn f_in_tmux_switches_the_facet_and_the_neighbours_follow() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed: skipping the terminal test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let socket = tmp.path().join("tmux.sock");
    let sock = socket.to_str().unwrap();
    let session = "imgtui-facets";
    start(sock, session, None, (120, 40), &dir, &store, "; sleep 30");
    let keys = |k: &str| tmux(sock, &["send-keys", "-t", session, k]);
    wait_for(sock, session, "clusters:");
    let s = wait_until(sock, session, "neighbours", |s| {
        neighbour_rows(s).len() >= 5
    });
    let by_content = neighbour_rows(&s);
    // f: colour, then texture, then content again; each time the neighbours are found anew
    // in that facet's space, for the image under the cursor.
    for facet in ["colour", "texture"] {
        keys("f");
        let s = wait_until(sock, session, facet, |s| {
            s.contains(&format!(
                "similar by {facet}: neighbours, map and clusters follow"
            )) && neighbour_rows(s).len() >= 5
                && neighbour_rows(s) != by_content
        });
        assert!(s.contains("clusters:"), "{s}");
    }
    keys("f");
    wait_until(sock, session, "the content neighbours again", |s| {
        s.contains("similar by content: neighbours, map and clusters follow")
            && neighbour_rows(s) == by_content
    });
    keys("q");
    tmux(sock, &["kill-server"]);
}
