//! Settings, read from TOML. `config/default.toml` is compiled in and holds every default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::analysis::clustering::{KChoice, Request};
use crate::decode::DecodeOptions;
use crate::index::IndexOptions;
use crate::toml_error::key_at;
pub use crate::toml_error::toml_error;

static DEFAULT: &str = include_str!("../config/default.toml");

/// The whole configuration, as in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Feature store file; empty for the default in the user's cache folder.
    pub store: String,
    /// What vectors to compare (see `features::select`).
    pub features: String,
    /// What runs a model: `tract` or `onnxruntime` (see [`crate::features::Runtime`]).
    pub runtime: String,
    /// In what way images are similar by default: a facet or a blend
    /// ([`crate::features::Space`]).
    pub facet: String,
    /// `[index]`: how indexing runs.
    pub index: IndexSection,
    /// `[watch]`.
    pub watch: WatchSection,
    /// `[decode]`: how images are decoded.
    pub decode: DecodeSection,
    /// `[cluster]`: the default clustering request.
    pub cluster: ClusterSection,
    /// `[duplicates]`: near-duplicate search.
    pub duplicates: DuplicatesSection,
    /// `[explore]`: the explorer.
    pub explore: ExploreSection,
}

/// `[duplicates]` (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicatesSection {
    /// Cosine similarity (0..1) from which two images are near-duplicates.
    pub threshold: f32,
    /// Keep rules for `dups --action`, e.g. `best` ([`crate::dedupe::KeepRule`]).
    pub keep: String,
}

/// `[explore]` (see config/default.toml). Every value is parsed when the settings are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExploreSection {
    /// Image protocol: auto, kitty, sixel, iterm2 or halfblocks.
    pub protocol: ProtocolSetting,
    /// Neighbours shown for the image under the cursor.
    pub neighbours: usize,
    /// The size of a terminal cell in pixels, `"WxH"`, for terminals that report none;
    /// `"auto"`: none given (see [`parse_cell_size`]).
    pub cell_size: CellSize,
    /// Clicks select clusters, images and map places; the wheel scrolls (and zooms the map).
    pub mouse: bool,
    /// Colours: `auto` (the terminal's background decides when it tells), `dark` or `light`.
    /// `NO_COLOR` overrides it.
    pub theme: ThemeSetting,
    /// The first screen: `auto` (the overview where the terminal draws images, else the
    /// panes with a list), `overview`, `grid`, `list` or `lattice`.
    pub view: ViewSetting,
    /// About the most kilobytes (1,000 bytes) a screen full of thumbnails (the grid, the
    /// overview, the lattice) costs on the wire in kitty, sixel or iTerm2: the thumbnails of
    /// a page share it equally, and one over its share is sent with coarser detail. 0: no
    /// limit.
    pub page_kb: usize,
    /// Folders of at least this many images are held with their vectors in 8 bits
    /// ([`crate::collection::Precision::Byte`]); 0: never.
    pub byte_vectors_from: usize,
}

/// `explore.view` and `--view`: the explorer's first screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ViewSetting {
    /// The overview where the terminal draws images, else the panes with a list of names.
    Auto,
    /// Every cluster on one screen.
    Overview,
    /// The panes, the cluster as a grid of thumbnails.
    Grid,
    /// The panes, the cluster as a list of names.
    List,
    /// The whole collection as one grid, alike images together.
    Lattice,
}

/// The values `explore.view` (and `--view`) accept.
pub const VIEWS: [&str; 5] = ["auto", "overview", "grid", "list", "lattice"];

impl ViewSetting {
    /// Parses a value of [`VIEWS`]; the error is the rule.
    pub fn parse(text: &str) -> Result<ViewSetting, String> {
        Ok(match text {
            "auto" => ViewSetting::Auto,
            "overview" => ViewSetting::Overview,
            "grid" => ViewSetting::Grid,
            "list" => ViewSetting::List,
            "lattice" => ViewSetting::Lattice,
            other => {
                return Err(format!(
                    "expected one of {}, got {other:?}",
                    VIEWS.join(", ")
                ));
            }
        })
    }
}

impl TryFrom<String> for ViewSetting {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ViewSetting::parse(&text)
    }
}

/// `explore.protocol` and `--protocol`: how the explorer draws images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ProtocolSetting {
    /// Ask the terminal.
    Auto,
    /// The kitty graphics protocol.
    Kitty,
    /// Sixel.
    Sixel,
    /// iTerm2's inline images.
    Iterm2,
    /// Half-block characters, in every terminal.
    Halfblocks,
}

impl ProtocolSetting {
    /// Parses a value of [`PROTOCOLS`]; the error is the rule.
    pub fn parse(text: &str) -> Result<ProtocolSetting, String> {
        Ok(match text {
            "auto" => ProtocolSetting::Auto,
            "kitty" => ProtocolSetting::Kitty,
            "sixel" => ProtocolSetting::Sixel,
            "iterm2" => ProtocolSetting::Iterm2,
            "halfblocks" => ProtocolSetting::Halfblocks,
            other => {
                return Err(format!(
                    "expected one of {}, got {other:?}",
                    PROTOCOLS.join(", ")
                ));
            }
        })
    }
}

impl TryFrom<String> for ProtocolSetting {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        ProtocolSetting::parse(&text)
    }
}

/// `explore.cell_size`: a cell's size in pixels (width, height), or `None` for `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CellSize(pub Option<(u16, u16)>);

impl TryFrom<String> for CellSize {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        parse_cell_size(&text).map(CellSize)
    }
}

/// `explore.theme`: the explorer's colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ThemeSetting {
    /// Dark, or light when the terminal says its background is light.
    Auto,
    /// For a dark background.
    Dark,
    /// For a light background.
    Light,
}

impl TryFrom<String> for ThemeSetting {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Ok(match text.as_str() {
            "auto" => ThemeSetting::Auto,
            "dark" => ThemeSetting::Dark,
            "light" => ThemeSetting::Light,
            other => return Err(format!("expected auto, dark or light, got {other:?}")),
        })
    }
}

/// `explore.cell_size`: `"auto"` is `None`; `"WxH"` (also `W×H`) is `Some((W, H))`, pixels,
/// each 1 to 1000.
///
/// Errors: anything else, with the rule it breaks.
pub fn parse_cell_size(text: &str) -> Result<Option<(u16, u16)>, String> {
    if text == "auto" {
        return Ok(None);
    }
    let rule =
        || format!("expected `auto` or a cell size in pixels such as \"8x16\", got {text:?}");
    let (w, h) = text.split_once(['x', '×']).ok_or_else(rule)?;
    let side = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
    };
    match (side(w), side(h)) {
        (Some(w), Some(h)) => Ok(Some((w, h))),
        _ => Err(rule()),
    }
}

/// The values `explore.protocol` (and `--protocol`) accept.
pub const PROTOCOLS: [&str; 5] = ["auto", "kitty", "sixel", "iterm2", "halfblocks"];

/// `[index]` (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSection {
    /// Folders of at least this many images get a neighbour index; 0 for none.
    pub neighbour_index_from: usize,
    /// Worker threads; 0 for one per core plus one.
    pub threads: usize,
    /// Files written per transaction.
    pub batch: usize,
    /// Longest wait before results are written, in milliseconds.
    pub batch_interval_ms: u64,
    /// Files larger than this (MiB) are skipped unread.
    pub max_file_mib: u64,
    /// Whether indexing stores a thumbnail of each new image, for the explorer's grid.
    pub thumbnails: bool,
    /// Whether indexing makes the colour and texture facets' vectors beside the model's.
    pub facets: bool,
}

/// `[watch]` (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSection {
    /// "auto" (file events, with rescans where they fall short) or "rescan".
    pub mode: WatchModeSetting,
    /// Seconds between rescans, where they are used.
    pub rescan_seconds: u64,
}

/// `watch.mode`: how a folder is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum WatchModeSetting {
    /// File events, with rescans where they fall short (network file systems, no watcher).
    Auto,
    /// Rescans only, every `watch.rescan_seconds`.
    Rescan,
}

impl TryFrom<String> for WatchModeSetting {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "auto" => Ok(WatchModeSetting::Auto),
            "rescan" => Ok(WatchModeSetting::Rescan),
            other => Err(format!("one of auto, rescan, got {other:?}")),
        }
    }
}

/// `[decode]` (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeSection {
    /// Colour transparent pixels are composited onto, `#rrggbb`.
    pub background: String,
    /// Largest width or height accepted, in pixels.
    pub max_side: u32,
    /// Largest decoded size accepted, in MiB.
    pub max_decoded_mib: u64,
}

/// `[cluster]` (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// kmeans, dbscan, gmm or agglomerative.
    pub method: String,
    /// `auto` or a number of clusters (written `k = 8` or `k = "8"`).
    #[serde(deserialize_with = "text_or_number")]
    pub k: String,
    /// Upper end of the k sweep.
    pub k_max: usize,
    /// DBSCAN radius (cosine distance); 0 for the k-distance knee.
    pub eps: f32,
    /// DBSCAN: neighbours (counting the image) that make a core image.
    pub min_points: usize,
    /// Dimensions of the PCA space the clustering works in.
    pub dims: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// How the 2-D map is made: umap, pca or tsne.
    pub map: String,
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT, "config/default.toml").expect("the built-in defaults parse")
    }
}

/// The effective settings and where each came from, for `imgtui config`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The merged settings, as TOML.
    pub values: toml::Table,
    /// Dotted key → origin: "default", a file's path, or a flag.
    pub origins: std::collections::BTreeMap<String, String>,
}

impl Sources {
    /// Records a command-line flag's value for `key`.
    pub fn set_flag(&mut self, key: &str, value: &str, flag: &str) {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        let table = if section.is_empty() {
            &mut self.values
        } else {
            match self.values.get_mut(section) {
                Some(toml::Value::Table(t)) => t,
                _ => return,
            }
        };
        table.insert(name.to_owned(), toml::Value::String(value.to_owned()));
        self.origins.insert(key.to_owned(), flag.to_owned());
    }

    /// The settings as TOML, each line followed by its origin.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, name: &str, value: &toml::Value| {
            let origin = self.origins.get(key).map_or("default", String::as_str);
            let text = format!("{name} = {value}");
            out += &format!("{text:<40} # {origin}\n");
        };
        for (k, v) in &self.values {
            if !v.is_table() {
                line(k, k, v);
            }
        }
        for (section, v) in &self.values {
            if let toml::Value::Table(t) = v {
                out += &format!("\n[{section}]\n");
                let mut body = String::new();
                for (k, v) in t {
                    let origin = self
                        .origins
                        .get(&format!("{section}.{k}"))
                        .map_or("default", String::as_str);
                    body += &format!("{:<40} # {origin}\n", format!("{k} = {v}"));
                }
                out += &body;
            }
        }
        out
    }
}

impl Config {
    /// Parses a complete configuration; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(text, origin, &e))?;
        config.check().with_context(|| format!("in {origin}"))?;
        Ok(config)
    }

    /// The values toml cannot check by type alone.
    fn check(&self) -> anyhow::Result<()> {
        crate::index::check_threads(self.index.threads)
            .map_err(|rule| anyhow::anyhow!("index.threads: {rule}"))?;
        anyhow::ensure!(
            (1..=MAX_BATCH).contains(&self.index.batch),
            "index.batch: from 1 to {MAX_BATCH} files, got {}",
            self.index.batch
        );
        anyhow::ensure!(
            self.watch.rescan_seconds >= 1,
            "watch.rescan_seconds: at least 1, got 0"
        );
        anyhow::ensure!(
            self.decode.max_side >= 1,
            "decode.max_side: at least 1 pixel"
        );
        self.decode_options()?;
        crate::features::check(&self.features).map_err(|e| anyhow::anyhow!("features: {e}"))?;
        self.runtime()?;
        self.facet()?;
        self.cluster_options()?;
        crate::analysis::duplicates::check_threshold(self.duplicates.threshold)
            .map_err(|rule| anyhow::anyhow!("duplicates.threshold: {rule}"))?;
        crate::dedupe::KeepRule::parse_list(&self.duplicates.keep, Path::new("/"))
            .map_err(|rule| anyhow::anyhow!("duplicates.keep: {rule}"))?;
        anyhow::ensure!(
            self.explore.neighbours >= 1,
            "explore.neighbours: at least 1"
        );
        Ok(())
    }

    /// The user's configuration file: `~/.config/imgtui/config.toml` on Linux.
    pub fn user_file() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "imgtui").map(|d| d.config_dir().join("config.toml"))
    }

    /// The defaults overlaid with `file` (`--config`, which must exist) or else the user's
    /// file (if there is one). A file may set any subset of the settings; an unknown key, a
    /// wrong type or a bad value is an error naming the file, line and key, and nothing of
    /// a bad file is used.
    pub fn load(file: Option<&Path>) -> anyhow::Result<(Config, Sources)> {
        let mut table: toml::Table = toml::from_str(DEFAULT).expect("the built-in defaults parse");
        let mut origins = std::collections::BTreeMap::new();
        for key in leaf_keys(&table, "") {
            origins.insert(key, "default".to_owned());
        }
        let file = match file {
            Some(f) => Some(f.to_path_buf()),
            None => Self::user_file().filter(|f| f.is_file()),
        };
        let Some(file) = file else {
            let config = Config::parse(DEFAULT, "config/default.toml")?;
            let values = table;
            return Ok((config, Sources { values, origins }));
        };
        let origin = crate::text::shown(&file).to_string();
        let text = std::fs::read_to_string(&file).with_context(|| origin.clone())?;
        let user: toml::Table =
            toml::from_str(&text).map_err(|e| toml_error(&text, &origin, &e))?;
        for key in leaf_keys(&user, "") {
            if !origins.contains_key(&key) {
                let at = locate(&text, &key);
                anyhow::bail!("{origin}{at}, key {key}: unknown setting");
            }
            origins.insert(key, origin.clone());
        }
        overlay(&mut table, user);
        // Type errors are found in the merged document, then pointed at in the user's file.
        let merged = toml::to_string(&table)?;
        let config: Config = toml::from_str(&merged).map_err(|e| {
            let key = e
                .span()
                .and_then(|span| key_at(&merged, span.start).1)
                .unwrap_or_default();
            let message = plain_types(&e.message().trim().replace('\n', " "));
            anyhow::anyhow!("{origin}{}, key {key}: {message}", locate(&text, &key))
        })?;
        config.check().map_err(|e| {
            // The check's messages start with the key ("cluster.k: …").
            let message = format!("{e:#}");
            let key = message.split([':', ' ']).next().unwrap_or_default();
            anyhow::anyhow!("{origin}{}, key {message}", locate(&text, key))
        })?;
        Ok((
            config,
            Sources {
                values: table,
                origins,
            },
        ))
    }

    /// In what way images are similar, as the setting `facet` says.
    ///
    /// Fails naming what is wrong with it (see [`crate::features::Space`]).
    pub fn facet(&self) -> anyhow::Result<crate::features::Space> {
        self.facet
            .parse()
            .map_err(|e: String| anyhow::anyhow!("facet: {e}"))
    }

    /// What runs a model, as the setting `runtime` says.
    ///
    /// Fails when it is not one of [`crate::features::RUNTIMES`].
    pub fn runtime(&self) -> anyhow::Result<crate::features::Runtime> {
        self.runtime
            .parse()
            .map_err(|e: String| anyhow::anyhow!("runtime: {e}"))
    }

    /// The store file this configuration names, if any (`~/` at its start is the home folder).
    pub fn store_path(&self) -> Option<PathBuf> {
        if self.store.is_empty() {
            return None;
        }
        // `~/…` is the user's home, as a shell would read it (a settings file is not one).
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        match (self.store.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => Some(home.join(rest)),
            _ => Some(PathBuf::from(&self.store)),
        }
    }

    /// The decoding options these settings give.
    ///
    /// Fails when `decode.background` is not a `#rrggbb` colour.
    pub fn decode_options(&self) -> anyhow::Result<DecodeOptions> {
        Ok(DecodeOptions {
            background: parse_colour(&self.decode.background)
                .with_context(|| format!("decode.background = {:?}", self.decode.background))?,
            max_side: self.decode.max_side,
            max_alloc: self.decode.max_decoded_mib << 20,
        })
    }

    /// How a folder is watched, as `[watch]` says; `debounce` is how long the folder must be
    /// quiet before a burst of file events counts as one change.
    pub fn watch_options(&self, debounce: Duration) -> crate::watch::WatchOptions {
        crate::watch::WatchOptions {
            debounce,
            rescan_every: Duration::from_secs(self.watch.rescan_seconds),
            events: self.watch.mode == WatchModeSetting::Auto,
        }
    }

    /// The indexing options these settings give.
    ///
    /// Fails as [`Config::decode_options`] does.
    pub fn index_options(&self) -> anyhow::Result<IndexOptions> {
        Ok(IndexOptions {
            decode: self.decode_options()?,
            threads: self.index.threads,
            batch: self.index.batch.max(1),
            batch_interval: Duration::from_millis(self.index.batch_interval_ms),
            max_file_bytes: self.index.max_file_mib << 20,
            thumbnails: self.index.thumbnails,
            facets: self.index.facets,
            shard: None,
        })
    }
}

impl Config {
    /// The clustering asked for when no flag says otherwise.
    pub fn cluster_request(&self) -> Request {
        self.cluster_options().expect("checked when parsed")
    }

    fn cluster_options(&self) -> anyhow::Result<Request> {
        let c = &self.cluster;
        let method = c
            .method
            .parse()
            .map_err(|e: String| anyhow::anyhow!("cluster.method: {e}"))?;
        let k: KChoice =
            c.k.parse()
                .map_err(|e: String| anyhow::anyhow!("cluster.k: {e}"))?;
        anyhow::ensure!(c.k_max >= 2, "cluster.k_max: at least 2");
        if c.eps != 0.0 {
            // 0 means: chosen automatically (dbscan::choose_eps).
            crate::analysis::clustering::check_eps(c.eps)
                .map_err(|rule| anyhow::anyhow!("cluster.eps: {rule}, or 0 for automatic"))?;
        }
        anyhow::ensure!(c.dims >= 2, "cluster.dims: at least 2");
        Ok(Request {
            method,
            k,
            k_max: c.k_max,
            eps: (c.eps > 0.0).then_some(c.eps),
            min_points: c.min_points.max(1),
            dims: c.dims,
            seed: c.seed,
            map: c
                .map
                .parse()
                .map_err(|e: String| anyhow::anyhow!("cluster.map: {e}"))?,
            ..Request::default()
        })
    }
}

/// Dotted paths of the values (not the tables) in `table`.
fn leaf_keys(table: &toml::Table, prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => keys.extend(leaf_keys(t, &path)),
            _ => keys.push(path),
        }
    }
    keys
}

/// Puts every value of `top` into `base`, table by table.
fn overlay(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => overlay(b, t),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// ", line N" where dotted `key` is set in `text` (under its `[section]`), or "".
fn locate(text: &str, key: &str) -> String {
    let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            current = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
        } else if current == section
            && line
                .split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == name)
        {
            return format!(", line {}", i + 1);
        }
    }
    String::new()
}

/// `#rrggbb` → `[r, g, b]`.
fn parse_colour(s: &str) -> anyhow::Result<[u8; 3]> {
    let hex = s.strip_prefix('#').unwrap_or(s);
    anyhow::ensure!(
        hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "expected a colour like \"#ffffff\""
    );
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
    Ok([byte(0), byte(2), byte(4)])
}

/// Most files [`IndexSection::batch`] may write per transaction: a batch is held in memory
/// (vectors, thumbnails, signatures: about 20 KB a file) until it is written.
pub const MAX_BATCH: usize = 100_000;

/// A setting written as text or as a number (`k = 8`, `k = "auto"`), kept as text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    match Either::deserialize(d) {
        Ok(Either::Text(text)) => Ok(text),
        Ok(Either::Number(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "expected \"auto\" or a number of clusters",
        )),
    }
}

/// A deserialiser's message with Rust's type names in words: `expected usize` reads
/// `expected a whole number (0 or more)`.
fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 12] = [
        ("usize", "a whole number (0 or more)"),
        ("u64", "a whole number (0 or more)"),
        ("u32", "a whole number (0 or more)"),
        ("u16", "a whole number (0 or more)"),
        ("u8", "a whole number (0 or more)"),
        ("isize", "a whole number"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("i16", "a whole number"),
        ("i8", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    let mut out = message.to_owned();
    for (rust, words) in WORDS {
        let from = format!("expected {rust}");
        let mut at = 0;
        while let Some(found) = out[at..].find(&from).map(|i| i + at) {
            let end = found + from.len();
            if out[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                at = end;
                continue;
            }
            out.replace_range(found..end, &format!("expected {words}"));
            at = found + "expected ".len() + words.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_layers_default_to_the_default_file() {
        let config = Config::default();
        assert_eq!(config.decode_options().unwrap(), DecodeOptions::default());
        assert_eq!(config.index_options().unwrap(), IndexOptions::default());
        assert_eq!(config.duplicates.keep, crate::dedupe::DEFAULT_KEEP);
        assert_eq!(
            config.duplicates.threshold,
            crate::analysis::duplicates::DUPLICATE_THRESHOLD
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let bad_key = DEFAULT.replace("max_side", "max_sides");
        let err = format!("{:#}", Config::parse(&bad_key, "test.toml").unwrap_err());
        assert!(
            err.contains("test.toml") && err.contains("max_sides"),
            "{err}"
        );
        let bad_colour = DEFAULT.replace("\"#ffffff\"", "\"white\"");
        let err = format!("{:#}", Config::parse(&bad_colour, "test.toml").unwrap_err());
        assert!(err.contains("decode.background"), "{err}");
    }

    /// A user file beside the defaults, loaded.
    fn load(text: &str) -> anyhow::Result<(Config, Sources)> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap();
        Config::load(Some(&file)).map_err(|e| {
            anyhow::anyhow!(
                "{}",
                format!("{e:#}").replace(&file.display().to_string(), "FILE")
            )
        })
    }

    #[test]
    fn a_user_file_overrides_some_settings() {
        let (config, sources) = load("features = \"hog\"\n[cluster]\nk = \"7\"\n").unwrap();
        assert_eq!(config.features, "hog");
        assert_eq!(config.cluster.k, "7");
        assert_eq!(config.cluster.k_max, 30, "the rest stays default");
        assert!(sources.origins["cluster.k"].ends_with("config.toml"));
        assert_eq!(sources.origins["cluster.k_max"], "default");
        let shown = sources.render();
        assert!(shown.contains("features = \"hog\""), "{shown}");
        let k = shown.lines().find(|l| l.starts_with("k = ")).unwrap();
        assert!(
            k.starts_with("k = \"7\"") && k.ends_with("config.toml"),
            "{shown}"
        );
    }

    /// `k` is written as a number or as text; either way it means the same.
    #[test]
    fn k_may_be_a_number_or_text() {
        for text in ["[cluster]\nk = 8\n", "[cluster]\nk = \"8\"\n"] {
            let (config, _) = load(text).unwrap();
            assert_eq!(config.cluster.k, "8", "{text}");
        }
        let err = format!("{:#}", load("[cluster]\nk = 2.5\n").unwrap_err());
        assert!(
            err.starts_with("FILE, line 2, key cluster.k: expected \"auto\" or a number"),
            "{err}"
        );
    }

    #[test]
    fn bad_user_files_name_the_line_and_key() {
        let cases = [
            (
                "[cluster]\nk_maks = 3\n",
                "FILE, line 2, key cluster.k_maks: unknown setting",
            ),
            (
                "[cluster]\n\nk_max = \"many\"\n",
                "FILE, line 3, key cluster.k_max: ",
            ),
            ("[cluster]\nk = \"lots\"\n", "FILE, line 2, key cluster.k: "),
            (
                "[index]\nbatch = \"x\"\n",
                "FILE, line 2, key index.batch: invalid type: string \"x\", expected a whole \
                 number (0 or more)",
            ),
            (
                "[index]\nbatch = 1000000000000\n",
                "FILE, line 2, key index.batch: from 1 to 100000 files, got 1000000000000",
            ),
            (
                "[index]\nbatch = -3\n",
                "FILE, line 2, key index.batch: invalid value: integer `-3`, expected a whole \
                 number (0 or more)",
            ),
            (
                "[decode]\nbackground = \"white\"\n",
                "FILE, line 2, key decode.background",
            ),
            ("[cluster\nk = 3\n", "FILE, line 1"),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", load(text).unwrap_err());
            assert!(err.starts_with(expected), "{text:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[test]
    fn a_store_path_may_start_at_home() {
        let mut config = Config::default();
        assert_eq!(config.store_path(), None);
        config.store = "/srv/s.sqlite".into();
        assert_eq!(config.store_path(), Some(PathBuf::from("/srv/s.sqlite")));
        config.store = "~/s.sqlite".into();
        let home = directories::BaseDirs::new()
            .unwrap()
            .home_dir()
            .to_path_buf();
        assert_eq!(config.store_path(), Some(home.join("s.sqlite")));
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_colour("#1a2B3c").unwrap(), [0x1a, 0x2b, 0x3c]);
        assert!(parse_colour("white").is_err());
    }
}
