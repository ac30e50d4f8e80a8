//! The formats `image` does not read: JPEG XL (jxl-oxide), SVG (resvg) and the JPEG previews
//! that camera RAW files embed. Each is recognised by its content, like every other format.

use std::io::Cursor;

use image::{DynamicImage, RgbaImage};

use super::{DecodeError, DecodeOptions, decode, decode_decoder, exif_orientation};

/// Whether `bytes` is a JPEG XL codestream or container (ISO/IEC 18181-2 signatures).
pub fn is_jxl(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0CJXL \r\n\x87\n")
}

/// Decodes a JPEG XL file with jxl-oxide (pure Rust), its orientation applied by the decoder,
/// within `opts`' limits.
pub fn decode_jxl(bytes: &[u8], opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    // jxl-oxide renders what it has of a cut-off file; a file whose first frame is not whole
    // is damaged, not an image.
    let parsed = jxl_oxide::JxlImage::builder()
        .read(Cursor::new(bytes))
        .map_err(|e| DecodeError::Corrupt(format!("JPEG XL: {e}")))?;
    if parsed.num_loaded_keyframes() == 0 {
        return Err(DecodeError::Corrupt(
            "JPEG XL: truncated (no complete frame)".into(),
        ));
    }
    drop(parsed);
    let decoder = jxl_oxide::integration::JxlDecoder::new(Cursor::new(bytes))
        .map_err(|e| DecodeError::Corrupt(format!("JPEG XL: {e}")))?;
    decode_decoder(decoder, opts)
}

/// Whether `bytes` looks like an SVG document: XML whose first element is `<svg`, or gzip
/// (SVGZ), which the renderer unpacks and checks itself.
pub fn is_svg(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0x1F, 0x8B]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<?xml") || text.starts_with("<svg") || text.starts_with("<!--"))
        && text.contains("<svg")
}

/// The long side an SVG is rasterised to, in pixels, unless its own size is between these.
const SVG_MIN_SIDE: f32 = 512.0;
const SVG_MAX_SIDE: f32 = 2048.0;

/// Rasterises an SVG (or SVGZ) with resvg: its own size, scaled so the long side is 512 to
/// 2,048 pixels (vectors draw sharp at any size), transparent where nothing is drawn. Nothing
/// outside the file is loaded: an `<image>` that points to another file draws nothing (images
/// inside the file as `data:` URLs do draw), and text is not drawn (no fonts are read).
pub fn render_svg(bytes: &[u8], opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    use resvg::usvg;
    let mut options = usvg::Options::default();
    options.image_href_resolver.resolve_string = Box::new(|_, _| None);
    let tree = usvg::Tree::from_data(bytes, &options).map_err(|e| match e {
        usvg::Error::NotAnUtf8Str | usvg::Error::MalformedGZip => {
            DecodeError::Corrupt(format!("SVG: {e}"))
        }
        usvg::Error::ElementsLimitReached => DecodeError::TooLarge(format!("SVG: {e}")),
        _ => DecodeError::Corrupt(format!("SVG: {e}")),
    })?;
    let size = tree.size();
    let long = size.width().max(size.height());
    let scale = long.clamp(SVG_MIN_SIDE, SVG_MAX_SIDE.min(opts.max_side as f32)) / long;
    let (w, h) = (
        (size.width() * scale).round().max(1.0) as u32,
        (size.height() * scale).round().max(1.0) as u32,
    );
    if w as u64 * h as u64 * 4 > opts.max_alloc {
        return Err(DecodeError::TooLarge(format!("SVG of {w}×{h}")));
    }
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| DecodeError::Corrupt(format!("SVG of {w}×{h}")))?;
    let transform =
        resvg::tiny_skia::Transform::from_scale(w as f32 / size.width(), h as f32 / size.height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    // tiny-skia keeps premultiplied alpha; the rest of imgtui composites straight alpha.
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    let img = RgbaImage::from_raw(w, h, rgba).expect("w × h × 4 bytes");
    Ok(DynamicImage::ImageRgba8(img))
}

/// The camera RAW format `bytes` is in, by its signature (CR3, RAF, ORF, RW2, CR2) or, for the
/// TIFF-based formats that have none of their own (DNG, NEF, ARW, PEF, SRW…), by the DNG
/// version tag or the camera maker in the first IFD. `None` for anything else, an ordinary TIFF
/// included.
pub fn raw_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(4..12) == Some(b"ftypcrx ") {
        return Some("CR3");
    }
    if bytes.starts_with(b"FUJIFILMCCD-RAW") {
        return Some("RAF");
    }
    if bytes.starts_with(b"IIRO") || bytes.starts_with(b"IIRS") || bytes.starts_with(b"MMOR") {
        return Some("ORF");
    }
    if bytes.starts_with(b"IIU\0") {
        return Some("RW2");
    }
    let little = match bytes.get(0..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    if bytes.get(8..10) == Some(b"CR") {
        return Some("CR2");
    }
    let u16_at = |at: usize| {
        let b = bytes.get(at..at + 2)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b = bytes.get(at..at + 4)?;
        Some(if little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let ifd = u32_at(4)? as usize;
    let entries = u16_at(ifd)? as usize;
    let mut make = None;
    for e in 0..entries.min(512) {
        let at = ifd + 2 + e * 12;
        match u16_at(at)? {
            0xC612 => return Some("DNG"),
            0x010F => {
                let count = u32_at(at + 4)? as usize;
                let value = if count <= 4 {
                    bytes.get(at + 8..at + 8 + count)?
                } else {
                    let offset = u32_at(at + 8)? as usize;
                    bytes.get(offset..offset + count.min(64))?
                };
                make = Some(String::from_utf8_lossy(value).to_uppercase());
            }
            _ => {}
        }
    }
    let make = make?;
    [
        ("NIKON", "NEF"),
        ("SONY", "ARW"),
        ("PENTAX", "PEF"),
        ("RICOH", "PEF"),
        ("SAMSUNG", "SRW"),
        ("CANON", "CR2"),
        ("OLYMPUS", "ORF"),
        ("PANASONIC", "RW2"),
        ("LEICA", "RAW"),
        ("FUJIFILM", "RAF"),
        ("HASSELBLAD", "3FR"),
        ("PHASE ONE", "IIQ"),
    ]
    .iter()
    .find(|(maker, _)| make.contains(maker))
    .map(|&(_, kind)| kind)
}

/// Most JPEG streams looked at in one RAW file (previews are few; other SOI-like byte runs in
/// the sensor data are tried at most this often).
const MAX_CANDIDATES: usize = 16;

/// The largest JPEG preview a camera RAW file (`kind`, from [`raw_kind`]) embeds, decoded and
/// turned upright by the RAW's own orientation (TIFF tag 274) unless the preview carries one.
///
/// Fails with [`DecodeError::Unsupported`] when the file embeds no JPEG this build decodes
/// (the sensor data itself is not demosaiced).
pub fn raw_preview(
    bytes: &[u8],
    kind: &str,
    opts: &DecodeOptions,
) -> Result<DynamicImage, DecodeError> {
    // JPEG streams start with SOI and a marker (DQT, DHT, APPn, SOF, DRI); decoding from each
    // start runs to its own EOI, so trailing bytes do no harm.
    let starts = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| {
            w[0] == 0xFF && w[1] == 0xD8 && w[2] == 0xFF && matches!(w[3], 0xC0..=0xFE)
        })
        .map(|(i, _)| i)
        .take(MAX_CANDIDATES * 4);
    let mut best: Option<(usize, DynamicImage)> = None;
    for start in starts.take(MAX_CANDIDATES) {
        let Ok(img) = decode(&bytes[start..], opts) else {
            continue;
        };
        let area = |i: &DynamicImage| i.width() as u64 * i.height() as u64;
        if best.as_ref().is_none_or(|(_, b)| area(&img) > area(b)) {
            best = Some((start, img));
        }
    }
    let (start, mut img) = best.ok_or_else(|| {
        DecodeError::Unsupported(format!(
            "camera RAW ({kind}) without an embedded JPEG preview"
        ))
    })?;
    // A preview without its own EXIF orientation is stored as the sensor saw it.
    if jpeg_orientation(&bytes[start..]).is_none()
        && let Some(o) = exif_orientation(bytes)
    {
        img.apply_orientation(o);
    }
    Ok(img)
}

/// The orientation in a JPEG stream's own EXIF block (APP1), if it has one.
fn jpeg_orientation(jpeg: &[u8]) -> Option<image::metadata::Orientation> {
    let mut at = 2;
    while jpeg.get(at) == Some(&0xFF) {
        let marker = *jpeg.get(at + 1)?;
        if marker == 0xDA || (0xD0..=0xD9).contains(&marker) {
            return None; // the image data begins: no EXIF before it
        }
        let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
        let data = jpeg.get(at + 4..at + 2 + len)?;
        if marker == 0xE1 && data.starts_with(b"Exif\0\0") {
            return exif_orientation(data);
        }
        at += 2 + len;
    }
    None
}
