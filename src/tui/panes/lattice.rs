//! The lattice (`L`): the whole collection as one grid, each image in its own cell, laid out
//! from the map so that alike images sit together ([`crate::session::Clustering::lattice`]).
//! Tiles are framed in their cluster's colour; `+` / `-` zoom from the grid's tiles down to
//! a colour per cell. The cursor is the panes' (the image under it is the current one), so
//! marks, `s`, `e` and the edits work here as in the grid; Enter opens the image's cluster
//! in the grid.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Paragraph};

use super::grid::{ImagesView, Thumbnails, Tile, Wanted, draw_thumbnail};
use crate::session::Clustering;
use crate::tui::app::{App, Command, Focus, Loading, Overlay};
use crate::tui::event::Hit;
use crate::tui::keys::Action;

/// The zoom levels: a tile's inside in cells, framed; the last is a colour per cell.
const ZOOMS: [Tile; 4] = [(14, 7), (10, 5), (6, 3), (2, 1)];

/// The lattice of the clustering on screen, and where the view is.
#[derive(Debug, Default)]
pub(crate) struct Lattice {
    /// The lattice is shown instead of the panes.
    pub(crate) on: bool,
    /// The lattice was opened from the overview: leaving it (`L`, Esc) goes back there.
    pub(crate) from_overview: bool,
    /// The zoom level, an index in [`ZOOMS`] (0: the largest tiles).
    pub(crate) zoom: usize,
    /// The grid's (columns, rows).
    pub(crate) shape: (usize, usize),
    /// The image of each cell, row by row (`None`: an empty cell at the end).
    pub(crate) cells: Vec<Option<usize>>,
    /// Each image's cell, `[column, row]`.
    pub(crate) of: Vec<[u32; 2]>,
    /// The first (column, row) in view.
    pub(crate) origin: (usize, usize),
}

impl Lattice {
    /// The lattice of `clustering` (its map's cells), the view kept.
    pub(crate) fn lay_out(&mut self, clustering: &Clustering) {
        let ((columns, rows), of) = clustering.lattice();
        let mut cells = vec![None; columns * rows];
        for (i, &[x, y]) in of.iter().enumerate() {
            cells[y as usize * columns + x as usize] = Some(i);
        }
        self.shape = (columns, rows);
        self.cells = cells;
        self.of = of;
    }

    /// The image in cell (column, row), if any.
    fn at(&self, column: usize, row: usize) -> Option<usize> {
        if column >= self.shape.0 || row >= self.shape.1 {
            return None;
        }
        self.cells[row * self.shape.0 + column]
    }

    /// A cell's footprint on screen, in cells: the tile and its frame (none at the last
    /// zoom, a colour per cell).
    fn footprint(&self) -> (u16, u16) {
        let (w, h) = ZOOMS[self.zoom];
        if self.zoom + 1 == ZOOMS.len() {
            (w, h)
        } else {
            (w + 2, h + 2)
        }
    }
}

impl App {
    /// The lattice's area: the screen above the status line.
    fn lattice_area(&self) -> Rect {
        let s = self.look.screen;
        Rect::new(s.x, s.y, s.width, s.height.saturating_sub(1))
    }

    /// The cells that fit in `area` at the zoom now: (columns, rows).
    fn lattice_fit(&self, area: Rect) -> (usize, usize) {
        let (fw, fh) = self.lattice.footprint();
        (
            usize::from(area.width / fw).max(1),
            usize::from(area.height / fh).max(1),
        )
    }

    /// The first (column, row) in view in `area`: the origin, or, when the cursor's cell is
    /// out of view, the page that holds it (pages of the cells that fit, from the grid's
    /// corner; the last page ends at the grid's edge). The view moves by whole pages, so that
    /// a cursor step never shifts the images in view (each would be sent to the terminal
    /// again).
    pub(crate) fn lattice_origin(&self, area: Rect) -> (usize, usize) {
        let (fit_c, fit_r) = self.lattice_fit(area);
        let [x, y] = self
            .base()
            .and_then(|i| self.lattice.of.get(i).copied())
            .unwrap_or_default();
        let keep = |origin: usize, at: usize, fit: usize, len: usize| {
            let last = len.saturating_sub(fit);
            let origin = origin.min(last);
            if (origin..origin + fit).contains(&at) {
                origin
            } else {
                (at - at % fit).min(last)
            }
        };
        let (o_c, o_r) = self.lattice.origin;
        (
            keep(o_c, x as usize, fit_c, self.lattice.shape.0),
            keep(o_r, y as usize, fit_r, self.lattice.shape.1),
        )
    }

    /// `L`: the lattice on or off (off: back to the overview when it was opened from there,
    /// else the panes).
    pub(crate) fn toggle_lattice(&mut self) -> Vec<Command> {
        self.lattice.on = !self.lattice.on;
        if self.lattice.on {
            self.lattice.from_overview = self.overview.on;
            self.overview.on = false;
            self.overview.auto = false;
            if let Some(c) = &self.clustering {
                self.lattice.lay_out(c);
            }
            self.focus = Focus::Images;
            self.say("lattice: arrows move, + / - zoom, Enter opens the cluster, L or Esc leaves");
        } else if std::mem::take(&mut self.lattice.from_overview) {
            self.overview.on = true;
            self.say("");
        } else {
            self.say("");
        }
        self.cursor_moved()
    }

    /// The actions of the lattice ([`crate::tui::keys::Mode::Lattice`]).
    pub(crate) fn lattice_key(&mut self, action: Action) -> Vec<Command> {
        let Some([x, y]) = self.base().and_then(|i| self.lattice.of.get(i).copied()) else {
            return Vec::new();
        };
        let (x, y) = (x as isize, y as isize);
        let (_, fit_r) = self.lattice_fit(self.lattice_area());
        let page = fit_r as isize;
        let (dx, dy) = match action {
            Action::Left => (-1, 0),
            Action::Right => (1, 0),
            Action::Up => (0, -1),
            Action::Down => (0, 1),
            Action::PageUp => (0, -page),
            Action::PageDown => (0, page),
            Action::First => (-x, 0),
            Action::Last => (self.lattice.shape.0 as isize, 0),
            Action::ZoomIn | Action::ZoomOut => {
                self.lattice.zoom = if action == Action::ZoomIn {
                    self.lattice.zoom.saturating_sub(1)
                } else {
                    (self.lattice.zoom + 1).min(ZOOMS.len() - 1)
                };
                return Vec::new();
            }
            Action::OpenCluster => {
                self.lattice.on = false;
                self.grid.view = ImagesView::Grid;
                self.grid.chosen = true;
                self.say("");
                return self.cursor_moved();
            }
            Action::Close => return self.toggle_lattice(),
            _ => return Vec::new(),
        };
        let (columns, rows) = self.lattice.shape;
        let to = |v: isize, len: usize| v.clamp(0, len as isize - 1) as usize;
        let (mut c, r) = (to(x + dx, columns), to(y + dy, rows));
        // The last row may end in empty cells: the cursor stops at its last image.
        while c > 0 && self.lattice.at(c, r).is_none() {
            c -= 1;
        }
        if let Some(row) = self.lattice.at(c, r) {
            self.go_to(row);
        }
        self.lattice.origin = self.lattice_origin(self.lattice_area());
        self.cursor_moved()
    }

    /// The lattice cell at `(column, row)` of the screen, if one is drawn there.
    pub(crate) fn lattice_hit(&self, column: u16, row: u16) -> Option<Hit> {
        let area = self.lattice_area();
        if !area.contains(Position::new(column, row)) {
            return None;
        }
        let (fw, fh) = self.lattice.footprint();
        let (fit_c, fit_r) = self.lattice_fit(area);
        let (c, r) = (
            usize::from((column - area.x) / fw),
            usize::from((row - area.y) / fh),
        );
        if c >= fit_c || r >= fit_r {
            return None;
        }
        let (o_c, o_r) = self.lattice_origin(area);
        self.lattice
            .at(o_c + c, o_r + r)
            .map(|_| Hit::Lattice(o_c + c, o_r + r))
    }

    /// A click on the lattice: the cursor to that cell, or, on the cursor's own cell, its
    /// cluster opened in the grid (as Enter).
    pub(crate) fn lattice_click(&mut self, column: usize, row: usize) -> Vec<Command> {
        let Some(i) = self.lattice.at(column, row) else {
            return Vec::new();
        };
        if self.base() == Some(i) {
            return self.lattice_key(Action::OpenCluster);
        }
        self.go_to(i);
        self.focus = Focus::Images;
        self.lattice.origin = self.lattice_origin(self.lattice_area());
        self.cursor_moved()
    }

    /// The thumbnails of the cells in view (framed zooms only), for the zoom's tile.
    pub(crate) fn lattice_thumbnails(&self) -> Option<(Vec<Wanted>, Tile, usize)> {
        if !self.lattice.on || self.loading != Loading::Ready || self.overlay != Overlay::None {
            return None;
        }
        if self.lattice.zoom + 1 == ZOOMS.len() {
            return Some((Vec::new(), ZOOMS[self.lattice.zoom], 0));
        }
        let area = self.lattice_area();
        let (fit_c, fit_r) = self.lattice_fit(area);
        let (o_c, o_r) = self.lattice_origin(area);
        let wanted = (o_r..o_r + fit_r)
            .flat_map(|r| (o_c..o_c + fit_c).map(move |c| (c, r)))
            .filter_map(|(c, r)| self.lattice.at(c, r))
            .map(|i| (self.collection.paths[i].clone(), self.collection.hashes[i]))
            .collect();
        Some((wanted, ZOOMS[self.lattice.zoom], fit_c * fit_r))
    }
}

/// Draws the lattice's cells in view in `area`, each framed in its cluster's colour (the
/// current cluster bright, the cursor thick), or a colour per cell at the last zoom.
/// `thumbnails` is `None` under a popup.
pub(crate) fn draw_lattice(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    mut thumbnails: Option<&mut Thumbnails>,
) {
    let lattice = &app.lattice;
    let (fw, fh) = lattice.footprint();
    let (fit_c, fit_r) = app.lattice_fit(area);
    let (o_c, o_r) = app.lattice_origin(area);
    let theme = app.look.theme;
    let current = app.base();
    let tile = ZOOMS[lattice.zoom];
    let colours = lattice.zoom + 1 == ZOOMS.len();
    for r in 0..fit_r {
        for c in 0..fit_c {
            let Some(i) = lattice.at(o_c + c, o_r + r) else {
                continue;
            };
            let at = Rect::new(area.x + c as u16 * fw, area.y + r as u16 * fh, fw, fh)
                .intersection(area);
            let number = app.cluster_number(i);
            let here = Some(i) == current;
            if colours {
                let cell = if here { "◆◆" } else { "██" };
                frame.render_widget(
                    Paragraph::new(Span::styled(cell, Style::new().fg(theme.cluster(number)))),
                    at,
                );
                continue;
            }
            let colour = Style::new().fg(theme.cluster(number));
            let block = Block::bordered()
                .border_type(if here {
                    BorderType::Thick
                } else {
                    BorderType::Plain
                })
                .border_style(if here { theme.accent() } else { colour });
            let block = if app.is_marked(i) {
                block.title_bottom(Span::styled("◆", theme.notice()))
            } else {
                block
            };
            let inside = block.inner(at);
            frame.render_widget(block, at);
            let path = &app.collection.paths[i];
            let made = thumbnails
                .as_deref_mut()
                .and_then(|t| t.get_mut(path, tile));
            draw_thumbnail(frame, made, inside, Paragraph::new("…").style(theme.dim()));
        }
    }
}
