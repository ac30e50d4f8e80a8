//! The answers of the headless commands, one `Serialize` type each: JSON and CSV are both
//! written from the same value, so the two formats cannot drift.
//!
//! Distances are cosine distances (`1 − cosine similarity`, 0..2). JSON rounds them and map
//! coordinates to 6 decimals, CSV prints them with 6. A path is a JSON string, or for a name
//! that is not UTF-8 an object `{"text": LOSSY, "bytes": BASE64}`; CSV writes it lossily.
//!
//! Each answer is also `Deserialize`, so its JSON reads back as the same type (the tests and
//! scripts in Rust do): a path as its exact bytes, a number as written (rounded), and a
//! `schema` other than the one this build writes is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analysis::clustering::{Clustering, Method, MethodFrom};
use crate::analysis::neighbours::Neighbour;
use crate::analysis::saved::Origin;
use crate::analysis::sweep::SweepRow;
use crate::collection::Collection;
use crate::dedupe::{Kind, Plan, Report, Status, Tier};
use crate::export::ExportReport;
use crate::index::Summary;
use crate::store::MergeReport;

/// The shape of every JSON answer but [`Actions`] (see [`ACTIONS_SCHEMA`]): it is written as
/// `"schema": SCHEMA` first in each, and it
/// goes up whenever a field is removed, renamed or changes meaning (new fields may be added
/// without it). Version 1: the shapes docs/reference.md documents.
pub const SCHEMA: u32 = 1;

/// `schema: ()` fields, written as [`SCHEMA`] and read back only when they say [`SCHEMA`].
mod schema {
    pub(super) fn serialize<S: serde::Serializer>(_: &(), s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(super::SCHEMA)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        super::expect_schema(d, super::SCHEMA)
    }
}

/// Reads a schema number, refusing any but `expected`: an answer of another shape.
fn expect_schema<'de, D: serde::Deserializer<'de>>(d: D, expected: u32) -> Result<(), D::Error> {
    let found = u32::deserialize(d)?;
    if found == expected {
        Ok(())
    } else {
        Err(serde::de::Error::custom(format_args!(
            "schema {found}, but this build reads schema {expected}"
        )))
    }
}

/// The shape of [`Actions`] (`dups --action`, `--undo`), which has its own number since a
/// field changed meaning. Version 2: `done` counts only files acted on (0 in a dry run), and
/// `planned` counts a dry run's files; version 1 counted those as `done`.
pub const ACTIONS_SCHEMA: u32 = 2;

/// The `schema: ()` field of [`Actions`], written as [`ACTIONS_SCHEMA`] and read back only
/// when it says [`ACTIONS_SCHEMA`].
mod actions_schema {
    pub(super) fn serialize<S: serde::Serializer>(_: &(), s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(super::ACTIONS_SCHEMA)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        super::expect_schema(d, super::ACTIONS_SCHEMA)
    }
}

/// An answer that can be printed for scripts.
pub trait Answer: Serialize {
    /// The names of the CSV tables this answer has; the first is the default.
    const TABLES: &'static [&'static str] = &["rows"];

    /// Writes `table` (one of [`Answer::TABLES`]) as CSV with a header row.
    ///
    /// Fails when `out` fails; an unknown table writes the default one.
    fn write_csv(&self, table: &str, out: &mut dyn Write) -> std::io::Result<()>;

    /// Writes the answer as one line of JSON.
    ///
    /// Fails when `out` fails.
    fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(&mut *out, self)
    }
}

/// Writes `value` as one line of JSON with every control character escaped: serde_json escapes
/// C0 itself; DEL and the C1 controls are written as `\u007f`, `\u009b`… too, so the values stay
/// exact and no file name can drive a terminal the JSON is printed on.
pub fn write_json(out: &mut dyn Write, value: &(impl Serialize + ?Sized)) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, ControlsEscaped);
    value.serialize(&mut ser)?;
    out.write_all(b"\n")
}

/// serde_json's compact format, with DEL and C1 controls escaped (see [`write_json`]).
struct ControlsEscaped;

impl serde_json::ser::Formatter for ControlsEscaped {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_control() {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// A CSV writer that quotes fields when needed (commas, quotes, line breaks or other control
/// characters in file names), as RFC 4180 says. Text is UTF-8: a name that is not is written
/// lossily (JSON has its exact bytes).
pub struct Csv<W: Write> {
    out: W,
}

impl<W: Write> Csv<W> {
    /// Writes rows to `out`.
    pub fn new(out: W) -> Self {
        Csv { out }
    }

    /// Writes one row. Fails when the writer fails.
    pub fn row<I, S>(&mut self, fields: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for f in fields {
            if !first {
                self.out.write_all(b",")?;
            }
            first = false;
            let f = f.as_ref();
            if f.contains(|c: char| c == ',' || c == '"' || c.is_control()) {
                write!(self.out, "\"{}\"", f.replace('"', "\"\""))?;
            } else {
                self.out.write_all(f.as_bytes())?;
            }
        }
        self.out.write_all(b"\n")
    }
}

/// Writes the vectors of `c` as CSV: a header `path,c0,c1,…`, then one row per image, its path
/// then its unit vector's components (as exact as `f32` prints: each reads back to the same
/// value). The extractor's original lengths are not written.
///
/// Fails when the writer fails.
pub fn vectors_csv(c: &Collection, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = Csv::new(out);
    let header = (0..c.dim()).map(|k| format!("c{k}"));
    out.row(std::iter::once("path".to_owned()).chain(header))?;
    for (i, p) in c.paths.iter().enumerate() {
        let values = c.row(i).into_iter().map(|v| v.to_string());
        out.row(std::iter::once(path_text(p)).chain(values))?;
    }
    Ok(())
}

/// A value rounded to 6 decimals, so JSON shows 0.122073 rather than 0.12207305431365967.
fn rounded<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((*v as f64 * 1e6).round() / 1e6)
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn six(v: f32) -> String {
    format!("{v:.6}")
}

/// One image in a ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// 1 for the nearest.
    pub rank: usize,
    /// The image.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Cosine distance to the query (0..2).
    #[serde(serialize_with = "rounded")]
    pub distance: f32,
}

/// `imgtui similar`: the images nearest a query image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Similar {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The query image, absolute.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub query: PathBuf,
    /// Whether the query is one of the collection's images (it is then left out).
    pub in_collection: bool,
    /// Nearest first.
    pub neighbours: Vec<Ranked>,
}

impl Similar {
    /// The answer for `query` from neighbours found in `c`.
    pub fn new(query: PathBuf, in_collection: bool, c: &Collection, found: &[Neighbour]) -> Self {
        let neighbours = found
            .iter()
            .enumerate()
            .map(|(rank, x)| Ranked {
                rank: rank + 1,
                path: c.paths[x.index].clone(),
                distance: x.distance,
            })
            .collect();
        Similar {
            schema: (),
            query,
            in_collection,
            neighbours,
        }
    }
}

impl Answer for Similar {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["rank", "path", "distance"])?;
        for r in &self.neighbours {
            out.row([r.rank.to_string(), path_text(&r.path), six(r.distance)])?;
        }
        Ok(())
    }
}

/// One term of a search query as the user gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryTerm {
    /// `+` (added) or `-` (taken away).
    pub sign: char,
    /// Words, embedded by the text encoder (absent for an image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An image file, embedded by the image encoder (absent for words).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serialize_optional_path",
        deserialize_with = "crate::deserialize_optional_path"
    )]
    pub image: Option<PathBuf>,
}

/// One image found by a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// 1 for the most similar.
    pub rank: usize,
    /// The image.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Cosine similarity to the query (−1..1; a CLIP text query scores about 0.2–0.35 on the
    /// images that fit it).
    #[serde(serialize_with = "rounded")]
    pub score: f32,
}

/// `imgtui search`: the collection ranked by likeness to a query of words and images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The query's terms in order.
    pub query: Vec<QueryTerm>,
    /// Most similar first.
    pub results: Vec<Scored>,
}

impl Search {
    /// The answer for `terms` from `found` in `c` (cosine distances, as [`Session::search`]
    /// gives them).
    ///
    /// [`Session::search`]: crate::Session::search
    pub fn new(terms: &[crate::session::Signed], c: &Collection, found: &[Neighbour]) -> Self {
        use crate::session::Term;
        let query = terms
            .iter()
            .map(|t| QueryTerm {
                sign: if t.minus { '-' } else { '+' },
                text: match &t.term {
                    Term::Text(words) => Some(words.clone()),
                    Term::Image(_) => None,
                },
                image: match &t.term {
                    Term::Image(path) => Some(path.clone()),
                    Term::Text(_) => None,
                },
            })
            .collect();
        let results = found
            .iter()
            .enumerate()
            .map(|(rank, x)| Scored {
                rank: rank + 1,
                path: c.paths[x.index].clone(),
                score: 1.0 - x.distance,
            })
            .collect();
        Search {
            schema: (),
            query,
            results,
        }
    }
}

impl Answer for Search {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["rank", "path", "score"])?;
        for r in &self.results {
            out.row([r.rank.to_string(), path_text(&r.path), six(r.score)])?;
        }
        Ok(())
    }
}

/// One image's neighbour in the kNN graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// The neighbour.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Cosine distance between the two (0..2).
    #[serde(serialize_with = "rounded")]
    pub distance: f32,
}

/// One image and its nearest neighbours, nearest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The image.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Its nearest images, nearest first.
    pub neighbours: Vec<Edge>,
}

/// `imgtui neighbours`: the kNN graph, one node per image in collection order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbours {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// Every image with its nearest neighbours.
    pub images: Vec<Node>,
}

impl Neighbours {
    /// The graph `graph` (row `i` holds image `i`'s neighbours) over the images of `c`.
    pub fn new(c: &Collection, graph: &[Vec<Neighbour>]) -> Self {
        let images = graph
            .iter()
            .enumerate()
            .map(|(i, row)| Node {
                path: c.paths[i].clone(),
                neighbours: row
                    .iter()
                    .map(|x| Edge {
                        path: c.paths[x.index].clone(),
                        distance: x.distance,
                    })
                    .collect(),
            })
            .collect();
        Neighbours { schema: (), images }
    }
}

impl Answer for Neighbours {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["path", "rank", "neighbour", "distance"])?;
        for node in &self.images {
            let path = path_text(&node.path);
            for (rank, e) in node.neighbours.iter().enumerate() {
                out.row([
                    path.clone(),
                    (rank + 1).to_string(),
                    path_text(&e.path),
                    six(e.distance),
                ])?;
            }
        }
        Ok(())
    }
}

/// A file of a duplicate group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    /// The file.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// `exact` when another file of the group has the same content, else `near`.
    pub kind: Kind,
    /// Whether the file stays: the one the keep rules keep, or one no action moves (a
    /// symlink, or a file a symlink of the folder leads to).
    pub keep: bool,
    /// Size in bytes.
    pub bytes: u64,
    /// Width in pixels, from the header (null when it does not say).
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
}

/// A group of duplicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// 1, 2, …
    pub group: usize,
    /// The images of the group, in collection order.
    #[serde(
        serialize_with = "crate::serialize_paths",
        deserialize_with = "crate::deserialize_paths"
    )]
    pub paths: Vec<PathBuf>,
    /// `exact` when every file has the same content, else `near`.
    pub kind: Kind,
    /// `exact` (the same bytes), `same-picture` (the pixels confirm it) or `similar` (alike to
    /// the embedding only).
    pub tier: Tier,
    /// Whether an action acts on the group: exact and same-picture groups, similar ones only
    /// with `--include-similar`.
    pub acted: bool,
    /// The file kept by the keep rules.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub keeper: PathBuf,
    /// The files with what is known of each, in collection order.
    pub members: Vec<GroupMember>,
}

/// `imgtui dups`: groups of exact and near duplicates, each with its keeper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicates {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The keep rules, e.g. `best`.
    pub keep: String,
    /// The groups, largest first.
    pub groups: Vec<Group>,
}

impl Duplicates {
    /// The groups of `plan`, keepers marked.
    pub fn new(plan: &Plan) -> Self {
        let groups = plan
            .groups
            .iter()
            .enumerate()
            .map(|(g, pg)| Group {
                group: g + 1,
                paths: pg.members.iter().map(|m| m.facts.path.clone()).collect(),
                kind: pg.kind(),
                tier: pg.tier,
                acted: pg.acted,
                keeper: pg.members[pg.keeper].facts.path.clone(),
                members: pg
                    .members
                    .iter()
                    .zip(&pg.kinds)
                    .enumerate()
                    .map(|(i, (m, &kind))| GroupMember {
                        path: m.facts.path.clone(),
                        kind,
                        keep: i == pg.keeper || m.stays(),
                        bytes: m.facts.bytes,
                        width: m.facts.pixels.map(|p| p.0),
                        height: m.facts.pixels.map(|p| p.1),
                    })
                    .collect(),
            })
            .collect();
        let keep: Vec<String> = plan.rules.iter().map(|r| r.to_string()).collect();
        Duplicates {
            schema: (),
            keep: keep.join(","),
            groups,
        }
    }
}

impl Answer for Duplicates {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row([
            "group", "path", "kind", "keep", "bytes", "width", "height", "tier", "acted",
        ])?;
        let or_empty = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
        for g in &self.groups {
            for m in &g.members {
                out.row([
                    g.group.to_string(),
                    path_text(&m.path),
                    m.kind.name().to_owned(),
                    m.keep.to_string(),
                    m.bytes.to_string(),
                    or_empty(m.width),
                    or_empty(m.height),
                    g.tier.name().to_owned(),
                    g.acted.to_string(),
                ])?;
            }
        }
        Ok(())
    }
}

/// One file of a move, trash or undo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileAction {
    /// The file's group (0 for an undo).
    pub group: usize,
    /// The file as it was.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Where it went or would go (a move's target; the file in the trash's `files/` folder;
    /// for an undo, the place it was put back); null when not known (a dry run's trash).
    #[serde(
        serialize_with = "crate::serialize_optional_path",
        deserialize_with = "crate::deserialize_optional_path"
    )]
    pub to: Option<PathBuf>,
    /// Size in bytes.
    pub bytes: u64,
    /// `done`, `planned` (a dry run) or `left` (left in place).
    pub status: FileStatus,
    /// Why it was left, when it was.
    pub reason: Option<String>,
}

/// What became of one file of [`Actions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Moved, trashed or put back.
    Done,
    /// A dry run would act on it.
    Planned,
    /// Left in place (see [`FileAction::reason`]).
    Left,
}

impl FileStatus {
    /// `done`, `planned` or `left`, as JSON and CSV write it.
    pub fn name(self) -> &'static str {
        match self {
            FileStatus::Done => "done",
            FileStatus::Planned => "planned",
            FileStatus::Left => "left",
        }
    }
}

/// `imgtui dups --action move:…|trash` and `--undo`: what happened to each file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actions {
    /// [`ACTIONS_SCHEMA`].
    #[serde(with = "actions_schema")]
    pub schema: (),
    /// `move`, `trash` or `undo`.
    pub action: String,
    /// Whether nothing was changed (`--dry-run`).
    pub dry_run: bool,
    /// The journal's batch written or undone; null for a dry run or when there was nothing.
    pub batch: Option<i64>,
    /// Every file.
    pub files: Vec<FileAction>,
    /// Files done: moved, trashed or put back (0 in a dry run).
    pub done: usize,
    /// Files a dry run would act on (0 otherwise).
    pub planned: usize,
    /// Files left in place.
    pub left: usize,
    /// Bytes moved out of the folder, or put back by an undo (or that would be).
    pub bytes: u64,
}

impl From<&Report> for Actions {
    fn from(r: &Report) -> Self {
        let files = r
            .outcomes
            .iter()
            .map(|o| FileAction {
                group: o.group,
                path: o.from.clone(),
                to: o.to.as_ref().filter(|p| !p.as_os_str().is_empty()).cloned(),
                bytes: o.bytes,
                status: match o.status {
                    Status::Done => FileStatus::Done,
                    Status::Planned => FileStatus::Planned,
                    Status::Left(_) => FileStatus::Left,
                },
                reason: match &o.status {
                    Status::Left(why) => Some(why.clone()),
                    _ => None,
                },
            })
            .collect();
        Actions {
            schema: (),
            action: r.action.name().to_owned(),
            dry_run: r.dry_run,
            batch: r.batch,
            files,
            done: r.done(),
            planned: r.planned(),
            left: r.left(),
            bytes: r.bytes(),
        }
    }
}

impl Answer for Actions {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["group", "path", "to", "bytes", "status", "reason"])?;
        for f in &self.files {
            out.row([
                f.group.to_string(),
                path_text(&f.path),
                f.to.as_deref().map(path_text).unwrap_or_default(),
                f.bytes.to_string(),
                f.status.name().to_owned(),
                f.reason.clone().unwrap_or_default(),
            ])?;
        }
        Ok(())
    }
}

/// One image of the odd ones out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OddOne {
    /// 1 for the most odd.
    pub rank: usize,
    /// The image.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Mean cosine distance to its k nearest other images (0..2).
    #[serde(serialize_with = "rounded")]
    pub score: f32,
}

/// `imgtui outliers`: the images least like any other, most odd first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outliers {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// Neighbours averaged per image.
    pub k: usize,
    /// The images, most odd first.
    pub images: Vec<OddOne>,
}

impl Outliers {
    /// The first `n` of `ranked` (rows of `c` with their scores, most odd first).
    pub fn new(c: &Collection, k: usize, ranked: &[(usize, f32)], n: usize) -> Self {
        let images = ranked
            .iter()
            .take(n)
            .enumerate()
            .map(|(rank, &(i, score))| OddOne {
                rank: rank + 1,
                path: c.paths[i].clone(),
                score,
            })
            .collect();
        Outliers {
            schema: (),
            k,
            images,
        }
    }
}

impl Answer for Outliers {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["rank", "path", "score"])?;
        for im in &self.images {
            out.row([im.rank.to_string(), path_text(&im.path), six(im.score)])?;
        }
        Ok(())
    }
}

/// An ImageNet class behind a cluster's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassShare {
    /// The ImageNet class name.
    pub class: String,
    /// Softmax probability of the class for the cluster's mean logits.
    #[serde(serialize_with = "rounded")]
    pub probability: f32,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRow {
    /// 1, 2, … by size; 0 for DBSCAN's unclustered images.
    pub cluster: usize,
    /// Images in the cluster.
    pub size: usize,
    /// Its name: the user's when they named it, else `generated_name`.
    pub name: String,
    /// Its name from the model's classes (empty without a classifier head).
    pub generated_name: String,
    /// The classes behind the generated name.
    pub classes: Vec<ClassShare>,
}

/// One image of a clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRow {
    /// The image.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Its cluster's number.
    pub cluster: usize,
    /// Its cluster's name (CSV only; JSON has it once per cluster, so it is empty when an
    /// answer is read back from JSON: see [`ClusterRow::name`]).
    #[serde(skip)]
    pub name: String,
    /// Cosine distance to the cluster's centre.
    #[serde(serialize_with = "rounded")]
    pub distance: f32,
    /// First coordinate on the 2-D map.
    #[serde(serialize_with = "rounded")]
    pub x: f32,
    /// Second coordinate on the map.
    #[serde(serialize_with = "rounded")]
    pub y: f32,
    /// Its cell's column in the lattice (each image its own cell of one near-square grid,
    /// laid out from the map: [`crate::analysis::lattice`]); 0 at the left.
    pub gx: u32,
    /// Its cell's row in the lattice; 0 at the top.
    pub gy: u32,
}

/// `imgtui cluster`: the clustering of a folder, its clusters, the k sweep and every image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The folder, absolute.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub root: PathBuf,
    /// The feature id of the vectors.
    pub feature: String,
    /// kmeans, gmm, agglomerative or dbscan.
    pub method: Method,
    /// Where the method came from: `asked` (--method), `saved` (the folder's saved
    /// clustering was made by it, and it is used until another is asked for) or `settings`.
    pub method_from: MethodFrom,
    /// Number of clusters (not counting DBSCAN's unclustered images).
    pub k: usize,
    /// DBSCAN's radius, when it ran.
    pub eps: Option<f32>,
    /// Why this k (or eps).
    pub reason: String,
    /// Whether the saved clustering was reused.
    pub saved: bool,
    /// Images added since it was saved, assigned to the nearest cluster.
    pub new_images: usize,
    /// The user's edits (names, merges, splits, moves) in effect on it.
    pub edits: usize,
    /// Share of the variance the clustering space keeps (0..1).
    #[serde(serialize_with = "rounded")]
    pub explained_variance: f32,
    /// The clusters, largest first.
    pub clusters: Vec<ClusterRow>,
    /// The k sweep (inertia, distortion, silhouette, gap per k), when k was chosen.
    pub sweep: Option<Vec<SweepRow>>,
    /// Every image, in collection order.
    pub images: Vec<ImageRow>,
}

impl Clusters {
    /// The answer for `clustering` of `c` (row-aligned), found as `origin` says.
    pub fn new(
        root: &Path,
        feature: &str,
        c: &Collection,
        clustering: &Clustering,
        origin: Origin,
    ) -> Self {
        let clusters = clustering
            .clusters
            .iter()
            .map(|cl| ClusterRow {
                cluster: cl.number,
                size: cl.size,
                name: cl.name.clone(),
                generated_name: cl.generated_name.clone(),
                classes: cl
                    .classes
                    .iter()
                    .map(|(class, p)| ClassShare {
                        class: class.clone(),
                        probability: *p,
                    })
                    .collect(),
            })
            .collect();
        let (_, cells) = clustering.lattice();
        let images = (0..c.len())
            .map(|i| {
                let cl = &clustering.clusters[clustering.labels[i]];
                let [gx, gy] = cells.get(i).copied().unwrap_or_default();
                ImageRow {
                    path: c.paths[i].clone(),
                    cluster: cl.number,
                    name: cl.name.clone(),
                    distance: clustering.distances[i],
                    x: clustering.map[i][0],
                    y: clustering.map[i][1],
                    gx,
                    gy,
                }
            })
            .collect();
        Clusters {
            schema: (),
            root: root.to_owned(),
            feature: feature.to_owned(),
            method: clustering.request.method,
            method_from: clustering.method_from,
            k: clustering.k,
            eps: clustering.eps,
            reason: clustering.reason.clone(),
            saved: origin != Origin::Fitted,
            new_images: match origin {
                Origin::Saved { new_images } => new_images,
                Origin::Fitted => 0,
            },
            edits: clustering.edits,
            explained_variance: clustering.explained,
            clusters,
            sweep: clustering.sweep.as_ref().map(|s| s.rows.clone()),
            images,
        }
    }
}

impl Answer for Clusters {
    const TABLES: &'static [&'static str] = &["images", "clusters", "sweep"];

    fn write_csv(&self, table: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        match table {
            "clusters" => {
                out.row(["cluster", "size", "name", "generated_name"])?;
                for cl in &self.clusters {
                    out.row([
                        cl.cluster.to_string(),
                        cl.size.to_string(),
                        cl.name.clone(),
                        cl.generated_name.clone(),
                    ])?;
                }
            }
            "sweep" => {
                out.row(["k", "inertia", "distortion", "silhouette", "gap", "gap_sd"])?;
                for r in self.sweep.iter().flatten() {
                    out.row([
                        r.k.to_string(),
                        format!("{:.6}", r.inertia),
                        format!("{:.6}", r.distortion),
                        six(r.silhouette),
                        six(r.gap),
                        six(r.gap_sd),
                    ])?;
                }
            }
            _ => {
                out.row(["path", "cluster", "name", "distance", "x", "y", "gx", "gy"])?;
                for im in &self.images {
                    out.row([
                        path_text(&im.path),
                        im.cluster.to_string(),
                        im.name.clone(),
                        six(im.distance),
                        six(im.x),
                        six(im.y),
                        im.gx.to_string(),
                        im.gy.to_string(),
                    ])?;
                }
            }
        }
        Ok(())
    }
}

/// A file that could not be exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotExported {
    /// The file.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub path: PathBuf,
    /// Why it could not be exported.
    pub reason: String,
}

/// `imgtui export`: where the files went and how many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The folder the files went to.
    #[serde(
        serialize_with = "crate::serialize_path",
        deserialize_with = "crate::deserialize_path"
    )]
    pub target: PathBuf,
    /// Files copied or linked.
    pub written: usize,
    /// Files already there with the same content.
    pub already_there: usize,
    /// Files that could not be exported.
    pub failed: Vec<NotExported>,
}

impl From<&ExportReport> for Exported {
    fn from(r: &ExportReport) -> Self {
        Exported {
            schema: (),
            target: std::path::absolute(&r.target).unwrap_or_else(|_| r.target.clone()),
            written: r.written,
            already_there: r.already_there,
            failed: r
                .failed
                .iter()
                .map(|(path, reason)| NotExported {
                    path: path.clone(),
                    reason: reason.clone(),
                })
                .collect(),
        }
    }
}

impl Answer for Exported {
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["target", "written", "already_there", "failed"])?;
        out.row([
            path_text(&self.target),
            self.written.to_string(),
            self.already_there.to_string(),
            self.failed.len().to_string(),
        ])
    }
}

/// An answer whose type belongs to a lower layer ([`Summary`], [`MergeReport`]) with
/// [`SCHEMA`] first, as its JSON is written; read `Versioned<Summary>` to read one back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// [`SCHEMA`].
    #[serde(with = "schema")]
    pub schema: (),
    /// The answer itself, its fields beside `schema`.
    #[serde(flatten)]
    pub answer: T,
}

impl Answer for Summary {
    /// The summary with [`SCHEMA`] first (the summary itself is the indexer's, a layer below).
    fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let versioned = Versioned {
            schema: (),
            answer: self,
        };
        write_json(out, &versioned)
    }

    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["path", "skipped_because"])?;
        for s in &self.skipped {
            out.row([path_text(&s.path), s.reason.clone()])?;
        }
        Ok(())
    }
}

impl Answer for MergeReport {
    const TABLES: &'static [&'static str] = &["conflicts"];

    /// The report with [`SCHEMA`] first (the report itself is the store's, a layer below).
    fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let versioned = Versioned {
            schema: (),
            answer: self,
        };
        write_json(out, &versioned)
    }

    /// One row per conflict: `kind` (vector or file), `key` (hash/feature, or path), the
    /// `input` store and which row was `kept` (out or input).
    fn write_csv(&self, _: &str, out: &mut dyn Write) -> std::io::Result<()> {
        let mut out = Csv::new(out);
        out.row(["kind", "key", "input", "kept"])?;
        for v in &self.vector_conflicts {
            out.row([
                "vector".to_owned(),
                format!("{}/{}", v.hash, v.feature),
                path_text(&v.input),
                "out".to_owned(),
            ])?;
        }
        for f in &self.file_conflicts {
            out.row([
                "file".to_owned(),
                path_text(&f.path),
                path_text(&f.input),
                if f.kept_input { "input" } else { "out" }.to_owned(),
            ])?;
        }
        Ok(())
    }
}

/// The one-line summary of a merge, e.g. `3 stores merged: 500 vectors added, 0 already
/// there, 500 thumbnails, 500 files added (0 replaced, 0 already there), 0 vectors differ,
/// 0 files whose stat differs`.
impl std::fmt::Display for MergeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stores = self.inputs.len();
        write!(
            f,
            "{stores} store{} merged: {} vectors added, {} already there, {} thumbnails, \
             {} files added ({} replaced, {} already there), {} vectors differ, \
             {} files whose stat differs",
            if stores == 1 { "" } else { "s" },
            self.vectors_added,
            self.vectors_present,
            self.thumbnails_added,
            self.files_added,
            self.files_replaced,
            self.files_present,
            self.vector_conflicts.len(),
            self.file_conflicts.len()
        )?;
        match self.not_duplicates_added {
            0 => Ok(()),
            n => write!(f, ", {n} pairs marked not duplicates added"),
        }
    }
}

/// The one line about a clustering that the commands print on stderr: how many clusters, by
/// which method, whether it was reused, and why this k.
pub fn about(c: &Clustering, origin: Origin) -> String {
    let from = match origin {
        Origin::Saved { new_images: 0 } => "saved clustering".to_owned(),
        Origin::Saved { new_images } => {
            format!("saved clustering, {new_images} new images assigned to the nearest cluster")
        }
        Origin::Fitted => "fitted".to_owned(),
    };
    let from = match c.edits {
        0 => from,
        1 => format!("{from}, 1 edit"),
        n => format!("{from}, {n} edits"),
    };
    format!(
        "{} clusters by {} ({}; {from}): {}",
        c.k,
        c.request.method.name(),
        c.method_from.describe(),
        c.reason
    )
}

/// The one-line summary of an indexing run, e.g. `500 found, 500 embedded, 0 cached,
/// 0 skipped, 500 thumbnails in 12.04 s (41.5 images/s)` (removed files and thumbnails made
/// are named when there are any), and for a sharded run
/// starting `shard 2/3: 170 of 500 found, …`.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.interrupted {
            f.write_str("interrupted: ")?;
        }
        match &self.shard {
            Some(s) => write!(
                f,
                "shard {}/{}: {} of {} found",
                s.index, s.count, s.files, self.found
            )?,
            None => write!(f, "{} found", self.found)?,
        }
        write!(
            f,
            ", {} embedded, {} cached, {} skipped",
            self.embedded,
            self.cached,
            self.skipped.len()
        )?;
        if self.removed > 0 {
            write!(f, ", {} removed", self.removed)?;
        }
        if self.thumbnails > 0 {
            write!(f, ", {} thumbnails", self.thumbnails)?;
        }
        write!(f, " in {:.2} s", self.seconds)?;
        if self.embedded > 0 {
            write!(f, " ({:.1} images/s)", self.images_per_second)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_are_quoted() {
        let mut buf = Vec::new();
        Csv::new(&mut buf)
            .row(["a", "b,c", "say \"hi\"", "x\ny"])
            .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\n"
        );
    }

    #[test]
    fn json_and_csv_come_from_the_same_value() {
        let mut c = Collection::default();
        // Components exact in half precision, as the collection keeps them.
        let rows = [
            [1.0, 0.0, 0.0, 0.0],
            [0.5, 0.5, 0.5, 0.5],
            [0.0, 1.0, 0.0, 0.0],
        ];
        for (i, v) in rows.iter().enumerate() {
            c.push(format!("/art/{i}.png").into(), [i as u8; 32], v, 1.0);
        }
        let found = crate::analysis::neighbours::query(
            &c,
            &c.row(0),
            crate::analysis::neighbours::Select::Nearest(2),
            Some(0),
        );
        let answer = Similar::new("/art/0.png".into(), true, &c, &found);
        let mut json = Vec::new();
        answer.write_json(&mut json).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["neighbours"][0]["path"], "/art/1.png");
        assert_eq!(json["neighbours"][0]["distance"], 0.5);
        assert_eq!(json["neighbours"][1]["rank"], 2);
        let mut csv = Vec::new();
        answer.write_csv("rows", &mut csv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "rank,path,distance\n1,/art/1.png,0.500000\n2,/art/2.png,1.000000\n"
        );
    }

    #[test]
    fn answers_read_back_as_their_type() {
        let answer = Actions {
            schema: (),
            action: "move".into(),
            dry_run: false,
            batch: Some(3),
            files: vec![FileAction {
                group: 1,
                path: "/art/a.png".into(),
                to: None,
                bytes: 12,
                status: FileStatus::Left,
                reason: Some("gone".into()),
            }],
            done: 0,
            planned: 0,
            left: 1,
            bytes: 0,
        };
        let mut json = Vec::new();
        answer.write_json(&mut json).unwrap();
        assert_eq!(serde_json::from_slice::<Actions>(&json).unwrap(), answer);

        let report = MergeReport {
            inputs: vec!["/a.sqlite".into()],
            vectors_added: 5,
            ..MergeReport::default()
        };
        let mut json = Vec::new();
        report.write_json(&mut json).unwrap();
        let back: Versioned<MergeReport> = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.answer, report);
    }

    #[test]
    fn another_schema_is_refused() {
        let json = r#"{"schema":2,"query":"/q.png","in_collection":false,"neighbours":[]}"#;
        let err = serde_json::from_str::<Similar>(json).unwrap_err();
        assert!(err.to_string().contains("schema 2"), "{err}");
        let json = json.replace("\"schema\":2", "\"schema\":1");
        assert!(serde_json::from_str::<Similar>(&json).is_ok());
        // Actions have their own number.
        let json = r#"{"schema":1,"action":"undo","dry_run":false,"batch":null,"files":[],
            "done":0,"planned":0,"left":0,"bytes":0}"#;
        assert!(serde_json::from_str::<Actions>(json).is_err());
        assert!(serde_json::from_str::<Actions>(&json.replace(":1,", ":2,")).is_ok());
    }
}
