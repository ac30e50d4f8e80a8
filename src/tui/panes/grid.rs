//! The images pane: the current cluster (or the similar images, the near-duplicates, the
//! odd ones out) as a list of names or as a grid of thumbnails, paged and walked in two
//! dimensions. Thumbnails are made and encoded on workers; drawing only copies them.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, List, ListItem, ListState, Paragraph, Wrap};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::{Resize, StatefulImage};

use super::browse::mark;
use crate::tui::app::{App, Command, Focus, Loading, Overlay, images};
use crate::tui::keys::Action;
use crate::tui::widgets::pane;

/// How the images pane shows a cluster (and the similar images, and the near-duplicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImagesView {
    /// File names, one per line.
    #[default]
    List,
    /// Thumbnails, [`GRID_TILE`] cells each.
    Grid,
}

/// The cells of one grid thumbnail (columns, rows), inside a one-cell frame: square images
/// on the usual 1:2 cell.
pub const GRID_TILE: (u16, u16) = (14, 7);

/// The images pane's view and the grid's page.
#[derive(Default)]
pub(crate) struct Grid {
    /// List or grid.
    pub(crate) view: ImagesView,
    /// The user chose the view with `g`: the terminal's graphics no longer choose it.
    pub(crate) chosen: bool,
    /// Tiles the grid fits, (columns, rows); (0, 0) until the event loop says.
    pub(crate) size: (usize, usize),
    /// The first grid row in view.
    pub(crate) top: usize,
    /// The thumbnails last asked for, and their tile (asked again only when the page
    /// changes).
    pub(crate) asked: (Vec<PathBuf>, Tile),
}

impl App {
    /// How images are drawn now ([`crate::tui::app::Event::Graphics`]): terminal graphics
    /// make the grid the default view, unless the user chose one with `g`.
    pub(crate) fn on_graphics(&mut self, how: String, images: bool) -> Vec<Command> {
        self.look.graphics = how;
        if self.overview.auto && images && !self.grid.chosen {
            self.overview.auto = false;
            self.overview.on = true;
        }
        if !self.grid.chosen {
            self.grid.view = if images {
                ImagesView::Grid
            } else {
                ImagesView::List
            };
        }
        // New graphics: the thumbnails made for the old ones are gone.
        self.grid.asked.0.clear();
        Vec::new()
    }

    /// The images pane fits this many tiles ([`crate::tui::app::Event::GridSize`]).
    pub(crate) fn on_grid_size(&mut self, columns: usize, rows: usize) -> Vec<Command> {
        self.grid.size = (columns, rows);
        Vec::new()
    }

    /// `g`: the grid or the list.
    pub(crate) fn toggle_view(&mut self) {
        self.grid.chosen = true;
        self.overview.auto = false;
        self.grid.view = match self.grid.view {
            ImagesView::List => ImagesView::Grid,
            ImagesView::Grid => ImagesView::List,
        };
    }

    /// A grid move for an action: (items along, rows down), or `None` for keys that do not move.
    pub(crate) fn grid_step(&self, action: Action) -> Option<(isize, isize)> {
        let page = self.grid.size.1.max(1) as isize;
        Some(match action {
            Action::Left => (-1, 0),
            Action::Right => (1, 0),
            Action::Up => (0, -1),
            Action::Down => (0, 1),
            Action::PageUp => (0, -page),
            Action::PageDown => (0, page),
            Action::First => (isize::MIN / 2, 0),
            Action::Last => (isize::MAX / 2, 0),
            _ => return None,
        })
    }

    /// Whether the images pane (or the near-duplicates) is a grid now.
    pub fn grid_shown(&self) -> bool {
        self.grid.view == ImagesView::Grid && self.grid.size.0 > 0
    }

    /// What the grid shows, as sections that each start a new row (one per near-duplicate
    /// group; one for a cluster or the similar images), and the cursor as an index into the
    /// sections laid end to end.
    pub fn grid_items(&self) -> (Vec<Vec<usize>>, usize) {
        if matches!(self.overlay, Overlay::Duplicates | Overlay::Resolve) {
            let groups = self.duplicates.groups.clone().unwrap_or_default();
            return (groups, self.duplicates.cursor);
        }
        if self.overlay == Overlay::Outliers {
            let rows = self.outliers.list.iter().flatten().map(|o| o.0).collect();
            return (vec![rows], self.outliers.cursor);
        }
        if self.focus == Focus::Similar {
            let rows = self.neighbours.list.iter().map(|n| n.index).collect();
            return (vec![rows], self.neighbours.cursor);
        }
        let shown = self
            .browse
            .shown
            .get(self.browse.cluster)
            .cloned()
            .unwrap_or_default();
        (vec![shown], self.browse.image)
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
    pub(crate) fn move_in_grid(&mut self, dx: isize, dy: isize) -> Vec<Command> {
        let (sections, cursor) = self.grid_items();
        let total: usize = sections.iter().map(Vec::len).sum();
        if total == 0 {
            return Vec::new();
        }
        let rows = Self::grid_rows(&sections, self.grid.size.0);
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
            self.outliers.cursor = to;
            return self.preview_command();
        }
        match (self.overlay == Overlay::Duplicates, self.focus) {
            (true, _) => {
                self.duplicates.cursor = to;
                self.preview_command()
            }
            (false, Focus::Similar) => {
                self.neighbours.cursor = to;
                self.preview_command()
            }
            (false, _) => {
                self.focus = Focus::Images;
                self.browse.image = to;
                self.cursor_moved()
            }
        }
    }

    /// Keeps the grid's cursor row in view and asks for the thumbnails of the page in view
    /// (and of the next, so that paging on finds them made) when they change.
    pub(crate) fn thumbnails(&mut self) -> Vec<Command> {
        if let Some((wanted, tile, page)) = self
            .lattice_thumbnails()
            .or_else(|| self.overview_thumbnails())
        {
            return self.ask_thumbnails(wanted, tile, page);
        }
        let grid = self.grid.view == ImagesView::Grid
            && self.loading == Loading::Ready
            && matches!(
                self.overlay,
                Overlay::None | Overlay::Duplicates | Overlay::Outliers
            );
        let (columns, page_rows) = self.grid.size;
        if !grid || columns == 0 || page_rows == 0 {
            return Vec::new();
        }
        let (sections, cursor) = self.grid_items();
        let rows = Self::grid_rows(&sections, columns);
        let at = rows
            .iter()
            .rposition(|&(start, _)| start <= cursor)
            .unwrap_or(0);
        if at < self.grid.top {
            self.grid.top = at;
        } else if at >= self.grid.top + page_rows {
            self.grid.top = at + 1 - page_rows;
        }
        self.grid.top = self.grid.top.min(rows.len().saturating_sub(page_rows));
        let items: Vec<usize> = sections.into_iter().flatten().collect();
        let wanted: Vec<(PathBuf, [u8; 32])> = rows
            .iter()
            .skip(self.grid.top)
            .take(2 * page_rows)
            .flat_map(|&(start, len)| &items[start..start + len])
            .map(|&i| (self.collection.paths[i].clone(), self.collection.hashes[i]))
            .collect();
        self.ask_thumbnails(wanted, GRID_TILE, columns * page_rows)
    }

    /// Asks for the thumbnails of `wanted` for `tile`, `page` of them on a full page, unless
    /// they are those asked last.
    fn ask_thumbnails(
        &mut self,
        wanted: Vec<(PathBuf, [u8; 32])>,
        tile: Tile,
        page: usize,
    ) -> Vec<Command> {
        let paths: Vec<PathBuf> = wanted.iter().map(|(p, _)| p.clone()).collect();
        if (paths == self.grid.asked.0 && tile == self.grid.asked.1) || wanted.is_empty() {
            return Vec::new();
        }
        self.grid.asked = (paths, tile);
        vec![Command::LoadThumbnails(wanted, tile, page)]
    }
}

/// Thumbnails most kept for the grid (each a 160-pixel image and its encoding).
const THUMBNAILS_KEPT: usize = 600;

/// A tile's inside, in cells (columns, rows): what a thumbnail is encoded for.
pub type Tile = (u16, u16);

/// A thumbnail to make: the image's path and content hash.
pub(crate) type Wanted = (PathBuf, [u8; 32]);

/// The thumbnails by image path and tile, each encoded for that tile (made on workers;
/// drawing only copies them): [`GRID_TILE`] for the grid, smaller ones for the overview. The
/// oldest go first past [`THUMBNAILS_KEPT`].
#[derive(Default)]
pub struct Thumbnails {
    made: HashMap<(PathBuf, Tile), StatefulProtocol>,
    order: VecDeque<(PathBuf, Tile)>,
}

impl Thumbnails {
    /// Keeps the thumbnail of `path` for `tile`.
    pub fn insert(&mut self, path: PathBuf, tile: Tile, thumbnail: StatefulProtocol) {
        let key = (path, tile);
        if self.made.insert(key.clone(), thumbnail).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > THUMBNAILS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.made.remove(&old);
            }
        }
    }

    /// Whether the thumbnail of `path` for `tile` is made.
    pub fn has(&self, path: &Path, tile: Tile) -> bool {
        self.made.contains_key(&(path.to_owned(), tile))
    }

    /// The thumbnail of `path` for `tile`, if made.
    pub(crate) fn get_mut(&mut self, path: &Path, tile: Tile) -> Option<&mut StatefulProtocol> {
        self.made.get_mut(&(path.to_owned(), tile))
    }

    /// Forgets every thumbnail (the graphics changed).
    pub fn clear(&mut self) {
        self.made.clear();
        self.order.clear();
    }
}

/// The grid tiles (columns, rows) that fit inside a pane.
pub(crate) fn tiles_in(inner: Rect) -> (usize, usize) {
    (
        (inner.width / (GRID_TILE.0 + 2)) as usize,
        (inner.height / (GRID_TILE.1 + 2)) as usize,
    )
}

/// The images pane: the current cluster as a list of names (with each image's distance to
/// its centre) or as the grid.
pub(crate) fn draw_images(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    thumbnails: Option<&mut Thumbnails>,
) {
    let (Some(clustering), Some(shown)) =
        (&app.clustering, app.browse.shown.get(app.browse.cluster))
    else {
        return;
    };
    if app.grid_shown() && app.focus == Focus::Similar {
        let title = match (&app.neighbours.query, app.base()) {
            (Some(query), _) => {
                format!(" search: {} (Esc returns) ", crate::text::escape(query))
            }
            (None, Some(i)) => format!(" similar to {} (Esc returns) ", app.name(i)),
            (None, None) => " similar (Esc returns) ".to_owned(),
        };
        return draw_grid(
            frame,
            app,
            area,
            pane(app.look.theme, title, true),
            thumbnails,
        );
    }
    // Only the rows on screen are made (a cluster can hold 200,000 images): the window a
    // list scrolled from the top shows, the cursor on its last row once past the first page.
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let selected = app.browse.image.min(shown.len().saturating_sub(1));
    let first = selected.saturating_sub(rows - 1);
    let items: Vec<ListItem> = shown[first.min(shown.len())..(first + rows).min(shown.len())]
        .iter()
        .map(|&i| {
            let twin = match app.duplicates.of.get(i).copied().flatten() {
                Some(g) => Span::styled(format!("≈{:<3}", g + 1), app.look.theme.notice()),
                None => Span::raw("    "),
            };
            let mut spans = mark(app, i);
            spans.extend([
                Span::styled(
                    format!("{:.3} ", clustering.distances[i]),
                    app.look.theme.dim(),
                ),
                twin,
                Span::raw(app.name(i)),
            ]);
            ListItem::new(Line::from(spans))
        })
        .collect();
    let cl = &clustering.clusters[app.browse.cluster];
    let title = if app.browse.filter.is_empty() {
        format!(" cluster {} · {} ", cl.number, images(shown.len()))
    } else {
        format!(
            " cluster {} · {} of {} match \"{}\" ",
            cl.number,
            shown.len(),
            cl.size,
            app.browse.filter
        )
    };
    let block = pane(app.look.theme, title, app.focus == Focus::Images);
    if app.grid_shown() && !shown.is_empty() {
        return draw_grid(frame, app, area, block, thumbnails);
    }
    if shown.is_empty() {
        let text = Paragraph::new("no file name here matches; ←→ other clusters, Esc clears")
            .style(app.look.theme.dim())
            .wrap(Wrap { trim: true });
        frame.render_widget(text.block(block), area);
        return;
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(selected - first));
    frame.render_stateful_widget(list, area, &mut state);
}

/// The grid of [`App::grid_items`] in `block`: one framed tile per image, the cursor's frame
/// bright, a placeholder until its thumbnail is made. `thumbnails` is `None` under a popup
/// (terminal graphics would cover it). A cursor step changes only frames, so no image is
/// sent to the terminal again.
pub(crate) fn draw_grid(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    block: Block,
    mut thumbnails: Option<&mut Thumbnails>,
) {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (columns, page_rows) = tiles_in(inner);
    let (sections, cursor) = app.grid_items();
    let rows = App::grid_rows(&sections, columns);
    let items: Vec<usize> = sections.into_iter().flatten().collect();
    let (tw, th) = (GRID_TILE.0 + 2, GRID_TILE.1 + 2);
    // The tiles are centred in the pane.
    let left = inner.x + (inner.width - columns as u16 * tw) / 2;
    let section_of = |item: usize| {
        let mut start = 0;
        app.duplicates
            .groups
            .iter()
            .flatten()
            .position(|g| {
                start += g.len();
                item < start
            })
            .unwrap_or(0)
    };
    for (r, &(start, len)) in rows.iter().skip(app.grid.top).take(page_rows).enumerate() {
        for column in 0..len {
            let item = start + column;
            let i = items[item];
            let tile = Rect::new(left + column as u16 * tw, inner.y + r as u16 * th, tw, th);
            let here = item == cursor;
            let marked = app.is_marked(i);
            let style = if here {
                app.look.theme.accent().bold()
            } else if marked {
                app.look.theme.notice()
            } else {
                app.look.theme.dim()
            };
            let number = app.cluster_number(i);
            let mut tile_block = Block::bordered()
                .border_type(if here {
                    BorderType::Thick
                } else {
                    BorderType::Plain
                })
                .border_style(style)
                .title(
                    Line::from(crate::text::middle_cut(&app.name(i), GRID_TILE.0 as usize))
                        .style(style),
                )
                .title_bottom(Line::from(vec![
                    Span::styled("●", Style::new().fg(app.look.theme.cluster(number))),
                    if marked {
                        Span::styled("◆", app.look.theme.notice().bold())
                    } else {
                        Span::raw("")
                    },
                ]));
            if matches!(app.overlay, Overlay::Duplicates | Overlay::Resolve) {
                let g = section_of(item);
                tile_block = tile_block.title_bottom(
                    Line::from(vec![
                        Span::styled(format!("≈{} ", g + 1), app.look.theme.notice()),
                        fate(app, g, i),
                    ])
                    .right_aligned(),
                );
            } else if let Some(g) = app.duplicates.of.get(i).copied().flatten() {
                tile_block = tile_block.title_bottom(
                    Line::from(format!("≈{}", g + 1))
                        .right_aligned()
                        .style(app.look.theme.notice()),
                );
            }
            let inside = tile_block.inner(tile);
            frame.render_widget(tile_block, tile);
            let path = &app.collection.paths[i];
            let made = thumbnails
                .as_deref_mut()
                .and_then(|t| t.get_mut(path, GRID_TILE));
            let waiting = Paragraph::new("\n\n…")
                .centered()
                .style(app.look.theme.dim());
            draw_thumbnail(frame, made, inside, waiting);
        }
    }
}

/// What becomes of row `i` of near-duplicate group `g` when they are resolved: `keep`, `✗`
/// (goes) or `·` (spared by the user); blank while the keepers are being chosen.
pub(crate) fn fate(app: &App, g: usize, i: usize) -> Span<'static> {
    match app.keeper_of(g) {
        None => Span::raw("     "),
        Some(k) if k == i => Span::styled("keep ", app.look.theme.accent().bold()),
        Some(_) if app.goes(g, i) => Span::styled("  ✗  ", app.look.theme.notice()),
        Some(_) => Span::styled("  ·  ", app.look.theme.dim()),
    }
}

/// Draws a tile's thumbnail inside its frame, or `waiting` until it is made.
pub(crate) fn draw_thumbnail(
    frame: &mut Frame,
    made: Option<&mut StatefulProtocol>,
    inside: Rect,
    waiting: Paragraph,
) {
    match made {
        Some(thumbnail) => frame.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            inside,
            thumbnail,
        ),
        None => frame.render_widget(waiting, inside),
    }
}
