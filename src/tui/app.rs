//! The explorer's state and how events change it. No terminal I/O here.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::analysis::clustering::{Clustering, Method, members};
use crate::analysis::neighbours::{self, Neighbour, Select};
use crate::export::folder_name;
use crate::store::Collection;

/// Which pane the cursor keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Clusters,
    Images,
    Similar,
}

/// A modal layer over the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// Full-screen preview of the current image.
    Preview,
    /// Export prompt: the target folder being edited.
    Export(String),
    /// The file-name filter is being typed (the text is `App::filter`).
    Filter,
    /// The near-duplicate groups, browsed with the cursor.
    Duplicates,
    /// The montage just saved to this file, full screen.
    Montage(PathBuf),
}

/// What a key that needs the vectors says before they are read.
const WAITING_FOR_VECTORS: &str = "still reading the image vectors…";

/// Where the collection is on its way in.
#[derive(Debug, Clone, PartialEq)]
pub enum Loading {
    Scanning,
    Embedding { done: usize, total: usize },
    Clustering,
    Ready,
    Failed(String),
}

/// Something the event loop must do on the app's behalf (the app itself does no I/O).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Decode this image for the preview.
    LoadPreview(PathBuf),
    /// Copy these files into this folder.
    Export(Vec<PathBuf>, PathBuf),
    /// Cluster again into this many clusters, in the background.
    Recluster(usize),
    /// Draw a contact sheet of these images and save it as `<name>.png` in `imgtui-montage/`.
    Montage(Vec<PathBuf>, String),
}

/// Number of neighbours shown unless the settings say otherwise.
pub const NEIGHBOURS: usize = 12;
/// Most images on one montage.
pub const MONTAGE_MAX: usize = 400;

pub struct App {
    pub root: PathBuf,
    pub model: String,
    pub loading: Loading,
    pub collection: Arc<Collection>,
    pub clustering: Option<Clustering>,
    /// Members of each cluster, nearest the centre first.
    pub members: Vec<Vec<usize>>,
    /// The members whose file name matches `filter` (all of them when it is empty).
    pub shown: Vec<Vec<usize>>,
    pub filter: String,
    pub cluster: usize,
    /// Cursor in the current cluster's shown list.
    pub image: usize,
    pub focus: Focus,
    pub overlay: Overlay,
    /// The nearest neighbours of the image under the cursor, most similar first.
    pub neighbours: Vec<Neighbour>,
    /// How many neighbours to find.
    pub neighbour_count: usize,
    /// Image the neighbours belong to; they are recomputed when the cursor rests.
    neighbours_of: Option<usize>,
    pub similar_cursor: usize,
    /// Near-duplicate groups, largest first (`None` while they are being found).
    pub duplicates: Option<Vec<Vec<usize>>>,
    /// Each image's near-duplicate group, if any.
    pub duplicate_of: Vec<Option<usize>>,
    /// Cursor in the flattened duplicate groups.
    pub duplicate_cursor: usize,
    /// Background work under way (reclustering, a montage), for the status line.
    pub busy: Option<String>,
    /// Progress of indexing new images while the collection is already shown.
    pub indexing: Option<(usize, usize)>,
    /// The last thing that happened worth a line in the status bar.
    pub message: String,
    /// Image the preview shows (or is loading).
    pub preview_path: Option<PathBuf>,
}

impl App {
    pub fn new(root: PathBuf, model: String) -> App {
        App {
            root,
            model,
            loading: Loading::Scanning,
            collection: Arc::default(),
            clustering: None,
            members: Vec::new(),
            shown: Vec::new(),
            filter: String::new(),
            cluster: 0,
            image: 0,
            focus: Focus::Images,
            overlay: Overlay::None,
            neighbours: Vec::new(),
            neighbour_count: NEIGHBOURS,
            neighbours_of: None,
            similar_cursor: 0,
            duplicates: None,
            duplicate_of: Vec::new(),
            duplicate_cursor: 0,
            busy: None,
            indexing: None,
            message: String::new(),
            preview_path: None,
        }
    }

    /// A collection and its clustering have arrived (at start, or with new images).
    /// The cursor stays on the image it was on.
    pub fn loaded(
        &mut self,
        collection: impl Into<Arc<Collection>>,
        clustering: Clustering,
    ) -> Vec<Command> {
        let keep = self.base().map(|i| self.collection.paths[i].clone());
        self.collection = collection.into();
        self.duplicates = None;
        self.duplicate_of = vec![None; self.collection.len()];
        self.neighbours_of = None;
        self.loading = Loading::Ready;
        let row = keep.and_then(|p| self.collection.paths.iter().position(|q| *q == p));
        self.set_clustering(clustering, row)
    }

    /// The vectors of the collection on screen have been read (it was shown with paths
    /// only, from the saved clustering): neighbours and `+` / `-` can start.
    pub fn vectors_read(&mut self, collection: Arc<Collection>) {
        if collection.paths == self.collection.paths {
            self.collection = collection;
            self.neighbours_of = None;
            if self.message == WAITING_FOR_VECTORS {
                self.message.clear();
            }
        }
    }

    /// Whether the vectors are in (neighbours, similar images and `+` / `-` need them).
    pub fn has_vectors(&self) -> bool {
        self.collection.dim() > 0
    }

    /// A new clustering of the same collection (after `+` / `-`).
    pub fn reclustered(&mut self, clustering: Clustering) -> Vec<Command> {
        self.busy = None;
        if clustering.labels.len() != self.collection.len() {
            // New images arrived while it was being fitted: it no longer fits the collection.
            self.message = "the collection changed while clustering; press + or - again".into();
            return Vec::new();
        }
        self.message = format!(
            "{} clusters by {}",
            clustering.k,
            clustering.request.method.name()
        );
        let row = self.base();
        self.set_clustering(clustering, row)
    }

    fn set_clustering(&mut self, clustering: Clustering, keep: Option<usize>) -> Vec<Command> {
        let mut by_cluster = members(&clustering);
        for m in &mut by_cluster {
            m.sort_by(|&a, &b| {
                clustering.distances[a]
                    .total_cmp(&clustering.distances[b])
                    .then(a.cmp(&b))
            });
        }
        self.members = by_cluster;
        self.clustering = Some(clustering);
        self.cluster = self.cluster.min(self.members.len().saturating_sub(1));
        self.image = 0;
        self.shown.clear();
        self.apply_filter();
        if let Some(row) = keep {
            self.go_to(row);
        }
        self.cursor_moved()
    }

    /// Indexing has handled `done` of `total` files: the gauge before the collection is
    /// shown, the status line after.
    pub fn progress(&mut self, done: usize, total: usize) {
        match self.loading {
            Loading::Ready => self.indexing = Some((done, total)),
            _ => self.loading = Loading::Embedding { done, total },
        }
    }

    /// Near-duplicate groups of the current collection have been found.
    pub fn duplicates_found(&mut self, groups: Vec<Vec<usize>>) {
        let mut of = vec![None; self.collection.len()];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                if let Some(slot) = of.get_mut(i) {
                    *slot = Some(g);
                }
            }
        }
        self.duplicate_of = of;
        self.duplicates = Some(groups);
    }

    /// A montage was saved to `path` (and is ready to show).
    pub fn montage_saved(&mut self, path: PathBuf) {
        self.busy = None;
        self.message = format!("montage saved to {}", path.display());
        self.overlay = Overlay::Montage(path);
    }

    /// File name of image `i`, relative to the collection's folder.
    pub fn name(&self, i: usize) -> String {
        let p = &self.collection.paths[i];
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    }

    /// Row of the image under the cursor of the images pane.
    pub fn base(&self) -> Option<usize> {
        self.shown.get(self.cluster)?.get(self.image).copied()
    }

    /// Row of the image shown in the preview: the one under whichever cursor is active.
    pub fn current(&self) -> Option<usize> {
        if self.overlay == Overlay::Duplicates {
            return self.duplicate_rows().nth(self.duplicate_cursor);
        }
        if self.focus == Focus::Similar {
            return self.neighbours.get(self.similar_cursor).map(|n| n.index);
        }
        self.base()
    }

    pub fn current_path(&self) -> Option<&PathBuf> {
        self.current().map(|i| &self.collection.paths[i])
    }

    /// Images of the duplicate groups, group after group.
    pub fn duplicate_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.duplicates.iter().flatten().flatten().copied()
    }

    /// Suggested export folder for the current cluster, e.g. `imgtui-export/03-jellyfish`.
    pub fn export_default(&self) -> String {
        match self.current_cluster() {
            Some((number, name)) => format!("imgtui-export/{}", folder_name(number, name)),
            None => String::new(),
        }
    }

    fn current_cluster(&self) -> Option<(usize, &str)> {
        let cl = self.clustering.as_ref()?.clusters.get(self.cluster)?;
        Some((cl.number, &cl.name))
    }

    /// Recomputes the neighbours if the cursor has moved since. The event loop calls this
    /// when no key is waiting, so holding an arrow key does not compute every step.
    pub fn refresh_neighbours(&mut self) -> bool {
        let base = self.base();
        if base == self.neighbours_of || !self.has_vectors() {
            return false;
        }
        self.neighbours_of = base;
        self.neighbours = match base {
            Some(i) => neighbours::query(
                &self.collection,
                self.collection.row(i),
                Select::Nearest(self.neighbour_count),
                Some(i),
            ),
            None => Vec::new(),
        };
        true
    }

    pub fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return vec![Command::Quit];
        }
        match &mut self.overlay {
            Overlay::Export(text) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let target = PathBuf::from(text.trim());
                        self.overlay = Overlay::None;
                        let files: Vec<PathBuf> = self.members[self.cluster]
                            .iter()
                            .map(|&i| self.collection.paths[i].clone())
                            .collect();
                        if !target.as_os_str().is_empty() {
                            return vec![Command::Export(files, target)];
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    KeyCode::Char(c) => text.push(c),
                    _ => {}
                }
                return Vec::new();
            }
            Overlay::Filter => return self.filter_key(key.code),
            Overlay::Duplicates => return self.duplicates_key(key.code),
            Overlay::Help | Overlay::Preview | Overlay::Montage(_) => {
                if matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('?')
                ) {
                    self.overlay = Overlay::None;
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        match key.code {
            KeyCode::Char('q') => return vec![Command::Quit],
            KeyCode::Char('?') => self.overlay = Overlay::Help,
            KeyCode::Esc if self.focus == Focus::Similar => {
                self.focus = Focus::Images;
                self.message.clear();
                return self.preview_command();
            }
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.apply_filter();
                return self.cursor_moved();
            }
            _ if self.loading != Loading::Ready => {}
            KeyCode::Enter => self.overlay = Overlay::Preview,
            KeyCode::Tab => {
                self.refresh_neighbours();
                self.focus = match self.focus {
                    Focus::Clusters => Focus::Images,
                    Focus::Images if !self.neighbours.is_empty() => Focus::Similar,
                    _ => Focus::Clusters,
                };
                self.similar_cursor = 0;
                return self.preview_command();
            }
            KeyCode::Char('s') if !self.has_vectors() => self.message = WAITING_FOR_VECTORS.into(),
            KeyCode::Char('s') => {
                self.refresh_neighbours();
                self.focus = Focus::Similar;
                self.similar_cursor = 0;
                self.message = "similar images: ↑↓ to browse, Esc returns".into();
                return self.preview_command();
            }
            KeyCode::Char('e') => self.overlay = Overlay::Export(self.export_default()),
            KeyCode::Char('/') => self.overlay = Overlay::Filter,
            KeyCode::Char('d') => return self.open_duplicates(),
            KeyCode::Char('m') => return self.montage(),
            KeyCode::Char('+') | KeyCode::Char('=') => return self.change_k(1),
            KeyCode::Char('-') => return self.change_k(-1),
            KeyCode::Left | KeyCode::Char('h') => return self.move_cluster(-1),
            KeyCode::Right | KeyCode::Char('l') => return self.move_cluster(1),
            KeyCode::Up | KeyCode::Char('k') => return self.move_vertical(-1),
            KeyCode::Down | KeyCode::Char('j') => return self.move_vertical(1),
            KeyCode::PageUp => return self.move_vertical(-10),
            KeyCode::PageDown => return self.move_vertical(10),
            KeyCode::Home => return self.move_vertical(isize::MIN / 2),
            KeyCode::End => return self.move_vertical(isize::MAX / 2),
            _ => {}
        }
        Vec::new()
    }

    fn filter_key(&mut self, code: KeyCode) -> Vec<Command> {
        match code {
            KeyCode::Esc => {
                self.overlay = Overlay::None;
                self.filter.clear();
            }
            KeyCode::Enter => {
                self.overlay = Overlay::None;
                // Land on a cluster that has matches if this one has none.
                if self.shown.get(self.cluster).is_some_and(Vec::is_empty)
                    && let Some(c) = self.shown.iter().position(|s| !s.is_empty())
                {
                    self.cluster = c;
                    self.image = 0;
                }
                return self.cursor_moved();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) => self.filter.push(c),
            _ => return Vec::new(),
        }
        self.apply_filter();
        self.cursor_moved()
    }

    /// Recomputes `shown` from `members` and `filter` (case-insensitive substring), keeping
    /// the cursor on its image if that is still shown.
    fn apply_filter(&mut self) {
        let keep = self.base();
        let needle = self.filter.to_lowercase();
        self.shown = self
            .members
            .iter()
            .map(|m| {
                if needle.is_empty() {
                    m.clone()
                } else {
                    m.iter()
                        .copied()
                        .filter(|&i| self.name(i).to_lowercase().contains(&needle))
                        .collect()
                }
            })
            .collect();
        let shown = self.shown.get(self.cluster).map_or(&[][..], Vec::as_slice);
        self.image = match keep.and_then(|row| shown.iter().position(|&i| i == row)) {
            Some(at) => at,
            None => self.image.min(shown.len().saturating_sub(1)),
        };
    }

    /// Puts the images cursor on collection row `row` (clearing a filter that hides it).
    fn go_to(&mut self, row: usize) {
        let Some(label) = self.clustering.as_ref().and_then(|c| c.labels.get(row)) else {
            return;
        };
        let label = *label;
        if !self.shown[label].contains(&row) {
            self.filter.clear();
            self.apply_filter();
        }
        self.cluster = label;
        self.image = self.shown[label]
            .iter()
            .position(|&i| i == row)
            .unwrap_or(0);
        self.focus = Focus::Images;
    }

    fn open_duplicates(&mut self) -> Vec<Command> {
        match &self.duplicates {
            None => self.message = "still looking for near-duplicates…".into(),
            Some(groups) if groups.is_empty() => {
                self.message = "no near-duplicates in this collection".into()
            }
            Some(_) => {
                self.overlay = Overlay::Duplicates;
                self.duplicate_cursor =
                    self.duplicate_cursor.min(self.duplicate_rows().count() - 1);
                self.message =
                    "near-duplicates: ↑↓ browse, Enter goes to the image, Esc returns".into();
                return self.preview_command();
            }
        }
        Vec::new()
    }

    fn duplicates_key(&mut self, code: KeyCode) -> Vec<Command> {
        let n = self.duplicate_rows().count();
        let step: isize = match code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            KeyCode::PageUp => -10,
            KeyCode::PageDown => 10,
            KeyCode::Enter => {
                let row = self.current();
                self.overlay = Overlay::None;
                self.message.clear();
                if let Some(row) = row {
                    self.go_to(row);
                }
                return self.cursor_moved();
            }
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('d') => {
                self.overlay = Overlay::None;
                self.message.clear();
                return self.preview_command();
            }
            _ => return Vec::new(),
        };
        self.duplicate_cursor =
            (self.duplicate_cursor as isize + step).clamp(0, n.saturating_sub(1) as isize) as usize;
        self.preview_command()
    }

    fn montage(&mut self) -> Vec<Command> {
        let Some((number, name)) = self.current_cluster() else {
            return Vec::new();
        };
        let stem = folder_name(number, name);
        let files: Vec<PathBuf> = self.shown[self.cluster]
            .iter()
            .take(MONTAGE_MAX)
            .map(|&i| self.collection.paths[i].clone())
            .collect();
        if files.is_empty() {
            return Vec::new();
        }
        self.busy = Some(format!("drawing a montage of {} images…", files.len()));
        vec![Command::Montage(files, stem)]
    }

    /// `+` / `-`: one cluster more or fewer, fitted in the background.
    fn change_k(&mut self, delta: isize) -> Vec<Command> {
        let Some(c) = &self.clustering else {
            return Vec::new();
        };
        if c.request.method == Method::Dbscan {
            self.message = "DBSCAN finds its own number of clusters (set --eps instead)".into();
            return Vec::new();
        }
        if !self.has_vectors() {
            self.message = WAITING_FOR_VECTORS.into();
            return Vec::new();
        }
        let n = self.collection.len();
        let k = (c.k as isize + delta).clamp(2, n.saturating_sub(1).max(2) as isize) as usize;
        if k == c.k {
            return Vec::new();
        }
        self.busy = Some(format!("clustering into {k}…"));
        vec![Command::Recluster(k)]
    }

    fn move_cluster(&mut self, delta: isize) -> Vec<Command> {
        let n = self.shown.len();
        if n == 0 {
            return Vec::new();
        }
        self.cluster = (self.cluster as isize + delta).rem_euclid(n as isize) as usize;
        self.image = 0;
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
        }
        self.cursor_moved()
    }

    fn move_vertical(&mut self, delta: isize) -> Vec<Command> {
        let (cursor, n) = match self.focus {
            Focus::Clusters => (&mut self.cluster, self.shown.len()),
            Focus::Images => (
                &mut self.image,
                self.shown.get(self.cluster).map_or(0, Vec::len),
            ),
            Focus::Similar => (&mut self.similar_cursor, self.neighbours.len()),
        };
        if n == 0 {
            return Vec::new();
        }
        *cursor = (*cursor as isize)
            .saturating_add(delta)
            .clamp(0, n as isize - 1) as usize;
        match self.focus {
            Focus::Clusters => {
                self.image = 0;
                self.cursor_moved()
            }
            Focus::Images => self.cursor_moved(),
            Focus::Similar => self.preview_command(),
        }
    }

    /// The image under the cursor changed: a new preview now, new neighbours when it rests.
    fn cursor_moved(&mut self) -> Vec<Command> {
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
        }
        self.preview_command()
    }

    fn preview_command(&mut self) -> Vec<Command> {
        let path = self.current_path().cloned();
        if path == self.preview_path {
            return Vec::new();
        }
        self.preview_path = path.clone();
        path.map(Command::LoadPreview).into_iter().collect()
    }
}
