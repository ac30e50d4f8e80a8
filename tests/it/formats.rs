//! Formats beyond the `image` crate: JPEG XL (jxl-oxide), SVG (resvg), the JPEG preview in
//! camera RAW files, and the formats this build only recognises (HEIF/HEIC, AVIF, Photoshop),
//! each listed with a true reason. Every input is made here.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use imgtui::decode::{DecodeError, DecodeOptions, decode};

use crate::common::*;

fn jxl(img: &RgbImage) -> Vec<u8> {
    use zune_core::bit_depth::BitDepth;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::EncoderOptions;
    let options = EncoderOptions::new(
        img.width() as usize,
        img.height() as usize,
        ColorSpace::RGB,
        BitDepth::Eight,
    );
    let mut out = Vec::new();
    zune_jpegxl::JxlSimpleEncoder::new(img.as_raw(), options)
        .encode(&mut out)
        .unwrap();
    out
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

/// A TIFF-based RAW file as cameras write it: a first IFD with the camera's tags (`extra`,
/// e.g. DNGVersion or Make), orientation `orientation`, and a JPEG preview pointed to by
/// JPEGInterchangeFormat; sensor bytes after it.
fn tiff_raw(
    extra: &[(u16, u16, u32, Vec<u8>)],
    orientation: u16,
    preview: Option<&[u8]>,
) -> Vec<u8> {
    let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = extra.to_vec();
    entries.push((0x0112, 3, 1, orientation.to_le_bytes().to_vec()));
    let ifd_at = 8u32;
    let n = entries.len() as u32 + if preview.is_some() { 2 } else { 0 };
    let data_at = ifd_at + 2 + n * 12 + 4;
    let mut data = Vec::new();
    let mut ifd = Vec::new();
    let mut push = |tag: u16, kind: u16, count: u32, value: &[u8], data: &mut Vec<u8>| {
        ifd.extend_from_slice(&tag.to_le_bytes());
        ifd.extend_from_slice(&kind.to_le_bytes());
        ifd.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut v = value.to_vec();
            v.resize(4, 0);
            ifd.extend_from_slice(&v);
        } else {
            ifd.extend_from_slice(&(data_at + data.len() as u32).to_le_bytes());
            data.extend_from_slice(value);
        }
    };
    let mut sorted = entries;
    if let Some(p) = preview {
        let offset = data_at + 64; // after the values, placed below
        sorted.push((0x0201, 4, 1, offset.to_le_bytes().to_vec()));
        sorted.push((0x0202, 4, 1, (p.len() as u32).to_le_bytes().to_vec()));
    }
    sorted.sort_by_key(|e| e.0);
    for (tag, kind, count, value) in &sorted {
        push(*tag, *kind, *count, value, &mut data);
    }
    assert!(data.len() <= 64, "values fit before the preview");
    data.resize(64, 0);
    let mut file = b"II*\0".to_vec();
    file.extend_from_slice(&ifd_at.to_le_bytes());
    file.extend_from_slice(&(n as u16).to_le_bytes());
    file.extend_from_slice(&ifd);
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&data);
    if let Some(p) = preview {
        file.extend_from_slice(p);
    }
    // Sensor data, with a stray SOI-like byte run in it.
    let mut rng = Lcg::new(5);
    file.extend((0..4000).map(|_| rng.next_u8()));
    file.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 0]);
    file
}

/// A picture whose orientation is easy to check: left half red, right half blue, wider than tall.
fn halves(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        Rgb(if x < w / 2 {
            [220, 20, 20]
        } else {
            [20, 20, 220]
        })
    })
}

fn close(a: Rgb<u8>, b: [u8; 3]) -> bool {
    a.0.iter().zip(b).all(|(&x, y)| x.abs_diff(y) < 40)
}

#[test]
fn jpeg_xl_decodes_pixel_for_pixel() {
    let img = noise(37, 23, 4);
    let decoded = decode(&jxl(&img), &DecodeOptions::default())
        .unwrap()
        .to_rgb8();
    assert_eq!(decoded, img, "lossless JPEG XL gives back the same pixels");
    // A damaged one is corrupt, not unsupported.
    let mut cut = jxl(&img);
    cut.truncate(cut.len() / 2);
    let got = decode(&cut, &DecodeOptions::default());
    assert!(matches!(got, Err(DecodeError::Corrupt(_))), "{got:?}");
}

#[test]
fn svg_is_rasterised_sharp_and_loads_nothing_from_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.png");
    solid(8, 8, [0, 255, 0]).save(&secret).unwrap();
    let svg = format!(
        r#"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">
  <rect width="20" height="20" fill="red"/>
  <circle cx="30" cy="10" r="8" fill="blue"/>
  <image x="0" y="0" width="40" height="20" xlink:href="{}"/>
</svg>"#,
        secret.display()
    );
    let img = decode(svg.as_bytes(), &DecodeOptions::default()).unwrap();
    // A 40×20 drawing is rasterised at 512 pixels on its long side.
    assert_eq!((img.width(), img.height()), (512, 256));
    let rgba = img.to_rgba8();
    assert_eq!(rgba.get_pixel(100, 128).0, [255, 0, 0, 255]);
    assert_eq!(rgba.get_pixel(384, 128).0, [0, 0, 255, 255]);
    // Outside the circle: transparent, and the external image was not drawn over it.
    assert_eq!(rgba.get_pixel(500, 10).0[3], 0);
    // Not an SVG after all: a damaged one is corrupt.
    let broken = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\"><rect";
    assert!(matches!(
        decode(broken, &DecodeOptions::default()),
        Err(DecodeError::Corrupt(_))
    ));
}

#[test]
fn camera_raw_gives_its_largest_preview_upright() {
    let preview = jpeg(&halves(96, 48));
    let thumbnail = jpeg(&halves(24, 12));
    let dng_version = (0xC612u16, 1u16, 4u32, vec![1, 4, 0, 0]);
    // Orientation 6: the camera was turned; the upright picture is 48 wide and 96 tall, red on top.
    let mut dng = tiff_raw(&[dng_version], 6, Some(&preview));
    dng.extend_from_slice(&thumbnail);
    let img = decode(&dng, &DecodeOptions::default()).unwrap().to_rgb8();
    assert_eq!(
        (img.width(), img.height()),
        (48, 96),
        "the larger preview, turned"
    );
    assert!(
        close(*img.get_pixel(24, 10), [220, 20, 20]),
        "{:?}",
        img.get_pixel(24, 10)
    );
    assert!(close(*img.get_pixel(24, 86), [20, 20, 220]));

    // A NEF is known by its maker; this one has no preview.
    let make = b"NIKON CORPORATION\0".to_vec();
    let nef = tiff_raw(&[(0x010F, 2, make.len() as u32, make)], 1, None);
    match decode(&nef, &DecodeOptions::default()) {
        Err(DecodeError::Unsupported(what)) => {
            assert_eq!(what, "camera RAW (NEF) without an embedded JPEG preview")
        }
        other => panic!("{other:?}"),
    }

    // RAF: Fujifilm's own header, the preview at an offset.
    let mut raf = b"FUJIFILMCCD-RAW 0201FF383501".to_vec();
    raf.resize(160, 0);
    raf.extend_from_slice(&preview);
    let img = decode(&raf, &DecodeOptions::default()).unwrap();
    assert_eq!((img.width(), img.height()), (96, 48));

    // An ordinary TIFF stays a TIFF.
    let mut tiff = Vec::new();
    DynamicImage::ImageRgb8(halves(30, 10))
        .write_to(&mut Cursor::new(&mut tiff), ImageFormat::Tiff)
        .unwrap();
    assert_eq!(
        decode(&tiff, &DecodeOptions::default()).unwrap().width(),
        30
    );
}

/// A folder of every kind: what is decoded is indexed, what is only recognised is listed as
/// unsupported with its kind, and what is not an image is left out unmentioned.
#[test]
fn a_folder_of_every_format_gets_a_truthful_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    put("a.jxl", &jxl(&disc(40, 40, [250, 200, 0], [20, 20, 60])));
    put(
        "b.svg",
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="30" height="30"><circle cx="15" cy="15" r="10" fill="teal"/></svg>"#,
    );
    let dng_version = (0xC612u16, 1u16, 4u32, vec![1, 4, 0, 0]);
    put(
        "c.dng",
        &tiff_raw(&[dng_version], 1, Some(&jpeg(&halves(64, 32)))),
    );
    put("d.png", &{
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(stripes(40, 40, 4, true, [0, 0, 0], [255, 255, 255]))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        png
    });
    let ftyp = |brand: &[u8]| {
        let mut b = vec![0, 0, 0, 24];
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(brand);
        b.extend_from_slice(&[0; 12]);
        b
    };
    put("e.heic", &ftyp(b"heic"));
    put("f.avif", &ftyp(b"avif"));
    put("g.psd", b"8BPS\0\x01\0\0\0\0\0\0\0\x03");
    let make = b"SONY\0".to_vec();
    put(
        "h.arw",
        &tiff_raw(&[(0x010F, 2, make.len() as u32, make)], 1, None),
    );
    put("notes.txt", b"not an image");
    put("clip.mp4", &ftyp(b"isom"));

    // Reading the summary checks its schema is SCHEMA.
    let summary = index_json(&dir, &tmp.path().join("s.sqlite"));
    assert_eq!(imgtui::answers::SCHEMA, 1);
    assert_eq!(summary.found, 8, "{summary:?}");
    assert_eq!(summary.embedded, 4, "{summary:?}");
    let mut skipped = skipped_by_name(&summary);
    // A bare `ftyp` box: named with its feature, or, in a build with it, a damaged file.
    for ((name, reason), (kind, feature, built)) in skipped.iter_mut().zip([
        ("HEIF/HEIC", "heif", cfg!(feature = "heif")),
        ("AVIF", "avif", cfg!(feature = "avif")),
    ]) {
        if built {
            let damaged = format!("corrupt image: {kind}: ");
            assert!(reason.starts_with(&damaged), "{name}: {reason}");
            *reason = format!("unsupported: {kind} image (build with the `{feature}` feature)");
        }
    }
    assert_eq!(
        skipped,
        [
            (
                "e.heic",
                "unsupported: HEIF/HEIC image (build with the `heif` feature)"
            ),
            (
                "f.avif",
                "unsupported: AVIF image (build with the `avif` feature)"
            ),
            ("g.psd", "unsupported: Photoshop document"),
            (
                "h.arw",
                "unsupported: camera RAW (ARW) without an embedded JPEG preview"
            ),
        ]
        .map(|(p, r)| (p.to_owned(), r.to_owned()))
    );
}
