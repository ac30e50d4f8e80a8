//! The binary's side of the command line: clap's definitions in `args.rs`, then one short
//! function per subcommand, by theme. Everything else is the engine's ([`imgtui::Session`],
//! [`imgtui::answers`]).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use imgtui::answers::Answer;
use imgtui::error::Result;

mod args;
mod clusters;
mod index;
mod setup;
mod similar;

pub(crate) use args::*;
pub(crate) use clusters::*;
pub(crate) use index::*;
pub(crate) use setup::*;
pub(crate) use similar::*;

/// Prints `answer` on stdout as JSON or as the CSV `table`. CSV keeps names exact (quoted)
/// for a program reading it; when stdout is a terminal a person reads it, and its control
/// characters are shown escaped instead (JSON escapes them itself).
pub(crate) fn print(answer: &impl Answer, format: Format, table: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => answer.write_json(&mut out)?,
        Format::Csv if out.is_terminal() => {
            let mut csv = Vec::new();
            answer.write_csv(table, &mut csv)?;
            let text = String::from_utf8_lossy(&csv);
            out.write_all(imgtui::text::escape_lines(&text).as_bytes())?;
        }
        Format::Csv => answer.write_csv(table, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A flag raised by Ctrl-C, SIGTERM or SIGHUP: the run stops and keeps what it has done.
/// A second signal exits at once (committed batches are safe either way). The handler is
/// installed once; later calls share its flag, and each call undoes [`end_at_once_on_signal`]:
/// whoever asks for the flag checks it.
pub(crate) fn cancel_on_signals() -> Result<Arc<AtomicBool>> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    AT_ONCE.store(false, Ordering::SeqCst);
    if let Some(flag) = FLAG.get() {
        return Ok(flag.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        if AT_ONCE.load(Ordering::SeqCst) {
            eprintln!("imgtui: interrupted; the index is saved, the answer was not finished");
            std::process::exit(130);
        }
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .map_err(anyhow::Error::from)?;
    Ok(FLAG.get_or_init(|| flag).clone())
}

/// Whether a signal ends the process at once, see [`end_at_once_on_signal`].
static AT_ONCE: AtomicBool = AtomicBool::new(false);

/// From here on the first Ctrl-C, SIGTERM or SIGHUP ends the process at once (exit 130), for
/// a command whose index is saved and which only works out its answer (a first fit, dups'
/// groups, a query): nothing is lost, and no long computation has to reach a point where it
/// checks a flag. A later [`cancel_on_signals`] (a file action, the explorer) stops this.
pub(crate) fn end_at_once_on_signal() {
    AT_ONCE.store(true, Ordering::SeqCst);
}
