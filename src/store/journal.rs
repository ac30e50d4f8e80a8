//! The journal of files `imgtui dups --action` moved or trashed, by batch, so a batch can be
//! undone.

use std::path::{Path, PathBuf};

use rusqlite::params;

use super::*;

/// Where a journalled file action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalState {
    /// Written before the file was touched; the action may not have happened (a crash).
    Started,
    /// The file was moved or trashed.
    Done,
    /// The file was put back.
    Undone,
}

impl JournalState {
    /// The word stored: started, done or undone.
    pub fn name(self) -> &'static str {
        match self {
            JournalState::Started => "started",
            JournalState::Done => "done",
            JournalState::Undone => "undone",
        }
    }

    fn from_name(s: &str) -> JournalState {
        match s {
            "done" => JournalState::Done,
            "undone" => JournalState::Undone,
            _ => JournalState::Started,
        }
    }
}

/// What a journalled action did to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalAction {
    /// Moved into a folder.
    Move,
    /// Put in the freedesktop.org trash.
    Trash,
}

impl JournalAction {
    /// The word stored: move or trash.
    pub fn name(self) -> &'static str {
        match self {
            JournalAction::Move => "move",
            JournalAction::Trash => "trash",
        }
    }

    fn from_name(s: &str) -> JournalAction {
        match s {
            "trash" => JournalAction::Trash,
            _ => JournalAction::Move,
        }
    }
}

/// A `journal` row: one file moved or trashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The row's id (ignored when writing).
    pub id: i64,
    /// The batch: one run of an action ([`Store::next_batch`]).
    pub batch: i64,
    /// The folder the action ran on.
    pub root: PathBuf,
    /// What was done to it.
    pub action: JournalAction,
    /// Where the file was.
    pub from: PathBuf,
    /// Where it went: the move's target, or where it is in the trash (`TRASH/files/NAME`;
    /// journals written before that hold the trash's record, `TRASH/info/NAME.trashinfo`).
    pub to: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its content hash (blake3).
    pub hash: Hash,
    /// When the action ran, nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// Where it stands.
    pub state: JournalState,
}

impl Store {
    /// A new batch number for the journal: one more than any used before.
    ///
    /// Fails when the store cannot be read.
    pub fn next_batch(&self) -> anyhow::Result<i64> {
        let last: Option<i64> = self
            .conn
            .query_row("SELECT max(batch) FROM journal", [], |r| r.get(0))?;
        Ok(last.unwrap_or(0) + 1)
    }

    /// Writes `entry` to the journal (its `id` is ignored) in its own transaction and returns
    /// the row's id.
    ///
    /// Fails when the store cannot be written.
    pub fn journal_add(&mut self, entry: &JournalEntry) -> anyhow::Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO journal (batch, root, action, source, target, bytes, hash, time_ns, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                entry.batch,
                path_bytes(&entry.root),
                entry.action.name(),
                path_bytes(&entry.from),
                path_bytes(&entry.to),
                entry.bytes as i64,
                &entry.hash[..],
                entry.time_ns,
                entry.state.name(),
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Sets journal row `id` to `state`, and its target to `to`.
    ///
    /// Fails when the store cannot be written.
    pub fn journal_set(&mut self, id: i64, state: JournalState, to: &Path) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE journal SET state = ?2, target = ?3 WHERE id = ?1",
            params![id, state.name(), path_bytes(to)],
        )?;
        Ok(())
    }

    /// Removes journal row `id` (an action that failed and changed nothing).
    ///
    /// Fails when the store cannot be written.
    pub fn journal_forget(&mut self, id: i64) -> anyhow::Result<()> {
        self.conn
            .execute("DELETE FROM journal WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Every journal row of the folder `root`, oldest first.
    ///
    /// Fails when the store cannot be read.
    pub fn journal(&self, root: &Path) -> anyhow::Result<Vec<JournalEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, batch, root, action, source, target, bytes, hash, time_ns, state
             FROM journal WHERE root = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([path_bytes(root)], |r| {
            Ok(JournalEntry {
                id: r.get(0)?,
                batch: r.get(1)?,
                root: path_from_bytes(r.get(2)?),
                action: JournalAction::from_name(&r.get::<_, String>(3)?),
                from: path_from_bytes(r.get(4)?),
                to: path_from_bytes(r.get(5)?),
                bytes: r.get::<_, i64>(6)? as u64,
                hash: hash_from(r.get(7)?),
                time_ns: r.get(8)?,
                state: JournalState::from_name(&r.get::<_, String>(9)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
