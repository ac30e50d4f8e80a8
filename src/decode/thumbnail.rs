//! Thumbnails for the explorer's grid: an upright image at most [`THUMBNAIL_SIZE`] pixels on
//! its long side, kept as a JPEG in the feature store.
//!
//! * Larger images are shrunk (aspect kept) with a Catmull-Rom filter: sharp at 160 px
//!   without ringing.
//! * Tiny images (long side under [`MIN_SIDE`], such as 28×28 sprites) are enlarged by a whole
//!   factor, each pixel repeated: their pixels stay crisp squares, as they are, instead of a
//!   blur, and the JPEG's 8×8 blocks and halved colour resolution no longer smear them (at
//!   28 px one block is a quarter of the image). The grid scales them the rest of the way.
//! * Images in between are kept at their own size.
//! * Transparent pixels are composited onto mid-grey ([`BACKGROUND`]): dark and light sprites
//!   both stay visible, and a flat colour costs the JPEG nothing (a checkerboard would cost
//!   bytes and clutter a grid of small cells).

use std::io::Cursor;

use fast_image_resize as fir;
use image::{DynamicImage, ImageFormat, RgbImage};

/// The long side of a thumbnail, in pixels (at most; smaller images are not enlarged past
/// their own size, except tiny ones, see [`MIN_SIDE`]).
pub const THUMBNAIL_SIZE: u32 = 160;

/// Images whose long side is under this many pixels are enlarged by a whole factor to reach it.
pub const MIN_SIDE: u32 = 64;

/// The colour transparent pixels are composited onto: mid-grey.
pub const BACKGROUND: [u8; 3] = [128, 128, 128];

/// JPEG quality of stored thumbnails (1–100).
pub const QUALITY: u8 = 80;

/// The thumbnail of an upright image: at most [`THUMBNAIL_SIZE`] pixels on the long side,
/// aspect kept (each side at least 1 pixel), opaque (alpha composited onto [`BACKGROUND`]).
/// A long side under [`MIN_SIDE`] is enlarged by the smallest whole factor that reaches it.
pub fn make_thumbnail(img: &DynamicImage) -> RgbImage {
    let (w, h) = (img.width().max(1), img.height().max(1));
    let long = w.max(h);
    let (tw, th, alg) = if long > THUMBNAIL_SIZE {
        let side = |s: u32| {
            ((u64::from(s) * u64::from(THUMBNAIL_SIZE) + u64::from(long) / 2) / u64::from(long))
                .max(1) as u32
        };
        let filter = fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom);
        (side(w), side(h), filter)
    } else if long < MIN_SIDE {
        let factor = MIN_SIDE.div_ceil(long);
        (w * factor, h * factor, fir::ResizeAlg::Nearest)
    } else {
        (w, h, fir::ResizeAlg::Nearest)
    };
    super::resize_with(img, tw, th, BACKGROUND, super::Fit::Stretch, alg, 1.0)
}

/// `t` as a baseline JPEG of quality [`QUALITY`]: about 1–8 KB for a 160 px thumbnail.
///
/// # Panics
/// When a side of `t` is over 65,535 pixels, JPEG's limit ([`make_thumbnail`] gives at most
/// [`THUMBNAIL_SIZE`]).
pub fn encode_thumbnail(t: &RgbImage) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::with_capacity(4096);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .write_image(
            t.as_raw(),
            t.width(),
            t.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("a JPEG of at most 65,535 pixels a side, written to memory");
    out
}

/// The image of a stored thumbnail (a JPEG from [`encode_thumbnail`]).
///
/// Fails when `bytes` are not a whole JPEG.
pub fn decode_thumbnail(bytes: &[u8]) -> anyhow::Result<RgbImage> {
    let img = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg)?;
    Ok(img.to_rgb8())
}

/// The width and height of a stored thumbnail, read from its JPEG header alone.
///
/// Fails when `bytes` do not start like a JPEG.
pub fn thumbnail_size(bytes: &[u8]) -> anyhow::Result<(u32, u32)> {
    Ok(image::ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg).into_dimensions()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(w: u32, h: u32) -> (u32, u32) {
        let t = make_thumbnail(&DynamicImage::ImageRgb8(RgbImage::new(w, h)));
        (t.width(), t.height())
    }

    #[test]
    fn thumbnails_keep_the_aspect_within_the_size() {
        assert_eq!(size(1024, 768), (160, 120));
        assert_eq!(size(768, 1024), (120, 160));
        assert_eq!(size(5000, 10), (160, 1));
        assert_eq!(size(100, 80), (100, 80));
        assert_eq!(size(160, 160), (160, 160));
        // Tiny ones grow by a whole factor to at least 64 px.
        assert_eq!(size(28, 28), (84, 84));
        assert_eq!(size(16, 8), (64, 32));
        assert_eq!(size(1, 1), (64, 64));
    }

    #[test]
    fn tiny_images_keep_crisp_pixels_and_transparency_turns_grey() {
        let img = image::RgbaImage::from_fn(2, 1, |x, _| {
            image::Rgba(if x == 0 {
                [255, 0, 0, 255]
            } else {
                [0, 0, 0, 0]
            })
        });
        let t = make_thumbnail(&DynamicImage::ImageRgba8(img));
        assert_eq!((t.width(), t.height()), (64, 32));
        assert_eq!(t.get_pixel(31, 31).0, [255, 0, 0]);
        assert_eq!(t.get_pixel(32, 0).0, BACKGROUND);
    }

    #[test]
    fn encoded_thumbnails_decode_at_their_size() {
        let t = make_thumbnail(&DynamicImage::ImageRgb8(RgbImage::from_fn(
            300,
            200,
            |x, y| image::Rgb([x as u8, y as u8, 90]),
        )));
        let bytes = encode_thumbnail(&t);
        assert_eq!(thumbnail_size(&bytes).unwrap(), (160, 107));
        let back = decode_thumbnail(&bytes).unwrap();
        assert_eq!(back.dimensions(), t.dimensions());
        assert!(decode_thumbnail(b"not a jpeg").is_err());
    }
}
