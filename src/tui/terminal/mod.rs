//! The user's terminal: taking it over, reading keys, asking what graphics it speaks, and
//! handing it back exactly as it was found.
//!
//! * [`enter`] switches to raw mode and the alternate screen; [`restore`] (idempotent, callable
//!   from any thread, also run by the panic hook [`enter`] installs and by the signal watchdog)
//!   puts back what was changed: raw mode off, the normal screen, the cursor shown, and tmux's
//!   `allow-passthrough` for this pane as it was, and mouse reporting off if [`enable_mouse`]
//!   turned it on. Bracketed paste and keyboard enhancement are never switched on.
//! * [`Reader`] is the one reader of the terminal. Replies to queries arrive mixed with the
//!   user's typing; [`Parser`] splits them out and turns every other byte into keys, in order,
//!   so a query that is answered late, never, or with garbage cannot take or reorder a key.
//! * [`Probe`] writes the graphics query (ratatui-image's, parsed with its `cap_parser`) and
//!   takes the replies that [`Reader`] hands it; [`Graphics`] draws previews with the answer.
//!   ratatui-image's own `Picker` is not used: its constructors read stdin on a thread of their
//!   own and run an untargeted `tmux set -p allow-passthrough on`.
//!
//! A file a job: `restore.rs` (taking and handing back), `tmux.rs` (passthrough for the own
//! pane, output that survives tmux), `probe.rs` (the query and its answers), `detect.rs`
//! (the protocol from the answers and the environment), `environment.rs` (the
//! variables that name the terminal, read once), `graphics.rs` (cell size, encoding),
//! `input.rs` (the reader and parser), `doctor.rs` (`imgtui doctor`).

mod detect;
mod doctor;
mod environment;
mod graphics;
mod input;
mod probe;
mod restore;
mod tmux;

pub use detect::*;
pub use doctor::*;
pub use environment::*;
pub use graphics::*;
pub use input::*;
pub use probe::*;
pub use restore::*;
pub use tmux::*;

/// The most text sent to the clipboard at once: terminals and tmux drop longer OSC 52
/// sequences (xterm and tmux take about 100 kB of base64).
pub const CLIPBOARD_MAX: usize = 74_000;

/// The OSC 52 sequence that puts `text` on the clipboard: `ESC ] 52 ; c ; base64(text) ESC \`
/// (xterm's control sequences, "Manipulate Selection Data"; `c` is the clipboard). tmux with
/// `set-clipboard on` (or `external`, its default) takes it and passes it to the terminal
/// outside, also over SSH.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{data}\x1b\\")
}

#[cfg(test)]
mod tests;
