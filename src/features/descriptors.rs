//! Classic descriptors that need no model file: HOG, raw pixels and colour histograms.
//! Each is fast, deterministic and versioned in its id, so a change of recipe never mixes
//! old and new vectors in the store.

use image::RgbImage;

use super::Extractor;

/// Histogram of oriented gradients (Dalal & Triggs) on a 64×64 grey image: 8×8-pixel cells,
/// 9 unsigned orientation bins with linear interpolation, 2×2-cell blocks with a one-cell
/// stride, L2-Hys normalised. 7 × 7 blocks × 36 = 1764 numbers.
pub struct Hog;

/// The image shrunk to 16×16 RGB (area averaging), centred on its own mean, so cosine
/// similarity is the correlation of the two thumbnails. 768 numbers.
pub struct Pixels;

/// A joint HSV histogram of a 64×64 image: 8 hues × 4 saturations × 4 values, square-rooted
/// (cosine of square-rooted histograms is the Bhattacharyya coefficient). 128 numbers.
pub struct Colour;

const HOG_SIDE: u32 = 64;
const CELL: usize = 8;
const BINS: usize = 9;

impl Extractor for Hog {
    fn id(&self) -> &str {
        "hog-v1"
    }

    fn name(&self) -> &str {
        "hog"
    }

    fn dim(&self) -> usize {
        let blocks = HOG_SIDE as usize / CELL - 1;
        blocks * blocks * 4 * BINS
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
        "pixels-v1"
    }

    fn name(&self) -> &str {
        "pixels"
    }

    fn dim(&self) -> usize {
        16 * 16 * 3
    }

    fn input_size(&self) -> (u32, u32) {
        (16, 16)
    }

    fn extract(&self, img: &RgbImage) -> anyhow::Result<Vec<f32>> {
        check_size(img, self.input_size())?;
        let mut v: Vec<f32> = img.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        v.iter_mut().for_each(|x| *x -= mean);
        Ok(v)
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

    #[test]
    fn hog_of_vertical_edges_points_across() {
        // Vertical stripes: horizontal gradients only, so the 0° bin (and its wrap-around
        // neighbour) carries everything.
        let img = RgbImage::from_fn(64, 64, |x, _| {
            image::Rgb(if (x / 4) % 2 == 0 { [0; 3] } else { [255; 3] })
        });
        let v = Hog.extract(&img).unwrap();
        assert_eq!(v.len(), Hog.dim());
        let mut by_bin = [0f32; BINS];
        for (i, x) in v.iter().enumerate() {
            by_bin[i % BINS] += x;
        }
        let across = by_bin[0] + by_bin[BINS - 1];
        assert!(across > 0.99 * by_bin.iter().sum::<f32>(), "{by_bin:?}");
    }
}
