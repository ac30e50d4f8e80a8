//! The command line: clap definitions, and one short function per subcommand. Everything
//! else is the engine's ([`imgtui::Session`], [`imgtui::answers`]).

/// `eprintln!` for people: the line is written with its control characters made visible
/// (line breaks kept), so nothing a file name holds can drive the terminal.
/// A line on stderr, control characters escaped; a stderr that is gone (a reader such as
/// `tee` stopped by the same Ctrl-C) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            imgtui::text::escape_lines(&format!($($arg)*))
        );
    }};
}

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use imgtui::{Error, ErrorKind, Extractor, Store};

use cli::*;

fn main() -> ExitCode {
    let cli = parse();
    let g = &cli.globals;
    let merging = matches!(cli.command, Some(Command::Store(_)));
    let result = match cli.command {
        Some(Command::Index(a)) => run_index(a, g),
        Some(Command::Similar(a)) => run_similar(a, g),
        Some(Command::Search(a)) => run_search(a, g),
        Some(Command::Cluster(a)) => run_cluster(a, g),
        Some(Command::Montage(a)) => run_montage(a, g),
        Some(Command::Export(a)) => run_export(a, g),
        Some(Command::Neighbours(a)) => run_neighbours(a, g),
        Some(Command::Dups(a)) => run_dups(a, g),
        Some(Command::Outliers(a)) => run_outliers(a, g),
        Some(Command::Vectors(a)) => run_vectors(a, g),
        Some(Command::Config) => run_config(g),
        Some(Command::Store(StoreCommand::Merge(a))) => run_merge(a),
        Some(Command::Completions { shell }) => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "imgtui", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man { command }) => run_man(command.as_deref()),
        Some(Command::Doctor) => run_doctor(g),
        None => match cli.dir {
            Some(dir) => run_tui(&dir, g, cli.protocol, cli.view),
            None => Err(Error::bad_request(
                "give a folder of images, e.g. `imgtui ~/Pictures` (see --help)",
            )),
        },
    };
    match result {
        Ok(code) => code,
        // A reader such as `head` that stops early is not an error.
        Err(err) if err.has_io(std::io::ErrorKind::BrokenPipe) => ExitCode::SUCCESS,
        Err(err) => {
            let code = match err.kind() {
                ErrorKind::BadRequest | ErrorKind::MissingInput | ErrorKind::DamagedStore => 2,
                ErrorKind::Interrupted => 130,
                ErrorKind::Failed => 1,
            };
            // `store merge` names its stores itself; `--rebuild-store` does not apply to them.
            let text = if merging {
                imgtui::text::escape_lines(&err.to_string()).into_owned()
            } else {
                // The store's file, named in the message of a damaged store.
                let store = g
                    .settings()
                    .ok()
                    .and_then(|(config, _)| g.store.clone().or_else(|| config.store_path()))
                    .or_else(Store::default_path);
                err.explained(store.as_deref())
            };
            eprintln!("imgtui: {text}");
            ExitCode::from(code)
        }
    }
}

/// The command line, parsed. `--version` also names the built-in model (its feature id, which
/// changes exactly when its vectors would) and the cargo features of this build.
fn parse() -> Cli {
    let command = Cli::command();
    // `args_os`: a name that is not UTF-8 is a path like any other here.
    let asks_version = std::env::args_os()
        .skip(1)
        .any(|a| a == "--version" || a == "-V");
    let command = if asks_version {
        let model = imgtui::OnnxModel::builtin();
        let features: Vec<&str> = imgtui::BUILD_FEATURES.to_vec();
        let version = format!(
            "{}\nbuilt-in model: {} (feature id {})\ncargo features: {}",
            env!("CARGO_PKG_VERSION"),
            model.name(),
            model.id(),
            if features.is_empty() {
                "none".to_owned()
            } else {
                features.join(", ")
            }
        );
        command.version(version)
    } else {
        command
    };
    let parsed = command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    parsed.unwrap_or_else(|e| refuse_arguments(e))
}

/// Ends the process for a command line clap refused (or `--help`, `--version`). Its messages
/// quote what was typed, file names from a shell glob included: they are written without
/// colour and with control characters escaped, like every other line for a person.
fn refuse_arguments(e: clap::Error) -> ! {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = e.render().to_string();
    eprint!("{}", imgtui::text::escape_lines(&text));
    std::process::exit(e.exit_code())
}
