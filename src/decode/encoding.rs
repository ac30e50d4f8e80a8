//! How a file's pixels were stored: lossless, or lossy and at what JPEG quality, read from the
//! header bytes only (nothing is decoded). The `best` keep rule prefers the less processed copy
//! by it.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// How an image file stores its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Encoding {
    /// Not known: the header is not one this reads, or cannot be read.
    Unknown,
    /// Lossy: JPEG with its estimated quality (1..=100, see [`jpeg_quality`]); lossy WebP, GIF
    /// (at most 256 colours), AVIF and the like without one.
    Lossy {
        /// The JPEG quality the quantization tables correspond to, when it is a JPEG.
        quality: Option<u8>,
    },
    /// Every pixel as it was written: PNG, TIFF, BMP, lossless WebP, QOI, PNM, TGA, OpenEXR,
    /// Radiance HDR, farbfeld, ICO.
    Lossless,
}

impl Encoding {
    /// The encoding of the file at `path`, from its first bytes and, for a JPEG, its
    /// quantization tables (`DQT` segments before the first scan) and for a WebP its chunk
    /// headers. Unreadable or unknown files are [`Encoding::Unknown`].
    pub fn of_file(path: &Path) -> Encoding {
        File::open(path)
            .and_then(|f| Encoding::read(&mut BufReader::new(f)))
            .unwrap_or(Encoding::Unknown)
    }

    /// [`Encoding::of_file`] on a reader at the start of the file.
    ///
    /// Fails only when the reader fails (a short file is [`Encoding::Unknown`]).
    pub fn read<R: Read + Seek>(r: &mut R) -> io::Result<Encoding> {
        let mut head = [0u8; 16];
        let n = read_up_to(r, &mut head)?;
        let head = &head[..n];
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            r.seek(SeekFrom::Start(2))?;
            return Ok(Encoding::Lossy {
                quality: jpeg_tables(r)?.map(|t| jpeg_quality(&t)),
            });
        }
        if head.len() >= 16 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            r.seek(SeekFrom::Start(12))?;
            return webp(r);
        }
        use image::ImageFormat as F;
        Ok(match image::guess_format(head) {
            Ok(
                F::Png
                | F::Tiff
                | F::Bmp
                | F::Qoi
                | F::Pnm
                | F::Tga
                | F::OpenExr
                | F::Hdr
                | F::Farbfeld
                | F::Ico,
            ) => Encoding::Lossless,
            Ok(F::Gif | F::Avif) => Encoding::Lossy { quality: None },
            _ => Encoding::Unknown,
        })
    }
}

/// Reads as much of `buf` as the reader has; returns how much.
fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A WebP's first image chunk: `VP8L` is lossless, `VP8 ` lossy (`VP8X` files are walked to
/// it, past `ICCP`, `ANIM`, `ALPH` and the like). The reader is after `RIFF….WEBP`.
fn webp<R: Read + Seek>(r: &mut R) -> io::Result<Encoding> {
    for _ in 0..64 {
        let mut chunk = [0u8; 8];
        if read_up_to(r, &mut chunk)? < 8 {
            break;
        }
        match &chunk[..4] {
            b"VP8L" => return Ok(Encoding::Lossless),
            b"VP8 " | b"ANMF" => return Ok(Encoding::Lossy { quality: None }),
            _ => {
                let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
                // Chunks are padded to an even size.
                r.seek(SeekFrom::Current(i64::from(size) + i64::from(size & 1)))?;
            }
        }
    }
    Ok(Encoding::Unknown)
}

/// The JPEG's quantization table 0 (luminance, in the stored zigzag order), from the `DQT`
/// segments before the first scan.
/// The reader is after the SOI marker; other segments are skipped by their length. `None`
/// when there is no table 0 before the scan, or the markers are damaged.
fn jpeg_tables<R: Read + Seek>(r: &mut R) -> io::Result<Option<[u16; 64]>> {
    let mut luma = None;
    for _ in 0..1024 {
        let mut marker = [0u8; 4];
        if read_up_to(r, &mut marker)? < 4 || marker[0] != 0xFF {
            return Ok(luma);
        }
        let length = usize::from(u16::from_be_bytes([marker[2], marker[3]]));
        if length < 2 {
            return Ok(luma);
        }
        match marker[1] {
            // DQT: one or more tables, each Pq/Tq then 64 values of 8 or 16 bits.
            0xDB => {
                let mut body = vec![0u8; length - 2];
                if read_up_to(r, &mut body)? < body.len() {
                    return Ok(luma);
                }
                let mut at = 0;
                while at < body.len() {
                    let (precision, id) = (body[at] >> 4, body[at] & 0x0F);
                    let width = if precision == 0 { 1 } else { 2 };
                    let Some(values) = body.get(at + 1..at + 1 + 64 * width) else {
                        return Ok(luma);
                    };
                    if id == 0 {
                        let mut t = [0u16; 64];
                        for (k, v) in t.iter_mut().enumerate() {
                            *v = if width == 1 {
                                u16::from(values[k])
                            } else {
                                u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                            };
                        }
                        luma = Some(t);
                    }
                    at += 1 + 64 * width;
                }
            }
            // SOS: the tables that matter come before the first scan.
            0xDA => return Ok(luma),
            _ => {
                r.seek(SeekFrom::Current(length as i64 - 2))?;
            }
        }
    }
    Ok(luma)
}

/// The IJG (libjpeg) standard luminance quantization table (ITU-T T.81, Annex K, table K.1),
/// summed: 3688. Order does not matter for the sum.
const STD_LUMINANCE_SUM: u32 = 3688;

/// The libjpeg quality (1..=100) whose scaling of the standard luminance table gives `table`:
/// libjpeg writes `max(1, (std · s + 50) / 100)` with `s = 5000 / q` below 50 and
/// `200 − 2q` from 50 (`jpeg_quality_scaling`, jcparam.c); this inverts it on the table's sum,
/// `s = 100 · Σ table / Σ std`. Exact for files libjpeg, libjpeg-turbo, ImageMagick, PIL and
/// most editors wrote; for a camera's own tables it is the nearest libjpeg quality, which
/// still orders copies from the least to the most compressed.
pub fn jpeg_quality(table: &[u16; 64]) -> u8 {
    if table.iter().all(|&v| v <= 1) {
        return 100;
    }
    let sum: u32 = table.iter().map(|&v| u32::from(v)).sum();
    let s = 100.0 * f64::from(sum) / f64::from(STD_LUMINANCE_SUM);
    let q = if s <= 100.0 {
        (200.0 - s) / 2.0
    } else {
        5000.0 / s
    };
    q.round().clamp(1.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn jpeg(quality: u8) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(48, 32, |x, y| image::Rgb([x as u8 * 5, y as u8 * 7, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_jpegs_quality_is_read_back_from_its_tables() {
        for q in [30, 60, 80, 95] {
            let found = Encoding::read(&mut Cursor::new(jpeg(q))).unwrap();
            let Encoding::Lossy { quality: Some(est) } = found else {
                panic!("{found:?}");
            };
            assert!(est.abs_diff(q) <= 1, "written at {q}, estimated {est}");
        }
    }

    #[test]
    fn formats_are_told_apart_by_their_headers() {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            Encoding::read(&mut Cursor::new(png)).unwrap(),
            Encoding::Lossless
        );
        let mut webp = Vec::new();
        img.write_to(&mut Cursor::new(&mut webp), image::ImageFormat::WebP)
            .unwrap();
        assert_eq!(
            Encoding::read(&mut Cursor::new(webp)).unwrap(),
            Encoding::Lossless,
            "the image crate writes lossless WebP"
        );
        let lossy_webp = [
            b"RIFF".as_slice(),
            &[30, 0, 0, 0],
            b"WEBPVP8X",
            &[10, 0, 0, 0],
            &[0; 10],
            b"VP8 ",
            &[0; 4],
        ]
        .concat();
        assert_eq!(
            Encoding::read(&mut Cursor::new(lossy_webp)).unwrap(),
            Encoding::Lossy { quality: None }
        );
        for bytes in [&b"hello"[..], &[0xFF, 0xD8, 0xFF, 0xE0, 0, 1][..], &[][..]] {
            let e = Encoding::read(&mut Cursor::new(bytes)).unwrap();
            assert!(
                matches!(e, Encoding::Unknown | Encoding::Lossy { quality: None }),
                "{e:?}"
            );
        }
    }
}
