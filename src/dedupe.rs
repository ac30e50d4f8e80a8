//! Resolving duplicate groups: choose one file to keep in each group by rules, then move or
//! trash the others, journalled in the store so a batch can be undone.
//!
//! Safety, in this order: the keeper of a group is never touched, and a group whose keeper is
//! gone when the action runs is left whole; a file is acted on only while its content is still
//! the one that was indexed (its blake3 hash is checked first); a move never replaces a file
//! (an existing target is reported and the file left in place) and never leaves half a file
//! (across file systems: copy to a temporary name in the target folder, fsync, rename, and
//! only then remove the source; any failure removes the copy); every action is written to the
//! journal before the file is touched (`started`) and marked `done` after.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use std::collections::HashSet;

use crate::analysis::duplicates;
pub use crate::analysis::duplicates::Tier;
use crate::collection::{Collection, Hash};
pub use crate::decode::encoding::Encoding;
use crate::error::{Error, Result};
use crate::store::{JournalAction, JournalEntry, JournalState, Store};

/// The keep rules unless told otherwise (setting `duplicates.keep`): [`KeepRule::Best`].
pub const DEFAULT_KEEP: &str = "best";

/// One rule for choosing the file to keep in a group of duplicates. Rules chain left to
/// right, each breaking the ties of those before it; path order breaks the last tie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepRule {
    /// The best copy: the most pixels, then lossless over lossy, then the higher JPEG
    /// quality (the less processed copy, see [`crate::decode::encoding::jpeg_quality`]),
    /// then the earliest modification time (the original before its edits).
    Best,
    /// The most pixels (width × height, from the image header), then the most bytes.
    Largest,
    /// The latest modification time.
    Newest,
    /// The earliest modification time.
    Oldest,
    /// The shortest path (in bytes).
    ShortestPath,
    /// A file under this folder (`path:PREFIX`). A relative prefix is relative to the
    /// collection's folder once [`KeepRule::parse_list`] has resolved it.
    Under(PathBuf),
}

impl std::str::FromStr for KeepRule {
    type Err = String;

    /// `best`, `largest`, `newest`, `oldest`, `shortest-path` or `path:PREFIX`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim() {
            "best" => Ok(KeepRule::Best),
            "largest" => Ok(KeepRule::Largest),
            "newest" => Ok(KeepRule::Newest),
            "oldest" => Ok(KeepRule::Oldest),
            "shortest-path" => Ok(KeepRule::ShortestPath),
            other => match other.strip_prefix("path:") {
                Some(prefix) if !prefix.is_empty() => Ok(KeepRule::Under(prefix.into())),
                _ => Err(format!(
                    "unknown keep rule {other:?}: best, largest, newest, oldest, shortest-path \
                     or path:FOLDER, several joined by commas"
                )),
            },
        }
    }
}

impl std::fmt::Display for KeepRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeepRule::Best => f.write_str("best"),
            KeepRule::Largest => f.write_str("largest"),
            KeepRule::Newest => f.write_str("newest"),
            KeepRule::Oldest => f.write_str("oldest"),
            KeepRule::ShortestPath => f.write_str("shortest-path"),
            KeepRule::Under(p) => write!(f, "path:{}", p.display()),
        }
    }
}

impl KeepRule {
    /// Parses comma-separated rules (`largest,oldest`), making each `path:` prefix absolute
    /// against `root`.
    ///
    /// Fails with the rule that is wrong, when there is none, and when a `path:` folder does
    /// not exist.
    pub fn parse_list(text: &str, root: &Path) -> std::result::Result<Vec<KeepRule>, String> {
        let rules = text
            .split(',')
            .map(|r| {
                Ok(match r.parse()? {
                    KeepRule::Under(p) => {
                        let folder = root.join(&p);
                        // A misspelt folder would silently keep by the other rules.
                        if !folder.is_dir() {
                            return Err(format!(
                                "path:{}: no such folder ({})",
                                crate::text::shown(&p),
                                crate::text::shown(&folder)
                            ));
                        }
                        KeepRule::Under(fs::canonicalize(&folder).unwrap_or(folder))
                    }
                    rule => rule,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(rules)
    }
}

/// What the keep rules look at in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The file, absolute.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its modification time.
    pub modified: SystemTime,
    /// Width and height in pixels, from the image header (`None` where the header does not
    /// say, e.g. formats the `image` crate does not read).
    pub pixels: Option<(u32, u32)>,
    /// How its pixels are stored (lossless, or lossy at what JPEG quality), from its header.
    pub encoding: Encoding,
}

/// The facts of each file, in order: size and modification time from its metadata, pixels
/// and encoding from its header only (nothing is decoded).
///
/// Each fails when its file cannot be read.
pub fn file_facts(paths: &[PathBuf]) -> Vec<anyhow::Result<FileFacts>> {
    paths
        .iter()
        .map(|path| {
            let meta = fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", crate::text::shown(path)))?;
            Ok(FileFacts {
                path: path.clone(),
                bytes: meta.len(),
                modified: meta.modified()?,
                pixels: image::image_dimensions(path).ok(),
                encoding: Encoding::of_file(path),
            })
        })
        .collect()
}

/// The index in `group` of the file to keep: the best by the first rule, ties broken by the
/// next, and the last tie by path order, so there is exactly one. `group` must not be empty.
pub fn keeper(group: &[FileFacts], rules: &[KeepRule]) -> usize {
    use std::cmp::Ordering as O;
    let px = |f: &FileFacts| f.pixels.map_or(0, |(w, h)| u64::from(w) * u64::from(h));
    let better = |a: &FileFacts, b: &FileFacts| -> O {
        for rule in rules {
            let order = match rule {
                KeepRule::Best => {
                    // Lossless, then lossy, then unknown; two JPEGs by their quality.
                    let quality = match (a.encoding, b.encoding) {
                        (
                            Encoding::Lossy { quality: Some(qa) },
                            Encoding::Lossy { quality: Some(qb) },
                        ) => qb.cmp(&qa),
                        _ => O::Equal,
                    };
                    let lossless = |e: Encoding| match e {
                        Encoding::Lossless => 2,
                        Encoding::Lossy { .. } => 1,
                        Encoding::Unknown => 0,
                    };
                    px(b)
                        .cmp(&px(a))
                        .then(lossless(b.encoding).cmp(&lossless(a.encoding)))
                        .then(quality)
                        .then(a.modified.cmp(&b.modified))
                }
                KeepRule::Largest => px(b).cmp(&px(a)).then(b.bytes.cmp(&a.bytes)),
                KeepRule::Newest => b.modified.cmp(&a.modified),
                KeepRule::Oldest => a.modified.cmp(&b.modified),
                KeepRule::ShortestPath => a.path.as_os_str().len().cmp(&b.path.as_os_str().len()),
                KeepRule::Under(prefix) => {
                    b.path.starts_with(prefix).cmp(&a.path.starts_with(prefix))
                }
            };
            if order != O::Equal {
                return order;
            }
        }
        a.path.cmp(&b.path)
    };
    (0..group.len())
        .min_by(|&i, &j| better(&group[i], &group[j]))
        .expect("a group has members")
}

/// What to do with the files that are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing: list the groups with their keepers.
    Report,
    /// Move each into this folder, at its path relative to the collection's folder.
    Move(PathBuf),
    /// Put each in the freedesktop.org trash.
    Trash,
}

impl std::str::FromStr for Action {
    type Err = String;

    /// `report`, `move:FOLDER` or `trash`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "report" => Ok(Action::Report),
            "trash" => Ok(Action::Trash),
            other => match other.strip_prefix("move:") {
                Some(folder) if !folder.is_empty() => Ok(Action::Move(folder.into())),
                _ => Err(format!(
                    "unknown action {other:?}: report, move:FOLDER or trash"
                )),
            },
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Report => f.write_str("report"),
            Action::Move(p) => write!(f, "move:{}", p.display()),
            Action::Trash => f.write_str("trash"),
        }
    }
}

impl Action {
    /// The action with a move's folder made absolute (against the working folder, through
    /// its nearest existing ancestor's real path).
    ///
    /// Fails with a bad request when the folder is inside `root`, or inside a folder the
    /// collection reaches through one of the symlinks `linked` (see
    /// [`crate::scan::Scan::linked`]): the moved files would join the collection; and when
    /// the working folder cannot be read.
    pub fn checked(self, root: &Path, linked: &[PathBuf]) -> Result<Action> {
        let Action::Move(folder) = self else {
            return Ok(self);
        };
        let resolved = crate::export::resolved_target(&folder)?;
        let through = crate::export::linked_holding(&resolved, linked);
        if resolved.starts_with(root) || through.is_some() {
            let link = through.map_or(String::new(), |link| {
                format!(" (through the link {})", crate::text::shown(link))
            });
            return Err(Error::bad_request(format_args!(
                "--action move:{}: the folder is inside the collection {}{link}; choose one \
                 outside it",
                crate::text::shown(&folder),
                crate::text::shown(root)
            )));
        }
        Ok(Action::Move(resolved))
    }
}

/// Whether a file has an identical copy in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Another file of the group has the same content (blake3 hash).
    Exact,
    /// Only alike: cosine similarity at or above the threshold, different content.
    Near,
}

impl Kind {
    /// `exact` or `near`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::Near => "near",
        }
    }
}

/// A file of a group: its facts and content hash.
#[derive(Debug, Clone)]
pub struct Member {
    /// Size, time, pixels.
    pub facts: FileFacts,
    /// Content hash (blake3), as indexed.
    pub hash: Hash,
    /// Another path of the collection reaches this file (a symlink in the folder leads to
    /// it): it is never moved or trashed, which would leave that link pointing nowhere, and
    /// it is kept before any keep rule is asked ([`keeper_of`]).
    pub linked: bool,
    /// This path is itself a symlink: it is never moved or trashed (that frees nothing, and
    /// a relative link moved elsewhere points nowhere).
    pub symlink: bool,
}

impl Member {
    /// The file of `facts`, of content `hash`, with whether a symlink of the folder leads to
    /// it (`linked`); whether its path is itself a symlink is looked up.
    pub fn new(facts: FileFacts, hash: Hash, linked: bool) -> Member {
        Member {
            symlink: is_symlink(&facts.path),
            facts,
            hash,
            linked,
        }
    }

    /// Whether an action leaves this file where it is whatever the keeper: a symlink, or a
    /// file a symlink of the folder leads to.
    pub fn stays(&self) -> bool {
        self.linked || self.symlink
    }
}

/// Whether `path` is itself a symbolic link.
pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The index in `members` of the file to keep: by `rules` ([`keeper`]) among the files a
/// symlink of the collection leads to ([`Member::linked`]) if there are any, else among all.
/// `members` must not be empty.
pub fn keeper_of(members: &[Member], rules: &[KeepRule]) -> usize {
    let linked: Vec<usize> = (0..members.len()).filter(|&i| members[i].linked).collect();
    let among: Vec<usize> = if linked.is_empty() {
        (0..members.len()).collect()
    } else {
        linked
    };
    let facts: Vec<FileFacts> = among.iter().map(|&i| members[i].facts.clone()).collect();
    among[keeper(&facts, rules)]
}

/// A group of [`groups`]: its files and how alike they are.
#[derive(Debug, Clone)]
pub struct Group {
    /// The files, in collection (path) order.
    pub members: Vec<Member>,
    /// Exact, same picture or similar ([`duplicates::tiered`]).
    pub tier: Tier,
    /// Whether an action acts on it: exact and same-picture groups, and similar ones only
    /// when asked (`--include-similar`).
    pub acted: bool,
}

/// What [`groups`] found.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// The groups, exact and same picture first, then similar; largest first in each.
    pub groups: Vec<Group>,
    /// Files that could not be read now, with why: left out of their groups (a group left
    /// with one file is dropped).
    pub unreadable: Vec<(PathBuf, String)>,
    /// Pairs the pixels could not confirm for want of a signature
    /// ([`duplicates::Tiered::unconfirmed`]).
    pub unconfirmed: usize,
}

/// `rows` (of `paths`, ascending) with each file that several of them reach kept once, each
/// with whether several did (a symlink leads to it): a symlink to another member, or two
/// links to one folder, name one file, not copies, and acting on one path would take the
/// other's file with it. Of a file's paths the real one (its own canonical path) is kept,
/// else the first; a path that cannot be looked at stays (its group reports it unreadable).
pub fn one_path_per_file(paths: &[PathBuf], rows: Vec<usize>) -> Vec<(usize, bool)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let real = |r: usize| fs::canonicalize(&paths[r]).is_ok_and(|p| p == paths[r]);
        let mut at: std::collections::HashMap<(u64, u64), usize> = Default::default();
        let mut out: Vec<(usize, bool)> = Vec::with_capacity(rows.len());
        for r in rows {
            let Ok(meta) = fs::metadata(&paths[r]) else {
                out.push((r, false));
                continue;
            };
            match at.entry((meta.dev(), meta.ino())) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let k = *e.get();
                    if !real(out[k].0) && real(r) {
                        out[k].0 = r;
                    }
                    out[k].1 = true;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push((r, false));
                }
            }
        }
        out.sort_unstable();
        out
    }
    #[cfg(not(unix))]
    {
        let _ = paths;
        rows.into_iter().map(|r| (r, false)).collect()
    }
}

/// For each of `rows` (of `paths`, with content hashes `hashes`), whether another path of
/// `paths` reaches the same file: [`one_path_per_file`]'s answer for files chosen from
/// groups already made (a link has its file's content, so only the rows of the same hash
/// are looked at).
pub fn reached_by_others(paths: &[PathBuf], hashes: &[Hash], rows: &[usize]) -> Vec<bool> {
    let wanted: std::collections::HashSet<&Hash> = rows.iter().map(|&r| &hashes[r]).collect();
    let mut alike: std::collections::HashMap<&Hash, Vec<usize>> = Default::default();
    for (i, h) in hashes.iter().enumerate() {
        if wanted.contains(h) {
            alike.entry(h).or_default().push(i);
        }
    }
    // The files several paths reach, each content's once.
    let linked: std::collections::HashMap<&Hash, Vec<usize>> = alike
        .into_iter()
        .map(|(h, of)| {
            let files = one_path_per_file(paths, of);
            (h, files.into_iter().filter(|f| f.1).map(|f| f.0).collect())
        })
        .collect();
    rows.iter()
        .map(|&r| {
            (linked[&hashes[r]].iter()).any(|&kept| kept == r || same_file(&paths[kept], &paths[r]))
        })
        .collect()
}

/// Whether `a` and `b` name one file (the same device and inode); false when either cannot
/// be looked at.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(a), fs::metadata(b)) {
            (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        a == b
    }
}

/// The near-duplicate groups of `c` in tiers ([`duplicates::tiered`]: the embedding's
/// `candidates` ([`duplicates::candidates`]), confirmed on the `pixels` by content hash;
/// without the pairs of contents in `apart`, marked not duplicates), each with its files'
/// facts. Reads `c`'s paths and hashes, not its vectors.
///
/// Fails when the signatures cannot be read.
pub fn groups(
    c: &Collection,
    candidates: duplicates::Candidates,
    pixels: &duplicates::Pixels,
    apart: &HashSet<(Hash, Hash)>,
    include_similar: bool,
) -> anyhow::Result<Found> {
    let mut unreadable = Vec::new();
    let mut out = Vec::new();
    let tiered = duplicates::tiered(c, candidates, pixels, apart, include_similar)?;
    for duplicates::TieredGroup { rows, tier } in tiered.groups {
        let rows = one_path_per_file(&c.paths, rows);
        let paths: Vec<PathBuf> = rows.iter().map(|&(i, _)| c.paths[i].clone()).collect();
        let mut members = Vec::new();
        for (facts, &(i, linked)) in file_facts(&paths).into_iter().zip(&rows) {
            match facts {
                Ok(facts) => members.push(Member::new(facts, c.hashes[i], linked)),
                Err(e) => unreadable.push((c.paths[i].clone(), format!("{e:#}"))),
            }
        }
        if members.len() > 1 {
            out.push(Group {
                members,
                tier,
                acted: include_similar || tier != Tier::Similar,
            });
        }
    }
    unreadable.sort();
    unreadable.dedup();
    Ok(Found {
        groups: out,
        unreadable,
        unconfirmed: tiered.unconfirmed,
    })
}

/// A group with its keeper chosen.
#[derive(Debug, Clone)]
pub struct PlannedGroup {
    /// The files, in collection (path) order.
    pub members: Vec<Member>,
    /// Each file's kind, row-aligned with `members`.
    pub kinds: Vec<Kind>,
    /// The index in `members` of the file kept.
    pub keeper: usize,
    /// Exact, same picture or similar.
    pub tier: Tier,
    /// Whether the action acts on it (see [`Group::acted`]); a group not acted on has no
    /// steps.
    pub acted: bool,
}

impl PlannedGroup {
    /// `Exact` when every file has the same content, else `Near`.
    pub fn kind(&self) -> Kind {
        if self.members.iter().all(|m| m.hash == self.members[0].hash) {
            Kind::Exact
        } else {
            Kind::Near
        }
    }
}

/// One file to move or trash.
#[derive(Debug, Clone)]
pub struct Step {
    /// The group's number, 1 for the first.
    pub group: usize,
    /// The file.
    pub from: PathBuf,
    /// Where a move puts it (`None` for the trash).
    pub to: Option<PathBuf>,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its content hash as indexed.
    pub hash: Hash,
    /// The file its group keeps, which must still be there for this step to run.
    pub keeper: PathBuf,
}

/// What an action would do: every group with its keeper, and a step for every other file.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The collection's folder.
    pub root: PathBuf,
    /// The keep rules used.
    pub rules: Vec<KeepRule>,
    /// The action (a move's folder absolute, see [`Action::checked`]).
    pub action: Action,
    /// The groups, largest first.
    pub groups: Vec<PlannedGroup>,
    /// The files to act on, group by group; none for [`Action::Report`].
    pub steps: Vec<Step>,
}

/// Chooses the keeper of each group of files under `root` by `rules`, and the step for every
/// other file of an acted-on group ([`Group::acted`]) that `action` asks for. The keeper never
/// gets a step, so every group keeps one file.
pub fn plan(root: &Path, groups: Vec<Group>, rules: &[KeepRule], action: &Action) -> Plan {
    let chosen = groups
        .into_iter()
        .map(|g| {
            let keep = keeper_of(&g.members, rules);
            (g, keep)
        })
        .collect();
    Plan {
        rules: rules.to_vec(),
        ..plan_groups(root, chosen, action)
    }
}

/// [`plan`] with each group's keeper chosen already (by the user in the explorer, among
/// groups it shows as exact or same picture): groups as (members, index of the keeper in
/// them), each acted on. The plan's `rules` are empty. A keeper index out of range keeps the
/// first member, so every group still keeps one file.
pub fn plan_chosen(root: &Path, groups: Vec<(Vec<Member>, usize)>, action: &Action) -> Plan {
    let groups = groups
        .into_iter()
        .map(|(members, keep)| {
            let same = members.iter().all(|m| m.hash == members[0].hash);
            let tier = if same { Tier::Exact } else { Tier::SamePicture };
            let group = Group {
                members,
                tier,
                acted: true,
            };
            (group, keep)
        })
        .collect();
    plan_groups(root, groups, action)
}

/// The plan of groups with their keepers chosen.
fn plan_groups(root: &Path, groups: Vec<(Group, usize)>, action: &Action) -> Plan {
    let mut planned = Vec::new();
    let mut steps = Vec::new();
    for (g, (group, keep)) in groups.into_iter().enumerate() {
        let Group {
            members,
            tier,
            acted,
        } = group;
        let keep = if keep < members.len() { keep } else { 0 };
        let kinds = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let twin = members
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && o.hash == m.hash);
                if twin { Kind::Exact } else { Kind::Near }
            })
            .collect();
        for (i, m) in members.iter().enumerate() {
            let to = match action {
                Action::Report => continue,
                _ if i == keep || !acted || m.stays() => continue,
                Action::Move(folder) => {
                    let relative = m.facts.path.strip_prefix(root).unwrap_or(&m.facts.path);
                    let relative = relative.strip_prefix("/").unwrap_or(relative);
                    Some(folder.join(relative))
                }
                Action::Trash => None,
            };
            steps.push(Step {
                group: g + 1,
                from: m.facts.path.clone(),
                to,
                bytes: m.facts.bytes,
                hash: m.hash,
                keeper: members[keep].facts.path.clone(),
            });
        }
        planned.push(PlannedGroup {
            members,
            kinds,
            keeper: keep,
            tier,
            acted,
        });
    }
    Plan {
        root: root.to_owned(),
        rules: Vec::new(),
        action: action.clone(),
        groups: planned,
        steps,
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Would be done (a dry run).
    Planned,
    /// Done: moved, trashed, or put back.
    Done,
    /// Left where it was, and why.
    Left(String),
}

/// One file of a [`Report`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The group's number (0 for an undo).
    pub group: usize,
    /// The file as it was.
    pub from: PathBuf,
    /// Where it went or would go (a move's target; for the trash, the file in the trash's
    /// `files/` folder, `None` in a dry run; for an undo, the place it was put back).
    pub to: Option<PathBuf>,
    /// Its size in bytes.
    pub bytes: u64,
    /// What happened.
    pub status: Status,
}

/// Which action a [`Report`] is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acted {
    /// Only the groups and keepers were listed.
    Report,
    /// Files moved into a folder.
    Move,
    /// Files put in the trash.
    Trash,
    /// The last batch put back.
    Undo,
}

impl Acted {
    /// How the JSON answer names it: report, move, trash or undo.
    pub fn name(self) -> &'static str {
        match self {
            Acted::Report => "report",
            Acted::Move => "move",
            Acted::Trash => "trash",
            Acted::Undo => "undo",
        }
    }
}

/// What an action did, file by file.
#[derive(Debug, Clone)]
pub struct Report {
    /// The action.
    pub action: Acted,
    /// The journal's batch (the one written, or the one undone); `None` when nothing was
    /// journalled.
    pub batch: Option<i64>,
    /// Whether nothing was changed (a dry run).
    pub dry_run: bool,
    /// Every file, in the plan's order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Files done.
    pub fn done(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Done)
            .count()
    }

    /// Files a dry run would act on.
    pub fn planned(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Planned)
            .count()
    }

    /// Files left in place.
    pub fn left(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Left(_)))
            .count()
    }

    /// Bytes done (freed from the folder by a move or trash; put back by an undo), or that
    /// would be in a dry run.
    pub fn bytes(&self) -> u64 {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Done | Status::Planned))
            .map(|o| o.bytes)
            .sum()
    }
}

impl Plan {
    /// The report of a dry run: every step as [`Status::Planned`]; nothing is touched.
    pub fn dry_run(&self) -> Report {
        Report {
            action: self.acted(),
            batch: None,
            dry_run: true,
            outcomes: self
                .steps
                .iter()
                .map(|s| Outcome {
                    group: s.group,
                    from: s.from.clone(),
                    to: s.to.clone(),
                    bytes: s.bytes,
                    status: Status::Planned,
                })
                .collect(),
        }
    }

    fn acted(&self) -> Acted {
        match self.action {
            Action::Report => Acted::Report,
            Action::Move(_) => Acted::Move,
            Action::Trash => Acted::Trash,
        }
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The blake3 hash of a file's content.
fn hash_file(path: &Path) -> io::Result<Hash> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(File::open(path)?)?;
    Ok(*hasher.finalize().as_bytes())
}

/// Carries out `plan`: moves or trashes each step's file, journalling each in `store` under a
/// new batch, calling `progress` after each file. Stops between files when `cancel` is
/// raised (the files not reached are not in the report). A file is left in place, with the
/// reason, when its group's keeper is gone, its content changed since it was indexed, the
/// target exists, or the move or trash fails; the rest go on.
///
/// Fails only when the store cannot be written (the file in hand is then as the journal
/// says: `started` rows are checked by [`undo_last`]).
pub fn execute(
    plan: &Plan,
    store: &mut Store,
    cancel: &AtomicBool,
    progress: &dyn Fn(&Outcome),
) -> anyhow::Result<Report> {
    let batch = store.next_batch()?;
    let mut outcomes = Vec::new();
    for step in &plan.steps {
        if cancel.load(Ordering::SeqCst) {
            break;
        }
        let (status, to) = match act(plan, step, store, batch) {
            Ok(to) => (Status::Done, Some(to)),
            Err(Refused::Left(reason)) => (Status::Left(reason), step.to.clone()),
            Err(Refused::Store(e)) => return Err(e),
        };
        let outcome = Outcome {
            group: step.group,
            from: step.from.clone(),
            to,
            bytes: step.bytes,
            status,
        };
        progress(&outcome);
        outcomes.push(outcome);
    }
    Ok(Report {
        action: plan.acted(),
        batch: Some(batch),
        dry_run: false,
        outcomes,
    })
}

/// Why a file was not acted on.
enum Refused {
    /// Left in place, for this reason.
    Left(String),
    /// The store failed.
    Store(anyhow::Error),
}

impl From<anyhow::Error> for Refused {
    fn from(e: anyhow::Error) -> Self {
        Refused::Store(e)
    }
}

/// One step: checks, journals, acts. Returns where the file went.
fn act(
    plan: &Plan,
    step: &Step,
    store: &mut Store,
    batch: i64,
) -> std::result::Result<PathBuf, Refused> {
    let left = |why: String| Err(Refused::Left(why));
    if step.from == step.keeper || !step.keeper.is_file() {
        return left(format!(
            "its group's keeper {} is missing, so nothing of the group is removed",
            crate::text::shown(&step.keeper)
        ));
    }
    match hash_file(&step.from) {
        Ok(h) if h == step.hash => {}
        Ok(_) => return left("its content changed since it was indexed".into()),
        Err(e) => return left(format!("cannot read it: {e}")),
    }
    if let Some(to) = &step.to
        && to.symlink_metadata().is_ok()
    {
        return left(format!("{} already exists", crate::text::shown(to)));
    }
    let mut entry = JournalEntry {
        id: 0,
        batch,
        root: plan.root.clone(),
        action: match plan.action {
            Action::Trash => JournalAction::Trash,
            _ => JournalAction::Move,
        },
        from: step.from.clone(),
        to: step.to.clone().unwrap_or_default(),
        bytes: step.bytes,
        hash: step.hash,
        time_ns: now_ns(),
        state: JournalState::Started,
    };
    let id = store.journal_add(&entry)?;
    let done = match &step.to {
        Some(to) => move_file(&step.from, to)
            .map(|()| to.clone())
            .map_err(|e| format!("cannot move it to {}: {e}", crate::text::shown(to))),
        None => trash_file(&step.from),
    };
    match done {
        Ok(to) => {
            entry.to = to;
            store.journal_set(id, JournalState::Done, &entry.to)?;
            Ok(entry.to)
        }
        Err(why) => {
            store.journal_forget(id)?;
            left(why)
        }
    }
}

/// Renames `from` to `to` unless `to` exists (atomically where the system can).
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
        };
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: two valid NUL-terminated paths, relative to the working folder.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // File systems without RENAME_NOREPLACE say EINVAL; old kernels ENOSYS.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(e);
        }
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the target exists",
        ));
    }
    fs::rename(from, to)
}

/// Moves a file without ever replacing one or leaving half of it: a rename on one file
/// system; across file systems a copy to a temporary name beside the target, fsynced and
/// renamed into place, then the source removed. On failure the source is where it was and
/// no copy is left.
///
/// Fails when the target exists, its folder cannot be made or written, or the disk is full.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    let dir = to
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no folder"))?;
    fs::create_dir_all(dir)?;
    match rename_no_replace(from, to) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {}
        other => return other,
    }
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.imgtui-{}.partial", std::process::id()));
    let copied = (|| -> io::Result<()> {
        let mut src = File::open(from)?;
        let meta = src.metadata()?;
        let mut dst = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        io::copy(&mut src, &mut dst)?;
        dst.set_permissions(meta.permissions())?;
        dst.set_modified(meta.modified()?)?;
        dst.sync_all()?;
        rename_no_replace(&temp, to)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = copied {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if let Err(e) = fs::remove_file(from) {
        // The source stays, so the copy goes: nothing is left in two places.
        let _ = fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

/// Puts `path` in the trash; returns where the file now is (in the trash's `files/`
/// folder, where the system's trash can be listed; else an empty path). The error is one
/// line.
fn trash_file(path: &Path) -> std::result::Result<PathBuf, String> {
    let before = trashed_ids(path);
    trash::delete(path).map_err(|e| format!("cannot put it in the trash: {}", one_line(&e)))?;
    let after = trashed_ids(path);
    Ok(after
        .into_iter()
        .find(|id| !before.contains(id))
        .map(|id| in_trash(&id))
        .unwrap_or_default())
}

/// The file a freedesktop.org trash record describes: `TRASH/info/NAME.trashinfo` is the
/// record of `TRASH/files/NAME`.
fn in_trash(record: &Path) -> PathBuf {
    match (record.parent().and_then(Path::parent), record.file_stem()) {
        (Some(trash), Some(name)) => trash.join("files").join(name),
        _ => record.to_owned(),
    }
}

fn one_line(e: &trash::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// The trash's records of files once at `path`.
#[cfg(all(
    unix,
    not(target_os = "macos"),
    not(target_os = "ios"),
    not(target_os = "android")
))]
fn trashed_ids(path: &Path) -> Vec<PathBuf> {
    trash::os_limited::list()
        .unwrap_or_default()
        .into_iter()
        .filter(|item| item.original_path() == path)
        .map(|item| PathBuf::from(item.id))
        .collect()
}

#[cfg(not(all(
    unix,
    not(target_os = "macos"),
    not(target_os = "ios"),
    not(target_os = "android")
)))]
fn trashed_ids(_: &Path) -> Vec<PathBuf> {
    Vec::new()
}

/// Puts back the files of the last batch under `root` that is not yet undone: moved files
/// from their target, trashed ones from the trash. A file is left (and reported) when its
/// original path is taken, it is no longer where it went, or its content is not what was
/// moved; the others' journal rows are marked undone.
///
/// Fails when the store cannot be read or written.
pub fn undo_last(store: &mut Store, root: &Path) -> anyhow::Result<Report> {
    let journal = store.journal(root)?;
    let Some(batch) = journal
        .iter()
        .filter(|e| e.state != JournalState::Undone)
        .map(|e| e.batch)
        .max()
    else {
        return Ok(Report {
            action: Acted::Undo,
            batch: None,
            dry_run: false,
            outcomes: Vec::new(),
        });
    };
    let mut outcomes = Vec::new();
    for entry in journal
        .iter()
        .filter(|e| e.batch == batch && e.state != JournalState::Undone)
    {
        let status = match put_back(entry) {
            Ok(()) => {
                store.journal_set(entry.id, JournalState::Undone, &entry.to)?;
                if entry.action == JournalAction::Move {
                    remove_emptied_folders(&entry.to, &entry.from, root);
                }
                Status::Done
            }
            Err(why) => Status::Left(why),
        };
        outcomes.push(Outcome {
            group: 0,
            from: entry.to.clone(),
            to: Some(entry.from.clone()),
            bytes: entry.bytes,
            status,
        });
    }
    Ok(Report {
        action: Acted::Undo,
        batch: Some(batch),
        dry_run: false,
        outcomes,
    })
}

/// After a move is undone, removes the folders the move made for it below the target (those
/// of its path relative to `root`) that are now empty; never the target folder itself, and
/// never a folder that still holds anything.
fn remove_emptied_folders(moved_to: &Path, original: &Path, root: &Path) {
    let depth = original
        .strip_prefix(root)
        .ok()
        .and_then(Path::parent)
        .map_or(0, |p| p.components().count());
    let mut folder = moved_to.parent();
    for _ in 0..depth {
        match folder {
            Some(f) if fs::remove_dir(f).is_ok() => folder = f.parent(),
            _ => break,
        }
    }
}

/// Puts one journalled file back, checking its content.
fn put_back(entry: &JournalEntry) -> std::result::Result<(), String> {
    let original_ok = || hash_file(&entry.from).is_ok_and(|h| h == entry.hash);
    if entry.state == JournalState::Started && original_ok() {
        return Ok(()); // the action never happened (a crash before it)
    }
    if entry.from.symlink_metadata().is_ok() {
        return Err(format!(
            "{} is taken by another file; left at {}",
            crate::text::shown(&entry.from),
            crate::text::shown(&entry.to)
        ));
    }
    match entry.action {
        JournalAction::Move => {
            match hash_file(&entry.to) {
                Ok(h) if h == entry.hash => {}
                Ok(_) => {
                    return Err(format!(
                        "{} changed since it was moved",
                        crate::text::shown(&entry.to)
                    ));
                }
                Err(e) => return Err(format!("{}: {e}", crate::text::shown(&entry.to))),
            }
            move_file(&entry.to, &entry.from).map_err(|e| {
                format!(
                    "cannot move it back from {}: {e}",
                    crate::text::shown(&entry.to)
                )
            })
        }
        JournalAction::Trash => {
            restore_from_trash(entry)?;
            if original_ok() {
                Ok(())
            } else {
                Err("put back from the trash, but its content is not what was trashed".into())
            }
        }
    }
}

#[cfg(all(
    unix,
    not(target_os = "macos"),
    not(target_os = "ios"),
    not(target_os = "android")
))]
fn restore_from_trash(entry: &JournalEntry) -> std::result::Result<(), String> {
    let items = trash::os_limited::list()
        .map_err(|e| format!("cannot read the trash: {}", one_line(&e)))?;
    let item = items
        .into_iter()
        // The journal holds where the file is in the trash (older journals hold the
        // trash's record of it: both are found).
        .find(|item| {
            let record = Path::new(&item.id);
            !entry.to.as_os_str().is_empty() && (in_trash(record) == entry.to || record == entry.to)
        })
        .ok_or_else(|| "it is no longer in the trash".to_owned())?;
    trash::os_limited::restore_all([item])
        .map_err(|e| format!("cannot restore it from the trash: {}", one_line(&e)))
}

#[cfg(not(all(
    unix,
    not(target_os = "macos"),
    not(target_os = "ios"),
    not(target_os = "android")
)))]
fn restore_from_trash(_: &JournalEntry) -> std::result::Result<(), String> {
    Err("this system's trash cannot be read back; restore it from the trash by hand".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn facts(path: &str, bytes: u64, age_s: u64, pixels: Option<(u32, u32)>) -> FileFacts {
        FileFacts {
            path: path.into(),
            bytes,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 - age_s),
            pixels,
            encoding: Encoding::Unknown,
        }
    }

    #[test]
    fn a_chosen_keeper_stays_and_only_the_others_get_steps() {
        let member = |path: &str, bytes| Member {
            facts: facts(path, bytes, 10, Some((10, 10))),
            hash: [bytes as u8; 32],
            linked: false,
            symlink: false,
        };
        let group = vec![
            member("/c/a.png", 5),
            member("/c/b.png", 9),
            member("/c/d.png", 7),
        ];
        let plan = plan_chosen(Path::new("/c"), vec![(group.clone(), 2)], &Action::Trash);
        assert_eq!(plan.groups[0].keeper, 2);
        let from: Vec<&Path> = plan.steps.iter().map(|s| s.from.as_path()).collect();
        assert_eq!(from, [Path::new("/c/a.png"), Path::new("/c/b.png")]);
        assert!(plan.steps.iter().all(|s| s.keeper == Path::new("/c/d.png")));
        // Out of range: the first is kept, never none.
        let plan = plan_chosen(Path::new("/c"), vec![(group, 9)], &Action::Trash);
        assert_eq!(plan.groups[0].keeper, 0);
        assert_eq!(plan.steps.len(), 2);
    }

    #[test]
    fn rules_parse_and_print_back() {
        for text in [
            "best",
            "largest",
            "newest",
            "oldest",
            "shortest-path",
            "path:keep/this",
        ] {
            let rule: KeepRule = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
        }
        assert!("biggest".parse::<KeepRule>().is_err());
        assert!("path:".parse::<KeepRule>().is_err());
        let art = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(art.path()).unwrap();
        fs::create_dir(root.join("best")).unwrap();
        let rules = KeepRule::parse_list("largest,path:best", &root).unwrap();
        assert_eq!(rules[1], KeepRule::Under(root.join("best")));
        let missing = KeepRule::parse_list("path:bset", &root).unwrap_err();
        assert!(
            missing.starts_with("path:bset: no such folder"),
            "{missing}"
        );
        assert!("move:".parse::<Action>().is_err());
        assert_eq!("move:/x".parse::<Action>().unwrap().to_string(), "move:/x");
    }

    #[test]
    fn each_rule_picks_its_file_and_rules_chain() {
        let g = [
            facts("/art/a/long-name.png", 500, 10, Some((100, 100))),
            facts("/art/b.png", 900, 30, Some((50, 50))),
            facts("/art/best/c.png", 500, 20, Some((100, 100))),
        ];
        use KeepRule::*;
        assert_eq!(keeper(&g, &[Largest]), 0, "most pixels; ties by path");
        assert_eq!(keeper(&g, &[Newest]), 0);
        assert_eq!(keeper(&g, &[Oldest]), 1);
        assert_eq!(keeper(&g, &[ShortestPath]), 1);
        assert_eq!(keeper(&g, &[Under("/art/best".into())]), 2);
        assert_eq!(keeper(&g, &[Largest, Oldest]), 2);
        let same = [facts("/b.png", 1, 0, None), facts("/a.png", 1, 0, None)];
        assert_eq!(keeper(&same, &[Largest, Oldest]), 1, "path order last");
    }

    /// Writes `img` to `dir/name` (PNG, or JPEG at `quality`), `age_days` old.
    fn drawn(
        dir: &Path,
        name: &str,
        img: &image::RgbImage,
        quality: Option<u8>,
        age_days: u64,
    ) -> PathBuf {
        let path = dir.join(name);
        match quality {
            Some(q) => {
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
                    .encode_image(img)
                    .unwrap();
                fs::write(&path, out).unwrap();
            }
            None => img.save(&path).unwrap(),
        }
        let t = SystemTime::now() - Duration::from_secs(age_days * 86_400);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(t)
            .unwrap();
        path
    }

    #[test]
    fn best_keeps_more_pixels_then_lossless_then_the_higher_quality_then_the_oldest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let img = image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x * y) % 251) as u8])
        });
        // Newest first, so that age never decides before the rule's earlier criteria.
        let png = drawn(dir, "a.png", &img, None, 1);
        let q95 = drawn(dir, "b.jpg", &img, Some(95), 2);
        let q60 = drawn(dir, "c.jpg", &img, Some(60), 3);
        let facts = |paths: &[&PathBuf]| -> Vec<FileFacts> {
            let paths: Vec<PathBuf> = paths.iter().map(|p| (*p).clone()).collect();
            file_facts(&paths).into_iter().map(Result::unwrap).collect()
        };
        let best = [KeepRule::Best];
        let three = facts(&[&q60, &q95, &png]);
        assert_eq!(three[2].encoding, Encoding::Lossless);
        assert!(
            matches!(
                three[1].encoding,
                Encoding::Lossy {
                    quality: Some(94..=96)
                }
            ),
            "{:?}",
            three[1].encoding
        );
        assert_eq!(
            keeper(&three, &best),
            2,
            "lossless over lossy at equal pixels"
        );
        assert_eq!(keeper(&three[..2], &best), 1, "q95 over q60");
        // More pixels beat a lossless copy.
        let big = image::imageops::resize(&img, 192, 128, image::imageops::FilterType::Triangle);
        let big_q60 = drawn(dir, "d.jpg", &big, Some(60), 0);
        assert_eq!(keeper(&facts(&[&png, &big_q60]), &best), 1);
        // Equal in every other way: the oldest.
        let old = drawn(dir, "e.jpg", &img, Some(95), 30);
        assert_eq!(keeper(&facts(&[&q95, &old]), &best), 1);
    }

    #[test]
    fn the_keeper_never_gets_a_step() {
        let member = |p: &str| Member {
            facts: facts(p, 1, 0, None),
            hash: [7; 32],
            linked: false,
            symlink: false,
        };
        let groups = vec![Group {
            members: vec![member("/art/x.png"), member("/art/y.png")],
            tier: Tier::Exact,
            acted: true,
        }];
        let plan = plan(
            Path::new("/art"),
            groups,
            &[KeepRule::Largest],
            &Action::Move("/out".into()),
        );
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].from, Path::new("/art/y.png"));
        assert_eq!(plan.steps[0].to.as_deref(), Some(Path::new("/out/y.png")));
        assert_eq!(plan.groups[0].kind(), Kind::Exact);
    }

    #[test]
    fn files_a_symlink_leads_to_are_kept_first_and_never_acted_on() {
        let member = |p: &str, age_s, linked| Member {
            facts: facts(p, 1, age_s, None),
            hash: [7; 32],
            linked,
            symlink: false,
        };
        // `best` keeps the oldest: x.png, but y.png and z.png are reached through links.
        let group = || Group {
            members: vec![
                member("/art/x.png", 100, false),
                member("/art/y.png", 10, true),
                member("/art/z.png", 20, true),
            ],
            tier: Tier::Exact,
            acted: true,
        };
        assert_eq!(keeper_of(&group().members, &[KeepRule::Best]), 2);
        let planned = plan(
            Path::new("/art"),
            vec![group()],
            &[KeepRule::Best],
            &Action::Trash,
        );
        assert_eq!(planned.groups[0].keeper, 2);
        let from: Vec<&Path> = planned.steps.iter().map(|s| s.from.as_path()).collect();
        assert_eq!(from, [Path::new("/art/x.png")]);
        // A keeper the user chose: the linked files stay whichever it is.
        let chosen = plan_chosen(
            Path::new("/art"),
            vec![(group().members, 0)],
            &Action::Trash,
        );
        assert!(chosen.steps.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_file_a_symlink_of_the_collection_leads_to_is_told_from_its_copies() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, l) = (
            tmp.path().join("a.png"),
            tmp.path().join("b.png"),
            tmp.path().join("l.png"),
        );
        fs::write(&a, b"same").unwrap();
        fs::write(&b, b"same").unwrap();
        std::os::unix::fs::symlink(&b, &l).unwrap();
        let paths = vec![a, b, l];
        let hashes = [[1; 32]; 3];
        assert_eq!(
            one_path_per_file(&paths, vec![0, 1, 2]),
            [(0, false), (1, true)]
        );
        assert_eq!(reached_by_others(&paths, &hashes, &[0, 1]), [false, true]);
        // Only the rows of the same content are looked at: the link's is another here.
        let other = [[1; 32], [1; 32], [2; 32]];
        assert_eq!(reached_by_others(&paths, &other, &[0, 1]), [false, false]);
    }
}
