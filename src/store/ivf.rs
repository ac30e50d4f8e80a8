//! The saved neighbour index (IVF) of a folder under a feature id: its centroids, and each
//! image's cell by content hash, so that the next start searches at once and a folder that
//! changed since keeps it (see [`crate::collection::ivf`]).

use std::path::Path;

use rusqlite::{OptionalExtension, params};
use rustc_hash::FxHashMap;

use super::*;
use crate::collection::ivf::Ivf;
use crate::collection::matrix::Matrix;
use crate::collection::{Collection, Hash};

/// Bytes of one saved member: a content hash and its cell (u32, little-endian).
const MEMBER: usize = 36;

impl Store {
    /// Saves `ivf`, the index of `c` (the collection of `root` under `feature`), replacing
    /// any earlier one, in one statement: a process killed meanwhile leaves the old index or
    /// the new, never a mix. Fails when the store cannot be written.
    pub fn save_ivf(
        &self,
        root: &Path,
        feature: &str,
        c: &Collection,
        ivf: &Ivf,
    ) -> anyhow::Result<()> {
        let centroids: Vec<u8> = ivf
            .centroids()
            .data
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut members = Vec::with_capacity(c.len() * MEMBER);
        for (hash, cell) in ivf.cells_by_hash(c) {
            members.extend_from_slice(hash);
            members.extend_from_slice(&cell.to_le_bytes());
        }
        self.conn.execute(
            "INSERT OR REPLACE INTO neighbour_index (root, feature, cells, dim, centroids, members)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                path_bytes(root),
                feature,
                ivf.cells() as i64,
                ivf.centroids().cols as i64,
                centroids,
                members
            ],
        )?;
        Ok(())
    }

    /// Whether an index of `root` under `feature` is saved (without reading it). Fails
    /// when the store cannot be read.
    pub fn has_ivf(&self, root: &Path, feature: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM neighbour_index WHERE root = ?1 AND feature = ?2",
                params![path_bytes(root), feature],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The saved index of `root` under `feature`, fitted to `c` (images added since join
    /// their nearest cell, images gone are left out), with how many rows of `c` it had not
    /// seen; `None` when there is none, or it does not fit (another width, damaged bytes).
    /// Fails when the store cannot be read.
    pub fn load_ivf(
        &self,
        root: &Path,
        feature: &str,
        c: &Collection,
    ) -> anyhow::Result<Option<(Ivf, usize)>> {
        let Some((centroids, cell_of)) = self.ivf_parts(root, feature)? else {
            return Ok(None);
        };
        let unseen = c
            .hashes
            .iter()
            .filter(|h| !cell_of.contains_key(*h))
            .count();
        Ok(Ivf::restore(c, centroids, &cell_of).map(|ivf| (ivf, unseen)))
    }

    /// The saved index of `root` under `feature` as it was saved: its `cells × dim` unit
    /// centroids and each image's cell by content hash; `None` when there is none or its
    /// bytes are damaged. Fails when the store cannot be read.
    pub fn ivf_parts(
        &self,
        root: &Path,
        feature: &str,
    ) -> anyhow::Result<Option<(Matrix, FxHashMap<Hash, u32>)>> {
        let row: Option<(i64, i64, Vec<u8>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT cells, dim, centroids, members FROM neighbour_index
                 WHERE root = ?1 AND feature = ?2",
                params![path_bytes(root), feature],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((cells, dim, centroids, members)) = row else {
            return Ok(None);
        };
        let (cells, dim) = (cells.max(0) as usize, dim.max(0) as usize);
        if centroids.len() != cells * dim * 4 || members.len() % MEMBER != 0 {
            return Ok(None);
        }
        let data = centroids
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut cell_of: FxHashMap<Hash, u32> = FxHashMap::default();
        cell_of.reserve(members.len() / MEMBER);
        for m in members.chunks_exact(MEMBER) {
            let hash: Hash = m[..32].try_into().expect("32 bytes");
            let cell = u32::from_le_bytes([m[32], m[33], m[34], m[35]]);
            if cell as usize >= cells {
                return Ok(None);
            }
            cell_of.insert(hash, cell);
        }
        Ok(Some((Matrix::from_vec(cells, dim, data), cell_of)))
    }
}
