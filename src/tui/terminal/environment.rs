//! The environment variables that say something about the terminal, read once per process.

use std::sync::OnceLock;

/// The variables [`Environment`] reads, in the order `imgtui doctor` lists them.
const VARIABLES: [&str; 11] = [
    "TERM",
    "TERM_PROGRAM",
    "LC_TERMINAL",
    "XTERM_VERSION",
    "TMUX",
    "TMUX_PANE",
    "SSH_CONNECTION",
    "ITERM_SESSION_ID",
    "WEZTERM_EXECUTABLE",
    "KONSOLE_VERSION",
    "NO_COLOR",
];

/// What the environment says about the terminal. It is not forwarded over SSH, so for the
/// protocol it only ever adds to what the terminal answers. Read once ([`environment`]);
/// tests build one by hand.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `TERM_PROGRAM` (or `LC_TERMINAL`, which OpenSSH may forward) when it names a terminal
    /// that speaks iTerm2's protocol, as `NAME=value`.
    pub iterm2: Option<String>,
    /// `WEZTERM_EXECUTABLE` is set.
    pub wezterm: bool,
    /// `KONSOLE_VERSION` is set.
    pub konsole: bool,
    /// Inside tmux: `TMUX` is set, or `TERM` or `TERM_PROGRAM` says tmux.
    pub tmux: bool,
    /// tmux's id of the pane imgtui runs in (`TMUX_PANE`), if set.
    pub tmux_pane: Option<String>,
    /// `TERM` is unset, `dumb` or `linux` (the console): no clipboard sequence, no colours
    /// beyond the basic ones.
    pub dumb: bool,
    /// `NO_COLOR` is set and not empty (<https://no-color.org>).
    pub no_color: bool,
    /// Each variable of [`VARIABLES`] as read, for `imgtui doctor` (bytes that are not UTF-8
    /// shown as U+FFFD; empty when unset).
    pub values: Vec<(&'static str, String)>,
}

impl Environment {
    /// Reads the variables of this process. Prefer [`environment`], which reads them once.
    pub fn read() -> Environment {
        let values: Vec<(&'static str, String)> = VARIABLES
            .iter()
            .map(|&k| {
                let v = std::env::var_os(k).unwrap_or_default();
                (k, v.to_string_lossy().into_owned())
            })
            .collect();
        Environment::from_values(values)
    }

    /// The environment these variables make (`values`: name, value; missing ones are unset).
    pub fn from_values(values: Vec<(&'static str, String)>) -> Environment {
        let var = |k: &str| {
            values
                .iter()
                .find(|(name, _)| *name == k)
                .map_or("", |(_, v)| v.as_str())
        };
        let program = var("TERM_PROGRAM");
        let term = var("TERM");
        let tmux = !var("TMUX").is_empty() || term.starts_with("tmux") || program == "tmux";
        let speaks_iterm2 = [
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
        // Inside tmux, iTerm2 and WezTerm leave only their session variables.
        let iterm2 = if speaks_iterm2 {
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
            tmux,
            tmux_pane: Some(var("TMUX_PANE").to_owned()).filter(|p| !p.is_empty()),
            dumb: matches!(term, "" | "dumb" | "linux"),
            no_color: !var("NO_COLOR").is_empty(),
            values,
        }
    }
}

/// This process's [`Environment`], read on first use and kept: every part of the explorer
/// (detection, tmux, colours, `doctor`) sees the same snapshot.
pub fn environment() -> &'static Environment {
    static READ: OnceLock<Environment> = OnceLock::new();
    READ.get_or_init(Environment::read)
}
