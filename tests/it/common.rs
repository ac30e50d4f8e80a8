//! Images the tests draw themselves, so `cargo test` needs nothing but the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use image::{Rgb, RgbImage};
use imgtui::Summary;
use imgtui::answers::{Clusters, Versioned};

/// A small deterministic pseudo-random generator (no extra dependency).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    pub fn next_u8(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u8
    }
}

/// Makes a FIFO (named pipe) at `path` with `mkfifo`.
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

pub fn solid(w: u32, h: u32, rgb: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb(rgb))
}

/// Stripes of two colours, `period` pixels wide, vertical or horizontal.
pub fn stripes(w: u32, h: u32, period: u32, vertical: bool, a: [u8; 3], b: [u8; 3]) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let t = if vertical { x } else { y };
        Rgb(if (t / period).is_multiple_of(2) { a } else { b })
    })
}

pub fn noise(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Lcg::new(seed);
    RgbImage::from_fn(w, h, |_, _| {
        Rgb([rng.next_u8(), rng.next_u8(), rng.next_u8()])
    })
}

pub fn checkerboard(w: u32, h: u32, cell: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb(if (x / cell + y / cell).is_multiple_of(2) {
            [0, 0, 0]
        } else {
            [255, 255, 255]
        })
    })
}

/// A filled disc of `fg` on `bg`.
pub fn disc(w: u32, h: u32, fg: [u8; 3], bg: [u8; 3]) -> RgbImage {
    let (cx, cy, r) = (w as f32 / 2.0, h as f32 / 2.0, w.min(h) as f32 / 3.0);
    RgbImage::from_fn(w, h, |x, y| {
        let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        Rgb(if d < r { fg } else { bg })
    })
}

/// A folder with a dozen images of clearly different kinds, as PNG and JPEG.
pub fn varied_folder(dir: &Path) -> Vec<PathBuf> {
    let images = [
        ("solid-red.png", solid(96, 96, [220, 30, 30])),
        ("solid-blue.png", solid(96, 96, [30, 40, 220])),
        (
            "stripes-v.png",
            stripes(128, 128, 8, true, [0, 0, 0], [255, 255, 0]),
        ),
        (
            "stripes-h.jpg",
            stripes(128, 96, 6, false, [255, 255, 255], [0, 80, 0]),
        ),
        ("noise-1.png", noise(64, 64, 1)),
        ("noise-2.jpg", noise(80, 80, 2)),
        ("checker.png", checkerboard(120, 120, 15)),
        ("disc.png", disc(100, 100, [250, 200, 0], [20, 20, 60])),
    ];
    std::fs::create_dir_all(dir).unwrap();
    images
        .iter()
        .map(|(name, img)| {
            let path = dir.join(name);
            img.save(&path).unwrap();
            path
        })
        .collect()
}

/// The imgtui binary built for this test run.
pub fn imgtui() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imgtui"))
}

/// What one run of the binary gave back.
pub struct Ran {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `imgtui ARGS --store STORE` to the end: the one helper every test that runs the binary uses.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S], store: &Path) -> Ran {
    let out = imgtui()
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap();
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `imgtui ARGS --store STORE`, expects success and one JSON value on stdout, and gives
/// back stdout, which [`parse_answer`] reads as its answer type ([`run_answer`] does both).
pub fn run_json<S: AsRef<std::ffi::OsStr>>(args: &[S], store: &Path) -> String {
    let ran = run(args, store);
    assert_eq!(
        ran.code,
        Some(0),
        "imgtui {:?} failed: {}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        ran.stderr
    );
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&ran.stdout) {
        panic!("not one JSON value: {e}\n{}", ran.stdout);
    }
    ran.stdout
}

/// Reads `json` as the answer type the command wrote (`Clusters`, `Versioned<Summary>`…), as
/// ripgrep's JSON tests do: a missing field, a wrong type or another `schema` fails the test.
pub fn parse_answer<T: serde::de::DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("not a {}: {e}\n{json}", std::any::type_name::<T>()))
}

/// Runs `imgtui ARGS --store STORE`, expects success and reads stdout as the answer `T`.
pub fn run_answer<T: serde::de::DeserializeOwned, S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    store: &Path,
) -> T {
    parse_answer(&run_json(args, store))
}

/// Runs `imgtui ARGS --store STORE` for an `index --json` (or `merge`) answer: the summary
/// (or report) without its `schema`, which reading it checked.
pub fn run_versioned<T: serde::de::DeserializeOwned, S: AsRef<std::ffi::OsStr>>(
    args: &[S],
    store: &Path,
) -> T {
    run_answer::<Versioned<T>, S>(args, store).answer
}

/// Runs `imgtui index DIR --json` and reads the summary.
pub fn index_json(dir: &Path, store: &Path) -> Summary {
    run_versioned(
        &["index".as_ref(), "--json".as_ref(), dir.as_os_str()],
        store,
    )
}

/// Five discs, five stripe patterns and five checkerboards, each a little different.
pub fn families(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..5u32 {
        let v = (i * 20) as u8;
        disc(96 + i * 8, 96, [250, 180 + v / 2, v], [20, 20, 60 + v])
            .save(dir.join(format!("disc-{i}.png")))
            .unwrap();
        stripes(112, 112, 5 + i, true, [0, 0, v], [255, 255, 0])
            .save(dir.join(format!("stripes-{i}.png")))
            .unwrap();
        checkerboard(120, 120, 10 + 2 * i)
            .save(dir.join(format!("checker-{i}.png")))
            .unwrap();
    }
}

/// The file name of `path`, which must be UTF-8: "disc-3.png" for ".../disc-3.png".
pub fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

/// The family of a drawn image from its path: "disc" for ".../disc-3.png".
pub fn family(path: &Path) -> &str {
    name(path).split('-').next().unwrap()
}

/// The partition as a set of sets of file families per cluster: {{disc×5}, …} becomes
/// a set of (cluster → families in it).
pub fn partition(answer: &Clusters) -> BTreeSet<BTreeSet<String>> {
    let mut by_cluster = BTreeMap::<usize, BTreeSet<String>>::new();
    for img in &answer.images {
        by_cluster
            .entry(img.cluster)
            .or_default()
            .insert(family(&img.path).to_owned());
    }
    by_cluster.into_values().collect()
}

pub fn clean_split() -> BTreeSet<BTreeSet<String>> {
    ["checker", "disc", "stripes"]
        .iter()
        .map(|f| BTreeSet::from([f.to_string()]))
        .collect()
}

/// Indexes `dir` into `store` with the built-in model, quietly and to the end.
pub fn index_with(
    dir: &Path,
    store: &mut imgtui::Store,
    model: &imgtui::OnnxModel,
    opts: &imgtui::IndexOptions,
) -> imgtui::Summary {
    let cancel = std::sync::atomic::AtomicBool::new(false);
    imgtui::index(dir, store, model, opts, &|_| {}, &cancel).unwrap()
}

/// A JPEG of `img` (baseline, or progressive), by jpeg-encoder.
pub fn jpeg(img: &RgbImage, progressive: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 90);
    encoder.set_progressive(progressive);
    encoder
        .encode(
            img.as_raw(),
            img.width() as u16,
            img.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    bytes
}

/// `jpeg` with its frame header (SOFn) turned into `sof` (0xC0..=0xCF) and, if given, its
/// sample precision set to `precision`: how a valid file in a coding no decoder here reads
/// (arithmetic SOF9/SOF10, hierarchical SOF5, 12-bit SOF1) looks up to its scan data, which
/// is as far as a decoder reads before refusing the coding.
pub fn jpeg_with_frame(mut jpeg: Vec<u8>, sof: u8, precision: Option<u8>) -> Vec<u8> {
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF, "a marker at {at}");
        let marker = jpeg[at + 1];
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            jpeg[at + 1] = sof;
            if let Some(p) = precision {
                jpeg[at + 4] = p;
            }
            return jpeg;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
}

/// A lossless JPEG (SOF3, predictor 1 = the left neighbour, 8-bit grey), written here because
/// no encoder in the dependencies writes one. One Huffman table: categories 0..=8 coded in
/// 4 bits each.
pub fn lossless_jpeg(img: &image::GrayImage) -> Vec<u8> {
    let (w, h) = (img.width() as u16, img.height() as u16);
    let mut out = vec![0xFF, 0xD8];
    out.extend([0xFF, 0xC3, 0, 11, 8]);
    out.extend(h.to_be_bytes());
    out.extend(w.to_be_bytes());
    out.extend([1, 1, 0x11, 0]);
    let mut bits = [0u8; 16];
    bits[3] = 9; // nine codes of length 4
    out.extend([0xFF, 0xC4, 0, 28, 0x00]);
    out.extend(bits);
    out.extend(0..=8u8);
    out.extend([0xFF, 0xDA, 0, 8, 1, 1, 0x00, 1, 0, 0]);
    let (mut acc, mut n) = (0u32, 0u32);
    let mut put = |out: &mut Vec<u8>, value: u32, len: u32| {
        acc = (acc << len) | (value & ((1 << len) - 1));
        n += len;
        while n >= 8 {
            let byte = (acc >> (n - 8)) as u8;
            out.push(byte);
            if byte == 0xFF {
                out.push(0); // byte stuffing
            }
            n -= 8;
        }
    };
    for y in 0..img.height() {
        for x in 0..img.width() {
            let predicted = match (x, y) {
                (0, 0) => 128,
                (0, _) => i32::from(img.get_pixel(0, y - 1)[0]),
                _ => i32::from(img.get_pixel(x - 1, y)[0]),
            };
            let diff = i32::from(img.get_pixel(x, y)[0]) - predicted;
            let category = 32 - diff.unsigned_abs().leading_zeros();
            put(&mut out, category, 4);
            if category > 0 {
                let extra = if diff > 0 {
                    diff
                } else {
                    diff - 1 + (1 << category)
                };
                put(&mut out, extra as u32, category);
            }
        }
    }
    put(&mut out, 0x7F, 7); // pad the last byte with ones (any bits left over are padding)
    out.extend([0xFF, 0xD9]);
    out
}

/// A TGA of `img`, as `image` writes it.
pub fn tga(img: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Tga,
        )
        .unwrap();
    bytes
}

/// An ICO with one entry, a PNG in RGB (not RGBA), as some icon writers (Pillow) make them.
pub fn ico_with_rgb_png(img: &RgbImage) -> Vec<u8> {
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut ico = vec![0, 0, 1, 0, 1, 0];
    ico.extend([img.width() as u8, img.height() as u8, 0, 0, 1, 0, 32, 0]);
    ico.extend((png.len() as u32).to_le_bytes());
    ico.extend(22u32.to_le_bytes());
    ico.extend(png);
    ico
}

/// The skipped files of an `index --json` summary as (file name, reason), sorted.
pub fn skipped_by_name(summary: &Summary) -> Vec<(String, String)> {
    let mut skipped: Vec<(String, String)> = summary
        .skipped
        .iter()
        .map(|s| (name(&s.path).to_owned(), s.reason.clone()))
        .collect();
    skipped.sort();
    skipped
}

/// Overwrites the root page of `table` in the store file at `store` with garbage, as a disk
/// fault would: SQLite then reports the file damaged when the table is read.
pub fn damage_table(store: &Path, table: &str) {
    let (page_size, root): (u64, u64) = {
        let db = rusqlite::Connection::open(store).unwrap();
        let size = db.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let root = db
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        (size, root)
    };
    let mut bytes = std::fs::read(store).unwrap();
    let at = ((root - 1) * page_size) as usize;
    bytes[at..at + page_size as usize].fill(0x5a);
    std::fs::write(store, bytes).unwrap();
}

/// The drawn [`families`] in `root/images`, indexed by a [`pixels_session`] into
/// `root/store.sqlite`: the session and its images.
pub fn indexed_families(root: &Path) -> (imgtui::Session, imgtui::Collection) {
    let dir = root.join("images");
    families(&dir);
    let mut session = pixels_session(&dir, &root.join("store.sqlite"));
    session
        .update_index(&|_| {}, &std::sync::atomic::AtomicBool::new(false))
        .unwrap();
    let c = session.images().unwrap();
    (session, c)
}

/// A library session on `dir` in `store` with the default settings and the `pixels`
/// descriptor (no model: fast), not yet indexed.
pub fn pixels_session(dir: &Path, store: &Path) -> imgtui::Session {
    let pixels: std::sync::Arc<dyn imgtui::Extractor> =
        imgtui::features::select("pixels", Default::default())
            .unwrap()
            .into();
    imgtui::Session::open(dir, store, imgtui::config::Config::default(), pixels).unwrap()
}
