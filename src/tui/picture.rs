//! The map as one picture (PixPlot's idea, in a terminal): every image of the part of the map
//! in view drawn as a small thumbnail near its map position, framed in its cluster's colour.
//! The thumbnails are snapped to a grid of slots, one image a slot ([`super::slots`]), so
//! that none hides another; their size is chosen for the images in view. Drawn on a worker;
//! the screen then sends one image per redraw.

use image::{Rgb, RgbImage, imageops};

use super::app::{MapImage, MapPicture};
use super::slots;
use super::theme::cluster_colour as colour;

/// Largest picture drawn, in pixels (width, height): the terminal scales it to the pane.
const MAX_PIXELS: (u32, u32) = (1600, 1000);

/// The smallest and the largest side of a thumbnail, in pixels.
pub const SIDE: (u32, u32) = (16, 128);

/// Pixels between two slots (the frames are drawn in them).
const GAP: u32 = 4;

/// Share of the slots the images fill at most, where thumbnails of the smallest side leave
/// room: the rest keep the map's empty parts empty and let piles spread near their place.
const FILL: f32 = 0.5;

/// The mark of an image beyond the map's frame (orange).
const BEYOND: Rgb<u8> = Rgb([255, 128, 0]);

/// The picture's size in pixels for its pane: `cell` pixels a cell, within [`MAX_PIXELS`]
/// (the aspect of the pane is kept).
pub fn picture_size(p: &MapPicture, cell: (u16, u16)) -> (u32, u32) {
    let w = (p.cells.0 as u32 * cell.0 as u32).max(1);
    let h = (p.cells.1 as u32 * cell.1 as u32).max(1);
    let scale = (MAX_PIXELS.0 as f32 / w as f32)
        .min(MAX_PIXELS.1 as f32 / h as f32)
        .min(1.0);
    (
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
    )
}

/// The grid of slots on a picture: the thumbnails' side, the slots across and down (pixels
/// and counts), and where the first slot starts (the grid is centred).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slots {
    /// A thumbnail's side, in pixels (a slot is this and [`GAP`]).
    pub side: u32,
    /// Slots across.
    pub columns: usize,
    /// Slots down.
    pub rows: usize,
    /// The first slot's top left corner, in pixels.
    pub origin: (u32, u32),
}

impl Slots {
    /// The slots of a `size` picture for `n` images: the largest side (within [`SIDE`])
    /// whose grid has `n` / [`FILL`] slots, else the smallest side.
    pub fn fit(size: (u32, u32), n: usize) -> Slots {
        let grid = |side: u32| {
            let pitch = side + GAP;
            ((size.0 / pitch) as usize, (size.1 / pitch) as usize)
        };
        let wanted = (n as f32 / FILL).ceil() as usize;
        let side = (SIDE.0..=SIDE.1)
            .rev()
            .find(|&s| {
                let (c, r) = grid(s);
                c * r >= wanted.max(1)
            })
            .unwrap_or(SIDE.0);
        let (columns, rows) = grid(side);
        let pitch = side + GAP;
        Slots {
            side,
            columns,
            rows,
            origin: (
                (size.0 - columns as u32 * pitch + GAP) / 2,
                (size.1 - rows as u32 * pitch + GAP) / 2,
            ),
        }
    }

    /// The top left corner of slot `[column, row]`, in pixels.
    fn corner(&self, [c, r]: [u32; 2]) -> (i64, i64) {
        let pitch = (self.side + GAP) as i64;
        (
            self.origin.0 as i64 + c as i64 * pitch,
            self.origin.1 as i64 + r as i64 * pitch,
        )
    }
}

/// Draws `p` on a `size` picture and says how many images it shows. `thumbnail(image,
/// side)` gives an image's thumbnail at most `side` pixels a side (or `None`: a coloured
/// square stands for it); it is asked only for the images shown. Each image is in its own
/// slot ([`slots::place`]; with more images than slots, every slot shows one standing for
/// those near it, the current image and the current cluster's first); frames are 1 pixel (2
/// for the current cluster, 3 and white for the current image); an image beyond the map's
/// frame has an orange wedge at the side it lies out on.
pub fn compose(
    p: &MapPicture,
    size: (u32, u32),
    mut thumbnail: impl FnMut(&MapImage, u32) -> Option<RgbImage>,
) -> (RgbImage, usize) {
    let (w, h) = size;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([16, 16, 20]));
    let grid = Slots::fit(size, p.images.len());
    let side = grid.side;
    let at: Vec<[f32; 2]> = p.images.iter().map(|i| i.at).collect();
    let keep: Vec<u8> = p
        .images
        .iter()
        .map(|i| 2 * i.current as u8 + i.bright as u8)
        .collect();
    let placed = slots::place(&at, &keep, grid.columns, grid.rows);
    let mut shown: Vec<(&MapImage, [u32; 2])> = p
        .images
        .iter()
        .zip(&placed)
        .filter_map(|(i, s)| Some((i, (*s)?)))
        .collect();
    // The current image last: its thick frame is on top of its neighbours' gaps.
    shown.sort_by_key(|(i, _)| i.current);
    for &(image, slot) in &shown {
        let frame = frame_colour(image);
        let tile = match thumbnail(image, side) {
            Some(t) => t,
            None => RgbImage::from_pixel(side / 2, side / 2, dim(frame, 2)),
        };
        let (tw, th) = tile.dimensions();
        // Centred in its slot.
        let (sx, sy) = grid.corner(slot);
        let x = sx + (side as i64 - tw as i64) / 2;
        let y = sy + (side as i64 - th as i64) / 2;
        let border = if image.current {
            3
        } else if image.bright {
            2
        } else {
            1
        };
        fill(
            &mut canvas,
            x - border,
            y - border,
            tw + 2 * border as u32,
            th + 2 * border as u32,
            frame,
        );
        imageops::overlay(&mut canvas, &tile, x, y);
        if image.outside != [0, 0] {
            wedge(&mut canvas, (x, y, tw, th), image.outside);
        }
    }
    if let Some([cx, cy]) = p.crosshair {
        let x = (cx * w as f32) as i64;
        let y = ((1.0 - cy) * h as f32) as i64;
        let yellow = Rgb([255, 220, 0]);
        let arm = (side as i64).max(12);
        fill(&mut canvas, x - arm, y - 1, 2 * arm as u32, 3, yellow);
        fill(&mut canvas, x - 1, y - arm, 3, 2 * arm as u32, yellow);
    }
    (canvas, shown.len())
}

/// Marks a tile `(x, y, width, height)` as beyond the map's frame on `side` (x, y; y up):
/// an orange triangle in the tile, its point on that edge (or corner).
fn wedge(canvas: &mut RgbImage, (x, y, w, h): (i64, i64, u32, u32), side: [i8; 2]) {
    let (w, h) = (w as i64, h as i64);
    let px = match side[0] {
        -1 => x,
        1 => x + w - 1,
        _ => x + w / 2,
    };
    let py = match side[1] {
        1 => y,
        -1 => y + h - 1,
        _ => y + h / 2,
    };
    let size = (w.min(h) / 3).max(4);
    for yy in y.max(0)..(y + h).min(canvas.height() as i64) {
        for xx in x.max(0)..(x + w).min(canvas.width() as i64) {
            if (xx - px).abs() + (yy - py).abs() <= size {
                canvas.put_pixel(xx as u32, yy as u32, BEYOND);
            }
        }
    }
}

fn frame_colour(image: &MapImage) -> Rgb<u8> {
    if image.current {
        return Rgb([255, 255, 255]);
    }
    let c = match colour(image.cluster) {
        ratatui::style::Color::Rgb(r, g, b) => Rgb([r, g, b]),
        _ => Rgb([110, 110, 110]),
    };
    if image.bright { c } else { dim(c, 2) }
}

fn dim(Rgb([r, g, b]): Rgb<u8>, by: u8) -> Rgb<u8> {
    Rgb([r / by, g / by, b / by])
}

/// Fills a rectangle, clipped to the canvas.
fn fill(canvas: &mut RgbImage, x: i64, y: i64, w: u32, h: u32, colour: Rgb<u8>) {
    let (cw, ch) = (canvas.width() as i64, canvas.height() as i64);
    for yy in y.max(0)..(y + h as i64).min(ch) {
        for xx in x.max(0)..(x + w as i64).min(cw) {
            canvas.put_pixel(xx as u32, yy as u32, colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::PathBuf;

    fn image(at: [f32; 2], cluster: usize, current: bool) -> MapImage {
        MapImage {
            path: PathBuf::from(format!("{cluster}-{}-{}.png", at[0], at[1])),
            hash: [0; 32],
            at,
            cluster,
            bright: cluster == 1,
            current,
            outside: [0, 0],
        }
    }

    fn picture(images: Vec<MapImage>) -> MapPicture {
        MapPicture {
            in_view: images.len(),
            images,
            cells: (40, 10),
            crosshair: Some([0.5, 0.5]),
        }
    }

    #[test]
    fn thumbnails_land_in_slots_near_their_map_positions() {
        let p = picture(vec![
            image([0.25, 0.75], 2, false),
            image([0.75, 0.25], 1, true),
        ]);
        let size = picture_size(&p, (10, 20));
        assert_eq!(size, (400, 200));
        let grid = Slots::fit(size, 2);
        assert_eq!(
            (grid.side, grid.columns, grid.rows),
            (96, 4, 2),
            "large thumbnails"
        );
        let blue = Rgb([0, 0, 250]);
        let red = Rgb([250, 0, 0]);
        let (pic, shown) = compose(&p, size, |img, s| {
            assert_eq!(s, grid.side);
            Some(RgbImage::from_pixel(
                s,
                s,
                if img.current { red } else { blue },
            ))
        });
        assert_eq!(shown, 2);
        // Upper left (map y up): the first image, in the second slot of the first row; lower
        // right: the current one, in the last slot of the second row.
        let centre = |slot| {
            let (x, y) = grid.corner(slot);
            ((x + 48) as u32, (y + 48) as u32)
        };
        let (x, y) = centre([1, 0]);
        assert_eq!(*pic.get_pixel(x, y), blue);
        let (x, y) = centre([3, 1]);
        assert_eq!(*pic.get_pixel(x, y), red);
        // Its frame is white, 3 pixels wide, around the tile.
        assert_eq!(*pic.get_pixel(x - 48 - 2, y), Rgb([255, 255, 255]));
        // The crosshair in the middle; the background elsewhere.
        assert_eq!(*pic.get_pixel(200, 100), Rgb([255, 220, 0]));
        assert_eq!(*pic.get_pixel(5, 195), Rgb([16, 16, 20]));
    }

    #[test]
    fn a_pile_of_images_is_drawn_whole_every_one_visible() {
        // 60 images on one spot: each drawn in its own colour, and every colour is seen.
        let images: Vec<MapImage> = (0..60)
            .map(|i| image([0.5 + i as f32 * 1e-4, 0.5], 2 + i % 3, i == 0))
            .collect();
        let p = picture(images);
        let size = picture_size(&p, (10, 20));
        let colour = |img: &MapImage| {
            let k: u8 = img.path.to_str().unwrap().len() as u8;
            let i = (img.at[0] - 0.5) / 1e-4;
            Rgb([i.round() as u8 * 4, k, 200])
        };
        let (pic, shown) = compose(&p, size, |img, s| {
            Some(RgbImage::from_pixel(s, s, colour(img)))
        });
        assert_eq!(shown, 60);
        let seen: HashSet<Rgb<u8>> = pic.pixels().copied().collect();
        for img in &p.images {
            assert!(seen.contains(&colour(img)), "{:?} hidden", img.path);
        }
    }

    #[test]
    fn an_image_beyond_the_frame_is_marked_at_its_side() {
        let mut far = image([1.0, 0.5], 2, false);
        far.outside = [1, 0];
        let p = MapPicture {
            crosshair: None,
            ..picture(vec![far, image([0.0, 0.5], 2, false)])
        };
        let size = (400, 200);
        let grid = Slots::fit(size, 2);
        let (pic, _) = compose(&p, size, |_, s| {
            Some(RgbImage::from_pixel(s, s, Rgb([0, 0, 250])))
        });
        let placed = slots::place(&[[1.0, 0.5], [0.0, 0.5]], &[0, 0], grid.columns, grid.rows);
        let side = grid.side as i64;
        // The far one: orange at its right edge's middle, not at its left.
        let (x, y) = grid.corner(placed[0].unwrap());
        assert_eq!(
            *pic.get_pixel((x + side - 2) as u32, (y + side / 2) as u32),
            BEYOND
        );
        assert_ne!(
            *pic.get_pixel((x + 2) as u32, (y + side / 2) as u32),
            BEYOND
        );
        // The other: unmarked.
        let (x, y) = grid.corner(placed[1].unwrap());
        assert!((0..side).all(|d| *pic.get_pixel((x + d) as u32, (y + side / 2) as u32) != BEYOND));
    }

    #[test]
    fn thumbnails_are_as_large_as_the_images_in_view_let_them_be() {
        let size = (1600, 480);
        let few = Slots::fit(size, 10);
        let many = Slots::fit(size, 500);
        let too_many = Slots::fit(size, 100_000);
        assert!(few.side > many.side && many.side >= too_many.side);
        assert_eq!(few.side, SIDE.1);
        assert!(many.columns * many.rows >= 1000, "{many:?}");
        assert_eq!(too_many.side, SIDE.0);
        // The grid is centred on the picture.
        for g in [few, many, too_many] {
            let pitch = g.side + GAP;
            let right = size.0 - (g.origin.0 + g.columns as u32 * pitch - GAP);
            assert!(right.abs_diff(g.origin.0) <= 1, "{g:?}");
        }
    }

    #[test]
    fn a_large_pane_is_drawn_at_most_at_the_largest_size_keeping_its_aspect() {
        let p = MapPicture {
            cells: (300, 100),
            ..picture(Vec::new())
        };
        let (w, h) = picture_size(&p, (10, 20));
        assert!(w <= MAX_PIXELS.0 && h <= MAX_PIXELS.1);
        assert!(((w as f32 / h as f32) - 1.5).abs() < 0.01);
    }
}
