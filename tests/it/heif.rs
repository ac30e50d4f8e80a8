//! HEIF/HEIC and AVIF: decoded by the system's libheif in a build with the `heif` / `avif`
//! feature, upright (the file's transforms applied, its EXIF orientation not applied on top),
//! within the limits; damaged files are `corrupt`; a build without the feature names it.
//!
//! The inputs are tiny files made once by libheif's own encoder, `heif-enc` (the commands are in
//! `fixtures/heif/make.sh`): Rust has no HEVC or AV1 encoder to draw them with at test time.
//! Each shows the same 64×48 picture of four coloured quadrants.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use imgtui::decode::{DecodeError, DecodeOptions, decode, decode_at_least};

use crate::common::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/heif")
        .join(name)
}

/// The reason a build gives for a valid file of a kind it does not decode.
fn without_feature(kind: &str, feature: &str) -> String {
    format!("unsupported: {kind} (build with the `{feature}` feature)")
}

/// The four quadrants of the upright picture: top left, top right, bottom left, bottom right.
const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 30], [30, 30, 220], [230, 220, 30]];

/// Asserts `img` is the upright 64×48 picture: each quadrant's centre within lossy coding's
/// `tolerance` of its colour (a turned or mirrored picture puts another colour there).
#[cfg_attr(not(any(feature = "heif", feature = "avif")), allow(dead_code))]
fn assert_upright(img: &DynamicImage, tolerance: u8, what: &str) {
    assert_eq!((img.width(), img.height()), (64, 48), "{what}");
    let rgb = img.to_rgb8();
    for (i, (x, y)) in [(16, 12), (48, 12), (16, 36), (48, 36)]
        .into_iter()
        .enumerate()
    {
        let got = rgb.get_pixel(x, y).0;
        let far = got
            .iter()
            .zip(QUADRANTS[i])
            .any(|(&g, w)| g.abs_diff(w) > tolerance);
        assert!(
            !far,
            "{what}: quadrant {i} at ({x}, {y}) is {got:?}, not {:?}",
            QUADRANTS[i]
        );
    }
}

/// The fixtures carry the trap they test: a rotation in the HEIF transforms and the same
/// rotation in their EXIF block.
#[test]
fn the_fixtures_hold_both_a_transform_and_an_exif_orientation() {
    for (name, tag) in [("rotated.heic", 6), ("transverse.avif", 7)] {
        let bytes = fixture(name);
        let tiff = bytes.windows(4).position(|w| w == b"MM\0*").unwrap();
        let o = imgtui::decode::exif_orientation(&bytes[tiff..]).unwrap();
        assert_eq!(
            o,
            image::metadata::Orientation::from_exif(tag).unwrap(),
            "{name}"
        );
    }
}

#[cfg(feature = "heif")]
#[test]
fn a_rotated_heic_decodes_upright_and_is_turned_once() {
    let bytes = fixture("rotated.heic");
    let opts = DecodeOptions::default();
    let img = decode(&bytes, &opts).unwrap();
    assert_upright(&img, 24, "rotated.heic");
    assert_upright(
        &decode_at_least(&bytes, &opts, (224, 224)).unwrap(),
        24,
        "rotated.heic, decode_at_least",
    );
}

#[cfg(feature = "heif")]
#[test]
fn a_heic_with_alpha_keeps_its_transparency() {
    let img = decode(&fixture("alpha.heic"), &DecodeOptions::default()).unwrap();
    let DynamicImage::ImageRgba8(rgba) = &img else {
        panic!("expected RGBA, got {:?}", img.color());
    };
    assert_eq!(rgba.dimensions(), (64, 48));
    assert!(
        rgba.get_pixel(48, 36).0[3] < 8,
        "{:?}",
        rgba.get_pixel(48, 36)
    );
    for (x, y) in [(16, 12), (48, 12), (16, 36)] {
        assert!(
            rgba.get_pixel(x, y).0[3] > 247,
            "{:?}",
            rgba.get_pixel(x, y)
        );
    }
    // Through the pipeline the transparent quadrant takes the background colour.
    let rgb = imgtui::decode::resize_rgb(&img, 64, 48, [0, 0, 255]);
    let p = rgb.get_pixel(48, 36).0;
    assert!(p[0] < 16 && p[1] < 16 && p[2] > 239, "{p:?}");
}

#[cfg(feature = "avif")]
#[test]
fn avif_with_a_rotation_and_a_mirror_and_ten_bit_avif_decode_upright() {
    let opts = DecodeOptions::default();
    assert_upright(
        &decode(&fixture("transverse.avif"), &opts).unwrap(),
        24,
        "transverse.avif",
    );
    let ten = decode(&fixture("ten-bit.avif"), &opts).unwrap();
    assert!(
        matches!(ten, DynamicImage::ImageRgb8(_)),
        "{:?}",
        ten.color()
    );
    assert_upright(&ten, 24, "ten-bit.avif");
}

/// Cut files and files over the limits are refused with the right reason; damaged bytes anywhere
/// never panic.
#[cfg(any(feature = "heif", feature = "avif"))]
#[test]
fn damaged_and_huge_heif_files_are_refused_with_a_reason() {
    let names: &[&str] = &[
        #[cfg(feature = "heif")]
        "rotated.heic",
        #[cfg(feature = "heif")]
        "alpha.heic",
        #[cfg(feature = "avif")]
        "transverse.avif",
        #[cfg(feature = "avif")]
        "ten-bit.avif",
    ];
    let opts = DecodeOptions::default();
    for name in names {
        let bytes = fixture(name);
        // Every cut: in the boxes, in the coded data; all are damaged files.
        for cut in (12..bytes.len()).step_by(7) {
            match decode(&bytes[..cut], &opts) {
                Err(DecodeError::Corrupt(why)) => assert!(!why.is_empty()),
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
        // Every byte flipped in turn, boxes and coded data: any answer but a panic (a flip in
        // the coded data may still decode).
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xFF;
            if let Ok(img) = decode(&flipped, &opts) {
                assert!(
                    img.width() > 0 && img.height() > 0,
                    "{name} flipped at {at}"
                );
            }
        }
        // The size is read from the boxes and refused before a pixel is decoded.
        for small in [
            DecodeOptions {
                max_side: 63,
                ..opts.clone()
            },
            DecodeOptions {
                max_alloc: 64 * 48 * 3 - 1,
                ..opts.clone()
            },
        ] {
            let err = decode(&bytes, &small).unwrap_err();
            assert!(matches!(err, DecodeError::TooLarge(_)), "{name}: {err}");
        }
    }
}

/// Without the features the reason names the feature that would decode the file, on both
/// decoding paths; with a feature, a bare `ftyp` box is a damaged file.
#[test]
fn each_kind_is_named_with_its_feature_or_decoded() {
    let opts = DecodeOptions::default();
    let heif = ("HEIF/HEIC image", "heif", cfg!(feature = "heif"));
    let avif = ("AVIF image", "avif", cfg!(feature = "avif"));
    for (bytes, (kind, feature, built)) in [
        (fixture("rotated.heic"), heif),
        (fixture("alpha.heic"), heif),
        (fixture("transverse.avif"), avif),
        (fixture("ten-bit.avif"), avif),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(), heif),
        (b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic".to_vec(), heif),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec(), avif),
        // The generic brand with AVIF among the compatible ones.
        (b"\0\0\0\x1cftypmif1\0\0\0\0mif1miafavif".to_vec(), avif),
    ] {
        for got in [
            decode(&bytes, &opts),
            decode_at_least(&bytes, &opts, (224, 224)),
        ] {
            match (built, got) {
                (false, Err(e)) => assert_eq!(e.to_string(), without_feature(kind, feature)),
                (true, Ok(img)) => assert_eq!(img.width(), 64),
                (true, Err(e @ DecodeError::Corrupt(_))) => assert!(bytes.len() < 40, "{e}"),
                (built, got) => panic!("{kind}, built {built}: {got:?}"),
            }
        }
    }
    // An MP4 shares the box and is not an image.
    let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2".to_vec();
    assert!(matches!(
        decode(&mp4, &opts),
        Err(DecodeError::UnknownFormat)
    ));
}

/// A user's folder: a HEIC, an AVIF and a PNG. With both features all three are indexed;
/// without, the two are listed with the feature to build with.
#[test]
fn a_folder_of_heic_avif_and_png_is_indexed_or_names_the_features() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture_path("rotated.heic"), dir.join("phone.heic")).unwrap();
    std::fs::copy(fixture_path("transverse.avif"), dir.join("web.avif")).unwrap();
    DynamicImage::ImageRgb8(disc(40, 40, [250, 200, 0], [20, 20, 60]))
        .save(dir.join("drawn.png"))
        .unwrap();
    let summary = index_json(&dir, &tmp.path().join("s.sqlite"));
    assert_eq!(summary.found, 3, "{summary:?}");
    let mut skipped = Vec::new();
    if !cfg!(feature = "heif") {
        skipped.push((
            "phone.heic".to_owned(),
            without_feature("HEIF/HEIC image", "heif"),
        ));
    }
    if !cfg!(feature = "avif") {
        skipped.push(("web.avif".to_owned(), without_feature("AVIF image", "avif")));
    }
    assert_eq!(summary.embedded, 3 - skipped.len(), "{summary:?}");
    assert_eq!(skipped_by_name(&summary), skipped);
}

/// With the features, a libheif that lacks the codec's plugin (here: none is loaded) makes the
/// file `unsupported`, naming the Debian package, not `corrupt`.
#[cfg(any(feature = "heif", feature = "avif"))]
#[test]
fn a_libheif_without_the_codec_plugin_says_which_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("photos");
    let no_plugins = tmp.path().join("no-plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&no_plugins).unwrap();
    std::fs::copy(fixture_path("rotated.heic"), dir.join("phone.heic")).unwrap();
    std::fs::copy(fixture_path("transverse.avif"), dir.join("web.avif")).unwrap();
    let out = imgtui()
        .args(["index", "--json"])
        .arg(&dir)
        .arg("--store")
        .arg(tmp.path().join("s.sqlite"))
        .env("LIBHEIF_PLUGIN_PATH", &no_plugins)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: imgtui::answers::Versioned<imgtui::Summary> =
        parse_answer(&String::from_utf8_lossy(&out.stdout));
    let summary = summary.answer;
    for (name, reason) in skipped_by_name(&summary) {
        let package = if name.ends_with(".heic") {
            "libheif-plugin-libde265"
        } else {
            "libheif-plugin-dav1d"
        };
        assert!(
            reason.starts_with("unsupported: ") && reason.contains(package),
            "{name}: {reason}"
        );
    }
}
