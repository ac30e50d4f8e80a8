//! Saved clusterings and their edit logs, by folder and feature.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::*;

impl Store {
    /// Saves the clustering of `root` under `feature` (any serde value, kept as JSON),
    /// replacing any earlier one. Fails when the store cannot be written.
    pub fn save_clustering<T: serde::Serialize>(
        &mut self,
        root: &Path,
        feature: &str,
        saved: &T,
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        put_body(&tx, &path_bytes(root), feature, saved)?;
        tx.commit()?;
        Ok(())
    }

    /// Saves the clustering of `root` under `feature` as [`Store::save_clustering`] does and
    /// replaces its edit log with `edits` (each with whether it is undone, in order), in one
    /// transaction: what a refit that carries the edits over writes. Fails when the store
    /// cannot be written; then nothing is.
    pub fn save_clustering_with_edits<T: serde::Serialize, E: serde::Serialize>(
        &mut self,
        root: &Path,
        feature: &str,
        saved: &T,
        edits: &[(E, bool, String)],
    ) -> anyhow::Result<()> {
        let root = path_bytes(root);
        let tx = self.conn.transaction()?;
        put_body(&tx, &root, feature, saved)?;
        tx.execute(
            "DELETE FROM edits WHERE root = ?1 AND feature = ?2",
            params![root, feature],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO edits (root, feature, seq, body, undone, author)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (seq, (edit, undone, author)) in edits.iter().enumerate() {
                let body = serde_json::to_vec(edit)?;
                insert.execute(params![root, feature, seq as i64 + 1, body, undone, author])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The edit log of the saved clustering of `root` under `feature`, in order: each edit's
    /// sequence number, the edit read back as `T`, whether it is undone, and who made it
    /// (see [`Store::push_edit`]; empty for edits made before authors were kept). An entry
    /// that does not parse as `T` (written by an incompatible imgtui) is left out.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn edits<T: serde::de::DeserializeOwned>(
        &self,
        root: &Path,
        feature: &str,
    ) -> anyhow::Result<Vec<(i64, T, bool, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, body, undone, author FROM edits WHERE root = ?1 AND feature = ?2
             ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![path_bytes(root), feature], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body, undone, author) = row?;
            if let Ok(edit) = serde_json::from_slice(&body) {
                out.push((seq, edit, undone, author));
            }
        }
        Ok(out)
    }

    /// Appends `edit`, made by `author` (an id of the process that made it, so that one
    /// explorer does not undo another's edits), to the edit log of `root` under `feature`,
    /// dropping the undone edits first (a new edit after undo ends the redo history, as in
    /// editors), in one transaction. Returns its sequence number.
    ///
    /// Fails when the store cannot be written; then nothing is.
    pub fn push_edit<T: serde::Serialize>(
        &mut self,
        root: &Path,
        feature: &str,
        edit: &T,
        author: &str,
    ) -> anyhow::Result<i64> {
        let body = serde_json::to_vec(edit)?;
        let root = path_bytes(root);
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM edits WHERE root = ?1 AND feature = ?2 AND undone != 0",
            params![root, feature],
        )?;
        let seq: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM edits WHERE root = ?1 AND feature = ?2",
            params![root, feature],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO edits (root, feature, seq, body, undone, author)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)",
            params![root, feature, seq, body, author],
        )?;
        tx.commit()?;
        Ok(seq)
    }

    /// Marks edit `seq` of `root` under `feature` undone (or, with `false`, redone).
    ///
    /// Fails when the store cannot be written.
    pub fn set_undone(
        &mut self,
        root: &Path,
        feature: &str,
        seq: i64,
        undone: bool,
    ) -> anyhow::Result<()> {
        self.conn.execute(
            "UPDATE edits SET undone = ?4 WHERE root = ?1 AND feature = ?2 AND seq = ?3",
            params![path_bytes(root), feature, seq, undone],
        )?;
        Ok(())
    }

    /// Whether a clustering of `root` by `feature` is saved (without reading it).
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn has_clustering(&self, root: &Path, feature: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM clusterings WHERE root = ?1 AND feature = ?2",
                params![path_bytes(root), feature],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The saved clustering of `root` under `feature`, read back as `T`. One that does not
    /// parse as `T` (saved by an incompatible version of imgtui) counts as none, so it is
    /// refitted. Fails when the store cannot be read or is damaged.
    pub fn load_clustering<T: serde::de::DeserializeOwned>(
        &self,
        root: &Path,
        feature: &str,
    ) -> anyhow::Result<Option<T>> {
        let body: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT body FROM clusterings WHERE root = ?1 AND feature = ?2",
                params![path_bytes(root), feature],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.and_then(|b| serde_json::from_slice(&b).ok()))
    }
}

/// Writes `saved` as the JSON body of the clustering row of (`root`, `feature`), replacing
/// it. The JSON is written straight into the row's blob, having been measured by a first
/// serialisation that keeps nothing: at a million images the body is 181 MB, and making it in
/// memory, then binding it (SQLite copies a bound blob) and building the row, held three
/// copies at once, the top of a first fit's memory.
fn put_body<T: serde::Serialize>(
    tx: &rusqlite::Transaction,
    root: &[u8],
    feature: &str,
    saved: &T,
) -> anyhow::Result<()> {
    /// Counts the bytes written to it.
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, saved)?;
    tx.execute(
        "INSERT OR REPLACE INTO clusterings (root, feature, body) VALUES (?1, ?2, zeroblob(?3))",
        params![root, feature, i64::try_from(count.0)?],
    )?;
    let row = tx.last_insert_rowid();
    let blob = tx.blob_open(rusqlite::MAIN_DB, "clusterings", "body", row, false)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, blob);
    serde_json::to_writer(&mut out, saved)?;
    let mut blob = out.into_inner().map_err(|e| e.into_error())?;
    let written = std::io::Seek::stream_position(&mut blob)?;
    anyhow::ensure!(
        written == count.0,
        "the clustering's JSON was {} bytes long, then {written}",
        count.0
    );
    Ok(())
}
