//! What a group of images looks like, in words measured from their pixels: the dominant
//! colours (named from the xkcd colour survey) and one structure word (flat, stripes, rings…).
//!
//! Clusters are named this way when the classifier head cannot name them with confidence
//! (see [`super::clustering`]): abstract art, sprites and drawings are not ImageNet photos.

use image::RgbImage;

/// Side, in pixels, that each picture is resized to (stretched to a square) before it is
/// measured: enough for stripes 2 pixels wide, small enough to measure 32 pictures in
/// milliseconds.
pub const SIDE: u32 = 64;

/// The colour vocabulary: the 127 most common names of the xkcd colour survey (Randall
/// Munroe, 2010, <https://xkcd.com/color/rgb.txt>, whose list ends with the names given most
/// often; "puke", "puke green" and "robin's egg blue" left out) with their sRGB values.
pub const COLOURS: &[(&str, [u8; 3])] = &[
    ("ocean blue", [0x03, 0x71, 0x9c]),
    ("coral", [0xfc, 0x5a, 0x50]),
    ("cream", [0xff, 0xff, 0xc2]),
    ("reddish brown", [0x7f, 0x2b, 0x0a]),
    ("burnt sienna", [0xb0, 0x4e, 0x0f]),
    ("brick", [0xa0, 0x36, 0x23]),
    ("sage", [0x87, 0xae, 0x73]),
    ("grey green", [0x78, 0x9b, 0x73]),
    ("white", [0xff, 0xff, 0xff]),
    ("moss green", [0x65, 0x8b, 0x38]),
    ("steel blue", [0x5a, 0x7d, 0x9a]),
    ("eggplant", [0x38, 0x08, 0x35]),
    ("light yellow", [0xff, 0xfe, 0x7a]),
    ("leaf green", [0x5c, 0xa9, 0x04]),
    ("light grey", [0xd8, 0xdc, 0xd6]),
    ("pinkish purple", [0xd6, 0x48, 0xd7]),
    ("sea blue", [0x04, 0x74, 0x95]),
    ("pale purple", [0xb7, 0x90, 0xd4]),
    ("slate blue", [0x5b, 0x7c, 0x99]),
    ("blue grey", [0x60, 0x7c, 0x8e]),
    ("hunter green", [0x0b, 0x40, 0x08]),
    ("fuchsia", [0xed, 0x0d, 0xd9]),
    ("crimson", [0x8c, 0x00, 0x0f]),
    ("pale yellow", [0xff, 0xff, 0x84]),
    ("ochre", [0xbf, 0x90, 0x05]),
    ("mustard yellow", [0xd2, 0xbd, 0x0a]),
    ("light red", [0xff, 0x47, 0x4c]),
    ("cerulean", [0x04, 0x85, 0xd1]),
    ("pale pink", [0xff, 0xcf, 0xdc]),
    ("deep blue", [0x04, 0x02, 0x73]),
    ("rust", [0xa8, 0x3c, 0x09]),
    ("light teal", [0x90, 0xe4, 0xc1]),
    ("slate", [0x51, 0x65, 0x72]),
    ("goldenrod", [0xfa, 0xc2, 0x05]),
    ("dark yellow", [0xd5, 0xb6, 0x0a]),
    ("dark grey", [0x36, 0x37, 0x37]),
    ("army green", [0x4b, 0x5d, 0x16]),
    ("grey blue", [0x6b, 0x8b, 0xa4]),
    ("seafoam", [0x80, 0xf9, 0xad]),
    ("puce", [0xa5, 0x7e, 0x52]),
    ("spring green", [0xa9, 0xf9, 0x71]),
    ("dark orange", [0xc6, 0x51, 0x02]),
    ("sand", [0xe2, 0xca, 0x76]),
    ("pastel green", [0xb0, 0xff, 0x9d]),
    ("mint", [0x9f, 0xfe, 0xb0]),
    ("light orange", [0xfd, 0xaa, 0x48]),
    ("bright pink", [0xfe, 0x01, 0xb1]),
    ("chartreuse", [0xc1, 0xf8, 0x0a]),
    ("deep purple", [0x36, 0x01, 0x3f]),
    ("dark brown", [0x34, 0x1c, 0x02]),
    ("taupe", [0xb9, 0xa2, 0x81]),
    ("pea green", [0x8e, 0xab, 0x12]),
    ("kelly green", [0x02, 0xab, 0x2e]),
    ("seafoam green", [0x7a, 0xf9, 0xab]),
    ("blue green", [0x13, 0x7e, 0x6d]),
    ("khaki", [0xaa, 0xa6, 0x62]),
    ("burgundy", [0x61, 0x00, 0x23]),
    ("dark teal", [0x01, 0x4d, 0x4e]),
    ("brick red", [0x8f, 0x14, 0x02]),
    ("royal purple", [0x4b, 0x00, 0x6e]),
    ("plum", [0x58, 0x0f, 0x41]),
    ("mint green", [0x8f, 0xff, 0x9f]),
    ("gold", [0xdb, 0xb4, 0x0c]),
    ("baby blue", [0xa2, 0xcf, 0xfe]),
    ("yellow green", [0xc0, 0xfb, 0x2d]),
    ("bright purple", [0xbe, 0x03, 0xfd]),
    ("dark red", [0x84, 0x00, 0x00]),
    ("pale blue", [0xd0, 0xfe, 0xfe]),
    ("grass green", [0x3f, 0x9b, 0x0b]),
    ("navy", [0x01, 0x15, 0x3e]),
    ("aquamarine", [0x04, 0xd8, 0xb2]),
    ("burnt orange", [0xc0, 0x4e, 0x01]),
    ("neon green", [0x0c, 0xff, 0x0c]),
    ("bright blue", [0x01, 0x65, 0xfc]),
    ("rose", [0xcf, 0x62, 0x75]),
    ("light pink", [0xff, 0xd1, 0xdf]),
    ("mustard", [0xce, 0xb3, 0x01]),
    ("indigo", [0x38, 0x02, 0x82]),
    ("lime", [0xaa, 0xff, 0x32]),
    ("sea green", [0x53, 0xfc, 0xa1]),
    ("periwinkle", [0x8e, 0x82, 0xfe]),
    ("dark pink", [0xcb, 0x41, 0x6b]),
    ("olive green", [0x67, 0x7a, 0x04]),
    ("peach", [0xff, 0xb0, 0x7c]),
    ("pale green", [0xc7, 0xfd, 0xb5]),
    ("light brown", [0xad, 0x81, 0x50]),
    ("hot pink", [0xff, 0x02, 0x8d]),
    ("black", [0x00, 0x00, 0x00]),
    ("lilac", [0xce, 0xa2, 0xfd]),
    ("navy blue", [0x00, 0x11, 0x46]),
    ("royal blue", [0x05, 0x04, 0xaa]),
    ("beige", [0xe6, 0xda, 0xa6]),
    ("salmon", [0xff, 0x79, 0x6c]),
    ("olive", [0x6e, 0x75, 0x0e]),
    ("maroon", [0x65, 0x00, 0x21]),
    ("bright green", [0x01, 0xff, 0x07]),
    ("dark purple", [0x35, 0x06, 0x3e]),
    ("mauve", [0xae, 0x71, 0x81]),
    ("forest green", [0x06, 0x47, 0x0c]),
    ("aqua", [0x13, 0xea, 0xc9]),
    ("cyan", [0x00, 0xff, 0xff]),
    ("tan", [0xd1, 0xb2, 0x6f]),
    ("dark blue", [0x00, 0x03, 0x5b]),
    ("lavender", [0xc7, 0x9f, 0xef]),
    ("turquoise", [0x06, 0xc2, 0xac]),
    ("dark green", [0x03, 0x35, 0x00]),
    ("violet", [0x9a, 0x0e, 0xea]),
    ("light purple", [0xbf, 0x77, 0xf6]),
    ("lime green", [0x89, 0xfe, 0x05]),
    ("grey", [0x92, 0x95, 0x91]),
    ("sky blue", [0x75, 0xbb, 0xfd]),
    ("yellow", [0xff, 0xff, 0x14]),
    ("magenta", [0xc2, 0x00, 0x78]),
    ("light green", [0x96, 0xf9, 0x7b]),
    ("orange", [0xf9, 0x73, 0x06]),
    ("teal", [0x02, 0x93, 0x86]),
    ("light blue", [0x95, 0xd0, 0xfc]),
    ("red", [0xe5, 0x00, 0x00]),
    ("brown", [0x65, 0x37, 0x00]),
    ("pink", [0xff, 0x81, 0xc0]),
    ("blue", [0x03, 0x43, 0xdf]),
    ("green", [0x15, 0xb0, 0x1a]),
    ("purple", [0x7e, 0x1e, 0x9c]),
];

/// CIELAB (D65 white) of an sRGB colour: `[L*, a*, b*]`, L* from 0 (black) to 100 (white).
/// The sRGB transfer function and matrix of IEC 61966-2-1, the Lab formulas of CIE 15:2004.
pub fn lab([r, g, b]: [u8; 3]) -> [f32; 3] {
    let linear = |c: u8| {
        let c = f32::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (linear(r), linear(g), linear(b));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Index into [`COLOURS`] of the vocabulary colour nearest `lab` by ΔE*ab (CIE 1976: the
/// Euclidean distance in CIELAB).
pub fn nearest_colour(lab: [f32; 3], vocabulary: &[[f32; 3]]) -> usize {
    let d = |v: &[f32; 3]| (0..3).map(|i| (v[i] - lab[i]).powi(2)).sum::<f32>();
    (0..vocabulary.len())
        .min_by(|&a, &b| d(&vocabulary[a]).total_cmp(&d(&vocabulary[b])))
        .expect("a vocabulary of colours")
}

/// The name of the vocabulary colour nearest `rgb` (see [`nearest_colour`]).
pub fn colour_name(rgb: [u8; 3]) -> &'static str {
    COLOURS[nearest_colour(lab(rgb), &vocabulary())].0
}

fn vocabulary() -> Vec<[f32; 3]> {
    COLOURS.iter().map(|&(_, rgb)| lab(rgb)).collect()
}

/// The least share of the pixels a colour must cover to be named after the first.
pub const MIN_COLOUR_SHARE: f32 = 0.15;

/// The dominant colours of `pictures`, most covered first, with the share of the pixels
/// (0–1) named by each: every pixel of each picture (resized to [`SIDE`]²) is named by its
/// nearest vocabulary colour, each picture counts equally, and the colours covering at least
/// [`MIN_COLOUR_SHARE`] (the first always) are returned, at most three. Empty when there are
/// no pictures.
pub fn dominant_colours(pictures: &[RgbImage]) -> Vec<(&'static str, f32)> {
    let vocabulary = vocabulary();
    let mut share = vec![0f32; COLOURS.len()];
    let mut cache = std::collections::HashMap::new();
    for p in pictures {
        let small = resized(p);
        let weight = 1.0 / ((SIDE * SIDE) as f32 * pictures.len() as f32);
        for px in small.pixels() {
            let i = *cache
                .entry(px.0)
                .or_insert_with(|| nearest_colour(lab(px.0), &vocabulary));
            share[i] += weight;
        }
    }
    let mut order: Vec<usize> = (0..COLOURS.len()).filter(|&i| share[i] > 0.0).collect();
    order.sort_by(|&a, &b| share[b].total_cmp(&share[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .enumerate()
        .filter(|&(rank, i)| rank == 0 || share[i] >= MIN_COLOUR_SHARE)
        .take(3)
        .map(|(_, i)| (COLOURS[i].0, share[i]))
        .collect()
}

fn resized(p: &RgbImage) -> RgbImage {
    if p.dimensions() == (SIDE, SIDE) {
        p.clone()
    } else {
        image::imageops::resize(p, SIDE, SIDE, image::imageops::FilterType::Triangle)
    }
}

/// What the structure of a picture looks like, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Structure {
    /// Parallel bands repeating across the picture (a line profile explains most of the
    /// lightness, crossing its mean at least [`STRIPE_CROSSINGS`] times).
    Stripes,
    /// Concentric rings (the radial profile explains most of the lightness and crosses its
    /// mean at least [`RING_CROSSINGS`] times).
    Rings,
    /// Thin bright lines on a dark ground.
    Lines,
    /// Many flat regions divided by edges (at least [`CELL_REGIONS`]).
    Cells,
    /// Mostly flat areas of one lightness each (shapes on a plain ground, plain fills).
    Flat,
    /// Edges in one or two directions: rectangles, polygons, hatching.
    Edges,
    /// Sharp detail everywhere (fine noise, dense texture).
    Grain,
    /// Smooth shading with no flat areas and few edges (soft noise, gradients, blur).
    Soft,
    /// Edges in every direction that none of the above describes.
    Curves,
}

impl Structure {
    /// The word in names: "stripes", "rings", "lines", "cells", "flat", "edges", "grain",
    /// "soft" or "curves".
    pub fn word(self) -> &'static str {
        match self {
            Structure::Stripes => "stripes",
            Structure::Rings => "rings",
            Structure::Lines => "lines",
            Structure::Cells => "cells",
            Structure::Flat => "flat",
            Structure::Edges => "edges",
            Structure::Grain => "grain",
            Structure::Soft => "soft",
            Structure::Curves => "curves",
        }
    }
}

/// Sobel gradient magnitude (of L* in 0–100) under which a pixel is flat: L* changing by
/// under about 1 per pixel.
pub const FLAT_GRADIENT: f32 = 4.0;
/// Sobel gradient magnitude over which a pixel is on an edge: L* changing by about 10 per
/// pixel.
pub const EDGE_GRADIENT: f32 = 40.0;
/// Mean crossings of the best line profile that make stripes (three periods).
pub const STRIPE_CROSSINGS: usize = 6;
/// Mean crossings of the radial profile that make rings (two rings).
pub const RING_CROSSINGS: usize = 4;
/// Share of the lightness variance a profile must explain for stripes or rings.
pub const PROFILE_EXPLAINED: f32 = 0.6;
/// Flat regions (of at least 16 pixels at [`SIDE`]²) that make cells.
pub const CELL_REGIONS: usize = 6;

/// The measures behind a [`Structure`], of one picture resized to [`SIDE`]², on its
/// lightness L*.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measures {
    /// Share of pixels whose gradient is under [`FLAT_GRADIENT`].
    pub flat: f32,
    /// Share of pixels whose gradient is over [`EDGE_GRADIENT`].
    pub edges: f32,
    /// Share of the gradient energy in the two strongest of 8 orientation bins (22.5° each,
    /// centred on 0°, 22.5°…, modulo 180°): 0.25 when every direction is alike, 1 for edges in two directions.
    pub orientation: f32,
    /// Of the four line profiles (mean L* by column, by row, along each diagonal), the best:
    /// the share of the variance it explains, and how often it crosses its mean.
    pub line: (f32, usize),
    /// The radial profile around the centre (mean L* by whole-pixel radius, inside the
    /// inscribed circle): the share of variance it explains, and how often it crosses its mean.
    pub radial: (f32, usize),
    /// Connected flat regions of at least 16 pixels.
    pub regions: usize,
    /// Median L*.
    pub median: f32,
    /// Share of pixels at least 20 L* brighter than the median.
    pub bright: f32,
    /// Of those bright pixels, the share with a ground pixel (under median + 10) among their
    /// 8 neighbours: about 1 for lines a pixel or two wide, low for broad bright shapes.
    pub bright_thin: f32,
}

impl Measures {
    /// Measures `picture` (any size; resized to [`SIDE`]²).
    pub fn of(picture: &RgbImage) -> Measures {
        let small = resized(picture);
        let n = SIDE as usize;
        let l: Vec<f32> = small.pixels().map(|p| lab(p.0)[0]).collect();
        let at = |x: usize, y: usize| l[y.min(n - 1) * n + x.min(n - 1)];
        let at_signed = |x: isize, y: isize| at(x.max(0) as usize, y.max(0) as usize);
        let mut magnitude = vec![0f32; n * n];
        let mut bins = [0f32; 8];
        for y in 0..n {
            for x in 0..n {
                let (xi, yi) = (x as isize, y as isize);
                let p = |dx: isize, dy: isize| at_signed(xi + dx, yi + dy);
                let gx = p(1, -1) + 2.0 * p(1, 0) + p(1, 1) - p(-1, -1) - 2.0 * p(-1, 0) - p(-1, 1);
                let gy = p(-1, 1) + 2.0 * p(0, 1) + p(1, 1) - p(-1, -1) - 2.0 * p(0, -1) - p(1, -1);
                let m = gx.hypot(gy);
                magnitude[y * n + x] = m;
                if m > FLAT_GRADIENT {
                    // Bins centred on 0°, 22.5°…: an edge at 0° and one at 180° are alike.
                    let angle = gy.atan2(gx) / std::f32::consts::PI * 8.0;
                    bins[(angle.round() as i32).rem_euclid(8) as usize] += m;
                }
            }
        }
        let share = |f: &dyn Fn(f32) -> bool| {
            magnitude.iter().filter(|&&m| f(m)).count() as f32 / (n * n) as f32
        };
        let flat = share(&|m| m < FLAT_GRADIENT);
        let edges = share(&|m| m > EDGE_GRADIENT);
        let total: f32 = bins.iter().sum();
        bins.sort_by(|a, b| b.total_cmp(a));
        let orientation = if total > 0.0 {
            (bins[0] + bins[1]) / total
        } else {
            0.0
        };
        let line = [
            profile(&l, |x, _| x, n),
            profile(&l, |_, y| y, n),
            profile(&l, |x, y| x + y, 2 * n),
            profile(&l, |x, y| x + n - 1 - y, 2 * n),
        ]
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .expect("four profiles");
        let radial = radial_profile(&l, n);
        let regions = flat_regions(&magnitude, n);
        let mut sorted = l.clone();
        sorted.sort_by(f32::total_cmp);
        let median = sorted[sorted.len() / 2];
        let bright: Vec<usize> = (0..n * n).filter(|&i| l[i] >= median + 20.0).collect();
        // A pixel of a thin line has the ground within a pixel of it.
        let near_ground = |i: usize| {
            let (x, y) = ((i % n) as isize, (i / n) as isize);
            (-1..=1).any(|dy| (-1..=1).any(|dx| at_signed(x + dx, y + dy) < median + 10.0))
        };
        let bright_thin = if bright.is_empty() {
            0.0
        } else {
            bright.iter().filter(|&&i| near_ground(i)).count() as f32 / bright.len() as f32
        };
        Measures {
            flat,
            edges,
            orientation,
            line,
            radial,
            regions,
            median,
            bright: bright.len() as f32 / (n * n) as f32,
            bright_thin,
        }
    }

    /// The structure word of these measures, the first rule that holds: stripes, rings,
    /// lines (median L* under 30, 1–35 % bright pixels, over half of them thin), cells,
    /// flat (at least 80 % flat pixels), edges (at least 2 % edge pixels, 60 % of the gradient
    /// in two directions), grain (at least 30 % edge pixels), soft (under 30 % flat and under
    /// 10 % edge pixels), else curves.
    pub fn structure(&self) -> Structure {
        if self.line.0 >= PROFILE_EXPLAINED && self.line.1 >= STRIPE_CROSSINGS {
            Structure::Stripes
        } else if self.radial.0 >= PROFILE_EXPLAINED && self.radial.1 >= RING_CROSSINGS {
            Structure::Rings
        } else if self.median < 30.0
            && (0.01..0.35).contains(&self.bright)
            && self.bright_thin > 0.5
        {
            Structure::Lines
        } else if self.regions >= CELL_REGIONS && self.flat >= 0.4 {
            Structure::Cells
        } else if self.flat >= 0.8 {
            Structure::Flat
        } else if self.edges >= 0.02 && self.orientation >= 0.6 {
            Structure::Edges
        } else if self.edges >= 0.3 {
            Structure::Grain
        } else if self.flat < 0.3 && self.edges < 0.1 {
            Structure::Soft
        } else {
            Structure::Curves
        }
    }
}

/// The share of the variance of `l` (an n × n image) explained by its mean along the lines
/// of equal `t(x, y)` (values below `len`), and how often that profile crosses the image's
/// mean by more than a quarter of the standard deviation on each side.
fn profile(l: &[f32], t: impl Fn(usize, usize) -> usize, len: usize) -> (f32, usize) {
    let n = (l.len() as f64).sqrt() as usize;
    let (mut sum, mut count) = (vec![0f32; len], vec![0usize; len]);
    for y in 0..n {
        for x in 0..n {
            sum[t(x, y)] += l[y * n + x];
            count[t(x, y)] += 1;
        }
    }
    explained(l, &sum, &count, |i| Some(t(i % n, i / n)))
}

/// [`profile`] by whole-pixel distance to the centre, inside the inscribed circle.
fn radial_profile(l: &[f32], n: usize) -> (f32, usize) {
    let c = (n as f32 - 1.0) / 2.0;
    let r = |i: usize| {
        let (x, y) = ((i % n) as f32 - c, (i / n) as f32 - c);
        let r = x.hypot(y).round() as usize;
        (r < n / 2).then_some(r)
    };
    let (mut sum, mut count) = (vec![0f32; n / 2], vec![0usize; n / 2]);
    for (i, v) in l.iter().enumerate() {
        if let Some(r) = r(i) {
            sum[r] += v;
            count[r] += 1;
        }
    }
    explained(l, &sum, &count, r)
}

fn explained(
    l: &[f32],
    sum: &[f32],
    count: &[usize],
    bin: impl Fn(usize) -> Option<usize>,
) -> (f32, usize) {
    let inside: Vec<(usize, usize)> = (0..l.len())
        .filter_map(|i| bin(i).map(|b| (i, b)))
        .collect();
    let mean = inside.iter().map(|&(i, _)| l[i]).sum::<f32>() / inside.len().max(1) as f32;
    let mean_of = |b: usize| sum[b] / count[b].max(1) as f32;
    let total: f32 = inside.iter().map(|&(i, _)| (l[i] - mean).powi(2)).sum();
    if total <= 1e-3 * inside.len() as f32 {
        return (0.0, 0);
    }
    let between: f32 = inside
        .iter()
        .map(|&(_, b)| (mean_of(b) - mean).powi(2))
        .sum();
    let margin = 0.25 * (total / inside.len() as f32).sqrt();
    let (mut crossings, mut side) = (0, 0i8);
    for b in (0..sum.len()).filter(|&b| count[b] > 0) {
        let d = mean_of(b) - mean;
        let s = if d > margin {
            1
        } else if d < -margin {
            -1
        } else {
            0
        };
        if s != 0 {
            if side != 0 && s != side {
                crossings += 1;
            }
            side = s;
        }
    }
    (between / total, crossings)
}

/// Connected (4-neighbour) regions of flat pixels of at least 16 pixels.
fn flat_regions(magnitude: &[f32], n: usize) -> usize {
    let mut seen = vec![false; n * n];
    let mut regions = 0;
    for (start, &m) in magnitude.iter().enumerate() {
        if seen[start] || m >= FLAT_GRADIENT {
            continue;
        }
        let (mut stack, mut size) = (vec![start], 0);
        seen[start] = true;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % n, i / n);
            let around = [
                (x > 0).then(|| i - 1),
                (x + 1 < n).then(|| i + 1),
                (y > 0).then(|| i - n),
                (y + 1 < n).then(|| i + n),
            ];
            for j in around.into_iter().flatten() {
                if !seen[j] && magnitude[j] < FLAT_GRADIENT {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if size >= 16 {
            regions += 1;
        }
    }
    regions
}

/// The structure words of `pictures`, most frequent first (ties in [`Structure`] order),
/// with the share of the pictures that have each.
pub fn structures(pictures: &[RgbImage]) -> Vec<(Structure, f32)> {
    let mut counts = std::collections::BTreeMap::new();
    for p in pictures {
        *counts.entry(Measures::of(p).structure()).or_insert(0usize) += 1;
    }
    let mut out: Vec<(Structure, f32)> = counts
        .into_iter()
        .map(|(s, k)| (s, k as f32 / pictures.len() as f32))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// The words that say what `pictures` look like, in the order a name uses them: the first
/// one or two dominant colours, the most frequent structure word, then spare words to tell
/// clusters apart (a third colour, the second structure word). Empty without pictures.
pub fn words(pictures: &[RgbImage]) -> (Vec<String>, Vec<String>) {
    if pictures.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let colours = dominant_colours(pictures);
    let shapes = structures(pictures);
    let mut name: Vec<String> = colours.iter().take(2).map(|c| c.0.to_owned()).collect();
    name.push(shapes[0].0.word().to_owned());
    let spare = colours
        .iter()
        .skip(2)
        .map(|c| c.0.to_owned())
        .chain(shapes.iter().skip(1).map(|s| s.0.word().to_owned()))
        .collect();
    (name, spare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn draw(f: impl Fn(f32, f32) -> [u8; 3]) -> RgbImage {
        RgbImage::from_fn(128, 128, |x, y| Rgb(f(x as f32, y as f32)))
    }

    #[test]
    fn colours_are_named_by_the_nearest_survey_colour() {
        assert_eq!(colour_name([255, 255, 255]), "white");
        assert_eq!(colour_name([0, 0, 0]), "black");
        assert_eq!(colour_name([230, 0, 0]), "red");
        assert_eq!(colour_name([3, 67, 223]), "blue");
        assert_eq!(colour_name([2, 150, 136]), "teal");
        assert_eq!(colour_name([200, 0, 120]), "magenta");
        assert_eq!(colour_name([146, 149, 145]), "grey");
        // Nearest in Lab, not in RGB: a dark blue-grey is "slate", not "dark grey".
        assert_eq!(colour_name([80, 100, 114]), "slate");
        let l = lab([255, 255, 255]);
        assert!((l[0] - 100.0).abs() < 0.05 && l[1].abs() < 0.05 && l[2].abs() < 0.05);
    }

    #[test]
    fn dominant_colours_cover_the_pixels_most_first() {
        // Three quarters teal, a quarter magenta.
        let p = draw(|x, _| {
            if x < 96.0 {
                [2, 147, 134]
            } else {
                [194, 0, 120]
            }
        });
        let d = dominant_colours(&[p.clone(), p]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!((d[0].0, d[1].0), ("teal", "magenta"));
        assert!((d[0].1 - 0.75).abs() < 0.05, "{d:?}");
        // A colour under 15 % is left out.
        let q = draw(|x, _| {
            if x < 120.0 {
                [229, 0, 0]
            } else {
                [255, 255, 255]
            }
        });
        let d = dominant_colours(&[q]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].0, "red");
        assert!(d[0].1 > 0.9, "{d:?}");
    }

    fn word(p: &RgbImage) -> Structure {
        Measures::of(p).structure()
    }

    #[test]
    fn each_structure_word_comes_out_for_the_drawing_it_describes() {
        let (w, k) = ([255, 255, 255], [0, 0, 0]);
        let stripes = draw(|x, _| {
            if (x as u32 / 8).is_multiple_of(2) {
                w
            } else {
                k
            }
        });
        assert_eq!(word(&stripes), Structure::Stripes);
        let diagonal = draw(|x, y| {
            if ((x + y) as u32 / 10).is_multiple_of(2) {
                w
            } else {
                k
            }
        });
        assert_eq!(word(&diagonal), Structure::Stripes);
        let rings = draw(|x, y| {
            let r = (x - 63.5).hypot(y - 63.5);
            if (r as u32 / 7).is_multiple_of(2) {
                [0, 128, 128]
            } else {
                [255, 230, 0]
            }
        });
        assert_eq!(word(&rings), Structure::Rings);
        let square = draw(|x, y| {
            if (32.0..96.0).contains(&x) && (32.0..96.0).contains(&y) {
                [220, 0, 0]
            } else {
                w
            }
        });
        assert_eq!(word(&square), Structure::Flat);
        assert_eq!(word(&draw(|_, _| [40, 40, 200])), Structure::Flat);
        // Thin bright curves on black.
        let lines = draw(|x, y| {
            let on =
                (0..5).any(|i| ((y - 20.0 - 20.0 * i as f32) - 8.0 * (x / 15.0).sin()).abs() < 1.0);
            if on { [240, 240, 120] } else { [5, 5, 10] }
        });
        assert_eq!(word(&lines), Structure::Lines);
        // Flat cells of many lightnesses (a coarse grid of random greys).
        let mut rng = super::super::rng::Lcg::new(7);
        let greys: Vec<u8> = (0..16).map(|_| (rng.uniform() * 255.0) as u8).collect();
        let cells = draw(|x, y| {
            let g = greys[(y as usize / 32) * 4 + x as usize / 32];
            [g, g, g]
        });
        assert_eq!(word(&cells), Structure::Cells);
        // A smooth blend of two slow waves.
        let soft = draw(|x, y| {
            let v =
                127.0 + 60.0 * (x / 23.0).sin() * (y / 31.0).cos() + 40.0 * ((x + y) / 41.0).sin();
            [v as u8, (v * 0.8) as u8, 90]
        });
        assert_eq!(word(&soft), Structure::Soft);
        let mut rng = super::super::rng::Lcg::new(3);
        let grain = RgbImage::from_fn(64, 64, |_, _| {
            let g = (rng.uniform() * 255.0) as u8;
            Rgb([g, g, g])
        });
        assert_eq!(word(&grain), Structure::Grain);
        // A fine mesh: edges in two directions, its openings too small to count as cells.
        let frames = draw(|x, y| {
            if x as u32 % 16 < 3 || y as u32 % 16 < 3 {
                k
            } else {
                [250, 200, 150]
            }
        });
        assert_eq!(word(&frames), Structure::Edges);
    }

    #[test]
    fn the_words_are_colours_then_structure_then_spares() {
        let rings = draw(|x, y| {
            let r = (x - 63.5).hypot(y - 63.5);
            if (r as u32 / 6).is_multiple_of(2) {
                [2, 147, 134]
            } else {
                [194, 0, 120]
            }
        });
        let (name, _) = words(&[rings]);
        assert_eq!(name[2], "rings");
        let mut colours = name[..2].to_vec();
        colours.sort();
        assert_eq!(colours, ["magenta", "teal"]);
        assert_eq!(words(&[]), (Vec::new(), Vec::new()));
    }
}
