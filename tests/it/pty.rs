//! The graphics probe against a played terminal: `imgtui DIR` runs on a pseudo-terminal whose
//! other end this test holds, answers the explorer's query as a sixel terminal, a kitty
//! terminal, a late one or a silent one, and types keys while the query is out. In each case
//! the protocol and cell size the explorer reports (its help's "images" line), the image
//! sequences it writes, and every key (in order) are checked.

#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The explorer on a pseudo-terminal, and everything it wrote there.
struct Played {
    child: Child,
    keyboard: File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Played {
    /// Starts `imgtui DIR --store STORE --features color` on a new pseudo-terminal of 160 × 40
    /// cells, reporting `pixels` (width, height) through TIOCGWINSZ or none, with an
    /// environment that names no terminal (as over SSH).
    fn start(dir: &std::path::Path, store: &std::path::Path, pixels: Option<(u16, u16)>) -> Played {
        let (w, h) = pixels.unwrap_or((0, 0));
        let size = libc::winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: w,
            ws_ypixel: h,
        };
        let (mut master, mut slave) = (0, 0);
        // SAFETY: two out-pointers to ints, no name, no termios, a valid winsize.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned these two descriptors, owned from here on.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = Command::new(env!("CARGO_BIN_EXE_imgtui"))
            .arg(dir)
            // The panes, not the overview a graphics terminal opens on: the keys typed are
            // checked on the panes' filter and preview.
            .args(["--view", "grid", "--features", "color", "--store"])
            .arg(store)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("TERM", "xterm-256color")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let keyboard = File::from(master.try_clone().unwrap());
        let screen = Arc::new(Mutex::new(Vec::new()));
        let written = screen.clone();
        let mut answers = File::from(master.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut tty = File::from(master);
            let mut buf = [0u8; 65536];
            // Ends when the explorer has exited and closed its side (EIO).
            while let Ok(n @ 1..) = tty.read(&mut buf) {
                // ratatui asks where the cursor is when the prompt shows one (CPR).
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answers.write_all(b"\x1b[1;1R");
                }
                written.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Played {
            child,
            keyboard,
            screen,
        }
    }

    /// Everything written so far, lossily as text (escape sequences included).
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// The screen as a person sees it now: the output played through a VT100 parser (ratatui
    /// writes only the cells that change, so on-screen text is rarely contiguous in the output).
    fn shown(&self) -> String {
        let mut vt = vt100::Parser::new(40, 160, 0);
        vt.process(&self.screen.lock().unwrap());
        vt.screen().contents()
    }

    /// Waits until the screen shows `text` (at most 60 s), or fails showing the screen.
    fn wait_shown(&self, text: &str) {
        let start = Instant::now();
        while !self.shown().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {text:?} on screen; it shows:\n{}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the output holds `text` (a sequence; at most 60 s), or fails showing its end.
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.text().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {text:?}; the output ends {:?}",
                self.text()
                    .chars()
                    .rev()
                    .take(600)
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect::<String>()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types (or answers) `bytes`.
    fn send(&mut self, bytes: &[u8]) {
        self.keyboard.write_all(bytes).unwrap();
        self.keyboard.flush().unwrap();
    }
}

/// How the played terminal answers the query.
enum Answer {
    /// At once.
    Now(&'static [u8]),
    /// After the explorer's 1 s wait is over.
    Late(&'static [u8]),
    Never,
}

/// xterm -ti vt340: DA1 with 4 (sixel), XTVERSION, a 7 × 14 cell and its text area; no kitty.
const SIXEL: &[u8] =
    b"\x1b[?63;1;2;4;6;9;15;22c\x1bP>|XTerm(390)\x1b\\\x1b[6;14;7t\x1b[4;560;1120t\x1b[0n";
/// kitty: the graphics query answered OK, DA1 without sixel, a 10 × 20 cell.
const KITTY: &[u8] =
    b"\x1b_Gi=31;OK\x1b\\\x1b[?62;22c\x1bP>|kitty(0.39.1)\x1b\\\x1b[6;20;10t\x1b[0n";

/// Plays one terminal: types keys while the query is out, answers as `answer` says, and
/// checks the help's line (`images`), that images were drawn with `drawn` (a sequence only
/// that protocol writes) if given, and that the keys all arrived in order.
fn play(pixels: Option<(u16, u16)>, answer: Answer, images: &str, drawn: Option<&str>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let ran = crate::common::run(
        &[
            "cluster".as_ref(),
            dir.as_os_str(),
            "--features".as_ref(),
            "color".as_ref(),
        ],
        &store,
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let mut t = Played::start(&dir, &store, pixels);
    // The query goes out after the first frame and ends with the status request.
    t.wait_for("\x1b[5n");
    assert!(
        t.text().contains("\x1b[c") && t.text().contains("\x1b[>0q"),
        "DA1 and XTVERSION asked"
    );
    // The saved clusters are shown at once (while loading, only q, ? and Esc count); then
    // keys typed before, amid and after the answer: a filter `disc`, kept with Enter.
    t.wait_shown("clusters:");
    t.send(b"/di");
    match answer {
        Answer::Now(bytes) => {
            // A key between two replies (a terminal writes each reply whole, so a key never
            // lands inside one): cut before the first CSI reply in the second half.
            let half = bytes.len() / 2;
            let cut = half
                + bytes[half..]
                    .windows(2)
                    .position(|w| w == b"\x1b[")
                    .unwrap();
            t.send(&bytes[..cut]);
            t.send(b"s");
            t.send(&bytes[cut..]);
        }
        Answer::Late(bytes) => {
            std::thread::sleep(Duration::from_millis(1600));
            t.send(b"s");
            t.send(bytes);
        }
        Answer::Never => {
            std::thread::sleep(Duration::from_millis(1600));
            t.send(b"s");
        }
    }
    t.send(b"c\r");
    t.wait_shown("match \"disc\"");
    // The preview of the image under the cursor, drawn with the protocol found (before the
    // help covers it).
    if let Some(drawn) = drawn {
        t.wait_for(drawn);
    }
    t.send(b"?");
    t.wait_shown(images);
    // No stray text of the answers was taken as typing, and one q quits.
    // Esc closes the help (a lone Esc is told from Alt+key by a pause), then q.
    t.send(b"\x1b");
    std::thread::sleep(Duration::from_millis(150));
    t.send(b"q");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = t.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "q did not quit: {}",
            t.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_sixel_terminal_is_found_by_its_answer_and_the_tty_size_wins() {
    // 160 × 40 cells of 8 × 16 px: the tty's size comes first, the answer's 7 × 14 second.
    play(
        Some((1280, 640)),
        Answer::Now(SIXEL),
        "sixel (DA1), cell 8×16 px from the tty",
        Some("q\"1;1;"),
    );
}

#[test]
fn a_kitty_terminal_is_found_and_its_cell_size_taken_from_its_answer() {
    play(
        None,
        Answer::Now(KITTY),
        "kitty (kitty graphics query), cell 10×20 px from the terminal",
        Some("\x1b_Gq=2,"),
    );
}

#[test]
fn a_late_answer_leaves_half_blocks_and_loses_no_key() {
    play(
        None,
        Answer::Late(SIXEL),
        "half blocks (the terminal did not answer within 1 s)",
        None,
    );
}

#[test]
fn a_silent_terminal_gets_half_blocks_and_loses_no_key() {
    play(
        None,
        Answer::Never,
        "half blocks (the terminal did not answer within 1 s)",
        None,
    );
}
