//! HEIF/HEIC and AVIF: recognised by their `ftyp` brands in every build, decoded through the
//! system's libheif (>= 1.17) when imgtui is built with the `heif` and/or `avif` feature.
//! libheif decodes HEVC with its libde265 plugin and AV1 with its dav1d plugin.
//!
//! Orientation: libheif applies the file's own transforms (`irot` rotation, `imir` mirror,
//! `clap` crop) while decoding. The EXIF orientation a camera also writes into a HEIF (an
//! iPhone does) describes the same turn, and HEIF says the transforms rule: it is never applied
//! on top, or the image would be turned twice.

use image::DynamicImage;

use super::{DecodeError, DecodeOptions};

/// Which of the two a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HEIF, HEIC (HEVC-coded HEIF) and other HEIF brands.
    Heif,
    /// AVIF (AV1-coded HEIF).
    Avif,
}

impl Kind {
    /// The kind's name in a skip reason: "HEIF/HEIC image", "AVIF image".
    pub fn name(self) -> &'static str {
        match self {
            Kind::Heif => "HEIF/HEIC image",
            Kind::Avif => "AVIF image",
        }
    }

    /// The cargo feature that decodes this kind.
    pub fn feature(self) -> &'static str {
        match self {
            Kind::Heif => "heif",
            Kind::Avif => "avif",
        }
    }

    /// The reason a build without the feature gives: "HEIF/HEIC image (build with the `heif`
    /// feature)".
    pub fn unsupported(self) -> DecodeError {
        DecodeError::Unsupported(format!(
            "{} (build with the `{}` feature)",
            self.name(),
            self.feature()
        ))
    }
}

/// The kind of an ISO base media file by its `ftyp` box: the major brand, or, for the generic
/// HEIF brands (`mif1`, `msf1`, `miaf`), an `avif`/`avis` among the compatible brands. `None`
/// for anything else (MP4 video, a Canon CR3, which share the box).
pub fn kind(bytes: &[u8]) -> Option<Kind> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let major: &[u8] = bytes.get(8..12)?;
    let size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    // Compatible brands follow the major brand and its minor version, up to the box's end.
    let compatible = bytes.get(16..size.min(bytes.len())).unwrap_or(&[]);
    let has = |brand: &[u8]| compatible.chunks_exact(4).any(|b| b == brand);
    match major {
        b"avif" | b"avis" => Some(Kind::Avif),
        b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => Some(Kind::Heif),
        b"mif1" | b"msf1" | b"miaf" if has(b"avif") || has(b"avis") => Some(Kind::Avif),
        b"mif1" | b"msf1" => Some(Kind::Heif),
        _ => None,
    }
}

/// Decodes a HEIF or AVIF file (`kind`, from [`kind`]) when this build has its feature, within
/// `opts`' limits; otherwise says which feature would.
pub fn decode(bytes: &[u8], kind: Kind, opts: &DecodeOptions) -> Result<DynamicImage, DecodeError> {
    match kind {
        #[cfg(feature = "heif")]
        Kind::Heif => with_libheif::decode(bytes, kind, opts),
        #[cfg(feature = "avif")]
        Kind::Avif => with_libheif::decode(bytes, kind, opts),
        #[allow(unreachable_patterns)] // with both features
        _ => {
            let _ = (bytes, opts);
            Err(kind.unsupported())
        }
    }
}

#[cfg(any(feature = "heif", feature = "avif"))]
mod with_libheif {
    use std::sync::OnceLock;

    use image::{DynamicImage, RgbImage, RgbaImage};
    use libheif_rs::{
        ColorSpace, DecodingOptions, HeifContext, HeifError, HeifErrorCode, LibHeif, RgbChroma,
    };

    use super::Kind;
    use crate::decode::{DecodeError, DecodeOptions};

    /// libheif, initialised once: its plugins (the decoders) are loaded on the first use and
    /// stay loaded (each `LibHeif` dropped would unload them again).
    fn libheif() -> &'static LibHeif {
        static LIB: OnceLock<LibHeif> = OnceLock::new();
        LIB.get_or_init(LibHeif::new)
    }

    /// libheif's refusal as imgtui's: a coding or feature it lacks (no decoder plugin for the
    /// file's codec) is `unsupported`, running out of memory `too large`, anything else
    /// (truncated, contradictory boxes, a bitstream the decoder rejects) `corrupt`.
    fn classify(kind: Kind, e: HeifError) -> DecodeError {
        let what = format!(
            "{}: {}",
            kind.name().trim_end_matches(" image"),
            e.message.trim()
        );
        match e.code {
            HeifErrorCode::UnsupportedFeature
            | HeifErrorCode::UnsupportedFileType
            | HeifErrorCode::PluginLoadingError => {
                let hint = match kind {
                    Kind::Heif => "libheif-plugin-libde265",
                    Kind::Avif => "libheif-plugin-dav1d",
                };
                DecodeError::Unsupported(format!("{what} (is {hint} installed?)"))
            }
            HeifErrorCode::MemoryAllocationError => DecodeError::TooLarge(what),
            _ => DecodeError::Corrupt(what),
        }
    }

    pub(super) fn decode(
        bytes: &[u8],
        kind: Kind,
        opts: &DecodeOptions,
    ) -> Result<DynamicImage, DecodeError> {
        let lib = libheif();
        let ctx = HeifContext::read_from_bytes(bytes).map_err(|e| classify(kind, e))?;
        let handle = ctx.primary_image_handle().map_err(|e| classify(kind, e))?;
        // The size after the file's transforms, read from its boxes: refused before a pixel
        // is decoded.
        let (w, h) = (handle.width(), handle.height());
        if w == 0 || h == 0 {
            return Err(DecodeError::Corrupt("zero-sized image".into()));
        }
        let alpha = handle.has_alpha_channel();
        let channels: u64 = if alpha { 4 } else { 3 };
        let needed = u64::from(w) * u64::from(h) * channels;
        if w > opts.max_side || h > opts.max_side || needed > opts.max_alloc {
            return Err(DecodeError::TooLarge(format!(
                "{w}×{h} needs {} MiB to decode (limit {} MiB)",
                needed >> 20,
                opts.max_alloc >> 20
            )));
        }
        // 10- and 12-bit files are brought to 8 bits by libheif; the transforms are applied.
        let mut options = DecodingOptions::new();
        if let Some(o) = options.as_mut() {
            o.set_convert_hdr_to_8bit(true);
            o.set_ignore_transformations(false);
        }
        let chroma = if alpha {
            RgbChroma::Rgba
        } else {
            RgbChroma::Rgb
        };
        let image = lib
            .decode(&handle, ColorSpace::Rgb(chroma), options)
            .map_err(|e| classify(kind, e))?;
        let premultiplied = image.is_premultiplied_alpha();
        let planes = image.planes();
        let bad = |why: &str| DecodeError::Corrupt(format!("{}: {why}", kind.name()));
        let plane = planes
            .interleaved
            .ok_or_else(|| bad("libheif gave no interleaved RGB"))?;
        if plane.bits_per_pixel != 8 {
            return Err(bad(&format!(
                "libheif gave {} bits a sample, not 8",
                plane.bits_per_pixel
            )));
        }
        let (pw, ph) = (plane.width, plane.height);
        let row = pw as usize * channels as usize;
        if pw == 0 || ph == 0 || plane.stride < row {
            return Err(bad("libheif gave an empty or inconsistent image"));
        }
        let mut pixels = Vec::with_capacity(row * ph as usize);
        for y in 0..ph as usize {
            let start = y * plane.stride;
            let line = plane
                .data
                .get(start..start + row)
                .ok_or_else(|| bad("libheif gave fewer rows than its height"))?;
            pixels.extend_from_slice(line);
        }
        let img = if alpha {
            if premultiplied {
                unpremultiply(&mut pixels);
            }
            DynamicImage::ImageRgba8(RgbaImage::from_raw(pw, ph, pixels).expect("w × h × 4"))
        } else {
            DynamicImage::ImageRgb8(RgbImage::from_raw(pw, ph, pixels).expect("w × h × 3"))
        };
        Ok(img)
    }

    /// Premultiplied RGBA → straight, as the rest of imgtui composites.
    fn unpremultiply(rgba: &mut [u8]) {
        for px in rgba.chunks_exact_mut(4) {
            let a = u32::from(px[3]);
            if a == 0 || a == 255 {
                continue;
            }
            for c in &mut px[..3] {
                *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
            }
        }
    }
}
