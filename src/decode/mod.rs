//! Bytes → an upright, opaque RGB image of the size a feature extractor wants.
//!
//! Orientation: every container that can carry one is read the same way ([`exif_orientation`]):
//! JPEG APP1, PNG eXIf (before IDAT, as the PNG spec says), WebP EXIF with or without the
//! `Exif\0\0` prefix many writers add, and TIFF tag 274; all eight values.
//!
//! Errors tell a damaged file ([`DecodeError::Corrupt`]) from a valid one in a coding or format
//! this build cannot decode ([`DecodeError::Unsupported`], e.g. an arithmetic-coded JPEG), so a
//! user never has to guess whether their files are broken.

pub mod encoding;
mod formats;
mod heif;
pub mod signature;
pub mod thumbnail;

use std::io::Cursor;

use fast_image_resize as fir;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

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
    /// Not an image format imgtui knows at all (text, random bytes).
    #[error("not a recognised image format")]
    UnknownFormat,
    /// A valid file in a format or coding this build cannot decode, e.g. "arithmetic-coded
    /// JPEG" or "HEIF image": nothing is wrong with the file.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Larger than the limits allow (a decompression bomb, or simply too big).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The file is damaged: truncated, or its data contradicts its own headers.
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

impl From<image::ImageError> for DecodeError {
    fn from(e: image::ImageError) -> Self {
        use image::ImageError as E;
        match e {
            E::Limits(l) => DecodeError::TooLarge(l.to_string()),
            E::Unsupported(u) => DecodeError::Unsupported(describe_unsupported(&u)),
            // image-webp reports a valid file it cannot decode (a VP8 inter frame) as a
            // decoding error: it is not damaged.
            E::Decoding(d) => match std::error::Error::source(&d)
                .and_then(|s| s.downcast_ref::<image_webp::DecodingError>())
            {
                Some(image_webp::DecodingError::UnsupportedFeature(what)) => {
                    DecodeError::Unsupported(format!("WebP with {what}"))
                }
                _ => DecodeError::Corrupt(d.to_string()),
            },
            other => DecodeError::Corrupt(other.to_string()),
        }
    }
}

/// `image`'s refusal in a few words: "TIFF: compression method Fax3 is unsupported", "TIFF in
/// colour type Unknown(32)", "AVIF image".
fn describe_unsupported(u: &image::error::UnsupportedError) -> String {
    use image::error::{ImageFormatHint, UnsupportedErrorKind as K};
    let name = |hint: &ImageFormatHint| match hint {
        ImageFormatHint::Exact(f) => f
            .extensions_str()
            .first()
            .map_or_else(|| format!("{f:?}"), |e| e.to_uppercase()),
        other => other.to_string(),
    };
    let format = name(&u.format_hint());
    match u.kind() {
        K::GenericFeature(what) => format!("{format}: {what}"),
        K::Color(colour) => format!("{format} in colour type {colour:?}"),
        K::Format(hint) => format!("{} image", name(&hint)),
        _ => u.to_string(),
    }
}

/// Decodes `bytes` (format sniffed from the content, not the file name) and applies the EXIF
/// orientation. GIFs and animated WebPs give their first frame; JPEG XL is decoded by
/// jxl-oxide, SVG rasterised by resvg (nothing outside the file is loaded), and a camera RAW
/// file gives its largest embedded JPEG preview (the sensor data is not demosaiced). HEIF/HEIC
/// and AVIF are decoded by the system's libheif in a build with the `heif` / `avif` feature,
/// turned upright by the file's own transforms (its EXIF orientation is not applied on top).
///
/// A JPEG the main decoder (zune-jpeg) rejects gets a second decoder (jpeg-decoder), which also
/// reads lossless JPEG (SOF3) and names the coding of a valid file neither can decode.
///
/// # Errors
/// [`DecodeError::Unsupported`] for a valid file this build cannot decode (arithmetic-coded,
/// hierarchical or 12-bit JPEG; HEIF and AVIF without their feature (the reason names it);
/// JPEG 2000; a camera RAW file without a JPEG preview;
/// BMP holding a JPEG or PNG; TIFF
/// compressions the tiff crate lacks), [`DecodeError::TooLarge`] beyond `opts`' limits,
/// [`DecodeError::Corrupt`] for a damaged file, [`DecodeError::UnknownFormat`] otherwise.
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    if let Some(kind) = heif::kind(bytes) {
        return heif::decode(bytes, kind, opts);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    // TGA has no signature to sniff: recognise it by its footer or a plausible header.
    let tga = reader
        .format()
        .is_none()
        .then(|| tga_evidence(bytes))
        .flatten();
    if let Some(evidence) = tga {
        reader.set_format(ImageFormat::Tga);
        return match decode_with(reader, opts) {
            Err(DecodeError::Corrupt(_)) if evidence == Evidence::Header => {
                Err(DecodeError::UnknownFormat) // it only looked like a TGA header
            }
            other => other,
        };
    }
    if formats::is_jxl(bytes) {
        return formats::decode_jxl(bytes, opts);
    }
    if let Some(kind) = formats::raw_kind(bytes) {
        return formats::raw_preview(bytes, kind, opts);
    }
    if reader.format().is_none() && formats::is_svg(bytes) {
        return formats::render_svg(bytes, opts);
    }
    let Some(format) = reader.format() else {
        return Err(match unsupported_container(bytes) {
            Some(what) => DecodeError::Unsupported(what.to_owned()),
            None => DecodeError::UnknownFormat,
        });
    };
    if format == ImageFormat::Avif {
        // `image` reads no AVIF in this build: one its sniffing knows and ours missed.
        return heif::decode(bytes, heif::Kind::Avif, opts);
    }
    if let Some(what) = unsupported_variant(bytes, format) {
        return Err(DecodeError::Unsupported(what));
    }
    if format == ImageFormat::Jpeg && jpeg_is_cut(bytes) {
        return Err(truncated_jpeg());
    }
    // A colour profile that would inflate past the cap is left out before the PNG decoder
    // inflates it (imgtui does not use profiles; the pixels are decoded as they are).
    if format == ImageFormat::Png
        && let Some(stripped) = png_without_large_profile(bytes)
    {
        let mut reader = ImageReader::new(Cursor::new(&stripped[..]));
        reader.set_format(ImageFormat::Png);
        return decode_with(reader, opts);
    }
    match decode_with(reader, opts) {
        // An icon whose PNG entry is RGB rather than RGBA, which `image` refuses.
        Err(first @ DecodeError::Corrupt(_)) if format == ImageFormat::Ico => {
            match largest_ico_png(bytes) {
                Some(png) if png.len() < bytes.len() => decode(png, opts).map_err(|_| first),
                _ => Err(first),
            }
        }
        Err(first @ (DecodeError::Corrupt(_) | DecodeError::Unsupported(_)))
            if format == ImageFormat::Jpeg =>
        {
            match jpeg_second_decoder(bytes, opts) {
                Ok(img) => Ok(img),
                Err(e @ (DecodeError::Unsupported(_) | DecodeError::TooLarge(_))) => Err(e),
                Err(_) => Err(first),
            }
        }
        other => other,
    }
}

/// The format of `bytes` as people name it ("PNG", "JPEG", "WebP", "JPEG XL", "SVG", "HEIF",
/// "AVIF", "CR2 (RAW)"…), recognised by content as [`decode`] recognises it; `None` for what
/// it does not recognise. Nothing is decoded.
pub fn format_name(bytes: &[u8]) -> Option<String> {
    if let Some(kind) = heif::kind(bytes) {
        return Some(match kind {
            heif::Kind::Heif => "HEIF".into(),
            heif::Kind::Avif => "AVIF".into(),
        });
    }
    if formats::is_jxl(bytes) {
        return Some("JPEG XL".into());
    }
    if let Some(kind) = formats::raw_kind(bytes) {
        return Some(format!("{kind} (RAW)"));
    }
    let format = image::guess_format(bytes).ok();
    if format.is_none() && formats::is_svg(bytes) {
        return Some("SVG".into());
    }
    if format.is_none() && tga_evidence(bytes).is_some() {
        return Some("TGA".into());
    }
    Some(match format? {
        ImageFormat::WebP => "WebP".into(),
        ImageFormat::OpenExr => "OpenEXR".into(),
        other => format!("{other:?}").to_uppercase(),
    })
}

/// Width and height in pixels as the header of `bytes` says, for the formats `image` reads
/// (PNG, JPEG, WebP, GIF, TIFF, BMP…), before any orientation is applied; `None` for the
/// others and for a header that cannot be read. Nothing is decoded.
pub fn header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if heif::kind(bytes).is_some() || formats::raw_kind(bytes).is_some() {
        return None;
    }
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// The most an ancillary PNG chunk (a colour profile) may inflate to: libpng's default
/// limit for such chunks.
pub const ANCILLARY_LIMIT: usize = 8 << 20;

/// The most memory a decoder may take beyond the decoded pixels themselves.
pub const BEYOND_PIXELS: u64 = 100 << 20;

/// `png` with its `iCCP` chunk (colour profile) left out, when that chunk would inflate to
/// more than [`ANCILLARY_LIMIT`] or does not inflate at all; `None` when it has none or a
/// fine one. A file that is not a well-formed run of PNG chunks is left to the decoder.
/// (zTXt and iTXt text is inflated only on request, which imgtui never makes.)
fn png_without_large_profile(png: &[u8]) -> Option<Vec<u8>> {
    const SIGNATURE: usize = 8;
    let mut at = SIGNATURE;
    while at + 12 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().ok()?) as usize;
        let kind = &png[at + 4..at + 8];
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > png.len() || kind == b"IDAT" || kind == b"IEND" {
            return None; // a profile comes before the pixels
        }
        if kind == b"iCCP" {
            let data = &png[at + 8..at + 8 + len];
            let name_end = data.iter().position(|&b| b == 0)?;
            let stream = data.get(name_end + 2..)?;
            if fdeflate::decompress_to_vec_bounded(stream, ANCILLARY_LIMIT).is_ok() {
                return None;
            }
            let mut out = Vec::with_capacity(png.len() - (end - at));
            out.extend_from_slice(&png[..at]);
            out.extend_from_slice(&png[end..]);
            return Some(out);
        }
        at = end;
    }
    None
}

fn limits(opts: &DecodeOptions) -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(opts.max_side);
    limits.max_image_height = Some(opts.max_side);
    limits.max_alloc = Some(opts.max_alloc);
    limits
}

fn decode_with(
    mut reader: ImageReader<Cursor<&[u8]>>,
    opts: &DecodeOptions,
) -> Result<DynamicImage, DecodeError> {
    reader.limits(limits(opts));
    decode_decoder(reader.into_decoder()?, opts)
}

/// Decodes with `decoder` within `opts`' limits and turns the image upright.
fn decode_decoder(
    mut decoder: impl ImageDecoder,
    opts: &DecodeOptions,
) -> Result<DynamicImage, DecodeError> {
    let mut limits = limits(opts);
    decoder.set_limits(limits.clone())?;
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
    // What the decoder may take beyond the pixels is capped too (its own buffers, metadata).
    limits.max_alloc = Some(opts.max_alloc.min(decoder.total_bytes() + BEYOND_PIXELS));
    decoder.set_limits(limits.clone())?;
    limits.reserve(decoder.total_bytes())?;
    // Read before the pixels: a PNG's eXIf after IDAT is then not seen, as the spec wants.
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = exif
        .as_deref()
        .and_then(exif_orientation)
        .or_else(|| decoder.orientation().ok()); // TIFF's own tag 274
    let mut img = DynamicImage::from_decoder(decoder)?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img)
}

/// The orientation an EXIF block holds (tag 0x0112 of its first IFD), or `None` when it holds
/// none or a value outside 1..=8.
///
/// `chunk` is a TIFF stream (`II*\0` or `MM\0*`), optionally behind the `Exif\0\0` prefix
/// of JPEG's APP1, which many writers also put in WebP's EXIF chunk and PNG's eXIf. The value
/// may be a SHORT (the standard) or a LONG. Reads stay inside `chunk`.
pub fn exif_orientation(chunk: &[u8]) -> Option<Orientation> {
    let tiff = chunk.strip_prefix(b"Exif\0\0").unwrap_or(chunk);
    let big = match tiff.get(..4)? {
        b"II*\0" => false,
        b"MM\0*" => true,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let entries = u16_at(ifd)? as usize;
    for e in 0..entries {
        let at = ifd.checked_add(2 + 12 * e)?;
        if u16_at(at)? != 0x0112 {
            continue;
        }
        let value = match (u16_at(at + 2)?, u32_at(at + 4)?) {
            (3, 1) => u32::from(u16_at(at + 8)?), // SHORT
            (4, 1) => u32_at(at + 8)?,            // LONG
            _ => return None,
        };
        return Orientation::from_exif(u8::try_from(value).ok()?);
    }
    None
}

/// How sure [`tga_evidence`] is that bytes are a TGA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// The TGA 2.0 footer, `TRUEVISION-XFILE.\0`.
    Footer,
    /// Only a header whose fields all hold values TGA allows.
    Header,
}

/// Whether `bytes` look like a TGA file, which has no leading signature.
fn tga_evidence(bytes: &[u8]) -> Option<Evidence> {
    if bytes.len() < 18 {
        return None;
    }
    if bytes.ends_with(b"TRUEVISION-XFILE.\0") {
        return Some(Evidence::Footer);
    }
    let (colour_map, kind, bits, descriptor) = (bytes[1], bytes[2], bytes[16], bytes[17]);
    let side = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let plausible = colour_map <= 1
        && matches!(kind, 1 | 2 | 3 | 9 | 10 | 11)
        && matches!(bits, 8 | 15 | 16 | 24 | 32)
        && descriptor & 0xC0 == 0
        && side(12) > 0
        && side(14) > 0;
    plausible.then_some(Evidence::Header)
}

/// The PNG of an ICO's largest PNG entry, if it has one.
fn largest_ico_png(bytes: &[u8]) -> Option<&[u8]> {
    let count = usize::from(u16::from_le_bytes(bytes.get(4..6)?.try_into().ok()?));
    (0..count)
        .filter_map(|i| {
            let entry = bytes.get(6 + 16 * i..22 + 16 * i)?;
            let side = |b: u8| if b == 0 { 256 } else { u32::from(b) };
            let size = u32::from_le_bytes(entry[8..12].try_into().ok()?) as usize;
            let offset = u32::from_le_bytes(entry[12..16].try_into().ok()?) as usize;
            let data = bytes.get(offset..offset.checked_add(size)?)?;
            data.starts_with(b"\x89PNG\r\n\x1a\n")
                .then(|| (side(entry[0]) * side(entry[1]), data))
        })
        .max_by_key(|(area, _)| *area)
        .map(|(_, data)| data)
}

/// Whether a JPEG stops before its end: no EOI marker after its first scan. Entropy-coded
/// data cannot hold `FF D9` (a data byte `FF` is always followed by `00`), so a whole file
/// has one there; the decoders would otherwise fill a cut-off image with grey and call it fine.
fn jpeg_is_cut(bytes: &[u8]) -> bool {
    let Some(scan) = bytes.windows(2).position(|w| w == [0xFF, 0xDA]) else {
        return true;
    };
    !bytes[scan..].windows(2).any(|w| w == [0xFF, 0xD9])
}

fn truncated_jpeg() -> DecodeError {
    DecodeError::Corrupt("truncated JPEG (it ends before its image data does)".into())
}

/// A container `image` does not recognise but a user would call an image, by its signature.
fn unsupported_container(bytes: &[u8]) -> Option<&'static str> {
    // HEIF and AVIF (ISO base media files) are recognised first, by `heif::kind`.
    if bytes.starts_with(b"\0\0\0\x0CjP  \r\n\x87\n")
        || bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
    {
        return Some("JPEG 2000 image");
    }
    if bytes.starts_with(b"8BPS") {
        return Some("Photoshop document");
    }
    None
}

/// A valid variant of a recognised format that this build cannot decode and whose decoder
/// would call it corrupt, read from the header.
fn unsupported_variant(bytes: &[u8], format: ImageFormat) -> Option<String> {
    match format {
        // BITMAPINFOHEADER's compression field: BI_JPEG and BI_PNG (printer BMPs).
        ImageFormat::Bmp => match bytes
            .get(30..34)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        {
            Some(4) if bytes.get(14..18).is_some_and(|s| s != [12, 0, 0, 0]) => {
                Some("BMP holding a JPEG".into())
            }
            Some(5) => Some("BMP holding a PNG".into()),
            _ => None,
        },
        _ => None,
    }
}

/// Decodes a JPEG with jpeg-decoder: lossless JPEG (SOF3, 2–16 bits) and anything the main
/// decoder rejects. Its refusals name the coding ("arithmetic-coded JPEG").
fn jpeg_second_decoder(bytes: &[u8], opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    use jpeg_decoder::{Error, PixelFormat, UnsupportedFeature as F};
    let classify = |e: Error| match e {
        Error::Unsupported(f) => DecodeError::Unsupported(match f {
            F::ArithmeticEntropyCoding => "arithmetic-coded JPEG".into(),
            F::Hierarchical => "hierarchical JPEG".into(),
            F::SamplePrecision(p) => format!("{p}-bit JPEG"),
            F::ComponentCount(n) => format!("JPEG with {n} colour components"),
            F::DNL => "JPEG whose height is set by a DNL marker".into(),
            F::SubsamplingRatio | F::NonIntegerSubsamplingRatio => {
                "JPEG with an unusual chroma subsampling".into()
            }
            F::ColorTransform(t) => format!("JPEG in the {t:?} colour transform"),
        }),
        other => DecodeError::Corrupt(other.to_string()),
    };
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(usize::try_from(opts.max_alloc).unwrap_or(usize::MAX));
    decoder.read_info().map_err(classify)?;
    let info = decoder
        .info()
        .ok_or_else(|| DecodeError::Corrupt("no frame header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    if w == 0 || h == 0 {
        return Err(DecodeError::Corrupt("zero-sized image".into()));
    }
    let channels = info.pixel_format.pixel_bytes() as u64;
    // Lossless JPEG above 8 bits gives two bytes a sample.
    let needed = u64::from(w) * u64::from(h) * channels * 2;
    if w > opts.max_side || h > opts.max_side || needed > opts.max_alloc {
        return Err(DecodeError::TooLarge(format!(
            "{w}×{h} needs {} MiB to decode (limit {} MiB)",
            needed >> 20,
            opts.max_alloc >> 20
        )));
    }
    let pixels = decoder.decode().map_err(classify)?;
    let wide = pixels.len() as u64 == u64::from(w) * u64::from(h) * channels * 2;
    let sixteen = |pixels: Vec<u8>| -> Vec<u16> {
        pixels
            .chunks_exact(2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
            .collect()
    };
    let bad = || DecodeError::Corrupt("decoded size does not match the header".into());
    let mut img = match (info.pixel_format, wide) {
        (PixelFormat::L8, false) => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        (PixelFormat::L16, _) => DynamicImage::ImageLuma16(
            image::ImageBuffer::from_raw(w, h, sixteen(pixels)).ok_or_else(bad)?,
        ),
        (PixelFormat::RGB24, false) => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(bad)?)
        }
        (PixelFormat::RGB24, true) => DynamicImage::ImageRgb16(
            image::ImageBuffer::from_raw(w, h, sixteen(pixels)).ok_or_else(bad)?,
        ),
        // CMYK: the main decoder's verdict stands (it reads every CMYK JPEG it can).
        _ => return Err(DecodeError::Corrupt("CMYK".into())),
    };
    if let Some(o) = decoder.exif_data().and_then(exif_orientation) {
        img.apply_orientation(o);
    }
    Ok(img)
}

/// [`decode`] for an image that will be shrunk to `min` (width, height): a JPEG at least twice
/// that size is decoded at 1/2, 1/4 or 1/8 scale inside its DCT (the smallest scale that still
/// covers `min`), which skips most of the decoding work; a 2048² photo for a 224² model decodes
/// at 1/8. Anything else, and any JPEG the scaled decoder cannot read, goes through [`decode`].
///
/// Fails as [`decode`] does.
pub fn decode_at_least(
    bytes: &[u8],
    opts: &DecodeOptions,
    min: (u32, u32),
) -> Result<DynamicImage, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg_is_cut(bytes) {
        return Err(truncated_jpeg());
    }
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
    if info.coding_process == jpeg_decoder::CodingProcess::Lossless {
        return None; // no DCT to scale in
    }
    let factor = [8, 4, 2].into_iter().find(|f| w / f >= mw && h / f >= mh)?;
    // The decoder takes the smallest factor giving at least this size: exactly `factor`.
    let (sw, sh) = decoder
        .scale(w.div_ceil(factor) as u16, h.div_ceil(factor) as u16)
        .ok()?;
    let pixels = decoder.decode().ok()?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    if pixels.len() as u64 != u64::from(sw) * u64::from(sh) * info.pixel_format.pixel_bytes() as u64
    {
        return None;
    }
    let mut img = match info.pixel_format {
        PixelFormat::L8 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(sw, sh, pixels)?),
        PixelFormat::RGB24 => DynamicImage::ImageRgb8(RgbImage::from_raw(sw, sh, pixels)?),
        _ => return None, // 16-bit and CMYK: the general path
    };
    if let Some(o) = decoder.exif_data().and_then(exif_orientation) {
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
    let bilinear = fir::ResizeAlg::Convolution(fir::FilterType::Bilinear);
    resize_with(img, width, height, background, fit, bilinear, 1.0)
}

/// [`resize_rgb_fit`] with a choice of resizing algorithm, of the centre `fraction` (0..=1) of
/// each side of the image (1: all of it).
fn resize_with(
    img: &DynamicImage,
    width: u32,
    height: u32,
    background: [u8; 3],
    fit: Fit,
    alg: fir::ResizeAlg,
    fraction: f64,
) -> RgbImage {
    // 8-bit RGB and RGBA are read in place; other layouts are converted first.
    let converted: Vec<u8>;
    let (has_alpha, pixel_type, src): (bool, _, &[u8]) = match img {
        DynamicImage::ImageRgb8(b) => (false, fir::PixelType::U8x3, b.as_raw()),
        DynamicImage::ImageRgba8(b) => (true, fir::PixelType::U8x4, b.as_raw()),
        _ if img.color().has_alpha() => {
            converted = img.to_rgba8().into_raw();
            (true, fir::PixelType::U8x4, &converted)
        }
        _ => {
            converted = img.to_rgb8().into_raw();
            (false, fir::PixelType::U8x3, &converted)
        }
    };
    let src = fir::images::ImageRef::new(img.width(), img.height(), src, pixel_type)
        .expect("buffer matches its dimensions");
    let mut dst = fir::images::Image::new(width, height, pixel_type);
    let mut options = fir::ResizeOptions::new().resize_alg(alg);
    if fit == Fit::Crop {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    if fraction < 1.0 {
        let (w, h) = (f64::from(img.width()), f64::from(img.height()));
        let (cw, ch) = (w * fraction, h * fraction);
        options = options.crop((w - cw) / 2.0, (h - ch) / 2.0, cw, ch);
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
    fn formats_are_named_by_content_and_sizes_read_from_headers() {
        let encoded = |format| {
            let mut out = Cursor::new(Vec::new());
            DynamicImage::ImageRgb8(RgbImage::new(30, 20))
                .write_to(&mut out, format)
                .unwrap();
            out.into_inner()
        };
        let png = encoded(ImageFormat::Png);
        assert_eq!(format_name(&png).as_deref(), Some("PNG"));
        assert_eq!(header_size(&png), Some((30, 20)));
        let jpeg = encoded(ImageFormat::Jpeg);
        assert_eq!(format_name(&jpeg).as_deref(), Some("JPEG"));
        assert_eq!(header_size(&jpeg), Some((30, 20)));
        assert_eq!(
            format_name(&encoded(ImageFormat::WebP)).as_deref(),
            Some("WebP")
        );
        assert_eq!(format_name(b"\xFF\x0A rest").as_deref(), Some("JPEG XL"));
        assert_eq!(header_size(b"\xFF\x0A rest"), None);
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>"#;
        assert_eq!(format_name(svg).as_deref(), Some("SVG"));
        assert_eq!(format_name(b"plain text, not an image"), None);
        assert_eq!(header_size(b"plain text, not an image"), None);
    }

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

    /// A PNG of `w`×`h` noise with an iCCP chunk whose profile inflates to `profile` bytes.
    fn png_with_profile(w: u32, h: u32, profile: usize) -> Vec<u8> {
        let mut plain = Vec::new();
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 13) as u8, (x ^ y) as u8])
        });
        img.write_to(&mut Cursor::new(&mut plain), ImageFormat::Png)
            .unwrap();
        let mut data = b"bomb\0\0".to_vec();
        data.extend(fdeflate::compress_to_vec(&vec![0u8; profile]));
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(b"iCCP");
        chunk.extend_from_slice(&data);
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        // After the 8-byte signature and the 25-byte IHDR chunk.
        let mut out = plain[..33].to_vec();
        out.extend(chunk);
        out.extend_from_slice(&plain[33..]);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_colour_profile_bomb_is_left_out_and_costs_little_memory() {
        let bomb = png_with_profile(64, 48, 96 << 20);
        assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());
        meter::reset();
        let img = decode(&bomb, &DecodeOptions::default()).unwrap();
        let peak = meter::peak();
        assert_eq!((img.width(), img.height()), (64, 48));
        // The profile would take 96 MiB; the cap is 8 MiB while it is checked.
        assert!(
            peak < ANCILLARY_LIMIT + (4 << 20),
            "decoding took {} MiB at its peak",
            peak >> 20
        );
        // A profile of a sane size is left to the decoder, the image the same.
        let fine = png_with_profile(64, 48, 3_000);
        assert!(png_without_large_profile(&fine).is_none());
        let same = decode(&fine, &DecodeOptions::default()).unwrap();
        assert_eq!(same.to_rgb8(), img.to_rgb8());
    }
}

/// Counts the bytes each thread has allocated, for tests of how much memory decoding takes
/// (each test thread sees only its own allocations).
#[cfg(test)]
mod meter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    struct Meter;

    fn add(bytes: isize) {
        let _ = NOW.try_with(|now| {
            now.set(now.get() + bytes);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now.get())));
        });
    }

    // SAFETY: every call goes to the system allocator unchanged; only sizes are counted.
    unsafe impl GlobalAlloc for Meter {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            add(new_size as isize - layout.size() as isize);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static METER: Meter = Meter;

    /// Starts counting this thread's peak from what it holds now.
    pub fn reset() {
        NOW.with(|now| now.set(0));
        PEAK.with(|peak| peak.set(0));
    }

    /// The most this thread has held since [`reset`], beyond what it held then, in bytes.
    pub fn peak() -> usize {
        PEAK.with(Cell::get).max(0) as usize
    }
}
