//! The one reader of the terminal: keys, mouse and replies to queries, told apart.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::*;

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
pub(super) const KEY_WAIT: Duration = Duration::from_millis(40);
/// How long an unfinished reply (`ESC _ …`, `ESC P …`, `ESC ] …`, `ESC [ ? …`) waits for its end
/// before its bytes are taken as typed (Alt+`_` and so on), so nothing is ever swallowed for good.
pub(super) const REPLY_WAIT: Duration = Duration::from_millis(1000);

/// Splits the bytes read from the terminal into keys and replies, in order. Bytes of a
/// sequence that is not complete yet wait (see [`KEY_WAIT`], [`REPLY_WAIT`]).
#[derive(Debug, Default)]
pub struct Parser {
    pub(super) pending: Vec<u8>,
    /// Since when the head of `pending` has been waiting for more bytes.
    pub(super) waiting_since: Option<Instant>,
}

/// How the head of the pending bytes parses.
pub(super) enum Token {
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

    pub(super) fn parse(&mut self, now: Instant, expiring: bool) -> Vec<Input> {
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

pub(super) fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<Input> {
    Some(Input::Key(KeyEvent::new(code, modifiers)))
}

/// The first input in `bytes` (non-empty).
pub(super) fn head(bytes: &[u8]) -> Token {
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
pub(super) fn typed_prefix(bytes: &[u8]) -> (usize, Option<Input>) {
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
pub(super) fn plain(bytes: &[u8]) -> Token {
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
pub(super) fn csi(bytes: &[u8]) -> Token {
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
pub(super) fn sgr_mouse(params: &[u8], last: u8) -> Option<MouseEvent> {
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
pub(super) fn csi_key(params: &[u8], last: u8) -> Option<Input> {
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
pub(super) fn modifiers(m: u16) -> KeyModifiers {
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
pub(super) fn ss3_key(b: u8) -> Option<KeyCode> {
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
pub(super) fn string(bytes: &[u8]) -> Token {
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
pub(super) fn reply(seq: &[u8]) -> Reply {
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
    pub(super) parser: Parser,
    /// Every byte read, when kept (for `imgtui doctor`).
    pub(super) log: Option<Vec<u8>>,
    /// The file descriptor read: 0 (stdin), or `/dev/tty` for `imgtui doctor`.
    pub(super) fd: i32,
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
