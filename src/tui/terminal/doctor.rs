//! `imgtui doctor`: the probe as a report for people.

use std::time::Duration;

use super::*;

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
    for (var, value) in &environment().values {
        let value = if value.is_empty() { "-" } else { value };
        report += &format!("{var:<19}{}\n", crate::text::escape(value));
    }
    match tty_size() {
        Some(((c, r), Some((w, h)))) => {
            report += &format!("tty                {c}×{r} cells, {w}×{h} px\n")
        }
        Some(((c, r), None)) => {
            report += &format!("tty                {c}×{r} cells, no pixel size\n")
        }
        None => report += "tty                no size\n",
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
        "answered           {} bytes in {} ms{}\n",
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
    let (protocol, why) = detect(&answers, environment());
    let grid = tty_size().map(|(grid, _)| grid);
    let cell = cell_size(cell_size_from_ioctl(), &answers, grid, setting);
    let graphics = Graphics::new(protocol, &why, cell);
    report += &format!("imgtui draws       {}\n", graphics.describe());
    Ok(crate::text::escape_lines(&report).into_owned())
}

/// The terminal `imgtui doctor` talks to: `/dev/tty`, so that its report can go to a file
/// (`imgtui doctor > report.txt`) while the questions and answers stay on the terminal.
pub(super) struct DevTty {
    pub(super) out: std::fs::File,
    pub(super) fd: i32,
}

impl DevTty {
    #[cfg(unix)]
    pub(super) fn open() -> anyhow::Result<DevTty> {
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
    pub(super) fn open() -> anyhow::Result<DevTty> {
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
    let mut line = |what: &str, value: String| out += &format!("{what:<19}{value}\n");
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
