//! tmux: its `allow-passthrough` for imgtui's own pane, and output that survives its
//! passthrough wrapping.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::environment::environment;

/// A change made to one pane's option, and the pane-level value it replaced (`None`: the
/// pane had none and inherited the window's).
#[derive(Debug)]
pub(super) struct Passthrough {
    pub(super) pane: String,
    pub(super) before: Option<String>,
}

/// Runs `tmux ARGS` quietly; its trimmed stdout, or `None` if it failed.
fn tmux(args: &[&str]) -> Option<String> {
    let out = Command::new("tmux")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Whether an effective value of the option already lets graphics through (`on`, or
/// tmux ≥ 3.4's `all`), so it must be left alone rather than lowered to `on`.
pub(super) fn lets_through(effective: &str) -> bool {
    matches!(effective, "on" | "all")
}

impl Passthrough {
    /// Inside tmux, switches passthrough on for the pane imgtui runs in (`$TMUX_PANE`,
    /// never the active pane, which an untargeted `tmux set -p` would change), unless it
    /// already lets graphics through. Returns the change to undo, or `None` if nothing
    /// was changed (not in tmux, no pane id, a tmux without the option, already on).
    pub(super) fn allow() -> Option<Passthrough> {
        let env = environment();
        if !env.tmux {
            return None;
        }
        let pane = env.tmux_pane.clone()?;
        let effective = tmux(&["show", "-pA", "-t", &pane, "-v", "allow-passthrough"])?;
        if lets_through(&effective) {
            return None;
        }
        let own = tmux(&["show", "-p", "-t", &pane, "-v", "allow-passthrough"])?;
        tmux(&["set", "-p", "-t", &pane, "allow-passthrough", "on"])?;
        Some(Passthrough {
            pane,
            before: (!own.is_empty()).then_some(own),
        })
    }

    /// Puts the pane's option back exactly: its old value, or unset if it had none.
    pub(super) fn put_back(self) {
        let pane = self.pane.as_str();
        match &self.before {
            Some(value) => tmux(&["set", "-p", "-t", pane, "allow-passthrough", value]),
            None => tmux(&["set", "-p", "-u", "-t", pane, "allow-passthrough"]),
        };
    }
}

/// The tmux option imgtui changed, if any, to put back on exit (or when the probe is over).
pub(super) static PASSTHROUGH: Mutex<Option<Passthrough>> = Mutex::new(None);

/// Writes the screen to the terminal, mending one thing on the way. Inside a tmux passthrough
/// (`ESC P tmux; … ESC \`) every ESC of the wrapped sequence must be doubled, but
/// ratatui-image 11 leaves a sixel's own terminator (`ESC \`, just before the passthrough's)
/// single: tmux then ended the passthrough there, the outer terminal never saw the sixel
/// finish, and no image showed in tmux. ratatui writes a cell's whole text (an image's
/// sequence) in one write, so the mend is made per write.
pub struct TmuxSafe<W>(pub W);

impl<W: Write> Write for TmuxSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !buf.windows(7).any(|w| w == b"\x1bPtmux;") {
            return self.0.write(buf);
        }
        self.0.write_all(&escape_inner_terminators(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with every single-ESC string terminator that is directly followed by another one
/// (the wrapped sequence's, then the passthrough's) doubled: `ESC \ ESC \` becomes
/// `ESC ESC \ ESC \`. A terminator already doubled is left alone.
pub(super) fn escape_inner_terminators(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len() + 8);
    let mut i = 0;
    while i < buf.len() {
        let single = i == 0 || buf[i - 1] != 0x1B;
        if single && buf[i..].starts_with(b"\x1b\\\x1b\\") {
            out.extend_from_slice(b"\x1b\x1b\\");
            i += 2;
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    out
}

/// Inside tmux, lets graphics through for imgtui's pane until [`restore`] (or until the probe
/// finds no graphics); does nothing if already done or not needed.
pub(super) fn allow_passthrough() {
    let mut changed = PASSTHROUGH.lock().unwrap_or_else(|e| e.into_inner());
    if changed.is_none() && in_tmux() {
        *changed = Passthrough::allow();
    }
}

pub(super) fn put_back_passthrough() {
    let changed = PASSTHROUGH.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = changed {
        p.put_back();
    }
}

/// Whether imgtui runs inside tmux (graphics sequences then need tmux's passthrough wrapping).
pub(super) fn in_tmux() -> bool {
    environment().tmux
}
