//! Bytes → an upright, opaque RGB image of the size a feature extractor wants.

use std::io::Cursor;

use fast_image_resize as fir;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

/// How images are decoded. Part of a feature id: change any field and vectors are recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Colour that transparent pixels are composited onto.
    pub background: [u8; 3],
    /// Largest width or height accepted, in pixels.
    pub max_side: u32,
    /// Largest decoded size accepted, in bytes (guards against decompression bombs).
    pub max_alloc: u64,
}

impl Default for DecodeOptions {
    /// White background, 32,768 pixels a side, 512 MiB decoded: the values of
    /// `config/default.toml` (a test in `config` keeps the two the same).
    fn default() -> Self {
        DecodeOptions {
            background: [255, 255, 255],
            max_side: 32_768,
            max_alloc: 512 << 20,
        }
    }
}

/// Why an image could not be used. Shown to the user next to the file name.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a recognised image format")]
    UnknownFormat,
    #[error("unsupported image: {0}")]
    Unsupported(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

impl From<image::ImageError> for DecodeError {
    fn from(e: image::ImageError) -> Self {
        use image::ImageError as E;
        match e {
            E::Limits(l) => DecodeError::TooLarge(l.to_string()),
            E::Unsupported(u) => DecodeError::Unsupported(u.to_string()),
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// Decodes `bytes` (format sniffed from the content, not the file name), applies the EXIF
/// orientation and flattens transparency onto the background. GIFs give their first frame.
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if reader.format().is_none() {
        return Err(DecodeError::UnknownFormat);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(opts.max_side);
    limits.max_image_height = Some(opts.max_side);
    limits.max_alloc = Some(opts.max_alloc);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder()?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(DecodeError::Corrupt("zero-sized image".into()));
    }
    if decoder.total_bytes() > opts.max_alloc {
        return Err(DecodeError::TooLarge(format!(
            "{w}×{h} needs {} MiB to decode (limit {} MiB)",
            decoder.total_bytes() >> 20,
            opts.max_alloc >> 20
        )));
    }
    limits.reserve(decoder.total_bytes())?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img)
}

/// [`decode`] for an image that will be shrunk to `min` (width, height): a JPEG at least twice
/// that size is decoded at 1/2, 1/4 or 1/8 scale inside its DCT (the smallest scale that still
/// covers `min`), which skips most of the decoding work; a 2048² photo for a 224² model decodes
/// at 1/8. Anything else, and any JPEG the scaled decoder cannot read, goes through [`decode`].
pub fn decode_at_least(
    bytes: &[u8],
    opts: &DecodeOptions,
    min: (u32, u32),
) -> Result<DynamicImage, DecodeError> {
    match scaled_jpeg(bytes, opts, min) {
        Some(img) => Ok(img),
        None => decode(bytes, opts),
    }
}

fn scaled_jpeg(bytes: &[u8], opts: &DecodeOptions, (mw, mh): (u32, u32)) -> Option<DynamicImage> {
    use jpeg_decoder::PixelFormat;
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) || mw == 0 || mh == 0 {
        return None;
    }
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w > opts.max_side || h > opts.max_side {
        return None; // decode() says why
    }
    let factor = [8, 4, 2].into_iter().find(|f| w / f >= mw && h / f >= mh)?;
    // The decoder takes the smallest factor giving at least this size: exactly `factor`.
    let (sw, sh) = decoder
        .scale(w.div_ceil(factor) as u16, h.div_ceil(factor) as u16)
        .ok()?;
    let pixels = decoder.decode().ok()?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let mut img = match info.pixel_format {
        PixelFormat::L8 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(sw, sh, pixels)?),
        PixelFormat::RGB24 => DynamicImage::ImageRgb8(RgbImage::from_raw(sw, sh, pixels)?),
        _ => return None, // 16-bit and CMYK: the general path
    };
    if let Some(o) = decoder
        .exif_data()
        .and_then(image::metadata::Orientation::from_exif_chunk)
    {
        img.apply_orientation(o);
    }
    Some(img)
}

/// How an image is brought to a model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// The whole image, stretched to the size.
    #[default]
    Stretch,
    /// The largest centred part with the size's aspect ratio, scaled to it.
    Crop,
}

/// Resizes to exactly `width`×`height` (stretching), compositing any alpha onto `background`.
pub fn resize_rgb(img: &DynamicImage, width: u32, height: u32, background: [u8; 3]) -> RgbImage {
    resize_rgb_fit(img, width, height, background, Fit::Stretch)
}

/// [`resize_rgb`] with a choice of [`Fit`].
pub fn resize_rgb_fit(
    img: &DynamicImage,
    width: u32,
    height: u32,
    background: [u8; 3],
    fit: Fit,
) -> RgbImage {
    let (has_alpha, pixel_type, src) = if img.color().has_alpha() {
        (true, fir::PixelType::U8x4, img.to_rgba8().into_raw())
    } else {
        (false, fir::PixelType::U8x3, img.to_rgb8().into_raw())
    };
    let src = fir::images::Image::from_vec_u8(img.width(), img.height(), src, pixel_type)
        .expect("buffer matches its dimensions");
    let mut dst = fir::images::Image::new(width, height, pixel_type);
    let mut options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear));
    if fit == Fit::Crop {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    fir::Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("same pixel type on both sides");
    let buf = dst.into_vec();
    let rgb = if has_alpha {
        composite(&buf, background)
    } else {
        buf
    };
    RgbImage::from_raw(width, height, rgb).expect("buffer matches its dimensions")
}

/// RGBA → RGB over a solid background. The resizer works on premultiplied alpha, so
/// resizing first and compositing after gives the same picture as the other way round.
fn composite(rgba: &[u8], background: [u8; 3]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        let a = px[3] as u32;
        for c in 0..3 {
            let v = (px[c] as u32 * a + background[c] as u32 * (255 - a) + 127) / 255;
            out.push(v as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_pixels_take_the_background() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            4,
            4,
            image::Rgba([255, 0, 0, 0]),
        ));
        let out = resize_rgb(&img, 2, 2, [10, 20, 30]);
        assert!(out.pixels().all(|p| p.0 == [10, 20, 30]));
    }

    #[test]
    fn garbage_is_not_an_image() {
        let err = decode(b"hello, world", &DecodeOptions::default()).unwrap_err();
        assert!(matches!(err, DecodeError::UnknownFormat));
    }
}
