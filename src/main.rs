//! The command line: clap definitions, and one short function per subcommand. Everything
//! else is the engine's ([`imgtui::Session`], [`imgtui::answers`]).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use imgtui::ErrorKind::BadRequest;
use imgtui::analysis::clustering::{Clustering, KChoice, MapMethod, Method, check_eps, members};
use imgtui::analysis::saved::{Origin, Wanted};
use imgtui::analysis::{duplicates, neighbours};
use imgtui::answers::{self, Answer};
use imgtui::config::Config;
use imgtui::error::Result;
use imgtui::export::{Mode, folder_name};
use imgtui::montage::{MontageOptions, check_thumb, write_montage};
use imgtui::{Error, ErrorKind, Extractor, Progress, Session, Store, Summary};
use indicatif::{ProgressBar, ProgressStyle};

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
    #[arg(long, value_parser = imgtui::config::PROTOCOLS)]
    protocol: Option<String>,
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
        let extractor =
            imgtui::features::select(&name).map_err(|e| Error::with_kind(BadRequest, e))?;
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
            eprintln!(
                "imgtui: moved the old store aside to {}; starting afresh",
                aside.display()
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

    /// The session for `dir`, its index brought up to date (a progress bar on a terminal).
    fn indexed(&self, dir: &Path, tune: IndexTuning) -> Result<(Session, Summary)> {
        let mut session = self.open(dir)?;
        let mut opts = session.index_options();
        opts.threads = tune.threads.unwrap_or(opts.threads);
        opts.batch = tune.batch.unwrap_or(opts.batch).max(1);
        let cancel = cancel_on_signals()?;
        let bar = progress_bar();
        let summary = session.update_index_with(&opts, &bar.callback(), &cancel)?;
        bar.0.finish_and_clear();
        Ok((session, summary))
    }

    /// [`Globals::indexed`] for commands that go on to answer: an interrupted run is an error.
    fn ready(&self, dir: &Path) -> Result<Session> {
        let (session, summary) = self.indexed(dir, IndexTuning::default())?;
        if summary.interrupted {
            return Err(Error::interrupted());
        }
        Ok(session)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Embed every image under DIR into the feature store (only what changed since last time).
    Index {
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
    },
    /// The images most like IMAGE (which may be outside the collection), with cosine distances.
    Similar {
        image: PathBuf,
        /// The collection to search [default: IMAGE's folder].
        #[arg(long = "in", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// How many neighbours.
        #[arg(long, default_value_t = 10, conflicts_with = "radius")]
        n: usize,
        /// Every image within this cosine distance (0..2) instead of the N closest.
        #[arg(long)]
        radius: Option<f32>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Clusters the images under DIR: each image's cluster, the clusters' sizes and names,
    /// and the k sweep. The clustering is saved and reused until a flag changes it.
    Cluster {
        dir: PathBuf,
        #[arg(long, value_parser = clap::value_parser!(Method))]
        method: Option<Method>,
        /// Number of clusters, or `auto` to choose it from the k sweep [default: auto].
        #[arg(long, value_parser = clap::value_parser!(KChoice))]
        k: Option<KChoice>,
        /// DBSCAN radius in cosine distance [default: the knee of the k-distance curve].
        #[arg(long)]
        eps: Option<f32>,
        /// How the 2-D map (x, y) is made: pca, or tsne (slower; local groups stand apart).
        #[arg(long, value_parser = clap::value_parser!(MapMethod))]
        map: Option<MapMethod>,
        /// Seed of the random choices [default: from the configuration, 0].
        #[arg(long)]
        seed: Option<u64>,
        /// Fit again even if the saved clustering matches.
        #[arg(long)]
        recluster: bool,
        /// With CSV, which table to print (JSON has all three).
        #[arg(long, value_enum, default_value_t = Table::Images)]
        table: Table,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// A contact sheet (PNG grid with file names) of one cluster, or of every cluster.
    Montage {
        dir: PathBuf,
        /// Cluster number as `cluster` lists it [default: every cluster, one sheet each].
        #[arg(long)]
        cluster: Option<usize>,
        /// Output file for one cluster, or folder for all [default: ./imgtui-montage/NN-name.png].
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        /// Thumbnail size in pixels.
        #[arg(long, default_value_t = 160)]
        size: u32,
        /// At most this many images per sheet, those nearest the cluster's centre first.
        #[arg(long, default_value_t = 400)]
        max: usize,
    },
    /// Copies (or links) a cluster's images into a folder; never overwrites.
    Export {
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
    },
    /// The N nearest neighbours of every image under DIR (the kNN graph).
    Neighbours {
        dir: PathBuf,
        #[arg(long, default_value_t = 5)]
        n: usize,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Prints the effective settings and where each comes from (default, file or flag).
    Config,
    /// Groups of near-duplicate images under DIR, largest first.
    Dups {
        dir: PathBuf,
        /// Cosine similarity (0..1) at or above which two images are near-duplicates
        /// [default: from the settings, 0.95].
        #[arg(long)]
        threshold: Option<f32>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
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

/// Overrides of the configured indexing settings, from flags.
#[derive(Default)]
struct IndexTuning {
    threads: Option<usize>,
    batch: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.globals;
    let result = match cli.command {
        Some(Command::Index {
            dir,
            json,
            threads,
            batch,
        }) => run_index(&dir, g, json, IndexTuning { threads, batch }),
        Some(Command::Similar {
            image,
            dir,
            n,
            radius,
            format,
        }) => run_similar(&image, dir, g, n, radius, format),
        Some(Command::Cluster {
            dir,
            method,
            k,
            eps,
            map,
            seed,
            recluster,
            table,
            format,
        }) => {
            let wanted = Wanted {
                method,
                k,
                eps,
                seed,
                map,
                recluster,
            };
            run_cluster(&dir, g, &wanted, table, format)
        }
        Some(Command::Montage {
            dir,
            cluster,
            out,
            size,
            max,
        }) => run_montage(&dir, g, cluster, out, size, max),
        Some(Command::Export {
            dir,
            cluster,
            to,
            mode,
            merge,
            inside,
            json,
        }) => run_export(&dir, g, cluster, to, mode, (merge, inside), json),
        Some(Command::Neighbours { dir, n, format }) => run_neighbours(&dir, g, n, format),
        Some(Command::Dups {
            dir,
            threshold,
            format,
        }) => run_dups(&dir, g, threshold, format),
        Some(Command::Config) => run_config(g),
        None => match cli.dir {
            Some(dir) => run_tui(&dir, g, cli.protocol.as_deref()),
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
            let (code, hint) = match err.kind() {
                ErrorKind::BadRequest | ErrorKind::MissingInput => (2, ""),
                ErrorKind::DamagedStore => (
                    2,
                    "; run again with --rebuild-store to move it aside and start afresh \
                     (vectors are recomputed; the old file is kept)",
                ),
                ErrorKind::Interrupted => (130, ""),
                ErrorKind::Failed => (1, ""),
            };
            eprintln!("imgtui: {err}{hint}");
            ExitCode::from(code)
        }
    }
}

/// Prints `answer` on stdout as JSON or as the CSV `table`.
fn print(answer: &impl Answer, format: Format, table: &str) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => answer.write_json(&mut out)?,
        Format::Csv => answer.write_csv(table, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--protocol` (one of the values clap allows): `auto` is `None`, ask the terminal.
fn protocol(s: &str) -> Option<imgtui::tui::ProtocolType> {
    use imgtui::tui::ProtocolType as P;
    match s {
        "kitty" => Some(P::Kitty),
        "sixel" => Some(P::Sixel),
        "iterm2" => Some(P::Iterm2),
        "halfblocks" => Some(P::Halfblocks),
        _ => None,
    }
}

fn run_tui(dir: &Path, g: &Globals, protocol: Option<&str>) -> Result<ExitCode> {
    let session = g.open(dir)?;
    let protocol = self::protocol(protocol.unwrap_or(&session.config().explore.protocol));
    let cancel = cancel_on_signals()?;
    imgtui::tui::run(session, protocol, cancel)?;
    Ok(ExitCode::SUCCESS)
}

fn run_config(g: &Globals) -> Result<ExitCode> {
    let (_, mut sources) = g.settings()?;
    if let Some(store) = &g.store {
        sources.set_flag("store", &store.to_string_lossy(), "--store");
    }
    match (&g.model, &g.features) {
        (Some(m), _) => sources.set_flag("features", &format!("model:{m}"), "--model"),
        (None, Some(f)) => sources.set_flag("features", f, "--features"),
        (None, None) => {}
    }
    let file = match &g.config_file {
        Some(f) => format!("{} (--config)", f.display()),
        None => match Config::user_file() {
            Some(f) if f.is_file() => f.display().to_string(),
            Some(f) => format!("none ({} does not exist)", f.display()),
            None => "none".to_owned(),
        },
    };
    println!("# imgtui's effective settings. Settings file: {file}");
    println!("# Precedence: flag > settings file > default (config/default.toml).\n");
    print!("{}", sources.render());
    Ok(ExitCode::SUCCESS)
}

fn run_index(dir: &Path, g: &Globals, json: bool, tune: IndexTuning) -> Result<ExitCode> {
    let (_, summary) = g.indexed(dir, tune)?;
    if json {
        print(&summary, Format::Json, "")?;
    } else {
        for s in &summary.skipped {
            eprintln!("skipped {}: {}", s.path.display(), s.reason);
        }
    }
    eprintln!("{}", summary_line(&summary));
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_similar(
    image: &Path,
    dir: Option<PathBuf>,
    g: &Globals,
    n: usize,
    radius: Option<f32>,
    format: Format,
) -> Result<ExitCode> {
    let select = match radius {
        Some(r) => neighbours::Select::within(r)
            .map_err(|rule| Error::bad_request(format_args!("--radius {r}: {rule}")))?,
        None => neighbours::Select::Nearest(n),
    };
    let missing = |e: std::io::Error| {
        Error::with_kind(
            ErrorKind::MissingInput,
            anyhow::anyhow!("{}: {e}", image.display()),
        )
    };
    let bytes = std::fs::read(image).map_err(missing)?;
    let image = std::fs::canonicalize(image).map_err(missing)?;
    let dir = dir.unwrap_or_else(|| image.parent().map(Path::to_owned).unwrap_or_default());
    let session = g.ready(&dir)?;
    let c = session.images()?;
    let own_row = c.paths.iter().position(|p| *p == image);
    let query = match own_row {
        Some(i) => c.row(i).to_vec(),
        None => session
            .embed(&bytes)
            .map_err(|e| e.context(image.display().to_string()))?,
    };
    let found = neighbours::query(&c, &query, select, own_row);
    let answer = answers::Similar::new(image, own_row.is_some(), &c, &found);
    print(&answer, format, "")
}

fn run_cluster(
    dir: &Path,
    g: &Globals,
    wanted: &Wanted,
    table: Table,
    format: Format,
) -> Result<ExitCode> {
    if let Some(e) = wanted.eps {
        check_eps(e).map_err(|rule| Error::bad_request(format_args!("--eps {e}: {rule}")))?;
    }
    let mut session = g.ready(dir)?;
    let c = session.images()?;
    let (clustering, origin) = session.clustering(&c, wanted)?;
    eprintln!("{}", cluster_line(&clustering, origin));
    let answer = answers::Clusters::new(session.root(), session.feature(), &c, &clustering, origin);
    let table = match table {
        Table::Images => "images",
        Table::Clusters => "clusters",
        Table::Sweep => "sweep",
    };
    print(&answer, format, table)
}

/// Clusters (their index in `Clustering::clusters`) with their files, nearest the centre first.
type Sheets = Vec<(usize, Vec<PathBuf>)>;

/// The folder's clustering as saved (or fitted now with the configured defaults), and the
/// files of cluster `number` (of every cluster for `None`).
fn members_of(session: &mut Session, number: Option<usize>) -> Result<(Clustering, Sheets)> {
    let c = session.images()?;
    let (clustering, origin) = session.clustering(&c, &Wanted::default())?;
    if origin == Origin::Fitted {
        eprintln!("{}", cluster_line(&clustering, origin));
    }
    let indices = match number {
        Some(n) => vec![clustering.index_of(n)?],
        None => (0..clustering.clusters.len()).collect(),
    };
    let all = members(&clustering);
    let paths = indices
        .into_iter()
        .map(|i| (i, all[i].iter().map(|&r| c.paths[r].clone()).collect()))
        .collect();
    Ok((clustering, paths))
}

fn run_montage(
    dir: &Path,
    g: &Globals,
    cluster: Option<usize>,
    out: Option<PathBuf>,
    size: u32,
    max: usize,
) -> Result<ExitCode> {
    check_thumb(size).map_err(|rule| Error::bad_request(format_args!("--size {size}: {rule}")))?;
    let mut session = g.ready(dir)?;
    let (clustering, sheets) = members_of(&mut session, cluster)?;
    let opts = MontageOptions {
        thumb: size,
        decode: session.decode_options().clone(),
        ..Default::default()
    };
    let folder = match (&out, cluster) {
        (Some(o), None) => o.clone(),
        _ => PathBuf::from("imgtui-montage"),
    };
    for (index, mut paths) in sheets {
        paths.truncate(max.max(1));
        let cl = &clustering.clusters[index];
        let file = match (&out, cluster) {
            (Some(o), Some(_)) => o.clone(),
            _ => {
                std::fs::create_dir_all(&folder)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", folder.display()))?;
                folder.join(format!("{}.png", folder_name(cl.number, &cl.name)))
            }
        };
        write_montage(&paths, &file, &opts).map_err(|e| Error::with_kind(BadRequest, e))?;
        println!("{}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_export(
    dir: &Path,
    g: &Globals,
    cluster: usize,
    to: Option<PathBuf>,
    mode: Mode,
    (merge, inside): (bool, bool),
    json: bool,
) -> Result<ExitCode> {
    let mut session = g.ready(dir)?;
    let (clustering, sheets) = members_of(&mut session, Some(cluster))?;
    let (index, paths) = &sheets[0];
    let target = to.unwrap_or_else(|| {
        PathBuf::from("imgtui-export").join(folder_name(cluster, &clustering.clusters[*index].name))
    });
    if !inside {
        imgtui::export::check_outside(&target, session.root())
            .map_err(|e| Error::bad_request(format_args!("{e:#}; --inside allows it")))?;
    }
    let report = imgtui::export::export(paths, &target, mode, merge)?;
    if json {
        print(&answers::Exported::from(&report), Format::Json, "")?;
    }
    for (p, e) in &report.failed {
        eprintln!("not exported {}: {e}", p.display());
    }
    let verb = match mode {
        Mode::Copy => "copied",
        Mode::Symlink | Mode::Hardlink => "linked",
    };
    let already = match report.already_there {
        0 => String::new(),
        n => format!(" ({n} already there)"),
    };
    eprintln!(
        "{} files {verb} to {}{already}",
        report.written,
        report.target.display()
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line on stderr about the clustering: method, k, why, and whether it was reused.
fn cluster_line(c: &Clustering, origin: Origin) -> String {
    let from = match origin {
        Origin::Saved { new_images: 0 } => "saved clustering".to_owned(),
        Origin::Saved { new_images } => {
            format!("saved clustering, {new_images} new images assigned to the nearest cluster")
        }
        Origin::Fitted => "fitted".to_owned(),
    };
    format!(
        "{} clusters by {} ({from}): {}",
        c.k,
        c.request.method.name(),
        c.reason
    )
}

fn run_neighbours(dir: &Path, g: &Globals, n: usize, format: Format) -> Result<ExitCode> {
    let session = g.ready(dir)?;
    let c = session.images()?;
    let graph = neighbours::knn_graph(&c, n);
    print(&answers::Neighbours::new(&c, &graph), format, "")
}

fn run_dups(dir: &Path, g: &Globals, threshold: Option<f32>, format: Format) -> Result<ExitCode> {
    if let Some(t) = threshold {
        duplicates::check_threshold(t)
            .map_err(|rule| Error::bad_request(format_args!("--threshold {t}: {rule}")))?;
    }
    let session = g.ready(dir)?;
    let threshold = threshold.unwrap_or(session.config().duplicates.threshold);
    let c = session.images()?;
    let groups = duplicates::groups(&c, threshold);
    print(&answers::Duplicates::new(&c, &groups), format, "")
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

fn summary_line(s: &Summary) -> String {
    let rate = if s.embedded > 0 {
        format!(" ({:.1} images/s)", s.images_per_second)
    } else {
        String::new()
    };
    let removed = if s.removed > 0 {
        format!(", {} removed", s.removed)
    } else {
        String::new()
    };
    format!(
        "{}{} found, {} embedded, {} cached, {} skipped{removed} in {:.2} s{rate}",
        if s.interrupted { "interrupted: " } else { "" },
        s.found,
        s.embedded,
        s.cached,
        s.skipped.len(),
        s.seconds,
    )
}

/// A flag raised by Ctrl-C, SIGTERM or SIGHUP: the run stops and keeps what it has done.
/// A second signal exits at once (committed batches are safe either way).
fn cancel_on_signals() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .map_err(anyhow::Error::from)?;
    Ok(flag)
}
