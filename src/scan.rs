//! Walking a folder for image files.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::Serialize;

/// File name extensions of the formats the `image` crate decodes (compared lower-case).
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "apng", "gif", "bmp", "dib", "webp", "tif", "tiff", "tga",
    "ico", "pnm", "pbm", "pgm", "ppm", "pam", "qoi",
];

/// A file's identity on disk: if size and mtime are unchanged, its content hash is reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A file left out of the collection, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    #[serde(serialize_with = "crate::serialize_path")]
    pub path: PathBuf,
    pub reason: String,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Image files, sorted by path.
    pub files: Vec<FileEntry>,
    /// Entries that looked like images but could not be used.
    pub skipped: Vec<Skipped>,
}

/// Why a folder cannot be scanned at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: no such folder")]
    NotFound(PathBuf),
    #[error("{0}: not a folder")]
    NotADirectory(PathBuf),
    #[error("{0}: {1}")]
    Unreadable(PathBuf, std::io::Error),
}

/// Whether a path names an image by its extension.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The absolute, symlink-free form of a folder to scan, or why it cannot be scanned.
pub fn resolve_root(root: &Path) -> Result<PathBuf, ScanError> {
    let meta = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ScanError::NotFound(root.to_owned()),
        _ => ScanError::Unreadable(root.to_owned(), e),
    })?;
    if !meta.is_dir() {
        return Err(ScanError::NotADirectory(root.to_owned()));
    }
    let canonical =
        std::fs::canonicalize(root).map_err(|e| ScanError::Unreadable(root.to_owned(), e))?;
    std::fs::read_dir(&canonical).map_err(|e| ScanError::Unreadable(root.to_owned(), e))?;
    Ok(canonical)
}

/// Walks `root` recursively (following symlinks, skipping hidden entries) for image files.
pub fn scan(root: &Path) -> Scan {
    let mut out = Scan::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().unwrap_or(root).to_owned();
                let reason = match (err.loop_ancestor(), err.io_error()) {
                    (Some(_), _) => "symlink loop".to_owned(),
                    (None, Some(io)) => io.to_string(),
                    (None, None) => err.to_string(),
                };
                out.skipped.push(Skipped { path, reason });
                continue;
            }
        };
        if entry.file_type().is_dir() || !is_image_path(entry.path()) {
            continue;
        }
        let path = entry.into_path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => out.files.push(FileEntry {
                size: meta.len(),
                mtime_ns: meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i64),
                path,
            }),
            Ok(_) => out.skipped.push(Skipped {
                path,
                reason: "not a regular file".into(),
            }),
            Err(e) => out.skipped.push(Skipped {
                path,
                reason: e.to_string(),
            }),
        }
    }
    out
}
