//! Files and their vectors: what was read of each file, the unit vectors by content, and a
//! folder's collection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::params;

use super::*;

/// A `files` row: the file's stat fields when it was read, when that was, and its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Last status change, nanoseconds since the Unix epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Device of the file system.
    pub dev: u64,
    /// When the content was read, nanoseconds since the Unix epoch (0: never verified).
    pub read_ns: i64,
    /// The content hash (blake3).
    pub hash: Hash,
}

impl FileRecord {
    /// Whether the record still describes `file`, so its hash can be used without reading it:
    /// every stat field is unchanged, and the file had settled (mtime and ctime older than the
    /// read by [`RACY_MARGIN`](crate::scan::RACY_MARGIN)) when it was read. A racy record is
    /// verified by hashing, which also records a settled read time, so it is read once more.
    pub fn describes(&self, file: &FileEntry) -> bool {
        (self.size, self.mtime_ns, self.ctime_ns, self.ino, self.dev)
            == (file.size, file.mtime_ns, file.ctime_ns, file.ino, file.dev)
            && file.settled_before(self.read_ns)
    }
}

/// One thing the indexer learnt about a file, written in a batch.
#[derive(Debug, Clone)]
pub struct FileUpdate {
    /// The file as it was when read (its metadata taken from the open file, before reading).
    pub file: FileEntry,
    /// When the read began, nanoseconds since the Unix epoch.
    pub read_ns: i64,
    /// The content hash (blake3) of what was read.
    pub hash: Hash,
    /// A new unit-length vector and the length it had before normalising.
    pub vector: Option<(Vec<f32>, f32)>,
    /// The content's thumbnail as a JPEG, when one was made ([`crate::decode::thumbnail`]).
    pub thumbnail: Option<Vec<u8>>,
    /// The content's pixel signature, when one was made ([`crate::decode::signature`]).
    pub signature: Option<Vec<u8>>,
    /// More unit vectors of the content under other feature ids (the facets' descriptors,
    /// [`crate::features::Facet`]): feature id, vector, length before normalising.
    pub facets: Vec<(String, Vec<f32>, f32)>,
}

impl Store {
    /// Whether any file at or below `root` has been indexed into this store.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn holds_files_under(&self, root: &Path) -> anyhow::Result<bool> {
        let (lo, hi) = prefix_range(root);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM files WHERE path >= ?1 AND path < ?2 LIMIT 1")?;
        Ok(stmt.exists(params![lo, hi])?)
    }

    /// Every `files` row at or below `root`, in the store's (byte) order of paths.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn files_under(&self, root: &Path) -> anyhow::Result<Vec<(PathBuf, FileRecord)>> {
        let (lo, hi) = prefix_range(root);
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, size, mtime_ns, hash, ctime_ns, ino, dev, read_ns FROM files
             WHERE path >= ?1 AND path < ?2",
        )?;
        let rows = stmt.query_map(params![lo, hi], |r| {
            Ok((
                path_from_bytes(r.get::<_, Vec<u8>>(0)?),
                FileRecord {
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    hash: hash_from(r.get::<_, Vec<u8>>(3)?),
                    ctime_ns: r.get(4)?,
                    ino: r.get::<_, i64>(5)? as u64,
                    dev: r.get::<_, i64>(6)? as u64,
                    read_ns: r.get(7)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What the store holds for each content hash, as a bit mask: bit `i` is set when it
    /// has a vector for `features[i]` (at most 31 features), and [`HAS_SIGNATURE`] when it
    /// has a pixel signature. Hashes with neither are absent.
    ///
    /// One pass over the vectors' `(hash, feature)` index and one over the signatures: a
    /// re-index of a million files that finds nothing to do spends ~0.4 s here, where a set
    /// per feature took 1.7 s.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn content_held(
        &self,
        features: &[&str],
    ) -> anyhow::Result<rustc_hash::FxHashMap<Hash, u32>> {
        assert!(features.len() < 32, "at most 31 features");
        let mut held = rustc_hash::FxHashMap::<Hash, u32>::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash, feature FROM vectors ORDER BY hash")?;
        let mut rows = stmt.query([])?;
        // Rows come in hash order: a hash's features are gathered before it is inserted.
        let mut run: Option<(Hash, u32)> = None;
        while let Some(row) = rows.next()? {
            let hash = hash_of(row.get_ref(0)?.as_blob()?);
            let feature = row.get_ref(1)?.as_str()?;
            let bit = features
                .iter()
                .position(|f| *f == feature)
                .map_or(0, |i| 1 << i);
            match &mut run {
                Some((h, mask)) if *h == hash => *mask |= bit,
                _ => {
                    if let Some((h, mask)) = run.take().filter(|(_, m)| *m != 0) {
                        *held.entry(h).or_default() |= mask;
                    }
                    run = Some((hash, bit));
                }
            }
        }
        if let Some((h, mask)) = run.filter(|(_, m)| *m != 0) {
            *held.entry(h).or_default() |= mask;
        }
        let mut stmt = self.conn.prepare_cached("SELECT hash FROM signatures")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            *held.entry(hash_of(row.get_ref(0)?.as_blob()?)).or_default() |= HAS_SIGNATURE;
        }
        Ok(held)
    }

    /// Writes a batch of updates in one transaction: all of it lands, or none. A thumbnail
    /// or signature for content that already has one is not written again.
    ///
    /// # Errors
    /// A vector that is not a finite unit vector with a finite, positive length (a zero
    /// vector, whose cosine distance is undefined; a NaN) is refused, and so is a thumbnail
    /// that is not a JPEG; then nothing is written.
    pub fn write(&mut self, feature: &str, updates: &[FileUpdate]) -> anyhow::Result<()> {
        let mut sizes = Vec::with_capacity(updates.len());
        for u in updates {
            sizes.push(match &u.thumbnail {
                Some(jpeg) => Some(thumbnail_size(jpeg).with_context(|| {
                    format!(
                        "refusing the thumbnail of {}",
                        crate::text::shown(&u.file.path)
                    )
                })?),
                None => None,
            });
            let main = u.vector.as_ref().map(|(v, norm)| (feature, v, *norm));
            let facets = u.facets.iter().map(|(f, v, norm)| (f.as_str(), v, *norm));
            for (feature, v, norm) in main.into_iter().chain(facets) {
                check_vector(v, norm).map_err(|why| {
                    anyhow::anyhow!(
                        "refusing to store the {feature} vector of {}: {why} (every stored \
                         vector is a finite unit vector with a finite, positive length)",
                        crate::text::shown(&u.file.path)
                    )
                })?;
            }
        }
        let tx = self.conn.transaction()?;
        {
            let mut file = tx.prepare_cached(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, hash, ctime_ns, ino, dev, read_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut vector = tx.prepare_cached(
                "INSERT OR REPLACE INTO vectors (hash, feature, norm, vector) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut thumbnail = tx.prepare_cached(INSERT_THUMBNAIL)?;
            let mut signature = tx.prepare_cached(INSERT_SIGNATURE)?;
            for (u, size) in updates.iter().zip(&sizes) {
                file.execute(params![
                    path_bytes(&u.file.path),
                    u.file.size as i64,
                    u.file.mtime_ns,
                    &u.hash[..],
                    u.file.ctime_ns,
                    u.file.ino as i64,
                    u.file.dev as i64,
                    u.read_ns
                ])?;
                if let Some((v, norm)) = &u.vector {
                    vector.execute(params![&u.hash[..], feature, norm, f32_bytes(v)])?;
                }
                for (facet, v, norm) in &u.facets {
                    vector.execute(params![&u.hash[..], facet, norm, f32_bytes(v)])?;
                }
                if let (Some(jpeg), Some((w, h))) = (&u.thumbnail, size) {
                    thumbnail.execute(params![&u.hash[..], w, h, jpeg])?;
                }
                if let Some(sig) = &u.signature {
                    signature.execute(params![&u.hash[..], sig])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets files that are gone from disk.
    ///
    /// Fails when the store cannot be written.
    pub fn remove_files(&mut self, paths: &[PathBuf]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM files WHERE path = ?1")?;
            for p in paths {
                stmt.execute([path_bytes(p)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Drops vectors whose content no longer belongs to any known file, then thumbnails and
    /// signatures whose content has no vector left, in one transaction. Returns how many
    /// vectors.
    ///
    /// Fails when the store cannot be written.
    pub fn collect_garbage(&mut self) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let vectors = tx.execute(
            "DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM files)",
            [],
        )?;
        tx.execute(
            "DELETE FROM thumbnails WHERE hash NOT IN (SELECT hash FROM vectors)",
            [],
        )?;
        tx.execute(
            "DELETE FROM signatures WHERE hash NOT IN (SELECT hash FROM vectors)",
            [],
        )?;
        tx.commit()?;
        Ok(vectors)
    }

    /// How many vectors are stored for `feature`.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn vector_count(&self, feature: &str) -> anyhow::Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM vectors WHERE feature = ?1",
            [feature],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Every image at or below `root` that has a vector for `feature`, sorted by path.
    ///
    /// The folder's files are read in path order, then their vectors: when the folder holds a
    /// good share of the store, by one scan of the feature's vectors in storage order (4× faster
    /// than looking each up by its hash: 0.7 s instead of 1.1 s at 100,000 images), else by
    /// lookups. A vector shared by identical files is read once and copied.
    ///
    /// Fails when the store cannot be read or a vector is not as written (damaged).
    pub fn collection(&self, root: &Path, feature: &str) -> anyhow::Result<Collection> {
        self.with_vectors(self.files(root)?, feature)
    }

    /// Every file indexed at or below `root`, sorted by path: a collection of paths and
    /// hashes, without vectors (a tenth of the time of [`collection`](Self::collection)).
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn files(&self, root: &Path) -> anyhow::Result<Collection> {
        let (lo, hi) = prefix_range(root);
        let mut c = Collection::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, hash FROM files WHERE path >= ?1 AND path < ?2 ORDER BY path",
        )?;
        let mut rows = stmt.query(params![lo, hi])?;
        while let Some(r) = rows.next()? {
            c.paths.push(path_from_bytes(r.get(0)?));
            c.hashes.push(hash_from(r.get(1)?));
        }
        Ok(c)
    }

    /// `c`'s files with their vectors for `feature`, in half precision; files without one
    /// are left out.
    ///
    /// Fails when the store cannot be read or a vector is not as written (damaged).
    pub fn with_vectors(&self, c: Collection, feature: &str) -> anyhow::Result<Collection> {
        self.with_vectors_in(c, feature, Precision::Half)
    }

    /// [`Store::with_vectors`], the vectors kept in `precision`.
    pub fn with_vectors_in(
        &self,
        c: Collection,
        feature: &str,
        precision: Precision,
    ) -> anyhow::Result<Collection> {
        let mut c = Collection {
            paths: c.paths,
            hashes: c.hashes,
            ..Collection::default()
        };
        let n = c.paths.len();
        // The first row of each content, and the next row with the same content.
        let mut first: HashMap<Hash, usize> = HashMap::with_capacity(n);
        let mut next = vec![usize::MAX; n];
        for i in (0..n).rev() {
            if let Some(j) = first.insert(c.hashes[i], i) {
                next[i] = j;
            }
        }
        let mut found = vec![false; n];
        c.norms = vec![0.0; n];
        let mut wide = Vec::new();
        let mut fill = |i: usize, norm: f64, bytes: &[u8]| -> anyhow::Result<()> {
            let m = &mut c.vectors;
            if m.cols() == 0 {
                // Sized once: growing by doubling would briefly hold 1.5× the matrix.
                *m = Vectors::zeros_in(n, bytes.len() / 4, precision);
            }
            let dim = m.cols();
            wide.clear();
            wide.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            // Every vector was written with unit length (`write` checks): anything else was
            // damaged on disk and must not be used.
            let square = crate::collection::dot(&wide, &wide);
            if bytes.len() != dim * 4 || (square - 1.0).abs() >= 1e-3 || square.is_nan() {
                return Err(Error::damaged_store(format_args!(
                    "the vector of {} is not as written",
                    crate::text::shown(&c.paths[i])
                ))
                .into());
            }
            m.set_row(i, &wide);
            c.norms[i] = norm as f32;
            found[i] = true;
            let mut j = next[i];
            while j != usize::MAX {
                m.copy_row(i, j);
                c.norms[j] = norm as f32;
                found[j] = true;
                j = next[j];
            }
            Ok(())
        };
        let stored: usize =
            self.conn
                .query_row("SELECT COALESCE(MAX(rowid), 0) FROM vectors", [], |r| {
                    r.get(0)
                })?;
        if n * 4 >= stored {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT hash, norm, vector FROM vectors WHERE feature = ?1")?;
            let mut rows = stmt.query(params![feature])?;
            while let Some(r) = rows.next()? {
                let hash: Option<Hash> = r.get_ref(0)?.as_blob()?.try_into().ok();
                if let Some(&i) = hash.as_ref().and_then(|h| first.get(h)) {
                    fill(i, r.get(1)?, r.get_ref(2)?.as_blob()?)?;
                }
            }
        } else {
            let mut stmt = self.conn.prepare_cached(
                "SELECT norm, vector FROM vectors WHERE hash = ?1 AND feature = ?2",
            )?;
            for i in 0..n {
                if first.get(&c.hashes[i]) == Some(&i) {
                    let mut rows = stmt.query(params![&c.hashes[i][..], feature])?;
                    if let Some(r) = rows.next()? {
                        fill(i, r.get(0)?, r.get_ref(1)?.as_blob()?)?;
                    }
                }
            }
        }
        // Files without a vector of this feature (never embedded by it) are left out.
        let mut kept = 0;
        for (i, _) in found.iter().enumerate().filter(|(_, f)| **f) {
            if kept != i {
                c.vectors.copy_row(i, kept);
                c.paths.swap(kept, i);
                c.hashes[kept] = c.hashes[i];
                c.norms[kept] = c.norms[i];
            }
            kept += 1;
        }
        c.paths.truncate(kept);
        c.hashes.truncate(kept);
        c.norms.truncate(kept);
        c.vectors.truncate(kept);
        Ok(c)
    }
}
