//! Thumbnails (one small JPEG per content, for the explorer's grid) and pixel signatures (one
//! per content, for confirming near-duplicates).

use std::collections::HashMap;

use anyhow::Context;
use rusqlite::{OptionalExtension, params};

use super::*;

impl Store {
    /// The stored thumbnail of the content `hash`, a JPEG (see [`crate::decode::thumbnail`]),
    /// or `None` when there is none.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn thumbnail(&self, hash: &Hash) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT jpeg FROM thumbnails WHERE hash = ?1")?
            .query_row([&hash[..]], |r| r.get(0))
            .optional()?)
    }

    /// Stores thumbnails (content hash, JPEG) in one transaction: all of them, or none.
    /// Content that already has one keeps it.
    ///
    /// Fails when a thumbnail is not a JPEG (nothing is written) or the store cannot be
    /// written.
    pub fn put_thumbnails(&self, rows: &[(Hash, Vec<u8>)]) -> anyhow::Result<()> {
        let sizes = rows
            .iter()
            .map(|(_, jpeg)| thumbnail_size(jpeg).context("refusing a thumbnail"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // `&self`, so that a reader can fill in a thumbnail it lacks; a connection is used
        // by one thread at a time, so no other transaction is open on it.
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(INSERT_THUMBNAIL)?;
            for ((hash, jpeg), (w, h)) in rows.iter().zip(sizes) {
                insert.execute(params![&hash[..], w, h, jpeg])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Those of `hashes` that have no thumbnail, in their order.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn missing_thumbnails(&self, hashes: &[Hash]) -> anyhow::Result<Vec<Hash>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM thumbnails WHERE hash = ?1")?;
        let mut missing = Vec::new();
        for h in hashes {
            if !stmt.exists([&h[..]])? {
                missing.push(*h);
            }
        }
        Ok(missing)
    }

    /// The content hashes that have a thumbnail.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn hashes_with_thumbnails(&self) -> anyhow::Result<Hashes> {
        hash_set(&self.conn, "SELECT hash FROM thumbnails", [])
    }

    /// How many thumbnails are stored, and their JPEGs' bytes in all.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn thumbnail_count(&self) -> anyhow::Result<(usize, u64)> {
        let (n, bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), COALESCE(SUM(length(jpeg)), 0) FROM thumbnails",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((n as usize, bytes as u64))
    }

    /// The stored pixel signatures ([`crate::decode::signature`]) of those of `hashes` that
    /// have one this version reads.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn signatures(&self, hashes: &[Hash]) -> anyhow::Result<HashMap<Hash, Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT signature FROM signatures WHERE hash = ?1")?;
        let mut out = HashMap::with_capacity(hashes.len());
        for h in hashes {
            let sig: Option<Vec<u8>> = stmt.query_row([&h[..]], |r| r.get(0)).optional()?;
            if let Some(sig) = sig.filter(|s| crate::decode::signature::is_valid(s)) {
                out.insert(*h, sig);
            }
        }
        Ok(out)
    }
}
