//! What the explorer's [`App`](super::app::App) takes and gives: [`Event`]s (the user's keys
//! and the workers' reports) come in, [`Command`]s for the event loop go out.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use crate::error::Error;
use crate::session::Change;
use crate::session::Collection;
use crate::session::Edit;
use crate::session::ExportReport;
use crate::session::ImageFacts;
use crate::session::Neighbour;
use crate::session::Progress;
use crate::session::WatchMode;
use crate::session::{Clustering, FitStage};

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
    /// A new fit of the clustering has reached this stage.
    Fitting(FitStage),
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
    /// The facet at this index of [`Facets::spaces`](crate::tui::app::Facets) is on
    /// screen (its collection and clustering came in an [`Event::Loaded`] just before), or
    /// why not.
    FacetSwitched(usize, Result<(), Error>),
    /// An edit, an undo or a redo was applied: the clustering now, and what happened; or
    /// why not.
    Edited(Result<(Box<Clustering>, String), Error>),
    /// Near-duplicate groups of the collection, largest first (rows).
    Duplicates(Vec<Vec<usize>>),
    /// Each near-duplicate group's keeper by the keep rules (an index in the group; `None`
    /// when its files could not be read) and its files' sizes in bytes, group by group.
    Keepers(Vec<crate::session::Keeper>),
    /// Duplicates were moved or trashed (how it went, in one line), or why not.
    Resolved(Result<String, Error>),
    /// Pairs were marked not duplicates (`true`) or their marks taken back: how many
    /// changed, or why not.
    Decided(bool, Result<usize, Error>),
    /// The odd ones out of this collection: (row, mean cosine distance to the 10 nearest),
    /// most odd first.
    Outliers(Arc<Collection>, Vec<(usize, f32)>),
    /// The images that fit a search by words best, or why there are none.
    Searched {
        /// The query as typed.
        query: String,
        /// Most similar first (rows of `of`), with cosine distances.
        found: Result<Vec<Neighbour>, Error>,
        /// The collection searched: an answer for one no longer on screen is dropped.
        of: Arc<Collection>,
    },
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
    /// The facts of the images compared, each file's or why it could not be read.
    ImageFacts(Vec<(PathBuf, Result<ImageFacts, String>)>),
    /// An image compared could not be decoded: why.
    PictureFailed(PathBuf, String),
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
    /// The screen is this many cells: (columns, rows). Sent like `GridSize`.
    ScreenSize(u16, u16),
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
    /// The map picture was drawn: how many images it shows, of how many in view.
    MapDrawn {
        /// The images shown, each in its own slot.
        shown: usize,
        /// The images in view ([`MapPicture::in_view`]).
        of: usize,
    },
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
    /// A row of the overview (an index in the clusters shown) and the tile there (an index
    /// in the cluster's shown images), or its label.
    Overview(usize, Option<usize>),
    /// A cell of the lattice: `(column, row)` of its grid.
    Lattice(usize, usize),
}

/// Something the event loop must do on the app's behalf (the app itself does no I/O). Each
/// long task reports back with an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// End the explorer.
    Quit,
    /// Search the collection for these words (rclip-style `+` / `-` terms), this many images;
    /// answered by [`Event::Searched`].
    Search(String, usize),
    /// Decode this image for the preview (only the newest request is served).
    LoadPreview(PathBuf),
    /// Read the facts of these images and decode them (as for the preview) for the compare
    /// view; answered by [`Event::ImageFacts`], then each picture (or
    /// [`Event::PictureFailed`]). A newer request replaces this one.
    LoadCompare(Vec<PathBuf>),
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
    /// Compare by the facet at this index of the cycle, this space: its collection and
    /// clustering, then [`Event::FacetSwitched`].
    SwitchFacet(usize, crate::session::Space),
    /// Draw a contact sheet of these images and save it as `<name>.png` in `imgtui-montage/`.
    Montage(Vec<PathBuf>, String),
    /// Make the grid thumbnails of these images (path, content hash), those on the page in
    /// view first, for tiles of this size (cells), this many on a full page (they share
    /// `explore.page_kb`); a newer request replaces this one.
    LoadThumbnails(Vec<(PathBuf, [u8; 32])>, (u16, u16), usize),
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
    /// Mark these pairs of images (rows) not duplicates (`true`) or take the marks back,
    /// then find the groups again at this similarity; answered by [`Event::Decided`], then
    /// as [`Command::FindDuplicates`] is.
    NotDuplicates(Vec<(usize, usize)>, bool, f32),
    /// Undo the last edit; answered by [`Event::Edited`].
    Undo,
    /// Redo the last undone edit; answered by [`Event::Edited`].
    Redo,
}

/// The map as one picture: the thumbnails of the part of the map in view, each in a slot
/// near its map position ([`crate::tui::picture::compose`]). Drawn on a worker by
/// [`Command::DrawMap`].
#[derive(Debug, Clone, PartialEq)]
pub struct MapPicture {
    /// The images in view (or an even share of them: see
    /// [`MAP_PICTURE_MAX`](crate::tui::app::MAP_PICTURE_MAX)), the current one last.
    pub images: Vec<MapImage>,
    /// The pane's inside, in cells (columns, rows).
    pub cells: (u16, u16),
    /// How many images are in view (`images` may hold fewer: see
    /// [`MAP_PICTURE_MAX`](crate::tui::app::MAP_PICTURE_MAX)).
    pub in_view: usize,
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
    /// Where it is in the picture: 0..1 across, 0..1 up (its thumbnail goes in a slot near).
    pub at: [f32; 2],
    /// Its cluster's number (for the frame's colour).
    pub cluster: usize,
    /// In the current cluster (bright frame) or not (dim).
    pub bright: bool,
    /// The current image (thick white frame, always shown).
    pub current: bool,
    /// Its side beyond the map's frame, per axis (x, y): −1, 0 (inside) or 1; one beyond is
    /// drawn at the edge, marked (see [`crate::tui::framing`]).
    pub outside: [i8; 2],
}
