//! The user's terminal: taking it over, reading keys, asking what graphics it speaks, and
//! handing it back exactly as it was found.
//!
//! * [`enter`] switches to raw mode and the alternate screen; [`restore`] (idempotent, callable
//!   from any thread, also run by the panic hook [`enter`] installs and by the signal watchdog)
//!   puts back what was changed: raw mode off, the normal screen, the cursor shown, and tmux's
//!   `allow-passthrough` for this pane as it was. Mouse capture, bracketed paste and keyboard
//!   enhancement are never switched on, so there is nothing of theirs to restore.
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

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use image::DynamicImage;
use ratatui::DefaultTerminal;
use ratatui_image::FontSize;
use ratatui_image::picker::ProtocolType;
use ratatui_image::picker::cap_parser::{self, QueryStdioOptions, Response};
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
/// both (and any tmux option changed) before the panic message is printed.
///
/// Errors: the terminal refuses raw mode, or stdout cannot be written.
pub fn enter() -> anyhow::Result<DefaultTerminal> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    let entered = (|| -> anyhow::Result<DefaultTerminal> {
        crossterm::terminal::enable_raw_mode()?;
        *ENTERED.lock().unwrap_or_else(|e| e.into_inner()) = true;
        crossterm::execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
        Ok(ratatui::Terminal::new(
            ratatui::backend::CrosstermBackend::new(std::io::stdout()),
        )?)
    })();
    if entered.is_err() {
        // Half taken (raw mode on, the screen not switched): give it back before the error.
        restore();
    }
    entered
}

/// Hands the terminal back as [`enter`] found it: the cursor shown, the normal screen, cooked
/// mode (crossterm restores the exact terminal modes it saved), and this pane's tmux
/// `allow-passthrough` as it was. Safe to call more than once and from any thread.
pub fn restore() {
    put_back_passthrough();
    let mut entered = ENTERED.lock().unwrap_or_else(|e| e.into_inner());
    if std::mem::take(&mut *entered) {
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

/// How previews are drawn: the protocol, the cell size in pixels, and whether sequences are
/// wrapped for tmux. Makes the same protocols ratatui-image's `Picker` makes.
#[derive(Debug, Clone)]
pub struct Graphics {
    protocol: ProtocolType,
    font: FontSize,
    in_tmux: bool,
    /// The next kitty image id (random start, so two imgtui processes do not collide).
    next_id: u32,
}

impl Graphics {
    /// Half-block characters: draw everywhere, need no cell size.
    pub fn halfblocks() -> Graphics {
        Graphics::new(ProtocolType::Halfblocks, FontSize::new(10, 20))
    }

    /// `protocol` as forced by `--protocol`, with the cell size the kernel reports for the
    /// terminal (10 × 20 pixels if it reports none). Inside tmux, a graphics protocol gets
    /// passthrough for imgtui's pane until [`restore`]; call after [`enter`].
    pub fn forced(protocol: ProtocolType) -> Graphics {
        if protocol != ProtocolType::Halfblocks {
            allow_passthrough();
        }
        Graphics::new(
            protocol,
            cell_size_from_ioctl().unwrap_or(FontSize::new(10, 20)),
        )
    }

    fn new(protocol: ProtocolType, font: FontSize) -> Graphics {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Graphics {
            protocol,
            font,
            in_tmux: in_tmux(),
            next_id: (random as u32).max(1),
        }
    }

    /// The protocol images are drawn with.
    pub fn protocol_type(&self) -> ProtocolType {
        self.protocol
    }

    /// A resizing protocol for `image`, for ratatui-image's `StatefulImage` widget.
    pub fn new_resize_protocol(&mut self, image: DynamicImage) -> StatefulProtocol {
        let kind = match self.protocol {
            ProtocolType::Halfblocks => StatefulProtocolType::Halfblocks(Halfblocks::default()),
            ProtocolType::Sixel => StatefulProtocolType::Sixel(Sixel {
                is_tmux: self.in_tmux,
                ..Sixel::default()
            }),
            ProtocolType::Kitty => {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                StatefulProtocolType::Kitty(StatefulKitty::new(id, self.in_tmux, false))
            }
            ProtocolType::Iterm2 => StatefulProtocolType::ITerm2(Iterm2 {
                is_tmux: self.in_tmux,
                ..Iterm2::default()
            }),
        };
        StatefulProtocol::new(image, self.font, None, kind)
    }
}

/// The cell size in pixels from the terminal's window size (TIOCGWINSZ), if it reports one.
fn cell_size_from_ioctl() -> Option<FontSize> {
    let w = crossterm::terminal::window_size().ok()?;
    (w.width > 0 && w.height > 0 && w.columns > 0 && w.rows > 0)
        .then(|| FontSize::new(w.width / w.columns, w.height / w.rows))
}

/// A graphics query in flight: written once, answered (or not) through [`Reader`].
#[derive(Debug)]
pub struct Probe {
    started: Instant,
    timeout: Duration,
    replies: Vec<Response>,
}

impl Probe {
    /// Writes the graphics query to `out` (inside tmux, first letting it through to the outer
    /// terminal for this pane only). Its last part asks for a status report that every
    /// terminal answers, so once that reply is in, every reply is.
    ///
    /// Errors: `out` cannot be written.
    pub fn start(out: &mut impl Write, timeout: Duration) -> std::io::Result<Probe> {
        let tmux = in_tmux();
        allow_passthrough();
        let var = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
        let mut options = QueryStdioOptions::default();
        if var("WEZTERM_EXECUTABLE") || var("KONSOLE_VERSION") {
            // As ratatui-image: neither draws kitty placeholders right, Konsole's sixel is buggy.
            options.blacklist_protocols = vec![ProtocolType::Kitty, ProtocolType::Sixel];
        }
        out.write_all(cap_parser::Parser::query(tmux, options).as_bytes())?;
        out.flush()?;
        Ok(Probe {
            started: Instant::now(),
            timeout,
            replies: Vec::new(),
        })
    }

    /// Takes a reply; returns how to draw once the last one (the status report) is in.
    pub fn replied(&mut self, replies: Vec<Response>) -> Option<Graphics> {
        let done = replies.contains(&Response::Status);
        self.replies.extend(replies);
        done.then(|| self.finish())
    }

    /// Whether the terminal has had its time to answer.
    pub fn timed_out(&self) -> bool {
        self.started.elapsed() > self.timeout
    }

    /// How to draw with what was answered so far: kitty, else sixel, else what the environment
    /// suggests (iTerm2's protocol), with the reported cell size (or the kernel's); halfblocks
    /// without a cell size. Passthrough, unless graphics need it, is put back at once.
    pub fn finish(&mut self) -> Graphics {
        let graphics = choose(&self.replies, env_protocol(in_tmux()), cell_size_from_ioctl);
        if graphics.protocol == ProtocolType::Halfblocks {
            put_back_passthrough();
        }
        graphics
    }
}

/// The protocol the environment suggests when the query names none: iTerm2's, for the
/// terminals ratatui-image knows speak it.
fn env_protocol(tmux: bool) -> Option<ProtocolType> {
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
    .any(|t| program.contains(t))
        || var("LC_TERMINAL").contains("iTerm")
        || (tmux && (!var("ITERM_SESSION_ID").is_empty() || !var("WEZTERM_EXECUTABLE").is_empty()));
    iterm2.then_some(ProtocolType::Iterm2)
}

/// The drawing the replies call for (see [`Probe::finish`]); `fallback_cell` is asked only if
/// no reply gave the cell size.
fn choose(
    replies: &[Response],
    env: Option<ProtocolType>,
    fallback_cell: impl Fn() -> Option<FontSize>,
) -> Graphics {
    let protocol = if replies.contains(&Response::Kitty) {
        Some(ProtocolType::Kitty)
    } else if replies.contains(&Response::Sixel) {
        Some(ProtocolType::Sixel)
    } else {
        env
    };
    let cell = replies
        .iter()
        .find_map(|r| match r {
            Response::CellSize(Some((w, h))) => Some(FontSize::new(*w, *h)),
            _ => None,
        })
        .or_else(fallback_cell);
    match (protocol, cell) {
        (Some(protocol), Some(cell)) => Graphics::new(protocol, cell),
        _ => Graphics::halfblocks(),
    }
}

/// One thing the terminal sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A key the user typed.
    Key(KeyEvent),
    /// A reply to a query, as ratatui-image's parser reads it (empty: a reply it does not
    /// know, or garbage shaped like one; never a key).
    Reply(Vec<Response>),
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
    let replies = responses(seq);
    let input = if reply_like
        || matches!(last, b'c' | b't' | b'n')
        || !replies.is_empty() && last != b'R'
    {
        Some(Input::Reply(replies))
    } else {
        Some(csi_key(params, last).unwrap_or(Input::Reply(Vec::new())))
    };
    Token::Done(end + 1, input)
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
                return Token::Done(i + 1, Some(Input::Reply(responses(&bytes[..=i]))));
            }
            0x1b => match bytes.get(i + 1) {
                None => break,
                Some(b'\\') => {
                    return Token::Done(i + 2, Some(Input::Reply(responses(&bytes[..i + 2]))));
                }
                Some(_) => i += 1,
            },
            _ => i += 1,
        }
    }
    Token::Unfinished(REPLY_WAIT)
}

/// What ratatui-image's capability parser reads in one complete sequence.
fn responses(seq: &[u8]) -> Vec<Response> {
    let mut parser = cap_parser::Parser::new();
    seq.iter()
        .flat_map(|&b| parser.push(char::from(b)))
        .collect()
}

/// The terminal's input (stdin, which [`enter`] put in raw mode), read by the event loop alone.
#[derive(Debug, Default)]
pub struct Reader {
    parser: Parser,
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
            fd: 0,
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
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            return match n {
                0 => vec![Input::Closed],
                n if n < 0 => gone_unless_interrupted(),
                n => self.parser.feed(&buf[..n as usize], Instant::now()),
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

    /// A kitty, DA1 (with sixel), cell-size and status reply, as a terminal answers the query.
    const ANSWER: &[u8] = b"\x1b_Gi=31;OK\x1b\\\x1b[?62;4;22c\x1b[6;18;9t\x1b[0n";

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
            Input::Reply(vec![Response::Kitty]),
            code(KeyCode::Down),
            Input::Reply(vec![Response::Sixel]),
            Input::Reply(vec![Response::CellSize(Some((9, 18)))]),
            k('k'),
            Input::Reply(vec![Response::Status]),
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

    #[test]
    fn the_answer_decides_the_protocol_and_cell_size() {
        let replies = parse_in_chunks(ANSWER, 7)
            .into_iter()
            .flat_map(|i| match i {
                Input::Reply(r) => r,
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>();
        let none = || None;
        let g = choose(&replies, None, none);
        assert_eq!(g.protocol, ProtocolType::Kitty);
        assert_eq!((g.font.width, g.font.height), (9, 18));
        // Sixel only, and the cell size from the kernel.
        let g = choose(&[Response::Sixel, Response::Status], None, || {
            Some(FontSize::new(8, 16))
        });
        assert_eq!((g.protocol, g.font.width), (ProtocolType::Sixel, 8));
        // No answer, no hint, or no cell size anywhere: halfblocks.
        assert_eq!(choose(&[], None, none).protocol, ProtocolType::Halfblocks);
        assert_eq!(
            choose(&[Response::Kitty], None, none).protocol,
            ProtocolType::Halfblocks
        );
        let g = choose(&[], Some(ProtocolType::Iterm2), || {
            Some(FontSize::new(8, 16))
        });
        assert_eq!(g.protocol, ProtocolType::Iterm2);
    }

    #[test]
    fn a_stronger_passthrough_setting_is_left_alone() {
        assert!(tmux::lets_through("on"));
        assert!(tmux::lets_through("all"));
        assert!(!tmux::lets_through("off"));
        assert!(!tmux::lets_through(""));
    }
}
