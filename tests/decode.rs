//! Decoding: EXIF orientation, limits against decompression bombs, odd pixel formats.

mod common;

use image::{DynamicImage, ImageEncoder, Rgb, RgbImage};
use imgtui::decode::{DecodeError, DecodeOptions, decode, resize_rgb};

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
        DynamicImage::ImageRgb8(common::noise(2000, 10, 3)),
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
