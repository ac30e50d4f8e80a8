//! How images are drawn: the protocol, the cell size, and encoding for it.

use image::DynamicImage;
use ratatui_image::FontSize;
use ratatui_image::picker::ProtocolType;
use ratatui_image::protocol::halfblocks::Halfblocks;
use ratatui_image::protocol::iterm2::Iterm2;
use ratatui_image::protocol::kitty::StatefulKitty;
use ratatui_image::protocol::sixel::Sixel;
use ratatui_image::protocol::{StatefulProtocol, StatefulProtocolType};

use super::*;

/// Where the size of a cell in pixels came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellFrom {
    /// The tty's window size in pixels (`TIOCGWINSZ`; OpenSSH forwards it).
    Tty,
    /// The terminal's answer to `CSI 16 t`.
    Terminal,
    /// The terminal's text area in pixels (`CSI 14 t`) divided by the columns and rows.
    TextArea,
    /// The setting `explore.cell_size`.
    Setting,
    /// Nothing reported one: [`SMALL_CELL`], so that an image is never larger than its area.
    Guess,
}

/// The cell size assumed when nothing reports one, in pixels (width, height). It is at most the
/// cell of any font in use (xterm's "fixed" is 6 × 13, most are 7–10 × 14–20), so an image
/// sized for it fits its area in cells: ratatui-image makes an image `cells × cell size`
/// pixels, and a larger real cell only shows it smaller.
pub const SMALL_CELL: (u16, u16) = (5, 10);

/// How previews are drawn: the protocol, the cell size in pixels and where both came from, and
/// whether sequences are wrapped for tmux. Makes the same protocols ratatui-image's `Picker`
/// makes.
#[derive(Debug, Clone)]
pub struct Graphics {
    pub(super) protocol: ProtocolType,
    /// Why this protocol: "DA1", "forced", "no answer in 1 s"…
    pub(super) why: String,
    pub(super) font: FontSize,
    pub(super) cell_from: CellFrom,
    pub(super) in_tmux: bool,
    /// The next kitty image id (random start, so two imgtui processes do not collide),
    /// shared by the clones that encode on workers.
    pub(super) next_id: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// The terminal inflates kitty payloads sent deflated (`o=z`): a fifth of the bytes or
    /// less for thumbnails.
    pub(super) kitty_zlib: bool,
}

impl Graphics {
    /// Half-block characters (they draw everywhere and need no cell size), for `why`.
    pub fn halfblocks(why: &str) -> Graphics {
        Graphics::new(
            ProtocolType::Halfblocks,
            why,
            (FontSize::new(10, 20), CellFrom::Guess),
        )
    }

    /// `protocol` as forced by `--protocol`, with the best cell size known without asking:
    /// the tty's, else `setting` (`explore.cell_size`, pixels), else [`SMALL_CELL`]. A
    /// [`Probe`] may refine the cell size later. Inside tmux, a graphics protocol gets
    /// passthrough for imgtui's pane until [`restore`]; call after [`enter`].
    pub fn forced(protocol: ProtocolType, setting: Option<(u16, u16)>) -> Graphics {
        if protocol != ProtocolType::Halfblocks {
            allow_passthrough();
        }
        let cell = cell_size(cell_size_from_ioctl(), &Answers::default(), None, setting);
        Graphics::new(protocol, "forced", cell)
    }

    pub(super) fn new(
        protocol: ProtocolType,
        why: &str,
        (font, cell_from): (FontSize, CellFrom),
    ) -> Graphics {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Graphics {
            protocol,
            why: why.to_owned(),
            font,
            cell_from,
            in_tmux: in_tmux(),
            next_id: std::sync::Arc::new((random as u32).max(1).into()),
            kitty_zlib: false,
        }
    }

    /// The same, with kitty payloads deflated (`o=z`) or not: for a terminal known to inflate
    /// them (the probe asks; see [`Answers::kitty_zlib`]).
    pub fn with_kitty_zlib(self, on: bool) -> Graphics {
        Graphics {
            kitty_zlib: on,
            ..self
        }
    }

    /// Whether images are drawn with terminal graphics (not half blocks).
    pub fn draws_images(&self) -> bool {
        self.protocol != ProtocolType::Halfblocks
    }

    /// `image` scaled to fit `size` (cells; small images grow) and encoded now, on the caller's thread: for
    /// grid thumbnails, made on a worker and drawn unchanged into a tile of that size.
    ///
    /// For sixel the image is first scaled to the tile's pixels and reduced to a palette of
    /// [`SIXEL_COLOURS`] without dithering ([`flat_palette`]): the sixel encoder's own
    /// dithering turns dense colour fields into noise that its run-length coding cannot
    /// shorten, and a page of the lattice went from 1.23 MB to 0.87 MB (BENCHMARKS, "Bytes on
    /// the wire").
    pub fn encoded(&self, image: DynamicImage, size: ratatui::layout::Size) -> StatefulProtocol {
        use ratatui_image::ResizeEncodeRender;
        let image = if self.protocol == ProtocolType::Sixel {
            let (w, h) = (
                u32::from(size.width) * u32::from(self.font.width),
                u32::from(size.height) * u32::from(self.font.height),
            );
            flat_palette(&image.resize(w, h, image::imageops::FilterType::Triangle))
        } else {
            image
        };
        let mut protocol = self.new_resize_protocol(image);
        protocol.resize_encode(&ratatui_image::Resize::Scale(None), size);
        protocol
    }

    /// A thumbnail for a tile of `size` cells that costs at most about `budget` bytes on the
    /// wire, where `Some`: [`encoded`](Self::encoded) first; when that costs more, the
    /// thumbnail is sent again with coarser detail, its pixels in `b × b` blocks. `b` is
    /// first guessed as the square root of how far over the first cost was, then grown until
    /// the cost fits, at most [`MAX_BLOCK`]. The image keeps its size on screen: kitty's
    /// deflate and iTerm2's PNG store a repeated pixel and a repeated row for little, and
    /// sixel's bands hold fewer colours each. Kitty without deflate (`o=z`) sends every pixel raw
    /// whatever its detail, and half blocks ignore the budget (a cell is two pixels).
    ///
    /// The cost is what the terminal is sent for the image: sixel's and iTerm2's sequence,
    /// kitty's payload (deflated when the terminal inflates, in base64). On dense generative
    /// art a 140 × 140 px thumbnail costs 77–89 kB at full detail and a third of that in 2 × 2
    /// blocks (BENCHMARKS, "Bytes on the wire").
    pub fn encoded_within(
        &self,
        image: DynamicImage,
        size: ratatui::layout::Size,
        budget: Option<usize>,
    ) -> StatefulProtocol {
        use ratatui_image::ResizeEncodeRender;
        let raw_kitty = self.protocol == ProtocolType::Kitty && !self.kitty_zlib;
        let Some(budget) = budget.filter(|_| self.draws_images() && !raw_kitty) else {
            return self.encoded(image, size);
        };
        let (w, h) = (
            u32::from(size.width) * u32::from(self.font.width),
            u32::from(size.height) * u32::from(self.font.height),
        );
        let full = self.encoded(image.clone(), size);
        // Kitty's payload is the image as ratatui-image sizes it (nearest neighbour).
        let sent = || image.resize(w, h, image::imageops::FilterType::Nearest);
        let cost = self.wire_cost(&full, sent);
        if cost <= budget {
            return full;
        }
        let fitted = image.resize(w, h, image::imageops::FilterType::Triangle);
        // The cost falls by less than the block's area (PNG and deflate gain less on a
        // smoothed thumbnail), so a block that guessed short grows until the cost fits.
        let over = cost as f64 / budget.max(1) as f64;
        let mut block = (over.sqrt().ceil() as u32).clamp(2, MAX_BLOCK);
        let palette = match self.protocol {
            ProtocolType::Sixel => Palette::learnt(&fitted),
            _ => None,
        };
        loop {
            let coarse = coarsened_with(&fitted, block, palette.as_ref());
            let mut protocol = self.new_resize_protocol(coarse.clone());
            protocol.resize_encode(&ratatui_image::Resize::Scale(None), size);
            if block == MAX_BLOCK || self.wire_cost(&protocol, || coarse) <= budget {
                return protocol;
            }
            block += 1;
        }
    }

    /// Bytes the terminal is sent to show `protocol`, the encoding of the pixels `image`
    /// gives (asked for kitty only).
    fn wire_cost(
        &self,
        protocol: &StatefulProtocol,
        image: impl FnOnce() -> DynamicImage,
    ) -> usize {
        match protocol.protocol_type() {
            StatefulProtocolType::Sixel(s) => s.data.len(),
            StatefulProtocolType::ITerm2(i) => i.data.len(),
            StatefulProtocolType::Kitty(_) => {
                // ratatui-image keeps the sequence private: the same payload, measured.
                let raw = image().to_rgba8().into_raw();
                let payload = if self.kitty_zlib {
                    use std::io::Write;
                    let mut z =
                        flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                    z.write_all(&raw).expect("writing into a Vec");
                    z.finish().expect("writing into a Vec").len()
                } else {
                    raw.len()
                };
                payload.div_ceil(3) * 4
            }
            StatefulProtocolType::Halfblocks(_) => 0,
        }
    }

    /// The protocol images are drawn with.
    pub fn protocol_type(&self) -> ProtocolType {
        self.protocol
    }

    /// The cell size images are sized for, in pixels (width, height), and where it came from.
    pub fn cell(&self) -> ((u16, u16), CellFrom) {
        ((self.font.width, self.font.height), self.cell_from)
    }

    /// One line for the user: the protocol, why, and the cell size and its source, e.g.
    /// "sixel (DA1), cell 7×14 px from the tty".
    pub fn describe(&self) -> String {
        let name = match self.protocol {
            ProtocolType::Halfblocks => return format!("half blocks ({})", self.why),
            ProtocolType::Sixel => "sixel",
            ProtocolType::Kitty => "kitty",
            ProtocolType::Iterm2 => "iTerm2",
        };
        let from = match self.cell_from {
            CellFrom::Tty => "from the tty",
            CellFrom::Terminal => "from the terminal (CSI 16 t)",
            CellFrom::TextArea => "from the terminal's pixel size (CSI 14 t)",
            CellFrom::Setting => "from explore.cell_size",
            CellFrom::Guess => "guessed small: set explore.cell_size",
        };
        let zlib = if self.protocol == ProtocolType::Kitty && self.kitty_zlib {
            ", deflated"
        } else {
            ""
        };
        format!(
            "{name} ({}{zlib}), cell {}×{} px {from}",
            self.why, self.font.width, self.font.height
        )
    }

    /// The same protocol with a new cell size, if it differs from the one in use (a font zoom,
    /// a late answer); `None` if nothing changes.
    pub fn with_cell(&self, (font, from): (FontSize, CellFrom)) -> Option<Graphics> {
        if self.protocol == ProtocolType::Halfblocks
            || (font.width, font.height, from)
                == (self.font.width, self.font.height, self.cell_from)
        {
            return None;
        }
        Some(Graphics {
            font,
            cell_from: from,
            ..self.clone()
        })
    }

    /// After a resize: the cell size the tty now reports, if it changed. `None` also when the
    /// tty reports none (then ask the terminal again with [`size_query`]).
    pub fn resized(&self) -> Option<Graphics> {
        let tty = cell_size_from_ioctl()?;
        self.with_cell((tty, CellFrom::Tty))
    }

    /// The new cell size a reply to [`size_query`] gives, when the one in use came from the
    /// same question (a tty size always wins); `None` if nothing changes.
    pub fn answered(&self, reply: &Reply) -> Option<Graphics> {
        match (reply, self.cell_from) {
            (&Reply::CellSize(w, h), CellFrom::Terminal) => {
                self.with_cell((FontSize::new(w, h), CellFrom::Terminal))
            }
            (&Reply::TextAreaPixels(w, h), CellFrom::TextArea) => {
                let ((columns, rows), _) = tty_size()?;
                (columns > 0 && rows > 0 && w >= columns && h >= rows).then_some(())?;
                self.with_cell((FontSize::new(w / columns, h / rows), CellFrom::TextArea))
            }
            _ => None,
        }
    }

    /// Whether the cell size came from the terminal's answer, so a resize must ask again.
    pub fn cell_from_terminal(&self) -> bool {
        matches!(self.cell_from, CellFrom::Terminal | CellFrom::TextArea)
    }

    /// A resizing protocol for `image`, for ratatui-image's `StatefulImage` widget.
    pub fn new_resize_protocol(&self, image: DynamicImage) -> StatefulProtocol {
        let kind = match self.protocol {
            ProtocolType::Halfblocks => StatefulProtocolType::Halfblocks(Halfblocks::default()),
            ProtocolType::Sixel => StatefulProtocolType::Sixel(Sixel {
                is_tmux: self.in_tmux,
                ..Sixel::default()
            }),
            ProtocolType::Kitty => {
                let id = self
                    .next_id
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .max(1);
                StatefulProtocolType::Kitty(StatefulKitty::new(id, self.in_tmux, self.kitty_zlib))
            }
            ProtocolType::Iterm2 => StatefulProtocolType::ITerm2(Iterm2 {
                is_tmux: self.in_tmux,
                ..Iterm2::default()
            }),
        };
        StatefulProtocol::new(image, self.font, None, kind)
    }
}

/// A tty's size: (columns, rows) and, if it reports them, (width, height) in pixels.
pub type TtySize = ((u16, u16), Option<(u16, u16)>);

/// The tty's size (`TIOCGWINSZ`), if it has one.
pub fn tty_size() -> Option<TtySize> {
    let w = crossterm::terminal::window_size().ok()?;
    let pixels = (w.width > 0 && w.height > 0).then_some((w.width, w.height));
    Some(((w.columns, w.rows), pixels))
}

/// The cell size in pixels from the tty's window size (TIOCGWINSZ), if it reports one.
pub(super) fn cell_size_from_ioctl() -> Option<FontSize> {
    let ((columns, rows), pixels) = tty_size()?;
    let (width, height) = pixels?;
    (columns > 0 && rows > 0 && width >= columns && height >= rows)
        .then(|| FontSize::new(width / columns, height / rows))
}

/// The cell size to draw with, in this order: the tty's (`tty`), the terminal's `CSI 16 t`
/// answer, its `CSI 14 t` text area divided by `grid` (columns, rows), the setting
/// `explore.cell_size`, and [`SMALL_CELL`].
pub fn cell_size(
    tty: Option<FontSize>,
    answers: &Answers,
    grid: Option<(u16, u16)>,
    setting: Option<(u16, u16)>,
) -> (FontSize, CellFrom) {
    let area = answers.text_area.zip(grid).and_then(|((w, h), (c, r))| {
        (c > 0 && r > 0 && w >= c && h >= r).then(|| FontSize::new(w / c, h / r))
    });
    let font = |(w, h): (u16, u16)| FontSize::new(w, h);
    tty.map(|f| (f, CellFrom::Tty))
        .or_else(|| answers.cell.map(|c| (font(c), CellFrom::Terminal)))
        .or_else(|| area.map(|f| (f, CellFrom::TextArea)))
        .or_else(|| setting.map(|c| (font(c), CellFrom::Setting)))
        .unwrap_or((font(SMALL_CELL), CellFrom::Guess))
}

/// Colours of a sixel thumbnail's palette (see [`Graphics::encoded`]): at 140 px, 128 flat
/// colours look the same as 256 dithered ones on dense generative art.
pub const SIXEL_COLOURS: usize = 128;

/// A thumbnail's share of `page_bytes`, the cost of a page of `page` thumbnails: `None` for
/// no limit (0 bytes, or no page).
pub fn tile_budget(page_bytes: usize, page: usize) -> Option<usize> {
    (page_bytes > 0 && page > 0).then(|| page_bytes / page)
}

/// The coarsest detail [`Graphics::encoded_within`] sends: pixels in blocks of this side.
pub const MAX_BLOCK: u32 = 4;

/// `image` at the same size with its detail in `block × block` squares: shrunk by `block`
/// (triangle filter), for sixel mapped to a flat palette of [`SIXEL_COLOURS`] learnt from the
/// whole `image` (a palette learnt from the shrunk one, a few hundred pixels, washes the
/// colours out), then each pixel repeated over its square.
pub fn coarsened(image: &DynamicImage, block: u32, sixel: bool) -> DynamicImage {
    let palette = if sixel { Palette::learnt(image) } else { None };
    coarsened_with(image, block, palette.as_ref())
}

/// [`coarsened`], mapped to `palette` where given (learnt once for every block tried).
fn coarsened_with(image: &DynamicImage, block: u32, palette: Option<&Palette>) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    let small = image
        .resize_exact(
            w.div_ceil(block),
            h.div_ceil(block),
            image::imageops::FilterType::Triangle,
        )
        .to_rgba8();
    let small = match palette {
        Some(palette) => palette.applied(small),
        None => small,
    };
    let big = image::RgbaImage::from_fn(w, h, |x, y| *small.get_pixel(x / block, y / block));
    DynamicImage::ImageRgba8(big)
}

/// `image` with each pixel replaced by the nearest of a palette of [`SIXEL_COLOURS`] learnt
/// from it by NeuQuant (Dekker, "Kohonen neural networks for optimal colour quantization",
/// Network 1994; the `color_quant` crate), undithered, opaque.
///
/// An image of at most 256 colours (grey ones, drawings) is left as it is: the encoder's
/// palette holds it exactly, with no error to dither.
pub fn flat_palette(image: &DynamicImage) -> DynamicImage {
    let rgba = image.to_rgba8();
    match Palette::learnt(image) {
        Some(palette) => DynamicImage::ImageRgba8(palette.applied(rgba)),
        None => DynamicImage::ImageRgba8(rgba),
    }
}

/// A palette of [`SIXEL_COLOURS`] learnt by NeuQuant.
struct Palette {
    quant: color_quant::NeuQuant,
    colours: Vec<u8>,
}

impl Palette {
    /// The palette learnt from `image`; `None` when `image` holds at most 256 colours (the
    /// encoder's palette holds them exactly).
    fn learnt(image: &DynamicImage) -> Option<Palette> {
        let keep = 256;
        let rgba = image.to_rgba8();
        let mut seen = std::collections::HashSet::new();
        for p in rgba.pixels() {
            seen.insert(p.0);
            if seen.len() > keep {
                break;
            }
        }
        (seen.len() > keep).then(|| {
            let quant = color_quant::NeuQuant::new(10, SIXEL_COLOURS, rgba.as_raw());
            let colours = quant.color_map_rgba();
            Palette { quant, colours }
        })
    }

    /// `image` with each pixel replaced by the nearest colour of the palette, opaque.
    fn applied(&self, mut image: image::RgbaImage) -> image::RgbaImage {
        for p in image.pixels_mut() {
            let i = self.quant.index_of(&p.0) * 4;
            p.0 = [
                self.colours[i],
                self.colours[i + 1],
                self.colours[i + 2],
                255,
            ];
        }
        image
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn colours(image: &DynamicImage) -> usize {
        image
            .to_rgba8()
            .pixels()
            .map(|p| p.0)
            .collect::<HashSet<_>>()
            .len()
    }

    #[test]
    fn a_flat_palette_holds_at_most_its_colours_and_leaves_few_colours_alone() {
        // A colour field of 64 × 64 distinct colours comes down to the palette, each pixel
        // near its own colour.
        let field = image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
        });
        let field = DynamicImage::ImageRgb8(field);
        assert_eq!(colours(&field), 4096);
        let flat = flat_palette(&field);
        assert!(colours(&flat) <= SIXEL_COLOURS);
        let (a, b) = (field.to_rgba8(), flat.to_rgba8());
        let error: f64 = a
            .pixels()
            .zip(b.pixels())
            .map(|(p, q)| {
                (0..3)
                    .map(|c| (p[c] as f64 - q[c] as f64).abs())
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (64.0 * 64.0 * 3.0);
        assert!(error < 12.0, "mean error {error} per channel");
        // 200 greys stay exactly as they are.
        let greys = DynamicImage::ImageLuma8(image::GrayImage::from_fn(200, 10, |x, _| {
            image::Luma([x as u8])
        }));
        assert_eq!(flat_palette(&greys).to_rgba8(), greys.to_rgba8());
    }

    /// A dense colour field like generative art: three warped sines and a little noise.
    fn art(side: u32) -> DynamicImage {
        let mut seed = 7u32;
        DynamicImage::ImageRgb8(image::RgbImage::from_fn(side, side, |x, y| {
            let (x, y) = (x as f32 / side as f32, y as f32 / side as f32);
            let mut p = [0u8; 3];
            for (c, v) in p.iter_mut().enumerate() {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 24) as f32 / 255.0 * 0.1;
                let warp = (9.0 * x + 3.0 * (7.0 * y + c as f32).cos()).sin();
                let v01 = 0.45 + 0.45 * (warp * 3.0 + 11.0 * y + c as f32).sin() + noise;
                *v = (v01.clamp(0.0, 1.0) * 255.0) as u8;
            }
            image::Rgb(p)
        }))
    }

    fn sent(protocol: &StatefulProtocol) -> usize {
        match protocol.protocol_type() {
            StatefulProtocolType::Sixel(s) => s.data.len(),
            StatefulProtocolType::ITerm2(i) => i.data.len(),
            _ => unreachable!("sixel and iTerm2 keep their sequence readable"),
        }
    }

    #[test]
    fn coarsened_keeps_the_size_and_repeats_each_pixel_over_its_block() {
        let image = art(45);
        for block in 2..=MAX_BLOCK {
            for sixel in [false, true] {
                let coarse = coarsened(&image, block, sixel).to_rgba8();
                assert_eq!(coarse.dimensions(), (45, 45));
                for (x, y, p) in coarse.enumerate_pixels() {
                    assert_eq!(p, coarse.get_pixel(x / block * block, y / block * block));
                }
                if sixel {
                    let seen: HashSet<_> = coarse.pixels().map(|p| p.0).collect();
                    assert!(seen.len() <= SIXEL_COLOURS);
                }
            }
        }
    }

    #[test]
    fn a_thumbnail_over_its_budget_is_sent_coarser_and_fits_it() {
        let size = ratatui::layout::Size::new(14, 7);
        for protocol in [ProtocolType::Sixel, ProtocolType::Iterm2] {
            let graphics = Graphics::forced(protocol, Some((10, 20)));
            let full = sent(&graphics.encoded(art(160), size));
            assert_eq!(
                sent(&graphics.encoded_within(art(160), size, None)),
                full,
                "{protocol:?}: no budget, full detail"
            );
            assert_eq!(
                sent(&graphics.encoded_within(art(160), size, Some(full))),
                full,
                "{protocol:?}: within its budget, full detail"
            );
            let budget = full / 2;
            let coarse = sent(&graphics.encoded_within(art(160), size, Some(budget)));
            assert!(
                coarse <= budget,
                "{protocol:?}: {coarse} bytes for a budget of {budget} (full detail {full})"
            );
            // Out of reach: the coarsest detail, no larger than the fit above.
            let coarsest = sent(&graphics.encoded_within(art(160), size, Some(1)));
            assert!(coarsest <= coarse, "{protocol:?}: {coarsest} > {coarse}");
        }
    }
}
