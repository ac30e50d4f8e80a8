//! `imgtui cluster` (and its edits), `montage` and `export`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use imgtui::analysis::clustering::{Clustering, FitStage, check_eps};
use imgtui::analysis::curation::Edit;
use imgtui::analysis::saved::{Origin, Wanted};
use imgtui::answers::{self};
use imgtui::error::Result;
use imgtui::export::{Mode, folder_name};
use imgtui::montage::check_thumb;
use imgtui::{Collection, Error, Session};

use super::*;

pub(crate) fn run_cluster(a: ClusterArgs, g: &Globals) -> Result<ExitCode> {
    if let Some(e) = a.eps {
        check_eps(e).map_err(|rule| Error::bad_request(format_args!("--eps {e}: {rule}")))?;
    }
    let wanted = Wanted {
        method: a.method,
        k: a.k,
        eps: a.eps,
        seed: a.seed,
        map: a.map,
        recluster: a.recluster,
    };
    let mut session = a.facet.ready(g, &a.dir)?;
    let edits = a.undo || a.redo || a.rename.is_some() || a.merge.is_some();
    let edits = edits || a.split.is_some() || a.move_to.is_some();
    // A plain question is answered from the saved clustering without the vectors when it can.
    let (c, mut clustering, origin, mut notes) = if edits {
        let c = session.images()?;
        let (clustering, origin, notes) = session.clustering(&c, &wanted)?;
        (c, clustering, origin, notes)
    } else {
        session.clustered_images(&wanted, &fit_progress())?
    };
    // An edit is checked before anything is said, so a bad one is the only line on stderr.
    if a.undo || a.redo {
        let done = match a.undo {
            true => session.undo(&c)?,
            false => session.redo(&c)?,
        };
        match done {
            Some((edited, what)) => {
                clustering = edited;
                notes.push(what);
            }
            None if a.undo => notes.push("nothing to undo".to_owned()),
            None => notes.push("nothing to redo".to_owned()),
        }
    } else if let Some(edit) = edit_of(&a, &clustering, &c)? {
        let (edited, more) = session.edit(&c, edit)?;
        clustering = edited;
        notes.extend(more);
    }
    say!("{}", answers::about(&clustering, origin));
    notes.iter().for_each(|n| say!("{n}"));
    let answer = answers::Clusters::new(session.root(), session.feature(), &c, &clustering, origin);
    let table = match a.table {
        Table::Images => "images",
        Table::Clusters => "clusters",
        Table::Sweep => "sweep",
    };
    print(&answer, a.format, table)
}

/// Fits of this many images or more tell their stages on a terminal: smaller ones take
/// seconds.
const TOLD_FROM: usize = 10_000;

/// What tells each stage of a new fit of [`TOLD_FROM`] images or more on stderr, when it is
/// a terminal (the first fit of a million images takes minutes); UMAP's epochs are one stage.
fn fit_progress() -> impl Fn(FitStage) {
    let on_terminal = std::io::stderr().is_terminal();
    let told = std::cell::Cell::new(false);
    let last = std::cell::Cell::new(None);
    move |stage: FitStage| {
        if let FitStage::Projecting { images } = stage {
            told.set(on_terminal && images >= TOLD_FROM);
        }
        let kind = std::mem::discriminant(&stage);
        if told.get() && last.replace(Some(kind)) != Some(kind) {
            let what = match stage {
                FitStage::Mapping { total, .. } => {
                    format!("laying out the map (UMAP, {total} epochs)")
                }
                other => other.to_string(),
            };
            say!("imgtui: fitting: {what}…");
        }
    }
}

/// The edit that `--name`, `--merge`, `--split` or `--move` asks of `clustering` of `c`, if any.
/// A cluster number that is not shown, a malformed value or a path that is not an image of
/// the folder is a bad request.
pub(crate) fn edit_of(
    a: &ClusterArgs,
    clustering: &Clustering,
    c: &Collection,
) -> Result<Option<Edit>> {
    let number = |flag: &str, text: &str| -> Result<usize> {
        let n: usize = text.trim().parse().map_err(|_| {
            Error::bad_request(format_args!(
                "{flag}: expected a cluster number, got {text:?}"
            ))
        })?;
        clustering
            .index_of(n)
            .map_err(|e| Error::bad_request(format_args!("{flag}: {e}")))
    };
    if let Some(v) = &a.rename {
        let Some((n, text)) = v.split_once('=') else {
            return Err(Error::bad_request(format_args!(
                "--name {v}: expected C=TEXT, e.g. --name 3=spirals"
            )));
        };
        let cluster = number("--name", n)?;
        return Ok(Some(Edit::Name {
            cluster,
            name: text.to_owned(),
        }));
    }
    if let Some(v) = &a.merge {
        let Some((from, into)) = v.split_once(',') else {
            return Err(Error::bad_request(format_args!(
                "--merge {v}: expected A,B (cluster A into cluster B)"
            )));
        };
        let (from, into) = (number("--merge", from)?, number("--merge", into)?);
        return Ok(Some(Edit::Merge { from, into }));
    }
    if let Some(v) = &a.split {
        let (n, k) = match v.split_once(':') {
            // `C:` alone: k chosen inside the cluster, as without the colon.
            Some((n, k)) if k.trim().is_empty() => (n, None),
            Some((n, k)) => {
                let k = k.trim().parse().map_err(|_| {
                    Error::bad_request(format_args!(
                        "--split {v}: expected C:K, K a number of parts"
                    ))
                })?;
                (n, Some(k))
            }
            None => (v.as_str(), None),
        };
        let cluster = number("--split", n)?;
        return Ok(Some(Edit::Split { cluster, k }));
    }
    if let Some(v) = &a.move_to {
        let Some((path, to)) = v.rsplit_once('=') else {
            return Err(Error::bad_request(format_args!(
                "--move {v}: expected PATH=C, C a cluster number or `new`"
            )));
        };
        let to = match to.trim() {
            "new" => None,
            n => Some(number("--move", n)?),
        };
        std::fs::metadata(path)
            .map_err(|e| Error::bad_request(format_args!("--move {path}: {e}")))?;
        let spellings = imgtui::scan::paths_as_walked(Path::new(path));
        let row = spellings
            .iter()
            .find_map(|spelt| c.paths.iter().position(|p| p == spelt));
        let row = row.ok_or_else(|| {
            Error::bad_request(format_args!("--move {path}: not an image of this folder"))
        })?;
        return Ok(Some(Edit::Move {
            images: vec![c.hashes[row]],
            to,
        }));
    }
    Ok(None)
}

/// The files of cluster `number` (of every cluster for `None`) for montage and export, saying
/// on stderr when the clustering had to be fitted first.
pub(crate) fn cluster_files(
    session: &mut Session,
    number: Option<usize>,
) -> Result<imgtui::session::ClusterFiles> {
    let files = session.cluster_files(number)?;
    if files.origin == Origin::Fitted {
        say!("{}", answers::about(&files.clustering, files.origin));
    }
    Ok(files)
}

/// Refuses `target` inside the collection of `session` unless `--inside` (`inside`) allows it.
pub(crate) fn outside_unless(inside: bool, target: &Path, session: &Session) -> Result<()> {
    if inside {
        return Ok(());
    }
    session
        .check_outside(target)
        .map_err(|e| Error::bad_request(format_args!("{e:#}; --inside allows it")))
}

pub(crate) fn run_montage(a: MontageArgs, g: &Globals) -> Result<ExitCode> {
    let MontageArgs {
        dir,
        cluster,
        out,
        inside,
        size,
        max,
    } = a;
    check_thumb(size).map_err(|rule| Error::bad_request(format_args!("--size {size}: {rule}")))?;
    if let (Some(o), Some(_)) = (&out, cluster)
        && !o.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        return Err(Error::bad_request(format_args!(
            "-o {}: a montage is a PNG; name the file .png",
            imgtui::text::shown(o)
        )));
    }
    let mut session = g.ready(&dir)?;
    let files = cluster_files(&mut session, cluster)?;
    let target = out
        .clone()
        .unwrap_or_else(|| PathBuf::from("imgtui-montage"));
    outside_unless(inside, &target, &session)?;
    let folder = match (&out, cluster) {
        (Some(o), None) => o.clone(),
        _ => PathBuf::from("imgtui-montage"),
    };
    for (index, mut paths) in files.clusters {
        paths.truncate(max.max(1));
        let cl = &files.clustering.clusters[index];
        let file = match (&out, cluster) {
            (Some(o), Some(_)) => {
                session.write_montage(&paths, o, Some(size))?;
                o.clone()
            }
            // A sheet of that name already there stays; this one is "NN-name (2).png".
            _ => session.save_montage_in(
                &paths,
                &folder,
                &folder_name(cl.number, &cl.name),
                Some(size),
            )?,
        };
        use std::io::Write as _;
        writeln!(std::io::stdout(), "{}", imgtui::text::shown(&file))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_export(a: ExportArgs, g: &Globals) -> Result<ExitCode> {
    let ExportArgs {
        dir,
        cluster,
        to,
        mode,
        merge,
        inside,
        json,
    } = a;
    let mut session = g.ready(&dir)?;
    let files = cluster_files(&mut session, Some(cluster))?;
    let (index, paths) = &files.clusters[0];
    let name = &files.clustering.clusters[*index].name;
    // The default folder is made fresh (`-2`, `-3`…) when it holds files, unless merging.
    let target = to.unwrap_or_else(|| {
        let default = PathBuf::from("imgtui-export").join(folder_name(cluster, name));
        if merge {
            default
        } else {
            imgtui::export::fresh(&default)
        }
    });
    outside_unless(inside, &target, &session)?;
    let report = session.export(paths, &target, mode, merge, &|_| {}, &*cancel_on_signals()?)?;
    if json {
        print(&answers::Exported::from(&report), Format::Json, "")?;
    }
    for (p, e) in &report.failed {
        say!("not exported {}: {e}", imgtui::text::shown(p));
    }
    let verb = match mode {
        Mode::Copy => "copied",
        Mode::Symlink | Mode::Hardlink => "linked",
    };
    let already = match report.already_there {
        0 => String::new(),
        n => format!(" ({n} already there)"),
    };
    let failed = match report.failed.len() {
        0 => String::new(),
        n => format!("; {n} not exported (above)"),
    };
    say!(
        "{} files {verb} to {}{already}{failed}",
        report.written,
        imgtui::text::shown(&report.target)
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
