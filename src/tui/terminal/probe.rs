//! The graphics query, its answers, and the probe that collects them.

use std::io::Write;
use std::time::{Duration, Instant};

use ratatui_image::picker::ProtocolType;
use ratatui_image::picker::cap_parser;

use super::*;

/// The questions imgtui asks, in one write (wrapped for tmux's passthrough when `tmux`): the
/// kitty graphics query and its compression query (`o=z`), DA1, XTVERSION, iTerm2's capability
/// report, the background colour (`OSC 11 ; ?`), the cell size
/// (`CSI 16 t`) and text area (`CSI 14 t`) in pixels, and last a status report, which every
/// terminal answers, so once its reply is in, every reply is. A terminal ignores what it does
/// not know.
pub fn query(tmux: bool) -> String {
    let (start, esc, end) = cap_parser::Parser::tmux_start_escape_end(tmux);
    format!(
        "{start}{esc}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA{esc}\\\
         {esc}_Gi=32,s=1,v=1,a=q,t=d,f=24,o=z;{KITTY_ZLIB_PIXEL}{esc}\\{esc}[c{esc}[>0q\
         {esc}]1337;Capabilities{esc}\\{esc}]11;?{esc}\\{esc}[16t{esc}[14t{esc}[5n{end}"
    )
}

/// The colour of an `OSC 11` answer, `rgb:R/G/B` with 1 to 4 hex digits a channel (xterm's
/// `XParseColor` form), scaled to 8 bits.
pub(super) fn background(text: &str) -> Option<[u8; 3]> {
    let mut channels = text.strip_prefix("rgb:")?.split('/').map(|hex| {
        let digits = hex.len() as u32;
        let value = u32::from_str_radix(hex, 16).ok()?;
        (1..=4)
            .contains(&digits)
            .then(|| (value * 255 / (16u32.pow(digits) - 1)) as u8)
    });
    let rgb = [channels.next()??, channels.next()??, channels.next()??];
    channels.next().is_none().then_some(rgb)
}

/// Whether `rgb` is a light background: relative luminance (ITU-R BT.709 weights on the
/// sRGB values) above one half.
pub fn is_light([r, g, b]: [u8; 3]) -> bool {
    0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32 > 127.5
}

/// One black pixel, deflated (zlib) and in base64: the payload of the kitty compression query
/// (`o=z`), which a terminal that inflates answers `OK`.
pub(super) const KITTY_ZLIB_PIXEL: &str = "eJxjYGAAAAADAAE=";

/// The cell size questions alone (`CSI 16 t`, `CSI 14 t`), asked again after a resize.
pub fn size_query(tmux: bool) -> String {
    let (start, esc, end) = cap_parser::Parser::tmux_start_escape_end(tmux);
    format!("{start}{esc}[16t{esc}[14t{end}")
}

/// Writes [`size_query`] for this terminal.
///
/// Errors: `out` cannot be written.
pub fn ask_cell_size(out: &mut impl Write) -> std::io::Result<()> {
    out.write_all(size_query(in_tmux()).as_bytes())?;
    out.flush()
}

/// What the terminal answered to [`query`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    /// DA1's attribute numbers (4: sixel).
    pub attributes: Option<Vec<u16>>,
    /// The kitty graphics query's answer: whether it was `OK`.
    pub kitty: Option<bool>,
    /// The kitty compression query's answer: whether `o=z` (zlib) payloads are inflated.
    pub kitty_zlib: Option<bool>,
    /// The background colour, when the terminal tells it (`OSC 11`).
    pub background: Option<[u8; 3]>,
    /// XTVERSION: the terminal's name and version, e.g. `XTerm(390)`.
    pub version: Option<String>,
    /// iTerm2's capability report (its feature letters).
    pub iterm2: Option<String>,
    /// `CSI 16 t`: a cell in pixels (width, height).
    pub cell: Option<(u16, u16)>,
    /// `CSI 14 t`: the text area in pixels (width, height).
    pub text_area: Option<(u16, u16)>,
    /// Whether the status report, the last reply, came.
    pub complete: bool,
}

impl Answers {
    /// Records one reply.
    pub fn take(&mut self, reply: Reply) {
        match reply {
            Reply::DeviceAttributes(a) => self.attributes = Some(a),
            Reply::Kitty(ok) => self.kitty = Some(ok),
            Reply::KittyZlib(ok) => self.kitty_zlib = Some(ok),
            Reply::Background(rgb) => self.background = Some(rgb),
            Reply::Version(v) => self.version = Some(v),
            Reply::Iterm2Capabilities(c) => self.iterm2 = Some(c),
            Reply::CellSize(w, h) => self.cell = Some((w, h)),
            Reply::TextAreaPixels(w, h) => self.text_area = Some((w, h)),
            Reply::Status => self.complete = true,
            Reply::Other => {}
        }
    }

    /// Whether any reply at all came.
    pub fn any(&self) -> bool {
        *self != Answers::default()
    }
}

/// A graphics query in flight: written once, answered (or not) through [`Reader`].
#[derive(Debug)]
pub struct Probe {
    pub(super) started: Instant,
    pub(super) timeout: Duration,
    pub(super) answers: Answers,
    /// A protocol forced by `--protocol`: only the cell size is asked for.
    pub(super) forced: Option<ProtocolType>,
    /// `explore.cell_size`, pixels.
    pub(super) setting: Option<(u16, u16)>,
}

impl Probe {
    /// Writes [`query`] to `out` (inside tmux, first letting it through to the outer terminal
    /// for this pane only). With a `forced` protocol only the cell size is taken from the
    /// answers; `setting` is `explore.cell_size` in pixels.
    ///
    /// Errors: `out` cannot be written.
    pub fn start(
        out: &mut impl Write,
        timeout: Duration,
        forced: Option<ProtocolType>,
        setting: Option<(u16, u16)>,
    ) -> std::io::Result<Probe> {
        let tmux = in_tmux();
        allow_passthrough();
        out.write_all(query(tmux).as_bytes())?;
        out.flush()?;
        Ok(Probe {
            started: Instant::now(),
            timeout,
            answers: Answers::default(),
            forced,
            setting,
        })
    }

    /// Takes a reply; returns how to draw once the last one (the status report) is in.
    pub fn replied(&mut self, reply: Reply) -> Option<Graphics> {
        self.answers.take(reply);
        self.answers.complete.then(|| self.finish())
    }

    /// Whether the terminal said its background is light (`None`: it did not say).
    pub fn light_background(&self) -> Option<bool> {
        self.answers.background.map(is_light)
    }

    /// Whether the terminal has had its time to answer.
    pub fn timed_out(&self) -> bool {
        self.started.elapsed() > self.timeout
    }

    /// How to draw with what was answered so far (see [`detect`] and [`cell_size`]).
    /// Passthrough, unless graphics need it, is put back at once.
    pub fn finish(&mut self) -> Graphics {
        let (protocol, why) = match self.forced {
            Some(p) => (p, "forced".to_owned()),
            None => detect(&self.answers, environment()),
        };
        let grid = tty_size().map(|(grid, _)| grid);
        let cell = cell_size(cell_size_from_ioctl(), &self.answers, grid, self.setting);
        if protocol == ProtocolType::Halfblocks {
            put_back_passthrough();
        }
        let mut graphics = Graphics::new(protocol, &why, cell);
        graphics.kitty_zlib = self.answers.kitty_zlib == Some(true);
        graphics
    }
}
