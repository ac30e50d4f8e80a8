//! Walking a folder for image files.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// File name extensions of what a user calls an image (compared lower-case): the formats
/// imgtui decodes (those of the `image` crate, JPEG XL, SVG, the previews in camera RAW files;
/// HEIF/HEIC and AVIF with the `heif` / `avif` features) and those it recognises to say why it
/// cannot (HEIF/HEIC and AVIF without those features, JPEG 2000, Photoshop). Files
/// with other extensions (text, video) are not images and are left out unmentioned.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "apng", "gif", "bmp", "dib", "webp", "tif", "tiff", "tga",
    "ico", "pnm", "pbm", "pgm", "ppm", "pam", "qoi", // the image crate
    "jxl", "svg", "svgz", // jxl-oxide, resvg
    "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "raf", "rw2", "pef",
    "srw", "3fr", "iiq", "rwl", // camera RAW: the embedded JPEG preview
    "heic", "heif", "hif", "avif", // libheif, with the `heif` / `avif` features
    "jp2", "j2k", "jpf", "jpx", "psd", // reported as unsupported
];

/// A file's identity on disk, as git's index keeps it: while every field is unchanged (and the
/// record is not racy, see [`RACY_MARGIN`]) its content hash is reused without reading it.
///
/// Size and mtime alone are not enough: files unpacked from one archive share both, `mv` keeps
/// a file's mtime and `cp -p` sets it. The inode and device tell a file put in another's place
/// by renaming; the ctime (which no user call can set) changes on every write and rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The file, absolute.
    pub path: PathBuf,
    /// Bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Last status change (content, rename, permissions), nanoseconds since the Unix epoch;
    /// 0 where the platform has none.
    pub ctime_ns: i64,
    /// Inode number; 0 where the platform has none.
    pub ino: u64,
    /// Device of the file system; 0 where the platform has none.
    pub dev: u64,
}

/// How close to the moment a file was read its mtime or ctime may be before the record made
/// then is "racy": the file could have changed again within the file system's timestamp
/// granularity (1 jiffy on Linux, 2 s on FAT, a clock skew on network file systems) without
/// any stat field changing. Such a record is verified by hashing on the next run, once.
pub const RACY_MARGIN: Duration = Duration::from_secs(2);

/// Nanoseconds since the Unix epoch of `t` (0 before it).
pub fn epoch_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl FileEntry {
    /// The identity of the file at `path` from its (followed) metadata.
    pub fn new(path: PathBuf, meta: &Metadata) -> FileEntry {
        #[cfg(unix)]
        let (ctime_ns, ino, dev) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
                meta.ino(),
                meta.dev(),
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, ino, dev) = (0, 0, 0);
        FileEntry {
            path,
            size: meta.len(),
            mtime_ns: meta.modified().map_or(0, epoch_ns),
            ctime_ns,
            ino,
            dev,
        }
    }

    /// Whether a record of this file made when its content was read at `read_ns` (nanoseconds
    /// since the epoch) can be trusted: the file's mtime and ctime are older than that moment
    /// by more than [`RACY_MARGIN`], so a later change would have moved one of them.
    pub fn settled_before(&self, read_ns: i64) -> bool {
        let margin = RACY_MARGIN.as_nanos() as i64;
        self.mtime_ns.max(self.ctime_ns) < read_ns.saturating_sub(margin)
    }
}

/// A file left out of the collection, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Why, in words: `corrupt image: …`, `unsupported: …`, `cannot read: …`.
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
    /// The folder does not exist.
    #[error("{}: no such folder", crate::text::shown(.0))]
    NotFound(PathBuf),
    /// The path is a file, not a folder.
    #[error("{}: not a folder", crate::text::shown(.0))]
    NotADirectory(PathBuf),
    /// The folder cannot be read (permissions), and why.
    #[error("{}: {}", crate::text::shown(.0), .1)]
    Unreadable(PathBuf, std::io::Error),
}

/// Whether a path names an image by its extension.
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// The absolute, symlink-free form of a folder to scan, or why it cannot be scanned.
///
/// Fails when `root` does not exist, is not a folder, or cannot be read.
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
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    while let Some(entry) = walker.next() {
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
        if entry.depth() > 0 && entry.path_is_symlink() && entry.file_type().is_dir() {
            // A link to a folder of the collection, or to one that holds it, would list the
            // same images twice under other names: walk each folder once, by its real path.
            let target = std::fs::canonicalize(entry.path()).unwrap_or_default();
            let reason = if target.starts_with(&real_root) {
                Some("symlink to a folder already in the collection")
            } else if real_root.starts_with(&target) {
                Some("symlink to a folder that holds the collection")
            } else {
                None
            };
            if let Some(reason) = reason {
                walker.skip_current_dir();
                out.skipped.push(Skipped {
                    path: entry.into_path(),
                    reason: reason.into(),
                });
                continue;
            }
        }
        if entry.file_type().is_dir() || !is_image_path(entry.path()) {
            continue;
        }
        let path = entry.into_path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => out.files.push(FileEntry::new(path, &meta)),
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
