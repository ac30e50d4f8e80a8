//! Decoding: EXIF orientation, limits against decompression bombs, odd pixel formats.

use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use imgtui::decode::{DecodeError, DecodeOptions, decode, decode_at_least, resize_rgb};

/// A JPEG of `img` carrying an EXIF orientation tag.
pub fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    // TIFF header (little endian), one IFD entry: 0x0112 Orientation, SHORT, count 1.
    let mut tiff = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_is_applied() {
    // Red on the left, blue on the right; orientation 6 means "rotate 90° clockwise to view".
    let img = RgbImage::from_fn(60, 30, |x, _| {
        Rgb(if x < 30 { [255, 0, 0] } else { [0, 0, 255] })
    });
    let decoded = decode(&jpeg_with_orientation(&img, 6), &DecodeOptions::default()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (30, 60));
    let rgb = decoded.to_rgb8();
    let top = rgb.get_pixel(15, 5).0;
    let bottom = rgb.get_pixel(15, 55).0;
    assert!(top[0] > 200 && top[2] < 60, "top should be red: {top:?}");
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom should be blue: {bottom:?}"
    );
}

#[test]
fn a_large_jpeg_is_decoded_at_a_scale_that_still_covers_the_model_input() {
    // 1800×1000: a smooth gradient with a red disc, upright after orientation 6 (1000×1800).
    let img = RgbImage::from_fn(1800, 1000, |x, y| {
        let (dx, dy) = (x as f32 - 600.0, y as f32 - 500.0);
        if dx * dx + dy * dy < 200.0 * 200.0 {
            Rgb([230, 20, 20])
        } else {
            Rgb([(x / 8) as u8, (y / 4) as u8, 128])
        }
    });
    let jpeg = jpeg_with_orientation(&img, 6);
    let opts = DecodeOptions::default();
    let full = decode(&jpeg, &opts).unwrap();
    assert_eq!((full.width(), full.height()), (1000, 1800));

    // 224×224 fits 1/4 of 1000×1800 (250×450) but not 1/8 (125×225).
    let scaled = decode_at_least(&jpeg, &opts, (224, 224)).unwrap();
    assert_eq!((scaled.width(), scaled.height()), (250, 450));
    let (a, b) = (
        resize_rgb(&full, 224, 224, opts.background),
        resize_rgb(&scaled, 224, 224, opts.background),
    );
    let mean_diff = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.as_raw().len() as f64;
    assert!(
        mean_diff < 3.0,
        "scaled decoding changes the model input by {mean_diff:.2} levels"
    );
    // The disc is where orientation 6 puts it: x = 1000 − 500, y = 600, in the upright frame.
    let px = b.get_pixel(112, 75).0;
    assert!(px[0] > 180 && px[1] < 80, "the disc should be red: {px:?}");

    // Small images and other formats take the ordinary path, with the same result.
    let small = jpeg_with_orientation(&RgbImage::from_pixel(300, 300, Rgb([9, 99, 199])), 1);
    let (s1, s2) = (
        decode(&small, &opts).unwrap(),
        decode_at_least(&small, &opts, (224, 224)).unwrap(),
    );
    assert_eq!(s1.to_rgb8().as_raw(), s2.to_rgb8().as_raw());
}

#[test]
fn decompression_bombs_are_refused_before_allocating() {
    // A 30000×30000 PNG of one colour compresses to a few hundred kilobytes.
    let mut png = Vec::new();
    let row = vec![0u8; 30_000];
    let mut writer = png::Encoder::new(&mut png, 30_000, 30_000);
    writer.set_color(png::ColorType::Grayscale);
    let mut writer = writer.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    for _ in 0..30_000 {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    writer.finish().unwrap();
    let err = decode(&png, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, DecodeError::TooLarge(_)), "{err}");
}

#[test]
fn grey_sixteen_bit_and_tiny_images_decode() {
    let opts = DecodeOptions::default();
    for img in [
        DynamicImage::ImageLuma8(image::GrayImage::from_pixel(10, 10, image::Luma([90]))),
        DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(
            10,
            10,
            Rgb([65535u16, 0, 0]),
        )),
        DynamicImage::ImageRgb8(RgbImage::from_pixel(1, 1, Rgb([0, 255, 0]))),
        DynamicImage::ImageRgb8(crate::common::noise(2000, 10, 3)),
    ] {
        let mut bytes = Vec::new();
        img.write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
        let decoded = decode(&bytes, &opts).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (img.width(), img.height())
        );
        let small = resize_rgb(&decoded, 224, 224, opts.background);
        assert_eq!(small.dimensions(), (224, 224));
    }
}

#[test]
fn an_animated_gif_gives_its_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, Rgba, RgbaImage};
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        let frame = |rgba: [u8; 4]| {
            Frame::from_parts(
                RgbaImage::from_pixel(16, 16, Rgba(rgba)),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        };
        encoder
            .encode_frames([frame([255, 0, 0, 255]), frame([0, 0, 255, 255])])
            .unwrap();
    }
    let decoded = decode(&bytes, &DecodeOptions::default()).unwrap().to_rgb8();
    let px = decoded.get_pixel(8, 8).0;
    assert!(px[0] > 200 && px[2] < 50, "the first (red) frame: {px:?}");
}

#[test]
fn sixteen_bit_grey_keeps_its_tones() {
    let img = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(8, 1, |x, _| {
        image::Luma([(x as u16) * 8000])
    }));
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .unwrap();
    let rgb = decode(&bytes, &DecodeOptions::default()).unwrap().to_rgb8();
    let tones: Vec<u8> = (0..8).map(|x| rgb.get_pixel(x, 0).0[0]).collect();
    assert!(tones.windows(2).all(|w| w[0] < w[1]), "{tones:?}");
    assert_eq!(
        rgb.get_pixel(3, 0).0,
        [93, 93, 93],
        "24000 / 65535 of full scale, grey"
    );
}

/// The orientation transforms, as "stored = INVERSE[o](upright)": what a camera writes when it
/// tags a picture with `o` instead of turning its pixels.
fn stored_for(upright: &RgbImage, o: u8) -> RgbImage {
    use image::imageops::{flip_horizontal, flip_vertical, rotate90, rotate180, rotate270};
    match o {
        1 => upright.clone(),
        2 => flip_horizontal(upright),
        3 => rotate180(upright),
        4 => flip_vertical(upright),
        5 => flip_horizontal(&rotate90(upright)), // transpose
        6 => rotate270(upright),
        7 => rotate90(&flip_horizontal(upright)), // transverse
        8 => rotate90(upright),
        _ => unreachable!(),
    }
}

/// How a TIFF stream writes its 16- and 32-bit numbers.
type ByteOrder = (fn(u16) -> [u8; 2], fn(u32) -> [u8; 4]);

fn byte_order(big_endian: bool) -> ByteOrder {
    if big_endian {
        (u16::to_be_bytes, u32::to_be_bytes)
    } else {
        (u16::to_le_bytes, u32::to_le_bytes)
    }
}

/// An EXIF block (a TIFF stream) holding only Orientation = `o`, as a SHORT.
fn exif_block(o: u8, big_endian: bool, prefix: bool) -> Vec<u8> {
    let mut out = if prefix {
        b"Exif\0\0".to_vec()
    } else {
        Vec::new()
    };
    let (u16b, u32b) = byte_order(big_endian);
    out.extend_from_slice(if big_endian { b"MM\0*" } else { b"II*\0" });
    out.extend(u32b(8));
    out.extend(u16b(1));
    out.extend(u16b(0x0112));
    out.extend(u16b(3));
    out.extend(u32b(1));
    out.extend(u16b(u16::from(o)));
    out.extend([0, 0, 0, 0, 0, 0]); // value padding, no next IFD
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

/// A PNG of `img` with an eXIf chunk holding `exif`, before the first IDAT or before IEND.
fn png_with_exif(img: &RgbImage, exif: &[u8], before_idat: bool) -> Vec<u8> {
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut chunk = (exif.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend_from_slice(exif);
    chunk.extend_from_slice(&body);
    chunk.extend(crc32(&body).to_be_bytes());
    let at = if before_idat {
        png.windows(4).position(|w| w == b"IDAT").unwrap() - 4
    } else {
        png.len() - 12 // IEND: length, type, CRC
    };
    png.splice(at..at, chunk);
    png
}

/// A lossless WebP of `img` in the extended (VP8X) container with an EXIF chunk holding `exif`.
fn webp_with_exif(img: &RgbImage, exif: &[u8]) -> Vec<u8> {
    let mut webp = Vec::new();
    DynamicImage::ImageRgb8(img.clone())
        .write_to(
            &mut std::io::Cursor::new(&mut webp),
            image::ImageFormat::WebP,
        )
        .unwrap();
    assert_eq!(&webp[8..12], b"WEBP");
    let (w, h) = img.dimensions();
    let mut payload = b"WEBPVP8X".to_vec();
    payload.extend(10u32.to_le_bytes());
    payload.extend([0x08, 0, 0, 0]); // flags: EXIF
    payload.extend(&(w - 1).to_le_bytes()[..3]);
    payload.extend(&(h - 1).to_le_bytes()[..3]);
    payload.extend_from_slice(&webp[12..]);
    payload.extend_from_slice(b"EXIF");
    payload.extend((exif.len() as u32).to_le_bytes());
    payload.extend_from_slice(exif);
    if exif.len() % 2 == 1 {
        payload.push(0);
    }
    let mut out = b"RIFF".to_vec();
    out.extend((payload.len() as u32).to_le_bytes());
    out.extend(payload);
    out
}

/// An uncompressed RGB TIFF of `img` whose tag 274 says `o`, little- or big-endian.
fn tiff_with_orientation(img: &RgbImage, o: u8, big_endian: bool) -> Vec<u8> {
    let (u16b, u32b) = byte_order(big_endian);
    let data = img.as_raw();
    let bits_at = 8 + data.len() as u32;
    let ifd_at = (bits_at + 6).next_multiple_of(2);
    let mut out = if big_endian {
        b"MM\0*".to_vec()
    } else {
        b"II*\0".to_vec()
    };
    out.extend(u32b(ifd_at));
    out.extend_from_slice(data);
    for _ in 0..3 {
        out.extend(u16b(8));
    }
    out.resize(ifd_at as usize, 0);
    let (w, h) = img.dimensions();
    // (tag, type, count, value): 3 = SHORT (left-justified in the value field), 4 = LONG.
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 3, bits_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 8),
        (274, 3, 1, u32::from(o)),
        (277, 3, 1, 3),
        (278, 4, 1, h),
        (279, 4, 1, data.len() as u32),
    ];
    out.extend(u16b(entries.len() as u16));
    for (tag, kind, count, value) in entries {
        out.extend(u16b(tag));
        out.extend(u16b(kind));
        out.extend(u32b(count));
        if kind == 3 && count == 1 {
            out.extend(u16b(value as u16));
            out.extend([0, 0]);
        } else {
            out.extend(u32b(value));
        }
    }
    out.extend(u32b(0));
    out
}

/// A picture that looks different under each of the eight orientations: a red ramp across, a
/// green ramp down and a white block near the top-left corner. 48 × 32, so 5–8 swap the sides.
fn asymmetric() -> RgbImage {
    RgbImage::from_fn(48, 32, |x, y| {
        if (4..16).contains(&x) && (3..11).contains(&y) {
            Rgb([255, 255, 255])
        } else {
            Rgb([(x * 5) as u8, (y * 7) as u8, 60])
        }
    })
}

/// Every container that can carry an orientation, tagged with `o`, holding `stored`.
fn tagged_files(stored: &RgbImage, o: u8) -> Vec<(String, Vec<u8>)> {
    let big = o.is_multiple_of(2);
    vec![
        (
            format!("o{o}-jpeg-app1.jpg"),
            jpeg_with_orientation(stored, u16::from(o)),
        ),
        (
            format!("o{o}-png-exif.png"),
            png_with_exif(stored, &exif_block(o, big, false), true),
        ),
        (
            // Some writers put JPEG's `Exif\0\0` in PNG's eXIf too.
            format!("o{o}-png-exif-prefix.png"),
            png_with_exif(stored, &exif_block(o, !big, true), true),
        ),
        (
            format!("o{o}-tiff-274.tif"),
            tiff_with_orientation(stored, o, big),
        ),
        (
            format!("o{o}-tiff-274-be.tif"),
            tiff_with_orientation(stored, o, !big),
        ),
        (
            format!("o{o}-webp-exif.webp"),
            webp_with_exif(stored, &exif_block(o, big, false)),
        ),
        (
            format!("o{o}-webp-exif-prefix.webp"),
            webp_with_exif(stored, &exif_block(o, !big, true)),
        ),
    ]
}

#[test]
fn every_container_applies_all_eight_orientations() {
    let upright = asymmetric();
    let opts = DecodeOptions::default();
    for o in 1..=8u8 {
        let stored = stored_for(&upright, o);
        for (name, bytes) in tagged_files(&stored, o) {
            let got = decode(&bytes, &opts)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .to_rgb8();
            assert_eq!(got.dimensions(), upright.dimensions(), "{name}");
            let worst = got
                .as_raw()
                .iter()
                .zip(upright.as_raw())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            // JPEG is lossy; the others give the very pixels.
            let allowed = if name.ends_with(".jpg") { 60 } else { 0 };
            assert!(worst <= allowed, "{name}: pixels differ by up to {worst}");
            if name.ends_with(".jpg") {
                let mean = got
                    .as_raw()
                    .iter()
                    .zip(upright.as_raw())
                    .map(|(a, b)| f64::from(a.abs_diff(*b)))
                    .sum::<f64>()
                    / got.as_raw().len() as f64;
                assert!(mean < 4.0, "{name}: mean difference {mean:.1}");
            }
        }
    }
}

#[test]
fn a_png_exif_after_the_image_data_is_not_applied() {
    // PNG (3rd edition): only an eXIf before IDAT counts; one after it arrived too late.
    let upright = asymmetric();
    let stored = stored_for(&upright, 6);
    let png = png_with_exif(&stored, &exif_block(6, false, false), false);
    let got = decode(&png, &DecodeOptions::default()).unwrap().to_rgb8();
    assert_eq!(got.as_raw(), stored.as_raw());
}

#[test]
fn exif_orientation_reads_every_spelling_and_refuses_nonsense() {
    use image::metadata::Orientation;
    use imgtui::decode::exif_orientation;
    for o in 1..=8u8 {
        for (big, prefix) in [(false, false), (true, false), (false, true), (true, true)] {
            let got = exif_orientation(&exif_block(o, big, prefix));
            assert_eq!(
                got,
                Orientation::from_exif(o),
                "o={o} big={big} prefix={prefix}"
            );
        }
    }
    // Out of range, cut short, pointing outside the block, not TIFF at all.
    assert_eq!(exif_orientation(&exif_block(9, false, false)), None);
    assert_eq!(exif_orientation(&exif_block(0, true, true)), None);
    let whole = exif_block(6, false, false);
    for cut in 0..whole.len() - 6 {
        assert_eq!(exif_orientation(&whole[..cut]), None, "cut at {cut}");
    }
    let mut far = whole.clone();
    far[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(exif_orientation(&far), None);
    assert_eq!(exif_orientation(b"Exif\0\0hello, world"), None);
    // A LONG instead of a SHORT (some writers) is read too.
    let mut long = whole;
    long[12..14].copy_from_slice(&4u16.to_le_bytes());
    assert_eq!(exif_orientation(&long), Some(Orientation::Rotate90));
}

#[test]
fn tagged_files_are_at_distance_zero_from_their_upright_twin_through_the_pipeline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    std::fs::create_dir_all(&dir).unwrap();
    let upright = asymmetric();
    upright.save(dir.join("twin-upright.png")).unwrap();
    let mut tagged = Vec::new();
    for o in 1..=8u8 {
        let stored = stored_for(&upright, o);
        if o > 1 {
            // The same pixels without a tag: what a decoder that ignores the tag would see.
            stored.save(dir.join(format!("untagged-{o}.png"))).unwrap();
        }
        for (name, bytes) in tagged_files(&stored, o) {
            std::fs::write(dir.join(&name), bytes).unwrap();
            tagged.push(name);
        }
    }
    let twin = dir.join("twin-upright.png");
    let store = tmp.path().join("store.sqlite");
    let answer: imgtui::answers::Similar = crate::common::run_answer(
        &[
            "similar",
            twin.to_str().unwrap(),
            "--in",
            dir.to_str().unwrap(),
            "--n",
            "100",
            "--features",
            "pixels",
        ],
        &store,
    );
    let distance: std::collections::HashMap<String, f32> = answer
        .neighbours
        .iter()
        .map(|n| (crate::common::name(&n.path).to_owned(), n.distance))
        .collect();
    for name in &tagged {
        let d = distance[name];
        let allowed = if name.ends_with(".jpg") { 2e-3 } else { 1e-5 };
        assert!(d <= allowed, "{name} is {d} from its upright twin");
    }
    // The check can fail: the untagged pixels are far from upright.
    for o in 2..=8 {
        let d = distance[&format!("untagged-{o}.png")];
        assert!(d > 0.05, "untagged {o} is only {d} away");
    }
}

#[test]
fn valid_codings_this_build_cannot_decode_are_unsupported_not_corrupt() {
    use crate::common::{jpeg, jpeg_with_frame};
    let opts = DecodeOptions::default();
    let small = crate::common::noise(64, 48, 5);
    // Large enough for the DCT-scaled path too (at least twice the model's 224 × 224).
    let large = crate::common::disc(640, 480, [250, 180, 0], [20, 20, 90]);
    for img in [&small, &large] {
        for (bytes, says) in [
            (
                jpeg_with_frame(jpeg(img, false), 0xC9, None),
                "arithmetic-coded JPEG",
            ),
            (
                jpeg_with_frame(jpeg(img, true), 0xCA, None),
                "arithmetic-coded JPEG",
            ),
            (
                jpeg_with_frame(jpeg(img, false), 0xC5, None),
                "hierarchical JPEG",
            ),
            (
                jpeg_with_frame(jpeg(img, false), 0xC1, Some(12)),
                "12-bit JPEG",
            ),
        ] {
            for err in [
                decode(&bytes, &opts).unwrap_err(),
                decode_at_least(&bytes, &opts, (224, 224)).unwrap_err(),
            ] {
                assert!(matches!(err, DecodeError::Unsupported(_)), "{says}: {err}");
                assert_eq!(err.to_string(), format!("unsupported: {says}"));
            }
        }
    }
    // Containers a user calls images, by their signatures.
    let mut bmp = Vec::new();
    DynamicImage::ImageRgb8(small.clone())
        .write_to(&mut std::io::Cursor::new(&mut bmp), image::ImageFormat::Bmp)
        .unwrap();
    let mut bmp_jpeg = bmp.clone();
    bmp_jpeg[30..34].copy_from_slice(&4u32.to_le_bytes());
    let mut bmp_png = bmp;
    bmp_png[30..34].copy_from_slice(&5u32.to_le_bytes());
    // HEIF and AVIF name the feature that decodes them (tests/it/heif.rs: with it).
    if !cfg!(feature = "heif") {
        let err = decode(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported: HEIF/HEIC image (build with the `heif` feature)"
        );
    }
    if !cfg!(feature = "avif") {
        let err = decode(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf", &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported: AVIF image (build with the `avif` feature)"
        );
    }
    for (bytes, says) in [
        (
            b"\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14ftypjp2 ".to_vec(),
            "JPEG 2000 image",
        ),
        (bmp_jpeg, "BMP holding a JPEG"),
        (bmp_png, "BMP holding a PNG"),
    ] {
        let err = decode(&bytes, &opts).unwrap_err();
        assert_eq!(err.to_string(), format!("unsupported: {says}"));
    }
    // JPEG XL is decoded now (tests/it/formats.rs): a header alone is a damaged file.
    let err = decode(&[0xFF, 0x0A, 0xFA, 0x7F, 0x01, 0x90], &opts).unwrap_err();
    assert!(
        err.to_string().starts_with("corrupt image: JPEG XL"),
        "{err}"
    );
    // A TIFF in CCITT Group 3 fax coding (compression 3), which the tiff crate lacks.
    let mut fax = tiff_with_orientation(&small, 1, false);
    let plain = [0x03, 0x01, 3, 0, 1, 0, 0, 0, 1, 0]; // tag 259, SHORT, 1 value: 1 (none)
    let at = fax.windows(10).position(|w| w == plain).unwrap();
    fax[at + 8] = 3;
    let err = decode(&fax, &opts).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported: TIFF: compression method Fax3 is unsupported"
    );
}

#[test]
fn damaged_files_are_still_corrupt() {
    use crate::common::jpeg;
    let opts = DecodeOptions::default();
    let img = crate::common::noise(64, 48, 6);
    let whole = jpeg(&img, false);
    // Cut inside the frame header; a frame header whose length runs past the file.
    let sof = whole.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let mut bad_length = whole.clone();
    bad_length[sof + 2..sof + 4].copy_from_slice(&0xFFF0u16.to_be_bytes());
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    for (name, bytes) in [
        ("jpeg cut in its header", whole[..sof + 6].to_vec()),
        ("jpeg with a bad frame length", bad_length),
        ("png cut in half", png[..png.len() / 2].to_vec()),
    ] {
        let err = decode(&bytes, &opts).unwrap_err();
        assert!(matches!(err, DecodeError::Corrupt(_)), "{name}: {err}");
    }
}

#[test]
fn a_lossless_jpeg_decodes_to_its_exact_pixels() {
    // The main decoder refuses SOF3; the second one reads it.
    let img = image::GrayImage::from_fn(37, 21, |x, y| {
        image::Luma([(x * 7 + y * 11) as u8 ^ (x * y) as u8])
    });
    let bytes = crate::common::lossless_jpeg(&img);
    let opts = DecodeOptions::default();
    for decoded in [
        decode(&bytes, &opts).unwrap(),
        decode_at_least(&bytes, &opts, (8, 8)).unwrap(),
    ] {
        assert_eq!(decoded.to_luma8().as_raw(), img.as_raw());
    }
}

#[test]
fn tga_has_no_signature_but_is_read() {
    // TGA files start with no magic number: they used to be "not a recognised image format".
    let img = crate::common::noise(40, 30, 8);
    let tga = crate::common::tga(&img);
    let opts = DecodeOptions::default();
    let decoded = decode(&tga, &opts).unwrap().to_rgb8();
    assert_eq!(decoded.as_raw(), img.as_raw());
    // Without the TGA 2.0 footer (older writers), the header alone is enough.
    if let Some(cut) = tga
        .len()
        .checked_sub(26)
        .filter(|&c| tga.ends_with(b"TRUEVISION-XFILE.\0") && c > 18)
    {
        assert_eq!(
            decode(&tga[..cut], &opts).unwrap().to_rgb8().as_raw(),
            img.as_raw()
        );
    }
    // Text and noise still are not images.
    for junk in [
        b"shopping: eggs, milk, bread\n".to_vec(),
        crate::common::noise(20, 20, 9).into_raw(),
    ] {
        assert!(matches!(
            decode(&junk, &opts).unwrap_err(),
            DecodeError::UnknownFormat
        ));
    }
}

#[test]
fn an_icon_holding_an_rgb_png_is_read() {
    let img = crate::common::disc(48, 48, [250, 180, 0], [20, 20, 90]);
    let ico = crate::common::ico_with_rgb_png(&img);
    let decoded = decode(&ico, &DecodeOptions::default()).unwrap().to_rgb8();
    assert_eq!(decoded.as_raw(), img.as_raw());
}

/// A JPEG cut off after its headers decodes, with every decoder, into an image whose missing
/// part is grey: it must be reported as corrupt (truncated), baseline and progressive alike,
/// and whichever path decodes it (full, or scaled for a small model input).
#[test]
fn a_cut_off_jpeg_is_corrupt_not_grey() {
    let img = crate::common::noise(300, 200, 9);
    let mut baseline = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut baseline, 90)
        .encode_image(&img)
        .unwrap();
    let mut progressive = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut progressive, 90);
    encoder.set_progressive(true);
    encoder
        .encode(img.as_raw(), 300, 200, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    for whole in [baseline, progressive] {
        assert!(decode(&whole, &DecodeOptions::default()).is_ok());
        let cut = &whole[..whole.len() / 3];
        for got in [
            decode(cut, &DecodeOptions::default()),
            decode_at_least(cut, &DecodeOptions::default(), (32, 32)),
        ] {
            let err = got.unwrap_err();
            assert!(
                matches!(err, DecodeError::Corrupt(_))
                    && err.to_string().contains("truncated JPEG"),
                "{err}"
            );
        }
    }
}
