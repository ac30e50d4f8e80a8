//! The `imgtui` command: a thin layer over the engine in `lib.rs`.

mod output;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use imgtui::analysis::clustering::{Clustering, KChoice, MapMethod, Method};
use imgtui::analysis::saved::{Origin, Wanted, load_or_fit};
use imgtui::analysis::{duplicates, neighbours};
use imgtui::config::Config;
use imgtui::export::{Mode, folder_name};
use imgtui::montage::{MontageOptions, write_montage};
use imgtui::scan::ScanError;
use imgtui::{Collection, Extractor, Progress, Store, Summary};
use indicatif::{ProgressBar, ProgressStyle};
use output::{Csv, Format};
use serde_json::json;

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
    fn config(&self) -> anyhow::Result<Config> {
        Ok(self.settings()?.0)
    }

    fn settings(&self) -> anyhow::Result<(Config, imgtui::config::Sources)> {
        Config::load(self.config_file.as_deref()).map_err(|e| usage(one_line(&e)))
    }

    /// The feature extractor asked for (flag, else configuration).
    fn extractor(&self, config: &Config) -> anyhow::Result<Box<dyn Extractor>> {
        let name = match (&self.model, &self.features) {
            (Some(model), _) => format!("model:{model}"),
            (None, Some(features)) => features.clone(),
            (None, None) => config.features.clone(),
        };
        imgtui::features::select(&name).map_err(|e| usage(one_line(&e)))
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
            None => {
                eprintln!("imgtui: give a folder of images, e.g. `imgtui ~/Pictures` (see --help)");
                return ExitCode::from(2);
            }
        },
    };
    match result {
        Ok(code) => code,
        // A reader such as `head` that stops early is not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if imgtui::store::is_damaged(&err) => {
            eprintln!(
                "imgtui: {}; run again with --rebuild-store to move it aside and start afresh \
                 (vectors are recomputed; the old file is kept)",
                one_line(&err)
            );
            ExitCode::from(2)
        }
        Err(err) => {
            let usage = err.downcast_ref::<ScanError>().is_some()
                || err.downcast_ref::<imgtui::store::Unavailable>().is_some()
                || err.downcast_ref::<UsageError>().is_some();
            eprintln!("imgtui: {}", one_line(&err));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// A request that cannot be answered as asked (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A distance rounded to 6 decimals, so JSON shows 0.122073 rather than 0.12207305431365967.
fn rounded(d: f32) -> f64 {
    (d as f64 * 1e6).round() / 1e6
}

/// An error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The store file: `--store`, else the configuration's, else the user's cache folder.
/// With `--rebuild-store`, a store already there is moved aside first.
fn store_path(g: &Globals, config: &Config) -> anyhow::Result<PathBuf> {
    let path = g
        .store
        .clone()
        .or_else(|| config.store_path())
        .or_else(Store::default_path)
        .ok_or_else(|| anyhow::anyhow!("no cache folder for the store: pass --store PATH"))?;
    if g.rebuild_store
        && let Some(aside) = Store::set_aside(&path)?
    {
        eprintln!(
            "imgtui: moved the old store aside to {}; starting afresh",
            aside.display()
        );
    }
    Ok(path)
}

/// Everything a command needs: the indexed folder, its vectors and the model.
struct Session {
    root: PathBuf,
    store: Store,
    model: Box<dyn Extractor>,
    config: Config,
    feature: String,
}

impl Session {
    /// Opens the store and brings `dir` up to date (progress bar only on a terminal).
    fn index(dir: &Path, g: &Globals, tune: IndexTuning) -> anyhow::Result<(Session, Summary)> {
        let root = imgtui::scan::resolve_root(dir)?;
        let config = g.config()?;
        let model = g.extractor(&config)?;
        let mut store = store_path(g, &config).and_then(|p| Store::open(&p))?;
        let cancel = cancel_on_signals()?;
        let mut opts = config.index_options()?;
        opts.threads = tune.threads.unwrap_or(opts.threads);
        opts.batch = tune.batch.unwrap_or(opts.batch).max(1);
        let bar = progress_bar();
        let summary = imgtui::index(&root, &mut store, &*model, &opts, &bar.callback(), &cancel)?;
        bar.0.finish_and_clear();
        let feature = summary.feature.clone();
        let session = Session {
            root,
            store,
            model,
            config,
            feature,
        };
        Ok((session, summary))
    }

    /// [`Session::index`] with the default tuning, for commands that go on to answer questions.
    fn open(dir: &Path, g: &Globals) -> anyhow::Result<(Session, Summary)> {
        let (session, summary) = Self::index(dir, g, IndexTuning::default())?;
        if summary.interrupted {
            bail!("interrupted");
        }
        Ok((session, summary))
    }

    fn collection(&self) -> anyhow::Result<Collection> {
        let c = self.store.collection(&self.root, &self.feature)?;
        if c.is_empty() {
            return Err(usage(format!(
                "{}: no images to compare",
                self.root.display()
            )));
        }
        Ok(c)
    }
}

/// Overrides of the configured indexing settings, from flags.
#[derive(Default)]
struct IndexTuning {
    threads: Option<usize>,
    batch: Option<usize>,
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

fn run_tui(dir: &Path, g: &Globals, protocol: Option<&str>) -> anyhow::Result<ExitCode> {
    let root = imgtui::scan::resolve_root(dir)?;
    let config = g.config()?;
    let protocol = self::protocol(protocol.unwrap_or(&config.explore.protocol));
    let store = store_path(g, &config)?;
    let extractor = g.extractor(&config)?.into();
    let cancel = cancel_on_signals()?;
    imgtui::tui::run(imgtui::tui::Options {
        root,
        store,
        config,
        extractor,
        cancel,
        protocol,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_config(g: &Globals) -> anyhow::Result<ExitCode> {
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

fn run_index(dir: &Path, g: &Globals, json: bool, tune: IndexTuning) -> anyhow::Result<ExitCode> {
    let (_, summary) = Session::index(dir, g, tune)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
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
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(image).map_err(|e| usage(format!("{}: {e}", image.display())))?;
    let image = std::fs::canonicalize(image)?;
    let dir = match dir {
        Some(d) => d,
        None => image.parent().map(Path::to_owned).unwrap_or_default(),
    };
    let (session, _) = Session::open(&dir, g)?;
    let c = session.collection()?;
    let own_row = c.paths.iter().position(|p| *p == image);
    let query = match own_row {
        Some(i) => c.row(i).to_vec(),
        None => {
            let decode = session.config.decode_options()?;
            let (v, _) = imgtui::index::embed_bytes(&bytes, &*session.model, &decode)
                .map_err(|e| usage(format!("{}: {e}", image.display())))?;
            v
        }
    };
    let select = match radius {
        Some(r) if (0.0..=2.0).contains(&r) => neighbours::Select::Within(r),
        Some(r) => {
            return Err(usage(format!(
                "--radius {r}: a cosine distance is between 0 and 2"
            )));
        }
        None => neighbours::Select::Nearest(n),
    };
    let found = neighbours::query(&c, &query, select, own_row);
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let rows: Vec<_> = found
                .iter()
                .enumerate()
                .map(|(rank, x)| {
                    json!({"rank": rank + 1, "path": c.paths[x.index].to_string_lossy(), "distance": rounded(x.distance)})
                })
                .collect();
            let answer = json!({"query": image.to_string_lossy(), "in_collection": own_row.is_some(), "neighbours": rows});
            writeln!(out, "{answer}")?;
        }
        Format::Csv => {
            let mut csv = Csv::new(out);
            csv.row(["rank", "path", "distance"])?;
            for (rank, x) in found.iter().enumerate() {
                csv.row([
                    (rank + 1).to_string(),
                    c.paths[x.index].to_string_lossy().into_owned(),
                    format!("{:.6}", x.distance),
                ])?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The tables `cluster` can print as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Table {
    Images,
    Clusters,
    Sweep,
}

fn run_cluster(
    dir: &Path,
    g: &Globals,
    wanted: &Wanted,
    table: Table,
    format: Format,
) -> anyhow::Result<ExitCode> {
    if let Some(e) = wanted.eps
        && !(e > 0.0 && e < 2.0)
    {
        return Err(usage(format!(
            "--eps {e}: a cosine distance between 0 and 2"
        )));
    }
    let (mut session, _) = Session::open(dir, g)?;
    let c = session.collection()?;
    let defaults = session.config.cluster_request();
    let (clustering, origin) = load_or_fit(
        &mut session.store,
        &session.root,
        &session.feature,
        &c,
        &defaults,
        wanted,
        Some(&*session.model),
    )
    .map_err(|e| usage(one_line(&e)))?;
    eprintln!("{}", cluster_line(&clustering, origin));
    let mut out = std::io::stdout().lock();
    let path = |i: usize| c.paths[i].to_string_lossy().into_owned();
    let number = |i: usize| clustering.clusters[clustering.labels[i]].number;
    match format {
        Format::Json => {
            let clusters: Vec<_> = clustering
                .clusters
                .iter()
                .map(|cl| {
                    let classes: Vec<_> = cl
                        .classes
                        .iter()
                        .map(|(n, p)| json!({"class": n, "probability": rounded(*p)}))
                        .collect();
                    json!({"cluster": cl.number, "size": cl.size, "name": cl.name, "classes": classes})
                })
                .collect();
            let images: Vec<_> = (0..c.len())
                .map(|i| {
                    let [x, y] = clustering.map[i];
                    json!({"path": path(i), "cluster": number(i), "distance": rounded(clustering.distances[i]), "x": rounded(x), "y": rounded(y)})
                })
                .collect();
            let new_images = match origin {
                Origin::Saved { new_images } => new_images,
                Origin::Fitted => 0,
            };
            let answer = json!({
                "root": session.root.to_string_lossy(),
                "feature": session.feature,
                "method": clustering.request.method.name(),
                "k": clustering.k,
                "eps": clustering.eps,
                "reason": clustering.reason,
                "saved": origin != Origin::Fitted,
                "new_images": new_images,
                "explained_variance": rounded(clustering.explained),
                "clusters": clusters,
                "sweep": clustering.sweep.as_ref().map(|s| &s.rows),
                "images": images,
            });
            writeln!(out, "{answer}")?;
        }
        Format::Csv => {
            let mut csv = Csv::new(out);
            match table {
                Table::Images => {
                    csv.row(["path", "cluster", "name", "distance", "x", "y"])?;
                    for i in 0..c.len() {
                        let [x, y] = clustering.map[i];
                        csv.row([
                            path(i),
                            number(i).to_string(),
                            clustering.clusters[clustering.labels[i]].name.clone(),
                            format!("{:.6}", clustering.distances[i]),
                            format!("{x:.6}"),
                            format!("{y:.6}"),
                        ])?;
                    }
                }
                Table::Clusters => {
                    csv.row(["cluster", "size", "name"])?;
                    for cl in &clustering.clusters {
                        csv.row([cl.number.to_string(), cl.size.to_string(), cl.name.clone()])?;
                    }
                }
                Table::Sweep => {
                    csv.row(["k", "inertia", "distortion", "silhouette", "gap", "gap_sd"])?;
                    for r in clustering.sweep.iter().flat_map(|s| &s.rows) {
                        csv.row([
                            r.k.to_string(),
                            format!("{:.6}", r.inertia),
                            format!("{:.6}", r.distortion),
                            format!("{:.6}", r.silhouette),
                            format!("{:.6}", r.gap),
                            format!("{:.6}", r.gap_sd),
                        ])?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The folder's clustering as saved (or fitted now with the configured defaults).
fn clusters_of(session: &mut Session, c: &Collection) -> anyhow::Result<Clustering> {
    let defaults = session.config.cluster_request();
    let (clustering, origin) = load_or_fit(
        &mut session.store,
        &session.root,
        &session.feature,
        c,
        &defaults,
        &Wanted::default(),
        Some(&*session.model),
    )
    .map_err(|e| usage(one_line(&e)))?;
    if origin == Origin::Fitted {
        eprintln!("{}", cluster_line(&clustering, origin));
    }
    Ok(clustering)
}

/// Members of cluster `number`, nearest the centre first.
fn cluster_members(
    c: &Collection,
    clustering: &Clustering,
    number: usize,
) -> anyhow::Result<(usize, Vec<PathBuf>)> {
    let Some(index) = clustering
        .clusters
        .iter()
        .position(|cl| cl.number == number)
    else {
        let numbers: Vec<String> = clustering
            .clusters
            .iter()
            .map(|cl| cl.number.to_string())
            .collect();
        return Err(usage(format!(
            "no cluster {number}: the clusters are {}",
            numbers.join(", ")
        )));
    };
    let mut rows: Vec<usize> = (0..c.len())
        .filter(|&i| clustering.labels[i] == index)
        .collect();
    rows.sort_by(|&a, &b| {
        clustering.distances[a]
            .total_cmp(&clustering.distances[b])
            .then(a.cmp(&b))
    });
    Ok((
        index,
        rows.into_iter().map(|i| c.paths[i].clone()).collect(),
    ))
}

fn run_montage(
    dir: &Path,
    g: &Globals,
    cluster: Option<usize>,
    out: Option<PathBuf>,
    size: u32,
    max: usize,
) -> anyhow::Result<ExitCode> {
    if !(16..=1024).contains(&size) {
        return Err(usage(format!("--size {size}: between 16 and 1024 pixels")));
    }
    let (mut session, _) = Session::open(dir, g)?;
    let c = session.collection()?;
    let clustering = clusters_of(&mut session, &c)?;
    let opts = MontageOptions {
        thumb: size,
        decode: session.config.decode_options()?,
        ..Default::default()
    };
    let numbers: Vec<usize> = match cluster {
        Some(n) => vec![n],
        None => clustering.clusters.iter().map(|cl| cl.number).collect(),
    };
    let folder = match (&out, cluster) {
        (Some(o), None) => o.clone(),
        _ => PathBuf::from("imgtui-montage"),
    };
    for number in numbers {
        let (index, mut paths) = cluster_members(&c, &clustering, number)?;
        paths.truncate(max.max(1));
        let file = match (&out, cluster) {
            (Some(o), Some(_)) => o.clone(),
            _ => {
                std::fs::create_dir_all(&folder)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", folder.display()))?;
                folder.join(format!(
                    "{}.png",
                    folder_name(number, &clustering.clusters[index].name)
                ))
            }
        };
        write_montage(&paths, &file, &opts).map_err(|e| usage(one_line(&e)))?;
        println!("{}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn run_export(
    dir: &Path,
    g: &Globals,
    cluster: usize,
    to: Option<PathBuf>,
    mode: Mode,
    (merge, inside): (bool, bool),
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (mut session, _) = Session::open(dir, g)?;
    let c = session.collection()?;
    let clustering = clusters_of(&mut session, &c)?;
    let (index, paths) = cluster_members(&c, &clustering, cluster)?;
    let target = to.unwrap_or_else(|| {
        PathBuf::from("imgtui-export").join(folder_name(cluster, &clustering.clusters[index].name))
    });
    if !inside {
        imgtui::export::check_outside(&target, &session.root)
            .map_err(|e| usage(format!("{}; --inside allows it", one_line(&e))))?;
    }
    let report =
        imgtui::export::export(&paths, &target, mode, merge).map_err(|e| usage(one_line(&e)))?;
    if json {
        let failed: Vec<_> = report
            .failed
            .iter()
            .map(|(p, e)| json!({"path": p.to_string_lossy(), "reason": e}))
            .collect();
        println!(
            "{}",
            json!({"target": report.target.to_string_lossy(), "written": report.written, "already_there": report.already_there, "failed": failed})
        );
    }
    for (p, e) in &report.failed {
        eprintln!("not exported {}: {e}", p.display());
    }
    eprintln!(
        "{} files {} to {}{}",
        report.written,
        match mode {
            Mode::Copy => "copied",
            Mode::Symlink | Mode::Hardlink => "linked",
        },
        report.target.display(),
        if report.already_there > 0 {
            format!(" ({} already there)", report.already_there)
        } else {
            String::new()
        }
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

fn run_neighbours(dir: &Path, g: &Globals, n: usize, format: Format) -> anyhow::Result<ExitCode> {
    let (session, _) = Session::open(dir, g)?;
    let c = session.collection()?;
    let graph = neighbours::knn_graph(&c, n);
    let path = |i: usize| c.paths[i].to_string_lossy().into_owned();
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let rows: Vec<_> = graph
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let ns: Vec<_> = row
                        .iter()
                        .map(|x| json!({"path": path(x.index), "distance": rounded(x.distance)}))
                        .collect();
                    json!({"path": path(i), "neighbours": ns})
                })
                .collect();
            writeln!(out, "{}", serde_json::Value::Array(rows))?;
        }
        Format::Csv => {
            let mut csv = Csv::new(out);
            csv.row(["path", "rank", "neighbour", "distance"])?;
            for (i, row) in graph.iter().enumerate() {
                for (rank, x) in row.iter().enumerate() {
                    csv.row([
                        path(i),
                        (rank + 1).to_string(),
                        path(x.index),
                        format!("{:.6}", x.distance),
                    ])?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_dups(
    dir: &Path,
    g: &Globals,
    threshold: Option<f32>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    if let Some(t) = threshold.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(usage(format!(
            "--threshold {t}: a similarity is between 0 and 1"
        )));
    }
    let (session, _) = Session::open(dir, g)?;
    let threshold = threshold.unwrap_or(session.config.duplicates.threshold);
    let c = session.collection()?;
    let groups = duplicates::groups(&c, threshold);
    let path = |i: usize| c.paths[i].to_string_lossy().into_owned();
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let rows: Vec<_> = groups
                .iter()
                .enumerate()
                .map(|(g, members)| json!({"group": g + 1, "paths": members.iter().map(|&i| path(i)).collect::<Vec<_>>()}))
                .collect();
            writeln!(out, "{}", serde_json::Value::Array(rows))?;
        }
        Format::Csv => {
            let mut csv = Csv::new(out);
            csv.row(["group", "path"])?;
            for (g, members) in groups.iter().enumerate() {
                for &i in members {
                    csv.row([(g + 1).to_string(), path(i)])?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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
fn cancel_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = flag.clone();
    ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
    .context("installing the signal handler")?;
    Ok(flag)
}
