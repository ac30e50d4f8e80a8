//! The on-disk feature store: one SQLite file (WAL mode) shared by every folder and model.
//!
//! * `files`: path → (stat fields, when it was read, content hash), so an unchanged file is
//!   never re-read (see [`FileRecord::describes`]).
//! * `vectors`: (content hash, feature id) → unit-length vector and its original length, so a
//!   renamed or copied file costs nothing, and vectors of different extractors never mix.
//! * `thumbnails`: content hash → a small JPEG for the explorer's grid (see
//!   [`crate::decode::thumbnail`]), one per content whatever the feature; dropped with the
//!   content's last vector.
//! * `signatures`: content hash → its pixel signature (see [`crate::decode::signature`]), which
//!   confirms near-duplicates; dropped with the content's last vector.
//! * `journal`: every file moved or trashed by `imgtui dups --action`, one row per file, so a batch
//!   can be undone.
//! * `not_duplicates`: pairs of contents the user marked "not duplicates", never grouped again
//!   (see [`decisions`]).
//!
//! [`Store::merge`] joins stores made on several machines (`imgtui index --shard`): vectors,
//! thumbnails, signatures, `files` rows and the "not duplicates" marks, never the per-machine
//! clusterings, edits and journal.
//!
//! One file a concern, each an `impl Store` block: `schema.rs` (what a file at the store's path
//! is, the tables and their migration), `files.rs` (files and vectors, the collection of a
//! folder), `thumbnails.rs` (and signatures), `clusterings.rs` (saved clusterings and their edit
//! logs), `journal.rs` (the files `dups --action` moved), `decisions.rs` (pairs marked not
//! duplicates) and `merge.rs`.

mod clusterings;
pub mod decisions;
mod files;
mod ivf;
mod journal;
mod merge;
mod schema;
mod thumbnails;

pub use files::{FileRecord, FileUpdate};
pub use journal::{JournalAction, JournalEntry, JournalState};
pub use merge::{FileConflict, MergeReport, VectorConflict};
pub use schema::{Found, found_at};
use schema::{SCHEMA_VERSION, not_a_store};

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;

use crate::collection::hex;
pub use crate::collection::{Collection, Hash};
use crate::collection::{Precision, Vectors};

/// A set of content hashes. They are BLAKE3 digests, uniform already, so FxHash (rustc-hash)
/// is as good a hash of them as SipHash and several times cheaper: at a million images the
/// re-index that finds nothing to do looks each one up in four such sets.
pub type Hashes = std::collections::HashSet<Hash, rustc_hash::FxBuildHasher>;
use crate::decode::thumbnail::thumbnail_size;
use crate::error::Error;
use crate::scan::FileEntry;

/// The store cannot be created or opened where it was asked to be (a read-only folder, a
/// path through a file, no permission): a bad request, since another `--store` fixes it.
fn unavailable(path: &Path, detail: impl std::fmt::Display) -> Error {
    Error::bad_request(format_args!(
        "cannot use {} as the feature store ({detail}); pass --store PATH or set `store` in the \
         settings to put it somewhere writable",
        crate::text::shown(path)
    ))
}

/// Whether `err` is SQLite saying another connection holds the lock.
fn is_busy(err: &anyhow::Error) -> bool {
    err.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
        matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

/// The feature store: one SQLite connection (WAL mode, 30 s busy timeout) to one file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// The default location: `store.sqlite` in the user's cache folder.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "imgtui").map(|d| d.cache_dir().join("store.sqlite"))
    }

    /// Moves a (damaged) store and its WAL files aside, to `<name>.damaged-<unix time>`, so
    /// the next open starts afresh and nothing is deleted. Returns the new name, if there was
    /// a store.
    ///
    /// Fails as a bad request, touching nothing, when the file there is not an imgtui store
    /// ([`found_at`]: another program's file or database), and when a file cannot be renamed.
    pub fn set_aside(path: &Path) -> anyhow::Result<Option<PathBuf>> {
        match found_at(path)? {
            Found::Nothing if !path.exists() => return Ok(None),
            Found::Other(what) => return Err(not_a_store(path, &what).into()),
            Found::Nothing | Found::Store => {}
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = |p: &Path| {
            let mut name = p.as_os_str().to_owned();
            name.push(format!(".damaged-{stamp}"));
            PathBuf::from(name)
        };
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = PathBuf::from(name);
            if file.exists() {
                std::fs::rename(&file, aside(&file))
                    .with_context(|| format!("moving {} aside", crate::text::shown(&file)))?;
            }
        }
        let to = aside(path);
        std::fs::rename(path, &to)
            .with_context(|| format!("moving {} aside", crate::text::shown(path)))?;
        Ok(Some(to))
    }

    /// Opens (creating if needed) the store at `path`.
    ///
    /// Fails with a bad request when the file cannot be created or opened there (read-only,
    /// a path through a file) or when the file there is not an imgtui store (see
    /// [`found_at`]; it is never written to), and as a damaged store when it is an imgtui
    /// store SQLite cannot use.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Found::Other(what) = found_at(path).map_err(|e| unavailable(path, e))? {
            return Err(not_a_store(path, &what).into());
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                unavailable(
                    path,
                    format_args!("creating {}: {e}", crate::text::shown(parent)),
                )
            })?;
        }
        let conn = Connection::open(path).map_err(|e| unavailable(path, &e))?;
        conn.busy_timeout(Duration::from_secs(30))?;
        let store = Store {
            conn,
            path: path.to_owned(),
        };
        // Two processes creating one store at once: switching a new file to WAL does not
        // wait for the other's lock, so wait here (the same 30 s as the busy timeout).
        let started = std::time::Instant::now();
        let mut initialised = store.init();
        while let Err(e) = &initialised
            && is_busy(e)
            && started.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(50));
            initialised = store.init();
        }
        if let Err(e) = initialised {
            let read_only = e.downcast_ref::<rusqlite::Error>().is_some_and(|e| {
                matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
                )
            });
            if read_only {
                return Err(unavailable(path, &e).into());
            }
            return Err(e.context(format!(
                "{}: not a usable imgtui store",
                crate::text::shown(path)
            )));
        }
        Ok(store)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies what the WAL file holds into the store file and empties the WAL (SQLite's
    /// `wal_checkpoint(TRUNCATE)`), so that the store file alone is whole, as a backup or
    /// `store merge` may take it. Other connections that are reading keep the WAL as far as
    /// they need; the rest is copied later.
    ///
    /// Fails when the store cannot be written.
    pub fn checkpoint(&self) -> anyhow::Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Keeps the first thumbnail of a content: it is the same picture whoever made it.
const INSERT_THUMBNAIL: &str =
    "INSERT OR IGNORE INTO thumbnails (hash, width, height, jpeg) VALUES (?1, ?2, ?3, ?4)";

/// Keeps the first signature of a content.
const INSERT_SIGNATURE: &str = "INSERT OR IGNORE INTO signatures (hash, signature) VALUES (?1, ?2)";

/// The byte range of paths at or below `root`: `root` itself up to but excluding `root` + "0"
/// ('0' follows '/'), so `/a/b` matches `/a/b/x.png` but not `/a/bc.png`.
fn prefix_range(root: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut lo = path_bytes(root);
    if lo.last() != Some(&b'/') {
        lo.push(b'/');
    }
    let mut hi = lo.clone();
    *hi.last_mut().expect("non-empty") = b'0';
    (lo, hi)
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&b).into_owned())
}

/// The hashes a query's first column holds, read in place (no allocation per row: a
/// re-index of a million files asks this four times).
fn hash_set(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> anyhow::Result<Hashes> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Hashes::default();
    while let Some(row) = rows.next()? {
        out.insert(hash_of(row.get_ref(0)?.as_blob()?));
    }
    Ok(out)
}

/// The bit of [`Store::content_held`]'s masks that says a pixel signature is stored.
pub const HAS_SIGNATURE: u32 = 1 << 31;

/// A stored hash's bytes as a [`Hash`] (zero-padded, cut at 32 bytes).
fn hash_of(b: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    let n = b.len().min(32);
    h[..n].copy_from_slice(&b[..n]);
    h
}

fn hash_from(b: Vec<u8>) -> Hash {
    hash_of(&b)
}

/// Why `unit` (with its original length `norm`) may not be stored, if it may not.
fn check_vector(unit: &[f32], norm: f32) -> Result<(), String> {
    if unit.iter().any(|x| !x.is_finite()) {
        return Err("it holds a NaN or an infinity".into());
    }
    let square: f64 = unit.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if square == 0.0 {
        return Err("it is all zero, so its cosine distance to anything is undefined".into());
    }
    if (square - 1.0).abs() >= 1e-3 {
        return Err(format!("its length is {:.4}, not 1", square.sqrt()));
    }
    if !(norm.is_finite() && norm > 0.0) {
        return Err(format!(
            "its original length {norm} is not a positive number"
        ));
    }
    Ok(())
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests;
