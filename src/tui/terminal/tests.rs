//! Unit tests of the terminal module.

/// A sixel wrapped for tmux as ratatui-image 11 writes it: every ESC of the sixel doubled
/// but its terminator. The mend doubles that one, and leaves a well-wrapped sequence and
/// output without a passthrough as they are.
#[test]
fn a_sixel_in_tmux_passthrough_gets_its_terminator_escaped() {
    let written = b"\x1b[2;89H\x1bPtmux;\x1b\x1b[34X\x1b\x1bP9;1;0q\"1;1;2;2#0!2~-\x1b\\\x1b\\x";
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

use std::io::Write;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use image::DynamicImage;
use ratatui_image::FontSize;
use ratatui_image::picker::ProtocolType;
use ratatui_image::protocol::StatefulProtocolType;

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

#[test]
fn the_environment_is_read_from_its_variables() {
    let env = |vars: &[(&'static str, &str)]| {
        Environment::from_values(vars.iter().map(|&(k, v)| (k, v.to_owned())).collect())
    };
    let plain = env(&[("TERM", "xterm-256color")]);
    assert!(!plain.tmux && !plain.dumb && !plain.no_color && plain.iterm2.is_none());
    let tmux = env(&[
        ("TERM", "tmux-256color"),
        ("TMUX_PANE", "%3"),
        ("ITERM_SESSION_ID", "w0t0p0"),
    ]);
    assert!(tmux.tmux);
    assert_eq!(tmux.tmux_pane.as_deref(), Some("%3"));
    assert_eq!(
        tmux.iterm2.as_deref(),
        Some("ITERM_SESSION_ID"),
        "iTerm2 behind tmux"
    );
    assert!(env(&[]).dumb, "no TERM");
    assert!(env(&[("TERM", "linux")]).dumb);
    assert!(env(&[("NO_COLOR", "1")]).no_color);
    assert!(
        !env(&[("NO_COLOR", "")]).no_color,
        "NO_COLOR empty is not set"
    );
    let wez = env(&[("TERM_PROGRAM", "WezTerm"), ("WEZTERM_EXECUTABLE", "/x")]);
    assert_eq!(wez.iterm2.as_deref(), Some("TERM_PROGRAM=WezTerm"));
    assert!(wez.wezterm);
}
