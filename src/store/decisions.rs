//! The user's decisions about near-duplicates: pairs of contents marked "not duplicates",
//! keyed by content hash so that a rename or a copy keeps them.

use std::collections::HashSet;

use rusqlite::params;

use super::*;

/// A pair of contents in the order the store keys it: the smaller hash first.
pub fn hash_pair(a: Hash, b: Hash) -> (Hash, Hash) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Store {
    /// Marks each pair of contents as not duplicates (the order within a pair does not
    /// matter); returns how many were not marked before. A pair of one content is skipped:
    /// exact copies are duplicates whatever is decided.
    ///
    /// Fails when the store cannot be written (nothing is marked then).
    pub fn mark_not_duplicates(
        &self,
        pairs: &[(Hash, Hash)],
        time_ns: i64,
    ) -> anyhow::Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO not_duplicates (a, b, time_ns) VALUES (?1, ?2, ?3)",
            )?;
            for &(a, b) in pairs {
                if a != b {
                    let (a, b) = hash_pair(a, b);
                    added += insert.execute(params![&a[..], &b[..], time_ns])?;
                }
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Takes back the "not duplicates" mark of each pair; returns how many were marked.
    ///
    /// Fails when the store cannot be written (nothing is changed then).
    pub fn unmark_not_duplicates(&self, pairs: &[(Hash, Hash)]) -> anyhow::Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let mut removed = 0;
        {
            let mut delete =
                tx.prepare_cached("DELETE FROM not_duplicates WHERE a = ?1 AND b = ?2")?;
            for &(a, b) in pairs {
                let (a, b) = hash_pair(a, b);
                removed += delete.execute(params![&a[..], &b[..]])?;
            }
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Every pair of contents marked not duplicates, each as [`hash_pair`] orders it.
    ///
    /// Fails when the store cannot be read or is damaged.
    pub fn not_duplicates(&self) -> anyhow::Result<HashSet<(Hash, Hash)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT a, b FROM not_duplicates")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                hash_from(r.get::<_, Vec<u8>>(0)?),
                hash_from(r.get::<_, Vec<u8>>(1)?),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_kept_by_content_in_either_order_and_taken_back() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("s.sqlite")).unwrap();
        let (a, b, c) = ([1; 32], [2; 32], [3; 32]);
        assert_eq!(
            store
                .mark_not_duplicates(&[(b, a), (a, c), (a, a)], 5)
                .unwrap(),
            2
        );
        assert_eq!(
            store.mark_not_duplicates(&[(a, b)], 6).unwrap(),
            0,
            "already marked"
        );
        let marked = store.not_duplicates().unwrap();
        assert_eq!(marked, HashSet::from([(a, b), (a, c)]));
        assert_eq!(store.unmark_not_duplicates(&[(c, a), (b, c)]).unwrap(), 1);
        assert_eq!(store.not_duplicates().unwrap(), HashSet::from([(a, b)]));
    }
}
