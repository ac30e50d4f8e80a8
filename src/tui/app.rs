//! The explorer's state and how events change it. No terminal I/O here.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::analysis::clustering::{Clustering, members};
use crate::analysis::neighbours::{self, Neighbour, Select};
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
}

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
}

/// Number of neighbours shown.
pub const NEIGHBOURS: usize = 12;

pub struct App {
    pub root: PathBuf,
    pub model: String,
    pub loading: Loading,
    pub collection: Collection,
    pub clustering: Option<Clustering>,
    /// Members of each cluster, nearest the centre first.
    pub members: Vec<Vec<usize>>,
    pub cluster: usize,
    /// Cursor in the current cluster's member list.
    pub image: usize,
    pub focus: Focus,
    pub overlay: Overlay,
    /// The current image's nearest neighbours (recomputed as the cursor moves).
    pub neighbours: Vec<Neighbour>,
    pub similar_cursor: usize,
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
            collection: Collection::default(),
            clustering: None,
            members: Vec::new(),
            cluster: 0,
            image: 0,
            focus: Focus::Images,
            overlay: Overlay::None,
            neighbours: Vec::new(),
            similar_cursor: 0,
            message: String::new(),
            preview_path: None,
        }
    }

    /// The collection and its clustering have arrived.
    pub fn loaded(&mut self, collection: Collection, clustering: Clustering) -> Vec<Command> {
        let mut by_cluster = members(&clustering);
        for m in &mut by_cluster {
            m.sort_by(|&a, &b| {
                clustering.distances[a]
                    .total_cmp(&clustering.distances[b])
                    .then(a.cmp(&b))
            });
        }
        self.members = by_cluster;
        self.collection = collection;
        self.clustering = Some(clustering);
        self.cluster = self.cluster.min(self.members.len().saturating_sub(1));
        self.image = 0;
        self.loading = Loading::Ready;
        self.cursor_moved()
    }

    /// Row in the collection of the image under the cursor.
    pub fn current(&self) -> Option<usize> {
        if self.focus == Focus::Similar {
            return self.neighbours.get(self.similar_cursor).map(|n| n.index);
        }
        self.members.get(self.cluster)?.get(self.image).copied()
    }

    pub fn current_path(&self) -> Option<&PathBuf> {
        self.current().map(|i| &self.collection.paths[i])
    }

    /// Suggested export folder for the current cluster, e.g. `imgtui-export/03-jellyfish`.
    pub fn export_default(&self) -> String {
        let Some(cl) = self
            .clustering
            .as_ref()
            .and_then(|c| c.clusters.get(self.cluster))
        else {
            return String::new();
        };
        format!(
            "imgtui-export/{}",
            crate::export::folder_name(cl.number, &cl.name)
        )
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
            Overlay::Help | Overlay::Preview => {
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
                return self.cursor_moved();
            }
            _ if self.loading != Loading::Ready => {}
            KeyCode::Enter => self.overlay = Overlay::Preview,
            KeyCode::Tab => {
                self.focus = match self.focus {
                    Focus::Clusters => Focus::Images,
                    Focus::Images if !self.neighbours.is_empty() => Focus::Similar,
                    _ => Focus::Clusters,
                };
                self.similar_cursor = 0;
                return self.preview_command();
            }
            KeyCode::Char('s') => {
                self.focus = Focus::Similar;
                self.similar_cursor = 0;
                self.message = "similar images: ↑↓ to browse, Esc returns".into();
                return self.preview_command();
            }
            KeyCode::Char('e') => self.overlay = Overlay::Export(self.export_default()),
            KeyCode::Left | KeyCode::Char('h') => return self.move_cluster(-1),
            KeyCode::Right | KeyCode::Char('l') => return self.move_cluster(1),
            KeyCode::Up | KeyCode::Char('k') => return self.move_vertical(-1),
            KeyCode::Down | KeyCode::Char('j') => return self.move_vertical(1),
            KeyCode::PageUp => return self.move_vertical(-10),
            KeyCode::PageDown => return self.move_vertical(10),
            _ => {}
        }
        Vec::new()
    }

    fn move_cluster(&mut self, delta: isize) -> Vec<Command> {
        let n = self.members.len();
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
        match self.focus {
            Focus::Clusters => {
                let n = self.members.len() as isize;
                if n == 0 {
                    return Vec::new();
                }
                self.cluster = (self.cluster as isize + delta).clamp(0, n - 1) as usize;
                self.image = 0;
                self.cursor_moved()
            }
            Focus::Images => {
                let n = self.members.get(self.cluster).map_or(0, Vec::len) as isize;
                if n == 0 {
                    return Vec::new();
                }
                self.image = (self.image as isize + delta).clamp(0, n - 1) as usize;
                self.cursor_moved()
            }
            Focus::Similar => {
                let n = self.neighbours.len() as isize;
                if n == 0 {
                    return Vec::new();
                }
                self.similar_cursor =
                    (self.similar_cursor as isize + delta).clamp(0, n - 1) as usize;
                self.preview_command()
            }
        }
    }

    /// The image under the cursor changed: new neighbours, new preview.
    fn cursor_moved(&mut self) -> Vec<Command> {
        self.neighbours = match self.current() {
            Some(i) => neighbours::query(
                &self.collection,
                self.collection.row(i),
                Select::Nearest(NEIGHBOURS),
                Some(i),
            ),
            None => Vec::new(),
        };
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
