//! Decoding: EXIF orientation, limits against decompression bombs, odd pixel formats.

use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use imgtui::decode::{DecodeError, DecodeOptions, decode, decode_at_least, resize_rgb};

/// A JPEG of `img` carrying an EXIF orientation tag.
fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
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
