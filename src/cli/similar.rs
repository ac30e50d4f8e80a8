//! `imgtui similar`, `neighbours`, `outliers`, `vectors` and `dups` (and its actions).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use imgtui::analysis::duplicates;
use imgtui::answers::{self};
use imgtui::dedupe::{Acted, Action, Outcome, Report, Status};
use imgtui::error::Result;
use imgtui::export::paths_file;
use imgtui::session::{OUTLIER_K, Select};
use imgtui::{Error, ErrorKind, Session};

use super::*;

pub(crate) fn run_similar(a: SimilarArgs, g: &Globals) -> Result<ExitCode> {
    let select = match a.radius {
        Some(r) => Select::within(r)
            .map_err(|rule| Error::bad_request(format_args!("--radius {r}: {rule}")))?,
        None => Select::Nearest(a.n),
    };
    let image = &a.image;
    let missing = |e: std::io::Error| {
        Error::with_kind(
            ErrorKind::MissingInput,
            anyhow::anyhow!("{}: {e}", imgtui::text::shown(image)),
        )
    };
    let bytes = std::fs::read(image).map_err(missing)?;
    let image = std::fs::canonicalize(image).map_err(missing)?;
    if bytes.is_empty() {
        // As indexing says it.
        return Err(Error::bad_request(format_args!(
            "{}: empty file",
            imgtui::text::shown(&image)
        )));
    }
    let dir = match a.dir {
        Some(dir) => dir,
        None => {
            // IMAGE's folder, but only one indexed before: indexing a folder (exports,
            // montages, screenshots and all) is for --in or `imgtui index` to ask for.
            let dir = image.parent().map(Path::to_owned).unwrap_or_default();
            let session = g.open(&dir)?;
            if !session.was_indexed()? {
                // An image that cannot be decoded is the first thing to say: its folder may
                // hold no image that could be indexed either.
                if let Err(e) = imgtui::decode::decode(&bytes, session.decode_options()) {
                    return Err(Error::bad_request(format_args!(
                        "{}: {e}",
                        imgtui::text::shown(&image)
                    )));
                }
                return Err(Error::bad_request(format_args!(
                    "{} (the image's folder) is not indexed yet; name the collection to search \
                     with --in DIR (it is indexed first), or run `imgtui index DIR`",
                    imgtui::text::shown(&dir)
                )));
            }
            say!(
                "imgtui: searching {}, the image's folder (--in DIR searches another)",
                imgtui::text::shown(&dir)
            );
            dir
        }
    };
    let session = a.facet.ready(g, &dir)?;
    // The collection names an image reached through a symlink by the link's path.
    let spellings = imgtui::scan::paths_as_walked(&a.image);
    if let Select::Nearest(n) = select
        && let Some(found) = session.similar_through_saved_index(&spellings, &bytes, n)?
    {
        let image = found
            .own_row
            .map_or(image, |row| found.images.paths[row].clone());
        let answer = answers::Similar::new(
            image,
            found.own_row.is_some(),
            &found.images,
            &found.neighbours,
        );
        return print(&answer, a.format, "");
    }
    let c = session.images()?;
    let own_row = spellings
        .iter()
        .find_map(|spelt| c.paths.iter().position(|p| p == spelt));
    let image = own_row.map_or(image, |row| c.paths[row].clone());
    let query = match own_row {
        Some(i) => c.row(i),
        None => session
            .embed(&bytes)
            .map_err(|e| e.context(imgtui::text::shown(&image).to_string()))?,
    };
    let found = Session::similar(&c, &query, select, own_row);
    let answer = answers::Similar::new(image, own_row.is_some(), &c, &found);
    print(&answer, a.format, "")
}

pub(crate) fn run_search(a: SearchArgs, g: &Globals) -> Result<ExitCode> {
    let mut session = g.open(&a.dir)?;
    if !session.searches_by_words() {
        return Err(Error::bad_request(format_args!(
            "search by words needs a CLIP-type model (a spec with a text encoder); {} has none: {}",
            session.extractor().name(),
            imgtui::session::NO_TEXT_ENCODER
        )));
    }
    let terms = imgtui::session::Signed::parse(&a.query, Some(session.root()))
        .map_err(Error::bad_request)?;
    // The whole query is embedded before any indexing: a mistake costs no time.
    let query = session.query_vector(&terms)?;
    g.ready_session(&mut session)?;
    let c = session.images()?;
    let found = session.search(&c, &query, a.n)?;
    print(&answers::Search::new(&terms, &c, &found), a.format, "")
}

pub(crate) fn run_neighbours(a: NeighboursArgs, g: &Globals) -> Result<ExitCode> {
    let session = a.facet.ready(g, &a.dir)?;
    let c = session.images()?;
    let graph = Session::neighbour_graph(&c, a.n);
    print(&answers::Neighbours::new(&c, &graph), a.format, "")
}

pub(crate) fn run_dups(a: DupsArgs, g: &Globals) -> Result<ExitCode> {
    if let Some(t) = a.threshold {
        duplicates::check_threshold(t)
            .map_err(|rule| Error::bad_request(format_args!("--threshold {t}: {rule}")))?;
    }
    let action: Action = a
        .action
        .parse()
        .map_err(|e: String| Error::bad_request(format_args!("--action {}: {e}", a.action)))?;
    if a.undo {
        let mut session = g.open(&a.dir)?;
        let report = session.dedupe_undo()?;
        if report.batch.is_none() {
            say!(
                "imgtui: nothing to undo in {}",
                imgtui::text::shown(session.root())
            );
        }
        return finish_actions(&report, a.format);
    }
    let mut session = g.ready(&a.dir)?;
    let rules = session.keep_rules(a.keep.as_deref())?;
    // Only a move has a folder to check, and finding the linked folders is a walk.
    let linked = match action {
        Action::Move(_) => session.linked_folders(),
        _ => Vec::new(),
    };
    let action = action.checked(session.root(), &linked)?;
    let threshold = a.threshold.unwrap_or(session.config().duplicates.threshold);
    let c = session.images()?;
    for (files, mark) in [(&a.not_duplicates, true), (&a.undo_not_duplicates, false)] {
        if !files.is_empty() {
            decide(&session, &c, files, mark)?;
        }
    }
    let (plan, found) = session.dedupe_plan(c, threshold, a.include_similar, &rules, &action)?;
    for (p, e) in &found.unreadable {
        say!("left out {}: {e}", imgtui::text::shown(p));
    }
    if found.unconfirmed > 0 {
        say!(
            "imgtui: {} pairs alike to the embedding could not be confirmed on their pixels \
             (images indexed before pixel signatures were kept): they are listed as similar \
             at most; `imgtui index {}` makes the signatures",
            found.unconfirmed,
            imgtui::text::shown(session.root())
        );
    }
    if action == Action::Report {
        return print(&answers::Duplicates::new(&plan), a.format, "");
    }
    if a.dry_run {
        return finish_actions(&plan.dry_run(), a.format);
    }
    let cancel = cancel_on_signals()?;
    let on_terminal = std::io::stderr().is_terminal();
    let report = session.dedupe_execute(&plan, &cancel, &|o| {
        if on_terminal || matches!(o.status, Status::Left(_)) {
            say!("{}", file_line(&report_verb(&plan.action), o));
        }
    })?;
    if cancel.load(Ordering::SeqCst) {
        finish_actions(&report, a.format)?;
        return Ok(ExitCode::from(130));
    }
    finish_actions(&report, a.format)
}

/// Marks `files` (images of `c`) not duplicates of one another, or takes the marks back,
/// and says how many pairs changed on stderr.
fn decide(session: &Session, c: &imgtui::Collection, files: &[PathBuf], mark: bool) -> Result<()> {
    let rows = files
        .iter()
        .map(|f| {
            std::fs::metadata(f).map_err(|e| {
                Error::with_kind(
                    ErrorKind::MissingInput,
                    anyhow::anyhow!(
                        "{}: {e} (the FILES are split at commas: a file whose name holds one \
                         can be parted with `n` in the explorer's near-duplicate view)",
                        imgtui::text::shown(f)
                    ),
                )
            })?;
            let spellings = imgtui::scan::paths_as_walked(f);
            spellings
                .iter()
                .find_map(|spelt| c.paths.binary_search(spelt).ok())
                .ok_or_else(|| {
                    Error::bad_request(format_args!(
                        "{} is not an image of {}",
                        imgtui::text::shown(f),
                        imgtui::text::shown(session.root())
                    ))
                })
        })
        .collect::<Result<Vec<usize>>>()?;
    let count = |n: usize| {
        if n == 1 {
            "1 pair".to_owned()
        } else {
            format!("{n} pairs")
        }
    };
    let pairs = imgtui::session::every_pair(&rows);
    if mark {
        let added = session.mark_not_duplicates(c, &pairs)?;
        say!("imgtui: {} newly marked not duplicates", count(added));
    } else {
        let removed = session.unmark_not_duplicates(c, &pairs)?;
        say!("imgtui: {} no longer marked not duplicates", count(removed));
    }
    Ok(())
}

/// `moved`, `trashed`: what an action does to a file, for the per-file lines.
pub(crate) fn report_verb(action: &Action) -> String {
    match action {
        Action::Move(_) => "moved".into(),
        Action::Trash => "trashed".into(),
        Action::Report => "kept".into(),
    }
}

/// The line for one file: `moved a.png -> /out/a.png`, `left b.png: …`.
pub(crate) fn file_line(verb: &str, o: &Outcome) -> String {
    let to =
        o.to.as_ref()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or(String::new(), |p| format!(" -> {}", imgtui::text::shown(p)));
    match &o.status {
        Status::Done => format!("{verb} {}{to}", imgtui::text::shown(&o.from)),
        Status::Planned => format!("would be {verb}: {}{to}", imgtui::text::shown(&o.from)),
        Status::Left(why) => format!("left {}: {why}", imgtui::text::shown(&o.from)),
    }
}

/// Prints a report: the dry run's lines on stderr, the summary on stderr, and the answer on
/// stdout. Exit code 1 when some files were left in place.
pub(crate) fn finish_actions(report: &Report, format: Format) -> Result<ExitCode> {
    let verb = match report.action {
        Acted::Move => "moved",
        Acted::Trash => "trashed",
        Acted::Report | Acted::Undo => "put back",
    };
    let undo = report.action == Acted::Undo;
    if report.dry_run || undo {
        for o in &report.outcomes {
            say!("{}", file_line(verb, o));
        }
    }
    print(&answers::Actions::from(report), format, "")?;
    let (files, bytes) = if report.dry_run {
        (report.outcomes.len(), report.bytes())
    } else {
        (report.done(), report.bytes())
    };
    let would = if report.dry_run { "would be " } else { "" };
    let freed = if undo { "" } else { " freed" };
    let left = match report.left() {
        0 => String::new(),
        n => format!(", {n} left in place"),
    };
    let noun = if files == 1 { "file" } else { "files" };
    say!(
        "{files} {noun} {would}{verb} ({}{freed}){left}",
        imgtui::text::bytes(bytes)
    );
    Ok(if report.left() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn run_outliers(a: OutliersArgs, g: &Globals) -> Result<ExitCode> {
    let session = g.ready(&a.dir)?;
    let c = session.images()?;
    let ranked = Session::outliers(&c);
    print(
        &answers::Outliers::new(&c, OUTLIER_K, &ranked, a.n),
        a.format,
        "",
    )
}

pub(crate) fn run_vectors(a: VectorsArgs, g: &Globals) -> Result<ExitCode> {
    if a.format == VectorFormat::Npy && a.out.is_none() {
        return Err(Error::bad_request(
            "--format npy writes a binary file and the paths beside it: pass --out FILE \
             (csv can go to stdout)",
        ));
    }
    if let Some(out) = &a.out {
        let taken = [
            Some(out.clone()),
            (a.format == VectorFormat::Npy).then(|| paths_file(out)),
        ];
        if let Some(p) = taken
            .iter()
            .flatten()
            .find(|p| p.symlink_metadata().is_ok())
        {
            return Err(Error::bad_request(format_args!(
                "{} already exists; choose another name",
                imgtui::text::shown(p)
            )));
        }
    }
    let session = g.ready(&a.dir)?;
    let c = session.images()?;
    match (a.format, &a.out) {
        (VectorFormat::Npy, Some(out)) => {
            let list = imgtui::export::write_vectors_npy(&c, out)?;
            say!(
                "{} vectors of {} dimensions in {}, their paths in {}",
                c.len(),
                c.dim(),
                imgtui::text::shown(out),
                imgtui::text::shown(&list)
            );
        }
        (_, Some(out)) => {
            let mut file = std::io::BufWriter::new(imgtui::export::create_new(out)?);
            imgtui::answers::vectors_csv(&c, &mut file)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        // On a terminal a person reads it: control characters in names shown escaped.
        (_, None) if std::io::stdout().is_terminal() => {
            let mut csv = Vec::new();
            imgtui::answers::vectors_csv(&c, &mut csv)?;
            let csv = String::from_utf8_lossy(&csv);
            let text = imgtui::text::escape_lines(&csv);
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
        (_, None) => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            imgtui::answers::vectors_csv(&c, &mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
