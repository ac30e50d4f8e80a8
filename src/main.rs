//! The command line: clap definitions, and one short function per subcommand. Everything
//! else is the engine's ([`imgtui::Session`], [`imgtui::answers`]).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::builder::TypedValueParser;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use imgtui::ErrorKind::BadRequest;
use imgtui::analysis::clustering::{Clustering, KChoice, MapMethod, Method, check_eps};
use imgtui::analysis::curation::Edit;
use imgtui::analysis::saved::{Origin, Wanted};
use imgtui::analysis::{duplicates, neighbours, outliers};
use imgtui::answers::{self, Answer};
use imgtui::config::{Config, ProtocolSetting};
use imgtui::dedupe::{Acted, Action, Outcome, Report, Status};
use imgtui::error::Result;
use imgtui::export::{Mode, folder_name};
use imgtui::montage::{MontageOptions, check_thumb, write_montage};
use imgtui::{Collection, Error, ErrorKind, Extractor, Progress, Session, Store, Summary};
use indicatif::{ProgressBar, ProgressStyle};

/// `eprintln!` for people: the line is written with its control characters made visible
/// (line breaks kept), so nothing a file name holds can drive the terminal.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", imgtui::text::escape_lines(&format!($($arg)*)))
    };
}

#[derive(Parser)]
#[command(
    name = "imgtui",
    version,
    about = "Explore a folder of images by visual similarity"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Folder of images to explore in the terminal.
    dir: Option<PathBuf>,
    /// How the explorer draws images: auto (ask the terminal), kitty, sixel, iterm2, halfblocks
    /// [default: from the settings, auto].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(imgtui::config::PROTOCOLS)
        .try_map(|s| ProtocolSetting::parse(&s)))]
    protocol: Option<ProtocolSetting>,
    #[command(flatten)]
    globals: Globals,
}

/// Options every command takes.
#[derive(clap::Args)]
struct Globals {
    /// Feature store file [default: store.sqlite in the user's cache folder].
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
    /// What vectors to compare: model:efficientnet-lite0, hog, pixels or color
    /// [default: from the configuration, model:efficientnet-lite0]. Each is stored apart.
    #[arg(long, global = true, value_name = "NAME")]
    features: Option<String>,
    /// Shorthand for --features model:NAME|PATH.toml: an ONNX model described by a spec
    /// (see config/models/).
    #[arg(
        long,
        global = true,
        value_name = "NAME|SPEC",
        conflicts_with = "features"
    )]
    model: Option<String>,
    /// What runs the model: tract (built in) or onnxruntime (a build with the `ort` feature and
    /// a libonnxruntime on this machine) [default: from the configuration, tract].
    #[arg(long, global = true, value_name = "RUNTIME", value_parser = clap::builder::PossibleValuesParser::new(imgtui::features::RUNTIMES))]
    runtime: Option<String>,
    /// Settings file to use instead of the user's (~/.config/imgtui/config.toml).
    #[arg(long = "config", global = true, value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Move a damaged feature store aside (kept as <store>.damaged-<time>) and start afresh.
    #[arg(long, global = true)]
    rebuild_store: bool,
}

impl Globals {
    /// The defaults, overlaid with the user's file (or `--config`); flags are applied
    /// where each is used.
    fn settings(&self) -> Result<(Config, imgtui::config::Sources)> {
        Config::load(self.config_file.as_deref()).map_err(|e| Error::with_kind(BadRequest, e))
    }

    /// The feature extractor asked for (flag, else configuration).
    fn extractor(&self, config: &Config) -> Result<Arc<dyn Extractor>> {
        let name = match (&self.model, &self.features) {
            (Some(model), _) => format!("model:{model}"),
            (None, Some(features)) => features.clone(),
            (None, None) => config.features.clone(),
        };
        let runtime = match &self.runtime {
            Some(r) => r.parse().map_err(Error::bad_request)?,
            None => config
                .runtime()
                .map_err(|e| Error::with_kind(BadRequest, e))?,
        };
        let extractor = imgtui::features::select(&name, runtime)
            .map_err(|e| Error::with_kind(BadRequest, e))?;
        Ok(extractor.into())
    }

    /// The store file: `--store`, else the settings', else the user's cache folder. With
    /// `--rebuild-store`, a store already there is moved aside first.
    fn store(&self, config: &Config) -> Result<PathBuf> {
        let path = self
            .store
            .clone()
            .or_else(|| config.store_path())
            .or_else(Store::default_path)
            .ok_or_else(|| {
                Error::bad_request("no cache folder for the store: pass --store PATH")
            })?;
        if self.rebuild_store
            && let Some(aside) = Store::set_aside(&path)?
        {
            say!(
                "imgtui: moved the old store aside to {}; starting afresh",
                imgtui::text::shown(&aside)
            );
        }
        Ok(path)
    }

    /// The session for `dir`: settings, extractor and store as the flags say.
    fn open(&self, dir: &Path) -> Result<Session> {
        let (config, _) = self.settings()?;
        let extractor = self.extractor(&config)?;
        let store = self.store(&config)?;
        Session::open(dir, &store, config, extractor)
    }

    /// The session for `dir`, its index brought up to date (a progress bar on a terminal);
    /// `tune` adjusts the settings' indexing options.
    fn indexed(
        &self,
        dir: &Path,
        tune: impl FnOnce(&Session) -> Result<imgtui::IndexOptions>,
    ) -> Result<(Session, Summary)> {
        let mut session = self.open(dir)?;
        let opts = tune(&session)?;
        let cancel = cancel_on_signals()?;
        let bar = progress_bar();
        let summary = session.update_index_with(&opts, &bar.callback(), &cancel)?;
        bar.0.finish_and_clear();
        Ok((session, summary))
    }

    /// [`Globals::indexed`] for commands that go on to answer: an interrupted run is an error.
    fn ready(&self, dir: &Path) -> Result<Session> {
        let (session, summary) = self.indexed(dir, |s| Ok(s.index_options()))?;
        if summary.interrupted {
            return Err(Error::interrupted());
        }
        Ok(session)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Embed every image under DIR into the feature store (only what changed since last time).
    Index(IndexArgs),
    /// The images most like IMAGE (which may be outside the collection), with cosine distances.
    Similar(SimilarArgs),
    /// Clusters the images under DIR: each image's cluster, the clusters' sizes and names,
    /// and the k sweep. The clustering is saved and reused until a flag changes it.
    Cluster(ClusterArgs),
    /// A contact sheet (PNG grid with file names) of one cluster, or of every cluster.
    Montage(MontageArgs),
    /// Copies (or links) a cluster's images into a folder; never overwrites.
    Export(ExportArgs),
    /// The N nearest neighbours of every image under DIR (the kNN graph).
    Neighbours(NeighboursArgs),
    /// Prints the effective settings and where each comes from (default, file or flag).
    Config,
    /// Works on feature store files: `store merge OUT IN...` joins stores made on several
    /// machines (see `index --shard`).
    #[command(subcommand)]
    Store(StoreCommand),
    /// Groups of exact and near-duplicate images under DIR, largest first, each with the file
    /// to keep; with --action, moves or trashes the others (journalled; --undo puts them back).
    Dups(DupsArgs),
    /// The images under DIR least like any other, most odd first (mean cosine distance to
    /// their 10 nearest neighbours).
    Outliers(OutliersArgs),
    /// Prints a shell completion script, e.g. `imgtui completions bash > ~/.local/share/bash-completion/completions/imgtui`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff), e.g. `imgtui man > imgtui.1 && man ./imgtui.1`; with a
    /// subcommand, that command's page (`imgtui man cluster > imgtui-cluster.1`).
    Man {
        /// The subcommand whose page to print.
        command: Option<String>,
    },
    /// Asks the terminal what the explorer asks (graphics, cell size) and prints every answer
    /// and what the explorer would draw, for bug reports.
    Doctor,
}

#[derive(clap::Args)]
struct IndexArgs {
    dir: PathBuf,
    /// Print the summary as one JSON object on stdout, skipped files included.
    #[arg(long)]
    json: bool,
    /// Worker threads [default: one per CPU core, plus one].
    #[arg(long)]
    threads: Option<usize>,
    /// Files written per transaction; a crash loses at most one batch.
    #[arg(long, hide = true)]
    batch: Option<usize>,
    /// Store no thumbnails of new images in this run [default: from the settings,
    /// index.thumbnails = true].
    #[arg(long)]
    no_thumbnails: bool,
    /// Keep watching DIR after indexing: every change (images added, changed, renamed,
    /// deleted) is indexed and reported on one line (one JSON summary with --json), until
    /// Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// Take only shard I of N (e.g. 2/3): the files whose path relative to DIR hashes into
    /// it, so N machines can index one folder between them, each into its own store, and
    /// `imgtui store merge` joins the stores. Files of other shards are left alone.
    #[arg(long, value_name = "I/N", conflicts_with = "watch")]
    shard: Option<String>,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Merges the stores IN... into OUT (created if missing): vectors, thumbnails and the
    /// files each store recorded. Saved clusterings, their edits and the dups journal are one
    /// machine's state and are not merged. A vector stored differently under one key is
    /// reported and OUT's kept; a file recorded with a different size, mtime or hash is
    /// reported and the newer record kept.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The store merged into (created if missing). `--store` is not used.
    out: PathBuf,
    /// The stores to merge in, in order.
    #[arg(required = true, value_name = "IN")]
    inputs: Vec<PathBuf>,
    /// Print the report as JSON (or its conflicts as CSV) on stdout instead of a summary
    /// line and the conflicts on stderr.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

#[derive(clap::Args)]
struct SimilarArgs {
    image: PathBuf,
    /// The collection to search [default: IMAGE's folder, if it was indexed before; it is
    /// named on stderr].
    #[arg(long = "in", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// How many neighbours.
    #[arg(long, default_value_t = 10, conflicts_with = "radius",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    n: usize,
    /// Every image within this cosine distance (0..2) instead of the N closest.
    #[arg(long, allow_negative_numbers = true)]
    radius: Option<f32>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct ClusterArgs {
    dir: PathBuf,
    #[arg(long, value_parser = clap::value_parser!(Method))]
    method: Option<Method>,
    /// Number of clusters, or `auto` to choose it from the k sweep [default: auto].
    #[arg(long, value_parser = clap::value_parser!(KChoice))]
    k: Option<KChoice>,
    /// DBSCAN radius in cosine distance [default: the knee of the k-distance curve].
    #[arg(long)]
    eps: Option<f32>,
    /// How the 2-D map (x, y) is made: umap (neighbours stay neighbours), pca (fastest; far
    /// images can land together) or tsne (slow) [default: from the configuration, umap].
    #[arg(long, value_parser = clap::value_parser!(MapMethod))]
    map: Option<MapMethod>,
    /// Seed of the random choices [default: from the configuration, 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Fit again even if the saved clustering matches.
    #[arg(long)]
    recluster: bool,
    /// Name cluster C (its number as shown) TEXT instead of its generated name.
    #[arg(long = "name", value_name = "C=TEXT", group = "edit")]
    rename: Option<String>,
    /// Merge cluster A into cluster B.
    #[arg(long, value_name = "A,B", group = "edit")]
    merge: Option<String>,
    /// Split cluster C into K clusters (K chosen by the k sweep inside C when left out).
    #[arg(long, value_name = "C[:K]", group = "edit")]
    split: Option<String>,
    /// Move the image at PATH into cluster C, or into a new cluster (`PATH=new`).
    #[arg(long = "move", value_name = "PATH=C", group = "edit")]
    move_to: Option<String>,
    /// Undo the last edit (name, merge, split, move) of the saved clustering.
    #[arg(long, group = "edit")]
    undo: bool,
    /// Redo the last undone edit.
    #[arg(long, group = "edit")]
    redo: bool,
    /// With CSV, which table to print (JSON has all three).
    #[arg(long, value_enum, default_value_t = Table::Images)]
    table: Table,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct MontageArgs {
    dir: PathBuf,
    /// Cluster number as `cluster` lists it [default: every cluster, one sheet each].
    #[arg(long)]
    cluster: Option<usize>,
    /// Output file (.png) for one cluster, or folder for all [default:
    /// ./imgtui-montage/NN-name.png]; never inside DIR unless --inside.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Allow the output inside DIR (the sheet then joins the collection).
    #[arg(long)]
    inside: bool,
    /// Thumbnail size in pixels.
    #[arg(long, default_value_t = 160)]
    size: u32,
    /// At most this many images per sheet, those nearest the cluster's centre first.
    #[arg(long, default_value_t = 400)]
    max: usize,
}

#[derive(clap::Args)]
struct ExportArgs {
    dir: PathBuf,
    /// Cluster number as `cluster` lists it.
    #[arg(long)]
    cluster: usize,
    /// Target folder [default: ./imgtui-export/NN-name].
    #[arg(long)]
    to: Option<PathBuf>,
    #[arg(long, default_value = "copy", value_parser = clap::value_parser!(Mode))]
    mode: Mode,
    /// Add to a target folder that already has files (names taken get a suffix).
    #[arg(long)]
    merge: bool,
    /// Allow a target folder inside DIR (the copies then join the collection).
    #[arg(long)]
    inside: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct NeighboursArgs {
    dir: PathBuf,
    /// Neighbours per image.
    #[arg(long, default_value_t = 5,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    n: usize,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct DupsArgs {
    dir: PathBuf,
    /// Cosine similarity (0..1) at or above which two images are near-duplicates
    /// [default: from the settings, 0.95].
    #[arg(long)]
    threshold: Option<f32>,
    /// Which file of each group to keep: largest (pixels, then bytes), newest, oldest,
    /// shortest-path or path:FOLDER, several joined by commas as tie-breakers
    /// [default: from the settings, largest,oldest].
    #[arg(long, value_name = "RULES")]
    keep: Option<String>,
    /// What to do with the other files: report, move:FOLDER (outside DIR, keeping their
    /// paths relative to DIR; never overwrites) or trash.
    #[arg(long, default_value = "report", value_name = "ACTION")]
    action: String,
    /// List what the action would do, and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Put back the files of the last move or trash in DIR.
    #[arg(long, conflicts_with_all = ["action", "dry_run", "keep"])]
    undo: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
struct OutliersArgs {
    dir: PathBuf,
    /// How many images to list, most odd first.
    #[arg(long, default_value_t = 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    n: usize,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// How a headless command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum Format {
    #[default]
    Json,
    Csv,
}

/// The tables `cluster` can print as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Table {
    Images,
    Clusters,
    Sweep,
}

fn main() -> ExitCode {
    let cli = parse();
    let g = &cli.globals;
    let merging = matches!(cli.command, Some(Command::Store(_)));
    let result = match cli.command {
        Some(Command::Index(a)) => run_index(a, g),
        Some(Command::Similar(a)) => run_similar(a, g),
        Some(Command::Cluster(a)) => run_cluster(a, g),
        Some(Command::Montage(a)) => run_montage(a, g),
        Some(Command::Export(a)) => run_export(a, g),
        Some(Command::Neighbours(a)) => run_neighbours(a, g),
        Some(Command::Dups(a)) => run_dups(a, g),
        Some(Command::Outliers(a)) => run_outliers(a, g),
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
            Some(dir) => run_tui(&dir, g, cli.protocol),
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

/// `imgtui man [COMMAND]`: the page of imgtui, or of one subcommand (named `imgtui-COMMAND`,
/// as the main page refers to it).
fn run_man(command: Option<&str>) -> Result<ExitCode> {
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

/// Prints `answer` on stdout as JSON or as the CSV `table`. CSV keeps names exact (quoted)
/// for a program reading it; when stdout is a terminal a person reads it, and its control
/// characters are shown escaped instead (JSON escapes them itself).
fn print(answer: &impl Answer, format: Format, table: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => answer.write_json(&mut out)?,
        Format::Csv if out.is_terminal() => {
            let mut csv = Vec::new();
            answer.write_csv(table, &mut csv)?;
            let text = String::from_utf8_lossy(&csv);
            out.write_all(imgtui::text::escape_lines(&text).as_bytes())?;
        }
        Format::Csv => answer.write_csv(table, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn run_doctor(g: &Globals) -> Result<ExitCode> {
    let (config, _) = g.settings()?;
    let cell = config.explore.cell_size.0;
    let report = imgtui::tui::terminal::doctor(std::time::Duration::from_secs(2), cell)
        .map_err(|e| Error::bad_request(format_args!("{e:#}")))?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn run_tui(dir: &Path, g: &Globals, protocol: Option<ProtocolSetting>) -> Result<ExitCode> {
    let session = g.open(dir)?;
    let protocol = protocol.unwrap_or(session.config().explore.protocol);
    let cancel = cancel_on_signals()?;
    imgtui::tui::run(session, protocol, cancel)?;
    Ok(ExitCode::SUCCESS)
}

fn run_config(g: &Globals) -> Result<ExitCode> {
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

/// `index`'s `--threads` and `--shard`, checked: called before the store is opened, so a bad
/// value leaves no store file behind.
fn checked_index_args(a: &IndexArgs) -> Result<Option<(u32, u32)>> {
    if let Some(t) = a.threads {
        imgtui::index::check_threads(t)
            .map_err(|rule| Error::bad_request(format_args!("--threads {t}: {rule}")))?;
    }
    a.shard
        .as_deref()
        .map(|shard| {
            imgtui::index::parse_shard(shard)
                .map_err(|rule| Error::bad_request(format_args!("--shard {shard}: {rule}")))
        })
        .transpose()
}

/// The session's indexing settings with `index`'s `--threads`, `--batch`,
/// `--no-thumbnails` and `shard` (from [`checked_index_args`]) applied.
fn tuned(session: &Session, a: &IndexArgs, shard: Option<(u32, u32)>) -> imgtui::IndexOptions {
    let mut opts = session.index_options();
    opts.threads = a.threads.unwrap_or(opts.threads);
    opts.batch = a.batch.unwrap_or(opts.batch).max(1);
    opts.thumbnails &= !a.no_thumbnails;
    if shard.is_some() {
        opts.shard = shard;
    }
    opts
}

fn run_index(a: IndexArgs, g: &Globals) -> Result<ExitCode> {
    let shard = checked_index_args(&a)?;
    if a.watch {
        return run_index_watch(a, g);
    }
    let (session, summary) = g.indexed(&a.dir, |s| Ok(tuned(s, &a, shard)))?;
    if let Some(runtime) = session.extractor().runtime().filter(|r| r != "tract") {
        say!("imgtui: {} run by {runtime}", session.extractor().name());
    }
    if a.json {
        print(&summary, Format::Json, "")?;
    } else {
        for s in &summary.skipped {
            say!("skipped {}: {}", imgtui::text::shown(&s.path), s.reason);
        }
    }
    say!("{summary}");
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// `index --watch`: index, then index again whenever the folder changes, one line (or JSON
/// summary) per change, until Ctrl-C.
fn run_index_watch(a: IndexArgs, g: &Globals) -> Result<ExitCode> {
    use imgtui::watch::FolderWatch;
    let mut session = g.open(&a.dir)?;
    let opts = tuned(&session, &a, None);
    let cancel = cancel_on_signals()?;
    // Watched from before the first run, so nothing added meanwhile is missed.
    let options = session
        .config()
        .watch_options(std::time::Duration::from_millis(800));
    let watch = FolderWatch::start(session.root(), &options);
    say!(
        "imgtui: {} {} (Ctrl-C stops)",
        watch.mode(),
        imgtui::text::shown(session.root())
    );
    let mut first = true;
    // Files already reported as skipped are not listed again with every change.
    let mut told = std::collections::HashSet::new();
    // The files skipped last time: a bad file added or removed is a change worth a line.
    let mut skipped_before = std::collections::HashSet::new();
    while !cancel.load(Ordering::SeqCst) {
        if !first && !watch.wait(std::time::Duration::from_millis(250)) {
            continue;
        }
        let summary = session.update_index_with(&opts, &|_| {}, &cancel)?;
        let skipped_now: std::collections::HashSet<_> =
            summary.skipped.iter().map(|s| s.path.clone()).collect();
        let skips_changed = skipped_now != skipped_before;
        if !summary.interrupted {
            skipped_before = skipped_now;
        }
        if first || summary.changed_collection() || skips_changed || summary.interrupted {
            if a.json {
                print(&summary, Format::Json, "")?;
            } else {
                for s in &summary.skipped {
                    if told.insert((s.path.clone(), s.reason.clone())) {
                        say!("skipped {}: {}", imgtui::text::shown(&s.path), s.reason);
                    }
                }
                println!("{summary}");
            }
        }
        first = false;
        // A signal in the middle of a pass ends watching as one between passes does (exit 0,
        // docs/reference.md, exit codes); what the pass embedded is kept.
        if summary.interrupted {
            break;
        }
    }
    say!("imgtui: stopped watching");
    Ok(ExitCode::SUCCESS)
}

/// `store merge OUT IN...`: the inputs merged into OUT, a summary line (or the answer as
/// JSON or CSV).
fn run_merge(a: MergeArgs) -> Result<ExitCode> {
    let report = Store::merge_into(&a.out, &a.inputs)?;
    match a.format {
        Some(format) => {
            print(&report, format, "conflicts")?;
        }
        None => {
            for v in &report.vector_conflicts {
                say!(
                    "vector differs: {} ({}) in {}; kept {}'s",
                    v.hash,
                    v.feature,
                    imgtui::text::shown(&v.input),
                    imgtui::text::shown(&a.out)
                );
            }
            for f in &report.file_conflicts {
                let kept = if f.kept_input {
                    "its record, the newer"
                } else {
                    "the newer record already merged"
                };
                say!(
                    "stat differs: {} in {}; kept {kept}",
                    imgtui::text::shown(&f.path),
                    imgtui::text::shown(&f.input),
                );
            }
        }
    }
    say!("{report}");
    Ok(ExitCode::SUCCESS)
}

fn run_similar(a: SimilarArgs, g: &Globals) -> Result<ExitCode> {
    let select = match a.radius {
        Some(r) => neighbours::Select::within(r)
            .map_err(|rule| Error::bad_request(format_args!("--radius {r}: {rule}")))?,
        None => neighbours::Select::Nearest(a.n),
    };
    let image = &a.image;
    let missing = |e: std::io::Error| {
        Error::with_kind(
            ErrorKind::MissingInput,
            anyhow::anyhow!("{}: {e}", imgtui::text::shown(image)),
        )
    };
    let bytes = std::fs::read(image).map_err(missing)?;
    let image = std::fs::canonicalize(image).map_err(missing)?;
    let dir = match a.dir {
        Some(dir) => dir,
        None => {
            // IMAGE's folder, but only one indexed before: indexing a folder (exports,
            // montages, screenshots and all) is for --in or `imgtui index` to ask for.
            let dir = image.parent().map(Path::to_owned).unwrap_or_default();
            if !g.open(&dir)?.was_indexed()? {
                return Err(Error::bad_request(format_args!(
                    "{} (the image's folder) is not indexed yet; name the collection to search \
                     with --in DIR (it is indexed first), or run `imgtui index DIR`",
                    imgtui::text::shown(&dir)
                )));
            }
            say!(
                "imgtui: searching {}, the image's folder (--in DIR searches another)",
                imgtui::text::shown(&dir)
            );
            dir
        }
    };
    let session = g.ready(&dir)?;
    let c = session.images()?;
    let own_row = c.paths.iter().position(|p| *p == image);
    let query = match own_row {
        Some(i) => c.row(i).to_vec(),
        None => session
            .embed(&bytes)
            .map_err(|e| e.context(imgtui::text::shown(&image).to_string()))?,
    };
    let found = neighbours::query(&c, &query, select, own_row);
    let answer = answers::Similar::new(image, own_row.is_some(), &c, &found);
    print(&answer, a.format, "")
}

fn run_cluster(a: ClusterArgs, g: &Globals) -> Result<ExitCode> {
    if let Some(e) = a.eps {
        check_eps(e).map_err(|rule| Error::bad_request(format_args!("--eps {e}: {rule}")))?;
    }
    let wanted = Wanted {
        method: a.method,
        k: a.k,
        eps: a.eps,
        seed: a.seed,
        map: a.map,
        recluster: a.recluster,
    };
    let mut session = g.ready(&a.dir)?;
    let c = session.images()?;
    let (mut clustering, origin, mut notes) = session.clustering(&c, &wanted)?;
    // An edit is checked before anything is said, so a bad one is the only line on stderr.
    if a.undo || a.redo {
        let done = match a.undo {
            true => session.undo(&c)?,
            false => session.redo(&c)?,
        };
        match done {
            Some((edited, what)) => {
                clustering = edited;
                notes.push(what);
            }
            None if a.undo => notes.push("nothing to undo".to_owned()),
            None => notes.push("nothing to redo".to_owned()),
        }
    } else if let Some(edit) = edit_of(&a, &clustering, &c)? {
        let (edited, more) = session.edit(&c, edit)?;
        clustering = edited;
        notes.extend(more);
    }
    say!("{}", answers::about(&clustering, origin));
    notes.iter().for_each(|n| say!("{n}"));
    let answer = answers::Clusters::new(session.root(), session.feature(), &c, &clustering, origin);
    let table = match a.table {
        Table::Images => "images",
        Table::Clusters => "clusters",
        Table::Sweep => "sweep",
    };
    print(&answer, a.format, table)
}

/// The edit that `--name`, `--merge`, `--split` or `--move` asks of `clustering` of `c`, if any.
/// A cluster number that is not shown, a malformed value or a path that is not an image of
/// the folder is a bad request.
fn edit_of(a: &ClusterArgs, clustering: &Clustering, c: &Collection) -> Result<Option<Edit>> {
    let number = |flag: &str, text: &str| -> Result<usize> {
        let n: usize = text.trim().parse().map_err(|_| {
            Error::bad_request(format_args!(
                "{flag}: expected a cluster number, got {text:?}"
            ))
        })?;
        clustering
            .index_of(n)
            .map_err(|e| Error::bad_request(format_args!("{flag}: {e}")))
    };
    if let Some(v) = &a.rename {
        let Some((n, text)) = v.split_once('=') else {
            return Err(Error::bad_request(format_args!(
                "--name {v}: expected C=TEXT, e.g. --name 3=spirals"
            )));
        };
        let cluster = number("--name", n)?;
        return Ok(Some(Edit::Name {
            cluster,
            name: text.to_owned(),
        }));
    }
    if let Some(v) = &a.merge {
        let Some((from, into)) = v.split_once(',') else {
            return Err(Error::bad_request(format_args!(
                "--merge {v}: expected A,B (cluster A into cluster B)"
            )));
        };
        let (from, into) = (number("--merge", from)?, number("--merge", into)?);
        return Ok(Some(Edit::Merge { from, into }));
    }
    if let Some(v) = &a.split {
        let (n, k) = match v.split_once(':') {
            // `C:` alone: k chosen inside the cluster, as without the colon.
            Some((n, k)) if k.trim().is_empty() => (n, None),
            Some((n, k)) => {
                let k = k.trim().parse().map_err(|_| {
                    Error::bad_request(format_args!(
                        "--split {v}: expected C:K, K a number of parts"
                    ))
                })?;
                (n, Some(k))
            }
            None => (v.as_str(), None),
        };
        let cluster = number("--split", n)?;
        return Ok(Some(Edit::Split { cluster, k }));
    }
    if let Some(v) = &a.move_to {
        let Some((path, to)) = v.rsplit_once('=') else {
            return Err(Error::bad_request(format_args!(
                "--move {v}: expected PATH=C, C a cluster number or `new`"
            )));
        };
        let to = match to.trim() {
            "new" => None,
            n => Some(number("--move", n)?),
        };
        let full = std::fs::canonicalize(path)
            .map_err(|e| Error::bad_request(format_args!("--move {path}: {e}")))?;
        let row = c.paths.iter().position(|p| *p == full).ok_or_else(|| {
            Error::bad_request(format_args!("--move {path}: not an image of this folder"))
        })?;
        return Ok(Some(Edit::Move {
            images: vec![c.hashes[row]],
            to,
        }));
    }
    Ok(None)
}

/// The files of cluster `number` (of every cluster for `None`) for montage and export, saying
/// on stderr when the clustering had to be fitted first.
fn cluster_files(
    session: &mut Session,
    number: Option<usize>,
) -> Result<imgtui::session::ClusterFiles> {
    let files = session.cluster_files(number)?;
    if files.origin == Origin::Fitted {
        say!("{}", answers::about(&files.clustering, files.origin));
    }
    Ok(files)
}

/// Refuses `target` inside the collection at `root` unless `--inside` (`inside`) allows it.
fn outside_unless(inside: bool, target: &Path, root: &Path) -> Result<()> {
    if inside {
        return Ok(());
    }
    imgtui::export::check_outside(target, root)
        .map_err(|e| Error::bad_request(format_args!("{e:#}; --inside allows it")))
}

fn run_montage(a: MontageArgs, g: &Globals) -> Result<ExitCode> {
    let MontageArgs {
        dir,
        cluster,
        out,
        inside,
        size,
        max,
    } = a;
    check_thumb(size).map_err(|rule| Error::bad_request(format_args!("--size {size}: {rule}")))?;
    if let (Some(o), Some(_)) = (&out, cluster)
        && !o.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        return Err(Error::bad_request(format_args!(
            "-o {}: a montage is a PNG; name the file .png",
            imgtui::text::shown(o)
        )));
    }
    let mut session = g.ready(&dir)?;
    let files = cluster_files(&mut session, cluster)?;
    let target = out
        .clone()
        .unwrap_or_else(|| PathBuf::from("imgtui-montage"));
    outside_unless(inside, &target, session.root())?;
    let opts = MontageOptions {
        thumb: size,
        decode: session.decode_options().clone(),
        ..Default::default()
    };
    let folder = match (&out, cluster) {
        (Some(o), None) => o.clone(),
        _ => PathBuf::from("imgtui-montage"),
    };
    for (index, mut paths) in files.clusters {
        paths.truncate(max.max(1));
        let cl = &files.clustering.clusters[index];
        let file = match (&out, cluster) {
            (Some(o), Some(_)) => o.clone(),
            _ => {
                std::fs::create_dir_all(&folder)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", imgtui::text::shown(&folder)))?;
                folder.join(format!("{}.png", folder_name(cl.number, &cl.name)))
            }
        };
        write_montage(&paths, &file, &opts).map_err(|e| Error::with_kind(BadRequest, e))?;
        println!("{}", imgtui::text::shown(&file));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(a: ExportArgs, g: &Globals) -> Result<ExitCode> {
    let ExportArgs {
        dir,
        cluster,
        to,
        mode,
        merge,
        inside,
        json,
    } = a;
    let mut session = g.ready(&dir)?;
    let files = cluster_files(&mut session, Some(cluster))?;
    let (index, paths) = &files.clusters[0];
    let name = &files.clustering.clusters[*index].name;
    let target =
        to.unwrap_or_else(|| PathBuf::from("imgtui-export").join(folder_name(cluster, name)));
    outside_unless(inside, &target, session.root())?;
    let report = imgtui::export::export(paths, &target, mode, merge)?;
    if json {
        print(&answers::Exported::from(&report), Format::Json, "")?;
    }
    for (p, e) in &report.failed {
        say!("not exported {}: {e}", imgtui::text::shown(p));
    }
    let verb = match mode {
        Mode::Copy => "copied",
        Mode::Symlink | Mode::Hardlink => "linked",
    };
    let already = match report.already_there {
        0 => String::new(),
        n => format!(" ({n} already there)"),
    };
    say!(
        "{} files {verb} to {}{already}",
        report.written,
        imgtui::text::shown(&report.target)
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run_neighbours(a: NeighboursArgs, g: &Globals) -> Result<ExitCode> {
    let session = g.ready(&a.dir)?;
    let c = session.images()?;
    let graph = neighbours::knn_graph(&c, a.n);
    print(&answers::Neighbours::new(&c, &graph), a.format, "")
}

fn run_dups(a: DupsArgs, g: &Globals) -> Result<ExitCode> {
    if let Some(t) = a.threshold {
        duplicates::check_threshold(t)
            .map_err(|rule| Error::bad_request(format_args!("--threshold {t}: {rule}")))?;
    }
    let action: Action = a
        .action
        .parse()
        .map_err(|e: String| Error::bad_request(format_args!("--action {}: {e}", a.action)))?;
    if a.undo {
        let mut session = g.open(&a.dir)?;
        let report = session.dedupe_undo()?;
        if report.batch.is_none() {
            say!(
                "imgtui: nothing to undo in {}",
                imgtui::text::shown(session.root())
            );
        }
        return finish_actions(&report, a.format);
    }
    let mut session = g.ready(&a.dir)?;
    let rules = session.keep_rules(a.keep.as_deref())?;
    let action = action.checked(session.root())?;
    let threshold = a.threshold.unwrap_or(session.config().duplicates.threshold);
    let c = session.images()?;
    let (plan, unreadable) = session.dedupe_plan(&c, threshold, &rules, &action);
    for (p, e) in &unreadable {
        say!("left out {}: {e}", imgtui::text::shown(p));
    }
    if action == Action::Report {
        return print(&answers::Duplicates::new(&plan), a.format, "");
    }
    if a.dry_run {
        return finish_actions(&plan.dry_run(), a.format);
    }
    let cancel = cancel_on_signals()?;
    let on_terminal = std::io::stderr().is_terminal();
    let report = session.dedupe_execute(&plan, &cancel, &|o| {
        if on_terminal || matches!(o.status, Status::Left(_)) {
            say!("{}", file_line(&report_verb(&plan.action), o));
        }
    })?;
    if cancel.load(Ordering::SeqCst) {
        finish_actions(&report, a.format)?;
        return Ok(ExitCode::from(130));
    }
    finish_actions(&report, a.format)
}

/// `moved`, `trashed`: what an action does to a file, for the per-file lines.
fn report_verb(action: &Action) -> String {
    match action {
        Action::Move(_) => "moved".into(),
        Action::Trash => "trashed".into(),
        Action::Report => "kept".into(),
    }
}

/// The line for one file: `moved a.png -> /out/a.png`, `left b.png: …`.
fn file_line(verb: &str, o: &Outcome) -> String {
    let to =
        o.to.as_ref()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or(String::new(), |p| format!(" -> {}", imgtui::text::shown(p)));
    match &o.status {
        Status::Done => format!("{verb} {}{to}", imgtui::text::shown(&o.from)),
        Status::Planned => format!("would be {verb}: {}{to}", imgtui::text::shown(&o.from)),
        Status::Left(why) => format!("left {}: {why}", imgtui::text::shown(&o.from)),
    }
}

/// Prints a report: the dry run's lines on stderr, the summary on stderr, and the answer on
/// stdout. Exit code 1 when some files were left in place.
fn finish_actions(report: &Report, format: Format) -> Result<ExitCode> {
    let verb = match report.action {
        Acted::Move => "moved",
        Acted::Trash => "trashed",
        Acted::Report | Acted::Undo => "put back",
    };
    let undo = report.action == Acted::Undo;
    if report.dry_run || undo {
        for o in &report.outcomes {
            say!("{}", file_line(verb, o));
        }
    }
    print(&answers::Actions::from(report), format, "")?;
    let (files, bytes) = if report.dry_run {
        (report.outcomes.len(), report.bytes())
    } else {
        (report.done(), report.bytes())
    };
    let would = if report.dry_run { "would be " } else { "" };
    let freed = if undo { "" } else { " freed" };
    let left = match report.left() {
        0 => String::new(),
        n => format!(", {n} left in place"),
    };
    let noun = if files == 1 { "file" } else { "files" };
    say!(
        "{files} {noun} {would}{verb} ({}{freed}){left}",
        imgtui::text::bytes(bytes)
    );
    Ok(if report.left() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_outliers(a: OutliersArgs, g: &Globals) -> Result<ExitCode> {
    let session = g.ready(&a.dir)?;
    let c = session.images()?;
    let k = outliers::OUTLIER_K;
    let ranked = outliers::outliers(&c, k);
    print(&answers::Outliers::new(&c, k, &ranked, a.n), a.format, "")
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
struct Bar(ProgressBar);

impl Bar {
    fn callback(&self) -> impl Fn(Progress) + Sync + '_ {
        move |p| match p {
            Progress::Scanned { to_process, .. } => self.0.set_length(to_process as u64),
            Progress::Processed { done, .. } => self.0.set_position(done as u64),
        }
    }
}

fn progress_bar() -> Bar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {speed} eta {eta}")
            .expect("valid template")
            .with_key(
                "speed",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} images/s", s.per_sec());
                },
            )
            .progress_chars("=> "),
    );
    bar.set_message("embedding");
    Bar(bar)
}

/// A flag raised by Ctrl-C, SIGTERM or SIGHUP: the run stops and keeps what it has done.
/// A second signal exits at once (committed batches are safe either way). The handler is
/// installed once; later calls share its flag.
fn cancel_on_signals() -> Result<Arc<AtomicBool>> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    if let Some(flag) = FLAG.get() {
        return Ok(flag.clone());
    }
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .map_err(anyhow::Error::from)?;
    Ok(FLAG.get_or_init(|| flag).clone())
}
