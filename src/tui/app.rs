//! The explorer's state and how events change it, Elm-style: [`App::on`] takes every
//! [`Event`] (a key, or a worker's report) and returns the [`Command`]s the event loop must
//! carry out. No I/O and no heavy work here, so the whole update can be tested.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::theme::Theme;
use crate::error::{Error, ErrorKind};
use crate::session::{
    Change, Clustering, Collection, Edit, ExportReport, KChoice, Method, Neighbour, Progress,
    WatchMode, folder_name, members,
};

/// Everything that happens to the explorer: the user's keys, and what the workers report.
#[derive(Debug)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// No key for a moment: the cursor rests, so its neighbours are worth finding.
    Idle,
    /// Indexing moved on.
    Progress(Progress),
    /// Indexing is done and the clustering is being brought up to date.
    Clustering,
    /// A collection and its clustering (at start, or with new images).
    Loaded(Arc<Collection>, Box<Clustering>),
    /// The vectors of the collection on screen (shown with paths only until now).
    Vectors(Arc<Collection>),
    /// The loader stopped: why.
    LoadFailed(String),
    /// A new clustering after `+` / `-`, or why there is none.
    Reclustered(Result<Box<Clustering>, Error>),
    /// What a refit could not carry over of the user's edits (names, merges, moves).
    Notes(Vec<String>),
    /// An edit, an undo or a redo was applied: the clustering now, and what happened; or
    /// why not.
    Edited(Result<(Box<Clustering>, String), Error>),
    /// Near-duplicate groups of the collection, largest first (rows).
    Duplicates(Vec<Vec<usize>>),
    /// Each near-duplicate group's keeper by the keep rules (an index in the group; `None`
    /// when its files could not be read) and its files' sizes in bytes, group by group.
    Keepers(Vec<(Option<usize>, Vec<u64>)>),
    /// Duplicates were moved or trashed (how it went, in one line), or why not.
    Resolved(Result<String, Error>),
    /// The odd ones out of this collection: (row, mean cosine distance to the 10 nearest),
    /// most odd first.
    Outliers(Arc<Collection>, Vec<(usize, f32)>),
    /// The nearest neighbours of collection row `row`, most similar first.
    Neighbours {
        /// The image they belong to.
        row: usize,
        /// Nearest first (rows of `of`).
        found: Vec<Neighbour>,
        /// The collection they were found in: an answer for one no longer on screen (new
        /// images came in meanwhile) is dropped.
        of: Arc<Collection>,
    },
    /// A montage was saved to this file (it is ready to show), or why not.
    Montage(Result<PathBuf, Error>),
    /// The export has copied `done` of its files.
    ExportProgress(usize),
    /// The export ended (finished, or stopped by Esc), or was refused.
    Exported(Result<ExportReport, Error>),
    /// The export folder to offer instead of the first suggestion (the first, a folder
    /// outside the collection and free of files): `(suggested, fresh)`.
    ExportSuggested(String, String),
    /// How the folder is watched for changes.
    Watching(WatchMode),
    /// The folder changed and the collection on screen was brought up to date.
    FolderChanged(Change),
    /// How images are drawn now and why, e.g. "sixel (DA1), cell 7×14 px from the tty", and
    /// whether that is terminal graphics (not half blocks).
    Graphics {
        /// One line for the help.
        how: String,
        /// Terminal graphics: the grid becomes the default view of a cluster.
        images: bool,
    },
    /// The images pane fits this many grid tiles: (columns, rows). Sent by the event loop
    /// whenever the screen's size or layout changes it.
    GridSize(usize, usize),
    /// The map pane's inside is this many cells: (columns, rows). Sent like `GridSize`.
    MapSize(u16, u16),
    /// Thumbnails missing from the store (made before it kept them) are being made in the
    /// background: (done, to do).
    Thumbnailing(usize, usize),
    /// The terminal's background is light (or dark): `explore.theme = auto` follows it.
    Background {
        /// Light, by its luminance.
        light: bool,
    },
    /// Paths went to the clipboard (OSC 52 written): how many; or why not.
    Copied(Result<usize, String>),
    /// A click on the screen, on what is there.
    Click(Hit),
    /// The wheel turned over a pane: up (-1) or down (+1).
    Wheel(Hit, isize),
}

/// What is under a screen position (the event loop asks the view, [`super::view::hit`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hit {
    /// A row of the cluster list (an index in the clusters), or the list's empty part.
    Cluster(Option<usize>),
    /// An image of the images pane, list or grid (an index in what it shows).
    Image(Option<usize>),
    /// A similar image in the neighbour pane.
    Similar(Option<usize>),
    /// A place on the map, in map coordinates.
    Map([f32; 2]),
}

/// The map as one picture: each image's thumbnail at its map position, for the part of the
/// map in view. Drawn on a worker by [`Command::DrawMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct MapPicture {
    /// The images to draw, in order (later ones on top).
    pub images: Vec<MapImage>,
    /// The pane's inside, in cells (columns, rows).
    pub cells: (u16, u16),
    /// The view's zoom (tiles grow with it).
    pub zoom: f32,
    /// The crosshair, in the picture (0..1, y up), when the map is walked.
    pub crosshair: Option<[f32; 2]>,
}

/// One image on the [`MapPicture`].
#[derive(Debug, Clone, PartialEq)]
pub struct MapImage {
    /// The file.
    pub path: PathBuf,
    /// Its content hash (thumbnails are kept by it).
    pub hash: [u8; 32],
    /// Where it is in the picture: 0..1 across, 0..1 up.
    pub at: [f32; 2],
    /// Its cluster's number (for the frame's colour).
    pub cluster: usize,
    /// In the current cluster (bright frame) or not (dim).
    pub bright: bool,
    /// The current image (thick frame, on top).
    pub current: bool,
}

/// Most images on one map picture: beyond, the current cluster is drawn whole and the rest
/// evenly thinned.
pub const MAP_PICTURE_MAX: usize = 2000;

/// How the images pane shows a cluster (and the similar images, and the near-duplicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagesView {
    /// File names, one per line.
    List,
    /// Thumbnails, [`GRID_TILE`] cells each.
    Grid,
}

/// The cells of one grid thumbnail (columns, rows), inside a one-cell frame: square images
/// on the usual 1:2 cell.
pub const GRID_TILE: (u16, u16) = (14, 7);

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

/// The part of the map in view, and the crosshair, in map coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapView {
    /// The whole map: (x₀, y₀, x₁, y₁).
    pub bounds: [f32; 4],
    /// Centre of the part in view.
    pub centre: [f32; 2],
    /// 1 shows the whole map, 2 half its width and height, … up to [`MAP_ZOOM_MAX`].
    pub zoom: f32,
    /// Where the crosshair is.
    pub crosshair: [f32; 2],
}

/// The deepest zoom into the map.
pub const MAP_ZOOM_MAX: f32 = 64.0;

impl MapView {
    /// The whole map of these positions, crosshair in the middle.
    pub fn new(positions: &[[f32; 2]]) -> MapView {
        let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        for &[x, y] in positions {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        if positions.is_empty() {
            b = [0.0, 0.0, 1.0, 1.0];
        }
        // A map of one line (two images) still has some height.
        if b[2] - b[0] < 1e-6 {
            b[2] = b[0] + 1.0;
        }
        if b[3] - b[1] < 1e-6 {
            b[3] = b[1] + 1.0;
        }
        let centre = [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0];
        MapView {
            bounds: b,
            centre,
            zoom: 1.0,
            crosshair: centre,
        }
    }

    /// The part in view: (x₀, y₀, x₁, y₁).
    pub fn window(&self) -> [f32; 4] {
        let (w, h) = self.span();
        [
            self.centre[0] - w / 2.0,
            self.centre[1] - h / 2.0,
            self.centre[0] + w / 2.0,
            self.centre[1] + h / 2.0,
        ]
    }

    fn span(&self) -> (f32, f32) {
        (
            (self.bounds[2] - self.bounds[0]) / self.zoom,
            (self.bounds[3] - self.bounds[1]) / self.zoom,
        )
    }

    /// Moves the crosshair by (dx, dy) in fractions of the part in view (clamped to the
    /// map), and the view with it when it leaves.
    pub fn walk(&mut self, dx: f32, dy: f32) {
        let (w, h) = self.span();
        self.put([self.crosshair[0] + dx * w, self.crosshair[1] + dy * h]);
    }

    /// Puts the crosshair on `at` (clamped to the map), moving the view to keep it in.
    pub fn put(&mut self, at: [f32; 2]) {
        self.crosshair = [
            at[0].clamp(self.bounds[0], self.bounds[2]),
            at[1].clamp(self.bounds[1], self.bounds[3]),
        ];
        let [x0, y0, x1, y1] = self.window();
        let [cx, cy] = self.crosshair;
        self.centre[0] += (cx - x1).max(0.0) + (cx - x0).min(0.0);
        self.centre[1] += (cy - y1).max(0.0) + (cy - y0).min(0.0);
        self.clamp();
    }

    /// Zooms by `factor` (> 1 in) around the crosshair.
    pub fn zoom_by(&mut self, factor: f32) {
        self.zoom = (self.zoom * factor).clamp(1.0, MAP_ZOOM_MAX);
        self.centre = self.crosshair;
        self.clamp();
    }

    /// Keeps the part in view inside the map.
    fn clamp(&mut self) {
        let (w, h) = self.span();
        let b = self.bounds;
        self.centre[0] = self.centre[0].clamp(b[0] + w / 2.0, (b[2] - w / 2.0).max(b[0] + w / 2.0));
        self.centre[1] = self.centre[1].clamp(b[1] + h / 2.0, (b[3] - h / 2.0).max(b[1] + h / 2.0));
    }
}

/// A modal layer over the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The panes.
    None,
    /// The keys.
    Help,
    /// Full-screen preview of the current image.
    Preview,
    /// Export prompt: the target folder being edited.
    Export(String),
    /// A question for an edit of the clustering, and the answer being typed.
    Ask(Ask, String),
    /// The file-name filter is being typed (the text is `App::filter`).
    Filter,
    /// The near-duplicate groups, browsed with the cursor.
    Duplicates,
    /// The odd ones out, most odd first, browsed with the cursor.
    Outliers,
    /// Confirm moving or trashing the near-duplicates that go.
    Resolve,
    /// The montage just saved to this file, full screen.
    Montage(PathBuf),
}

/// The questions an edit of the clustering asks (see [`Overlay::Ask`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `r`: the current cluster's new name.
    Rename,
    /// `M`: the number of the cluster to merge the current one into.
    MergeInto,
    /// `S`: into how many clusters to split the current one (empty: chosen inside it).
    Split,
    /// `v`: the number of the cluster to move the marked images (or the current one) to, or
    /// `new`.
    MoveTo,
}

/// What a key that needs the vectors says before they are read.
/// A status line that stands for a state, cleared when the state ends (rather than when
/// another message replaces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    /// A key that needs the vectors was pressed while they are still being read.
    WaitingForVectors,
    /// The map has the focus: its keys.
    MapKeys,
}

impl Notice {
    fn text(self) -> &'static str {
        match self {
            Notice::WaitingForVectors => "still reading the image vectors…",
            Notice::MapKeys => "map: arrows walk, + / - zoom, Esc or Tab leaves",
        }
    }
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
    /// Fitting the clustering.
    Clustering,
    /// The clusters are on screen.
    Ready,
    /// Loading stopped, and why.
    Failed(String),
}

/// Something the event loop must do on the app's behalf (the app itself does no I/O). Each
/// long task reports back with an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// End the explorer.
    Quit,
    /// Decode this image for the preview (only the newest request is served).
    LoadPreview(PathBuf),
    /// Find this many nearest neighbours of this collection row (only the newest request is
    /// served); answered by [`Event::Neighbours`].
    FindNeighbours(usize, usize),
    /// Copy these files into this folder, never overwriting; reported by
    /// [`Event::ExportProgress`] and [`Event::Exported`].
    Export(Vec<PathBuf>, PathBuf),
    /// Stop the export under way after the file in hand.
    CancelExport,
    /// Find a fresh export folder for this suggestion; answered by
    /// [`Event::ExportSuggested`].
    FreshExportFolder(String),
    /// Cluster again into this many clusters, in the background.
    Recluster(usize),
    /// Draw a contact sheet of these images and save it as `<name>.png` in `imgtui-montage/`.
    Montage(Vec<PathBuf>, String),
    /// Make the grid thumbnails of these images (path, content hash), those on the page in
    /// view first; a newer request replaces this one.
    LoadThumbnails(Vec<(PathBuf, [u8; 32])>),
    /// Draw the map as a picture (a newer request replaces this one).
    DrawMap(MapPicture),
    /// Put this text (this many paths, one a line) on the clipboard with OSC 52; answered by
    /// [`Event::Copied`].
    Copy(String, usize),
    /// Change the saved clustering (kept in the store's edit log); answered by
    /// [`Event::Edited`].
    Edit(Edit),
    /// Find the odd ones out; answered by [`Event::Outliers`].
    FindOutliers,
    /// Find the near-duplicate groups at this cosine similarity, with their keepers;
    /// answered by [`Event::Duplicates`] and [`Event::Keepers`].
    FindDuplicates(f32),
    /// Keep the first file of each group and move (into this folder) or trash (`None`) the
    /// others; answered by [`Event::Resolved`].
    ResolveDuplicates(Vec<(PathBuf, Vec<PathBuf>)>, Option<PathBuf>),
    /// Undo the last edit; answered by [`Event::Edited`].
    Undo,
    /// Redo the last undone edit; answered by [`Event::Edited`].
    Redo,
}

/// An export under way: where to, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporting {
    /// The target folder.
    pub target: PathBuf,
    /// Files copied so far.
    pub done: usize,
    /// Files to copy.
    pub total: usize,
    /// Esc was pressed: it stops after the file in hand.
    pub stopping: bool,
}

/// Where `m` in the duplicates' confirmation moves the copies (under the working folder, or
/// beside the collection when the working folder is inside it; at their paths relative to
/// the collection's).
pub const DUPLICATES_FOLDER: &str = "imgtui-duplicates";

/// The odd ones out listed by `o`: the most odd 5 % of the images, at least 10 (all of a
/// smaller collection), at most 500.
pub fn outliers_shown(images: usize) -> usize {
    images.div_ceil(20).clamp(10, 500).min(images)
}

/// Number of neighbours shown unless the settings say otherwise.
pub const NEIGHBOURS: usize = 12;
/// Most images on one montage.
pub const MONTAGE_MAX: usize = 400;

/// The explorer's whole state.
pub struct App {
    /// The folder explored.
    pub root: PathBuf,
    /// What made the vectors, for the status line.
    pub model: String,
    /// Where the collection is on its way in.
    pub loading: Loading,
    /// The images on screen (paths only until the vectors are read).
    pub collection: Arc<Collection>,
    /// Their clustering, row-aligned.
    pub clustering: Option<Clustering>,
    /// Members of each cluster, nearest the centre first.
    pub members: Vec<Vec<usize>>,
    /// The members whose file name matches `filter` (all of them when it is empty).
    pub shown: Vec<Vec<usize>>,
    /// The file-name filter (empty: none).
    pub filter: String,
    /// Cursor in the cluster list (an index in `clustering.clusters`).
    pub cluster: usize,
    /// Cursor in the current cluster's shown list.
    pub image: usize,
    /// The pane the cursor keys move in.
    pub focus: Focus,
    /// A modal layer over the panes, if any.
    pub overlay: Overlay,
    /// The nearest neighbours of the image under the cursor, most similar first.
    pub neighbours: Vec<Neighbour>,
    /// How many neighbours to find.
    pub neighbour_count: usize,
    /// Image the neighbours belong to (or are being found for); they are found again when
    /// the cursor rests elsewhere.
    neighbours_of: Option<usize>,
    /// Whether `neighbours` are those of `neighbours_of` (not still being found).
    neighbours_ready: bool,
    /// `s` was pressed before the neighbours were in: browse them when they arrive.
    similar_wanted: bool,
    /// Cursor in the similar images.
    pub similar_cursor: usize,
    /// Near-duplicate groups, largest first (`None` while they are being found).
    pub duplicates: Option<Vec<Vec<usize>>>,
    /// Each image's near-duplicate group, if any.
    pub duplicate_of: Vec<Option<usize>>,
    /// Cursor in the flattened duplicate groups.
    pub duplicate_cursor: usize,
    /// Each group's keeper (an index in the group) and its files' bytes (see
    /// [`Event::Keepers`]); a keeper the user chose replaces the rules'.
    pub duplicate_keepers: Vec<(Option<usize>, Vec<u64>)>,
    /// Copies the user spared: they stay when the others go.
    pub spared: std::collections::HashSet<PathBuf>,
    /// The cosine similarity that makes near-duplicates (`<` / `>` change it).
    pub threshold: f32,
    /// The last duplicates moved or trashed, said again with the folder change they cause.
    resolved: Option<String>,
    /// The odd ones out shown ([`outliers_shown`] of them), most odd first, with their score.
    pub outliers: Option<Vec<(usize, f32)>>,
    /// Cursor in the odd ones out.
    pub outlier_cursor: usize,
    /// Background work under way (reclustering, a montage), for the status line.
    pub busy: Option<String>,
    /// Near-duplicate regroupings asked for by `<` / `>` and not yet answered.
    regroupings: usize,
    /// The k asked for by `+` / `-` and not yet fitted: further presses count from it, so
    /// none is lost while a refit runs.
    pending_k: Option<usize>,
    /// Progress of indexing new images while the collection is already shown.
    pub indexing: Option<(usize, usize)>,
    /// Progress of making the thumbnails a store lacks, in the background.
    pub thumbnailing: Option<(usize, usize)>,
    /// The last thing that happened worth a line in the status bar (set by [`App::say`] and
    /// [`App::notify`]).
    pub message: String,
    /// What `message` stands for, when it stands for a state ([`Notice`]).
    notice: Option<Notice>,
    /// Image the preview shows (or is loading).
    pub preview_path: Option<PathBuf>,
    /// The export under way, if any.
    pub exporting: Option<Exporting>,
    /// How images are drawn and why (shown in the help).
    pub graphics: String,
    /// How the folder is watched (once the loader has started watching).
    pub watching: Option<WatchMode>,
    /// List or grid.
    pub images_view: ImagesView,
    /// The user chose the view with `g`: the terminal's graphics no longer choose it.
    view_chosen: bool,
    /// Tiles the grid fits, (columns, rows); (0, 0) until the event loop says.
    pub grid_size: (usize, usize),
    /// The first grid row in view.
    pub grid_top: usize,
    /// The thumbnails last asked for (asked again only when the page changes).
    thumbnails_asked: Vec<PathBuf>,
    /// The part of the map in view and the crosshair.
    pub map_view: MapView,
    /// The map pane's inside in cells (0, 0 until the event loop says).
    pub map_cells: (u16, u16),
    /// The map is shown as a picture of thumbnails (`p` on the map), not as points.
    pub map_picture: bool,
    /// What the picture last asked for showed: it is drawn again when this changes.
    map_picture_asked: Option<PictureKey>,
    /// The marked images, by path (they stay marked through reloads and reclustering, and
    /// are unmarked once `v` has moved them).
    pub selection: std::collections::HashSet<PathBuf>,
    /// The edits, undos and redos sent and not yet answered, in order (the worker answers
    /// each with one [`Event::Edited`]): for each, the marked images it moves.
    edits_in_flight: std::collections::VecDeque<Vec<PathBuf>>,
    /// Counts the clusterings shown.
    clustering_generation: u64,
    /// The colours drawn with.
    pub theme: Theme,
    /// `explore.theme = auto`: the terminal's background colour, when it tells, chooses.
    pub theme_auto: bool,
}

/// Everything a map picture depends on.
type PictureKey = (MapView, (u16, u16), usize, Option<usize>, bool, u64, String);

impl App {
    /// The explorer of `root`, before anything is loaded; `model` names the features.
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
            neighbours_ready: false,
            similar_wanted: false,
            similar_cursor: 0,
            duplicates: None,
            duplicate_of: Vec::new(),
            duplicate_cursor: 0,
            duplicate_keepers: Vec::new(),
            spared: Default::default(),
            threshold: crate::analysis::duplicates::DUPLICATE_THRESHOLD,
            resolved: None,
            outliers: None,
            outlier_cursor: 0,
            busy: None,
            regroupings: 0,
            pending_k: None,
            indexing: None,
            thumbnailing: None,
            message: String::new(),
            notice: None,
            preview_path: None,
            exporting: None,
            graphics: String::new(),
            watching: None,
            images_view: ImagesView::List,
            view_chosen: false,
            grid_size: (0, 0),
            grid_top: 0,
            thumbnails_asked: Vec::new(),
            map_view: MapView::new(&[]),
            map_cells: (0, 0),
            map_picture: false,
            map_picture_asked: None,
            clustering_generation: 0,
            selection: Default::default(),
            edits_in_flight: Default::default(),
            theme: Theme::default(),
            theme_auto: false,
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

    fn update(&mut self, event: Event) -> Vec<Command> {
        match event {
            Event::Key(k) => self.key(k),
            Event::Idle => self.cursor_rests(),
            Event::Graphics { how, images } => {
                self.graphics = how;
                if !self.view_chosen {
                    self.images_view = if images {
                        ImagesView::Grid
                    } else {
                        ImagesView::List
                    };
                }
                // New graphics: the thumbnails made for the old ones are gone.
                self.thumbnails_asked.clear();
                Vec::new()
            }
            Event::GridSize(columns, rows) => {
                self.grid_size = (columns, rows);
                Vec::new()
            }
            Event::Click(hit)
                if self.overlay == Overlay::None && self.loading == Loading::Ready =>
            {
                self.click(hit)
            }
            Event::Wheel(hit, by)
                if self.overlay == Overlay::None && self.loading == Loading::Ready =>
            {
                self.wheel(hit, by)
            }
            Event::Click(_) | Event::Wheel(..) => Vec::new(),
            Event::Background { light } => {
                if self.theme_auto && self.theme != Theme::Plain {
                    self.theme = if light { Theme::Light } else { Theme::Dark };
                }
                Vec::new()
            }
            Event::Copied(Ok(n)) => {
                self.say(format!(
                    "{} copied to the clipboard (OSC 52: the terminal, or tmux with \
                     set-clipboard on, must allow it)",
                    match n {
                        1 => "1 path".to_owned(),
                        n => format!("{n} paths"),
                    }
                ));
                Vec::new()
            }
            Event::Copied(Err(why)) => {
                self.say(format!("nothing copied: {why}"));
                Vec::new()
            }
            Event::Thumbnailing(done, total) => {
                self.thumbnailing = (done < total).then_some((done, total));
                Vec::new()
            }
            Event::MapSize(columns, rows) => {
                self.map_cells = (columns, rows);
                Vec::new()
            }
            Event::Progress(Progress::Scanned { to_process, .. }) => {
                self.progress(0, to_process);
                Vec::new()
            }
            Event::Progress(Progress::Processed { done, to_process }) => {
                self.progress(done, to_process);
                Vec::new()
            }
            Event::Clustering => {
                match self.loading {
                    Loading::Ready => self.indexing = None,
                    _ => self.loading = Loading::Clustering,
                }
                Vec::new()
            }
            Event::Loaded(c, clustering) => self.loaded(c, *clustering),
            Event::Vectors(c) => {
                self.vectors_read(c);
                Vec::new()
            }
            Event::LoadFailed(e) => {
                // The loader has ended: the folder is no longer indexed nor watched. The whole
                // message goes on screen (q quits, and the command line says it again).
                self.loading = Loading::Failed(if self.loading == Loading::Ready {
                    format!("indexing stopped: {e}")
                } else {
                    e
                });
                self.indexing = None;
                self.overlay = Overlay::None;
                Vec::new()
            }
            Event::Reclustered(Ok(clustering)) => self.reclustered(*clustering),
            Event::Notes(notes) => {
                if !notes.is_empty() {
                    self.say(format!("{}; {}", self.message, notes.join("; ")));
                }
                Vec::new()
            }
            Event::Edited(Ok((clustering, what))) => {
                self.busy = None;
                self.say(what);
                // The marked images this edit moved are where they were asked to go: their
                // marks have done their work.
                let moved = self.edits_in_flight.pop_front().unwrap_or_default();
                let unmarked = moved.iter().filter(|p| self.selection.remove(*p)).count();
                if unmarked > 0 {
                    self.say(format!("{} · {} unmarked", self.message, images(unmarked)));
                }
                if clustering.labels.len() != self.collection.len() {
                    return Vec::new();
                }
                let row = self.base();
                self.set_clustering(*clustering, row)
            }
            Event::Edited(Err(e)) => {
                self.busy = None;
                self.edits_in_flight.pop_front();
                self.say(match e.kind() {
                    ErrorKind::BadRequest => e.to_string(),
                    _ => format!("the edit failed: {e}"),
                });
                Vec::new()
            }
            Event::Reclustered(Err(e)) => {
                self.busy = None;
                self.pending_k = None;
                self.say(format!("clustering failed: {e}"));
                Vec::new()
            }
            Event::Duplicates(groups) => {
                self.duplicates_found(groups);
                if self.regroupings > 0 {
                    self.regroupings -= 1;
                    if self.regroupings == 0 {
                        self.busy = None;
                    }
                }
                // The image under the cursor may be another one now: the preview follows.
                self.preview_command()
            }
            Event::Keepers(keepers) => {
                if keepers.len() == self.duplicates.as_ref().map_or(0, Vec::len) {
                    self.duplicate_keepers = keepers;
                }
                Vec::new()
            }
            Event::Resolved(result) => {
                self.busy = None;
                let said = match result {
                    Ok(said) => {
                        self.resolved = Some(said.clone());
                        said
                    }
                    Err(e) => format!("nothing moved: {e}"),
                };
                self.say(said);
                Vec::new()
            }
            Event::Outliers(of, mut found) => {
                if !Arc::ptr_eq(&of, &self.collection) {
                    return Vec::new();
                }
                self.busy = None;
                found.truncate(outliers_shown(self.collection.len()));
                self.outliers = Some(found);
                self.outlier_cursor = 0;
                self.overlay = Overlay::Outliers;
                self.say(
                    "odd ones out (mean distance to the 10 nearest): ↑↓ browse, Enter goes to the image, Esc returns",
                );
                self.preview_command()
            }
            Event::Neighbours { row, found, of } => {
                if Arc::ptr_eq(&of, &self.collection) {
                    self.neighbours_found(row, found)
                } else {
                    Vec::new()
                }
            }
            Event::Montage(Ok(path)) => {
                self.busy = None;
                self.say(format!("montage saved to {}", crate::text::shown(&path)));
                self.overlay = Overlay::Montage(path);
                Vec::new()
            }
            Event::Montage(Err(e)) => {
                self.busy = None;
                self.say(format!("montage failed: {e}"));
                Vec::new()
            }
            Event::ExportProgress(done) => {
                if let Some(x) = &mut self.exporting {
                    x.done = done;
                }
                Vec::new()
            }
            Event::Watching(mode) => {
                self.watching = Some(mode);
                Vec::new()
            }
            Event::FolderChanged(change) => {
                let mut parts = Vec::new();
                if change.changed > 0 {
                    parts.push(format!("{} new or changed", change.changed));
                }
                if change.removed > 0 {
                    parts.push(format!("{} removed", change.removed));
                }
                if change.newly_skipped > 0 {
                    parts.push(format!("{} skipped", change.newly_skipped));
                }
                if change.no_longer_skipped > 0 {
                    parts.push(format!("{} no longer skipped", change.no_longer_skipped));
                }
                let changed = format!("the folder changed: {}", parts.join(", "));
                // What the user just did to the folder (duplicates moved) stays in view.
                let said = match self.resolved.take() {
                    Some(done) => format!("{done} · {changed}"),
                    None => changed,
                };
                self.say(said);
                Vec::new()
            }
            Event::ExportSuggested(suggested, fresh) => {
                // Only while the prompt still holds the suggestion as it was offered.
                if let Overlay::Export(text) = &mut self.overlay
                    && *text == suggested
                {
                    *text = fresh;
                }
                Vec::new()
            }
            Event::Exported(result) => {
                self.exporting = None;
                self.say(match result {
                    Ok(r) => export_message(&r),
                    Err(e) if e.kind() == ErrorKind::BadRequest => format!("export refused: {e}"),
                    Err(e) => format!("export failed: {e}"),
                });
                Vec::new()
            }
        }
    }

    /// The status line's account of background work: an export's progress, else `busy`.
    pub fn activity(&self) -> Option<String> {
        match &self.exporting {
            Some(x) if x.stopping => Some(format!(
                "stopping the export after {}/{} files…",
                x.done, x.total
            )),
            Some(x) => Some(format!(
                "exporting {}/{} to {} (Esc stops)…",
                x.done,
                x.total,
                crate::text::shown(&x.target)
            )),
            None => self.busy.clone(),
        }
    }

    /// A collection and its clustering have arrived (at start, or with new images).
    /// The cursor stays on the image it was on.
    fn loaded(
        &mut self,
        collection: impl Into<Arc<Collection>>,
        clustering: Clustering,
    ) -> Vec<Command> {
        let keep = self
            .base()
            .map(|i| (self.collection.paths[i].clone(), self.collection.hashes[i]));
        self.collection = collection.into();
        self.duplicates = None;
        self.duplicate_of = vec![None; self.collection.len()];
        self.forget_neighbours();
        self.loading = Loading::Ready;
        // The cursor stays on its image: by path, else by content (it was renamed).
        let c = &self.collection;
        let row = keep.and_then(|(path, hash)| {
            c.paths
                .iter()
                .position(|q| *q == path)
                .or_else(|| c.hashes.iter().position(|h| *h == hash))
        });
        self.set_clustering(clustering, row)
    }

    /// The vectors of the collection on screen have been read (it was shown with paths
    /// only, from the saved clustering): neighbours and `+` / `-` can start.
    fn vectors_read(&mut self, collection: Arc<Collection>) {
        if collection.paths == self.collection.paths {
            self.collection = collection;
            self.forget_neighbours();
            if self.notice == Some(Notice::WaitingForVectors) {
                self.say("");
            }
        }
    }

    /// Whether the vectors are in (neighbours, similar images and `+` / `-` need them).
    pub fn has_vectors(&self) -> bool {
        self.collection.dim() > 0
    }

    /// A new clustering of the same collection (after `+` / `-`).
    fn reclustered(&mut self, clustering: Clustering) -> Vec<Command> {
        if let Some(k) = self.pending_k
            && clustering.request.k != KChoice::Fixed(k)
        {
            // An older request's answer: the newest one is still being fitted.
            return Vec::new();
        }
        self.pending_k = None;
        self.busy = None;
        if clustering.labels.len() != self.collection.len() {
            // New images arrived while it was being fitted: it no longer fits the collection.
            self.say("the collection changed while clustering; press + or - again");
            return Vec::new();
        }
        self.say(format!(
            "{} clusters by {}",
            clustering.k,
            clustering.request.method.name()
        ));
        let row = self.base();
        self.set_clustering(clustering, row)
    }

    fn set_clustering(&mut self, clustering: Clustering, keep: Option<usize>) -> Vec<Command> {
        self.members = members(&clustering);
        self.clustering_generation += 1;
        // A new map (not the same map with images added) is seen whole again.
        let whole = MapView::new(&clustering.map);
        if whole.bounds != self.map_view.bounds {
            let zoom = self.map_view.zoom;
            let crosshair = self.map_view.crosshair;
            self.map_view = whole;
            if self.clustering.as_ref().map(|c| c.request.map) == Some(clustering.request.map) {
                self.map_view.put(crosshair);
                self.map_view.zoom_by(zoom);
            }
        }
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
    fn progress(&mut self, done: usize, total: usize) {
        match self.loading {
            Loading::Ready => self.indexing = Some((done, total)),
            _ => self.loading = Loading::Embedding { done, total },
        }
    }

    /// Near-duplicate groups of the current collection have been found.
    fn duplicates_found(&mut self, groups: Vec<Vec<usize>>) {
        let mut of = vec![None; self.collection.len()];
        for (g, group) in groups.iter().enumerate() {
            for &i in group {
                if let Some(slot) = of.get_mut(i) {
                    *slot = Some(g);
                }
            }
        }
        self.duplicate_of = of;
        self.duplicate_keepers.clear();
        let total = groups.iter().map(Vec::len).sum::<usize>();
        self.duplicate_cursor = self.duplicate_cursor.min(total.saturating_sub(1));
        self.duplicates = Some(groups);
        if self.overlay == Overlay::Duplicates && total == 0 {
            self.overlay = Overlay::None;
            self.say(format!(
                "no near-duplicates at similarity {:.2}",
                self.threshold
            ));
        }
    }

    /// The keeper of near-duplicate group `g` (a collection row), once known.
    pub fn keeper_of(&self, g: usize) -> Option<usize> {
        let group = self.duplicates.as_ref()?.get(g)?;
        let keep = self.duplicate_keepers.get(g)?.0?;
        group.get(keep).copied()
    }

    /// Whether row `i`, of near-duplicate group `g`, goes when the duplicates are resolved:
    /// not the keeper, not spared.
    pub fn goes(&self, g: usize, i: usize) -> bool {
        self.keeper_of(g).is_some_and(|k| k != i)
            && !self.spared.contains(&self.collection.paths[i])
    }

    /// The group of the image under the duplicates cursor, and its index in the group.
    fn duplicate_at_cursor(&self) -> Option<(usize, usize)> {
        let mut left = self.duplicate_cursor;
        for (g, group) in self.duplicates.iter().flatten().enumerate() {
            if left < group.len() {
                return Some((g, left));
            }
            left -= group.len();
        }
        None
    }

    /// The files that go (and their bytes) and the groups that lose some, as the
    /// confirmation counts them.
    pub fn to_resolve(&self) -> (Vec<(PathBuf, Vec<PathBuf>)>, u64) {
        let mut groups = Vec::new();
        let mut bytes = 0;
        for (g, group) in self.duplicates.iter().flatten().enumerate() {
            let Some(keeper) = self.keeper_of(g) else {
                continue;
            };
            let sizes = &self.duplicate_keepers[g].1;
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

    /// The number of the cluster image `i` is in (0 before there is a clustering).
    pub fn cluster_number(&self, i: usize) -> usize {
        self.clustering
            .as_ref()
            .map_or(0, |c| c.clusters[c.labels[i]].number)
    }

    /// Puts `text` on the status line (empty: the keys again).
    fn say(&mut self, text: impl Into<String>) {
        self.message = text.into();
        self.notice = None;
    }

    /// Puts a notice on the status line, until its state ends or another message comes.
    fn notify(&mut self, notice: Notice) {
        self.message = notice.text().to_owned();
        self.notice = Some(notice);
    }

    /// File name of image `i`, relative to the collection's folder, as shown to a person
    /// (control characters and bad bytes escaped: [`crate::text::shown`]).
    pub fn name(&self, i: usize) -> String {
        let p = &self.collection.paths[i];
        crate::text::shown(p.strip_prefix(&self.root).unwrap_or(p)).to_string()
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
        if self.overlay == Overlay::Outliers {
            return self
                .outliers
                .as_ref()?
                .get(self.outlier_cursor)
                .map(|o| o.0);
        }
        if self.focus == Focus::Similar {
            return self.neighbours.get(self.similar_cursor).map(|n| n.index);
        }
        self.base()
    }

    /// Path of the image shown in the preview.
    pub fn current_path(&self) -> Option<&PathBuf> {
        self.current().map(|i| &self.collection.paths[i])
    }

    /// Images of the duplicate groups, group after group.
    pub fn duplicate_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.duplicates.iter().flatten().flatten().copied()
    }

    /// Suggested export folder: for the marked images `imgtui-export/selection`, else for the
    /// current cluster, e.g. `imgtui-export/03-jellyfish`.
    pub fn export_default(&self) -> String {
        if !self.selection.is_empty() {
            return "imgtui-export/selection".to_owned();
        }
        match self.current_cluster() {
            Some((number, name)) => format!("imgtui-export/{}", folder_name(number, name)),
            None => String::new(),
        }
    }

    /// What `e` exports: the marked images when there are any (in collection order), else
    /// the current cluster.
    fn export_files(&self) -> Vec<PathBuf> {
        if self.selection.is_empty() {
            return self.members[self.cluster]
                .iter()
                .map(|&i| self.collection.paths[i].clone())
                .collect();
        }
        self.collection
            .paths
            .iter()
            .filter(|p| self.selection.contains(*p))
            .cloned()
            .collect()
    }

    /// Whether collection row `i` is marked.
    pub fn is_marked(&self, i: usize) -> bool {
        !self.selection.is_empty() && self.selection.contains(&self.collection.paths[i])
    }

    /// Space: marks (or unmarks) the image under the cursor and moves on to the next, as
    /// file managers do, so that Space Space marks two images.
    fn mark_and_advance(&mut self) -> Vec<Command> {
        self.toggle_mark();
        if self.focus == Focus::Clusters {
            Vec::new()
        } else if self.grid_shown() {
            self.move_in_grid(1, 0)
        } else {
            self.move_vertical(1)
        }
    }

    fn toggle_mark(&mut self) {
        let Some(i) = self.current() else {
            return;
        };
        let path = self.collection.paths[i].clone();
        if !self.selection.remove(&path) {
            self.selection.insert(path);
        }
        let n = self.selection.len();
        self.say(match n {
            0 => "nothing marked".to_owned(),
            n => format!(
                "{} marked (e exports them, y copies their paths, c unmarks all)",
                images(n)
            ),
        });
    }

    /// The question of `ask` for the prompt: (title, hint).
    pub fn question(&self, ask: &Ask) -> (String, String) {
        let number = self.current_cluster().map_or(0, |(n, _)| n);
        let moving = match self.selection.len() {
            0 => "the current image".to_owned(),
            n => format!("the {} marked", images(n)),
        };
        match ask {
            Ask::Rename => (
                format!("name of cluster {number}"),
                "Enter renames (kept in the store; u undoes) · Esc cancels".to_owned(),
            ),
            Ask::MergeInto => (
                format!("merge cluster {number} into cluster number"),
                "Enter merges · Esc cancels".to_owned(),
            ),
            Ask::Split => (
                format!("split cluster {number} into how many"),
                "a number, or empty to choose inside it · Enter splits · Esc cancels".to_owned(),
            ),
            Ask::MoveTo => (
                format!("move {moving} to cluster"),
                "its number, or new · Enter moves · Esc cancels".to_owned(),
            ),
        }
    }

    /// The answer to a question: the edit to make, or why not (on the status line).
    fn answer(&mut self, ask: Ask, text: &str) -> Vec<Command> {
        let Some(clustering) = &self.clustering else {
            return Vec::new();
        };
        let index_of = |text: &str| -> Result<usize, String> {
            let n: usize = text
                .parse()
                .map_err(|_| format!("{text:?} is not a cluster number"))?;
            clustering
                .clusters
                .iter()
                .position(|c| c.number == n)
                .ok_or_else(|| format!("there is no cluster {n}"))
        };
        let edit = match ask {
            Ask::Rename if text.is_empty() => Err("a name cannot be empty".to_owned()),
            Ask::Rename => Ok(Edit::Name {
                cluster: self.cluster,
                name: text.to_owned(),
            }),
            Ask::MergeInto => index_of(text).and_then(|into| {
                if into == self.cluster {
                    Err("a cluster cannot be merged into itself".to_owned())
                } else {
                    Ok(Edit::Merge {
                        from: self.cluster,
                        into,
                    })
                }
            }),
            Ask::Split => match text {
                "" | "auto" => Ok(Edit::Split {
                    cluster: self.cluster,
                    k: None,
                }),
                t => match t.parse::<usize>() {
                    Ok(k) if k >= 2 => Ok(Edit::Split {
                        cluster: self.cluster,
                        k: Some(k),
                    }),
                    _ => Err(format!("{t:?}: a split needs 2 parts or more")),
                },
            },
            Ask::MoveTo => {
                let to = match text {
                    "new" => Ok(None),
                    t => index_of(t).map(Some),
                };
                to.map(|to| Edit::Move {
                    images: self.moving_hashes(),
                    to,
                })
            }
        };
        match edit {
            Ok(edit) => {
                self.busy = Some("changing the clusters…".into());
                let moves_marked = matches!(edit, Edit::Move { .. });
                self.edits_in_flight.push_back(if moves_marked {
                    self.selection.iter().cloned().collect()
                } else {
                    Vec::new()
                });
                vec![Command::Edit(edit)]
            }
            Err(why) => {
                self.say(why);
                Vec::new()
            }
        }
    }

    /// The content hashes `v` moves: the marked images, else the current one.
    fn moving_hashes(&self) -> Vec<[u8; 32]> {
        if self.selection.is_empty() {
            return self
                .current()
                .map(|i| self.collection.hashes[i])
                .into_iter()
                .collect();
        }
        (0..self.collection.len())
            .filter(|&i| self.is_marked(i))
            .map(|i| self.collection.hashes[i])
            .collect()
    }

    /// `u` / `U`: undo or redo an edit, once the vectors are in.
    fn history(&mut self, command: Command) -> Vec<Command> {
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        self.busy = Some(match command {
            Command::Undo => "undoing…".into(),
            _ => "redoing…".into(),
        });
        self.edits_in_flight.push_back(Vec::new());
        vec![command]
    }

    /// `y`: the marked images' paths, or the current image's, to the clipboard (OSC 52).
    fn copy_paths(&mut self) -> Vec<Command> {
        let paths: Vec<PathBuf> = if self.selection.is_empty() {
            self.current_path().cloned().into_iter().collect()
        } else {
            self.export_files()
        };
        if paths.is_empty() {
            return Vec::new();
        }
        let text = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        vec![Command::Copy(text, paths.len())]
    }

    fn current_cluster(&self) -> Option<(usize, &str)> {
        let cl = self.clustering.as_ref()?.clusters.get(self.cluster)?;
        Some((cl.number, &cl.name))
    }

    /// The cursor rests: ask for the neighbours of the image under it, unless they are
    /// those shown (or being found) already.
    fn cursor_rests(&mut self) -> Vec<Command> {
        let base = self.base();
        if base == self.neighbours_of || !self.has_vectors() {
            return Vec::new();
        }
        self.neighbours_of = base;
        self.neighbours.clear();
        self.neighbours_ready = false;
        match base {
            Some(row) => vec![Command::FindNeighbours(row, self.neighbour_count)],
            None => {
                self.neighbours_ready = true;
                Vec::new()
            }
        }
    }

    /// The neighbours of `row` are in; stale answers (the cursor moved on) are dropped.
    fn neighbours_found(&mut self, row: usize, found: Vec<Neighbour>) -> Vec<Command> {
        if self.neighbours_of != Some(row) {
            return Vec::new();
        }
        self.neighbours = found;
        self.neighbours_ready = true;
        if std::mem::take(&mut self.similar_wanted) && self.base() == Some(row) {
            return self.browse_similar();
        }
        Vec::new()
    }

    /// Whether the neighbours shown are those of the image under the cursor.
    pub fn neighbours_current(&self) -> bool {
        self.neighbours_ready && self.neighbours_of == self.base()
    }

    fn forget_neighbours(&mut self) {
        self.neighbours.clear();
        self.neighbours_of = None;
        self.neighbours_ready = false;
    }

    /// `s`: browse the current image's neighbours (found first if they are not in yet).
    fn browse_similar(&mut self) -> Vec<Command> {
        if !self.neighbours_current() {
            self.similar_wanted = true;
            self.say("finding similar images…");
            return self.cursor_rests();
        }
        self.focus = Focus::Similar;
        self.similar_cursor = 0;
        self.say("similar images: ↑↓ to browse, Esc returns");
        self.preview_command()
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Command> {
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
                        let files = self.export_files();
                        if !target.as_os_str().is_empty() {
                            self.exporting = Some(Exporting {
                                target: target.clone(),
                                done: 0,
                                total: files.len(),
                                stopping: false,
                            });
                            return vec![Command::Export(files, target)];
                        }
                    }
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    _ => type_into(text, key),
                }
                return Vec::new();
            }
            Overlay::Ask(ask, text) => {
                match key.code {
                    KeyCode::Esc => self.overlay = Overlay::None,
                    KeyCode::Enter => {
                        let (ask, text) = (ask.clone(), text.trim().to_owned());
                        self.overlay = Overlay::None;
                        return self.answer(ask, &text);
                    }
                    KeyCode::Backspace => {
                        text.pop();
                    }
                    _ => type_into(text, key),
                }
                return Vec::new();
            }
            Overlay::Filter => return self.filter_key(key),
            Overlay::Duplicates => return self.duplicates_key(key.code),
            Overlay::Outliers => return self.outliers_key(key.code),
            Overlay::Resolve => {
                let action = match key.code {
                    KeyCode::Char('t') => None,
                    KeyCode::Char('m') => Some(PathBuf::from(DUPLICATES_FOLDER)),
                    KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => {
                        self.overlay = Overlay::Duplicates;
                        return Vec::new();
                    }
                    _ => return Vec::new(),
                };
                let (groups, _) = self.to_resolve();
                self.overlay = Overlay::None;
                self.busy = Some(match &action {
                    None => "moving duplicates to the trash…".into(),
                    Some(f) => format!("moving duplicates to {}…", crate::text::shown(f)),
                });
                return vec![Command::ResolveDuplicates(groups, action)];
            }
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
        if self.focus == Focus::Map
            && self.loading == Loading::Ready
            && let Some(commands) = self.map_key(key.code)
        {
            return commands;
        }
        match key.code {
            KeyCode::Char('q') => return vec![Command::Quit],
            KeyCode::Char('?') => self.overlay = Overlay::Help,
            KeyCode::Esc if self.exporting.as_ref().is_some_and(|x| !x.stopping) => {
                if let Some(x) = &mut self.exporting {
                    x.stopping = true;
                }
                return vec![Command::CancelExport];
            }
            KeyCode::Esc if self.focus == Focus::Similar => {
                self.focus = Focus::Images;
                self.say("");
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
                self.focus = match self.focus {
                    Focus::Clusters => Focus::Images,
                    Focus::Images if self.neighbours_current() && !self.neighbours.is_empty() => {
                        Focus::Similar
                    }
                    Focus::Images | Focus::Similar => Focus::Map,
                    Focus::Map => Focus::Clusters,
                };
                if self.focus == Focus::Map {
                    return self.enter_map();
                }
                if self.notice == Some(Notice::MapKeys) {
                    self.say("");
                }
                self.similar_cursor = 0;
                return self.preview_command();
            }
            KeyCode::Char('s') if !self.has_vectors() => self.notify(Notice::WaitingForVectors),
            KeyCode::Char('s') => return self.browse_similar(),
            KeyCode::Char('e') if self.exporting.is_some() => {
                self.say("an export is under way (Esc stops it)")
            }
            KeyCode::Char('e') => {
                let suggested = self.export_default();
                self.overlay = Overlay::Export(suggested.clone());
                if !suggested.is_empty() {
                    return vec![Command::FreshExportFolder(suggested)];
                }
            }
            KeyCode::Char(' ') => return self.mark_and_advance(),
            KeyCode::Char('c') if !self.selection.is_empty() => {
                self.say(format!("{} unmarked", images(self.selection.len())));
                self.selection.clear();
            }
            KeyCode::Char('y') => return self.copy_paths(),
            KeyCode::Char('r') | KeyCode::Char('M') | KeyCode::Char('S') | KeyCode::Char('v')
                if !self.has_vectors() =>
            {
                self.notify(Notice::WaitingForVectors)
            }
            KeyCode::Char('r') => {
                let name = self.current_cluster().map(|(_, n)| n.to_owned());
                self.overlay = Overlay::Ask(Ask::Rename, name.unwrap_or_default());
            }
            KeyCode::Char('M') => self.overlay = Overlay::Ask(Ask::MergeInto, String::new()),
            KeyCode::Char('S') => self.overlay = Overlay::Ask(Ask::Split, String::new()),
            KeyCode::Char('v') => self.overlay = Overlay::Ask(Ask::MoveTo, String::new()),
            KeyCode::Char('u') => return self.history(Command::Undo),
            KeyCode::Char('U') => return self.history(Command::Redo),
            KeyCode::Char('/') => self.overlay = Overlay::Filter,
            KeyCode::Char('d') => return self.open_duplicates(),
            KeyCode::Char('o') if !self.has_vectors() => self.notify(Notice::WaitingForVectors),
            KeyCode::Char('o') => {
                self.busy = Some("finding the odd ones out…".into());
                return vec![Command::FindOutliers];
            }
            KeyCode::Char('m') => return self.montage(),
            KeyCode::Char('+') | KeyCode::Char('=') => return self.change_k(1),
            KeyCode::Char('-') => return self.change_k(-1),
            KeyCode::Char('g') => {
                self.view_chosen = true;
                self.images_view = match self.images_view {
                    ImagesView::List => ImagesView::Grid,
                    ImagesView::Grid => ImagesView::List,
                };
            }
            KeyCode::Char('[') => return self.move_cluster(-1),
            KeyCode::Char(']') => return self.move_cluster(1),
            code if self.grid_shown() && self.focus != Focus::Clusters => {
                if let Some((dx, dy)) = self.grid_step(code) {
                    return self.move_in_grid(dx, dy);
                }
            }
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

    fn filter_key(&mut self, key: KeyEvent) -> Vec<Command> {
        let code = key.code;
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
            KeyCode::Char(_) => type_into(&mut self.filter, key),
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
            None => self.say("still looking for near-duplicates…"),
            Some(groups) if groups.is_empty() => self.say("no near-duplicates in this collection"),
            Some(_) => {
                self.overlay = Overlay::Duplicates;
                self.duplicate_cursor =
                    self.duplicate_cursor.min(self.duplicate_rows().count() - 1);
                self.say(
                    "near-duplicates: Enter goes to the image · K keeps this one · \
                     Space spares a copy · x resolves · < > threshold · Esc returns",
                );
                return self.preview_command();
            }
        }
        Vec::new()
    }

    fn click(&mut self, hit: Hit) -> Vec<Command> {
        match hit {
            Hit::Cluster(Some(c)) if c < self.shown.len() => {
                self.focus = Focus::Clusters;
                self.cluster = c;
                self.image = 0;
                self.cursor_moved()
            }
            Hit::Image(Some(i)) if self.focus == Focus::Similar && self.grid_shown() => {
                self.similar_cursor = i.min(self.neighbours.len().saturating_sub(1));
                self.preview_command()
            }
            Hit::Image(Some(i)) if i < self.shown.get(self.cluster).map_or(0, Vec::len) => {
                self.focus = Focus::Images;
                self.image = i;
                self.cursor_moved()
            }
            Hit::Similar(Some(i)) if i < self.neighbours.len() && self.neighbours_current() => {
                self.focus = Focus::Similar;
                self.similar_cursor = i;
                self.preview_command()
            }
            Hit::Map(at) => {
                if self.focus != Focus::Map {
                    self.focus = Focus::Map;
                    self.enter_map();
                }
                self.map_view.put(at);
                self.walk_to_crosshair()
            }
            _ => Vec::new(),
        }
    }

    /// The wheel scrolls the pane under the pointer by three rows (a grid by one), and
    /// zooms the map.
    fn wheel(&mut self, hit: Hit, by: isize) -> Vec<Command> {
        match hit {
            Hit::Map(_) => {
                self.map_view.zoom_by(if by < 0 { 1.5 } else { 1.0 / 1.5 });
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
            Hit::Similar(_) if self.neighbours_current() && !self.neighbours.is_empty() => {
                self.focus = Focus::Similar;
                self.move_vertical(3 * by)
            }
            Hit::Similar(_) => Vec::new(),
        }
    }

    /// Focus on the map: the crosshair starts on the current image.
    fn enter_map(&mut self) -> Vec<Command> {
        let at = self
            .base()
            .and_then(|i| self.clustering.as_ref()?.map.get(i).copied());
        if let Some(at) = at {
            self.map_view.put(at);
        }
        self.notify(Notice::MapKeys);
        Vec::new()
    }

    /// The keys of the focused map; `None` for keys it leaves to the rest.
    fn map_key(&mut self, code: KeyCode) -> Option<Vec<Command>> {
        // A step is a 40th of the view's width and a 16th of its height: about a cell.
        let (dx, dy) = match code {
            KeyCode::Left | KeyCode::Char('h') => (-1.0 / 40.0, 0.0),
            KeyCode::Right | KeyCode::Char('l') => (1.0 / 40.0, 0.0),
            KeyCode::Up | KeyCode::Char('k') => (0.0, 1.0 / 16.0),
            KeyCode::Down | KeyCode::Char('j') => (0.0, -1.0 / 16.0),
            KeyCode::Char('+') | KeyCode::Char('=') => {
                self.map_view.zoom_by(1.5);
                return Some(Vec::new());
            }
            KeyCode::Char('-') => {
                self.map_view.zoom_by(1.0 / 1.5);
                return Some(Vec::new());
            }
            KeyCode::Char('p') => {
                self.map_picture = !self.map_picture;
                return Some(Vec::new());
            }
            KeyCode::Esc => {
                self.focus = Focus::Images;
                self.say("");
                return Some(Vec::new());
            }
            _ => return None,
        };
        self.map_view.walk(dx, dy);
        Some(self.walk_to_crosshair())
    }

    /// The image nearest the crosshair becomes the current one.
    fn walk_to_crosshair(&mut self) -> Vec<Command> {
        match self.nearest_on_map(self.map_view.crosshair) {
            Some(row) if Some(row) != self.base() => {
                self.go_to(row);
                self.focus = Focus::Map;
                self.preview_command()
            }
            _ => Vec::new(),
        }
    }

    /// The image nearest to `at` on the map (among those shown, if a filter is on).
    fn nearest_on_map(&self, at: [f32; 2]) -> Option<usize> {
        let map = &self.clustering.as_ref()?.map;
        // Distances in units of the view, so that x and y weigh alike.
        let (w, h) = self.map_view.span();
        self.shown.iter().flatten().copied().min_by(|&a, &b| {
            let d = |i: usize| {
                let [x, y] = map[i];
                ((x - at[0]) / w).powi(2) + ((y - at[1]) / h).powi(2)
            };
            d(a).total_cmp(&d(b))
        })
    }

    /// Asks for the map picture when it is on and what it shows changed.
    fn picture(&mut self) -> Vec<Command> {
        let shown = self.map_picture
            && self.loading == Loading::Ready
            && self.overlay == Overlay::None
            && self.map_cells.0 > 0
            && self.map_cells.1 > 0;
        let Some(clustering) = self.clustering.as_ref().filter(|_| shown) else {
            self.map_picture_asked = None;
            return Vec::new();
        };
        let key = (
            self.map_view,
            self.map_cells,
            self.cluster,
            self.current(),
            self.focus == Focus::Map,
            self.clustering_generation,
            self.filter.clone(),
        );
        if self.map_picture_asked.as_ref() == Some(&key) {
            return Vec::new();
        }
        self.map_picture_asked = Some(key);
        let [x0, y0, x1, y1] = self.map_view.window();
        let inside = |[x, y]: [f32; 2]| x >= x0 && x <= x1 && y >= y0 && y <= y1;
        let place = |[x, y]: [f32; 2]| [(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)];
        let current = self.current();
        let (mut bright, mut dim): (Vec<usize>, Vec<usize>) = self
            .shown
            .iter()
            .flatten()
            .copied()
            .filter(|&i| inside(clustering.map[i]) && Some(i) != current)
            .partition(|&i| clustering.labels[i] == self.cluster);
        bright.truncate(MAP_PICTURE_MAX);
        let room = MAP_PICTURE_MAX - bright.len();
        if dim.len() > room {
            let step = dim.len() as f64 / room.max(1) as f64;
            dim = (0..room).map(|k| dim[(k as f64 * step) as usize]).collect();
        }
        let image = |i: usize, current: bool| MapImage {
            path: self.collection.paths[i].clone(),
            hash: self.collection.hashes[i],
            at: place(clustering.map[i]),
            cluster: clustering.clusters[clustering.labels[i]].number,
            bright: clustering.labels[i] == self.cluster,
            current,
        };
        let mut images: Vec<MapImage> = dim.into_iter().map(|i| image(i, false)).collect();
        images.extend(bright.into_iter().map(|i| image(i, false)));
        images.extend(
            current
                .filter(|&i| inside(clustering.map[i]))
                .map(|i| image(i, true)),
        );
        let picture = MapPicture {
            images,
            cells: self.map_cells,
            zoom: self.map_view.zoom,
            crosshair: (self.focus == Focus::Map).then(|| place(self.map_view.crosshair)),
        };
        vec![Command::DrawMap(picture)]
    }

    /// A grid move for a key: (items along, rows down), or `None` for keys that do not move.
    fn grid_step(&self, code: KeyCode) -> Option<(isize, isize)> {
        let page = self.grid_size.1.max(1) as isize;
        Some(match code {
            KeyCode::Left | KeyCode::Char('h') => (-1, 0),
            KeyCode::Right | KeyCode::Char('l') => (1, 0),
            KeyCode::Up | KeyCode::Char('k') => (0, -1),
            KeyCode::Down | KeyCode::Char('j') => (0, 1),
            KeyCode::PageUp => (0, -page),
            KeyCode::PageDown => (0, page),
            KeyCode::Home => (isize::MIN / 2, 0),
            KeyCode::End => (isize::MAX / 2, 0),
            _ => return None,
        })
    }

    /// The keys shared by the lists over the panes (near-duplicates, odd ones out): moving
    /// (in the grid too), Enter to go to the image in its cluster, Esc, q or `closer` to
    /// return. `None` for other keys.
    fn browse_key(&mut self, code: KeyCode, closer: char) -> Option<Vec<Command>> {
        if self.grid_shown()
            && let Some((dx, dy)) = self.grid_step(code)
        {
            return Some(self.move_in_grid(dx, dy));
        }
        let step: isize = match code {
            KeyCode::Up | KeyCode::Char('k') => -1,
            KeyCode::Down | KeyCode::Char('j') => 1,
            KeyCode::PageUp => -10,
            KeyCode::PageDown => 10,
            KeyCode::Enter => {
                let row = self.current();
                self.overlay = Overlay::None;
                self.say("");
                if let Some(row) = row {
                    self.go_to(row);
                }
                return Some(self.cursor_moved());
            }
            KeyCode::Esc | KeyCode::Char('q') => 0,
            KeyCode::Char(c) if c == closer => 0,
            _ => return None,
        };
        if step == 0 {
            self.overlay = Overlay::None;
            self.say("");
            return Some(self.preview_command());
        }
        let (cursor, n) = if self.overlay == Overlay::Outliers {
            let n = self.outliers.as_ref().map_or(0, Vec::len);
            (&mut self.outlier_cursor, n)
        } else {
            let n = self.duplicate_rows().count();
            (&mut self.duplicate_cursor, n)
        };
        *cursor = (*cursor as isize + step).clamp(0, n.saturating_sub(1) as isize) as usize;
        Some(self.preview_command())
    }

    fn outliers_key(&mut self, code: KeyCode) -> Vec<Command> {
        if let Some(commands) = self.browse_key(code, 'o') {
            return commands;
        }
        if code == KeyCode::Char(' ') {
            self.toggle_mark();
            // On to the next, as file managers do.
            return self.browse_key(KeyCode::Down, 'o').unwrap_or_default();
        }
        Vec::new()
    }

    fn duplicates_key(&mut self, code: KeyCode) -> Vec<Command> {
        if let Some(commands) = self.browse_key(code, 'd') {
            return commands;
        }
        match code {
            KeyCode::Char('K') => {
                if let Some((g, k)) = self.duplicate_at_cursor()
                    && let Some(entry) = self.duplicate_keepers.get_mut(g)
                {
                    entry.0 = Some(k);
                    let path = self
                        .duplicates
                        .as_ref()
                        .map(|d| self.collection.paths[d[g][k]].clone());
                    if let Some(p) = path {
                        self.spared.remove(&p);
                    }
                }
                Vec::new()
            }
            KeyCode::Char(' ') => {
                if let Some((g, k)) = self.duplicate_at_cursor()
                    && let Some(&i) = self.duplicates.as_ref().and_then(|d| d[g].get(k))
                    && self.keeper_of(g) != Some(i)
                {
                    let path = self.collection.paths[i].clone();
                    if !self.spared.remove(&path) {
                        self.spared.insert(path);
                    }
                }
                Vec::new()
            }
            KeyCode::Char('<') | KeyCode::Char('>') => {
                let by = if code == KeyCode::Char('<') {
                    -0.01
                } else {
                    0.01
                };
                self.threshold = ((self.threshold + by) * 100.0).round().clamp(50.0, 100.0) / 100.0;
                self.busy = Some(format!("grouping at similarity {:.2}…", self.threshold));
                self.regroupings += 1;
                vec![Command::FindDuplicates(self.threshold)]
            }
            KeyCode::Char('x') => {
                let (groups, _) = self.to_resolve();
                if groups.is_empty() {
                    self.say(if self.duplicate_keepers.is_empty() {
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
            self.say("DBSCAN finds its own number of clusters (set --eps instead)");
            return Vec::new();
        }
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        let n = self.collection.len();
        // From the fitted k: edits (a split, a new cluster) change only the clusters shown.
        let fitted = if c.fitted_k > 0 { c.fitted_k } else { c.k };
        let from = self.pending_k.unwrap_or(fitted);
        let most = n.saturating_sub(1).max(2);
        let k = (from as isize + delta).clamp(2, most as isize) as usize;
        if k == from {
            self.say(if delta < 0 {
                "k is 2, the fewest clusters there can be".to_owned()
            } else {
                format!("k is {most}, the most clusters {} allow", images(n))
            });
            return Vec::new();
        }
        self.pending_k = (k != fitted).then_some(k);
        if self.pending_k.is_none() {
            // Back where it is: nothing to fit (a refit under way is superseded by this one).
            self.busy = None;
            return vec![Command::Recluster(k)];
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
            Focus::Images | Focus::Map => (
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
            Focus::Images | Focus::Map => self.cursor_moved(),
            Focus::Similar => self.preview_command(),
        }
    }

    /// The image under the cursor changed: a new preview now, new neighbours when it rests.
    fn cursor_moved(&mut self) -> Vec<Command> {
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
        }
        self.similar_wanted = false;
        self.preview_command()
    }

    /// Whether the images pane (or the near-duplicates) is a grid now.
    pub fn grid_shown(&self) -> bool {
        self.images_view == ImagesView::Grid && self.grid_size.0 > 0
    }

    /// What the grid shows, as sections that each start a new row (one per near-duplicate
    /// group; one for a cluster or the similar images), and the cursor as an index into the
    /// sections laid end to end.
    pub fn grid_items(&self) -> (Vec<Vec<usize>>, usize) {
        if matches!(self.overlay, Overlay::Duplicates | Overlay::Resolve) {
            let groups = self.duplicates.clone().unwrap_or_default();
            return (groups, self.duplicate_cursor);
        }
        if self.overlay == Overlay::Outliers {
            let rows = self.outliers.iter().flatten().map(|o| o.0).collect();
            return (vec![rows], self.outlier_cursor);
        }
        if self.focus == Focus::Similar {
            let rows = self.neighbours.iter().map(|n| n.index).collect();
            return (vec![rows], self.similar_cursor);
        }
        let shown = self.shown.get(self.cluster).cloned().unwrap_or_default();
        (vec![shown], self.image)
    }

    /// The grid's rows for `columns` tiles a row: (index of the first item, items).
    pub fn grid_rows(sections: &[Vec<usize>], columns: usize) -> Vec<(usize, usize)> {
        let columns = columns.max(1);
        let mut rows = Vec::new();
        let mut start = 0;
        for section in sections {
            for chunk in section.chunks(columns) {
                rows.push((start, chunk.len()));
                start += chunk.len();
            }
        }
        rows
    }

    /// Moves the grid cursor `dx` items along, or `dy` rows up or down (to the same column,
    /// or the last item of a shorter row).
    fn move_in_grid(&mut self, dx: isize, dy: isize) -> Vec<Command> {
        let (sections, cursor) = self.grid_items();
        let total: usize = sections.iter().map(Vec::len).sum();
        if total == 0 {
            return Vec::new();
        }
        let rows = Self::grid_rows(&sections, self.grid_size.0);
        let at = rows
            .iter()
            .rposition(|&(start, _)| start <= cursor)
            .unwrap_or(0);
        let column = cursor - rows[at].0;
        let to = if dy != 0 {
            let row = (at as isize)
                .saturating_add(dy)
                .clamp(0, rows.len() as isize - 1) as usize;
            rows[row].0 + column.min(rows[row].1 - 1)
        } else {
            (cursor as isize)
                .saturating_add(dx)
                .clamp(0, total as isize - 1) as usize
        };
        if self.overlay == Overlay::Outliers {
            self.outlier_cursor = to;
            return self.preview_command();
        }
        match (self.overlay == Overlay::Duplicates, self.focus) {
            (true, _) => {
                self.duplicate_cursor = to;
                self.preview_command()
            }
            (false, Focus::Similar) => {
                self.similar_cursor = to;
                self.preview_command()
            }
            (false, _) => {
                self.focus = Focus::Images;
                self.image = to;
                self.cursor_moved()
            }
        }
    }

    /// Keeps the grid's cursor row in view and asks for the thumbnails of the page in view
    /// (and of the next, so that paging on finds them made) when they change.
    fn thumbnails(&mut self) -> Vec<Command> {
        let grid = self.images_view == ImagesView::Grid
            && self.loading == Loading::Ready
            && matches!(
                self.overlay,
                Overlay::None | Overlay::Duplicates | Overlay::Outliers
            );
        let (columns, page_rows) = self.grid_size;
        if !grid || columns == 0 || page_rows == 0 {
            return Vec::new();
        }
        let (sections, cursor) = self.grid_items();
        let rows = Self::grid_rows(&sections, columns);
        let at = rows
            .iter()
            .rposition(|&(start, _)| start <= cursor)
            .unwrap_or(0);
        if at < self.grid_top {
            self.grid_top = at;
        } else if at >= self.grid_top + page_rows {
            self.grid_top = at + 1 - page_rows;
        }
        self.grid_top = self.grid_top.min(rows.len().saturating_sub(page_rows));
        let items: Vec<usize> = sections.into_iter().flatten().collect();
        let wanted: Vec<(PathBuf, [u8; 32])> = rows
            .iter()
            .skip(self.grid_top)
            .take(2 * page_rows)
            .flat_map(|&(start, len)| &items[start..start + len])
            .map(|&i| (self.collection.paths[i].clone(), self.collection.hashes[i]))
            .collect();
        let paths: Vec<PathBuf> = wanted.iter().map(|(p, _)| p.clone()).collect();
        if paths == self.thumbnails_asked || wanted.is_empty() {
            return Vec::new();
        }
        self.thumbnails_asked = paths;
        vec![Command::LoadThumbnails(wanted)]
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

/// A key typed into a prompt's text: a character is added; Ctrl-U clears the text and
/// Ctrl-W deletes the last word, as in a shell; other control keys are not text.
fn type_into(text: &mut String, key: KeyEvent) {
    let KeyCode::Char(c) = key.code else {
        return;
    };
    if !key.modifiers.contains(KeyModifiers::CONTROL) {
        text.push(c);
    } else if c == 'u' {
        text.clear();
    } else if c == 'w' {
        let kept = text
            .trim_end()
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        text.truncate(kept);
    }
}

/// How an export went, in one line: files copied, already there, failed, not attempted.
fn export_message(r: &ExportReport) -> String {
    let mut parts = vec![format!(
        "{} files copied to {}",
        r.written,
        crate::text::shown(&r.target)
    )];
    if r.already_there > 0 {
        parts.push(format!("{} already there", r.already_there));
    }
    if let Some((path, reason)) = r.failed.first() {
        parts.push(format!(
            "{} failed ({}: {reason})",
            r.failed.len(),
            crate::text::shown(path)
        ));
    }
    if r.not_attempted > 0 {
        parts.push(format!("stopped: {} not copied", r.not_attempted));
    }
    parts.join(", ")
}

/// "1 image", "2 images".
pub fn images(n: usize) -> String {
    match n {
        1 => "1 image".to_owned(),
        n => format!("{n} images"),
    }
}
