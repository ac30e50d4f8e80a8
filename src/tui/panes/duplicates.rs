//! Near-duplicate groups (`d`): browsing them, choosing the keepers, sparing copies, parting
//! an image that is not a duplicate (`n`, remembered in the store; `u` takes it back),
//! changing the threshold (`<` `>`) and resolving them (`x`: move or trash the copies).

use std::collections::HashSet;
use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, ListItem, Paragraph};
use ratatui_image::thread::ThreadProtocol;

use super::grid::{Thumbnails, fate};
use super::lists::{ListScreen, draw_list_screen};
use crate::error::Error;
use crate::session::Session;
use crate::tui::app::{App, Command, Notice, Overlay, images};
use crate::tui::keys::Action;
use crate::tui::widgets::{centred, pane};

/// Where `m` in the duplicates' confirmation moves the copies (under the working folder, or
/// beside the collection when the working folder is inside it; at their paths relative to
/// the collection's).
pub const DUPLICATES_FOLDER: &str = "imgtui-duplicates";

/// The near-duplicate groups and what the user chose in them.
pub(crate) struct Duplicates {
    /// Near-duplicate groups, largest first (`None` while they are being found).
    pub(crate) groups: Option<Vec<Vec<usize>>>,
    /// Each image's near-duplicate group, if any.
    pub(crate) of: Vec<Option<usize>>,
    /// Cursor in the flattened groups.
    pub(crate) cursor: usize,
    /// Each group's keeper (an index in the group) and its files' bytes (see
    /// [`crate::tui::app::Event::Keepers`]); a keeper the user chose replaces the rules'.
    pub(crate) keepers: Vec<crate::session::Keeper>,
    /// Copies the user spared: they stay when the others go.
    pub(crate) spared: HashSet<PathBuf>,
    /// The cosine similarity that makes near-duplicates (`<` / `>` change it).
    pub(crate) threshold: f32,
    /// The last duplicates moved or trashed, said again with the folder change they cause.
    pub(crate) resolved: Option<String>,
    /// Regroupings asked for by `<` / `>` / `n` / `u` and not yet answered.
    pub(crate) regroupings: usize,
    /// The pairs parted by `n` in this session, latest last, for `u` to take back (paths,
    /// so that they outlive a change of the collection's rows).
    pub(crate) parted: Vec<Vec<(PathBuf, PathBuf)>>,
}

impl Default for Duplicates {
    fn default() -> Duplicates {
        Duplicates {
            groups: None,
            of: Vec::new(),
            cursor: 0,
            keepers: Vec::new(),
            spared: HashSet::new(),
            threshold: crate::session::DUPLICATE_THRESHOLD,
            resolved: None,
            regroupings: 0,
            parted: Vec::new(),
        }
    }
}

impl App {
    /// Near-duplicate groups of the current collection have come ([`Event::Duplicates`]).
    pub(crate) fn on_duplicates(&mut self, groups: Vec<Vec<usize>>) -> Vec<Command> {
        // A regrouping sorts the groups anew: the cursor stays on its image where it can.
        let here = self
            .duplicate_at_cursor()
            .and_then(|(g, k)| Some(self.duplicates.groups.as_ref()?[g][k]))
            .and_then(|i| self.collection.paths.get(i).cloned());
        let at = here.and_then(|path| {
            let i = self.collection.paths.binary_search(&path).ok()?;
            let mut before = 0;
            for group in &groups {
                match group.iter().position(|&j| j == i) {
                    Some(k) => return Some(before + k),
                    None => before += group.len(),
                }
            }
            None
        });
        let found = groups.len();
        self.duplicates_found(groups);
        if let Some(at) = at {
            self.duplicates.cursor = at;
        }
        if self.duplicates.regroupings > 0 {
            self.duplicates.regroupings -= 1;
            if self.duplicates.regroupings == 0 {
                self.status.busy = None;
                // The search `d` asked for in a large collection, answered elsewhere.
                if self.overlay != Overlay::Duplicates {
                    self.say(match found {
                        0 => "no near-duplicates in this collection".to_owned(),
                        n => format!("{n} near-duplicate groups found; d shows them"),
                    });
                }
            }
        }
        // The image under the cursor may be another one now: the preview follows.
        self.preview_command()
    }

    /// The keepers of the groups have been chosen by the rules ([`Event::Keepers`]).
    pub(crate) fn on_keepers(&mut self, keepers: Vec<crate::session::Keeper>) -> Vec<Command> {
        if keepers.len() == self.duplicates.groups.as_ref().map_or(0, Vec::len) {
            self.duplicates.keepers = keepers;
        }
        Vec::new()
    }

    /// The copies were moved or trashed ([`Event::Resolved`]), or why not.
    pub(crate) fn on_resolved(&mut self, result: Result<String, Error>) -> Vec<Command> {
        self.status.busy = None;
        let said = match result {
            Ok(said) => {
                self.duplicates.resolved = Some(said.clone());
                said
            }
            Err(e) => format!("nothing moved: {e}"),
        };
        self.say(said);
        Vec::new()
    }

    /// Pairs were marked not duplicates, or their marks taken back ([`Event::Decided`]).
    pub(crate) fn on_decided(&mut self, mark: bool, result: Result<usize, Error>) -> Vec<Command> {
        match result {
            Ok(_) if mark => {
                let said = match self.duplicates.parted.last() {
                    Some(pairs) if !pairs.is_empty() => {
                        let name = pairs[0].0.file_name().unwrap_or_default();
                        format!(
                            "{} marked not duplicates of {} (with its exact copies, if any; \
                             kept in the store; u takes it back)",
                            crate::text::shown(std::path::Path::new(name)),
                            match pairs.len() {
                                1 => "1 other image".to_owned(),
                                n => format!("{n} other images"),
                            }
                        )
                    }
                    _ => "marked not duplicates (kept in the store; u takes it back)".to_owned(),
                };
                self.say(said)
            }
            Ok(n) => self.say(format!(
                "taken back: {} no longer marked not duplicates",
                if n == 1 {
                    "1 pair".to_owned()
                } else {
                    format!("{n} pairs")
                }
            )),
            Err(e) => {
                if mark {
                    self.duplicates.parted.pop();
                }
                self.say(format!("nothing marked: {e}"));
            }
        }
        Vec::new()
    }

    /// `n`: the image under the cursor is not a duplicate of the others of its group, but for
    /// its exact copies (the same bytes), which cannot be parted.
    fn part(&mut self) -> Vec<Command> {
        let Some((g, k)) = self.duplicate_at_cursor() else {
            return Vec::new();
        };
        let Some(group) = self.duplicates.groups.as_ref().map(|d| d[g].clone()) else {
            return Vec::new();
        };
        let c = &self.collection;
        let i = group[k];
        let pairs: Vec<(usize, usize)> = group
            .iter()
            .filter(|&&j| j != i && c.hashes[j] != c.hashes[i])
            .map(|&j| (i, j))
            .collect();
        if pairs.is_empty() {
            self.say("exact copies (the same bytes) cannot be marked not duplicates");
            return Vec::new();
        }
        let paths = pairs
            .iter()
            .map(|&(i, j)| (c.paths[i].clone(), c.paths[j].clone()))
            .collect();
        self.duplicates.parted.push(paths);
        self.regroup();
        vec![Command::NotDuplicates(
            pairs,
            true,
            self.duplicates.threshold,
        )]
    }

    /// `u`: takes back the last `n` of this session.
    fn unpart(&mut self) -> Vec<Command> {
        let Some(paths) = self.duplicates.parted.pop() else {
            self.say("nothing to undo: no image was parted here");
            return Vec::new();
        };
        let row = |p: &PathBuf| self.collection.paths.binary_search(p).ok();
        let pairs: Vec<(usize, usize)> = paths
            .iter()
            .filter_map(|(a, b)| Some((row(a)?, row(b)?)))
            .collect();
        if pairs.is_empty() {
            self.say("nothing to undo: those images have left the collection");
            return Vec::new();
        }
        self.regroup();
        vec![Command::NotDuplicates(
            pairs,
            false,
            self.duplicates.threshold,
        )]
    }

    /// Notes a regrouping asked for, shown as busy until it is answered.
    fn regroup(&mut self) {
        self.status.busy = Some(format!(
            "grouping at similarity {:.2}…",
            self.duplicates.threshold
        ));
        self.duplicates.regroupings += 1;
    }

    /// The actions of the confirmation ([`Overlay::Resolve`]): trash or move the copies
    /// that go, or go back to the groups.
    pub(crate) fn resolve_key(&mut self, action: Action) -> Vec<Command> {
        let action = match action {
            Action::Trash => None,
            Action::MoveAside => Some(PathBuf::from(DUPLICATES_FOLDER)),
            Action::Back => {
                self.overlay = Overlay::Duplicates;
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        let (groups, _) = self.to_resolve();
        self.overlay = Overlay::None;
        self.status.busy = Some(match &action {
            None => "moving duplicates to the trash…".into(),
            Some(f) => format!("moving duplicates to {}…", crate::text::shown(f)),
        });
        vec![Command::ResolveDuplicates(groups, action)]
    }

    /// Near-duplicate groups of the current collection have been found.
    pub(crate) fn duplicates_found(&mut self, groups: Vec<Vec<usize>>) {
        let mut of = vec![None; self.collection.len()];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                if let Some(slot) = of.get_mut(i) {
                    *slot = Some(g);
                }
            }
        }
        self.duplicates.of = of;
        self.duplicates.keepers.clear();
        let total = groups.iter().map(Vec::len).sum::<usize>();
        self.duplicates.cursor = self.duplicates.cursor.min(total.saturating_sub(1));
        self.duplicates.groups = Some(groups);
        if self.overlay == Overlay::Duplicates && total == 0 {
            self.overlay = Overlay::None;
            self.say(format!(
                "no near-duplicates at similarity {:.2}",
                self.duplicates.threshold
            ));
        }
    }

    /// The keeper of near-duplicate group `g` (a collection row), once known.
    pub fn keeper_of(&self, g: usize) -> Option<usize> {
        let group = self.duplicates.groups.as_ref()?.get(g)?;
        let keep = self.duplicates.keepers.get(g)?.0?;
        group.get(keep).copied()
    }

    /// Whether row `i`, of near-duplicate group `g`, goes when the duplicates are resolved:
    /// not the keeper, not spared, and not a file that stays whatever the keeper (a symlink,
    /// or one a symlink of the folder leads to).
    pub fn goes(&self, g: usize, i: usize) -> bool {
        let stays = (self.duplicates.groups.as_ref())
            .and_then(|d| d.get(g)?.iter().position(|&r| r == i))
            .and_then(|k| self.duplicates.keepers.get(g)?.2.get(k).copied())
            .unwrap_or(false);
        self.keeper_of(g).is_some_and(|k| k != i)
            && !stays
            && !self.duplicates.spared.contains(&self.collection.paths[i])
    }

    /// The group of the image under the duplicates cursor, and its index in the group.
    pub(crate) fn duplicate_at_cursor(&self) -> Option<(usize, usize)> {
        let mut left = self.duplicates.cursor;
        for (g, group) in self.duplicates.groups.iter().flatten().enumerate() {
            if left < group.len() {
                return Some((g, left));
            }
            left -= group.len();
        }
        None
    }

    /// The files that go (and their bytes) and the groups that lose some, as the
    /// confirmation counts them.
    pub(crate) fn to_resolve(&self) -> (Vec<(PathBuf, Vec<PathBuf>)>, u64) {
        let mut groups = Vec::new();
        let mut bytes = 0;
        for (g, group) in self.duplicates.groups.iter().flatten().enumerate() {
            let Some(keeper) = self.keeper_of(g) else {
                continue;
            };
            let sizes = &self.duplicates.keepers[g].1;
            let going: Vec<PathBuf> = group
                .iter()
                .enumerate()
                .filter(|&(_, &i)| self.goes(g, i))
                .map(|(k, &i)| {
                    bytes += sizes.get(k).copied().unwrap_or(0);
                    self.collection.paths[i].clone()
                })
                .collect();
            if !going.is_empty() {
                groups.push((self.collection.paths[keeper].clone(), going));
            }
        }
        (groups, bytes)
    }

    /// Images of the duplicate groups, group after group.
    pub(crate) fn duplicate_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.duplicates.groups.iter().flatten().flatten().copied()
    }

    pub(crate) fn open_duplicates(&mut self) -> Vec<Command> {
        match &self.duplicates.groups {
            None if Session::duplicates_at_start(&self.collection) => {
                self.say("still looking for near-duplicates…")
            }
            None if !self.has_vectors() => self.notify(Notice::WaitingForVectors),
            None if self.duplicates.regroupings == 0 => {
                self.status.busy = Some(format!(
                    "looking for near-duplicates among {} images (minutes at a million); \
                     d shows them once found…",
                    self.collection.len()
                ));
                self.duplicates.regroupings += 1;
                return vec![Command::FindDuplicates(self.duplicates.threshold)];
            }
            None => self.say("still looking for near-duplicates…"),
            Some(groups) if groups.is_empty() => self.say("no near-duplicates in this collection"),
            Some(_) => {
                self.overlay = Overlay::Duplicates;
                self.duplicates.cursor = self
                    .duplicates
                    .cursor
                    .min(self.duplicate_rows().count() - 1);
                self.say(
                    "near-duplicates: Enter goes to the image · K keeps this one · \
                     Space spares a copy · x resolves · < > threshold · Esc returns",
                );
                return self.preview_command();
            }
        }
        Vec::new()
    }

    /// The actions of the near-duplicate groups ([`Mode::Duplicates`](crate::tui::keys::Mode::Duplicates)).
    pub(crate) fn duplicates_key(&mut self, action: Action) -> Vec<Command> {
        if let Some(commands) = self.list_key(action) {
            return commands;
        }
        match action {
            Action::Keep => {
                if let Some((g, k)) = self.duplicate_at_cursor()
                    && let Some(entry) = self.duplicates.keepers.get_mut(g)
                {
                    entry.0 = Some(k);
                    let path = self
                        .duplicates
                        .groups
                        .as_ref()
                        .map(|d| self.collection.paths[d[g][k]].clone());
                    if let Some(p) = path {
                        self.duplicates.spared.remove(&p);
                    }
                }
                Vec::new()
            }
            Action::Spare => {
                if let Some((g, k)) = self.duplicate_at_cursor()
                    && let Some(&i) = self.duplicates.groups.as_ref().and_then(|d| d[g].get(k))
                    && self.keeper_of(g) != Some(i)
                {
                    let path = self.collection.paths[i].clone();
                    if !self.duplicates.spared.remove(&path) {
                        self.duplicates.spared.insert(path);
                    }
                }
                Vec::new()
            }
            Action::LowerThreshold | Action::RaiseThreshold => {
                let by = if action == Action::LowerThreshold {
                    -0.01
                } else {
                    0.01
                };
                self.duplicates.threshold = ((self.duplicates.threshold + by) * 100.0)
                    .round()
                    .clamp(50.0, 100.0)
                    / 100.0;
                self.regroup();
                vec![Command::FindDuplicates(self.duplicates.threshold)]
            }
            Action::NotDuplicates => self.part(),
            Action::Undo => self.unpart(),
            Action::Compare => self.compare_group(),
            Action::Resolve => {
                let (groups, _) = self.to_resolve();
                if groups.is_empty() {
                    self.say(if self.duplicates.keepers.is_empty() {
                        "still choosing the keepers…"
                    } else {
                        "nothing goes: every copy is kept or spared"
                    });
                } else {
                    self.overlay = Overlay::Resolve;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

/// The confirmation before near-duplicates go: how many files and bytes, and where.
pub(crate) fn draw_resolve(frame: &mut Frame, app: &App, area: Rect) {
    let (groups, bytes) = app.to_resolve();
    let files: usize = groups.iter().map(|(_, copies)| copies.len()).sum();
    let lines = vec![
        Line::from(format!(
            "{} ({}) go; each of {} keeps its keeper",
            images(files),
            crate::text::bytes(bytes),
            match groups.len() {
                1 => "1 group".to_owned(),
                n => format!("{n} groups"),
            }
        )),
        Line::from(format!(
            "t: to the trash · m: move to {}/ · Esc: back",
            DUPLICATES_FOLDER
        ))
        .style(app.look.theme.dim()),
    ];
    let rect = centred(area, 70, 4);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(pane(app.look.theme, " resolve the near-duplicates ", true)),
        rect,
    );
}

pub(crate) fn draw_duplicates(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
) {
    let groups = app.duplicates.groups.as_deref().unwrap_or_default();
    let mut items = Vec::new();
    let mut selected = 0;
    let mut row = 0;
    for (g, group) in groups.iter().enumerate() {
        items.push(ListItem::new(
            Line::from(format!("group {} · {}", g + 1, images(group.len()))).bold(),
        ));
        for &i in group {
            if row == app.duplicates.cursor {
                selected = items.len();
            }
            row += 1;
            let number = app.cluster_number(i);
            items.push(ListItem::new(Line::from(vec![
                Span::styled("  ● ", Style::new().fg(app.look.theme.cluster(number))),
                fate(app, g, i),
                Span::raw(app.name(i)),
            ])));
        }
    }
    let title = match groups.len() {
        1 => format!(
            " near-duplicates, threshold {:.2}: 1 group (Esc returns) ",
            app.duplicates.threshold
        ),
        n => format!(
            " near-duplicates, threshold {:.2}: {n} groups (Esc returns) ",
            app.duplicates.threshold
        ),
    };
    // In the grid each group starts a row: near-copies side by side.
    let screen = ListScreen {
        title,
        items,
        selected,
    };
    draw_list_screen(frame, app, preview, thumbnails, area, screen);
}
