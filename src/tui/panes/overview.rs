//! The overview (`w`): every cluster on one screen, a row each: its colour, number, size and
//! name, then as many of its thumbnails as fit, most central first, and when the cluster has
//! more, its two images farthest from the centre at the row's end (marked `edge`), so a
//! mixed cluster shows it. The cursor is the panes' (a cluster and an image in it), so
//! marks, `s`, `e`, `m` and the edits work here as in the grid; Enter opens the cluster in
//! the grid. Tiles shrink (down to 6 × 3 cells) so that every cluster fits, and the rows
//! scroll beyond that.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use super::grid::{GRID_TILE, ImagesView, Thumbnails, Tile, Wanted, draw_thumbnail};
use crate::config::ViewSetting;
use crate::tui::app::{App, Command, Focus, Loading, Overlay, images};
use crate::tui::event::Hit;
use crate::tui::keys::Action;

/// The columns of each row's label: colour, number, size, name.
const LABEL_WIDTH: u16 = 20;
/// The smallest tile's rows (its columns are twice as many: square on a 1:2 cell).
const TILE_ROWS_MIN: u16 = 3;
/// The images farthest from the centre shown at a row's end, when the cluster has more than
/// fit.
const EDGE: usize = 2;

/// Whether the overview is on, and the first cluster row in view.
#[derive(Debug, Default)]
pub(crate) struct Overview {
    /// The overview is shown instead of the panes.
    pub(crate) on: bool,
    /// `explore.view = auto`: the overview comes on when the terminal turns out to draw
    /// images, unless the user chose a view meanwhile (`w`, `g`).
    pub(crate) auto: bool,
    /// The first cluster row in view.
    pub(crate) top: usize,
    /// The overview was opened from the lattice: leaving it (`w`, Esc) goes back there.
    pub(crate) from_lattice: bool,
}

/// Where the overview's tiles go in its area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// A tile's inside, in cells (the thumbnails are encoded for it).
    pub(crate) tile: Tile,
    /// Tiles a row holds.
    pub(crate) per_row: usize,
    /// Cluster rows the area holds.
    pub(crate) rows: usize,
}

impl Layout {
    /// The layout of `clusters` rows in `area`: the largest tile (at most the grid's) with
    /// which every row fits, else the smallest.
    pub(crate) fn of(area: Rect, clusters: usize) -> Layout {
        let per_cluster = area.height / clusters.max(1) as u16;
        let h = per_cluster
            .saturating_sub(2)
            .clamp(TILE_ROWS_MIN, GRID_TILE.1);
        let tile = (2 * h, h);
        let room = area.width.saturating_sub(LABEL_WIDTH);
        Layout {
            tile,
            per_row: usize::from(room / (tile.0 + 2)),
            rows: usize::from(area.height / (h + 2)).max(1),
        }
    }
}

impl App {
    /// The overview's area: the screen above the status line.
    fn overview_area(&self) -> Rect {
        let s = self.look.screen;
        Rect::new(s.x, s.y, s.width, s.height.saturating_sub(1))
    }

    /// The overview's layout on the screen now.
    pub(crate) fn overview_layout(&self) -> Layout {
        Layout::of(self.overview_area(), self.browse.shown.len())
    }

    /// The first cluster row in view for `layout`: `overview.top`, moved just enough that
    /// the cursor's row shows (a reload or a filter may have moved the cursor).
    pub(crate) fn overview_top(&self, layout: Layout) -> usize {
        let (at, rows) = (self.browse.cluster, layout.rows.max(1));
        let top = if at < self.overview.top {
            at
        } else if at >= self.overview.top + rows {
            at + 1 - rows
        } else {
            self.overview.top
        };
        top.min(self.browse.shown.len().saturating_sub(rows))
    }

    /// What row `cluster` of the overview shows: indexes into its shown images (central
    /// first), and whether each is one of the edge images.
    pub(crate) fn overview_row(&self, cluster: usize, per_row: usize) -> Vec<(usize, bool)> {
        let n = self.browse.shown.get(cluster).map_or(0, Vec::len);
        if n <= per_row {
            return (0..n).map(|k| (k, false)).collect();
        }
        let edge = if per_row > 2 * EDGE { EDGE } else { 0 };
        let mut row: Vec<(usize, bool)> = (0..per_row - edge).map(|k| (k, false)).collect();
        row.extend((n - edge..n).map(|k| (k, true)));
        row
    }

    /// The first screen, as `explore.view` (or `--view`) says.
    pub fn start_with(&mut self, view: ViewSetting) {
        match view {
            ViewSetting::Auto => self.overview.auto = true,
            ViewSetting::Overview => self.overview.on = true,
            ViewSetting::Lattice => self.lattice.on = true,
            ViewSetting::Grid | ViewSetting::List => {
                self.grid.chosen = true;
                self.grid.view = if view == ViewSetting::Grid {
                    ImagesView::Grid
                } else {
                    ImagesView::List
                };
            }
        }
    }

    /// `w`: the overview on or off (off: back to the lattice when it was opened from there,
    /// else the panes, the grid of the same cluster).
    pub(crate) fn toggle_overview(&mut self) -> Vec<Command> {
        self.overview.auto = false;
        self.overview.on = !self.overview.on;
        if self.overview.on {
            self.overview.from_lattice = self.lattice.on;
            self.lattice.on = false;
            self.focus = Focus::Images;
            self.say("overview: arrows move, Enter opens the cluster in the grid, w or Esc leaves");
        } else if std::mem::take(&mut self.overview.from_lattice) {
            self.lattice.on = true;
            self.say("");
        } else {
            self.say("");
        }
        self.cursor_moved()
    }

    /// The actions of the overview ([`crate::tui::keys::Mode::Overview`]).
    pub(crate) fn overview_key(&mut self, action: Action) -> Vec<Command> {
        let layout = self.overview_layout();
        let clusters = self.browse.shown.len();
        if clusters == 0 {
            return Vec::new();
        }
        let row = self.overview_row(self.browse.cluster, layout.per_row);
        let column = row
            .iter()
            .position(|&(k, _)| k == self.browse.image)
            .unwrap_or(0);
        let to_row = |app: &mut App, cluster: usize| {
            let cluster = cluster.min(clusters - 1);
            let there = app.overview_row(cluster, layout.per_row);
            app.browse.cluster = cluster;
            app.browse.image = there
                .get(column.min(there.len().saturating_sub(1)))
                .map_or(0, |&(k, _)| k);
        };
        let page = layout.rows.max(1);
        match action {
            Action::Left | Action::Right => {
                let to = if action == Action::Left {
                    column.saturating_sub(1)
                } else {
                    (column + 1).min(row.len().saturating_sub(1))
                };
                self.browse.image = row.get(to).map_or(0, |&(k, _)| k);
            }
            Action::Up => to_row(self, self.browse.cluster.saturating_sub(1)),
            Action::Down => to_row(self, self.browse.cluster + 1),
            Action::PageUp => to_row(self, self.browse.cluster.saturating_sub(page)),
            Action::PageDown => to_row(self, self.browse.cluster + page),
            Action::First => to_row(self, 0),
            Action::Last => to_row(self, clusters - 1),
            Action::OpenCluster => {
                self.overview.on = false;
                self.grid.view = ImagesView::Grid;
                self.grid.chosen = true;
                self.focus = Focus::Images;
                self.say("");
            }
            Action::Close => return self.toggle_overview(),
            _ => return Vec::new(),
        }
        // The cursor's row stays in view.
        self.overview.top = self.overview_top(layout);
        self.cursor_moved()
    }

    /// What is at `(column, row)` of the screen: a row's label or one of its tiles.
    pub(crate) fn overview_hit(&self, column: u16, row: u16) -> Option<Hit> {
        let area = self.overview_area();
        let layout = self.overview_layout();
        let (tw, th) = (layout.tile.0 + 2, layout.tile.1 + 2);
        if !area.contains(Position::new(column, row)) {
            return None;
        }
        let cluster = self.overview_top(layout) + usize::from((row - area.y) / th);
        if cluster >= self.browse.shown.len() {
            return None;
        }
        let Some(x) = (column - area.x).checked_sub(LABEL_WIDTH) else {
            return Some(Hit::Overview(cluster, None));
        };
        let tiles = self.overview_row(cluster, layout.per_row);
        let k = tiles.get(usize::from(x / tw)).map(|&(k, _)| k);
        k.map(|k| Hit::Overview(cluster, Some(k)))
    }

    /// A click on the overview: the cursor to that tile (or to the row's first), or, on the
    /// cursor's own tile, the cluster opened in the grid (as Enter).
    pub(crate) fn overview_click(&mut self, cluster: usize, image: Option<usize>) -> Vec<Command> {
        if cluster >= self.browse.shown.len() {
            return Vec::new();
        }
        let image = image.unwrap_or(0);
        if (cluster, image) == (self.browse.cluster, self.browse.image) {
            return self.overview_key(Action::OpenCluster);
        }
        self.browse.cluster = cluster;
        self.browse.image = image;
        self.focus = Focus::Images;
        self.overview.top = self.overview_top(self.overview_layout());
        self.cursor_moved()
    }

    /// The thumbnails of the rows in view (and of the next page), for the overview's tile.
    pub(crate) fn overview_thumbnails(&self) -> Option<(Vec<Wanted>, Tile, usize)> {
        if !self.overview.on || self.loading != Loading::Ready || self.overlay != Overlay::None {
            return None;
        }
        let layout = self.overview_layout();
        if layout.per_row == 0 {
            return None;
        }
        let wanted = (self.overview_top(layout)..self.browse.shown.len())
            .take(2 * layout.rows)
            .flat_map(|c| {
                self.overview_row(c, layout.per_row)
                    .into_iter()
                    .map(move |(k, _)| self.browse.shown[c][k])
            })
            .map(|i| (self.collection.paths[i].clone(), self.collection.hashes[i]))
            .collect();
        Some((wanted, layout.tile, layout.per_row * layout.rows))
    }
}

/// Draws the overview in `area`: a row per cluster from `app.overview.top`, its label, then
/// its tiles. `thumbnails` is `None` under a popup (terminal graphics would cover it).
pub(crate) fn draw_overview(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    mut thumbnails: Option<&mut Thumbnails>,
) {
    let Some(clustering) = &app.clustering else {
        return;
    };
    let layout = Layout::of(area, app.browse.shown.len());
    let (tw, th) = (layout.tile.0 + 2, layout.tile.1 + 2);
    let theme = app.look.theme;
    let rows = (app.overview_top(layout)..app.browse.shown.len()).take(layout.rows);
    for (r, c) in rows.enumerate() {
        let y = area.y + r as u16 * th;
        let cl = &clustering.clusters[c];
        let shown = &app.browse.shown[c];
        let here_row = c == app.browse.cluster;
        let row = app.overview_row(c, layout.per_row);
        let hidden = shown.len().saturating_sub(row.len());
        let mut label = vec![Line::from(vec![
            Span::styled("██ ", Style::new().fg(theme.cluster(cl.number))),
            Span::styled(format!("{} ", cl.number), Style::new().bold()),
            Span::styled(images(shown.len()), theme.dim()),
        ])];
        // The name on the rows left (one kept for the count of those left out).
        let room = usize::from(th.saturating_sub(2 + u16::from(hidden > 0))).max(1);
        label.extend(
            name_lines(
                &crate::text::escape(&cl.name),
                usize::from(LABEL_WIDTH - 1),
                room,
            )
            .into_iter()
            .map(Line::from),
        );
        if hidden > 0 {
            label.push(Line::styled(format!("+{hidden} more"), theme.dim()));
        }
        let label_style = if here_row {
            theme.accent()
        } else {
            Style::new()
        };
        frame.render_widget(
            Paragraph::new(label).style(label_style),
            Rect::new(area.x, y, LABEL_WIDTH - 1, th.min(area.height)),
        );
        for (column, &(k, edge)) in row.iter().enumerate() {
            let i = shown[k];
            let x = area.x + LABEL_WIDTH + column as u16 * tw;
            let tile = Rect::new(x, y, tw, th).intersection(area);
            let here = here_row && k == app.browse.image;
            let marked = app.is_marked(i);
            let style = if here {
                theme.accent().bold()
            } else if marked || edge {
                theme.notice()
            } else {
                theme.dim()
            };
            let mut block = Block::bordered()
                .border_type(if here {
                    BorderType::Thick
                } else {
                    BorderType::Plain
                })
                .border_style(style);
            if edge {
                block = block.title(Line::from("edge").style(style));
            }
            if marked {
                block = block.title_bottom(Span::styled("◆", theme.notice().bold()));
            }
            let inside = block.inner(tile);
            frame.render_widget(block, tile);
            let path = &app.collection.paths[i];
            let made = thumbnails
                .as_deref_mut()
                .and_then(|t| t.get_mut(path, layout.tile));
            draw_thumbnail(frame, made, inside, Paragraph::new("…").style(theme.dim()));
        }
    }
}

/// `name` in at most `rows` lines of `width` characters, broken at spaces; what does not fit
/// is cut from the middle of the last line.
fn name_lines(name: &str, width: usize, rows: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut words = name.split(' ').peekable();
    while let Some(word) = words.next() {
        let full = lines.len() == rows;
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ if full => {
                // No row left: the rest joins the last line, cut in the middle.
                let last = lines.last_mut().expect("rows ≥ 1");
                let rest: Vec<&str> = std::iter::once(word).chain(words.by_ref()).collect();
                *last = crate::text::middle_cut(&format!("{last} {}", rest.join(" ")), width);
                break;
            }
            _ => lines.push(crate::text::middle_cut(word, width)),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_wrap_at_spaces_and_are_cut_in_the_middle_when_they_do_not_fit() {
        assert_eq!(
            name_lines("chain mail · brain coral · wool", 19, 2),
            ["chain mail · brain", "coral · wool"]
        );
        let one = name_lines("chain mail · brain coral · wool", 19, 1);
        assert_eq!(one.len(), 1);
        assert!(
            one[0].starts_with("chain") && one[0].ends_with("wool"),
            "{one:?}"
        );
        assert_eq!(one[0].chars().count(), 19);
        assert_eq!(name_lines("", 19, 2), [""]);
    }

    #[test]
    fn tiles_shrink_so_that_every_cluster_fits_then_rows_scroll() {
        let area = Rect::new(0, 0, 160, 47);
        // Five clusters: the grid's tiles, nine rows each.
        assert_eq!(Layout::of(area, 5).tile, (14, 7));
        assert_eq!(Layout::of(area, 5).rows, 5);
        // Eight: 5 rows each, tiles of 6 × 3; all eight in view.
        let eight = Layout::of(area, 8);
        assert_eq!(eight.tile, (6, 3));
        assert!(eight.rows >= 8, "{eight:?}");
        assert_eq!(eight.per_row, usize::from((160 - LABEL_WIDTH) / 8));
        // Thirty: the smallest tiles, and the rows scroll.
        let thirty = Layout::of(area, 30);
        assert_eq!(thirty.tile, (6, 3));
        assert_eq!(thirty.rows, 9);
    }

    #[test]
    fn leaving_the_overview_or_the_lattice_goes_back_to_the_view_it_was_opened_from() {
        let mut app = App::new("/photos".into(), "test".into());
        app.start_with(ViewSetting::Lattice);
        app.toggle_overview();
        assert!(app.overview.on && !app.lattice.on);
        app.toggle_overview();
        assert!(
            app.lattice.on && !app.overview.on,
            "w from the lattice's overview"
        );
        app.toggle_lattice();
        assert!(!app.lattice.on && !app.overview.on, "L leaves to the panes");
        // From the overview into the lattice and back; then out to the panes.
        app.start_with(ViewSetting::Overview);
        app.toggle_lattice();
        assert!(app.lattice.on && !app.overview.on);
        app.toggle_lattice();
        assert!(
            app.overview.on && !app.lattice.on,
            "L from the overview's lattice"
        );
        app.toggle_overview();
        assert!(!app.lattice.on && !app.overview.on, "w leaves to the panes");
    }
}
