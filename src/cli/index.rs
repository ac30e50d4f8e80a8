//! `imgtui index` (and `--watch`), `store merge`, and the progress bar.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use imgtui::error::Result;
use imgtui::{Error, Progress, Session, Store};
use indicatif::{ProgressBar, ProgressStyle};

use super::*;

/// `index`'s `--threads` and `--shard`, checked: called before the store is opened, so a bad
/// value leaves no store file behind.
pub(crate) fn checked_index_args(a: &IndexArgs) -> Result<Option<(u32, u32)>> {
    if let Some(t) = a.threads {
        imgtui::index::check_threads(t)
            .map_err(|rule| Error::bad_request(format_args!("--threads {t}: {rule}")))?;
    }
    a.shard
        .as_deref()
        .map(|shard| {
            imgtui::index::parse_shard(shard)
                .map_err(|rule| Error::bad_request(format_args!("--shard {shard}: {rule}")))
        })
        .transpose()
}

/// The session's indexing settings with `index`'s `--threads`, `--batch`,
/// `--no-thumbnails` and `shard` (from [`checked_index_args`]) applied.
pub(crate) fn tuned(
    session: &Session,
    a: &IndexArgs,
    shard: Option<(u32, u32)>,
) -> imgtui::IndexOptions {
    let mut opts = session.index_options();
    opts.threads = a.threads.unwrap_or(opts.threads);
    opts.batch = a.batch.unwrap_or(opts.batch).max(1);
    opts.thumbnails &= !a.no_thumbnails;
    if shard.is_some() {
        opts.shard = shard;
    }
    opts
}

pub(crate) fn run_index(a: IndexArgs, g: &Globals) -> Result<ExitCode> {
    let shard = checked_index_args(&a)?;
    if a.watch {
        return run_index_watch(a, g);
    }
    let (session, summary) = g.indexed(&a.dir, |s| Ok(tuned(s, &a, shard)))?;
    if let Some(runtime) = session.extractor().runtime().filter(|r| r != "tract") {
        say!("imgtui: {} run by {runtime}", session.extractor().name());
    }
    if a.json {
        print(&summary, Format::Json, "")?;
    } else {
        for s in &summary.skipped {
            say!("skipped {}: {}", imgtui::text::shown(&s.path), s.reason);
        }
    }
    say!("{summary}");
    if let Some(index) = session.refresh_search_index(&summary)? {
        say!(
            "imgtui: neighbour index saved: {} cells of similar images, a search reads {}",
            index.cells(),
            index.probes()
        );
    }
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// `index --watch`: index, then index again whenever the folder changes, one line (or JSON
/// summary) per change, until Ctrl-C.
pub(crate) fn run_index_watch(a: IndexArgs, g: &Globals) -> Result<ExitCode> {
    let mut session = g.open(&a.dir)?;
    let opts = tuned(&session, &a, None);
    let cancel = cancel_on_signals()?;
    // Watched from before the first run, so nothing added meanwhile is missed.
    let mut watch = session.watch();
    say!(
        "imgtui: {} {} (Ctrl-C stops)",
        watch.mode(),
        imgtui::text::shown(session.root())
    );
    let mut first = true;
    // Files already reported as skipped are not listed again with every change.
    let mut told = std::collections::HashSet::new();
    while !cancel.load(Ordering::SeqCst) {
        if !first && !watch.wait(std::time::Duration::from_millis(250)) {
            continue;
        }
        let summary = session.update_index_with(&opts, &|_| {}, &cancel)?;
        // The explorer's rule: a pass is told when images came, changed or went, or a file
        // began or stopped being skipped (and the first pass always).
        let mode = watch.mode().clone();
        let change = watch.assess(&summary);
        if *watch.mode() != mode {
            say!("imgtui: now {}", watch.mode());
        }
        if first || change.is_some() || summary.interrupted {
            if a.json {
                print(&summary, Format::Json, "")?;
            } else {
                for s in &summary.skipped {
                    if told.insert((s.path.clone(), s.reason.clone())) {
                        say!("skipped {}: {}", imgtui::text::shown(&s.path), s.reason);
                    }
                }
                // A reader that stopped (`| head -1`) ends watching as Ctrl-C does: exit 0.
                use std::io::Write as _;
                writeln!(std::io::stdout(), "{summary}")?;
            }
        }
        first = false;
        // A signal in the middle of a pass ends watching as one between passes does (exit 0,
        // docs/reference.md, exit codes); what the pass embedded is kept.
        if summary.interrupted {
            break;
        }
    }
    say!("imgtui: stopped watching");
    Ok(ExitCode::SUCCESS)
}

/// `store merge OUT IN...`: the inputs merged into OUT, a summary line (or the answer as
/// JSON or CSV).
pub(crate) fn run_merge(a: MergeArgs) -> Result<ExitCode> {
    let report = Store::merge_into(&a.out, &a.inputs)?;
    match a.format {
        Some(format) => {
            print(&report, format, "conflicts")?;
        }
        None => {
            for v in &report.vector_conflicts {
                say!(
                    "vector differs: {} ({}) in {}; kept {}'s",
                    v.hash,
                    v.feature,
                    imgtui::text::shown(&v.input),
                    imgtui::text::shown(&a.out)
                );
            }
            for f in &report.file_conflicts {
                let kept = if f.kept_input {
                    "its record, the newer"
                } else {
                    "the newer record already merged"
                };
                say!(
                    "stat differs: {} in {}; kept {kept}",
                    imgtui::text::shown(&f.path),
                    imgtui::text::shown(&f.input),
                );
            }
        }
    }
    say!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
pub(crate) struct Bar(pub(crate) ProgressBar);

impl Bar {
    pub(crate) fn callback(&self) -> impl Fn(Progress) + Sync + '_ {
        move |p| match p {
            Progress::Scanned { to_process, .. } => self.0.set_length(to_process as u64),
            Progress::Processed { done, .. } => self.0.set_position(done as u64),
        }
    }
}

pub(crate) fn progress_bar() -> Bar {
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
    Bar(bar)
}
