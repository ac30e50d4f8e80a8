//! Joining stores made on several machines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::*;

/// What [`Store::merge`] did: counts over every input, and the rows that disagreed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeReport {
    /// The stores merged in, in order.
    #[serde(
        serialize_with = "crate::serialize_paths",
        deserialize_with = "crate::deserialize_paths"
    )]
    pub inputs: Vec<PathBuf>,
    /// Vectors (content hash + feature id) new to the output.
    pub vectors_added: usize,
    /// Vectors the output already had, identical.
    pub vectors_present: usize,
    /// Thumbnails new to the output (one per content hash).
    pub thumbnails_added: usize,
    /// Pairs of contents marked "not duplicates" new to the output.
    #[serde(default)]
    pub not_duplicates_added: usize,
    /// Pixel signatures new to the output (one per content hash).
    #[serde(default)]
    pub signatures_added: usize,
    /// `files` rows new to the output.
    pub files_added: usize,
    /// `files` rows the output already had with the same size, mtime and hash.
    pub files_present: usize,
    /// `files` rows that replaced an older, differing row of the output.
    pub files_replaced: usize,
    /// Vectors stored under one key with different values; the output's is kept.
    pub vector_conflicts: Vec<VectorConflict>,
    /// Paths recorded with a different size, mtime or hash; the newer row is kept.
    pub file_conflicts: Vec<FileConflict>,
}

/// A vector key (content hash + feature id) whose value differs between the output and an
/// input: a sign that one of them was made by a different build of the extractor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorConflict {
    /// The content hash, in hex (64 digits).
    pub hash: String,
    /// The feature id.
    pub feature: String,
    /// The input whose vector was left out.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub input: PathBuf,
}

/// A path recorded by the output and an input with a different size, mtime or content hash
/// (the file changed between the runs that recorded it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileConflict {
    /// The file, absolute, as recorded.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// The input whose row disagreed with the output's.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub input: PathBuf,
    /// Whether the input's row was kept (it is newer: a later mtime, or the same mtime and a
    /// later read); otherwise the output's stays.
    pub kept_input: bool,
}

impl Store {
    /// Merges the stores at `inputs` into this one: vectors, thumbnails, signatures, `files`
    /// rows and the pairs marked "not duplicates" (a decision about two contents holds on every
    /// machine).
    /// Saved clusterings, their edits and the journal are one machine's state and are not
    /// merged. Each input is attached (SQLite `ATTACH`) and merged in one transaction, so an
    /// interrupted merge leaves whole inputs merged, and merging again is harmless.
    ///
    /// Vectors are keyed by content hash and feature id, so they cannot clash: one already
    /// here is kept, and reported when the input's differs. A path recorded here and in an
    /// input with a different size, mtime or hash keeps the newer row and is reported.
    ///
    /// Fails with [`crate::ErrorKind::MissingInput`] when an input does not exist, with a
    /// bad request when an input is this store or its path is not UTF-8, as a damaged store
    /// when an input is not a usable imgtui store, and when this store cannot be written.
    pub fn merge(&mut self, inputs: &[PathBuf]) -> anyhow::Result<MergeReport> {
        check_merge_inputs(&self.path, inputs)?;
        let mut report = MergeReport {
            inputs: inputs.to_vec(),
            ..MergeReport::default()
        };
        for input in inputs {
            // Opening migrates an input of the previous schema version.
            drop(Store::open(input)?);
            let name = input.to_str().expect("checked to be UTF-8");
            self.conn.execute("ATTACH DATABASE ?1 AS input", [name])?;
            let merged = self.merge_attached(input, &mut report);
            self.conn.execute("DETACH DATABASE input", [])?;
            merged.with_context(|| format!("merging {}", crate::text::shown(input)))?;
        }
        Ok(report)
    }

    /// Merges the stores at `inputs` into the store at `out`, as [`Store::merge`] does, creating
    /// `out` if it is missing. Every input is checked before anything is written, so a bad
    /// input creates nothing; and when the merge fails after `out` was created here, the file
    /// (with its WAL files and any folders made for it) is removed again. A file that was there
    /// before is never removed.
    ///
    /// Fails as [`Store::merge`] does, and as a bad request when `out` is a file that is not
    /// an imgtui store.
    pub fn merge_into(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<MergeReport> {
        check_merge_inputs(out, inputs)?;
        if out.metadata().is_ok_and(|m| m.len() > 0) {
            check_store_file(out, "the store merged into")?;
        }
        let made = Created::before(out);
        let merged = Store::open(out).and_then(|mut store| store.merge(inputs));
        if merged.is_err() {
            made.remove();
        }
        merged
    }

    /// Merges the database attached as `input` (the store at `path`) in one transaction.
    fn merge_attached(&mut self, path: &Path, report: &mut MergeReport) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        let count = |sql: &str| -> rusqlite::Result<usize> {
            tx.query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
        };
        report.vectors_present += count(
            "SELECT count(*) FROM input.vectors i JOIN main.vectors m
             ON m.hash = i.hash AND m.feature = i.feature
             WHERE m.norm = i.norm AND m.vector = i.vector",
        )?;
        {
            let mut differ = tx.prepare(
                "SELECT i.hash, i.feature FROM input.vectors i JOIN main.vectors m
                 ON m.hash = i.hash AND m.feature = i.feature
                 WHERE m.norm != i.norm OR m.vector != i.vector ORDER BY i.hash, i.feature",
            )?;
            let rows = differ.query_map([], |r| {
                Ok(VectorConflict {
                    hash: hex(&r.get::<_, Vec<u8>>(0)?),
                    feature: r.get(1)?,
                    input: path.to_owned(),
                })
            })?;
            for row in rows {
                report.vector_conflicts.push(row?);
            }
        }
        report.vectors_added += tx.execute(
            "INSERT OR IGNORE INTO main.vectors (hash, feature, norm, vector)
             SELECT hash, feature, norm, vector FROM input.vectors",
            [],
        )?;
        report.thumbnails_added += tx.execute(
            "INSERT OR IGNORE INTO main.thumbnails (hash, width, height, jpeg)
             SELECT hash, width, height, jpeg FROM input.thumbnails",
            [],
        )?;
        report.not_duplicates_added += tx.execute(
            "INSERT OR IGNORE INTO main.not_duplicates (a, b, time_ns)
             SELECT a, b, time_ns FROM input.not_duplicates",
            [],
        )?;
        report.signatures_added += tx.execute(
            "INSERT OR IGNORE INTO main.signatures (hash, signature)
             SELECT hash, signature FROM input.signatures",
            [],
        )?;

        // Rows of the input that the output records differently, and whether the input's is
        // the newer one.
        let differs = "(i.size != m.size OR i.mtime_ns != m.mtime_ns OR i.hash != m.hash)";
        let newer =
            "(i.mtime_ns > m.mtime_ns OR (i.mtime_ns = m.mtime_ns AND i.read_ns > m.read_ns))";
        report.files_present += count(&format!(
            "SELECT count(*) FROM input.files i JOIN main.files m ON m.path = i.path
             WHERE NOT {differs}"
        ))?;
        {
            let mut conflicts = tx.prepare(&format!(
                "SELECT i.path, {newer} FROM input.files i JOIN main.files m ON m.path = i.path
                 WHERE {differs} ORDER BY i.path"
            ))?;
            let rows = conflicts.query_map([], |r| {
                Ok(FileConflict {
                    path: path_from_bytes(r.get(0)?),
                    input: path.to_owned(),
                    kept_input: r.get(1)?,
                })
            })?;
            for row in rows {
                let conflict = row?;
                report.files_replaced += usize::from(conflict.kept_input);
                report.file_conflicts.push(conflict);
            }
        }
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO main.files
                     (path, size, mtime_ns, hash, ctime_ns, ino, dev, read_ns)
                 SELECT i.path, i.size, i.mtime_ns, i.hash, i.ctime_ns, i.ino, i.dev, i.read_ns
                 FROM input.files i JOIN main.files m ON m.path = i.path
                 WHERE {differs} AND {newer}"
            ),
            [],
        )?;
        report.files_added += tx.execute(
            "INSERT OR IGNORE INTO main.files
                 (path, size, mtime_ns, hash, ctime_ns, ino, dev, read_ns)
             SELECT path, size, mtime_ns, hash, ctime_ns, ino, dev, read_ns FROM input.files",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Checks the inputs of a merge into `out` before anything is opened: each exists, is not
/// `out`, has a UTF-8 path (SQLite's `ATTACH` takes a string) and is an imgtui store.
fn check_merge_inputs(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let this = std::fs::canonicalize(out).ok();
    for input in inputs {
        if !input.is_file() {
            return Err(Error::with_kind(
                crate::error::ErrorKind::MissingInput,
                anyhow::anyhow!("{}: no such store", crate::text::shown(input)),
            )
            .into());
        }
        if this.is_some() && std::fs::canonicalize(input).ok() == this {
            return Err(Error::bad_request(format_args!(
                "{} is the store merged into; name it once, as OUT",
                crate::text::shown(input)
            ))
            .into());
        }
        if input.to_str().is_none() {
            return Err(Error::bad_request(format_args!(
                "{}: a store's path must be UTF-8 to be merged",
                crate::text::shown(input)
            ))
            .into());
        }
        check_store_file(input, "an input")?;
    }
    Ok(())
}

/// Checks, without writing to it, that the file at `path` is an imgtui store this build can
/// read (this schema version or the one before, which opening migrates). `role` names it in
/// the error, a bad request that names the file.
fn check_store_file(path: &Path, role: &str) -> anyhow::Result<()> {
    let not_a_store = |why: &dyn std::fmt::Display| -> anyhow::Error {
        Error::bad_request(format_args!(
            "{} ({role}) is not an imgtui store: {why}",
            crate::text::shown(path)
        ))
        .into()
    };
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut header)
    });
    match read {
        Ok(()) if &header == b"SQLite format 3\0" => {}
        Ok(()) => return Err(not_a_store(&"it is not an SQLite database")),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(not_a_store(&"it is not an SQLite database"));
        }
        Err(e) => {
            return Err(Error::with_kind(
                crate::error::ErrorKind::MissingInput,
                anyhow::anyhow!("{}: {e}", crate::text::shown(path)),
            )
            .into());
        }
    }
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let version = Connection::open_with_flags(path, flags).and_then(|conn| {
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
            r.get::<_, i64>(0)
        })
    });
    match version {
        Ok(v) if v == SCHEMA_VERSION || v == SCHEMA_VERSION - 1 => Ok(()),
        Ok(v) => Err(not_a_store(&format_args!(
            "it has schema version {v}, this imgtui reads version {SCHEMA_VERSION}"
        ))),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) =>
        {
            Err(e.into())
        }
        Err(e) => Err(not_a_store(&format_args!("it has no imgtui tables ({e})"))),
    }
}

/// What opening a store at a path created: the file and its WAL files, those that were
/// missing, and the folders made for them; so a failed merge can take them away again, and
/// only them.
struct Created {
    /// The files that did not exist: the store, its `-wal`, `-shm` and `-journal`.
    files: Vec<PathBuf>,
    /// The folders that did not exist, deepest first.
    folders: Vec<PathBuf>,
}

impl Created {
    /// Notes what of `path`, its WAL files and its folders is missing now.
    fn before(path: &Path) -> Created {
        let missing = |p: &Path| p.symlink_metadata().is_err();
        let files = ["", "-wal", "-shm", "-journal"]
            .into_iter()
            .map(|suffix| {
                let mut name = path.as_os_str().to_owned();
                name.push(suffix);
                PathBuf::from(name)
            })
            .filter(|p| missing(p))
            .collect();
        let folders = path
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .take_while(|p| missing(p))
            .map(Path::to_owned)
            .collect();
        Created { files, folders }
    }

    /// Removes what was created since [`Created::before`] (folders only when empty).
    fn remove(self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        for folder in &self.folders {
            if std::fs::remove_dir(folder).is_err() {
                break;
            }
        }
    }
}
