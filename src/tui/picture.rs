//! The map as one picture (PixPlot's idea, in a terminal): every image of the part of the map
//! in view drawn as a small thumbnail at its map position, framed in its cluster's colour.
//! Drawn on a worker; the screen then sends one image per redraw.

use image::{Rgb, RgbImage, imageops};

use super::app::{MapImage, MapPicture};
use super::theme::cluster_colour as colour;

/// Largest picture drawn, in pixels (width, height): the terminal scales it to the pane.
const MAX_PIXELS: (u32, u32) = (1600, 1000);

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

/// The side of one thumbnail, in pixels, on a picture `height` pixels high: an eighth of it
/// at zoom 1, growing with the square root of the zoom, between 16 and 128.
pub fn tile_side(height: u32, zoom: f32) -> u32 {
    ((height as f32 / 8.0) * zoom.max(1.0).sqrt()).clamp(16.0, 128.0) as u32
}

/// Draws `p` on a `size` picture. `thumbnail(image, side)` gives an image's thumbnail at most
/// `side` pixels a side (or `None`: a coloured square stands for it). Later images are drawn
/// on top; frames are 1 pixel (2 for the current cluster, 3 and white for the current image).
pub fn compose(
    p: &MapPicture,
    size: (u32, u32),
    mut thumbnail: impl FnMut(&MapImage, u32) -> Option<RgbImage>,
) -> RgbImage {
    let (w, h) = size;
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([16, 16, 20]));
    let side = tile_side(h, p.zoom);
    for image in &p.images {
        let frame = frame_colour(image);
        let tile = match thumbnail(image, side) {
            Some(t) => t,
            None => RgbImage::from_pixel(side / 2, side / 2, dim(frame, 2)),
        };
        let (tw, th) = tile.dimensions();
        // Centred on the position; y grows upwards on the map, downwards in the picture.
        let x = (image.at[0] * w as f32) as i64 - tw as i64 / 2;
        let y = ((1.0 - image.at[1]) * h as f32) as i64 - th as i64 / 2;
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
    }
    if let Some([cx, cy]) = p.crosshair {
        let x = (cx * w as f32) as i64;
        let y = ((1.0 - cy) * h as f32) as i64;
        let yellow = Rgb([255, 220, 0]);
        let arm = (side as i64).max(12);
        fill(&mut canvas, x - arm, y - 1, 2 * arm as u32, 3, yellow);
        fill(&mut canvas, x - 1, y - arm, 3, 2 * arm as u32, yellow);
    }
    canvas
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
    use std::path::PathBuf;

    fn image(at: [f32; 2], cluster: usize, current: bool) -> MapImage {
        MapImage {
            path: PathBuf::from(format!("{cluster}-{}.png", at[0])),
            hash: [0; 32],
            at,
            cluster,
            bright: cluster == 1,
            current,
        }
    }

    #[test]
    fn thumbnails_land_at_their_map_positions_later_ones_on_top() {
        let p = MapPicture {
            images: vec![
                image([0.25, 0.75], 2, false),
                image([0.75, 0.25], 1, false),
                image([0.75, 0.25], 1, true),
            ],
            cells: (40, 10),
            zoom: 1.0,
            crosshair: Some([0.5, 0.5]),
        };
        let size = picture_size(&p, (10, 20));
        assert_eq!(size, (400, 200));
        let side = tile_side(size.1, 1.0);
        assert_eq!(side, 25);
        let blue = Rgb([0, 0, 250]);
        let red = Rgb([250, 0, 0]);
        let pic = compose(&p, size, |img, s| {
            assert_eq!(s, side);
            Some(RgbImage::from_pixel(
                s,
                s,
                if img.current { red } else { blue },
            ))
        });
        // Upper left quarter (map y up): the first image; lower right: the current one on top.
        assert_eq!(*pic.get_pixel(100, 50), blue);
        assert_eq!(*pic.get_pixel(300, 150), red);
        // Its frame is white, 3 pixels wide, around the tile.
        let left = 300 - side / 2 - 2;
        assert_eq!(*pic.get_pixel(left, 150), Rgb([255, 255, 255]));
        // The crosshair in the middle; the background elsewhere.
        assert_eq!(*pic.get_pixel(200, 100), Rgb([255, 220, 0]));
        assert_eq!(*pic.get_pixel(5, 195), Rgb([16, 16, 20]));
    }

    #[test]
    fn a_large_pane_is_drawn_at_most_at_the_largest_size_keeping_its_aspect() {
        let p = MapPicture {
            images: Vec::new(),
            cells: (300, 100),
            zoom: 4.0,
            crosshair: None,
        };
        let (w, h) = picture_size(&p, (10, 20));
        assert!(w <= MAX_PIXELS.0 && h <= MAX_PIXELS.1);
        assert!(((w as f32 / h as f32) - 1.5).abs() < 0.01);
        assert!(tile_side(h, 4.0) > tile_side(h, 1.0));
    }
}
