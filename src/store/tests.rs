//! Unit tests of the store.

use super::*;

/// A unit vector in 6 dimensions, different for each `seed`.
fn unit(seed: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..6).map(|j| ((seed * 7 + j) as f32).sin()).collect();
    crate::features::l2_normalize(&mut v);
    v
}

fn update(path: &str, content: usize) -> FileUpdate {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&(content as u64).to_le_bytes());
    FileUpdate {
        file: FileEntry {
            path: path.into(),
            size: 1,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            dev: 0,
        },
        read_ns: 0,
        hash,
        vector: Some((unit(content), 2.0)),
        thumbnail: None,
        signature: None,
        facets: Vec::new(),
    }
}

/// A record trusts a file only while every stat field matches and the file had settled
/// (mtime and ctime older than the read by the racy margin) when it was read.
#[test]
fn a_record_describes_only_a_settled_unchanged_file() {
    let s = 1_000_000_000i64;
    let file = FileEntry {
        path: "/a/x.png".into(),
        size: 10,
        mtime_ns: 100 * s,
        ctime_ns: 100 * s + 5,
        ino: 7,
        dev: 3,
    };
    let record = |read_ns| FileRecord {
        size: 10,
        mtime_ns: 100 * s,
        ctime_ns: 100 * s + 5,
        ino: 7,
        dev: 3,
        read_ns,
        hash: [0; 32],
    };
    assert!(record(110 * s).describes(&file));
    // Read within the margin of the last change (or never, as migrated rows): racy.
    assert!(!record(101 * s).describes(&file));
    assert!(!record(100 * s + 5).describes(&file));
    assert!(!record(0).describes(&file));
    // Any one field changed: not the same file.
    let changed = [
        FileEntry {
            size: 11,
            ..file.clone()
        },
        FileEntry {
            mtime_ns: 99 * s,
            ..file.clone()
        },
        FileEntry {
            ctime_ns: 100 * s + 6,
            ..file.clone()
        },
        FileEntry {
            ino: 8,
            ..file.clone()
        },
        FileEntry {
            dev: 4,
            ..file.clone()
        },
    ];
    for other in &changed {
        assert!(!record(110 * s).describes(other), "{other:?}");
    }
}

/// A version-2 store (files keyed by size and mtime only) is migrated when opened: its
/// rows are kept, and each is verified by hashing once (never trusted unread).
#[test]
fn a_version_2_store_is_migrated_and_its_rows_verified_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
             CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER NOT NULL,
                 mtime_ns INTEGER NOT NULL, hash BLOB NOT NULL) WITHOUT ROWID;
             INSERT INTO meta VALUES ('schema', 2);
             INSERT INTO files VALUES (CAST('/a/x.png' AS BLOB), 10, 5, zeroblob(32));",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let rows = store.files_under(Path::new("/a")).unwrap();
    assert_eq!(rows.len(), 1);
    let (file, row) = &rows[0];
    assert_eq!(file, Path::new("/a/x.png"));
    assert_eq!((row.size, row.mtime_ns, row.read_ns), (10, 5, 0));
    let file = FileEntry {
        path: "/a/x.png".into(),
        size: 10,
        mtime_ns: 5,
        ctime_ns: 0,
        ino: 0,
        dev: 0,
    };
    assert!(!row.describes(&file));
    // It gains the thumbnails table, empty.
    assert_eq!(store.thumbnail_count().unwrap(), (0, 0));
    assert_eq!(store.missing_thumbnails(&[[0; 32]]).unwrap(), [[0; 32]]);
    drop(store);
    // Opening again finds version 3 and changes nothing.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.files_under(Path::new("/a")).unwrap().len(), 1);
}

#[test]
fn zero_and_non_finite_vectors_are_refused_at_write_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let bad = |vector: Vec<f32>, norm: f32| FileUpdate {
        vector: Some((vector, norm)),
        ..update("/a/bad.png", 9)
    };
    let mut nan = unit(1);
    nan[2] = f32::NAN;
    for (u, says) in [
        (bad(vec![0.0; 6], 0.0), "all zero"),
        (bad(nan, 1.0), "NaN"),
        (bad(vec![0.5; 6], 1.0), "length"),
        (bad(unit(1), f32::INFINITY), "original length"),
    ] {
        // In a batch with a good update: the whole batch is refused, nothing lands.
        let err = store
            .write("f", &[update("/a/good.png", 1), u])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("refusing to store the f vector of /a/bad.png"),
            "{err}"
        );
        assert!(err.contains(says), "{err}");
        assert_eq!(store.vector_count("f").unwrap(), 0);
        assert!(store.files_under(Path::new("/a")).unwrap().is_empty());
    }
    store.write("f", &[update("/a/good.png", 1)]).unwrap();
    assert_eq!(store.vector_count("f").unwrap(), 1);
    // A facet's vector is checked the same way, and stored under its own feature id.
    let facet = |v: Vec<f32>, norm| FileUpdate {
        facets: vec![("g".to_owned(), v, norm)],
        ..update("/a/faceted.png", 2)
    };
    let err = store.write("f", &[facet(vec![0.5; 6], 1.0)]).unwrap_err();
    assert!(
        err.to_string().contains("the g vector of /a/faceted.png"),
        "{err}"
    );
    store.write("f", &[facet(unit(3), 1.0)]).unwrap();
    assert_eq!(store.vector_count("f").unwrap(), 2);
    assert_eq!(store.vector_count("g").unwrap(), 1);
}

/// Thumbnails are written once per content, only as JPEGs, and go when their content's
/// last vector does.
#[test]
fn thumbnails_are_kept_once_per_content_and_collected_with_the_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let jpeg = |w, h| crate::decode::thumbnail::encode_thumbnail(&image::RgbImage::new(w, h));
    let with = |path, content, t| FileUpdate {
        thumbnail: Some(t),
        ..update(path, content)
    };
    let junk = with("/a/junk.png", 5, b"not a jpeg".to_vec());
    assert!(store.write("f", &[update("/a/x.png", 5), junk]).is_err());
    assert_eq!(store.vector_count("f").unwrap(), 0);
    store
        .write(
            "f",
            &[with("/a/x.png", 1, jpeg(10, 20)), update("/a/y.png", 2)],
        )
        .unwrap();
    // A second thumbnail of the same content is not written over the first.
    store
        .write("g", &[with("/a/x.png", 1, jpeg(30, 30))])
        .unwrap();
    let h = |content: u64| {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&content.to_le_bytes());
        hash
    };
    assert_eq!(store.thumbnail(&h(1)).unwrap(), Some(jpeg(10, 20)));
    assert_eq!(store.missing_thumbnails(&[h(1), h(2)]).unwrap(), [h(2)]);
    store.put_thumbnails(&[(h(2), jpeg(4, 4))]).unwrap();
    assert!(store.put_thumbnails(&[(h(3), vec![1, 2, 3])]).is_err());
    assert_eq!(store.thumbnail_count().unwrap().0, 2);
    store.remove_files(&["/a/x.png".into()]).unwrap();
    store.collect_garbage().unwrap();
    assert_eq!(store.thumbnail(&h(1)).unwrap(), None);
    assert!(store.thumbnail(&h(2)).unwrap().is_some());
}

#[test]
fn collections_are_the_same_whether_scanned_or_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    // Folder /a: 12 files, two of them with one content; /b: 60 files. Reading /a looks
    // vectors up one by one (it holds under a quarter of the store), /b scans them all.
    let mut batch: Vec<FileUpdate> = (0..12)
        .map(|i| update(&format!("/a/{i:02}.png"), if i == 7 { 3 } else { i }))
        .collect();
    batch.extend((0..60).map(|i| update(&format!("/b/{i:02}.png"), 100 + i)));
    batch.reverse(); // stored out of path order
    store.write("f", &batch).unwrap();
    store.write("other", &[update("/a/00.png", 0)]).unwrap();
    for (root, first, n) in [("/a", 0, 12), ("/b", 100, 60)] {
        let c = store.collection(Path::new(root), "f").unwrap();
        assert_eq!(c.len(), n);
        for i in 0..n {
            assert_eq!(c.paths[i], PathBuf::from(format!("{root}/{i:02}.png")));
            let content = if root == "/a" && i == 7 { 3 } else { first + i };
            // Kept in half precision: the stored f32 within f16's rounding.
            let (row, stored) = (c.row(i), unit(content));
            assert_eq!(row.len(), stored.len());
            for (a, b) in row.iter().zip(&stored) {
                assert!(
                    (a - b).abs() < 1e-3,
                    "{root} row {i}: {row:?} against {stored:?}"
                );
            }
            assert_eq!(c.norms[i], 2.0);
        }
    }
    // A file without a vector of the feature is left out.
    let c = store.collection(Path::new("/a"), "other").unwrap();
    assert_eq!(c.paths, [PathBuf::from("/a/00.png")]);
}
