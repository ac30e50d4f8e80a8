//! What the explorer's state is, read through [`App`]: for the view, the event loop and the
//! tests (the fields stay private to the crate).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::app::{App, Exporting, Focus, ImagesView, Loading, MapView, Overlay};
use super::framing::Framed;
use super::theme::Theme;
use crate::session::Clustering;
use crate::session::Collection;
use crate::session::Neighbour;

impl App {
    /// The folder explored.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The images on screen (paths only until the vectors are read).
    pub fn collection(&self) -> &Arc<Collection> {
        &self.collection
    }

    /// Their clustering, row-aligned, once there is one.
    pub fn clustering(&self) -> Option<&Clustering> {
        self.clustering.as_ref()
    }

    /// Where the collection is on its way in.
    pub fn loading(&self) -> &Loading {
        &self.loading
    }

    /// The pane the cursor keys move in.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The layer over the panes, if any.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// The status line's message (empty: the keys are shown).
    pub fn message(&self) -> &str {
        &self.status.message
    }

    /// Background work under way (reclustering, a montage, an edit), as the status line says.
    pub fn busy(&self) -> Option<&str> {
        self.status.busy.as_deref()
    }

    /// The cluster under the cursor (an index in the clustering's clusters).
    pub fn cluster(&self) -> usize {
        self.browse.cluster
    }

    /// The cursor in the current cluster's shown images.
    pub fn image(&self) -> usize {
        self.browse.image
    }

    /// The images each cluster shows (collection rows, nearest its centre first), after the
    /// file-name filter.
    pub fn shown(&self) -> &[Vec<usize>] {
        &self.browse.shown
    }

    /// The file-name filter (empty: none).
    pub fn filter(&self) -> &str {
        &self.browse.filter
    }

    /// The marked images.
    pub fn selection(&self) -> &HashSet<PathBuf> {
        &self.browse.selection
    }

    /// The images the compare view shows (`C`), the first the one distances are to.
    pub fn compared(&self) -> &[PathBuf] {
        &self.compare.paths
    }

    /// The image compared with the first: an index in [`App::compared`].
    pub fn compare_other(&self) -> usize {
        self.compare.other
    }

    /// The image the flicker shows now (an index in [`App::compared`]), while it is on.
    pub fn flicker_shows(&self) -> Option<usize> {
        self.compare
            .flicker
            .map(|f| if f.other_shown { self.compare.other } else { 0 })
    }

    /// The nearest neighbours of the image under the cursor, most similar first.
    pub fn neighbours(&self) -> &[Neighbour] {
        &self.neighbours.list
    }

    /// The cursor in the similar images (`s`).
    pub fn similar_cursor(&self) -> usize {
        self.neighbours.cursor
    }

    /// List or grid.
    pub fn images_view(&self) -> ImagesView {
        self.grid.view
    }

    /// The tiles the grid fits, (columns, rows).
    pub fn grid_size(&self) -> (usize, usize) {
        self.grid.size
    }

    /// The first grid row in view.
    pub fn grid_top(&self) -> usize {
        self.grid.top
    }

    /// The part of the map in view, and the crosshair.
    pub fn map_view(&self) -> &MapView {
        &self.map.view
    }

    /// The map's images where they are drawn, in its frame (the far ones at its edge).
    pub fn map_places(&self) -> &Framed {
        &self.map.framed
    }

    /// Whether the map is drawn as a picture of thumbnails.
    pub fn map_picture(&self) -> bool {
        self.map.picture
    }

    /// The export under way, if any.
    pub fn exporting(&self) -> Option<&Exporting> {
        self.status.exporting.as_ref()
    }

    /// The colours drawn with.
    pub fn theme(&self) -> Theme {
        self.look.theme
    }

    /// Sets the colours; with `auto`, the terminal's background (when it tells) chooses
    /// between light and dark.
    pub fn set_theme(&mut self, theme: Theme, auto: bool) {
        self.look.theme = theme;
        self.look.auto = auto;
    }
}
