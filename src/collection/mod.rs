//! The vectors of one folder as one contiguous matrix, and the products every answer is made of.
//!
//! Below the store (which fills a [`Collection`]) and the analysis (which reads it): a
//! [`Collection`] is `len() × dim()` unit vectors, row-major, in half precision
//! ([`Vectors`]); [`ivf::Ivf`] is its index for approximate search; [`dot`] and [`matrix`]
//! are the dot and matrix products.

pub mod ivf;
pub mod matrix;
pub mod npy;
pub mod vectors;

pub use vectors::{Precision, Vectors};

use std::path::PathBuf;

/// A blake3 content hash.
pub type Hash = [u8; 32];

/// `bytes` (a content hash) as lowercase hexadecimal, as saved clusterings and edits name
/// images and as the store reports them.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A content hash in lowercase hex, as [`hex`] writes it, on the stack: for looking up
/// maps keyed by hex hashes a million times without allocating each key.
pub struct HexHash([u8; 64]);

impl HexHash {
    /// The hex digits of `hash`.
    pub fn of(hash: &Hash) -> HexHash {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(hash) {
            pair[0] = DIGITS[(b >> 4) as usize];
            pair[1] = DIGITS[(b & 15) as usize];
        }
        HexHash(out)
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// A content hash as a map key that is written as lowercase hex (as [`hex`] gives it) and
/// read back from it: saved clusterings key their members so in JSON, while a warm start
/// looks up a million of them by the 32 bytes, without making a string for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HashKey(pub Hash);

impl serde::Serialize for HashKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(HexHash::of(&self.0).as_str())
    }
}

impl<'de> serde::Deserialize<'de> for HashKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<HashKey, D::Error> {
        struct Hex;
        impl serde::de::Visitor<'_> for Hex {
            type Value = HashKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a content hash in 64 hex digits")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HashKey, E> {
                parse_hex(v.as_bytes())
                    .map(HashKey)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Hex)
    }
}

/// The 32 bytes that 64 hex digits (either case) write; `None` for anything else.
fn parse_hex(digits: &[u8]) -> Option<Hash> {
    // 0..=15 for a hex digit, 255 for any other byte.
    const VALUE: [u8; 256] = {
        let mut t = [255u8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    };
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (h, l) = (VALUE[pair[0] as usize], VALUE[pair[1] as usize]);
        bad |= (h | l) & 0xf0;
        *o = h << 4 | (l & 15);
    }
    (bad == 0).then_some(out)
}

/// The vectors of one folder under one feature id, as one contiguous row-major matrix.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// Each image's path, absolute, sorted.
    pub paths: Vec<PathBuf>,
    /// Each image's content hash.
    pub hashes: Vec<Hash>,
    /// `len() × dim()`, each row of unit length, in half precision.
    pub vectors: Vectors,
    /// Length of each vector before normalising.
    pub norms: Vec<f32>,
    /// The approximate-search index of `vectors`, once made or loaded (large collections:
    /// see `analysis::neighbours`).
    pub index: std::sync::OnceLock<ivf::Ivf>,
}

impl Collection {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Length of each vector.
    pub fn dim(&self) -> usize {
        self.vectors.cols()
    }

    /// The unit-length vector of image `i`, widened to f32 (a new vector: loops over every
    /// image use [`Vectors::dot`] or [`Vectors::row_into`]).
    pub fn row(&self, i: usize) -> Vec<f32> {
        self.vectors.row(i)
    }

    /// Vector `i` as the extractor gave it (unit vector × its stored length).
    pub fn raw(&self, i: usize) -> Vec<f32> {
        self.row(i).iter().map(|v| v * self.norms[i]).collect()
    }

    /// Appends an image: its path, content hash, unit vector and the length it had.
    pub fn push(&mut self, path: PathBuf, hash: Hash, unit: &[f32], norm: f32) {
        if !self.is_empty() {
            assert_eq!(unit.len(), self.dim(), "every vector has the same length");
        }
        self.paths.push(path);
        self.hashes.push(hash);
        self.vectors.push(unit);
        self.norms.push(norm);
    }
}

/// The dot product of two vectors of the same length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent sums let the compiler vectorise without fast-math.
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_key_is_written_as_hex_and_read_back() {
        let mut hash = [0u8; 32];
        hash.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (i * 37) as u8);
        let json = serde_json::to_string(&HashKey(hash)).unwrap();
        assert_eq!(json, format!("\"{}\"", hex(&hash)));
        let back: HashKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, HashKey(hash));
        assert_eq!(parse_hex(hex(&hash).to_uppercase().as_bytes()), Some(hash));
        for bad in ["\"00\"", &json.replace('a', "g"), &json.replace('0', " ")] {
            assert!(serde_json::from_str::<HashKey>(bad).is_err(), "{bad}");
        }
    }
}
