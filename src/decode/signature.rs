//! Pixel signatures: a small summary of an image's pixels that tells whether two images are
//! the same picture (a re-encode, a resize, a small crop, a small tone change) or two
//! pictures of one style (another palette, other parameters).
//!
//! For each of [`SCALES`] (the whole image, then its centre 92 % and 84 %), the region is
//! box-filtered to a [`GRID`]² RGB image (alpha composited onto the decode background),
//! turned into YCbCr (ITU-R BT.601), and pooled into [`CELLS`]² cells of four maps: mean
//! luminance Y, mean chroma Cb and Cr, and mean gradient energy |∂Y/∂x| + |∂Y/∂y| (central
//! differences on the grid). The gradient map keeps the structure of fine textures (stripes,
//! rings) whose cell means are flat, without depending on their phase, which any resampling
//! moves.
//!
//! [`compare`] aligns the whole of one image with the whole or a centre crop of the other and
//! takes the best alignment by the normalised cross-correlation (NCC, Pearson's r) of the Y
//! and gradient maps, each with its mean removed, so a global gain and offset do not count.
//! [`same_picture`] then asks for a high NCC, close chroma, and a small tone change. The
//! thresholds were chosen on `bench/make_dup_set.py` (see BENCHMARKS.md): copies scored
//! NCC ≥ 0.85 and chroma RMS ≤ 5.3, distinct same-style pictures NCC ≤ 0.88 where their chroma
//! was close, and chroma RMS ≥ 15 where their structure matched.

use fast_image_resize as fir;
use image::DynamicImage;

/// Side of the box-filtered working grid, in pixels.
pub const GRID: usize = 128;

/// Cells per side of each map.
pub const CELLS: usize = 16;

/// The centre fractions (of each side) a signature summarises: the whole image, and two centre
/// crops, so a copy cropped to its centre 92 % aligns with one of them.
pub const SCALES: [f64; 3] = [1.0, 0.92, 0.84];

/// Maps per scale: Y, Cb, Cr, gradient energy.
const MAPS: usize = 4;

/// Bytes of one scale's maps.
const SCALE_BYTES: usize = MAPS * CELLS * CELLS;

/// The layout version, the first byte of every signature.
const VERSION: u8 = 1;

/// Length of a signature in bytes: a version byte, then per scale the four maps of
/// [`CELLS`]² bytes (Y; Cb + 128; Cr + 128; gradient energy × 4, clamped to 255).
pub const SIGNATURE_BYTES: usize = 1 + SCALES.len() * SCALE_BYTES;

/// Lowest NCC of the Y and gradient maps for the same picture.
pub const MIN_STRUCTURE: f32 = 0.90;

/// Highest RMS difference of the chroma maps (Cb, Cr in 0..255 units) for the same picture.
pub const MAX_CHROMA: f32 = 8.0;

/// Highest difference of mean luminance (0..255 units) for the same picture: about 10 %.
pub const MAX_TONE: f32 = 25.0;

/// The signature of an upright decoded image, [`SIGNATURE_BYTES`] long. Transparent pixels
/// are composited onto `background`.
pub fn signature(img: &DynamicImage, background: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIGNATURE_BYTES);
    out.push(VERSION);
    for fraction in SCALES {
        let g = GRID as u32;
        let rgb = super::resize_with(
            img,
            g,
            g,
            background,
            super::Fit::Stretch,
            fir::ResizeAlg::Convolution(fir::FilterType::Box),
            fraction,
        );
        out.extend(maps(rgb.as_raw()));
    }
    out
}

/// The four pooled maps of a [`GRID`]² RGB buffer, quantised as [`SIGNATURE_BYTES`] says.
fn maps(rgb: &[u8]) -> Vec<u8> {
    let n = GRID * GRID;
    let (mut y, mut cb, mut cr) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let (r, g, b) = (f32::from(px[0]), f32::from(px[1]), f32::from(px[2]));
        y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
        cb[i] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
        cr[i] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    }
    // Central differences inside, one-sided at the borders (as numpy.gradient).
    let diff = |at: &dyn Fn(usize) -> f32, i: usize| -> f32 {
        match i {
            0 => at(1) - at(0),
            i if i == GRID - 1 => at(i) - at(i - 1),
            i => (at(i + 1) - at(i - 1)) / 2.0,
        }
    };
    let mut energy = vec![0f32; n];
    for r in 0..GRID {
        for c in 0..GRID {
            let dx = diff(&|k| y[r * GRID + k], c);
            let dy = diff(&|k| y[k * GRID + c], r);
            energy[r * GRID + c] = dx.abs() + dy.abs();
        }
    }
    let per = GRID / CELLS;
    let pool = |m: &[f32], scale: f32, offset: f32| -> Vec<u8> {
        let mut cells = vec![0f32; CELLS * CELLS];
        for r in 0..GRID {
            for c in 0..GRID {
                cells[(r / per) * CELLS + c / per] += m[r * GRID + c];
            }
        }
        let area = (per * per) as f32;
        cells
            .iter()
            .map(|v| (v / area * scale + offset).round().clamp(0.0, 255.0) as u8)
            .collect()
    };
    let mut out = pool(&y, 1.0, 0.0);
    out.extend(pool(&cb, 1.0, 128.0));
    out.extend(pool(&cr, 1.0, 128.0));
    out.extend(pool(&energy, 4.0, 0.0));
    out
}

/// How alike two images' pixels are at their best alignment (see the module's text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Likeness {
    /// NCC of the luminance and gradient maps, −1..=1 (0 where either is flat: nothing to
    /// confirm).
    pub structure: f32,
    /// RMS difference of the chroma maps, in 0..255 units.
    pub chroma: f32,
    /// Difference of mean luminance, in 0..255 units.
    pub tone: f32,
}

impl Likeness {
    /// Whether this is the same picture: [`MIN_STRUCTURE`], [`MAX_CHROMA`], [`MAX_TONE`].
    pub fn same_picture(&self) -> bool {
        self.structure >= MIN_STRUCTURE && self.chroma <= MAX_CHROMA && self.tone <= MAX_TONE
    }
}

/// Whether a byte string is a signature this version reads.
pub fn is_valid(sig: &[u8]) -> bool {
    sig.len() == SIGNATURE_BYTES && sig[0] == VERSION
}

/// The likeness of two signatures at the best of five alignments: whole to whole, and the
/// whole of each to the other's centre crops. `None` when either is not a valid signature.
pub fn compare(a: &[u8], b: &[u8]) -> Option<Likeness> {
    if !is_valid(a) || !is_valid(b) {
        return None;
    }
    fn scale(s: &[u8], k: usize) -> &[u8] {
        &s[1 + k * SCALE_BYTES..1 + (k + 1) * SCALE_BYTES]
    }
    let mut alignments = vec![(scale(a, 0), scale(b, 0))];
    for k in 1..SCALES.len() {
        alignments.push((scale(a, k), scale(b, 0)));
        alignments.push((scale(a, 0), scale(b, k)));
    }
    alignments
        .into_iter()
        .map(|(x, y)| likeness(x, y))
        .max_by(|p, q| {
            p.same_picture()
                .cmp(&q.same_picture())
                .then(p.structure.total_cmp(&q.structure))
        })
}

/// Whether two signatures show the same picture ([`compare`], then
/// [`Likeness::same_picture`]); `None` when either is missing or invalid.
pub fn same_picture(a: &[u8], b: &[u8]) -> Option<bool> {
    compare(a, b).map(|l| l.same_picture())
}

/// The likeness of one scale's maps of two images.
fn likeness(a: &[u8], b: &[u8]) -> Likeness {
    let m = CELLS * CELLS;
    let map = |s: &[u8], k: usize| -> Vec<f32> {
        s[k * m..(k + 1) * m]
            .iter()
            .map(|&v| f32::from(v))
            .collect()
    };
    let centred = |v: Vec<f32>| -> (Vec<f32>, f32) {
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| x - mean).collect(), mean)
    };
    // Y and energy (stored × 4, so back to Y's units) side by side, each mean-removed.
    let joint = |s: &[u8]| -> (Vec<f32>, f32) {
        let (mut y, mean) = centred(map(s, 0));
        let (e, _) = centred(map(s, 3));
        y.extend(e.iter().map(|v| v / 4.0));
        (y, mean)
    };
    let ((ja, ma), (jb, mb)) = (joint(a), joint(b));
    let dot = |p: &[f32], q: &[f32]| p.iter().zip(q).map(|(x, y)| x * y).sum::<f32>();
    let (aa, bb) = (dot(&ja, &ja), dot(&jb, &jb));
    // Maps flat to within a grey level on average have no structure to compare, and nothing
    // confirms them: two pictures of rings too fine for the cells are both flat here.
    let flat = |e: f32| e / ja.len() as f32 <= 1.0;
    let structure = if flat(aa) || flat(bb) {
        0.0
    } else {
        dot(&ja, &jb) / (aa * bb).sqrt()
    };
    let chroma = (1..3)
        .flat_map(|k| {
            let (p, q) = (map(a, k), map(b, k));
            p.into_iter().zip(q).map(|(x, y)| (x - y) * (x - y))
        })
        .sum::<f32>();
    Likeness {
        structure,
        chroma: (chroma / (2 * m) as f32).sqrt(),
        tone: (ma - mb).abs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// Rings around (cx, cy) at `freq` cycles per image, coloured from `a` to `b`.
    fn rings(side: u32, cx: f32, cy: f32, freq: f32, a: [f32; 3], b: [f32; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(side, side, |x, y| {
            let (u, v) = (x as f32 / side as f32 - cx, y as f32 / side as f32 - cy);
            let t = 0.5 + 0.5 * ((u * u + v * v).sqrt() * freq * std::f32::consts::TAU).sin();
            Rgb(std::array::from_fn(|c| (a[c] + (b[c] - a[c]) * t) as u8))
        }))
    }

    #[test]
    fn copies_match_and_siblings_do_not() {
        let (dark, light, red) = (
            [20.0, 40.0, 90.0],
            [230.0, 200.0, 60.0],
            [200.0, 30.0, 30.0],
        );
        let img = rings(256, 0.4, 0.55, 9.0, dark, light);
        let sig = signature(&img, [0; 3]);
        assert_eq!(sig.len(), SIGNATURE_BYTES);
        let small = img.resize_exact(64, 64, image::imageops::FilterType::Lanczos3);
        let cropped = img.crop_imm(10, 10, 236, 236);
        for (what, copy) in [("25 % size", small), ("92 % crop", cropped)] {
            let l = compare(&sig, &signature(&copy, [0; 3])).unwrap();
            assert!(l.same_picture(), "{what}: {l:?}");
        }
        let palette = rings(256, 0.4, 0.55, 9.0, dark, red);
        let params = rings(256, 0.6, 0.4, 13.0, dark, light);
        for (what, other) in [("other palette", palette), ("other parameters", params)] {
            let l = compare(&sig, &signature(&other, [0; 3])).unwrap();
            assert!(!l.same_picture(), "{what}: {l:?}");
        }
        assert_eq!(same_picture(&sig, &sig[1..]), None, "a short signature");
    }
}
