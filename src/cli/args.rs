//! The command line's flags and subcommands, as clap reads them, and the options every
//! command takes ([`Globals`]: settings, extractor, store).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand};
use imgtui::ErrorKind::BadRequest;
use imgtui::analysis::clustering::{KChoice, MapMethod, Method};
use imgtui::config::{Config, ProtocolSetting, ViewSetting};
use imgtui::error::Result;
use imgtui::export::Mode;
use imgtui::{Error, Extractor, Session, Store, Summary};

use super::*;

#[derive(Parser)]
#[command(
    name = "imgtui",
    version,
    about = "Explore a folder of images by visual similarity"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// Folder of images to explore in the terminal.
    pub(crate) dir: Option<PathBuf>,
    /// How the explorer draws images: auto (ask the terminal), kitty, sixel, iterm2, halfblocks
    /// [default: from the settings, auto].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(imgtui::config::PROTOCOLS)
        .try_map(|s| ProtocolSetting::parse(&s)))]
    pub(crate) protocol: Option<ProtocolSetting>,
    /// The explorer's first screen: auto (the overview where the terminal draws images),
    /// overview, grid, list, lattice [default: from the settings, auto].
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(imgtui::config::VIEWS)
        .try_map(|s| ViewSetting::parse(&s)))]
    pub(crate) view: Option<ViewSetting>,
    #[command(flatten)]
    pub(crate) globals: Globals,
}

/// Options every command takes.
#[derive(clap::Args)]
pub(crate) struct Globals {
    /// Feature store file [default: store.sqlite in the user's cache folder].
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) store: Option<PathBuf>,
    /// What vectors to compare: model:efficientnet-lite0, hog, pixels or color
    /// [default: from the configuration, model:efficientnet-lite0]. Each is stored apart.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) features: Option<String>,
    /// Shorthand for --features model:NAME|PATH.toml: an ONNX model described by a spec
    /// (see config/models/).
    #[arg(
        long,
        global = true,
        value_name = "NAME|SPEC",
        conflicts_with = "features"
    )]
    pub(crate) model: Option<String>,
    /// What runs the model: tract (built in) or onnxruntime (a build with the `ort` feature and
    /// a libonnxruntime on this machine) [default: from the configuration, tract].
    #[arg(long, global = true, value_name = "RUNTIME", value_parser = clap::builder::PossibleValuesParser::new(imgtui::features::RUNTIMES))]
    pub(crate) runtime: Option<String>,
    /// Settings file to use instead of the user's (~/.config/imgtui/config.toml).
    #[arg(long = "config", global = true, value_name = "FILE")]
    pub(crate) config_file: Option<PathBuf>,
    /// Move a damaged feature store aside (kept as <store>.damaged-<time>) and start afresh.
    #[arg(long, global = true)]
    pub(crate) rebuild_store: bool,
}

impl Globals {
    /// The defaults, overlaid with the user's file (or `--config`); flags are applied
    /// where each is used.
    pub(crate) fn settings(&self) -> Result<(Config, imgtui::config::Sources)> {
        Config::load(self.config_file.as_deref()).map_err(|e| Error::with_kind(BadRequest, e))
    }

    /// The feature extractor asked for (flag, else configuration).
    pub(crate) fn extractor(&self, config: &Config) -> Result<Arc<dyn Extractor>> {
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
    pub(crate) fn store(&self, config: &Config) -> Result<PathBuf> {
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
    pub(crate) fn open(&self, dir: &Path) -> Result<Session> {
        let (config, _) = self.settings()?;
        let extractor = self.extractor(&config)?;
        let store = self.store(&config)?;
        Session::open(dir, &store, config, extractor)
    }

    /// The session for `dir`, its index brought up to date (a progress bar on a terminal);
    /// `tune` adjusts the settings' indexing options.
    pub(crate) fn indexed(
        &self,
        dir: &Path,
        tune: impl FnOnce(&Session) -> Result<imgtui::IndexOptions>,
    ) -> Result<(Session, Summary)> {
        let mut session = self.open(dir)?;
        let opts = tune(&session)?;
        let summary = update_index(&mut session, &opts)?;
        Ok((session, summary))
    }

    /// [`Globals::ready`] for a session already open (checked before indexing starts).
    pub(crate) fn ready_session(&self, session: &mut Session) -> Result<()> {
        let opts = session.index_options();
        if update_index(session, &opts)?.interrupted {
            return Err(Error::interrupted());
        }
        end_at_once_on_signal();
        Ok(())
    }

    /// [`Globals::indexed`] for commands that go on to answer: an interrupted run is an error.
    pub(crate) fn ready(&self, dir: &Path) -> Result<Session> {
        let (session, summary) = self.indexed(dir, |s| Ok(s.index_options()))?;
        if summary.interrupted {
            return Err(Error::interrupted());
        }
        end_at_once_on_signal();
        Ok(session)
    }
}

/// Brings `session`'s index up to date, with a progress bar on a terminal; Ctrl-C stops it
/// and keeps what was done.
fn update_index(session: &mut Session, opts: &imgtui::IndexOptions) -> Result<Summary> {
    let cancel = cancel_on_signals()?;
    let bar = progress_bar();
    let summary = session.update_index_with(opts, &bar.callback(), &cancel)?;
    bar.0.finish_and_clear();
    Ok(summary)
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Embed every image under DIR into the feature store (only what changed since last time).
    Index(IndexArgs),
    /// The images most like IMAGE (which may be outside the collection), with cosine distances.
    Similar(SimilarArgs),
    /// The images that fit a text query best, with a CLIP-type model (--model SPEC): "words",
    /// or words and images joined by + and - ("a lighthouse" - "night" + ./dusk.png).
    Search(SearchArgs),
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
    /// Groups of duplicate images under DIR in tiers (exact, same picture, similar), each with the file
    /// to keep; with --action, moves or trashes the others (journalled; --undo puts them back).
    Dups(DupsArgs),
    /// The embeddings of the images under DIR, for scripts: CSV (path, then the components)
    /// or a NumPy .npy file with the paths beside it. The unit vectors the engine compares.
    Vectors(VectorsArgs),
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
pub(crate) struct IndexArgs {
    pub(crate) dir: PathBuf,
    /// Print the summary as one JSON object on stdout, skipped files included.
    #[arg(long)]
    pub(crate) json: bool,
    /// Worker threads [default: one per CPU core, plus one].
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Files written per transaction; a crash loses at most one batch.
    #[arg(long, hide = true)]
    pub(crate) batch: Option<usize>,
    /// Store no thumbnails of new images in this run [default: from the settings,
    /// index.thumbnails = true].
    #[arg(long)]
    pub(crate) no_thumbnails: bool,
    /// Keep watching DIR after indexing: every change (images added, changed, renamed,
    /// deleted) is indexed and reported on one line (one JSON summary with --json), until
    /// Ctrl-C.
    #[arg(long)]
    pub(crate) watch: bool,
    /// Take only shard I of N (e.g. 2/3): the files whose path relative to DIR hashes into
    /// it, so N machines can index one folder between them, each into its own store, and
    /// `imgtui store merge` joins the stores. Files of other shards are left alone.
    #[arg(long, value_name = "I/N", conflicts_with = "watch")]
    pub(crate) shard: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum StoreCommand {
    /// Merges the stores IN... into OUT (created if missing): vectors, thumbnails and the
    /// files each store recorded. Saved clusterings, their edits and the dups journal are one
    /// machine's state and are not merged. A vector stored differently under one key is
    /// reported and OUT's kept; a file recorded with a different size, mtime or hash is
    /// reported and the newer record kept.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// The store merged into (created if missing). `--store` is not used.
    pub(crate) out: PathBuf,
    /// The stores to merge in, in order.
    #[arg(required = true, value_name = "IN")]
    pub(crate) inputs: Vec<PathBuf>,
    /// Print the report as JSON (or its conflicts as CSV) on stdout instead of a summary
    /// line and the conflicts on stderr.
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
}

#[derive(clap::Args)]
pub(crate) struct SimilarArgs {
    pub(crate) image: PathBuf,
    /// The collection to search [default: IMAGE's folder, if it was indexed before; it is
    /// named on stderr].
    #[arg(long = "in", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// How many neighbours.
    #[arg(long, default_value_t = 10, conflicts_with = "radius",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) n: usize,
    /// Every image within this cosine distance (0..2) instead of the N closest.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) radius: Option<f32>,
    #[command(flatten)]
    pub(crate) facet: FacetArg,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(clap::Args)]
pub(crate) struct SearchArgs {
    /// The collection to search (indexed first with the model).
    pub(crate) dir: PathBuf,
    /// The query: words (quote them), or terms joined by + and -, each a word of its own; a
    /// term that names an existing file is an image.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub(crate) query: Vec<String>,
    /// How many images.
    #[arg(long, default_value_t = 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) n: usize,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(clap::Args)]
pub(crate) struct ClusterArgs {
    pub(crate) dir: PathBuf,
    #[arg(long, value_parser = clap::value_parser!(Method))]
    pub(crate) method: Option<Method>,
    /// Number of clusters, or `auto` to choose it from the k sweep [default: auto].
    #[arg(long, value_parser = clap::value_parser!(KChoice))]
    pub(crate) k: Option<KChoice>,
    /// DBSCAN radius in cosine distance [default: chosen by silhouette among radii up to the knee of the k-distance curve].
    #[arg(long)]
    pub(crate) eps: Option<f32>,
    /// How the 2-D map (x, y) is made: umap (neighbours stay neighbours), pca (fastest; far
    /// images can land together) or tsne (slow) [default: from the configuration, umap].
    #[arg(long, value_parser = clap::value_parser!(MapMethod))]
    pub(crate) map: Option<MapMethod>,
    /// Seed of the random choices [default: from the configuration, 0].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Fit again even if the saved clustering matches.
    #[arg(long)]
    pub(crate) recluster: bool,
    #[command(flatten)]
    pub(crate) facet: FacetArg,
    /// Name cluster C (its number as shown) TEXT instead of its generated name.
    #[arg(long = "name", value_name = "C=TEXT", group = "edit")]
    pub(crate) rename: Option<String>,
    /// Merge cluster A into cluster B.
    #[arg(long, value_name = "A,B", group = "edit")]
    pub(crate) merge: Option<String>,
    /// Split cluster C into K clusters (K chosen by the k sweep inside C when left out).
    #[arg(long, value_name = "C[:K]", group = "edit")]
    pub(crate) split: Option<String>,
    /// Move the image at PATH into cluster C, or into a new cluster (`PATH=new`).
    #[arg(long = "move", value_name = "PATH=C", group = "edit")]
    pub(crate) move_to: Option<String>,
    /// Undo the last edit (name, merge, split, move) of the saved clustering.
    #[arg(long, group = "edit")]
    pub(crate) undo: bool,
    /// Redo the last undone edit.
    #[arg(long, group = "edit")]
    pub(crate) redo: bool,
    /// With CSV, which table to print (JSON has all three).
    #[arg(long, value_enum, default_value_t = Table::Images)]
    pub(crate) table: Table,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(clap::Args)]
pub(crate) struct MontageArgs {
    pub(crate) dir: PathBuf,
    /// Cluster number as `cluster` lists it [default: every cluster, one sheet each].
    #[arg(long)]
    pub(crate) cluster: Option<usize>,
    /// Output file (.png) for one cluster, or folder for all [default:
    /// ./imgtui-montage/NN-name.png]; never inside DIR unless --inside.
    #[arg(long, short = 'o')]
    pub(crate) out: Option<PathBuf>,
    /// Allow the output inside DIR (the sheet then joins the collection).
    #[arg(long)]
    pub(crate) inside: bool,
    /// Thumbnail size in pixels.
    #[arg(long, default_value_t = 160)]
    pub(crate) size: u32,
    /// At most this many images per sheet, those nearest the cluster's centre first.
    #[arg(long, default_value_t = 400)]
    pub(crate) max: usize,
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    pub(crate) dir: PathBuf,
    /// Cluster number as `cluster` lists it.
    #[arg(long)]
    pub(crate) cluster: usize,
    /// Target folder [default: ./imgtui-export/NN-name].
    #[arg(long)]
    pub(crate) to: Option<PathBuf>,
    /// How each file is exported: copy, symlink (a link to the original) or hardlink (same
    /// filesystem only).
    #[arg(long, default_value = "copy", value_parser = clap::value_parser!(Mode))]
    pub(crate) mode: Mode,
    /// Add to a target folder that already has files (names taken get a suffix).
    #[arg(long)]
    pub(crate) merge: bool,
    /// Allow a target folder inside DIR (the copies then join the collection).
    #[arg(long)]
    pub(crate) inside: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Args)]
pub(crate) struct NeighboursArgs {
    pub(crate) dir: PathBuf,
    /// Neighbours per image.
    #[arg(long, default_value_t = 5,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) n: usize,
    #[command(flatten)]
    pub(crate) facet: FacetArg,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(clap::Args)]
pub(crate) struct DupsArgs {
    pub(crate) dir: PathBuf,
    /// Cosine similarity (0..1) at or above which two images are similar, when their pixels
    /// do not confirm them as the same picture [default: from the settings, 0.95].
    #[arg(long)]
    pub(crate) threshold: Option<f32>,
    /// Act on similar groups too (alike to the embedding, not confirmed as the same picture
    /// by their pixels): each group is then all the images linked by any tier.
    #[arg(long)]
    pub(crate) include_similar: bool,
    /// Which file of each group to keep: best (the most pixels, then lossless over lossy,
    /// then the higher JPEG quality, then the oldest), largest (pixels, then bytes), newest,
    /// oldest, shortest-path or path:FOLDER, several joined by commas as tie-breakers
    /// [default: from the settings, best].
    #[arg(long, value_name = "RULES")]
    pub(crate) keep: Option<String>,
    /// What to do with the other files: report, move:FOLDER (outside DIR, keeping their
    /// paths relative to DIR; never overwrites) or trash.
    #[arg(long, default_value = "report", value_name = "ACTION")]
    pub(crate) action: String,
    /// List what the action would do, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Put back the files of the last move or trash in DIR.
    #[arg(long, conflicts_with_all = ["action", "dry_run", "keep"])]
    pub(crate) undo: bool,
    /// Mark these images (two or more, joined by commas) not duplicates of one another: every
    /// pair of them is remembered in the store by content and never grouped again. Then the
    /// groups are reported. Exact copies (the same bytes) cannot be marked.
    #[arg(long, value_name = "FILES", value_delimiter = ',', num_args = 1..,
          conflicts_with_all = ["action", "dry_run", "undo", "undo_not_duplicates"])]
    pub(crate) not_duplicates: Vec<PathBuf>,
    /// Take back the "not duplicates" marks between these images (two or more, joined by
    /// commas), then report the groups.
    #[arg(long, value_name = "FILES", value_delimiter = ',', num_args = 1..,
          conflicts_with_all = ["action", "dry_run", "undo"])]
    pub(crate) undo_not_duplicates: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

#[derive(clap::Args)]
pub(crate) struct VectorsArgs {
    pub(crate) dir: PathBuf,
    /// csv: a header `path,c0,c1,…`, then a row per image; npy: a NumPy .npy (v1.0) float32
    /// array of shape (images, dimensions), C order, and FILE.paths.txt beside it, one path a
    /// line in the rows' order (needs --out).
    #[arg(long, value_enum, default_value_t = VectorFormat::Csv)]
    pub(crate) format: VectorFormat,
    /// The file to write (never overwritten) [default: csv on stdout].
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// How `vectors` writes the embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum VectorFormat {
    Csv,
    Npy,
}

#[derive(clap::Args)]
pub(crate) struct OutliersArgs {
    pub(crate) dir: PathBuf,
    /// How many images to list, most odd first.
    #[arg(long, default_value_t = 20,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) n: usize,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: Format,
}

/// How a headless command prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    #[default]
    Json,
    Csv,
}

/// The tables `cluster` can print as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Table {
    Images,
    Clusters,
    Sweep,
}

/// `--facet`, on the commands that compare images.
#[derive(clap::Args)]
pub(crate) struct FacetArg {
    /// In what way images are similar: content (the model's vectors), colour (the palette),
    /// texture (edges, their directions and fine patterns, wherever they are), or a blend such
    /// as content:0.7,colour:0.3
    /// [default: from the settings, facet = "content"]. Each has its own vectors and its
    /// own saved clustering.
    #[arg(long, value_name = "FACET")]
    pub(crate) facet: Option<String>,
}

impl FacetArg {
    /// [`Globals::ready`], then the session compares in the space the flag (else the setting
    /// `facet`) names.
    pub(crate) fn ready(&self, g: &Globals, dir: &Path) -> Result<Session> {
        let space = match &self.facet {
            Some(text) => text
                .parse()
                .map_err(|e: String| Error::bad_request(format_args!("--facet {text}: {e}")))?,
            None => {
                let (config, _) = g.settings()?;
                config
                    .facet()
                    .map_err(|e| Error::with_kind(BadRequest, e))?
            }
        };
        let mut session = g.ready(dir)?;
        session.set_space(space);
        Ok(session)
    }
}
