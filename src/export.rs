//! Copying a cluster's images into a folder, never overwriting anything.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::collection::Collection;
use crate::error::{Error, ensure_request};

/// How files get into the target folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Copy the file (the default).
    #[default]
    Copy,
    /// A symbolic link to the original.
    Symlink,
    /// A hard link (same filesystem only).
    Hardlink,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "copy" => Ok(Mode::Copy),
            "symlink" => Ok(Mode::Symlink),
            "hardlink" => Ok(Mode::Hardlink),
            _ => Err(format!("expected copy, symlink or hardlink, got {s:?}")),
        }
    }
}

/// What an export did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    /// The folder the files went to.
    pub target: PathBuf,
    /// Files written (copied or linked).
    pub written: usize,
    /// Files already in the target with the same content (a repeated export with merge).
    pub already_there: usize,
    /// Files that could not be exported, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Files not attempted because the export was cancelled (every file written before
    /// is complete).
    pub not_attempted: usize,
}

/// Exports `files` into `target`. The folder is created; if it exists and is not empty,
/// `merge` must be set. A name already taken gets a " (2)" suffix unless the file there
/// has the same content, so nothing is ever overwritten. A failed copy leaves no partial file.
///
/// Fails with [`ErrorKind::BadRequest`](crate::ErrorKind) when `target` is not a folder or
/// is not empty without `merge`, and when it cannot be created; a file that cannot be
/// exported is listed in the report instead.
pub fn export(
    files: &[PathBuf],
    target: &Path,
    mode: Mode,
    merge: bool,
) -> anyhow::Result<ExportReport> {
    export_with(files, target, mode, merge, &|_| {}, &AtomicBool::new(false))
}

/// [`export`], telling `progress` how many files are done after each, and stopping before
/// the next file once `cancel` is raised (the report counts the files not attempted).
///
/// Fails as [`export`] does.
pub fn export_with(
    files: &[PathBuf],
    target: &Path,
    mode: Mode,
    merge: bool,
    progress: &dyn Fn(usize),
    cancel: &AtomicBool,
) -> anyhow::Result<ExportReport> {
    if target.exists() {
        ensure_request!(
            target.is_dir(),
            "{} exists and is not a folder",
            crate::text::shown(target)
        );
        let empty = std::fs::read_dir(target)?.next().is_none();
        ensure_request!(
            empty || merge,
            "{} already exists and is not empty; choose another folder, or merge into it \
             (--merge: identical files are skipped, others get a new name)",
            crate::text::shown(target)
        );
    }
    let made = !target.exists();
    std::fs::create_dir_all(target)
        .map_err(|e| Error::bad_request(format_args!("{}: {e}", crate::text::shown(target))))?;
    let mut report = ExportReport {
        target: target.to_owned(),
        ..Default::default()
    };
    for (done, file) in files.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            report.not_attempted = files.len() - done;
            break;
        }
        match export_one(file, target, mode) {
            Ok(true) => report.written += 1,
            Ok(false) => report.already_there += 1,
            Err(e) => report.failed.push((file.clone(), e.to_string())),
        }
        progress(done + 1);
    }
    // Nothing landed (the files vanished, or every one failed): no empty folder is left.
    if made && report.written == 0 && report.already_there == 0 {
        let _ = std::fs::remove_dir(target);
    }
    Ok(report)
}

/// The folder the explorer offers for an export, given its `suggestion` (such as
/// `imgtui-export/03-rings`) for the collection at `root`: placed as [`folder_outside`] places
/// its folders when the suggestion is relative and would be inside the collection, then made
/// fresh by `-2`, `-3`… after its last part while a folder of that name holds files (an
/// export there would be refused).
pub fn fresh_target(root: &Path, suggestion: &Path) -> PathBuf {
    let mut parts = suggestion.components();
    let placed = match (suggestion.is_relative(), parts.next()) {
        (true, Some(first)) if check_outside(suggestion, root).is_err() => {
            match folder_outside(root, &first.as_os_str().to_string_lossy()) {
                Ok(base) => base.join(parts.as_path()),
                Err(_) => suggestion.to_path_buf(),
            }
        }
        _ => suggestion.to_path_buf(),
    };
    fresh(&placed)
}

/// `folder` when it does not exist or is an empty folder; else the first of `folder-2`,
/// `folder-3`… that does not hold files (an export into a folder that does is refused
/// without merge).
pub fn fresh(folder: &Path) -> PathBuf {
    let taken = |p: &Path| std::fs::read_dir(p).map_or(p.exists(), |mut d| d.next().is_some());
    if !taken(folder) {
        return folder.to_path_buf();
    }
    let name = folder
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    (2..)
        .map(|n| folder.with_file_name(format!("{name}-{n}")))
        .find(|p| !taken(p))
        .expect("some name is free")
}

/// Refuses a target folder inside the collection at `root`: the copies would join the
/// collection on its next index (as near-duplicates of themselves).
///
/// Fails with a bad request when `target` is inside `root`, and when the working folder
/// cannot be read.
pub fn check_outside(target: &Path, root: &Path) -> anyhow::Result<()> {
    check_outside_of(target, root, &[])
}

/// [`check_outside`], where the folders the collection reaches through the symlinks `linked`
/// (as [`crate::scan::Scan::linked`] names them) count as inside it too.
///
/// Fails with a bad request when `target` is inside `root` or one of those folders, and
/// when the working folder cannot be read.
pub fn check_outside_of(target: &Path, root: &Path, linked: &[PathBuf]) -> anyhow::Result<()> {
    let resolved = resolved_target(target)?;
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    ensure_request!(
        !resolved.starts_with(&root),
        "{} is inside the collection {}: the copies would join it; choose a folder outside it",
        crate::text::shown(target),
        crate::text::shown(&root)
    );
    if let Some(link) = linked_holding(&resolved, linked) {
        return Err(Error::bad_request(format_args!(
            "{} is inside the collection {} (through the link {}): the copies would join it; \
             choose a folder outside it",
            crate::text::shown(target),
            crate::text::shown(&root),
            crate::text::shown(link)
        ))
        .into());
    }
    Ok(())
}

/// Where files written under `target` would land: `target` made absolute against the
/// working folder, the links of its nearest part that exists resolved, and the parts not
/// made yet kept as written.
///
/// Fails when the working folder cannot be read.
pub fn resolved_target(target: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::env::current_dir()?.join(target);
    let existing = absolute
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(&absolute);
    let rest = absolute.strip_prefix(existing).unwrap_or(Path::new(""));
    Ok(std::fs::canonicalize(existing)
        .unwrap_or_else(|_| existing.to_path_buf())
        .join(rest))
}

/// The folder of `linked` (reached by the collection through symlinks) whose real place
/// holds `resolved` (from [`resolved_target`]), if any.
pub fn linked_holding<'a>(resolved: &Path, linked: &'a [PathBuf]) -> Option<&'a PathBuf> {
    linked
        .iter()
        .find(|link| std::fs::canonicalize(link).is_ok_and(|real| resolved.starts_with(real)))
}

/// Where the explorer puts a folder of its own making (`imgtui-montage`, `imgtui-duplicates`)
/// for the collection at `root`: `./NAME` in the working folder, unless that is inside the
/// collection (where the files would join it); then `NAME` beside the collection, in its
/// parent folder.
///
/// Fails with a bad request when both are inside the collection (the collection is `/`).
pub fn folder_outside(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let here = PathBuf::from(name);
    if check_outside(&here, root).is_ok() {
        return Ok(here);
    }
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    match root.parent() {
        Some(parent) if check_outside(&parent.join(name), &root).is_ok() => Ok(parent.join(name)),
        _ => Err(Error::bad_request(format_args!(
            "./{name} would be inside the collection {}; start imgtui from a folder outside it",
            crate::text::shown(&root)
        ))
        .into()),
    }
}

/// Returns false when an identical file already sits under the name.
fn export_one(file: &Path, target: &Path, mode: Mode) -> io::Result<bool> {
    let name = file
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let stem = Path::new(name)
        .file_stem()
        .unwrap_or(name)
        .to_string_lossy()
        .into_owned();
    let ext = Path::new(name)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()));
    for attempt in 1.. {
        let dest = if attempt == 1 {
            target.join(name)
        } else {
            target.join(format!(
                "{stem} ({attempt}){}",
                ext.as_deref().unwrap_or("")
            ))
        };
        if dest.symlink_metadata().is_ok() {
            if same_content(file, &dest)? {
                return Ok(false);
            }
            continue;
        }
        let result = match mode {
            Mode::Copy => copy_new(file, &dest),
            Mode::Hardlink => std::fs::hard_link(file, &dest),
            Mode::Symlink => symlink(&std::fs::canonicalize(file)?, &dest),
        };
        match result {
            Ok(()) => return Ok(true),
            // Someone took the name between the check and the write: try the next one.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// Copies into a file that must not exist yet, keeping the source's modification and access
/// times; removes it again if the copy fails.
fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    let meta = src.metadata()?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let result = io::copy(&mut src, &mut dst)
        .and_then(|_| {
            let mut times = std::fs::FileTimes::new().set_modified(meta.modified()?);
            if let Ok(accessed) = meta.accessed() {
                times = times.set_accessed(accessed);
            }
            dst.set_times(times)
        })
        .and_then(|_| dst.sync_all());
    if result.is_err() {
        drop(dst);
        let _ = std::fs::remove_file(to);
    }
    result
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (ma, mb) = (std::fs::metadata(a)?, std::fs::metadata(b));
    match mb {
        Ok(mb) if mb.len() == ma.len() => Ok(std::fs::read(a)? == std::fs::read(b)?),
        _ => Ok(false),
    }
}

#[cfg(unix)]
fn symlink(from: &Path, to: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(from, to)
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symbolic links need a Unix system",
    ))
}

/// A folder name for a cluster: `03-jellyfish-coral-reef`.
pub fn folder_name(number: usize, name: &str) -> String {
    let mut slug = String::new();
    for ch in name.to_lowercase().chars() {
        if ch.is_alphanumeric() {
            slug.push(ch);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{number:02}")
    } else {
        format!("{number:02}-{slug}")
    }
}

/// Creates `path` for writing, never replacing a file: a bad request naming it when it
/// exists (or cannot be created).
pub fn create_new(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            let why = if e.kind() == io::ErrorKind::AlreadyExists {
                "already exists; choose another name".to_owned()
            } else {
                e.to_string()
            };
            Error::bad_request(format_args!("{}: {why}", crate::text::shown(path))).into()
        })
}

/// `FILE.paths.txt`: where [`write_vectors_npy`] lists the rows' paths beside `FILE`.
pub fn paths_file(npy: &Path) -> PathBuf {
    let mut name = npy.as_os_str().to_owned();
    name.push(".paths.txt");
    PathBuf::from(name)
}

/// Writes the vectors of `c` to `npy` as a NumPy `.npy` v1.0 array of `f32`, shape
/// `(len, dim)`, C order (see [`crate::collection::npy`]): the unit vectors the engine compares
/// (cosine similarity is their dot product; the extractor's original lengths are not
/// written). Beside it, [`paths_file`] holds each row's path, one a line, in the same order
/// (the path's bytes as they are, so a UTF-8 name reads as text). Returns that file.
///
/// Fails with a bad request, writing nothing, when either file exists or a path holds a
/// line break (it could not be one line of the list: `--format csv` quotes it); when a
/// file cannot be written, what was made is removed.
pub fn write_vectors_npy(c: &Collection, npy: &Path) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    if let Some(p) = c.paths.iter().find(|p| {
        p.as_os_str()
            .as_encoded_bytes()
            .iter()
            .any(|&b| b == b'\n' || b == b'\r')
    }) {
        return Err(Error::bad_request(format_args!(
            "{} has a line break in its name, so it cannot be a line of {}; rename it, or use \
             --format csv",
            crate::text::shown(p),
            crate::text::shown(&paths_file(npy))
        ))
        .into());
    }
    let list = paths_file(npy);
    for p in [npy, list.as_path()] {
        ensure_request!(
            p.symlink_metadata().is_err(),
            "{} already exists; choose another name",
            crate::text::shown(p)
        );
    }
    let array = create_new(npy)?;
    let mut made_list = false;
    let written = || -> anyhow::Result<()> {
        let mut out = io::BufWriter::new(array);
        crate::collection::npy::write(&c.vectors, &mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        let mut out = io::BufWriter::new(create_new(&list)?);
        made_list = true;
        for p in &c.paths {
            out.write_all(p.as_os_str().as_encoded_bytes())?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(())
    };
    let written = written();
    if written.is_err() {
        let _ = std::fs::remove_file(npy);
        if made_list {
            let _ = std::fs::remove_file(&list);
        }
    }
    written.map(|()| list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_go_beside_their_paths_and_a_line_break_in_a_name_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Collection::default();
        c.push("/art/a.png".into(), [1; 32], &[0.6, 0.8], 2.0);
        c.push("/art/b.png".into(), [2; 32], &[1.0, 0.0], 1.0);
        let npy = tmp.path().join("v.npy");
        let list = write_vectors_npy(&c, &npy).unwrap();
        assert_eq!(list, tmp.path().join("v.npy.paths.txt"));
        assert_eq!(
            std::fs::read_to_string(&list).unwrap(),
            "/art/a.png\n/art/b.png\n"
        );
        let err = write_vectors_npy(&c, &npy).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");

        c.push("/art/two\nlines.png".into(), [3; 32], &[0.0, 1.0], 1.0);
        let other = tmp.path().join("w.npy");
        let err = write_vectors_npy(&c, &other).unwrap_err().to_string();
        assert!(err.contains("line break"), "{err}");
        assert!(!other.exists() && !paths_file(&other).exists());
    }

    #[test]
    fn folder_names() {
        assert_eq!(
            folder_name(3, "jellyfish · coral reef"),
            "03-jellyfish-coral-reef"
        );
        assert_eq!(folder_name(0, "unclustered"), "00-unclustered");
        // Names by what is visible, and one told apart by a number.
        assert_eq!(
            folder_name(2, "dark blue · light grey · rings 2"),
            "02-dark-blue-light-grey-rings-2"
        );
        assert_eq!(folder_name(12, ""), "12");
    }

    #[test]
    fn the_offered_export_folder_is_one_without_files() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("art");
        std::fs::create_dir_all(&root).unwrap();
        let suggested = tmp.path().join("imgtui-export/03-rings");
        assert_eq!(fresh_target(&root, &suggested), suggested);
        // An empty folder is fine; one holding a file is not, nor is the next.
        std::fs::create_dir_all(&suggested).unwrap();
        assert_eq!(fresh_target(&root, &suggested), suggested);
        std::fs::write(suggested.join("a.png"), b"x").unwrap();
        let second = tmp.path().join("imgtui-export/03-rings-2");
        assert_eq!(fresh_target(&root, &suggested), second);
        std::fs::create_dir_all(&second).unwrap();
        std::fs::write(second.join("b.png"), b"x").unwrap();
        assert_eq!(
            fresh_target(&root, &suggested),
            tmp.path().join("imgtui-export/03-rings-3")
        );
    }
}
