//! A contact sheet: one PNG grid of thumbnails, each captioned with its file name.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rayon::prelude::*;

use crate::decode::{DecodeOptions, decode, resize_rgb};

/// Grid settings.
#[derive(Debug, Clone)]
pub struct MontageOptions {
    /// Side of each thumbnail's square, in pixels.
    pub thumb: u32,
    /// Columns; 0 = about square.
    pub columns: usize,
    /// How the images are decoded.
    pub decode: DecodeOptions,
}

/// Checks a thumbnail size: 16 to 1024 pixels. The error is the rule, for the caller to
/// prefix with where the value came from.
pub fn check_thumb(side: u32) -> Result<u32, &'static str> {
    if (16..=1024).contains(&side) {
        Ok(side)
    } else {
        Err("between 16 and 1024 pixels")
    }
}

impl Default for MontageOptions {
    fn default() -> Self {
        MontageOptions {
            thumb: 160,
            columns: 0,
            decode: DecodeOptions::default(),
        }
    }
}

const PAD: u32 = 6;
/// Height of the caption line under each thumbnail (an 8-pixel font plus spacing).
const CAPTION: u32 = 12;

/// Draws the images as a grid. Images that cannot be read get a grey tile with their
/// name, so the sheet still shows every file it was given.
pub fn montage(paths: &[PathBuf], opts: &MontageOptions) -> RgbImage {
    let n = paths.len().max(1);
    let columns = match opts.columns {
        0 => (n as f64).sqrt().ceil() as usize,
        c => c,
    }
    .min(n)
    .max(1);
    let rows = n.div_ceil(columns);
    let cell_w = opts.thumb + PAD;
    let cell_h = opts.thumb + CAPTION + PAD;
    let mut sheet = RgbImage::from_pixel(
        PAD + columns as u32 * cell_w,
        PAD + rows as u32 * cell_h,
        Rgb([32, 32, 36]),
    );
    let thumbs: Vec<Option<RgbImage>> = paths
        .par_iter()
        .map(|p| thumbnail(p, opts.thumb, &opts.decode))
        .collect();
    for (i, (path, thumb)) in paths.iter().zip(thumbs).enumerate() {
        let x = PAD + (i % columns) as u32 * cell_w;
        let y = PAD + (i / columns) as u32 * cell_h;
        match thumb {
            Some(t) => {
                let ox = x + (opts.thumb - t.width()) / 2;
                let oy = y + (opts.thumb - t.height()) / 2;
                image::imageops::replace(&mut sheet, &t, ox as i64, oy as i64);
            }
            None => {
                let grey = RgbImage::from_pixel(opts.thumb, opts.thumb, Rgb([90, 90, 90]));
                image::imageops::replace(&mut sheet, &grey, x as i64, y as i64);
            }
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let fits = (opts.thumb / 8) as usize;
        draw_text(
            &mut sheet,
            x,
            y + opts.thumb + 3,
            &crate::text::middle_cut(&name, fits).replace('…', "~"),
            Rgb([230, 230, 230]),
        );
    }
    sheet
}

/// Writes the sheet as PNG to `out`, which must not exist yet.
///
/// Fails when `out` exists (it is never replaced) or cannot be written.
pub fn write_montage(paths: &[PathBuf], out: &Path, opts: &MontageOptions) -> anyhow::Result<()> {
    save_new(&montage(paths, opts), out).map_err(|e| {
        let out = crate::text::shown(out);
        match e.kind() {
            std::io::ErrorKind::AlreadyExists => crate::error::Error::bad_request(format_args!(
                "{out} already exists: a montage never replaces a file; choose another name"
            ))
            .into(),
            std::io::ErrorKind::PermissionDenied => {
                anyhow::anyhow!("{out}: no permission to write there")
            }
            _ => anyhow::anyhow!("{out}: {e}"),
        }
    })
}

/// Writes `sheet` as `<stem>.png` in `folder` (created if needed), or as `<stem> (2).png`
/// and so on if that name is taken. Returns the file written.
///
/// Fails when the folder cannot be created (a file has its name, no permission) or the file
/// cannot be written; the message says which.
pub fn save_in_folder(sheet: &RgbImage, folder: &Path, stem: &str) -> anyhow::Result<PathBuf> {
    if folder.exists() && !folder.is_dir() {
        anyhow::bail!(
            "{} is a file, not a folder: the montage was not saved (rename that file)",
            crate::text::shown(folder)
        );
    }
    std::fs::create_dir_all(folder).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::PermissionDenied => "no permission to write there".to_owned(),
            std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                "a file stands in the way".to_owned()
            }
            _ => e.to_string(),
        };
        anyhow::anyhow!(
            "cannot make the folder {}: {why}",
            crate::text::shown(folder)
        )
    })?;
    for n in 1.. {
        let name = match n {
            1 => format!("{stem}.png"),
            n => format!("{stem} ({n}).png"),
        };
        let out = folder.join(name);
        match save_new(sheet, &out) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("{}: {e}", crate::text::shown(&out)),
            Ok(()) => return Ok(out),
        }
    }
    unreachable!("some name is free")
}

/// Writes a PNG to a file that must not exist yet; a failed write leaves no file behind.
fn save_new(sheet: &RgbImage, out: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)?;
    let mut w = std::io::BufWriter::new(file);
    let written = sheet
        .write_to(&mut w, image::ImageFormat::Png)
        .map_err(std::io::Error::other)
        .and_then(|()| std::io::Write::flush(&mut w));
    if written.is_err() {
        drop(w);
        let _ = std::fs::remove_file(out);
    }
    written
}

/// The image scaled to fit a `side` square, aspect kept.
fn thumbnail(path: &Path, side: u32, opts: &DecodeOptions) -> Option<RgbImage> {
    let bytes = std::fs::read(path).ok()?;
    let img = decode(&bytes, opts).ok()?;
    let (w, h) = (img.width().max(1), img.height().max(1));
    let scale = side as f32 / w.max(h) as f32;
    let (tw, th) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    Some(resize_rgb(
        &img,
        tw.min(side),
        th.min(side),
        opts.background,
    ))
}

/// Draws ASCII text with an 8×8 bitmap font; other characters show as '?'.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, colour: Rgb<u8>) {
    for (k, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() && !ch.is_ascii_control() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let (px, py) = (x + k as u32 * 8 + col, y + row as u32);
                    if px < img.width() && py < img.height() {
                        img.put_pixel(px, py, colour);
                    }
                }
            }
        }
    }
}
