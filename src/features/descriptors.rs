//! Classic descriptors that need no model file: HOG, raw pixels, colour histograms and a
//! texture signature.
//! Each is fast, deterministic and versioned in its id, so a change of recipe never mixes
//! old and new vectors in the store.
//!
//! Every descriptor gives a non-zero vector for every image, flat ones included (a black scan,
//! a white background), so cosine distance is always defined: identical images are at 0.

use image::RgbImage;

use super::Extractor;

/// Histogram of oriented gradients (Dalal & Triggs) on a 64×64 grey image: 8×8-pixel cells,
/// 9 unsigned orientation bins with linear interpolation, 2×2-cell blocks with a one-cell
/// stride, L2-Hys normalised: 7 × 7 blocks × 36 = 1764 numbers, then one constant
/// ([`HOG_CONSTANT`]), 1765 in all.
///
/// The constant gives images without any gradient (flat ones, of any colour: HOG sees no
/// colour) one common direction instead of the zero vector; against the 49 unit-length
/// blocks of a textured image it weighs like one block. Id `hog-v2` (v1 had no constant).
pub struct Hog;

/// The image shrunk to 16×16 RGB (area averaging), centred on its own mean, so cosine
/// similarity is the correlation of the two thumbnails (768 numbers); then a small mean-colour
/// part: [`PIXELS_CONSTANT`] and the mean red, green and blue in 0..1, 772 numbers in all.
///
/// The centred part of a flat image is zero (of a flat grey, black or white one) or carries
/// only its hue; the mean-colour part keeps every vector non-zero and sets flat images of
/// different colours apart (black and white: 0.5 apart), while for a textured image (centred
/// part of length ≈ 7) it adds a few per cent. Id `pixels-v2` (v1 had no mean-colour part).
pub struct Pixels;

/// A joint HSV histogram of a 64×64 image: 8 hues × 4 saturations × 4 values, square-rooted
/// (cosine of square-rooted histograms is the Bhattacharyya coefficient). 128 numbers.
pub struct Colour;

/// Texture regardless of where it is and of colour: at three scales (the image at 64×64 grey,
/// then halved twice by 2×2 means), three histograms, each a distribution square-rooted (so
/// each has length 1 and cosine is the Bhattacharyya coefficient, as for [`Colour`]):
/// - local binary patterns, rotation-invariant and uniform (LBP^riu2, 8 neighbours at radius
///   1: Ojala, Pietikäinen & Mäenpää 2002), 10 bins;
/// - gradient orientations, 8 unsigned bins (0..π, linearly interpolated), weighted by
///   magnitude (all zero for a flat image);
/// - gradient magnitudes (centred differences of grey in 0..1), 6 bins with edges 0.005,
///   0.015, 0.04, 0.1, 0.25: how much edge, and how strong.
///
/// 3 × (10 + 8 + 6) = 72 numbers. Unlike [`Hog`], whose cells keep the layout, nothing here
/// says where a texture is: stripes on the left and on the right are alike. Id `texture-v1`.
pub struct Texture;

const HOG_SIDE: u32 = 64;
const CELL: usize = 8;
const BINS: usize = 9;
/// The last component of every HOG vector: one block's length (each block has length 1).
pub const HOG_CONSTANT: f32 = 1.0;
/// The first component of [`Pixels`]' mean-colour part; the three mean colours follow it.
pub const PIXELS_CONSTANT: f32 = 1.0;

impl Extractor for Hog {
    fn id(&self) -> &str {
        "hog-v2"
    }

    fn name(&self) -> &str {
        "hog"
    }

    fn dim(&self) -> usize {
        let blocks = HOG_SIDE as usize / CELL - 1;
        blocks * blocks * 4 * BINS + 1
    }

    fn input_size(&self) -> (u32, u32) {
        (HOG_SIDE, HOG_SIDE)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        check_size(img, self.input_size())?;
        let side = HOG_SIDE as usize;
        let grey: Vec<f32> = img
            .pixels()
            .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
            .collect();
        let at = |x: usize, y: usize| grey[y * side + x];
        let cells = side / CELL;
        let mut hist = vec![0f32; cells * cells * BINS];
        for y in 0..side {
            for x in 0..side {
                // Centred differences; one-sided at the border.
                let gx = at((x + 1).min(side - 1), y) - at(x.saturating_sub(1), y);
                let gy = at(x, (y + 1).min(side - 1)) - at(x, y.saturating_sub(1));
                let magnitude = (gx * gx + gy * gy).sqrt();
                if magnitude == 0.0 {
                    continue;
                }
                let angle = gy.atan2(gx).rem_euclid(std::f32::consts::PI);
                let pos = angle / std::f32::consts::PI * BINS as f32 - 0.5;
                let lower = pos.floor();
                let frac = pos - lower;
                let b0 = (lower as isize).rem_euclid(BINS as isize) as usize;
                let b1 = (b0 + 1) % BINS;
                let cell = (y / CELL) * cells + x / CELL;
                hist[cell * BINS + b0] += magnitude * (1.0 - frac);
                hist[cell * BINS + b1] += magnitude * frac;
            }
        }
        let mut out = Vec::with_capacity(self.dim());
        for by in 0..cells - 1 {
            for bx in 0..cells - 1 {
                let start = out.len();
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let cell = (by + dy) * cells + bx + dx;
                    out.extend_from_slice(&hist[cell * BINS..(cell + 1) * BINS]);
                }
                l2_hys(&mut out[start..]);
            }
        }
        out.push(HOG_CONSTANT);
        Ok(out)
    }
}

/// L2 normalise, clip at 0.2, normalise again (Lowe's "L2-Hys").
fn l2_hys(block: &mut [f32]) {
    let normalise = |b: &mut [f32]| {
        let norm = (b.iter().map(|x| x * x).sum::<f32>() + 1e-6).sqrt();
        b.iter_mut().for_each(|x| *x /= norm);
    };
    normalise(block);
    block.iter_mut().for_each(|x| *x = x.min(0.2));
    normalise(block);
}

impl Extractor for Pixels {
    fn id(&self) -> &str {
        "pixels-v2"
    }

    fn name(&self) -> &str {
        "pixels"
    }

    fn dim(&self) -> usize {
        16 * 16 * 3 + 4
    }

    fn input_size(&self) -> (u32, u32) {
        (16, 16)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        check_size(img, self.input_size())?;
        let mut v: Vec<f32> = img.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
        let pixels = (v.len() / 3) as f32;
        let mut colour = [0f32; 3];
        for px in v.chunks_exact(3) {
            colour.iter_mut().zip(px).for_each(|(c, x)| *c += x);
        }
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        v.iter_mut().for_each(|x| *x -= mean);
        v.push(PIXELS_CONSTANT);
        v.extend(colour.map(|c| c / pixels));
        Ok(v)
    }
}

const TEXTURE_SIDE: usize = 64;
const TEXTURE_SCALES: usize = 3;
const LBP_BINS: usize = 10;
const ORIENTATIONS: usize = 8;
/// Upper edges of the gradient magnitude bins but the last.
const MAGNITUDE_EDGES: [f32; 5] = [0.005, 0.015, 0.04, 0.1, 0.25];
const TEXTURE_PART: usize = LBP_BINS + ORIENTATIONS + MAGNITUDE_EDGES.len() + 1;

impl Extractor for Texture {
    fn id(&self) -> &str {
        "texture-v1"
    }

    fn name(&self) -> &str {
        "texture"
    }

    fn dim(&self) -> usize {
        TEXTURE_SCALES * TEXTURE_PART
    }

    fn input_size(&self) -> (u32, u32) {
        (TEXTURE_SIDE as u32, TEXTURE_SIDE as u32)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        check_size(img, self.input_size())?;
        let mut grey: Vec<f32> = img
            .pixels()
            .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
            .collect();
        let mut side = TEXTURE_SIDE;
        let mut out = Vec::with_capacity(self.dim());
        for scale in 0..TEXTURE_SCALES {
            if scale > 0 {
                grey = halve(&grey, side);
                side /= 2;
            }
            texture_at(&grey, side, &mut out);
        }
        Ok(out)
    }
}

/// The image `grey` (`side` × `side`) at half the size, each pixel the mean of four.
fn halve(grey: &[f32], side: usize) -> Vec<f32> {
    let half = side / 2;
    let mut out = Vec::with_capacity(half * half);
    for y in 0..half {
        for x in 0..half {
            let at = |dx, dy| grey[(2 * y + dy) * side + 2 * x + dx];
            out.push((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4.0);
        }
    }
    out
}

/// Appends [`Texture`]'s three square-rooted histograms of one scale to `out`.
fn texture_at(grey: &[f32], side: usize, out: &mut Vec<f32>) {
    let at = |x: usize, y: usize| grey[y * side + x];
    let mut lbp = [0f32; LBP_BINS];
    let mut orientations = [0f32; ORIENTATIONS];
    let mut magnitudes = [0f32; MAGNITUDE_EDGES.len() + 1];
    // The 8 neighbours in circular order.
    const RING: [(isize, isize); 8] = [
        (1, 0),
        (1, 1),
        (0, 1),
        (-1, 1),
        (-1, 0),
        (-1, -1),
        (0, -1),
        (1, -1),
    ];
    for y in 1..side - 1 {
        for x in 1..side - 1 {
            let centre = at(x, y);
            let bits = RING
                .map(|(dx, dy)| at(x.wrapping_add_signed(dx), y.wrapping_add_signed(dy)) >= centre);
            let ones = bits.iter().filter(|&&b| b).count();
            let changes = (0..8).filter(|&i| bits[i] != bits[(i + 1) % 8]).count();
            // Uniform patterns (at most two changes) by their number of ones, the rest in one bin.
            lbp[if changes <= 2 { ones } else { LBP_BINS - 1 }] += 1.0;
            let gx = at(x + 1, y) - at(x - 1, y);
            let gy = at(x, y + 1) - at(x, y - 1);
            let magnitude = (gx * gx + gy * gy).sqrt();
            let bin = MAGNITUDE_EDGES
                .iter()
                .position(|&edge| magnitude < edge)
                .unwrap_or(MAGNITUDE_EDGES.len());
            magnitudes[bin] += 1.0;
            if magnitude > 0.0 {
                let angle = gy.atan2(gx).rem_euclid(std::f32::consts::PI);
                let pos = angle / std::f32::consts::PI * ORIENTATIONS as f32 - 0.5;
                let lower = pos.floor();
                let frac = pos - lower;
                let b0 = (lower as isize).rem_euclid(ORIENTATIONS as isize) as usize;
                orientations[b0] += magnitude * (1.0 - frac);
                orientations[(b0 + 1) % ORIENTATIONS] += magnitude * frac;
            }
        }
    }
    for hist in [&lbp[..], &orientations[..], &magnitudes[..]] {
        let total: f32 = hist.iter().sum();
        out.extend(
            hist.iter()
                .map(|&c| if total > 0.0 { (c / total).sqrt() } else { 0.0 }),
        );
    }
}

const HUES: usize = 8;
const SATURATIONS: usize = 4;
const VALUES: usize = 4;

impl Extractor for Colour {
    fn id(&self) -> &str {
        "color-v1"
    }

    fn name(&self) -> &str {
        "color"
    }

    fn dim(&self) -> usize {
        HUES * SATURATIONS * VALUES
    }

    fn input_size(&self) -> (u32, u32) {
        (64, 64)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        check_size(img, self.input_size())?;
        let mut hist = vec![0f32; self.dim()];
        for p in img.pixels() {
            let (h, s, v) = hsv(p.0);
            let bin = |x: f32, n: usize| ((x * n as f32) as usize).min(n - 1);
            let i = (bin(h, HUES) * SATURATIONS + bin(s, SATURATIONS)) * VALUES + bin(v, VALUES);
            hist[i] += 1.0;
        }
        let total = (img.width() * img.height()) as f32;
        Ok(hist.into_iter().map(|c| (c / total).sqrt()).collect())
    }
}

/// Hue, saturation and value, each in 0..1.
fn hsv([r, g, b]: [u8; 3]) -> (f32, f32, f32) {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let hue = if delta == 0.0 {
        0.0
    } else if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    } / 6.0;
    let saturation = if max == 0.0 { 0.0 } else { delta / max };
    (hue, saturation, max)
}

fn check_size(img: &RgbImage, (w, h): (u32, u32)) -> anyhow::Result<()> {
    anyhow::ensure!(img.dimensions() == (w, h), "expected a {w}×{h} image");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_of_primaries() {
        assert_eq!(hsv([255, 0, 0]), (0.0, 1.0, 1.0));
        let (h, _, _) = hsv([0, 255, 0]);
        assert!((h - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(hsv([0, 0, 0]), (0.0, 0.0, 0.0));
    }

    fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        1.0 - dot / (norm(a) * norm(b))
    }

    #[test]
    fn flat_images_give_non_zero_vectors_that_tell_colours_apart() {
        let flat = |side: u32, rgb: [u8; 3]| RgbImage::from_pixel(side, side, image::Rgb(rgb));
        let colours = [[0, 0, 0], [255, 255, 255], [128, 128, 128], [220, 20, 20]];
        let extractors: [&dyn Extractor; 4] = [&Hog, &Pixels, &Colour, &Texture];
        for e in extractors {
            let (w, _) = e.input_size();
            let vectors: Vec<Vec<f32>> = colours
                .iter()
                .map(|&c| e.extract(&flat(w, c)).unwrap())
                .collect();
            for (v, c) in vectors.iter().zip(colours) {
                assert_eq!(v.len(), e.dim(), "{}", e.id());
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                assert!(
                    norm.is_finite() && norm > 0.1,
                    "{} of {c:?}: length {norm}",
                    e.id()
                );
                assert!(cosine_distance(v, v).abs() < 1e-6, "{} of {c:?}", e.id());
            }
            if e.id() != Hog.id() && e.id() != Texture.id() {
                // Colour-aware descriptors set flat images of different colours apart.
                for i in 0..colours.len() {
                    for j in i + 1..colours.len() {
                        let d = cosine_distance(&vectors[i], &vectors[j]);
                        assert!(
                            d > 0.02,
                            "{}: {:?} vs {:?} at {d}",
                            e.id(),
                            colours[i],
                            colours[j]
                        );
                    }
                }
            } else {
                // HOG and texture see no colour: every flat image is the same direction.
                for v in &vectors[1..] {
                    assert!(cosine_distance(&vectors[0], v).abs() < 1e-6);
                }
            }
        }
        // Black and white, in pixels: only the mean-colour part differs (1, 0, 0, 0) vs (1, 1, 1, 1).
        let d = cosine_distance(&vectors_of(&Pixels, [0; 3]), &vectors_of(&Pixels, [255; 3]));
        assert!((d - 0.5).abs() < 1e-5, "{d}");
    }

    fn vectors_of(e: &dyn Extractor, rgb: [u8; 3]) -> Vec<f32> {
        let (w, h) = e.input_size();
        e.extract(&RgbImage::from_pixel(w, h, image::Rgb(rgb)))
            .unwrap()
    }

    #[test]
    fn the_mean_colour_part_is_small_beside_a_textured_image() {
        // A checkerboard: the centred part is ±0.5 everywhere, length √768 / 2 ≈ 13.9.
        let img = RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb(if (x + y) % 2 == 0 { [0; 3] } else { [255; 3] })
        });
        let v = Pixels.extract(&img).unwrap();
        let tail: f32 = v[768..].iter().map(|x| x * x).sum();
        let all: f32 = v.iter().map(|x| x * x).sum();
        assert!(tail / all < 0.02, "{tail} of {all}");
    }

    #[test]
    fn texture_does_not_say_where_a_texture_is() {
        // Fine stripes on the left half or on the right half of a flat grey image: HOG tells
        // them apart by their place, texture sees the same stripes.
        let half = |left: bool| {
            RgbImage::from_fn(64, 64, |x, _| {
                let striped = (x < 32) == left;
                image::Rgb(if striped && (x / 3) % 2 == 0 {
                    [0; 3]
                } else {
                    [160; 3]
                })
            })
        };
        let (a, b) = (half(true), half(false));
        let texture = cosine_distance(&Texture.extract(&a).unwrap(), &Texture.extract(&b).unwrap());
        let hog = cosine_distance(&Hog.extract(&a).unwrap(), &Hog.extract(&b).unwrap());
        assert!(texture < 0.02, "texture {texture}");
        assert!(hog > 5.0 * texture, "hog {hog}, texture {texture}");
        // Stripes and a checkerboard differ in texture.
        let checks = RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb(if (x / 3 + y / 3) % 2 == 0 {
                [0; 3]
            } else {
                [160; 3]
            })
        });
        let d = cosine_distance(
            &Texture.extract(&a).unwrap(),
            &Texture.extract(&checks).unwrap(),
        );
        assert!(d > 0.05, "{d}");
        assert_eq!(Texture.extract(&a).unwrap().len(), Texture.dim());
    }

    #[test]
    fn hog_of_vertical_edges_points_across() {
        // Vertical stripes: horizontal gradients only, so the 0° bin (and its wrap-around
        // neighbour) carries everything.
        let img = RgbImage::from_fn(64, 64, |x, _| {
            image::Rgb(if (x / 4) % 2 == 0 { [0; 3] } else { [255; 3] })
        });
        let v = Hog.extract(&img).unwrap();
        assert_eq!(v.len(), Hog.dim());
        assert_eq!(v[v.len() - 1], HOG_CONSTANT);
        let mut by_bin = [0f32; BINS];
        for (i, x) in v[..v.len() - 1].iter().enumerate() {
            by_bin[i % BINS] += x;
        }
        let across = by_bin[0] + by_bin[BINS - 1];
        assert!(across > 0.99 * by_bin.iter().sum::<f32>(), "{by_bin:?}");
    }
}
