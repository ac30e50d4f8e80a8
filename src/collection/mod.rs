//! The vectors of one folder as one contiguous matrix, and the products every answer is made of.
//!
//! Below the store (which fills a [`Collection`]) and the analysis (which reads it): a
//! [`Collection`] is `len() × dim()` unit vectors, row-major; [`Quantized`] is its 8-bit copy
//! for approximate search; [`dot`] and [`matrix`] are the dot and matrix products.

pub mod matrix;
pub mod npy;

use std::path::PathBuf;

use rayon::prelude::*;

use matrix::Matrix;

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

/// Rows handled per task in the parallel loops.
const CHUNK: usize = 512;

/// The vectors of one folder under one feature id, as one contiguous row-major matrix.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// Each image's path, absolute, sorted.
    pub paths: Vec<PathBuf>,
    /// Each image's content hash.
    pub hashes: Vec<Hash>,
    /// `len() × dim()`, each row of unit length.
    pub vectors: Matrix,
    /// Length of each vector before normalising.
    pub norms: Vec<f32>,
    /// An 8-bit copy of `vectors` for fast approximate search, made on first use.
    pub quantized: std::sync::OnceLock<Quantized>,
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
        self.vectors.cols
    }

    /// The unit-length vector of image `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        self.vectors.row(i)
    }

    /// Vector `i` as the extractor gave it (unit vector × its stored length).
    pub fn raw(&self, i: usize) -> Vec<f32> {
        self.row(i).iter().map(|v| v * self.norms[i]).collect()
    }

    /// Appends an image: its path, content hash, unit vector and the length it had.
    pub fn push(&mut self, path: PathBuf, hash: Hash, unit: &[f32], norm: f32) {
        if self.is_empty() {
            self.vectors.cols = unit.len();
        }
        assert_eq!(unit.len(), self.dim(), "every vector has the same length");
        self.paths.push(path);
        self.hashes.push(hash);
        self.vectors.data.extend_from_slice(unit);
        self.vectors.rows += 1;
        self.norms.push(norm);
    }
}

/// The vectors in 8 bits: each row scaled so its largest component is ±127.
#[derive(Debug, Clone, Default)]
pub struct Quantized {
    dim: usize,
    scales: Vec<f32>,
    codes: Vec<i8>,
}

impl Quantized {
    /// The 8-bit copy of `c`'s vectors (a quarter of the bytes).
    pub fn new(c: &Collection) -> Quantized {
        let dim = c.dim();
        let mut codes = vec![0i8; c.len() * dim];
        let mut scales = vec![0f32; c.len()];
        codes
            .par_chunks_mut(dim.max(1))
            .zip(scales.par_iter_mut())
            .enumerate()
            .for_each(|(i, (out, scale))| *scale = quantize(c.row(i), out));
        Quantized { dim, scales, codes }
    }

    /// Approximate cosine similarity of `query` with every row.
    pub fn similarities(&self, query: &[f32]) -> Vec<f32> {
        let mut q = vec![0i8; self.dim];
        let q_scale = quantize(query, &mut q);
        let mut out = vec![0f32; self.scales.len()];
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(chunk, sims)| {
                let first = chunk * CHUNK;
                for (k, s) in sims.iter_mut().enumerate() {
                    let row = first + k;
                    let codes = &self.codes[row * self.dim..(row + 1) * self.dim];
                    *s = dot_i8(codes, &q) as f32 * self.scales[row] * q_scale;
                }
            });
        out
    }
}

/// Writes `v` as 8-bit codes and returns the scale that maps them back.
fn quantize(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let inverse = 1.0 / scale;
    for (o, x) in out.iter_mut().zip(v) {
        *o = (x * inverse).round_ties_even() as i8;
    }
    scale
}

fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // Sixteen independent sums of i16 products vectorise well.
    let mut acc = [0i32; 16];
    let (ac, bc) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(&x, &y)| x as i32 * y as i32)
        .sum();
    for (x, y) in ac.zip(bc) {
        for k in 0..16 {
            acc[k] += x[k] as i32 * y[k] as i32;
        }
    }
    acc.iter().sum::<i32>() + tail
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
