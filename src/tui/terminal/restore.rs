//! Taking the terminal and handing it back: raw mode, the alternate screen, the mouse, the
//! panic hook.

use std::io::Write;
use std::sync::Mutex;

use super::*;

/// Whether [`enter`] took the terminal and [`restore`] has not yet handed it back.
pub(super) static ENTERED: Mutex<bool> = Mutex::new(false);

/// Takes over the terminal: raw mode, the alternate screen, and a panic hook that restores
/// both (and any tmux option changed) before the panic message is printed, then ends the
/// process (exit code 101), whichever thread panicked.
///
/// Errors: the terminal refuses raw mode, or stdout cannot be written.
pub fn enter() -> anyhow::Result<Tty> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        // A panic on any thread (a worker's too) ends the explorer: with the terminal handed
        // back, staying would leave a screen that no longer answers its keys.
        std::process::exit(101);
    }));
    let entered = (|| -> anyhow::Result<Tty> {
        crossterm::terminal::enable_raw_mode()?;
        *ENTERED.lock().unwrap_or_else(|e| e.into_inner()) = true;
        crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
        Ok(ratatui::Terminal::new(
            ratatui::backend::CrosstermBackend::new(TmuxSafe(std::io::stdout())),
        )?)
    })();
    if entered.is_err() {
        // Half taken (raw mode on, the screen not switched): give it back before the error.
        restore();
    }
    entered
}

/// The explorer's terminal: ratatui on crossterm, writing through [`TmuxSafe`].
pub type Tty = ratatui::Terminal<ratatui::backend::CrosstermBackend<TmuxSafe<std::io::Stdout>>>;

/// Mouse reporting: button presses and the wheel (`?1000`), in SGR form (`?1006`), which has
/// no limit on columns. Motion is not asked for (`?1002`/`?1003` would flood the reader).
pub(super) const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1006h";
pub(super) const MOUSE_OFF: &str = "\x1b[?1006l\x1b[?1000l";

/// Asks the terminal to report clicks and the wheel (as [`Input::Mouse`]) until [`restore`].
/// A terminal that does not know the request ignores it, and no mouse input ever comes.
pub fn enable_mouse(out: &mut impl Write) -> std::io::Result<()> {
    *MOUSE.lock().unwrap_or_else(|e| e.into_inner()) = true;
    out.write_all(MOUSE_ON.as_bytes())?;
    out.flush()
}

pub(super) static MOUSE: Mutex<bool> = Mutex::new(false);

/// Hands the terminal back as [`enter`] found it: the cursor shown, the normal screen, cooked
/// mode (crossterm restores the exact terminal modes it saved), and this pane's tmux
/// `allow-passthrough` as it was. Safe to call more than once and from any thread.
pub fn restore() {
    put_back_passthrough();
    let mut entered = ENTERED.lock().unwrap_or_else(|e| e.into_inner());
    if std::mem::take(&mut *entered) {
        if std::mem::take(&mut *MOUSE.lock().unwrap_or_else(|e| e.into_inner())) {
            let mut out = std::io::stdout();
            let _ = out.write_all(MOUSE_OFF.as_bytes());
        }
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
