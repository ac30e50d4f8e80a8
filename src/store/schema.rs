//! What a file at the store's path is, and the store's tables: made, migrated, checked.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::*;

/// Version 3 added the inode, device, ctime and read time to `files` (version 2 stores are
/// migrated when opened; their rows are verified by hashing once).
pub(super) const SCHEMA_VERSION: i64 = 3;

/// What a file at a store's path is, judged before imgtui writes to it or moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Nothing there, or an empty file: a new store is made.
    Nothing,
    /// An SQLite database holding imgtui's tables (`meta` and `files`), readable or not: a
    /// store, perhaps damaged.
    Store,
    /// Anything else: another program's file or database, never written to or moved. The
    /// text says what it is.
    Other(String),
}

/// The SQLite file header (the first 16 bytes of every database file).
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What is at `path` (see [`Found`]), asked of SQLite first. A file SQLite cannot read is
/// judged by the schema text on its first page (page 1 holds `sqlite_schema`: imgtui's table
/// definitions there make it a damaged store, even with its header overwritten), then by its
/// header.
///
/// The file itself is read only when SQLite cannot read it: closing a descriptor of a
/// database file drops every POSIX lock the process holds on it (`fcntl` semantics), which
/// would let another process take this process's open store for unused and delete its WAL.
///
/// Fails only when the file exists but cannot be read.
pub fn found_at(path: &Path) -> anyhow::Result<Found> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", crate::text::shown(path))),
    };
    if meta.is_dir() {
        return Ok(Found::Other("a folder".into()));
    }
    if meta.len() == 0 {
        return Ok(Found::Nothing);
    }
    // Read-write without create, as the store itself opens it: a WAL database whose tables are
    // still only in its -wal file is read whole.
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let tables = Connection::open_with_flags(path, flags).and_then(|conn| {
        conn.busy_timeout(Duration::from_secs(30))?;
        let mut st = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    });
    let ours = |names: &[&str]| ["meta", "files"].iter().all(|t| names.contains(t));
    match tables {
        Ok(names) if names.is_empty() => Ok(Found::Nothing),
        Ok(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if ours(&names) {
                Ok(Found::Store)
            } else {
                Ok(Found::Other(format!(
                    "an SQLite database of another program, with tables {}",
                    names.join(", ")
                )))
            }
        }
        // Locked by another writer for 30 s: left for `Store::open` to report.
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) =>
        {
            Ok(Found::Store)
        }
        Err(_) => {
            // Not a database, or a damaged one: its header, and imgtui's table definitions in
            // the bytes of its first page.
            use std::io::Read;
            let mut head = Vec::with_capacity(65_536);
            std::fs::File::open(path)?
                .take(65_536)
                .read_to_end(&mut head)?;
            // The schema's text on the first page (a damaged header included: imgtui's table
            // definitions there say whose file it is).
            let first_page = if head.starts_with(SQLITE_HEADER) {
                page_size(&head)
            } else {
                head.len() // the page size is in the header that is gone: read it all
            };
            let text = String::from_utf8_lossy(&head[..head.len().min(first_page)]);
            let defined = ["meta", "files"].map(|t| {
                if text.contains(&format!("CREATE TABLE {t} (")) {
                    t
                } else {
                    ""
                }
            });
            Ok(if ours(&defined) {
                Found::Store
            } else if head.starts_with(SQLITE_HEADER) {
                Found::Other("an SQLite database that is not imgtui's".into())
            } else {
                Found::Other("not an SQLite database".into())
            })
        }
    }
}

/// The page size an SQLite header gives (bytes 16–17, big-endian; 1 means 65,536).
fn page_size(head: &[u8]) -> usize {
    match head.get(16..18) {
        Some(&[1, 0]) | None => 65_536,
        Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])).max(512),
        Some(_) => 65_536,
    }
}

/// The refusal for a file at the store's path that is not a store: a bad request.
pub(super) fn not_a_store(path: &Path, what: &str) -> Error {
    Error::bad_request(format_args!(
        "{} is not an imgtui store ({what}); it is left as it is: pass --store a new file \
         or an existing imgtui store",
        crate::text::shown(path)
    ))
}

impl Store {
    pub(super) fn init(&self) -> anyhow::Result<()> {
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        self.conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS files (
                 path BLOB PRIMARY KEY,
                 size INTEGER NOT NULL,
                 mtime_ns INTEGER NOT NULL,
                 hash BLOB NOT NULL,
                 ctime_ns INTEGER NOT NULL DEFAULT 0,
                 ino INTEGER NOT NULL DEFAULT 0,
                 dev INTEGER NOT NULL DEFAULT 0,
                 read_ns INTEGER NOT NULL DEFAULT 0
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS files_by_hash ON files (hash);
             -- A rowid table: its rows hold kilobytes of vector, which WITHOUT ROWID tables
             -- handle badly (loading a collection was 4x slower).
             CREATE TABLE IF NOT EXISTS vectors (
                 hash BLOB NOT NULL,
                 feature TEXT NOT NULL,
                 norm REAL NOT NULL,
                 vector BLOB NOT NULL,
                 UNIQUE (hash, feature)
             );
             -- The saved clustering of a folder under a feature id, as JSON.
             CREATE TABLE IF NOT EXISTS clusterings (
                 root BLOB NOT NULL,
                 feature TEXT NOT NULL,
                 body BLOB NOT NULL,
                 PRIMARY KEY (root, feature)
             );
             -- The user's edits to the saved clustering of a folder under a feature id, in
             -- order (seq), each as JSON; undone ones can be redone. Added within version 3:
             -- a store made before gains the table here; an older imgtui ignores it.
             CREATE TABLE IF NOT EXISTS edits (
                 root BLOB NOT NULL,
                 feature TEXT NOT NULL,
                 seq INTEGER NOT NULL,
                 body BLOB NOT NULL,
                 undone INTEGER NOT NULL DEFAULT 0,
                 author TEXT NOT NULL DEFAULT '',
                 PRIMARY KEY (root, feature, seq)
             );
             -- A content's thumbnail (JPEG), added within version 3: a store made before has
             -- none and gains the table here; an older imgtui ignores it.
             CREATE TABLE IF NOT EXISTS thumbnails (
                 hash BLOB PRIMARY KEY,
                 width INTEGER NOT NULL,
                 height INTEGER NOT NULL,
                 jpeg BLOB NOT NULL
             );
             -- A content's pixel signature (decode::signature), added within version 3 as
             -- thumbnails were: content indexed before gains one on the next index run.
             CREATE TABLE IF NOT EXISTS signatures (
                 hash BLOB PRIMARY KEY,
                 signature BLOB NOT NULL
             );
             -- Files moved or trashed by `dups --action`, added within version 3 as thumbnails
             -- were. A row is written as 'started' before the file is touched and set to
             -- 'done' after; 'undone' once put back.
             CREATE TABLE IF NOT EXISTS journal (
                 id INTEGER PRIMARY KEY,
                 batch INTEGER NOT NULL,
                 root BLOB NOT NULL,
                 action TEXT NOT NULL,
                 source BLOB NOT NULL,
                 target BLOB NOT NULL,
                 bytes INTEGER NOT NULL,
                 hash BLOB NOT NULL,
                 time_ns INTEGER NOT NULL,
                 state TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS journal_by_batch ON journal (root, batch);
             -- Pairs of contents the user marked not duplicates (`dups --not-duplicates`,
             -- the explorer's `n`), the smaller hash first; added within version 3 as
             -- thumbnails were. Keyed by content, so a renamed or copied file keeps its mark.
             CREATE TABLE IF NOT EXISTS not_duplicates (
                 a BLOB NOT NULL,
                 b BLOB NOT NULL,
                 time_ns INTEGER NOT NULL,
                 PRIMARY KEY (a, b)
             ) WITHOUT ROWID;
             -- The neighbour index (IVF) of a folder under a feature id: `cells × dim`
             -- f32 centroids, and each image's cell as 32-byte hash + u32, added within
             -- version 3 as thumbnails were; it is made again when missing.
             CREATE TABLE IF NOT EXISTS neighbour_index (
                 root BLOB NOT NULL,
                 feature TEXT NOT NULL,
                 cells INTEGER NOT NULL,
                 dim INTEGER NOT NULL,
                 centroids BLOB NOT NULL,
                 members BLOB NOT NULL,
                 PRIMARY KEY (root, feature)
             );
             INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 3);",
        )?;
        let schema = "SELECT value FROM meta WHERE key = 'schema'";
        let mut version: i64 = self.conn.query_row(schema, [], |r| r.get(0))?;
        if version == 2 {
            // One writer migrates; another process opening the store at once waits for the
            // lock and then finds version 3.
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            let migrated = (|| -> anyhow::Result<i64> {
                let now: i64 = self.conn.query_row(schema, [], |r| r.get(0))?;
                if now == 2 {
                    self.conn.execute_batch(
                        "ALTER TABLE files ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;
                         ALTER TABLE files ADD COLUMN ino INTEGER NOT NULL DEFAULT 0;
                         ALTER TABLE files ADD COLUMN dev INTEGER NOT NULL DEFAULT 0;
                         ALTER TABLE files ADD COLUMN read_ns INTEGER NOT NULL DEFAULT 0;
                         UPDATE meta SET value = 3 WHERE key = 'schema';",
                    )?;
                    return Ok(3);
                }
                Ok(now)
            })();
            match migrated {
                Ok(v) => {
                    self.conn.execute_batch("COMMIT")?;
                    version = v;
                }
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        anyhow::ensure!(
            version == SCHEMA_VERSION,
            "schema version {version}, this imgtui reads version {SCHEMA_VERSION} \
             (delete the file to start afresh, or pass another --store)"
        );
        // Who made each edit, added within version 3 (an older imgtui writes '' there).
        let has_author: bool = self.conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('edits') WHERE name = 'author'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )?;
        if !has_author {
            match self
                .conn
                .execute_batch("ALTER TABLE edits ADD COLUMN author TEXT NOT NULL DEFAULT ''")
            {
                // Another process added it first.
                Err(e) if e.to_string().contains("duplicate column") => {}
                other => other?,
            }
        }
        Ok(())
    }
}
