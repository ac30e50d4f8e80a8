//! The explorer's start, `config`, `doctor` and `man`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use imgtui::config::{Config, ProtocolSetting, ViewSetting};
use imgtui::error::Result;
use imgtui::{Error, Store};

use super::*;

/// `imgtui man [COMMAND]`: the page of imgtui, or of one subcommand (named `imgtui-COMMAND`,
/// as the main page refers to it).
pub(crate) fn run_man(command: Option<&str>) -> Result<ExitCode> {
    let cli = Cli::command();
    let page = match command {
        None => cli,
        Some(name) => {
            let sub = cli.find_subcommand(name).ok_or_else(|| {
                let names: Vec<_> = cli.get_subcommands().map(|c| c.get_name()).collect();
                Error::bad_request(format_args!(
                    "no command {name}: the commands are {}",
                    names.join(", ")
                ))
            })?;
            sub.clone().name(format!("imgtui-{name}"))
        }
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_doctor(g: &Globals) -> Result<ExitCode> {
    let (config, _) = g.settings()?;
    let cell = config.explore.cell_size.0;
    let report = imgtui::tui::terminal::doctor(std::time::Duration::from_secs(2), cell)
        .map_err(|e| Error::bad_request(format_args!("{e:#}")))?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_tui(
    dir: &Path,
    g: &Globals,
    protocol: Option<ProtocolSetting>,
    view: Option<ViewSetting>,
) -> Result<ExitCode> {
    let session = g.open(dir)?;
    let protocol = protocol.unwrap_or(session.config().explore.protocol);
    let view = view.unwrap_or(session.config().explore.view);
    let cancel = cancel_on_signals()?;
    imgtui::tui::run(session, protocol, view, cancel)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_config(g: &Globals) -> Result<ExitCode> {
    let (config, mut sources) = g.settings()?;
    if let Some(store) = &g.store {
        sources.set_flag("store", &store.to_string_lossy(), "--store");
    } else if config.store_path().is_none()
        && let Some(store) = Store::default_path()
    {
        // The empty default means the user's cache folder: say which file that is.
        let origin = "default: the user's cache folder";
        sources.set_flag("store", &store.to_string_lossy(), origin);
    }
    match (&g.model, &g.features) {
        (Some(m), _) => sources.set_flag("features", &format!("model:{m}"), "--model"),
        (None, Some(f)) => sources.set_flag("features", f, "--features"),
        (None, None) => {}
    }
    if let Some(runtime) = &g.runtime {
        sources.set_flag("runtime", runtime, "--runtime");
    }
    let file = match &g.config_file {
        Some(f) => format!("{} (--config)", imgtui::text::shown(f)),
        None => match Config::user_file() {
            Some(f) if f.is_file() => imgtui::text::shown(&f).to_string(),
            Some(f) => format!("none ({} does not exist)", imgtui::text::shown(&f)),
            None => "none".to_owned(),
        },
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "# imgtui's effective settings. Settings file: {file}")?;
    writeln!(
        out,
        "# Precedence: flag > settings file > default (config/default.toml).\n"
    )?;
    write!(out, "{}", sources.render())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
