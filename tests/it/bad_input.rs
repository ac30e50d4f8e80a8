//! A corpus of awkward files, drawn by the test: every one is either indexed or skipped with a
//! specific reason, and the run succeeds.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use imgtui::{IndexOptions, OnnxModel, Store};

/// What must become of a file.
#[derive(Debug)]
enum Expect {
    Indexed,
    /// Skipped with a reason that starts with this.
    Skipped(&'static str),
    /// Either indexed (a decoder that recovers what it can) or skipped as corrupt.
    IndexedOrCorrupt,
}

fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

/// A PNG whose header claims `w`×`h` pixels, with one tiny compressed row of data.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    writer
        .write_chunk(
            png::chunk::IDAT,
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        )
        .unwrap();
    drop(writer);
    bytes
}

/// A palette PNG whose first colour is fully transparent.
fn palette_with_transparency() -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 8, 8);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![0, 0, 0, 255, 0, 0]);
    encoder.set_trns(vec![0u8, 255]);
    let mut writer = encoder.write_header().unwrap();
    let data: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    writer.write_image_data(&data).unwrap();
    drop(writer);
    bytes
}

/// A CMYK JPEG (as print workflows write them), optionally stored as YCCK.
fn cmyk_jpeg(ycck: bool) -> Vec<u8> {
    let (w, h) = (32u16, 24u16);
    let data: Vec<u8> = (0..w as usize * h as usize)
        .flat_map(|i| [(i * 7) as u8, 40, 200, 10])
        .collect();
    let mut bytes = Vec::new();
    let kind = if ycck {
        jpeg_encoder::ColorType::CmykAsYcck
    } else {
        jpeg_encoder::ColorType::Cmyk
    };
    jpeg_encoder::Encoder::new(&mut bytes, 90)
        .encode(&data, w, h, kind)
        .unwrap();
    bytes
}

/// A BMP whose compression field says BI_JPEG (4), as printer drivers write them.
fn bmp_holding_jpeg(img: &DynamicImage) -> Vec<u8> {
    let mut bmp = encoded(img, ImageFormat::Bmp);
    bmp[30..34].copy_from_slice(&4u32.to_le_bytes());
    bmp
}

fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frames = [[255, 0, 0, 255], [0, 0, 255, 255]].map(|c| {
            Frame::from_parts(
                RgbaImage::from_pixel(24, 24, Rgba(c)),
                0,
                0,
                Delay::from_numer_denom_ms(50, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    bytes
}

/// Writes the corpus into `dir` and says what must become of each file.
fn corpus(dir: &Path) -> Vec<(PathBuf, Expect)> {
    use Expect::*;
    std::fs::create_dir_all(dir).unwrap();
    let photo = DynamicImage::ImageRgb8(noise(64, 48, 7));
    let disc_img = DynamicImage::ImageRgb8(disc(80, 80, [250, 180, 0], [20, 20, 90]));
    let png = encoded(&photo, ImageFormat::Png);
    let jpeg = encoded(&photo, ImageFormat::Jpeg);
    let gif = encoded(&disc_img, ImageFormat::Gif);
    let webp = encoded(&disc_img, ImageFormat::WebP);
    let mut files: Vec<(PathBuf, Vec<u8>, Expect)> = vec![
        ("plain.png".into(), png.clone(), Indexed),
        ("plain.jpg".into(), jpeg.clone(), Indexed),
        ("plain.gif".into(), gif.clone(), Indexed),
        ("plain.webp".into(), webp.clone(), Indexed),
        (
            "plain.bmp".into(),
            encoded(&disc_img, ImageFormat::Bmp),
            Indexed,
        ),
        (
            "plain.tiff".into(),
            encoded(&disc_img, ImageFormat::Tiff),
            Indexed,
        ),
        (
            "plain.qoi".into(),
            encoded(&disc_img, ImageFormat::Qoi),
            Indexed,
        ),
        (
            "UPPER.PNG".into(),
            encoded(&disc_img.fliph(), ImageFormat::Png),
            Indexed,
        ),
        (
            "truncated.png".into(),
            png[..png.len() / 2].to_vec(),
            Skipped("corrupt image"),
        ),
        (
            "truncated.jpg".into(),
            jpeg[..jpeg.len() / 2].to_vec(),
            IndexedOrCorrupt,
        ),
        (
            "truncated.gif".into(),
            gif[..gif.len() / 2].to_vec(),
            IndexedOrCorrupt,
        ),
        (
            "truncated.webp".into(),
            webp[..webp.len() / 2].to_vec(),
            Skipped("corrupt image"),
        ),
        (
            "header-only.png".into(),
            png[..40].to_vec(),
            Skipped("corrupt image"),
        ),
        ("zero.png".into(), Vec::new(), Skipped("empty file")),
        ("zero.jpg".into(), Vec::new(), Skipped("empty file")),
        (
            "notes.jpg".into(),
            b"shopping: eggs, milk\n".to_vec(),
            Skipped("not a recognised image format"),
        ),
        (
            "random.png".into(),
            noise(40, 40, 9).into_raw(),
            Skipped("not a recognised image format"),
        ),
        (
            "jpeg-named.png".into(),
            encoded(&photo.rotate90(), ImageFormat::Jpeg),
            Indexed,
        ),
        (
            "gif-named.jpg".into(),
            encoded(&disc_img.flipv(), ImageFormat::Gif),
            Indexed,
        ),
        (
            "bomb.png".into(),
            png_header_only(30_000, 30_000),
            Skipped("too large"),
        ),
        (
            "one-pixel.png".into(),
            encoded(
                &DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([9, 200, 9]))),
                ImageFormat::Png,
            ),
            Indexed,
        ),
        (
            "strip.png".into(),
            encoded(
                &DynamicImage::ImageRgb8(noise(20_000, 10, 3)),
                ImageFormat::Png,
            ),
            Indexed,
        ),
        (
            "rgb16.png".into(),
            encoded(
                &DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(30, 30, |x, y| {
                    Rgb([x as u16 * 2000, y as u16 * 2000, 30_000])
                })),
                ImageFormat::Png,
            ),
            Indexed,
        ),
        (
            "grey16.png".into(),
            encoded(
                &DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(30, 30, |x, _| {
                    image::Luma([x as u16 * 2000])
                })),
                ImageFormat::Png,
            ),
            Indexed,
        ),
        (
            "grey-alpha.png".into(),
            encoded(
                &DynamicImage::ImageLumaA8(image::ImageBuffer::from_fn(30, 30, |x, _| {
                    image::LumaA([200, (x * 8) as u8])
                })),
                ImageFormat::Png,
            ),
            Indexed,
        ),
        (
            "palette-transparent.png".into(),
            palette_with_transparency(),
            Indexed,
        ),
        ("animated.gif".into(), animated_gif(), Indexed),
        ("cmyk.jpg".into(), cmyk_jpeg(false), Indexed),
        ("ycck.jpg".into(), cmyk_jpeg(true), Indexed),
        // Valid files in a coding or container this build cannot decode: "unsupported", never
        // "corrupt". The JPEG frame headers are as `cjpeg -arithmetic` and friends write them.
        (
            "arithmetic.jpg".into(),
            jpeg_with_frame(crate::common::jpeg(&noise(64, 48, 7), false), 0xC9, None),
            Skipped("unsupported: arithmetic-coded JPEG"),
        ),
        (
            "arithmetic-progressive.jpg".into(),
            jpeg_with_frame(crate::common::jpeg(&noise(64, 48, 7), true), 0xCA, None),
            Skipped("unsupported: arithmetic-coded JPEG"),
        ),
        (
            "hierarchical.jpg".into(),
            jpeg_with_frame(crate::common::jpeg(&noise(64, 48, 7), false), 0xC5, None),
            Skipped("unsupported: hierarchical JPEG"),
        ),
        (
            "twelve-bit.jpg".into(),
            jpeg_with_frame(
                crate::common::jpeg(&noise(64, 48, 7), false),
                0xC1,
                Some(12),
            ),
            Skipped("unsupported: 12-bit JPEG"),
        ),
        (
            "iphone-export.jpg".into(),
            // A HEIC made by heif-enc (tests/it/heif.rs).
            std::fs::read(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/heif/rotated.heic"),
            )
            .unwrap(),
            if cfg!(feature = "heif") {
                Indexed
            } else {
                Skipped("unsupported: HEIF/HEIC image (build with the `heif` feature)")
            },
        ),
        (
            "printer.bmp".into(),
            bmp_holding_jpeg(&disc_img),
            Skipped("unsupported: BMP holding a JPEG"),
        ),
        // TGA has no signature; an icon whose PNG is RGB, which `image` alone refuses.
        ("plain.tga".into(), tga(&noise(30, 20, 4)), Indexed),
        (
            "rgb-png.ico".into(),
            ico_with_rgb_png(&noise(32, 32, 5)),
            Indexed,
        ),
        // Lossless JPEG (SOF3): the second JPEG decoder reads it.
        (
            "lossless.jpg".into(),
            lossless_jpeg(&photo.to_luma8()),
            Indexed,
        ),
        (
            "with space.png".into(),
            encoded(&disc_img.rotate180(), ImageFormat::Png),
            Indexed,
        ),
        (
            "new\nline.png".into(),
            encoded(&disc_img.rotate270(), ImageFormat::Png),
            Indexed,
        ),
        (
            PathBuf::from(OsStr::from_bytes(b"caf\xe9-latin1.png")),
            encoded(&disc_img.blur(2.0), ImageFormat::Png),
            Indexed,
        ),
        (
            "ünïcödé 名前.png".into(),
            encoded(&disc_img.grayscale(), ImageFormat::Png),
            Indexed,
        ),
        (
            "big.png".into(),
            vec![0u8; 3 << 20],
            Skipped("file too large"),
        ),
    ];
    let mut expect = Vec::new();
    for (name, bytes, e) in files.drain(..) {
        let path = dir.join(&name);
        std::fs::write(&path, bytes).unwrap();
        expect.push((path, e));
    }
    // Not regular files, links and folders.
    let fifo = dir.join("pipe.png");
    mkfifo(&fifo);
    expect.push((fifo, Skipped("not a regular file")));
    let dangling = dir.join("dangling.png");
    std::os::unix::fs::symlink(dir.join("nowhere.png"), &dangling).unwrap();
    expect.push((
        dangling,
        Skipped("broken symlink: No such file or directory"),
    ));
    let link = dir.join("link-to-plain.png");
    std::os::unix::fs::symlink(dir.join("plain.png"), &link).unwrap();
    expect.push((link, Indexed));
    let folder = dir.join("folder.png");
    std::fs::create_dir(&folder).unwrap();
    let inside = folder.join("inside.png");
    std::fs::write(&inside, encoded(&photo.fliph(), ImageFormat::Png)).unwrap();
    expect.push((inside, Indexed));
    let loop_dir = dir.join("loop");
    std::fs::create_dir(&loop_dir).unwrap();
    std::os::unix::fs::symlink(dir, loop_dir.join("back")).unwrap();
    expect.push((loop_dir.join("back"), Skipped("symlink loop")));
    // Unreadable: root reads it anyway, so then it is simply indexed.
    let locked = dir.join("locked.png");
    std::fs::write(&locked, encoded(&photo.rotate180(), ImageFormat::Png)).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let readable = std::fs::read(&locked).is_ok();
    expect.push((
        locked,
        if readable {
            Indexed
        } else {
            Skipped("cannot read")
        },
    ));
    // Hidden files are not part of the collection at all.
    std::fs::write(dir.join(".hidden.png"), &png).unwrap();
    expect
}

#[test]
fn every_awkward_file_is_indexed_or_skipped_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    let expect = corpus(&dir);
    assert!(expect.len() >= 30, "{} cases", expect.len());
    let dir = std::fs::canonicalize(&dir).unwrap();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let model = OnnxModel::builtin();
    let opts = IndexOptions {
        max_file_bytes: 2 << 20,
        ..Default::default()
    };
    let summary = crate::common::index_with(&dir, &mut store, &model, &opts);
    assert!(!summary.interrupted);
    let skipped: HashMap<PathBuf, String> = summary
        .skipped
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect();
    let c = store.collection(&dir, &summary.feature).unwrap();
    let indexed: std::collections::HashSet<&PathBuf> = c.paths.iter().collect();
    let mut wrong = Vec::new();
    for (path, e) in &expect {
        let path = dir.join(path.strip_prefix(tmp.path().join("corpus")).unwrap());
        let got_reason = skipped.get(&path);
        let ok = match (e, got_reason) {
            (Expect::Indexed, None) => indexed.contains(&path),
            (Expect::Skipped(prefix), Some(reason)) => {
                reason.starts_with(prefix) || reason.contains(prefix)
            }
            (Expect::IndexedOrCorrupt, None) => indexed.contains(&path),
            (Expect::IndexedOrCorrupt, Some(reason)) => reason.starts_with("corrupt image"),
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "{}: expected {e:?}, got {got_reason:?}",
                path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Nothing outside the corpus was skipped, and no hidden file was looked at.
    let listed: std::collections::HashSet<PathBuf> = expect
        .iter()
        .map(|(p, _)| dir.join(p.strip_prefix(tmp.path().join("corpus")).unwrap()))
        .collect();
    for s in &summary.skipped {
        assert!(listed.contains(&s.path), "unexpected skip: {s:?}");
    }
    assert!(
        c.paths
            .iter()
            .all(|p| !p.to_string_lossy().contains(".hidden"))
    );
    // Every vector is a unit vector.
    for i in 0..c.len() {
        let norm: f32 = c.row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{}", c.paths[i].display());
    }
    // A second run re-reads nothing it already has and gives the same answer.
    let again = crate::common::index_with(&dir, &mut store, &model, &opts);
    assert_eq!(again.embedded, 0);
    assert_eq!(again.skipped.len(), summary.skipped.len());
}
