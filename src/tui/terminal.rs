//! The user's terminal: taking it over, reading keys, asking what graphics it speaks, and
//! handing it back exactly as it was found.
//!
//! * [`enter`] switches to raw mode and the alternate screen; [`restore`] (idempotent, callable
//!   from any thread, also run by the panic hook [`enter`] installs and by the signal watchdog)
//!   puts back what was changed: raw mode off, the normal screen, the cursor shown, and tmux's
//!   `allow-passthrough` for this pane as it was, and mouse reporting off if [`enable_mouse`]
//!   turned it on. Bracketed paste and keyboard enhancement are never switched on.
//! * [`Reader`] is the one reader of the terminal. Replies to queries arrive mixed with the
//!   user's typing; [`Parser`] splits them out and turns every other byte into keys, in order,
//!   so a query that is answered late, never, or with garbage cannot take or reorder a key.
//! * [`Probe`] writes the graphics query (ratatui-image's, parsed with its `cap_parser`) and
//!   takes the replies that [`Reader`] hands it; [`Graphics`] draws previews with the answer.
//!   ratatui-image's own `Picker` is not used: its constructors read stdin on a thread of their
//!   own and run an untargeted `tmux set -p allow-passthrough on`.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use image::DynamicImage;
use ratatui_image::FontSize;
use ratatui_image::picker::ProtocolType;
use ratatui_image::picker::cap_parser;
use ratatui_image::protocol::halfblocks::Halfblocks;
use ratatui_image::protocol::iterm2::Iterm2;
use ratatui_image::protocol::kitty::StatefulKitty;
use ratatui_image::protocol::sixel::Sixel;
use ratatui_image::protocol::{StatefulProtocol, StatefulProtocolType};

/// Whether [`enter`] took the terminal and [`restore`] has not yet handed it back.
static ENTERED: Mutex<bool> = Mutex::new(false);
/// The tmux option imgtui changed, if any, to put back on exit (or when the probe is over).
static PASSTHROUGH: Mutex<Option<tmux::Passthrough>> = Mutex::new(None);

/// Takes over the terminal: raw mode, the alternate screen, and a panic hook that restores
/// both (and any tmux option changed) before the panic message is printed, then ends the
/// process (exit code 101), whichever thread panicked.
///
/// Errors: the terminal refuses raw mode, or stdout cannot be written.
pub fn enter() -> anyhow::Result<Tty> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        // A panic on any thread (a worker's too) ends the explorer: with the terminal handed
        // back, staying would leave a screen that no longer answers its keys.
        std::process::exit(101);
    }));
    let entered = (|| -> anyhow::Result<Tty> {
        crossterm::terminal::enable_raw_mode()?;
        *ENTERED.lock().unwrap_or_else(|e| e.into_inner()) = true;
        crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
        Ok(ratatui::Terminal::new(
            ratatui::backend::CrosstermBackend::new(TmuxSafe(std::io::stdout())),
        )?)
    })();
    if entered.is_err() {
        // Half taken (raw mode on, the screen not switched): give it back before the error.
        restore();
    }
    entered
}

/// The explorer's terminal: ratatui on crossterm, writing through [`TmuxSafe`].
pub type Tty = ratatui::Terminal<ratatui::backend::CrosstermBackend<TmuxSafe<std::io::Stdout>>>;

/// Writes the screen to the terminal, mending one thing on the way. Inside a tmux passthrough
/// (`ESC P tmux; … ESC \`) every ESC of the wrapped sequence must be doubled, but
/// ratatui-image 11 leaves a sixel's own terminator (`ESC \`, just before the passthrough's)
/// single: tmux then ended the passthrough there, the outer terminal never saw the sixel
/// finish, and no image showed in tmux. ratatui writes a cell's whole text (an image's
/// sequence) in one write, so the mend is made per write.
pub struct TmuxSafe<W>(pub W);

impl<W: Write> Write for TmuxSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !buf.windows(7).any(|w| w == b"\x1bPtmux;") {
            return self.0.write(buf);
        }
        self.0.write_all(&escape_inner_terminators(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with every single-ESC string terminator that is directly followed by another one
/// (the wrapped sequence's, then the passthrough's) doubled: `ESC \ ESC \` becomes
/// `ESC ESC \ ESC \`. A terminator already doubled is left alone.
fn escape_inner_terminators(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len() + 8);
    let mut i = 0;
    while i < buf.len() {
        let single = i == 0 || buf[i - 1] != 0x1B;
        if single && buf[i..].starts_with(b"\x1b\\\x1b\\") {
            out.extend_from_slice(b"\x1b\x1b\\");
            i += 2;
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    out
}

/// The most text sent to the clipboard at once: terminals and tmux drop longer OSC 52
/// sequences (xterm and tmux take about 100 kB of base64).
pub const CLIPBOARD_MAX: usize = 74_000;

/// The OSC 52 sequence that puts `text` on the clipboard: `ESC ] 52 ; c ; base64(text) ESC \`
/// (xterm's control sequences, "Manipulate Selection Data"; `c` is the clipboard). tmux with
/// `set-clipboard on` (or `external`, its default) takes it and passes it to the terminal
/// outside, also over SSH.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{data}\x1b\\")
}

/// Mouse reporting: button presses and the wheel (`?1000`), in SGR form (`?1006`), which has
/// no limit on columns. Motion is not asked for (`?1002`/`?1003` would flood the reader).
const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1006h";
const MOUSE_OFF: &str = "\x1b[?1006l\x1b[?1000l";

/// Asks the terminal to report clicks and the wheel (as [`Input::Mouse`]) until [`restore`].
/// A terminal that does not know the request ignores it, and no mouse input ever comes.
pub fn enable_mouse(out: &mut impl Write) -> std::io::Result<()> {
    *MOUSE.lock().unwrap_or_else(|e| e.into_inner()) = true;
    out.write_all(MOUSE_ON.as_bytes())?;
    out.flush()
}

static MOUSE: Mutex<bool> = Mutex::new(false);

/// Hands the terminal back as [`enter`] found it: the cursor shown, the normal screen, cooked
/// mode (crossterm restores the exact terminal modes it saved), and this pane's tmux
/// `allow-passthrough` as it was. Safe to call more than once and from any thread.
pub fn restore() {
    put_back_passthrough();
    let mut entered = ENTERED.lock().unwrap_or_else(|e| e.into_inner());
    if std::mem::take(&mut *entered) {
        if std::mem::take(&mut *MOUSE.lock().unwrap_or_else(|e| e.into_inner())) {
            let mut out = std::io::stdout();
            let _ = out.write_all(MOUSE_OFF.as_bytes());
        }
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Inside tmux, lets graphics through for imgtui's pane until [`restore`] (or until the probe
/// finds no graphics); does nothing if already done or not needed.
fn allow_passthrough() {
    let mut changed = PASSTHROUGH.lock().unwrap_or_else(|e| e.into_inner());
    if changed.is_none() && in_tmux() {
        *changed = tmux::Passthrough::allow();
    }
}

fn put_back_passthrough() {
    let changed = PASSTHROUGH.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = changed {
        p.put_back();
    }
}

/// tmux's `allow-passthrough`, which graphics sequences need to reach the outer terminal.
mod tmux {
    use std::process::{Command, Stdio};

    /// A change made to one pane's option, and the pane-level value it replaced (`None`: the
    /// pane had none and inherited the window's).
    #[derive(Debug)]
    pub struct Passthrough {
        pane: String,
        before: Option<String>,
    }

    /// Runs `tmux ARGS` quietly; its trimmed stdout, or `None` if it failed.
    fn tmux(args: &[&str]) -> Option<String> {
        let out = Command::new("tmux")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Whether an effective value of the option already lets graphics through (`on`, or
    /// tmux ≥ 3.4's `all`), so it must be left alone rather than lowered to `on`.
    pub fn lets_through(effective: &str) -> bool {
        matches!(effective, "on" | "all")
    }

    impl Passthrough {
        /// Inside tmux, switches passthrough on for the pane imgtui runs in (`$TMUX_PANE`,
        /// never the active pane, which an untargeted `tmux set -p` would change), unless it
        /// already lets graphics through. Returns the change to undo, or `None` if nothing
        /// was changed (not in tmux, no pane id, a tmux without the option, already on).
        pub fn allow() -> Option<Passthrough> {
            std::env::var_os("TMUX")?;
            let pane = std::env::var("TMUX_PANE").ok().filter(|p| !p.is_empty())?;
            let effective = tmux(&["show", "-pA", "-t", &pane, "-v", "allow-passthrough"])?;
            if lets_through(&effective) {
                return None;
            }
            let own = tmux(&["show", "-p", "-t", &pane, "-v", "allow-passthrough"])?;
            tmux(&["set", "-p", "-t", &pane, "allow-passthrough", "on"])?;
            Some(Passthrough {
                pane,
                before: (!own.is_empty()).then_some(own),
            })
        }

        /// Puts the pane's option back exactly: its old value, or unset if it had none.
        pub fn put_back(self) {
            let pane = self.pane.as_str();
            match &self.before {
                Some(value) => tmux(&["set", "-p", "-t", pane, "allow-passthrough", value]),
                None => tmux(&["set", "-p", "-u", "-t", pane, "allow-passthrough"]),
            };
        }
    }
}

/// Whether imgtui runs inside tmux (graphics sequences then need tmux's passthrough wrapping).
fn in_tmux() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    std::env::var_os("TMUX").is_some()
        || var("TERM").starts_with("tmux")
        || var("TERM_PROGRAM") == "tmux"
}

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
    protocol: ProtocolType,
    /// Why this protocol: "DA1", "forced", "no answer in 1 s"…
    why: String,
    font: FontSize,
    cell_from: CellFrom,
    in_tmux: bool,
    /// The next kitty image id (random start, so two imgtui processes do not collide),
    /// shared by the clones that encode on workers.
    next_id: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// The terminal inflates kitty payloads sent deflated (`o=z`): a fifth of the bytes or
    /// less for thumbnails.
    kitty_zlib: bool,
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

    fn new(protocol: ProtocolType, why: &str, (font, cell_from): (FontSize, CellFrom)) -> Graphics {
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
    pub fn encoded(&self, image: DynamicImage, size: ratatui::layout::Size) -> StatefulProtocol {
        use ratatui_image::ResizeEncodeRender;
        let mut protocol = self.new_resize_protocol(image);
        protocol.resize_encode(&ratatui_image::Resize::Scale(None), size);
        protocol
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
fn cell_size_from_ioctl() -> Option<FontSize> {
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
fn background(text: &str) -> Option<[u8; 3]> {
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
const KITTY_ZLIB_PIXEL: &str = "eJxjYGAAAAADAAE=";

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

/// What the environment says about the terminal (it is not forwarded over SSH, so it only
/// ever adds to what the terminal answers).
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `TERM_PROGRAM` (or `LC_TERMINAL`, which OpenSSH may forward) when it names a terminal
    /// that speaks iTerm2's protocol.
    pub iterm2: Option<String>,
    /// `WEZTERM_EXECUTABLE` is set.
    pub wezterm: bool,
    /// `KONSOLE_VERSION` is set.
    pub konsole: bool,
}

impl Environment {
    /// Reads the variables of this process (`tmux`: whether it runs inside tmux, where iTerm2
    /// and WezTerm leave only their session variables).
    pub fn read(tmux: bool) -> Environment {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let program = var("TERM_PROGRAM");
        let iterm2 = [
            "iTerm",
            "WezTerm",
            "mintty",
            "vscode",
            "Tabby",
            "Hyper",
            "rio",
            "Bobcat",
            "WarpTerminal",
        ]
        .iter()
        .any(|t| program.contains(t));
        let iterm2 = if iterm2 {
            Some(format!("TERM_PROGRAM={program}"))
        } else if var("LC_TERMINAL").contains("iTerm") {
            Some(format!("LC_TERMINAL={}", var("LC_TERMINAL")))
        } else if tmux && !var("ITERM_SESSION_ID").is_empty() {
            Some("ITERM_SESSION_ID".to_owned())
        } else {
            None
        };
        Environment {
            iterm2,
            wezterm: !var("WEZTERM_EXECUTABLE").is_empty(),
            konsole: !var("KONSOLE_VERSION").is_empty(),
        }
    }
}

/// The protocol the answers call for, and why. WezTerm (known by XTVERSION or its variable)
/// gets iTerm2's protocol (its kitty placeholders are not drawn right); Konsole gets neither
/// kitty nor sixel (both drawn wrong, as ratatui-image found); otherwise kitty, then sixel
/// (DA1 attribute 4), then iTerm2's (its capability report, an XTVERSION naming a terminal
/// that speaks it, or the environment), else half blocks.
pub fn detect(answers: &Answers, env: &Environment) -> (ProtocolType, String) {
    let version = answers.version.as_deref().unwrap_or_default();
    let named = |names: &[&str]| names.iter().any(|n| version.starts_with(n));
    let xtversion = || format!("XTVERSION {version}");
    if named(&["WezTerm"]) {
        return (ProtocolType::Iterm2, xtversion());
    }
    if env.wezterm {
        return (ProtocolType::Iterm2, "WEZTERM_EXECUTABLE".to_owned());
    }
    let konsole = named(&["Konsole"]) || env.konsole;
    if answers.kitty == Some(true) && !konsole {
        return (ProtocolType::Kitty, "kitty graphics query".to_owned());
    }
    let sixel = answers.attributes.as_ref().is_some_and(|a| a.contains(&4));
    if sixel && !konsole {
        return (ProtocolType::Sixel, "DA1".to_owned());
    }
    if answers.iterm2.is_some() {
        return (ProtocolType::Iterm2, "iTerm2 capability report".to_owned());
    }
    if named(&["iTerm2", "mintty", "rio", "Tabby", "Hyper"]) {
        return (ProtocolType::Iterm2, xtversion());
    }
    if let Some(why) = &env.iterm2 {
        return (ProtocolType::Iterm2, why.clone());
    }
    let why = if konsole {
        "Konsole draws kitty and sixel images wrong"
    } else if !answers.any() {
        "the terminal did not answer within 1 s"
    } else {
        "the terminal reports no image protocol"
    };
    (ProtocolType::Halfblocks, why.to_owned())
}

/// A graphics query in flight: written once, answered (or not) through [`Reader`].
#[derive(Debug)]
pub struct Probe {
    started: Instant,
    timeout: Duration,
    answers: Answers,
    /// A protocol forced by `--protocol`: only the cell size is asked for.
    forced: Option<ProtocolType>,
    /// `explore.cell_size`, pixels.
    setting: Option<(u16, u16)>,
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
            None => detect(&self.answers, &Environment::read(in_tmux())),
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

/// `imgtui doctor`: asks the terminal what [`Probe`] asks and returns a report for bug
/// reports: the variables that name terminals, the tty's size, every byte the terminal
/// answered (escaped), what they mean, and what the explorer would draw with `setting`
/// (`explore.cell_size`, pixels). Waits at most `timeout` for the answers.
///
/// The questions go to `/dev/tty` and the answers are read from it, so stdin and stdout may
/// be redirected; the report is text for a person (answers decoded, controls escaped).
///
/// Errors: there is no terminal (`/dev/tty` cannot be opened), or raw mode cannot be set.
pub fn doctor(timeout: Duration, setting: Option<(u16, u16)>) -> anyhow::Result<String> {
    let mut tty = DevTty::open()?;
    let mut report = String::new();
    for var in [
        "TERM",
        "TERM_PROGRAM",
        "LC_TERMINAL",
        "XTERM_VERSION",
        "TMUX",
        "TMUX_PANE",
        "SSH_CONNECTION",
    ] {
        let value = std::env::var(var).unwrap_or_default();
        report += &format!("{var:<16}{}\n", if value.is_empty() { "-" } else { &value });
    }
    match tty_size() {
        Some(((c, r), Some((w, h)))) => {
            report += &format!("tty             {c}×{r} cells, {w}×{h} px\n")
        }
        Some(((c, r), None)) => {
            report += &format!("tty             {c}×{r} cells, no pixel size\n")
        }
        None => report += "tty             no size\n",
    }
    crossterm::terminal::enable_raw_mode()?;
    let asked = (|| -> anyhow::Result<(Vec<u8>, Answers, Duration)> {
        let mut probe = Probe::start(&mut tty.out, timeout, None, setting)?;
        let mut reader = Reader {
            log: Some(Vec::new()),
            fd: tty.fd,
            ..Reader::default()
        };
        while !probe.answers.complete && !probe.timed_out() {
            for input in reader.read(Duration::from_millis(20)) {
                if let Input::Reply(r) = input {
                    probe.answers.take(r);
                }
            }
        }
        let waited = probe.started.elapsed();
        Ok((reader.log.unwrap_or_default(), probe.answers, waited))
    })();
    let _ = crossterm::terminal::disable_raw_mode();
    put_back_passthrough();
    let (raw, answers, waited) = asked?;
    report += &format!(
        "answered        {} bytes in {} ms{}\n",
        raw.len(),
        waited.as_millis(),
        if answers.complete {
            ""
        } else {
            " (no status report: timed out)"
        }
    );
    report += &format!("raw             {}\n", raw.escape_ascii());
    report += &describe_answers(&answers);
    let (protocol, why) = detect(&answers, &Environment::read(in_tmux()));
    let grid = tty_size().map(|(grid, _)| grid);
    let cell = cell_size(cell_size_from_ioctl(), &answers, grid, setting);
    let graphics = Graphics::new(protocol, &why, cell);
    report += &format!("imgtui draws    {}\n", graphics.describe());
    Ok(crate::text::escape_lines(&report).into_owned())
}

/// The terminal `imgtui doctor` talks to: `/dev/tty`, so that its report can go to a file
/// (`imgtui doctor > report.txt`) while the questions and answers stay on the terminal.
struct DevTty {
    out: std::fs::File,
    fd: i32,
}

impl DevTty {
    #[cfg(unix)]
    fn open() -> anyhow::Result<DevTty> {
        use std::os::fd::AsRawFd;
        let out = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| {
                anyhow::anyhow!("doctor asks the terminal, and there is none here (/dev/tty: {e})")
            })?;
        let fd = out.as_raw_fd();
        Ok(DevTty { out, fd })
    }

    #[cfg(not(unix))]
    fn open() -> anyhow::Result<DevTty> {
        anyhow::bail!("doctor asks the terminal through /dev/tty, which this system lacks")
    }
}

/// The terminal's answers as a person reads them, one line each: what was said, or "no
/// answer".
pub fn describe_answers(a: &Answers) -> String {
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "no answer".to_owned());
    let yes_no = |v: Option<bool>, yes: &str, no: &str| {
        or_none(v.map(|ok| if ok { yes } else { no }.to_owned()))
    };
    let da1 = a.attributes.as_ref().map(|attrs| {
        let list: Vec<String> = attrs.iter().map(u16::to_string).collect();
        let sixel = if attrs.contains(&4) {
            "sixel graphics: yes (4)"
        } else {
            "sixel graphics: no (no 4)"
        };
        format!("{} ({sixel})", list.join(";"))
    });
    let background = a.background.map(|[r, g, b]| {
        let shade = if is_light([r, g, b]) { "light" } else { "dark" };
        format!("#{r:02x}{g:02x}{b:02x} ({shade})")
    });
    let pixels = |v: Option<(u16, u16)>| or_none(v.map(|(w, h)| format!("{w}×{h} px")));
    let mut out = String::new();
    let mut line = |what: &str, value: String| out += &format!("{what:<16}{value}\n");
    line("DA1", or_none(da1));
    line("XTVERSION", or_none(a.version.clone()));
    line(
        "kitty graphics",
        yes_no(a.kitty, "yes (OK)", "refused (an error came back)"),
    );
    line(
        "kitty zlib",
        yes_no(a.kitty_zlib, "yes (o=z accepted)", "no (o=z refused)"),
    );
    line("background", or_none(background));
    line("iTerm2 report", or_none(a.iterm2.clone()));
    line("CSI 16 t cell", pixels(a.cell));
    line("CSI 14 t area", pixels(a.text_area));
    out
}

/// One thing the terminal sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A key the user typed.
    Key(KeyEvent),
    /// A click or a turn of the wheel (see [`enable_mouse`]).
    Mouse(MouseEvent),
    /// A reply to a query (never a key).
    Reply(Reply),
    /// The terminal is gone (end of file or an error reading it).
    Closed,
}

/// How long an unfinished key sequence (`ESC`, `ESC [ 1 ;`) waits for its next byte before
/// what came is taken as typed: a lone `ESC` is the Escape key.
const KEY_WAIT: Duration = Duration::from_millis(40);
/// How long an unfinished reply (`ESC _ …`, `ESC P …`, `ESC ] …`, `ESC [ ? …`) waits for its end
/// before its bytes are taken as typed (Alt+`_` and so on), so nothing is ever swallowed for good.
const REPLY_WAIT: Duration = Duration::from_millis(1000);

/// Splits the bytes read from the terminal into keys and replies, in order. Bytes of a
/// sequence that is not complete yet wait (see [`KEY_WAIT`], [`REPLY_WAIT`]).
#[derive(Debug, Default)]
pub struct Parser {
    pending: Vec<u8>,
    /// Since when the head of `pending` has been waiting for more bytes.
    waiting_since: Option<Instant>,
}

/// How the head of the pending bytes parses.
enum Token {
    /// `len` bytes make this input.
    Done(usize, Option<Input>),
    /// More bytes are needed; wait at most this long for them.
    Unfinished(Duration),
}

impl Parser {
    /// A parser with nothing pending.
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Parses `bytes` (read at `now`) after what was pending; returns what is complete.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<Input> {
        self.pending.extend_from_slice(bytes);
        self.parse(now, false)
    }

    /// Takes whatever has waited long enough as typed; call when no bytes came.
    pub fn expire(&mut self, now: Instant) -> Vec<Input> {
        self.parse(now, true)
    }

    /// How long until [`expire`](Self::expire) has something to do, if anything is pending.
    pub fn next_deadline(&self, now: Instant) -> Option<Duration> {
        let since = self.waiting_since?;
        let wait = match head(&self.pending) {
            Token::Unfinished(wait) => wait,
            Token::Done(..) => Duration::ZERO,
        };
        Some((since + wait).saturating_duration_since(now))
    }

    fn parse(&mut self, now: Instant, expiring: bool) -> Vec<Input> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < self.pending.len() {
            match head(&self.pending[at..]) {
                Token::Done(len, input) => {
                    out.extend(input);
                    at += len;
                    self.waiting_since = None;
                }
                Token::Unfinished(wait) => {
                    let since = *self.waiting_since.get_or_insert(now);
                    if !(expiring && now.duration_since(since) >= wait) {
                        break;
                    }
                    // Waited long enough: the first byte (or ESC and the next) was typed.
                    let (len, input) = typed_prefix(&self.pending[at..]);
                    out.extend(input);
                    at += len;
                    self.waiting_since = None;
                }
            }
        }
        self.pending.drain(..at);
        if self.pending.is_empty() {
            self.waiting_since = None;
        }
        out
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<Input> {
    Some(Input::Key(KeyEvent::new(code, modifiers)))
}

/// The first input in `bytes` (non-empty).
fn head(bytes: &[u8]) -> Token {
    if bytes[0] != 0x1b {
        return plain(bytes);
    }
    let Some(&second) = bytes.get(1) else {
        return Token::Unfinished(KEY_WAIT);
    };
    match second {
        b'[' => csi(bytes),
        b'O' => match bytes.get(2) {
            None => Token::Unfinished(KEY_WAIT),
            Some(&b) => match ss3_key(b) {
                Some(code) => Token::Done(3, key(code, KeyModifiers::NONE)),
                None => {
                    let (len, input) = typed_prefix(bytes);
                    Token::Done(len, input)
                }
            },
        },
        b'_' | b'P' | b']' | b'X' | b'^' => string(bytes),
        0x1b => Token::Done(1, key(KeyCode::Esc, KeyModifiers::NONE)),
        _ => match plain(&bytes[1..]) {
            Token::Done(len, Some(Input::Key(mut k))) => {
                k.modifiers |= KeyModifiers::ALT;
                Token::Done(len + 1, Some(Input::Key(k)))
            }
            Token::Done(len, other) => Token::Done(len + 1, other),
            unfinished => unfinished,
        },
    }
}

/// What an unfinished sequence at the head of `bytes` was, taken as typing: `ESC` alone is
/// Escape, `ESC x` is Alt+x, and an unfinished UTF-8 character is dropped (it cannot be typed).
fn typed_prefix(bytes: &[u8]) -> (usize, Option<Input>) {
    if bytes[0] != 0x1b {
        return (1, None);
    }
    match bytes.get(1) {
        Some(&b) if b.is_ascii() && b != 0x1b => {
            (2, key(KeyCode::Char(b as char), KeyModifiers::ALT))
        }
        _ => (1, key(KeyCode::Esc, KeyModifiers::NONE)),
    }
}

/// A byte or UTF-8 character that does not start with `ESC`.
fn plain(bytes: &[u8]) -> Token {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let b = bytes[0];
    let input = match b {
        b'\r' | b'\n' => key(KeyCode::Enter, none),
        b'\t' => key(KeyCode::Tab, none),
        0x7f | 0x08 => key(KeyCode::Backspace, none),
        0x00 => key(KeyCode::Char(' '), ctrl),
        0x01..=0x1a => key(KeyCode::Char((b - 1 + b'a') as char), ctrl),
        0x1c..=0x1f => key(KeyCode::Char((b - 0x1c + b'4') as char), ctrl),
        0x20..=0x7e => key(KeyCode::Char(b as char), none),
        _ => {
            let len = match b {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => return Token::Done(1, None),
            };
            if bytes.len() < len {
                return Token::Unfinished(KEY_WAIT);
            }
            return match std::str::from_utf8(&bytes[..len]) {
                Ok(s) => Token::Done(
                    len,
                    s.chars().next().and_then(|c| key(KeyCode::Char(c), none)),
                ),
                Err(_) => Token::Done(1, None),
            };
        }
    };
    Token::Done(1, input)
}

/// A control sequence `ESC [ params final`: a key, or a reply.
fn csi(bytes: &[u8]) -> Token {
    // A private marker right after `[` (`?`, `>`, `=`) only ever starts a reply.
    let reply_like = matches!(bytes.get(2), Some(b'?' | b'>' | b'='));
    let mut end = 2;
    loop {
        let Some(&b) = bytes.get(end) else {
            return Token::Unfinished(if reply_like { REPLY_WAIT } else { KEY_WAIT });
        };
        match b {
            0x20..=0x3f => end += 1,
            0x40..=0x7e => break,
            // Not a control sequence after all: ESC and `[` were typed.
            _ => return Token::Done(2, key(KeyCode::Char('['), KeyModifiers::ALT)),
        }
    }
    let seq = &bytes[..=end];
    let params = &seq[2..end];
    let last = seq[end];
    if params.first() == Some(&b'<') && matches!(last, b'M' | b'm') {
        return Token::Done(end + 1, sgr_mouse(&params[1..], last).map(Input::Mouse));
    }
    let input = if reply_like || matches!(last, b'c' | b't' | b'n') {
        Some(Input::Reply(reply(seq)))
    } else {
        Some(csi_key(params, last).unwrap_or(Input::Reply(Reply::Other)))
    };
    Token::Done(end + 1, input)
}

/// The mouse event of an SGR report `ESC [ < button ; column ; row M` (press, `m`: release),
/// columns and rows counted from 1. Releases and motion are dropped (`None`).
fn sgr_mouse(params: &[u8], last: u8) -> Option<MouseEvent> {
    let text = std::str::from_utf8(params).ok()?;
    let mut numbers = text.split(';').map(|p| p.parse::<u16>().ok());
    let (button, column, row) = (numbers.next()??, numbers.next()??, numbers.next()??);
    if last == b'm' || button & 32 != 0 {
        return None;
    }
    let kind = match button & !0b11100 {
        0 => MouseEventKind::Down(MouseButton::Left),
        1 => MouseEventKind::Down(MouseButton::Middle),
        2 => MouseEventKind::Down(MouseButton::Right),
        64 => MouseEventKind::ScrollUp,
        65 => MouseEventKind::ScrollDown,
        _ => return None,
    };
    let mut modifiers = KeyModifiers::NONE;
    for (bit, m) in [
        (4, KeyModifiers::SHIFT),
        (8, KeyModifiers::ALT),
        (16, KeyModifiers::CONTROL),
    ] {
        if button & bit != 0 {
            modifiers |= m;
        }
    }
    Some(MouseEvent {
        kind,
        column: column.checked_sub(1)?,
        row: row.checked_sub(1)?,
        modifiers,
    })
}

/// The key a CSI sequence encodes (xterm's: `ESC [ A`, `ESC [ 1 ; 5 C`, `ESC [ 5 ~` …).
fn csi_key(params: &[u8], last: u8) -> Option<Input> {
    let text = std::str::from_utf8(params).ok()?;
    let mut numbers = text.split(';').map(|p| p.parse::<u16>().ok());
    let first = numbers.next().flatten();
    let modifiers = modifiers(numbers.next().flatten().unwrap_or(1));
    let code = match last {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'Z' => return key(KeyCode::BackTab, KeyModifiers::SHIFT),
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        b'~' => match first? {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            n @ 11..=15 => KeyCode::F((n - 10) as u8),
            n @ 17..=21 => KeyCode::F((n - 11) as u8),
            n @ 23..=24 => KeyCode::F((n - 12) as u8),
            _ => return None,
        },
        _ => return None,
    };
    key(code, modifiers)
}

/// xterm's modifier parameter (1 + shift·1 + alt·2 + ctrl·4).
fn modifiers(m: u16) -> KeyModifiers {
    let bits = m.saturating_sub(1);
    let mut out = KeyModifiers::NONE;
    for (bit, modifier) in [
        (1, KeyModifiers::SHIFT),
        (2, KeyModifiers::ALT),
        (4, KeyModifiers::CONTROL),
    ] {
        if bits & bit != 0 {
            out |= modifier;
        }
    }
    out
}

/// The key of `ESC O x` (what terminals in application mode send for arrows, Home, End, F1–F4).
fn ss3_key(b: u8) -> Option<KeyCode> {
    Some(match b {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    })
}

/// A string sequence (APC `ESC _`, DCS `ESC P`, OSC `ESC ]`, SOS, PM), ended by ST (`ESC \`)
/// or, for OSC, BEL: always a reply.
fn string(bytes: &[u8]) -> Token {
    let mut i = 2;
    while i < bytes.len() {
        match bytes[i] {
            0x07 if bytes[1] == b']' => {
                return Token::Done(i + 1, Some(Input::Reply(reply(&bytes[..=i]))));
            }
            0x1b => match bytes.get(i + 1) {
                None => break,
                Some(b'\\') => {
                    return Token::Done(i + 2, Some(Input::Reply(reply(&bytes[..i + 2]))));
                }
                Some(_) => i += 1,
            },
            _ => i += 1,
        }
    }
    Token::Unfinished(REPLY_WAIT)
}

/// A reply of the terminal to one of the questions of [`query`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Primary device attributes (`CSI ? … c`): the attribute numbers (4: sixel graphics).
    DeviceAttributes(Vec<u16>),
    /// The kitty graphics query's answer (`APC G i=31 ; … ST`): whether it was `OK`.
    Kitty(bool),
    /// The kitty compression query's answer (`APC G i=32 ; … ST`): whether it was `OK`.
    KittyZlib(bool),
    /// The background colour (`OSC 11 ; rgb:RRRR/GGGG/BBBB ST`), 8 bits a channel.
    Background([u8; 3]),
    /// XTVERSION (`DCS > | … ST`): the terminal's name and version, e.g. `XTerm(390)`.
    Version(String),
    /// iTerm2's capability report (`OSC 1337 ; Capabilities=… ST`): its feature letters.
    Iterm2Capabilities(String),
    /// `CSI 6 ; height ; width t`: a cell in pixels, as (width, height).
    CellSize(u16, u16),
    /// `CSI 4 ; height ; width t`: the text area in pixels, as (width, height).
    TextAreaPixels(u16, u16),
    /// The status report `CSI 0 n`, which ends [`query`].
    Status,
    /// Any other reply, a refusal, or garbage shaped like a reply (never a key).
    Other,
}

/// What one complete reply sequence (starting with `ESC`) says.
fn reply(seq: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(seq);
    let numbers = |s: &str| -> Option<Vec<u16>> { s.split(';').map(|p| p.parse().ok()).collect() };
    // The body between the introducer and the terminator (`ST` = `ESC \`, or BEL for OSC).
    let body = |intro: &str| -> Option<String> {
        let rest = text.strip_prefix(intro)?;
        let rest = rest
            .strip_suffix("\x1b\\")
            .or_else(|| rest.strip_suffix('\x07'))?;
        Some(rest.to_owned())
    };
    match seq.get(1) {
        Some(b'[') => {
            let params = &text[2..text.len() - 1];
            match seq.last() {
                Some(b'c') => params
                    .strip_prefix('?')
                    .and_then(numbers)
                    .map_or(Reply::Other, Reply::DeviceAttributes),
                Some(b't') => match numbers(params).as_deref() {
                    Some(&[6, h, w]) if h > 0 && w > 0 => Reply::CellSize(w, h),
                    Some(&[4, h, w]) if h > 0 && w > 0 => Reply::TextAreaPixels(w, h),
                    _ => Reply::Other,
                },
                Some(b'n') if params == "0" => Reply::Status,
                _ => Reply::Other,
            }
        }
        Some(b'_') => match body("\x1b_G").as_deref().and_then(|b| b.split_once(';')) {
            Some((keys, message)) if keys.split(',').any(|k| k == "i=31") => {
                Reply::Kitty(message == "OK")
            }
            Some((keys, message)) if keys.split(',').any(|k| k == "i=32") => {
                Reply::KittyZlib(message == "OK")
            }
            _ => Reply::Other,
        },
        Some(b'P') => body("\x1bP>|").map_or(Reply::Other, Reply::Version),
        Some(b']') => {
            if let Some(colour) = body("\x1b]11;") {
                return background(&colour).map_or(Reply::Other, Reply::Background);
            }
            body("\x1b]1337;Capabilities=").map_or(Reply::Other, Reply::Iterm2Capabilities)
        }
        _ => Reply::Other,
    }
}

/// The terminal's input (stdin, which [`enter`] put in raw mode), read by the event loop alone.
#[derive(Debug, Default)]
pub struct Reader {
    parser: Parser,
    /// Every byte read, when kept (for `imgtui doctor`).
    log: Option<Vec<u8>>,
    /// The file descriptor read: 0 (stdin), or `/dev/tty` for `imgtui doctor`.
    fd: i32,
}

impl Reader {
    /// A reader of stdin with nothing pending.
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Waits at most `timeout` for input and returns what is complete, in order (often
    /// nothing). Unfinished sequences are completed or taken as typed by later calls.
    #[cfg(unix)]
    pub fn read(&mut self, timeout: Duration) -> Vec<Input> {
        let wait = self
            .parser
            .next_deadline(Instant::now())
            .map_or(timeout, |d| d.min(timeout));
        let mut fds = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = wait.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd, and its count.
        let ready = unsafe { libc::poll(&mut fds, 1, millis) };
        let gone_unless_interrupted = || {
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => Vec::new(),
                _ => vec![Input::Closed],
            }
        };
        if ready < 0 {
            return gone_unless_interrupted();
        }
        if ready > 0 {
            let mut buf = [0u8; 4096];
            // SAFETY: reads at most buf.len() bytes into buf.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            return match n {
                0 => vec![Input::Closed],
                n if n < 0 => gone_unless_interrupted(),
                n => {
                    let bytes = &buf[..n as usize];
                    if let Some(log) = &mut self.log {
                        log.extend_from_slice(bytes);
                    }
                    self.parser.feed(bytes, Instant::now())
                }
            };
        }
        self.parser.expire(Instant::now())
    }

    /// Waits at most `timeout` for a key (crossterm reads the console; no query is sent here).
    #[cfg(not(unix))]
    pub fn read(&mut self, timeout: Duration) -> Vec<Input> {
        use crossterm::event::{Event, KeyEventKind};
        match crossterm::event::poll(timeout) {
            Ok(false) => Vec::new(),
            Ok(true) => match crossterm::event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => vec![Input::Key(k)],
                Ok(_) => Vec::new(),
                Err(_) => vec![Input::Closed],
            },
            Err(_) => vec![Input::Closed],
        }
    }
}

#[cfg(test)]
mod tests {

    /// A sixel wrapped for tmux as ratatui-image 11 writes it: every ESC of the sixel doubled
    /// but its terminator. The mend doubles that one, and leaves a well-wrapped sequence and
    /// output without a passthrough as they are.
    #[test]
    fn a_sixel_in_tmux_passthrough_gets_its_terminator_escaped() {
        let written =
            b"\x1b[2;89H\x1bPtmux;\x1b\x1b[34X\x1b\x1bP9;1;0q\"1;1;2;2#0!2~-\x1b\\\x1b\\x";
        let mut out = TmuxSafe(Vec::new());
        out.write_all(written).unwrap();
        assert_eq!(
            out.0,
            b"\x1b[2;89H\x1bPtmux;\x1b\x1b[34X\x1b\x1bP9;1;0q\"1;1;2;2#0!2~-\x1b\x1b\\\x1b\\x"
        );
        let well = b"\x1bPtmux;\x1b\x1b_Ga=q\x1b\x1b\\\x1b\\";
        let mut out = TmuxSafe(Vec::new());
        out.write_all(well).unwrap();
        assert_eq!(out.0, well);
        let plain = b"\x1bP9;1;0q\"1;1;2;2#0!2~-\x1b\\\x1b\\";
        let mut out = TmuxSafe(Vec::new());
        out.write_all(plain).unwrap();
        assert_eq!(out.0, plain);
    }

    use super::*;

    fn k(c: char) -> Input {
        Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(code: KeyCode) -> Input {
        Input::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// Feeds `bytes` in pieces of `chunk` bytes, 1 ms apart, then lets everything expire.
    fn parse_in_chunks(bytes: &[u8], chunk: usize) -> Vec<Input> {
        let mut parser = Parser::new();
        let start = Instant::now();
        let mut out = Vec::new();
        for (i, piece) in bytes.chunks(chunk).enumerate() {
            out.extend(parser.feed(piece, start + Duration::from_millis(i as u64)));
        }
        out.extend(parser.expire(start + Duration::from_secs(60)));
        out
    }

    #[test]
    fn keys_around_and_between_replies_arrive_in_order_however_the_reads_split() {
        // Typed before, between and after the replies: q j, ↓, k, Esc then /.
        let mut bytes = b"qj".to_vec();
        bytes.extend_from_slice(b"\x1b_Gi=31;OK\x1b\\");
        bytes.extend_from_slice(b"\x1b[B");
        bytes.extend_from_slice(b"\x1b[?62;4;22c\x1b[6;18;9t");
        bytes.extend_from_slice(b"k");
        bytes.extend_from_slice(b"\x1b[0n");
        bytes.extend_from_slice("é/".as_bytes());
        let want = vec![
            k('q'),
            k('j'),
            Input::Reply(Reply::Kitty(true)),
            code(KeyCode::Down),
            Input::Reply(Reply::DeviceAttributes(vec![62, 4, 22])),
            Input::Reply(Reply::CellSize(9, 18)),
            k('k'),
            Input::Reply(Reply::Status),
            k('é'),
            k('/'),
        ];
        for chunk in 1..=bytes.len() {
            assert_eq!(
                parse_in_chunks(&bytes, chunk),
                want,
                "read {chunk} bytes at a time"
            );
        }
    }

    #[test]
    fn sgr_mouse_reports_are_clicks_and_wheel_turns_and_keys_around_them_stay() {
        let bytes = b"j\x1b[<0;10;5M\x1b[<0;10;5m\x1b[<64;3;4M\x1b[<65;3;4M\x1b[<35;7;7Mk";
        let click = |kind, column, row| {
            Input::Mouse(MouseEvent {
                kind,
                column,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        let want = vec![
            k('j'),
            click(MouseEventKind::Down(MouseButton::Left), 9, 4),
            click(MouseEventKind::ScrollUp, 2, 3),
            click(MouseEventKind::ScrollDown, 2, 3),
            k('k'),
        ];
        for chunk in 1..=bytes.len() {
            assert_eq!(parse_in_chunks(bytes, chunk), want, "{chunk} bytes a read");
        }
    }

    #[test]
    fn osc52_puts_base64_of_the_text_between_the_selector_and_st() {
        assert_eq!(osc52("/art/a.png"), "\x1b]52;c;L2FydC9hLnBuZw==\x1b\\");
        assert_eq!(osc52(""), "\x1b]52;c;\x1b\\");
        let two = osc52("/a b/é.png\n/c.png");
        let body = two
            .strip_prefix("\x1b]52;c;")
            .unwrap()
            .strip_suffix("\x1b\\")
            .unwrap();
        use base64::Engine;
        let back = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(back, "/a b/é.png\n/c.png".as_bytes());
    }

    #[test]
    fn a_lone_escape_is_the_escape_key_once_nothing_follows() {
        let mut parser = Parser::new();
        let t = Instant::now();
        assert!(
            parser.feed(b"\x1b", t).is_empty(),
            "it may start a sequence"
        );
        assert!(parser.expire(t + KEY_WAIT / 2).is_empty());
        assert_eq!(parser.expire(t + KEY_WAIT), vec![code(KeyCode::Esc)]);
        assert_eq!(parser.next_deadline(t), None);
        // Escape then a key typed after the wait: two keys.
        assert!(parser.feed(b"\x1b", t).is_empty());
        assert_eq!(parser.expire(t + KEY_WAIT), vec![code(KeyCode::Esc)]);
        assert_eq!(parser.feed(b"q", t + KEY_WAIT * 2), vec![k('q')]);
    }

    #[test]
    fn an_unfinished_reply_is_given_back_as_typing_when_it_never_ends() {
        // ESC _ x y (Alt+_ then x, y) looks like the start of a reply: it waits, then every byte
        // comes back as the keys they were.
        let mut parser = Parser::new();
        let t = Instant::now();
        assert!(parser.feed(b"\x1b_xy", t).is_empty());
        assert!(parser.expire(t + REPLY_WAIT / 2).is_empty());
        let alt = |c| Input::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
        assert_eq!(
            parser.expire(t + REPLY_WAIT),
            vec![alt('_'), k('x'), k('y')]
        );
    }

    #[test]
    fn garbage_and_late_replies_are_never_keys() {
        // Replies nobody asked for (DA2, DECRPM, XTVERSION, OSC 11), a refusal and an empty
        // cell size: nothing typed comes out of them, and the key after them is intact.
        let bytes = b"\x1b[?1;2;999c\x1b[>0;10;1c\x1b[?2026;2$y\x1bP>|XTerm(390)\x1b\\\x1b]11;rgb:0000/0000/0000\x07\x1b_Gi=31;EINVAL\x1b\\\x1b[6;;t\x1b[0nq";
        let out = parse_in_chunks(bytes, 3);
        assert_eq!(out.last(), Some(&k('q')));
        assert!(
            out[..out.len() - 1]
                .iter()
                .all(|i| matches!(i, Input::Reply(_))),
            "{out:?}"
        );
    }

    #[test]
    fn keys_are_read_as_crossterm_reads_them() {
        let mods = |code, m| Input::Key(KeyEvent::new(code, m));
        let cases: Vec<(&[u8], Input)> = vec![
            (b"\r", code(KeyCode::Enter)),
            (b"\t", code(KeyCode::Tab)),
            (b"\x7f", code(KeyCode::Backspace)),
            (b"\x03", mods(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            (b"\x1b[A", code(KeyCode::Up)),
            (b"\x1bOB", code(KeyCode::Down)),
            (b"\x1b[1;5C", mods(KeyCode::Right, KeyModifiers::CONTROL)),
            (b"\x1b[5~", code(KeyCode::PageUp)),
            (b"\x1b[6~", code(KeyCode::PageDown)),
            (b"\x1b[H", code(KeyCode::Home)),
            (b"\x1b[4~", code(KeyCode::End)),
            (b"\x1b[Z", mods(KeyCode::BackTab, KeyModifiers::SHIFT)),
            (b"\x1b[15~", code(KeyCode::F(5))),
            (b"\x1b[1;2R", mods(KeyCode::F(3), KeyModifiers::SHIFT)),
            (b"\x1bj", mods(KeyCode::Char('j'), KeyModifiers::ALT)),
        ];
        for (bytes, want) in cases {
            assert_eq!(parse_in_chunks(bytes, 1), vec![want], "{bytes:?}");
        }
    }

    /// The answers in `bytes`, read as the explorer reads them.
    fn answers(bytes: &[u8]) -> Answers {
        let mut answers = Answers::default();
        for input in parse_in_chunks(bytes, 5) {
            match input {
                Input::Reply(r) => answers.take(r),
                other => panic!("not a reply: {other:?}"),
            }
        }
        answers
    }

    #[test]
    fn every_reply_of_the_query_is_read() {
        let a = answers(
            b"\x1b_Gi=31;EINVAL:bad\x1b\\\x1b_Gi=32;OK\x1b\\\x1b]11;rgb:ffff/ffff/dddd\x1b\\\x1b[?63;1;2;4;6;9;15;22c\x1bP>|XTerm(390)\x1b\\\
              \x1b]1337;Capabilities=T3LrMSc7UUw9Ts3BFGsSyHNoSxF\x07\x1b[6;14;7t\x1b[4;336;560t\x1b[0n",
        );
        assert_eq!(
            a,
            Answers {
                attributes: Some(vec![63, 1, 2, 4, 6, 9, 15, 22]),
                kitty: Some(false),
                kitty_zlib: Some(true),
                background: Some([255, 255, 221]),
                version: Some("XTerm(390)".to_owned()),
                iterm2: Some("T3LrMSc7UUw9Ts3BFGsSyHNoSxF".to_owned()),
                cell: Some((7, 14)),
                text_area: Some((560, 336)),
                complete: true,
            }
        );
        // A refused size (`CSI 6 ; ; t`) and an answer to nobody's question are no size.
        let a = answers(b"\x1b[6;;t\x1b[8;24;80t\x1b_Gi=99;OK\x1b\\");
        assert_eq!(a.cell, None);
        assert_eq!(a.kitty, None);
    }

    #[test]
    fn the_query_asks_everything_and_ends_with_the_status_report() {
        let q = query(false);
        for part in [
            "\x1b_Gi=31,",
            "\x1b[c",
            "\x1b[>0q",
            "\x1b]1337;Capabilities",
            "\x1b[16t",
            "\x1b[14t",
        ] {
            assert!(q.contains(part), "{part:?} in {q:?}");
        }
        assert!(q.ends_with("\x1b[5n"));
        // In tmux: one passthrough sequence, every inner ESC doubled.
        let t = query(true);
        assert!(t.starts_with("\x1bPtmux;\x1b\x1b_G") && t.ends_with("\x1b\x1b[5n\x1b\\"));
        assert_eq!(t.matches('\x1b').count(), 2 * q.matches('\x1b').count() + 2);
    }

    #[test]
    fn the_terminal_not_its_environment_decides_the_protocol() {
        let none = Environment::default();
        let detect = |bytes: &[u8], env: &Environment| {
            let (p, why) = detect(&answers(bytes), env);
            (p, why)
        };
        let ty = |p: ProtocolType, why: &str| (p, why.to_owned());
        // xterm -ti vt340 over SSH: no variable, DA1 says sixel.
        assert_eq!(
            detect(
                b"\x1b[?63;1;2;4;6;9;15;22c\x1bP>|XTerm(390)\x1b\\\x1b[0n",
                &none
            ),
            ty(ProtocolType::Sixel, "DA1")
        );
        assert_eq!(
            detect(b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4;22c\x1b[0n", &none),
            ty(ProtocolType::Kitty, "kitty graphics query")
        );
        assert_eq!(
            detect(
                b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4c\x1bP>|WezTerm 20240203\x1b\\\x1b[0n",
                &none
            ),
            ty(ProtocolType::Iterm2, "XTVERSION WezTerm 20240203")
        );
        assert_eq!(
            detect(b"\x1b[?62;22c\x1b]1337;Capabilities=F\x07\x1b[0n", &none),
            ty(ProtocolType::Iterm2, "iTerm2 capability report")
        );
        assert_eq!(
            detect(b"\x1b[?62;4;22c\x1bP>|Konsole 23.08\x1b\\\x1b[0n", &none).0,
            ProtocolType::Halfblocks
        );
        // xterm without -ti vt340: it answers, without sixel.
        assert_eq!(
            detect(b"\x1b[?64;1;2;6;9;15;22c\x1b[0n", &none),
            ty(
                ProtocolType::Halfblocks,
                "the terminal reports no image protocol"
            )
        );
        assert_eq!(
            detect(b"", &none),
            ty(
                ProtocolType::Halfblocks,
                "the terminal did not answer within 1 s"
            )
        );
        // The environment only adds: iTerm2 reached locally, with no answer to go by.
        let iterm = Environment {
            iterm2: Some("TERM_PROGRAM=iTerm.app".to_owned()),
            ..Environment::default()
        };
        assert_eq!(detect(b"", &iterm).0, ProtocolType::Iterm2);
    }

    #[test]
    fn the_cell_size_comes_from_the_tty_then_the_terminal_then_the_setting() {
        let a = answers(b"\x1b[6;18;9t\x1b[4;480;800t");
        let font = |(f, from): (FontSize, CellFrom)| ((f.width, f.height), from);
        let tty = Some(FontSize::new(7, 14));
        let grid = Some((80, 24));
        let setting = Some((8, 16));
        assert_eq!(
            font(cell_size(tty, &a, grid, setting)),
            ((7, 14), CellFrom::Tty)
        );
        assert_eq!(
            font(cell_size(None, &a, grid, setting)),
            ((9, 18), CellFrom::Terminal)
        );
        let area_only = answers(b"\x1b[4;480;800t");
        assert_eq!(
            font(cell_size(None, &area_only, grid, setting)),
            ((10, 20), CellFrom::TextArea)
        );
        let nothing = Answers::default();
        assert_eq!(
            font(cell_size(None, &nothing, grid, setting)),
            ((8, 16), CellFrom::Setting)
        );
        assert_eq!(
            font(cell_size(None, &nothing, grid, None)),
            (SMALL_CELL, CellFrom::Guess)
        );
        let g = Graphics::new(ProtocolType::Sixel, "DA1", cell_size(tty, &a, grid, None));
        assert_eq!(g.describe(), "sixel (DA1), cell 7×14 px from the tty");
    }

    /// The pixel size (width, height) of a sixel image, from its raster attributes `"1;1;W;H`.
    fn sixel_pixels(data: &str) -> (u32, u32) {
        let raster = &data[data.find('"').expect("raster attributes") + 1..];
        let end = raster
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap();
        let n: Vec<u32> = raster[..end]
            .split(';')
            .map(|p| p.parse().unwrap())
            .collect();
        (n[2], n[3])
    }

    #[test]
    fn an_image_is_never_drawn_outside_its_area_whatever_the_cell_guess() {
        use ratatui::layout::Size;
        use ratatui_image::{Resize, ResizeEncodeRender};
        // Every font at least as large as the cell assumed: the smallest guess, xterm's
        // fixed font, and common ones; images wide, tall and tiny; areas of a pane.
        let real_cells = [SMALL_CELL, (6, 13), (7, 14), (9, 18), (10, 20), (12, 25)];
        let images = [(1024, 300), (300, 1024), (1024, 1024), (40, 30), (1, 1)];
        let areas = [
            Size::new(60, 18),
            Size::new(31, 40),
            Size::new(1, 1),
            Size::new(200, 3),
        ];
        for guess in [SMALL_CELL, (6, 13), (7, 14)] {
            let g = Graphics::new(
                ProtocolType::Sixel,
                "test",
                (FontSize::new(guess.0, guess.1), CellFrom::Guess),
            );
            for (iw, ih) in images {
                let img = DynamicImage::new_rgb8(iw, ih);
                for area in areas {
                    let mut p = g.new_resize_protocol(img.clone());
                    p.resize_encode(&Resize::Fit(None), area);
                    let StatefulProtocolType::Sixel(s) = p.protocol_type() else {
                        unreachable!()
                    };
                    let (w, h) = sixel_pixels(&s.data);
                    for (cw, ch) in real_cells
                        .iter()
                        .filter(|(cw, ch)| *cw >= guess.0 && *ch >= guess.1)
                    {
                        let (cols, rows) = (w.div_ceil(u32::from(*cw)), h.div_ceil(u32::from(*ch)));
                        assert!(
                            cols <= u32::from(area.width) && rows <= u32::from(area.height),
                            "{iw}×{ih} px in {area:?} cells sized for {guess:?}: {w}×{h} px, \
                             {cols}×{rows} cells of {cw}×{ch}"
                        );
                    }
                }
            }
        }
        // The check has teeth: sized for a cell larger than the real one, it overflows.
        let g = Graphics::new(
            ProtocolType::Sixel,
            "test",
            (FontSize::new(10, 20), CellFrom::Guess),
        );
        let mut p = g.new_resize_protocol(DynamicImage::new_rgb8(1024, 1024));
        p.resize_encode(&Resize::Fit(None), Size::new(60, 18));
        let StatefulProtocolType::Sixel(s) = p.protocol_type() else {
            unreachable!()
        };
        let (_, h) = sixel_pixels(&s.data);
        assert!(h.div_ceil(14) > 18, "{h} px high");
    }

    #[test]
    fn a_stronger_passthrough_setting_is_left_alone() {
        assert!(tmux::lets_through("on"));
        assert!(tmux::lets_through("all"));
        assert!(!tmux::lets_through("off"));
        assert!(!tmux::lets_through(""));
    }
}
