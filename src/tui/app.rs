//! The explorer's state and how events change it, Elm-style: [`App::on`] takes every
//! [`Event`] (a key, or a worker's report) and returns the [`Command`]s the event loop must
//! carry out. No I/O and no heavy work here, so the whole update can be tested.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use super::framing::frame;
use super::keys::{self, Action, Mode};
use super::panes::browse::Browse;
use super::panes::compare::Compare;
use super::panes::duplicates::Duplicates;
use super::panes::grid::Grid;
use super::panes::lattice::Lattice;
use super::panes::map::Map;
use super::panes::neighbours::Neighbours;
use super::panes::outliers::Outliers;
use super::panes::overview::Overview;
pub(crate) use super::panes::status::Notice;
use super::panes::status::Status;
use super::theme::{Look, Theme};
use crate::session::Collection;
use crate::session::{Clustering, FitStage, members};

pub use super::event::{Command, Event, Hit};
pub use super::event::{MapImage, MapPicture};
pub use super::panes::compare::COMPARE_MAX;
pub use super::panes::duplicates::DUPLICATES_FOLDER;
pub use super::panes::edit::Ask;
pub use super::panes::export::Exporting;
pub use super::panes::facets::Facets;
pub use super::panes::grid::{GRID_TILE, ImagesView};
pub use super::panes::map::{MAP_PICTURE_MAX, MAP_ZOOM_MAX, MapView};
pub use super::panes::neighbours::NEIGHBOURS;
pub use super::panes::outliers::outliers_shown;
pub use super::panes::preview::MONTAGE_MAX;

/// Which pane the cursor keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The cluster list.
    Clusters,
    /// The current cluster's images.
    Images,
    /// The similar images of the one under the cursor.
    Similar,
    /// The map: a crosshair walks it, the image nearest to it is the current one.
    Map,
}

/// A modal layer over the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The panes.
    None,
    /// The keys, scrolled down this many lines.
    Help(u16),
    /// Full-screen preview of the current image.
    Preview,
    /// Export prompt: the target folder being edited.
    Export(String),
    /// A question for an edit of the clustering, and the answer being typed.
    Ask(Ask, String),
    /// The file-name filter is being typed (the text is `App::filter`).
    Filter,
    /// A search by words is being typed (`t`).
    Search(String),
    /// The near-duplicate groups, browsed with the cursor.
    Duplicates,
    /// The odd ones out, most odd first, browsed with the cursor.
    Outliers,
    /// Confirm moving or trashing the near-duplicates that go.
    Resolve,
    /// The montage just saved to this file, full screen.
    Montage(PathBuf),
    /// Two to four images side by side, or flickering at one place (`C`).
    Compare,
}

/// Where the collection is on its way in.
#[derive(Debug, Clone, PartialEq)]
pub enum Loading {
    /// Looking for images.
    Scanning,
    /// Embedding new images: `done` of `total`.
    Embedding {
        /// Images embedded so far.
        done: usize,
        /// Images to embed.
        total: usize,
    },
    /// Fitting the clustering, at this stage once a new fit has told it.
    Clustering(Option<FitStage>),
    /// The clusters are on screen.
    Ready,
    /// Loading stopped, and why.
    Failed(String),
}

/// The explorer's whole state: what every pane shares (the collection, its clustering, the
/// focus and the layer on top), and each pane's own state in its own struct (`super::panes`).
pub struct App {
    /// The folder explored.
    pub(crate) root: PathBuf,
    /// Where the collection is on its way in.
    pub(crate) loading: Loading,
    /// The images on screen (paths only until the vectors are read).
    pub(crate) collection: Arc<Collection>,
    /// Their clustering, row-aligned.
    pub(crate) clustering: Option<Clustering>,
    /// The pane the cursor keys move in.
    pub(crate) focus: Focus,
    /// A modal layer over the panes, if any.
    pub(crate) overlay: Overlay,
    /// The status line: messages, notices, background work.
    pub(crate) status: Status,
    /// The clusters, the cursor in them, the filter, the marks and the edits.
    pub(crate) browse: Browse,
    /// The images pane as a list or a grid of thumbnails.
    pub(crate) grid: Grid,
    /// The map: the part in view, its crosshair, the picture.
    pub(crate) map: Map,
    /// The nearest neighbours of the image under the cursor, and browsing them (`s`).
    pub(crate) neighbours: Neighbours,
    /// The near-duplicate groups (`d`).
    pub(crate) duplicates: Duplicates,
    /// The odd ones out (`o`).
    pub(crate) outliers: Outliers,
    /// Every cluster on one screen (`w`).
    pub(crate) overview: Overview,
    /// The whole collection as one grid, alike images together (`L`).
    pub(crate) lattice: Lattice,
    /// Two to four images side by side (`C`).
    pub(crate) compare: Compare,
    /// What images are compared by, and `f` cycling it.
    pub(crate) facets: Facets,
    /// Image the preview shows (or is loading).
    pub(crate) preview_path: Option<PathBuf>,
    /// How the screen looks: colours, and how images are drawn.
    pub(crate) look: Look,
}

impl App {
    /// The explorer of `root`, before anything is loaded; `model` names the features.
    pub fn new(root: PathBuf, model: String) -> App {
        App {
            root,
            loading: Loading::Scanning,
            collection: Arc::default(),
            clustering: None,
            focus: Focus::Images,
            overlay: Overlay::None,
            status: Status::new(model),
            browse: Browse::default(),
            grid: Grid::default(),
            map: Map::default(),
            neighbours: Neighbours::default(),
            duplicates: Duplicates::default(),
            outliers: Outliers::default(),
            overview: Overview::default(),
            lattice: Lattice::default(),
            compare: Compare::default(),
            facets: Facets::default(),
            preview_path: None,
            look: Look::default(),
        }
    }

    /// Updates the state for `event` and returns what the event loop must do.
    pub fn on(&mut self, event: Event) -> Vec<Command> {
        // Idle comes every 50 ms and moves nothing the grid or the map picture show.
        let idle = matches!(event, Event::Idle);
        let mut commands = self.update(event);
        if !idle {
            commands.extend(self.thumbnails());
            commands.extend(self.picture());
        }
        commands
    }

    /// Routes `event` to the pane that owns what it changes.
    pub(crate) fn update(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Key(key) => self.key(key),
            Event::Idle => {
                self.compare_tick();
                self.cursor_rests()
            }
            Event::Click(hit) => self.click(hit),
            Event::Wheel(hit, by) => self.wheel(hit, by),
            // The screen.
            Event::Graphics { how, images } => self.on_graphics(how, images),
            Event::GridSize(columns, rows) => self.on_grid_size(columns, rows),
            Event::MapSize(columns, rows) => self.on_map_size(columns, rows),
            Event::MapDrawn { shown, of } => self.on_map_drawn(shown, of),
            Event::ScreenSize(columns, rows) => self.on_screen_size(columns, rows),
            Event::Background { light } => self.on_background(light),
            // The collection on its way in, and the live folder.
            Event::Progress(progress) => self.on_progress(progress),
            Event::Clustering => self.on_clustering(),
            Event::Fitting(stage) => self.on_fitting(stage),
            Event::Loaded(collection, clustering) => self.loaded(collection, *clustering),
            Event::Vectors(collection) => self.vectors_read(collection),
            Event::LoadFailed(why) => self.load_failed(why),
            Event::Thumbnailing(done, total) => self.on_thumbnailing(done, total),
            Event::Watching(mode) => self.on_watching(mode),
            Event::FolderChanged(change) => self.folder_changed(change),
            // The workers' answers.
            Event::Reclustered(result) => self.on_reclustered(result),
            Event::Edited(result) => self.on_edited(result),
            Event::Notes(notes) => self.on_notes(notes),
            Event::FacetSwitched(index, result) => self.on_facet_switched(index, result),
            Event::Neighbours { row, found, of } => self.on_neighbours(row, found, &of),
            Event::Duplicates(groups) => self.on_duplicates(groups),
            Event::Keepers(keepers) => self.on_keepers(keepers),
            Event::Resolved(result) => self.on_resolved(result),
            Event::Decided(mark, result) => self.on_decided(mark, result),
            Event::Outliers(of, found) => self.on_outliers(of, found),
            Event::Searched { query, found, of } => self.on_searched(query, found, &of),
            Event::Montage(result) => self.on_montage(result),
            Event::ImageFacts(facts) => self.on_image_facts(facts),
            Event::PictureFailed(path, why) => self.on_picture_failed(path, why),
            Event::Copied(result) => self.on_copied(result),
            Event::ExportProgress(done) => self.on_export_progress(done),
            Event::ExportSuggested(suggested, fresh) => self.on_export_suggested(suggested, fresh),
            Event::Exported(result) => self.on_exported(result),
        }
    }

    /// The screen's size, for what scrolls inside it (the help).
    fn on_screen_size(&mut self, columns: u16, rows: u16) -> Vec<Command> {
        self.look.screen = ratatui::layout::Rect::new(0, 0, columns, rows);
        Vec::new()
    }

    /// The terminal's background is light or dark: `explore.theme = auto` follows it (and
    /// `NO_COLOR`'s plain theme stays).
    fn on_background(&mut self, light: bool) -> Vec<Command> {
        if self.look.auto && self.look.theme != Theme::Plain {
            self.look.theme = if light { Theme::Light } else { Theme::Dark };
        }
        Vec::new()
    }

    /// Whether the vectors are in (neighbours, similar images and `+` / `-` need them).
    pub fn has_vectors(&self) -> bool {
        self.collection.dim() > 0
    }

    pub(crate) fn set_clustering(
        &mut self,
        clustering: Clustering,
        keep: Option<usize>,
    ) -> Vec<Command> {
        self.browse.members = members(&clustering);
        self.map.generation += 1;
        // A new map (not the same map with images added) is seen whole again, in its frame.
        self.map.framed = frame(&clustering.map);
        let whole = MapView::new(&self.map.framed.at);
        if whole.bounds != self.map.view.bounds {
            let zoom = self.map.view.zoom;
            let crosshair = self.map.view.crosshair;
            self.map.view = whole;
            if self.clustering.as_ref().map(|c| c.request.map) == Some(clustering.request.map) {
                self.map.view.put(crosshair);
                self.map.view.zoom_by(zoom);
            }
        }
        if self.lattice.on {
            self.lattice.lay_out(&clustering);
        }
        self.clustering = Some(clustering);
        self.browse.cluster = self
            .browse
            .cluster
            .min(self.browse.members.len().saturating_sub(1));
        self.browse.image = 0;
        self.browse.shown.clear();
        self.apply_filter();
        if let Some(row) = keep {
            self.go_to(row);
        }
        self.cursor_moved()
    }

    /// The number of the cluster image `i` is in (0 before there is a clustering).
    pub fn cluster_number(&self, i: usize) -> usize {
        self.clustering
            .as_ref()
            .map_or(0, |c| c.clusters[c.labels[i]].number)
    }

    /// File name of image `i`, relative to the collection's folder, as shown to a person
    /// (control characters and bad bytes escaped: [`crate::text::shown`]).
    pub fn name(&self, i: usize) -> String {
        let p = &self.collection.paths[i];
        crate::text::shown(p.strip_prefix(&self.root).unwrap_or(p)).to_string()
    }

    /// Row of the image under the cursor of the images pane.
    pub fn base(&self) -> Option<usize> {
        self.browse
            .shown
            .get(self.browse.cluster)?
            .get(self.browse.image)
            .copied()
    }

    /// Row of the image shown in the preview: the one under whichever cursor is active.
    pub fn current(&self) -> Option<usize> {
        if self.overlay == Overlay::Duplicates {
            return self.duplicate_rows().nth(self.duplicates.cursor);
        }
        if self.overlay == Overlay::Outliers {
            return self
                .outliers
                .list
                .as_ref()?
                .get(self.outliers.cursor)
                .map(|o| o.0);
        }
        if self.focus == Focus::Similar {
            return self
                .neighbours
                .list
                .get(self.neighbours.cursor)
                .map(|n| n.index);
        }
        self.base()
    }

    /// Path of the image shown in the preview.
    pub fn current_path(&self) -> Option<&PathBuf> {
        self.current().map(|i| &self.collection.paths[i])
    }

    /// Where keys go now: the layer on top, else the map when it has the focus, else the
    /// panes.
    fn mode(&self) -> Mode {
        match self.overlay {
            Overlay::Export(_) | Overlay::Ask(..) | Overlay::Filter | Overlay::Search(_) => {
                Mode::Prompt
            }
            Overlay::Duplicates => Mode::Duplicates,
            Overlay::Resolve => Mode::Resolve,
            Overlay::Outliers => Mode::Outliers,
            Overlay::Compare => Mode::Compare,
            Overlay::Help(_) | Overlay::Preview | Overlay::Montage(_) => Mode::Viewer,
            Overlay::None if self.lattice.on && self.loading == Loading::Ready => Mode::Lattice,
            Overlay::None if self.overview.on && self.loading == Loading::Ready => Mode::Overview,
            Overlay::None if self.focus == Focus::Map && self.loading == Loading::Ready => {
                Mode::Map
            }
            Overlay::None => Mode::Panes,
        }
    }

    /// A key, through the key table ([`keys::action`]) to the pane of the mode.
    pub(crate) fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        let mut mode = self.mode();
        let mut action = keys::action(mode, key);
        // Keys the map and the overview have no row for are the panes'.
        if action.is_none() && matches!(mode, Mode::Map | Mode::Overview | Mode::Lattice) {
            mode = Mode::Panes;
            action = keys::action(mode, key);
        }
        match (mode, action) {
            (_, Some(Action::Quit)) => vec![Command::Quit],
            (Mode::Prompt, action) => self.prompt_key(action, key),
            (_, None) => Vec::new(),
            (Mode::Viewer, Some(Action::Close)) => {
                self.overlay = Overlay::None;
                Vec::new()
            }
            (Mode::Viewer, Some(action)) => {
                self.scroll_help(action);
                Vec::new()
            }
            (Mode::Duplicates, Some(action)) => self.duplicates_key(action),
            (Mode::Resolve, Some(action)) => self.resolve_key(action),
            (Mode::Outliers, Some(action)) => self.outliers_key(action),
            (Mode::Compare, Some(action)) => self.compare_key(action),
            (Mode::Map, Some(action)) => self.map_key(action),
            (Mode::Overview, Some(action)) => self.overview_key(action),
            (Mode::Lattice, Some(action)) => self.lattice_key(action),
            (_, Some(action)) => self.panes_key(action),
        }
    }

    /// The actions of the panes ([`Mode::Panes`]).
    fn panes_key(&mut self, action: Action) -> Vec<Command> {
        let ready = self.loading == Loading::Ready;
        match action {
            Action::Help => self.overlay = Overlay::Help(0),
            Action::Back => return self.back(),
            _ if !ready => {}
            Action::Preview => self.overlay = Overlay::Preview,
            Action::CycleFocus => return self.cycle_focus(),
            Action::Similar if !self.has_vectors() => self.notify(Notice::WaitingForVectors),
            Action::Similar => return self.browse_similar(),
            Action::Export => return self.open_export(),
            Action::Mark => return self.mark_and_advance(),
            Action::UnmarkAll if !self.browse.selection.is_empty() => {
                self.say(format!("{} unmarked", images(self.browse.selection.len())));
                self.browse.selection.clear();
            }
            Action::CopyPaths => return self.copy_paths(),
            Action::Compare => return self.compare_marked(),
            Action::Rename | Action::Merge | Action::Split | Action::MoveTo
                if !self.has_vectors() =>
            {
                self.notify(Notice::WaitingForVectors)
            }
            Action::Rename => {
                let name = self.current_cluster().map(|(_, n)| n.to_owned());
                self.overlay = Overlay::Ask(Ask::Rename, name.unwrap_or_default());
            }
            Action::Merge => self.overlay = Overlay::Ask(Ask::MergeInto, String::new()),
            Action::Split => self.overlay = Overlay::Ask(Ask::Split, String::new()),
            Action::MoveTo => self.overlay = Overlay::Ask(Ask::MoveTo, String::new()),
            Action::Undo => return self.history(Command::Undo),
            Action::Redo => return self.history(Command::Redo),
            Action::Filter => self.overlay = Overlay::Filter,
            Action::Search => return self.open_search(),
            Action::Duplicates => return self.open_duplicates(),
            Action::Outliers if !self.has_vectors() => self.notify(Notice::WaitingForVectors),
            Action::Outliers => return self.find_outliers(),
            Action::Montage => return self.montage(),
            Action::MoreClusters => return self.change_k(1),
            Action::Facet => return self.next_facet(),
            Action::FewerClusters => return self.change_k(-1),
            Action::ToggleView => self.toggle_view(),
            Action::Overview => return self.toggle_overview(),
            Action::Lattice => return self.toggle_lattice(),
            Action::PreviousCluster => return self.move_cluster(-1),
            Action::NextCluster => return self.move_cluster(1),
            action if self.grid_shown() && self.focus != Focus::Clusters => {
                if let Some((dx, dy)) = self.grid_step(action) {
                    return self.move_in_grid(dx, dy);
                }
            }
            Action::Left => return self.move_cluster(-1),
            Action::Right => return self.move_cluster(1),
            Action::Up => return self.move_vertical(-1),
            Action::Down => return self.move_vertical(1),
            Action::PageUp => return self.move_vertical(-10),
            Action::PageDown => return self.move_vertical(10),
            Action::First => return self.move_vertical(isize::MIN / 2),
            Action::Last => return self.move_vertical(isize::MAX / 2),
            _ => {}
        }
        Vec::new()
    }

    /// Esc on the panes: stop the export under way, else leave the similar images, else
    /// clear the filter.
    fn back(&mut self) -> Vec<Command> {
        if self.status.exporting.as_ref().is_some_and(|x| !x.stopping) {
            return self.stop_export();
        }
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
            self.say("");
            if self.neighbours.query.is_some() {
                // The search results leave; the neighbours of the image come back.
                self.forget_neighbours();
                let mut commands = self.cursor_rests();
                commands.extend(self.preview_command());
                return commands;
            }
            return self.preview_command();
        }
        if !self.browse.filter.is_empty() {
            return self.clear_filter();
        }
        Vec::new()
    }

    /// Tab: clusters, images, similar images (when there are some), map.
    fn cycle_focus(&mut self) -> Vec<Command> {
        self.focus = match self.focus {
            Focus::Clusters => Focus::Images,
            Focus::Images if self.neighbours_current() && !self.neighbours.list.is_empty() => {
                Focus::Similar
            }
            Focus::Images | Focus::Similar => Focus::Map,
            Focus::Map => Focus::Clusters,
        };
        if self.focus == Focus::Map {
            return self.enter_map();
        }
        if self.status.notice == Some(Notice::MapKeys) {
            self.say("");
        }
        self.neighbours.cursor = 0;
        self.preview_command()
    }

    pub(crate) fn click(&mut self, hit: Hit) -> Vec<Command> {
        if self.overlay != Overlay::None || self.loading != Loading::Ready {
            return Vec::new();
        }
        match hit {
            Hit::Cluster(Some(c)) if c < self.browse.shown.len() => {
                self.focus = Focus::Clusters;
                self.browse.cluster = c;
                self.browse.image = 0;
                self.cursor_moved()
            }
            Hit::Image(Some(i)) if self.focus == Focus::Similar && self.grid_shown() => {
                self.neighbours.cursor = i.min(self.neighbours.list.len().saturating_sub(1));
                self.preview_command()
            }
            Hit::Image(Some(i))
                if i < self
                    .browse
                    .shown
                    .get(self.browse.cluster)
                    .map_or(0, Vec::len) =>
            {
                self.focus = Focus::Images;
                self.browse.image = i;
                self.cursor_moved()
            }
            Hit::Similar(Some(i))
                if i < self.neighbours.list.len() && self.neighbours_current() =>
            {
                self.focus = Focus::Similar;
                self.neighbours.cursor = i;
                self.preview_command()
            }
            Hit::Overview(cluster, image) => self.overview_click(cluster, image),
            Hit::Lattice(column, row) => self.lattice_click(column, row),
            Hit::Map(at) => {
                if self.focus != Focus::Map {
                    self.focus = Focus::Map;
                    self.enter_map();
                }
                self.map.view.put(at);
                self.walk_to_crosshair()
            }
            _ => Vec::new(),
        }
    }

    /// The wheel scrolls the pane under the pointer by three rows (a grid by one), and
    /// zooms the map.
    pub(crate) fn wheel(&mut self, hit: Hit, by: isize) -> Vec<Command> {
        if self.overlay != Overlay::None || self.loading != Loading::Ready {
            return Vec::new();
        }
        let step = if by < 0 { Action::Up } else { Action::Down };
        match hit {
            Hit::Overview(..) => self.overview_key(step),
            Hit::Lattice(..) => self.lattice_key(step),
            Hit::Map(_) => {
                self.map.view.zoom_by(if by < 0 { 1.5 } else { 1.0 / 1.5 });
                Vec::new()
            }
            Hit::Cluster(_) => {
                self.focus = Focus::Clusters;
                self.move_vertical(3 * by)
            }
            Hit::Image(_) if self.grid_shown() && self.focus == Focus::Similar => {
                self.move_in_grid(0, by)
            }
            Hit::Image(_) if self.grid_shown() => {
                self.focus = Focus::Images;
                self.move_in_grid(0, by)
            }
            Hit::Image(_) => {
                self.focus = Focus::Images;
                self.move_vertical(3 * by)
            }
            Hit::Similar(_) if self.neighbours_current() && !self.neighbours.list.is_empty() => {
                self.focus = Focus::Similar;
                self.move_vertical(3 * by)
            }
            Hit::Similar(_) => Vec::new(),
        }
    }

    /// The image under the cursor changed: a new preview now, new neighbours when it rests.
    pub(crate) fn cursor_moved(&mut self) -> Vec<Command> {
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
        }
        self.neighbours.wanted = false;
        self.preview_command()
    }
}

/// "1 image", "2 images".
pub fn images(n: usize) -> String {
    match n {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    }
}
