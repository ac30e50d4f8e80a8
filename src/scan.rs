//! Walking a folder for image files.

use std::fs::{DirEntry, Metadata};

use rayon::prelude::*;
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
    /// The symlinks to folders that were walked (their paths under the root), in the order
    /// they were followed: what a watch of the folder must watch besides it.
    pub linked: Vec<PathBuf>,
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

/// The paths a walk may have given the file the user names `path`, the most literal first:
/// for each folder above it from the farthest, that folder's canonical path joined with the
/// rest as written, and last the file's canonical path. A walk keeps the names of the links
/// it goes through (`col/linked/a.png` where `linked` leads elsewhere, `col/best.png` linking
/// to `col/photos/cat.png`), so the canonical path alone does not find such a file in a
/// collection, or finds it under another name. Relative paths are taken from the working
/// folder. Empty when `path` cannot be read.
pub fn paths_as_walked(path: &Path) -> Vec<PathBuf> {
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return Vec::new();
    };
    let mut out = vec![canonical];
    let Ok(absolute) = std::path::absolute(path) else {
        return out;
    };
    let mut rest = Vec::new();
    let mut folder = absolute.as_path();
    while let (Some(name), Some(parent)) = (folder.file_name(), folder.parent()) {
        rest.push(name);
        folder = parent;
        if let Ok(real) = std::fs::canonicalize(folder) {
            let spelt = rest.iter().rev().fold(real, |p, name| p.join(name));
            if !out.contains(&spelt) {
                out.push(spelt);
            }
        }
    }
    out.reverse();
    out
}

/// Walks `root` recursively (following symlinks, skipping hidden entries) for image files,
/// in path order (each folder's entries sorted by name, depth first).
///
/// A folder's files are looked up in parallel (rayon), each relative to its open folder
/// (`statx` on the folder's descriptor, not the whole path), and folders are walked in
/// parallel: a million files in 1,000 folders take 1.0 s on 2 cores, where a serial walk
/// that looked up each path took 2.4 s (BENCHMARKS, "The re-index walk").
///
/// A symlink to a folder is walked unless it would list images twice: a link to one of its
/// own ancestors is a "symlink loop", a link into the collection or to a folder that holds
/// it is skipped with that reason, and so is a link to a folder already walked through
/// another link. Links to folders are followed after the walk of the folder itself, one at a
/// time in path order (then the links found through them), so which of two links to one
/// folder is walked does not depend on timing, and no folder is walked twice however the
/// links cross (walking each route would list an image once for every path to it: 2ⁿ for n
/// folders each linked twice from the one before).
pub fn scan(root: &Path) -> Scan {
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let ancestors: Vec<FolderId> = std::fs::metadata(root)
        .map(|m| vec![folder_id(&m)])
        .unwrap_or_default();
    let mut visited: std::collections::HashSet<FolderId> = Default::default();
    let mut walked = Walk {
        real_root: &real_root,
        visited: &visited,
    }
    .folder(root, &ancestors);
    let mut out = std::mem::take(&mut walked.scan);
    let mut links = std::collections::VecDeque::from(std::mem::take(&mut walked.links));
    visited.extend(walked.folders);
    let followed = !links.is_empty();
    while let Some(link) = links.pop_front() {
        if visited.contains(&link.id) {
            out.skipped.push(Skipped {
                path: link.path,
                reason: "symlink to a folder already walked through another link".into(),
            });
            continue;
        }
        let mut walked = Walk {
            real_root: &real_root,
            visited: &visited,
        }
        .folder(&link.path, &link.ancestors);
        out.linked.push(link.path);
        out.files.append(&mut walked.scan.files);
        out.skipped.append(&mut walked.scan.skipped);
        links.extend(walked.links);
        visited.extend(walked.folders);
    }
    if followed {
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    }
    out
}

/// A folder's device and inode: what tells a symlink that leads back to an ancestor, and a
/// folder reached a second time.
type FolderId = (u64, u64);

#[cfg(unix)]
fn folder_id(meta: &Metadata) -> FolderId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// Without inodes every folder is its own: links are followed as the walk finds them, with
/// no test for loops or second routes.
#[cfg(not(unix))]
fn folder_id(_: &Metadata) -> FolderId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// One walk of a folder tree, without following links to folders.
struct Walk<'a> {
    /// The collection's folder, free of symlinks.
    real_root: &'a Path,
    /// The folders walked before this walk: met again (through a link), they are skipped.
    visited: &'a std::collections::HashSet<FolderId>,
}

/// A symlink to a folder, to follow once the walk that found it is done.
struct Link {
    path: PathBuf,
    /// The folder it leads to.
    id: FolderId,
    /// The chain of folders from the root to it, the target included.
    ancestors: Vec<FolderId>,
}

/// What a walk found: the images, the links to folders it did not follow, and the folders
/// it walked.
#[derive(Default)]
struct Walked {
    scan: Scan,
    links: Vec<Link>,
    folders: Vec<FolderId>,
}

/// What one entry of a folder adds to the walk.
enum Found {
    File(FileEntry),
    Skipped(Skipped),
    Folder(Walked),
    Link(Link),
}

fn skipped(path: PathBuf, reason: impl Into<String>) -> Option<Found> {
    Some(Found::Skipped(Skipped {
        path,
        reason: reason.into(),
    }))
}

impl Walk<'_> {
    /// The images under `dir`, whose chain of folders from the root (`dir`'s own included)
    /// is `ancestors`.
    fn folder(&self, dir: &Path, ancestors: &[FolderId]) -> Walked {
        let mut out = Walked::default();
        out.folders.extend(ancestors.last());
        let read = match std::fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) => {
                out.scan.skipped.push(Skipped {
                    path: dir.to_owned(),
                    reason: e.to_string(),
                });
                return out;
            }
        };
        let mut entries = Vec::new();
        for entry in read {
            match entry {
                Ok(entry) => {
                    let name = entry.file_name();
                    if !name.as_encoded_bytes().starts_with(b".") {
                        entries.push((name, entry));
                    }
                }
                Err(e) => out.scan.skipped.push(Skipped {
                    path: dir.to_owned(),
                    reason: e.to_string(),
                }),
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let found: Vec<Option<Found>> = entries
            .into_par_iter()
            .with_min_len(256)
            .map(|(name, entry)| self.entry(dir.join(name), &entry, ancestors))
            .collect();
        for found in found.into_iter().flatten() {
            match found {
                Found::File(f) => out.scan.files.push(f),
                Found::Skipped(s) => out.scan.skipped.push(s),
                Found::Folder(inner) => {
                    out.scan.files.extend(inner.scan.files);
                    out.scan.skipped.extend(inner.scan.skipped);
                    out.links.extend(inner.links);
                    out.folders.extend(inner.folders);
                }
                Found::Link(link) => out.links.push(link),
            }
        }
        out
    }

    /// What the entry `entry` at `path` adds: an image file, a reason it is left out, a
    /// folder's images, a link to a folder to follow later, or nothing (a file that is not
    /// an image).
    fn entry(&self, path: PathBuf, entry: &DirEntry, ancestors: &[FolderId]) -> Option<Found> {
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => return skipped(path, e.to_string()),
        };
        if kind.is_symlink() {
            // Followed: the link's target decides what it is. A broken one is an image left
            // out only if its name says it is one.
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(_) if !is_image_path(&path) => return None,
                Err(e) => return skipped(path, format!("broken symlink: {e}")),
            };
            if !meta.is_dir() {
                return file(path, &meta);
            }
            let id = folder_id(&meta);
            if ancestors.contains(&id) {
                return skipped(path, "symlink loop");
            }
            // A link to a folder of the collection, or to one that holds it, would list the
            // same images twice under other names: walk each folder once, by its real path.
            let target = std::fs::canonicalize(&path).unwrap_or_default();
            if let Ok(inside) = target.strip_prefix(self.real_root) {
                let hidden = inside
                    .components()
                    .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."));
                return match hidden {
                    true => skipped(
                        path,
                        "symlink to a hidden folder (hidden folders are left out)",
                    ),
                    false => skipped(path, "symlink to a folder already in the collection"),
                };
            }
            if self.real_root.starts_with(&target) {
                return skipped(path, "symlink to a folder that holds the collection");
            }
            return Some(Found::Link(Link {
                path,
                id,
                ancestors: [ancestors, &[id]].concat(),
            }));
        }
        if kind.is_dir() {
            let inner = match entry.metadata() {
                Ok(meta) => {
                    let id = folder_id(&meta);
                    if self.visited.contains(&id) {
                        // Inside a folder reached through a link, one walked through another.
                        return skipped(path, "folder already walked through another link");
                    }
                    [ancestors, &[id]].concat()
                }
                Err(_) => ancestors.to_vec(),
            };
            return Some(Found::Folder(self.folder(&path, &inner)));
        }
        if !is_image_path(&path) {
            return None;
        }
        // Not a link, so the entry's own status is the file's.
        match entry.metadata() {
            Ok(meta) => file(path, &meta),
            Err(e) => skipped(path, e.to_string()),
        }
    }
}

/// An image-named entry whose (followed) status is `meta`: a file, or not a regular one.
fn file(path: PathBuf, meta: &Metadata) -> Option<Found> {
    if !is_image_path(&path) {
        return None;
    }
    match meta.is_file() {
        true => Some(Found::File(FileEntry::new(path, meta))),
        false => skipped(path, "not a regular file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel walk lists what a serial depth-first walk sorted by name lists, in path
    /// order, with hidden entries and non-images left out, across many folders and files.
    #[test]
    fn the_walk_is_in_path_order_and_finds_every_image() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let mut expected = Vec::new();
        // Names that sort differently as bytes of the whole path and as path components.
        for folder in ["a", "a-b", "a.b", "b/c", "b/c d", "Z", "b/c/e"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            for i in 0..300 {
                let path = root.join(folder).join(format!("img{i:03}.png"));
                std::fs::write(&path, b"x").unwrap();
                expected.push(path);
            }
            std::fs::write(root.join(folder).join("notes.txt"), b"x").unwrap();
            std::fs::write(root.join(folder).join(".hidden.png"), b"x").unwrap();
        }
        for name in ["a.png", "a-.png", "b.PNG"] {
            std::fs::write(root.join(name), b"x").unwrap();
            expected.push(root.join(name));
        }
        std::fs::create_dir(root.join(".cache")).unwrap();
        std::fs::write(root.join(".cache/x.png"), b"x").unwrap();
        expected.sort();

        let found = scan(&root);
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
        let paths: Vec<PathBuf> = found.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths, expected);
        assert!(found.files.iter().all(|f| f.size == 1 && f.ino != 0));
    }

    /// Links that cross (each folder linked twice from the one before) and two links to one
    /// folder list each image once, whichever route, the same on every run.
    #[cfg(unix)]
    #[test]
    fn a_folder_reached_by_several_links_is_walked_once() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        for i in 0..12 {
            let level = outside.join(format!("L{i}"));
            std::fs::create_dir_all(&level).unwrap();
            std::fs::write(level.join(format!("img{i}.png")), b"x").unwrap();
            if i > 0 {
                let before = outside.join(format!("L{}", i - 1));
                std::os::unix::fs::symlink(&level, before.join("a")).unwrap();
                std::os::unix::fs::symlink(&level, before.join("b")).unwrap();
            }
        }
        std::os::unix::fs::symlink(outside.join("L0"), root.join("start")).unwrap();
        std::os::unix::fs::symlink(outside.join("L0"), root.join("again")).unwrap();
        std::fs::write(root.join("own.png"), b"x").unwrap();

        let found = scan(&root);
        let paths: Vec<PathBuf> = found.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths.len(), 13, "{paths:?}");
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted, "path order");
        assert_eq!(paths[0], root.join("again/a/a/a/a/a/a/a/a/a/a/a/img11.png"));
        // The second link to L0 and every second route are skipped, with their reason.
        assert!(found.skipped.iter().any(|s| s.path == root.join("start")
            && s.reason == "symlink to a folder already walked through another link"));
        assert_eq!(found.skipped.len(), 12, "{:?}", found.skipped);
        let again: Vec<PathBuf> = scan(&root).files.into_iter().map(|f| f.path).collect();
        assert_eq!(again, paths, "the same on every run");
    }

    /// The paths the walk gives files reached through symlinks are among the spellings of
    /// the user's path, however the user names the file, and the walk names the folders it
    /// reached through links.
    #[cfg(unix)]
    #[test]
    fn a_file_reached_through_a_link_is_found_by_the_path_the_walk_gave_it() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("photos")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("far.png"), b"x").unwrap();
        std::fs::write(root.join("photos/cat.png"), b"x").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
        std::os::unix::fs::symlink(root.join("photos/cat.png"), root.join("best.png")).unwrap();
        let walked = scan(&root);
        assert_eq!(walked.linked, vec![root.join("linked")]);
        let paths: Vec<PathBuf> = walked.files.into_iter().map(|f| f.path).collect();
        for named in [
            root.join("linked/far.png"),
            root.join("best.png"),
            root.join("photos/cat.png"),
            root.join("photos/../best.png"),
        ] {
            let spellings = paths_as_walked(&named);
            assert!(
                spellings.iter().any(|s| paths.contains(s)),
                "{named:?}: {spellings:?} among {paths:?}"
            );
        }
        // The path as written comes before the canonical one.
        let best = paths_as_walked(&root.join("best.png"));
        let first = best.iter().find(|s| paths.contains(s));
        assert_eq!(first, Some(&root.join("best.png")));
        assert_eq!(best.last(), Some(&root.join("photos/cat.png")));
        assert!(paths_as_walked(&root.join("gone.png")).is_empty());
    }

    /// A link to a hidden folder says so; a broken link is mentioned only when its name is an
    /// image's, and then as a broken link.
    #[cfg(unix)]
    #[test]
    fn links_to_hidden_folders_and_broken_links_get_true_reasons() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join(".hidden")).unwrap();
        std::fs::write(root.join(".hidden/x.png"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join(".hidden"), root.join("vis")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere.png"), root.join("gone.png")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("notes")).unwrap();
        std::os::unix::fs::symlink(root.join("loop-b"), root.join("loop-a")).unwrap();
        std::os::unix::fs::symlink(root.join("loop-a"), root.join("loop-b")).unwrap();
        let found = scan(&root);
        assert!(found.files.is_empty(), "{:?}", found.files);
        let reasons: Vec<(&str, &str)> = found
            .skipped
            .iter()
            .map(|s| {
                (
                    s.path.file_name().unwrap().to_str().unwrap(),
                    s.reason.as_str(),
                )
            })
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(reasons[0].0, "gone.png");
        assert!(reasons[0].1.starts_with("broken symlink: "), "{reasons:?}");
        assert_eq!(
            reasons[1],
            (
                "vis",
                "symlink to a hidden folder (hidden folders are left out)"
            )
        );
    }
}
