//! Text for people: file names and messages with their control characters made visible, and
//! byte counts in one format.
//!
//! A file name may hold any byte but `/` and NUL: `ESC ] 2 ; … BEL` retitles a window, OSC 52
//! writes the clipboard, `ESC [ 2 J` clears the screen, and C1 `U+009B` is a CSI on its own.
//! Every text imgtui writes for a person (the command line's lines and errors, `doctor`, the
//! explorer's titles, status line, prompts and help) goes through [`escape`], which shows each
//! C0 control, DEL and each C1 control as a visible escape, as `ls` and ripgrep do. JSON keeps
//! exact values (the JSON answers write controls as `\u00XX`) and CSV quotes them.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::path::Path;

/// Whether `c` is a C0 control (U+0000–U+001F), DEL (U+007F) or a C1 control (U+0080–U+009F):
/// the characters a terminal may act on rather than show.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// `s` with every control character (see [`is_control`]) written as a visible escape: `\t`,
/// `\n`, `\r`, `\e` (ESC) and `\x07` style for the other C0 controls and DEL, `\u{9b}` style
/// for C1. A line break is kept as it is when `keep_newlines` (a message of several lines),
/// escaped otherwise (a file name). Borrowed when there is nothing to escape.
pub fn escape_text(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_control(c) && !(keep_newlines && c == '\n');
    if !s.contains(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` as one line for a person: every control character escaped, line breaks included.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_text(s, false)
}

/// A message of one or more lines for a person: controls escaped, line breaks kept.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_text(s, true)
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// A path shown to a person: controls escaped as [`escape`] does, and on Unix each byte that
/// is not part of valid UTF-8 as `\xNN` (so `bad\xffname.png`, not a lossy `bad�name.png`
/// that names no file). Use it wherever a path goes into text: `format!("{}", shown(p))`.
pub fn shown(path: &Path) -> Shown<'_> {
    Shown(path)
}

/// A path's [`Display`](fmt::Display) for people; see [`shown`].
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(&'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            for chunk in self.0.as_os_str().as_bytes().utf8_chunks() {
                f.write_str(&escape(chunk.valid()))?;
                for b in chunk.invalid() {
                    write!(f, "\\x{b:02x}")?;
                }
            }
            Ok(())
        }
        #[cfg(not(unix))]
        f.write_str(&escape(&self.0.to_string_lossy()))
    }
}

/// `name` in at most `width` characters: its start and its end (the extension, and the
/// numbers names often end in) with "…" for the middle, as tile titles and contact sheets show
/// names (`domain_…00.png`).
pub fn middle_cut(name: &str, width: usize) -> String {
    let n = name.chars().count();
    if n <= width || width < 2 {
        return name.to_owned();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// A byte count for people, in decimal units as file managers and `df -H` show them: `820 B`,
/// `13.0 kB`, `4.4 MB`, `1.5 GB` (1 kB = 1,000 bytes). One decimal from kB up, so 13 kB is
/// never `0.0 MB`. The one byte formatter of the command line and the explorer.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A time for people, to the minute, in UTC and said so: `2026-12-01 14:03 UTC` (times
/// before 1970 as `before 1970`). The one time formatter of the explorer.
pub fn time(t: std::time::SystemTime) -> String {
    let Ok(since) = t.duration_since(std::time::UNIX_EPOCH) else {
        return "before 1970".to_owned();
    };
    let secs = since.as_secs();
    let (days, minutes) = (secs / 86_400, secs % 86_400 / 60);
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar, in eras of
    // 400 years from 0000-03-01).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sequences_are_shown_not_sent() {
        let name = "bad\u{1b}]2;TITLE\u{7}\u{1b}[H\u{9b}31m\u{7f}.png";
        let out = escape(name);
        assert_eq!(out, "bad\\e]2;TITLE\\x07\\e[H\\u{9b}31m\\x7f.png");
        assert!(!out.contains(is_control));
        assert_eq!(escape("plain é 名前.png"), "plain é 名前.png");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape_lines("one\ntwo\u{1b}"), "one\ntwo\\e");
    }

    #[cfg(unix)]
    #[test]
    fn paths_show_their_bad_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/x/bad\xff\x1b[2J.png"));
        assert_eq!(shown(p).to_string(), "/x/bad\\xff\\e[2J.png");
    }

    #[test]
    fn long_names_keep_their_start_and_their_end() {
        assert_eq!(middle_cut("short.png", 14), "short.png");
        assert_eq!(middle_cut("domain_warp_000.png", 14), "domain_…00.png");
        assert_eq!(middle_cut("domain_warp_000.png", 14).chars().count(), 14);
        assert_eq!(
            middle_cut("名前のとても長いファイル.png", 8),
            "名前のと…png"
        );
    }

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        use std::time::{Duration, UNIX_EPOCH};
        let at = |secs: u64| time(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        assert_eq!(at(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(at(1_795_694_580), "2026-11-26 12:03 UTC");
        assert_eq!(at(4_107_542_399), "2100-02-28 23:59 UTC");
        assert_eq!(time(UNIX_EPOCH - Duration::from_secs(1)), "before 1970");
    }

    #[test]
    fn byte_counts_read_well_at_every_size() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(13_000), "13.0 kB");
        assert_eq!(bytes(999_990), "1.0 MB");
        assert_eq!(bytes(4_400_000), "4.4 MB");
        assert_eq!(bytes(3_000_000_000), "3.0 GB");
    }
}
