//! The `imgtui` command: a thin layer over the engine in `lib.rs`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use imgtui::config::Config;
use imgtui::scan::ScanError;
use imgtui::{OnnxModel, Progress, Store, Summary};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "imgtui",
    version,
    about = "Explore a folder of images by visual similarity"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder of images (until the explorer lands, this indexes it).
    dir: Option<PathBuf>,
    /// Feature store file [default: store.sqlite in the user's cache folder].
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Embed every image under DIR into the feature store (only what changed since last time).
    Index {
        dir: PathBuf,
        /// Print the summary as one JSON object on stdout, skipped files included.
        #[arg(long)]
        json: bool,
        /// Worker threads [default: one per CPU core, plus one].
        #[arg(long)]
        threads: Option<usize>,
        /// Files written per transaction; a crash loses at most one batch.
        #[arg(long, hide = true)]
        batch: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Index {
            dir,
            json,
            threads,
            batch,
        }) => run_index(&dir, cli.store, json, threads, batch),
        None => match cli.dir {
            Some(dir) => run_index(&dir, cli.store, false, None, None),
            None => {
                eprintln!("imgtui: give a folder of images, e.g. `imgtui ~/Pictures` (see --help)");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            let code = if err.downcast_ref::<ScanError>().is_some() {
                2
            } else {
                1
            };
            eprintln!("imgtui: {}", one_line(&err));
            ExitCode::from(code)
        }
    }
}

/// An error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn open_store(path: Option<PathBuf>, config: &Config) -> anyhow::Result<Store> {
    let path = path
        .or_else(|| config.store_path())
        .or_else(Store::default_path)
        .ok_or_else(|| anyhow::anyhow!("no cache folder for the store: pass --store PATH"))?;
    Store::open(&path)
}

fn run_index(
    dir: &Path,
    store: Option<PathBuf>,
    json: bool,
    threads: Option<usize>,
    batch: Option<usize>,
) -> anyhow::Result<ExitCode> {
    imgtui::scan::resolve_root(dir)?;
    let config = Config::default();
    let mut store = open_store(store, &config)?;
    let model = OnnxModel::builtin();
    let cancel = cancel_on_signals()?;
    let mut opts = config.index_options()?;
    opts.threads = threads.unwrap_or(opts.threads);
    opts.batch = batch.unwrap_or(opts.batch).max(1);

    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {speed} eta {eta}")
            .expect("valid template")
            .with_key(
                "speed",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} images/s", s.per_sec());
                },
            )
            .progress_chars("=> "),
    );
    bar.set_message("embedding");
    let on_progress = |p: Progress| match p {
        Progress::Scanned { to_process, .. } => bar.set_length(to_process as u64),
        Progress::Processed { done, .. } => bar.set_position(done as u64),
    };
    let summary = imgtui::index(dir, &mut store, &model, &opts, &on_progress, &cancel)?;
    bar.finish_and_clear();

    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for s in &summary.skipped {
            eprintln!("skipped {}: {}", s.path.display(), s.reason);
        }
    }
    eprintln!("{}", summary_line(&summary));
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary_line(s: &Summary) -> String {
    let rate = if s.embedded > 0 {
        format!(" ({:.1} images/s)", s.images_per_second)
    } else {
        String::new()
    };
    let removed = if s.removed > 0 {
        format!(", {} removed", s.removed)
    } else {
        String::new()
    };
    format!(
        "{}{} found, {} embedded, {} cached, {} skipped{removed} in {:.2} s{rate}",
        if s.interrupted { "interrupted: " } else { "" },
        s.found,
        s.embedded,
        s.cached,
        s.skipped.len(),
        s.seconds,
    )
}

/// A flag raised by Ctrl-C, SIGTERM or SIGHUP: the run stops and keeps what it has done.
/// A second signal exits at once (committed batches are safe either way).
fn cancel_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })?;
    Ok(flag)
}
