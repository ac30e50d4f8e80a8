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
//! [`Likeness::agrees`] then asks for a high NCC, close chroma, and a small tone change. The
//! thresholds were chosen on `bench/make_dup_set.py` (see BENCHMARKS.md): copies scored
//! NCC ≥ 0.85 and chroma RMS ≤ 5.3, distinct same-style pictures NCC ≤ 0.88 where their chroma
//! was close, and chroma RMS ≥ 15 where their structure matched.
//!
//! Sixteen cells a side cannot tell two photos of one kind of thing apart (two sneakers of
//! Fashion-MNIST reach an NCC of 0.98), so a pair the signatures pass is looked at once more,
//! finer, on the stored thumbnails: [`fine_map`] resamples each, at the alignment the
//! signatures chose (at each of [`ALIGNMENTS`] when the signatures are flat), to [`FINE`]²
//! pixels of Y, Cb and Cr (a triangle filter over a sub-pixel crop box), and
//! [`fine_difference`] maps the first's luminance onto the second's values by rank (a tone
//! change, even one that clips, is not a difference) and moves its chroma by the difference of
//! the means (a colour cast is not a difference; a shape recoloured on flat-colour art is:
//! ranks would map one flat colour onto any other), and takes the largest mean absolute
//! residual over [`FINE_BLOCK`]² blocks (maps are kept as bytes with their histograms, so a
//! pair costs no sort). A copy differs everywhere a little; another picture differs somewhere
//! a lot. Measured with `bench/fine_check.py` (a numpy model of both steps): copies of
//! `bench/make_dup_set.py` scored at most 8.9 (a 92 % crop; +8 % brightness 7.0, re-encodes
//! and resizes at most 4.4), distinct Fashion-MNIST photos that the signatures passed 53 and
//! more, and a drawn room with a small bird added 18, a cup recoloured 24 and a sign's text
//! changed 12, hence [`MAX_FINE_DIFFERENCE`].

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

/// The alignments [`compare`] tries, as (fraction of the first, fraction of the second): whole
/// to whole, and the whole of each to the other's centre crops.
pub const ALIGNMENTS: [(f64, f64); 5] = [
    (1.0, 1.0),
    (SCALES[1], 1.0),
    (1.0, SCALES[1]),
    (SCALES[2], 1.0),
    (1.0, SCALES[2]),
];

/// Side of the maps [`fine_map`] makes, in pixels.
pub const FINE: u32 = 64;

/// Side of the blocks [`fine_difference`] averages the residual over, in pixels: a 16th of
/// the picture's side, so a small object added or recoloured stands out of its block.
pub const FINE_BLOCK: usize = 4;

/// Highest [`fine_difference`] of the same picture, in 0..255 units.
pub const MAX_FINE_DIFFERENCE: f32 = 10.0;

/// A channel whose standard deviation is under this (0..255 units) is flat, and a map flat in
/// every channel confirms nothing.
const FLAT_STD: f32 = 2.0;

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
    let per = GRID / CELLS;
    let cell = |r: usize, c: usize| (r / per) * CELLS + c / per;
    // Cell sums of R, G, B (Y, Cb and Cr are linear in them, so their cell means follow),
    // and each pixel's Y for the gradient.
    let mut sums = vec![[0f32; 3]; CELLS * CELLS];
    let mut y = vec![0f32; GRID * GRID];
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        let [r, g, b] = [px[0], px[1], px[2]].map(f32::from);
        let s = &mut sums[cell(i / GRID, i % GRID)];
        s[0] += r;
        s[1] += g;
        s[2] += b;
        y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
    // |∂Y/∂x| + |∂Y/∂y|: central differences inside, one-sided at the borders (as
    // numpy.gradient).
    let diff = |prev: f32, next: f32, i: usize| {
        if i == 0 || i == GRID - 1 {
            next - prev
        } else {
            (next - prev) / 2.0
        }
    };
    let mut energy = vec![0f32; CELLS * CELLS];
    for r in 0..GRID {
        let (up, down) = (r.saturating_sub(1), (r + 1).min(GRID - 1));
        for c in 0..GRID {
            let (left, right) = (c.saturating_sub(1), (c + 1).min(GRID - 1));
            let dx = diff(y[r * GRID + left], y[r * GRID + right], c);
            let dy = diff(y[up * GRID + c], y[down * GRID + c], r);
            energy[cell(r, c)] += dx.abs() + dy.abs();
        }
    }
    let area = (per * per) as f32;
    let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    let mean = |s: &[f32; 3], w: [f32; 3]| (w[0] * s[0] + w[1] * s[1] + w[2] * s[2]) / area;
    let mut out = Vec::with_capacity(SCALE_BYTES);
    out.extend(sums.iter().map(|s| byte(mean(s, [0.299, 0.587, 0.114]))));
    out.extend(
        sums.iter()
            .map(|s| byte(mean(s, [-0.168_736, -0.331_264, 0.5]) + 128.0)),
    );
    out.extend(
        sums.iter()
            .map(|s| byte(mean(s, [0.5, -0.418_688, -0.081_312]) + 128.0)),
    );
    out.extend(energy.iter().map(|e| byte(e / area * 4.0)));
    out
}

/// How alike two images' pixels are at their best alignment (see the module's text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Likeness {
    /// NCC of the luminance and gradient maps, −1..=1 (0 where either is flat).
    pub structure: f32,
    /// Both images' luminance and gradient maps are flat (within a grey level on average):
    /// their structure is finer than the cells, or in colour alone, and only the fine check
    /// can judge it.
    pub flat: bool,
    /// RMS difference of the chroma maps, in 0..255 units.
    pub chroma: f32,
    /// Difference of mean luminance, in 0..255 units.
    pub tone: f32,
    /// The centre fractions of each image ([`SCALES`]) that were aligned: one of
    /// [`ALIGNMENTS`] (any of them when the maps are [`flat`](Self::flat)).
    pub fractions: (f64, f64),
}

impl Likeness {
    /// Whether the signatures agree that this may be the same picture: the structure
    /// correlates ([`MIN_STRUCTURE`]; or both are [`flat`](Self::flat)), the chroma is close
    /// ([`MAX_CHROMA`]) and the tone too ([`MAX_TONE`]). Pictures the signatures agree on
    /// are the same picture when their [`fine_difference`] is small as well.
    pub fn agrees(&self) -> bool {
        (self.structure >= MIN_STRUCTURE || self.flat)
            && self.chroma <= MAX_CHROMA
            && self.tone <= MAX_TONE
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
    let index = |fraction: f64| SCALES.iter().position(|&f| f == fraction).unwrap_or(0);
    ALIGNMENTS
        .into_iter()
        .map(|(x, y)| Likeness {
            fractions: (x, y),
            ..likeness(scale(a, index(x)), scale(b, index(y)))
        })
        .max_by(|p, q| {
            p.agrees()
                .cmp(&q.agrees())
                .then(p.structure.total_cmp(&q.structure))
        })
}

/// Whether two signatures agree ([`compare`], then [`Likeness::agrees`]); `None` when either
/// is invalid.
pub fn agree(a: &[u8], b: &[u8]) -> Option<bool> {
    compare(a, b).map(|l| l.agrees())
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
    // Maps flat to within a grey level on average have no structure to compare: two pictures
    // of rings too fine for the cells are both flat here.
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
        flat: flat(aa) && flat(bb),
        chroma: (chroma / (2 * m) as f32).sqrt(),
        tone: (ma - mb).abs(),
        fractions: (1.0, 1.0),
    }
}

/// A picture as the fine check reads it ([`fine_map`]): [`FINE`]² pixels of Y, Cb and Cr
/// (BT.601, rounded to 0..=255), and each plane's histogram, so that [`fine_difference`]
/// matches two maps' histograms without sorting.
#[derive(Debug, Clone)]
pub struct FineMap {
    /// Y, Cb and Cr planes, one after the other, each row-major.
    planes: Vec<u8>,
    /// Per plane, how many pixels have each value.
    histograms: [[u16; 256]; 3],
    /// Every plane's standard deviation is under [`FLAT_STD`].
    flat: bool,
}

/// The centre `fraction` (one of [`SCALES`]) of a picture, resampled to [`FINE`]² pixels.
pub fn fine_map(picture: &image::RgbImage, fraction: f64) -> FineMap {
    let img = DynamicImage::ImageRgb8(picture.clone());
    let rgb = super::resize_with(
        &img,
        FINE,
        FINE,
        [0; 3],
        super::Fit::Stretch,
        fir::ResizeAlg::Convolution(fir::FilterType::Bilinear),
        fraction,
    );
    let n = (FINE * FINE) as usize;
    let mut planes = vec![0u8; 3 * n];
    let byte = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    for (i, px) in rgb.pixels().enumerate() {
        let [r, g, b] = px.0.map(f32::from);
        planes[i] = byte(0.299 * r + 0.587 * g + 0.114 * b);
        planes[n + i] = byte(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
        planes[2 * n + i] = byte(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
    }
    let mut histograms = [[0u16; 256]; 3];
    let mut flat = true;
    for (plane, histogram) in planes.chunks(n).zip(&mut histograms) {
        for &v in plane {
            histogram[usize::from(v)] += 1;
        }
        let mean = plane.iter().map(|&v| f32::from(v)).sum::<f32>() / n as f32;
        let var = plane
            .iter()
            .map(|&v| (f32::from(v) - mean).powi(2))
            .sum::<f32>()
            / n as f32;
        flat &= var.sqrt() < FLAT_STD;
    }
    FineMap {
        planes,
        histograms,
        flat,
    }
}

/// The histogram matching of `from` onto `to` (both of [`FINE`]² pixels): for each value of
/// `from`, the mean of the values `to` has at the ranks that value holds in `from`'s order
/// (the k-th lowest pixel of one takes the k-th lowest value of the other; pixels of one
/// value share the mean of theirs).
fn matching(from: &[u16; 256], to: &[u16; 256]) -> [f32; 256] {
    let mut out = [0f32; 256];
    // Walks `to`'s values in order: `level` is the value at rank `rank`, `left` how many
    // pixels of that value are still unused.
    let (mut level, mut left) = (0usize, u32::from(to[0]));
    for (value, &count) in from.iter().enumerate() {
        let (mut need, mut sum) = (u32::from(count), 0f32);
        if need == 0 {
            continue;
        }
        let share = need as f32;
        while need > 0 {
            while left == 0 {
                level += 1;
                left = u32::from(to[level]);
            }
            let take = need.min(left);
            sum += take as f32 * level as f32;
            (need, left) = (need - take, left - take);
        }
        out[value] = sum / share;
    }
    out
}

/// Each value of a plane moved by the difference of the two planes' means (histograms of
/// [`FINE`]² pixels each).
fn shifted(from: &[u16; 256], to: &[u16; 256]) -> [f32; 256] {
    let mean = |h: &[u16; 256]| {
        let sum: f64 = h
            .iter()
            .enumerate()
            .map(|(v, &n)| v as f64 * f64::from(n))
            .sum();
        sum / f64::from(FINE * FINE)
    };
    let shift = (mean(to) - mean(from)) as f32;
    std::array::from_fn(|v| v as f32 + shift)
}

/// How far apart two [`FineMap`]s are, in 0..255 units: the first's luminance is mapped
/// onto the second's values by rank (histogram matching, [`matching`]: any global monotone
/// tone change, clipping included, is not a difference), its chroma moved by the difference
/// of the means (a global colour cast is not a difference, a shape recoloured is), and the
/// largest mean absolute
/// residual of any [`FINE_BLOCK`]² block of any channel is returned. `None` when either map
/// is flat in every channel: nothing to confirm.
pub fn fine_difference(a: &FineMap, b: &FineMap) -> Option<f32> {
    if a.flat || b.flat {
        return None;
    }
    let n = (FINE * FINE) as usize;
    let side = FINE as usize;
    let blocks = side / FINE_BLOCK;
    let mut worst = 0f32;
    let mut sums = vec![0f32; blocks * blocks];
    for c in 0..3 {
        // Luminance by rank: any tone curve. Chroma by a global shift only (a white balance):
        // rank matching would also take a recoloured shape for the same picture, as flat
        // colours map onto any others of the same order.
        let to = match c {
            0 => matching(&a.histograms[c], &b.histograms[c]),
            _ => shifted(&a.histograms[c], &b.histograms[c]),
        };
        let plane = c * n..(c + 1) * n;
        sums.fill(0.0);
        for (i, (&p, &q)) in a.planes[plane.clone()]
            .iter()
            .zip(&b.planes[plane])
            .enumerate()
        {
            let (r, col) = (i / side, i % side);
            sums[(r / FINE_BLOCK) * blocks + col / FINE_BLOCK] +=
                (f32::from(q) - to[usize::from(p)]).abs();
        }
        let area = (FINE_BLOCK * FINE_BLOCK) as f32;
        worst = sums.iter().fold(worst, |w, s| w.max(s / area));
    }
    Some(worst)
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
            assert!(l.agrees(), "{what}: {l:?}");
        }
        let palette = rings(256, 0.4, 0.55, 9.0, dark, red);
        let params = rings(256, 0.6, 0.4, 13.0, dark, light);
        for (what, other) in [("other palette", palette), ("other parameters", params)] {
            let l = compare(&sig, &signature(&other, [0; 3])).unwrap();
            assert!(!l.agrees(), "{what}: {l:?}");
        }
        assert_eq!(agree(&sig, &sig[1..]), None, "a short signature");
    }

    /// The fine map of a picture as the store keeps it: a thumbnail, re-encoded as JPEG.
    fn stored(img: &DynamicImage, fraction: f64) -> FineMap {
        let t = crate::decode::thumbnail::make_thumbnail(img);
        let jpeg = crate::decode::thumbnail::encode_thumbnail(&t);
        fine_map(
            &crate::decode::thumbnail::decode_thumbnail(&jpeg).unwrap(),
            fraction,
        )
    }

    #[test]
    fn a_shape_recoloured_on_a_flat_background_is_another_picture_and_a_colour_cast_is_not() {
        let disc = |fill: [u8; 3], background: [u8; 3]| {
            DynamicImage::ImageRgb8(RgbImage::from_fn(256, 256, |x, y| {
                let (dx, dy) = (x as f32 - 128.0, y as f32 - 128.0);
                Rgb(if dx * dx + dy * dy < 70.0 * 70.0 {
                    fill
                } else {
                    background
                })
            }))
        };
        let navy = [20, 20, 40];
        let amber = disc([229, 161, 29], navy);
        let difference = |other: &DynamicImage| {
            fine_difference(&stored(&amber, 1.0), &stored(other, 1.0)).unwrap()
        };
        // Yellow and red-orange discs: ranks alone would map one flat colour onto the other.
        for fill in [[229, 197, 29], [229, 89, 29]] {
            let d = difference(&disc(fill, navy));
            assert!(d > MAX_FINE_DIFFERENCE, "{fill:?}: {d}");
        }
        // A colour cast over the whole picture, and a brighter copy, are the same picture.
        let cast = |c: [u8; 3]| [c[0].saturating_add(6), c[1], c[2].saturating_sub(6)];
        let d = difference(&disc(cast([229, 161, 29]), cast(navy)));
        assert!(d <= MAX_FINE_DIFFERENCE, "a colour cast: {d}");
        let brighter = |c: [u8; 3]| c.map(|v| (f32::from(v) * 1.08).min(255.0) as u8);
        let d = difference(&disc(brighter([229, 161, 29]), brighter(navy)));
        assert!(d <= MAX_FINE_DIFFERENCE, "8 % brighter: {d}");
    }

    #[test]
    fn the_fine_check_passes_copies_and_parts_a_picture_changed_in_one_place() {
        let img = rings(
            256,
            0.4,
            0.55,
            5.0,
            [20.0, 40.0, 90.0],
            [230.0, 200.0, 60.0],
        );
        let original = stored(&img, 1.0);
        let brighter = DynamicImage::ImageRgb8(RgbImage::from_fn(256, 256, |x, y| {
            let Rgb(p) = *img.as_rgb8().unwrap().get_pixel(x, y);
            Rgb(p.map(|v| (f32::from(v) * 1.08).min(255.0) as u8))
        }));
        let copies = [
            (
                "25 % size",
                stored(
                    &img.resize_exact(64, 64, image::imageops::FilterType::Lanczos3),
                    1.0,
                ),
            ),
            (
                "92 % crop",
                fine_map(&img.crop_imm(10, 10, 236, 236).to_rgb8(), 1.0),
            ),
            ("8 % brighter", stored(&brighter, 1.0)),
        ];
        for (what, copy) in copies {
            let original = if what == "92 % crop" {
                stored(&img, 236.0 / 256.0)
            } else {
                original.clone()
            };
            let d = fine_difference(&original, &copy).unwrap();
            assert!(d <= MAX_FINE_DIFFERENCE, "{what}: {d}");
        }
        // Another photo of the same scene: one corner holds something else.
        let mut changed = img.to_rgb8();
        for (x, y, p) in changed.enumerate_pixels_mut() {
            if x < 40 && y < 40 {
                *p = Rgb([240, 240, 240]);
            }
        }
        let changed = DynamicImage::ImageRgb8(changed);
        let l = compare(&signature(&img, [0; 3]), &signature(&changed, [0; 3])).unwrap();
        assert!(l.agrees(), "the signatures cannot see it: {l:?}");
        let d = fine_difference(&original, &stored(&changed, 1.0)).unwrap();
        assert!(d > MAX_FINE_DIFFERENCE, "the fine check does: {d}");
        // A small object added (a 25th of the side): another picture too.
        let mut added = img.to_rgb8();
        for (x, y, p) in added.enumerate_pixels_mut() {
            if (120..130).contains(&x) && (60..68).contains(&y) {
                *p = Rgb([250, 20, 20]);
            }
        }
        let d = fine_difference(&original, &stored(&DynamicImage::ImageRgb8(added), 1.0)).unwrap();
        assert!(d > MAX_FINE_DIFFERENCE, "a small object added: {d}");
        // Rings in two colours of one luminance: flat to the signatures, seen by the fine check.
        let (purple, green) = ([140.0, 110.0, 230.0], [110.0, 160.0, 40.0]);
        let art = rings(256, 0.5, 0.5, 12.0, purple, green);
        let (sig, half) = (
            signature(&art, [0; 3]),
            art.resize_exact(128, 128, image::imageops::FilterType::Triangle),
        );
        let l = compare(&sig, &signature(&half, [0; 3])).unwrap();
        assert!(l.flat && l.agrees(), "{l:?}");
        let d = fine_difference(&stored(&art, 1.0), &stored(&half, 1.0)).unwrap();
        assert!(d <= MAX_FINE_DIFFERENCE, "an isoluminant copy: {d}");
        let other = rings(256, 0.3, 0.6, 15.0, purple, green);
        let d = fine_difference(&stored(&art, 1.0), &stored(&other, 1.0)).unwrap();
        assert!(d > MAX_FINE_DIFFERENCE, "another isoluminant picture: {d}");
        let grey = DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 64, Rgb([90, 90, 90])));
        assert_eq!(
            fine_difference(&original, &stored(&grey, 1.0)),
            None,
            "flat"
        );
    }
}
