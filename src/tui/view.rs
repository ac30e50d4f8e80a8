//! Drawing the app: a function of the state, no I/O.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Block;
use ratatui_image::thread::ThreadProtocol;

use super::app::{App, Focus, GRID_TILE, Hit, ImagesView, Loading, Overlay, images};
use super::panes::browse::draw_clusters;
use super::panes::compare::draw_compare;
use super::panes::duplicates::{draw_duplicates, draw_resolve};
use super::panes::grid::{draw_images, tiles_in};
use super::panes::help::draw_help;
use super::panes::lattice::draw_lattice;
use super::panes::lists::list_areas;
use super::panes::loading::{draw_empty, draw_loading};
use super::panes::map::draw_map;
use super::panes::neighbours::draw_neighbours;
use super::panes::outliers::draw_outliers;
use super::panes::overview::draw_overview;
use super::panes::preview::{draw_full_preview, draw_montage, draw_preview};
use super::panes::prompt::draw_prompt;
use super::panes::status::draw_status;
use super::panes::sweep::draw_sweep;

pub use super::panes::grid::Thumbnails;

/// The images the view draws, made elsewhere (decoded and encoded on workers).
pub struct Pictures<'a> {
    /// The image under the cursor (or the montage), if ready.
    pub preview: Option<&'a mut ThreadProtocol>,
    /// The map as a picture, if asked for and ready.
    pub map: Option<&'a mut ThreadProtocol>,
    /// The grid's thumbnails.
    pub thumbnails: &'a mut Thumbnails,
    /// The images compared, in the compare view's order, each once ready.
    pub compare: Vec<Option<&'a mut ThreadProtocol>>,
}

/// Where the panes are on a screen of `area` (status line included).
struct Panes {
    main: Rect,
    status: Rect,
    clusters: Rect,
    /// The images (or, on a narrow screen, the similar images).
    images: Rect,
    preview: Rect,
    neighbours: Rect,
    map: Rect,
    curves: Rect,
}

fn panes(app: &App, area: Rect) -> Panes {
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let wide = main.width >= 90;
    let tall = main.height >= 24;
    // The map grows while it is walked.
    let map_rows = if app.focus == Focus::Map {
        (main.height / 2).max(12)
    } else {
        12
    };
    let [top, bottom] = if tall {
        Layout::vertical([Constraint::Min(8), Constraint::Length(map_rows)]).areas(main)
    } else {
        [main, Rect::default()]
    };
    // The grid takes the middle of the screen; a list needs less.
    let grid = app.grid.view == ImagesView::Grid;
    let [clusters, images, right] = match (wide, grid) {
        (true, true) => Layout::horizontal([
            Constraint::Percentage(22),
            Constraint::Percentage(50),
            Constraint::Percentage(28),
        ])
        .areas(top),
        (true, false) => Layout::horizontal([
            Constraint::Percentage(28),
            Constraint::Percentage(30),
            Constraint::Percentage(42),
        ])
        .areas(top),
        (false, _) => {
            let left = if grid { 35 } else { 45 };
            let [a, b] = Layout::horizontal([
                Constraint::Percentage(left),
                Constraint::Percentage(100 - left),
            ])
            .areas(top);
            [a, b, Rect::default()]
        }
    };
    let [preview, neighbours] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(right);
    let [map, curves] = if tall {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom)
    } else {
        [Rect::default(); 2]
    };
    Panes {
        main,
        status,
        clusters,
        images,
        preview,
        neighbours,
        map,
        curves,
    }
}

/// The grid tiles (columns, rows) the images pane (or the near-duplicates) of a screen of
/// `area` holds: what the event loop tells the app with [`super::app::Event::GridSize`].
pub fn grid_size(app: &App, area: Rect) -> (usize, usize) {
    let p = panes(app, area);
    let pane = match app.overlay {
        Overlay::Duplicates | Overlay::Outliers => list_areas(app, p.main)[0],
        _ => p.images,
    };
    tiles_in(Block::bordered().inner(pane))
}

/// The map pane's inside, in cells, on a screen of `area`: what the event loop tells the app
/// with [`super::app::Event::MapSize`].
pub fn map_size(app: &App, area: Rect) -> (u16, u16) {
    let inner = Block::bordered().inner(panes(app, area).map);
    (inner.width, inner.height)
}

/// What is at `(column, row)` of a screen of `area`, on the panes (not under a popup or a
/// full-screen layer): for the event loop to turn a click into an [`super::app::Event`].
pub fn hit(app: &App, area: Rect, column: u16, row: u16) -> Option<Hit> {
    if app.loading != Loading::Ready || app.overlay != Overlay::None {
        return None;
    }
    if app.lattice.on {
        return app.lattice_hit(column, row);
    }
    if app.overview.on {
        return app.overview_hit(column, row);
    }
    let p = panes(app, area);
    let at = ratatui::layout::Position::new(column, row);
    let inside = |r: Rect| Block::bordered().inner(r).contains(at);
    // The row of a list drawn with its cursor on `selected`: ratatui scrolls just enough.
    let list_row = |r: Rect, selected: usize| {
        let inner = Block::bordered().inner(r);
        selected.saturating_sub(inner.height.saturating_sub(1) as usize) + (row - inner.y) as usize
    };
    if inside(p.clusters) {
        return Some(Hit::Cluster(Some(list_row(p.clusters, app.browse.cluster))));
    }
    if inside(p.images) {
        if p.preview.is_empty() && app.focus == Focus::Similar && !app.grid_shown() {
            return Some(Hit::Similar(Some(list_row(
                p.images,
                app.neighbours.cursor,
            ))));
        }
        if !app.grid_shown() {
            return Some(Hit::Image(Some(list_row(p.images, app.browse.image))));
        }
        let inner = Block::bordered().inner(p.images);
        let (columns, _) = tiles_in(inner);
        let (tw, th) = (GRID_TILE.0 + 2, GRID_TILE.1 + 2);
        let left = inner.x + (inner.width - columns as u16 * tw) / 2;
        let (sections, _) = app.grid_items();
        let rows = App::grid_rows(&sections, columns);
        let c = (column.checked_sub(left)? / tw) as usize;
        let r = app.grid.top + ((row - inner.y) / th) as usize;
        let item = rows
            .get(r)
            .filter(|&&(_, len)| c < len && c < columns)
            .map(|&(start, _)| start + c);
        return Some(Hit::Image(item));
    }
    if inside(p.neighbours) {
        let selected = if app.focus == Focus::Similar {
            app.neighbours.cursor
        } else {
            0
        };
        return Some(Hit::Similar(Some(list_row(p.neighbours, selected))));
    }
    if inside(p.map) {
        let inner = Block::bordered().inner(p.map);
        let [x0, y0, x1, y1] = app.map.view.window();
        let fx = (column - inner.x) as f32 + 0.5;
        let fy = (row - inner.y) as f32 + 0.5;
        return Some(Hit::Map([
            x0 + fx / inner.width as f32 * (x1 - x0),
            y1 - fy / inner.height as f32 * (y1 - y0),
        ]));
    }
    None
}

/// Draws the whole screen with the images made for it.
pub fn view(frame: &mut Frame, app: &App, pictures: Pictures) {
    let Pictures {
        preview,
        map,
        thumbnails,
        mut compare,
    } = pictures;
    let area = frame.area();
    let p = panes(app, area);
    draw_status(frame, app, p.status);
    let main = p.main;
    if app.loading != Loading::Ready {
        draw_loading(frame, app, main);
        return;
    }
    if app.collection.is_empty() {
        draw_empty(frame, app, main);
        return;
    }
    match &app.overlay {
        Overlay::Preview => return draw_full_preview(frame, app, preview, main),
        Overlay::Montage(path) => return draw_montage(frame, app.look.theme, path, preview, main),
        Overlay::Duplicates => return draw_duplicates(frame, app, preview, thumbnails, main),
        Overlay::Resolve => {
            // The popup over the groups, without images (graphics would cover it).
            draw_duplicates(frame, app, None, &mut Thumbnails::default(), main);
            return draw_resolve(frame, app, area);
        }
        Overlay::Outliers => return draw_outliers(frame, app, preview, thumbnails, main),
        Overlay::Compare => return draw_compare(frame, app, main, &mut compare),
        _ => {}
    }
    // Under a popup images are left out: terminal graphics would cover the popup.
    let popup = app.overlay != Overlay::None;
    let preview = if popup { None } else { preview };
    if app.lattice.on {
        draw_lattice(frame, app, main, (!popup).then_some(thumbnails));
    } else if app.overview.on {
        draw_overview(frame, app, main, (!popup).then_some(thumbnails));
    } else {
        draw_panes(frame, app, &p, preview, map, (!popup).then_some(thumbnails));
    }
    draw_popup(frame, app, area);
}

/// The panes: clusters, images (or the similar images), preview and neighbours, map and the
/// curves of k. `map` and `thumbnails` are `None` under a popup.
fn draw_panes(
    frame: &mut Frame,
    app: &App,
    p: &Panes,
    preview: Option<&mut ThreadProtocol>,
    map: Option<&mut ThreadProtocol>,
    thumbnails: Option<&mut Thumbnails>,
) {
    let popup = thumbnails.is_none();
    draw_clusters(frame, app, p.clusters);
    if p.preview.is_empty() && app.focus == Focus::Similar && !app.grid_shown() {
        draw_neighbours(frame, app, p.images);
    } else {
        draw_images(frame, app, p.images, thumbnails);
    }
    if !p.preview.is_empty() {
        draw_preview(frame, app, preview, p.preview);
        draw_neighbours(frame, app, p.neighbours);
    }
    if !p.map.is_empty() {
        draw_map(frame, app, p.map, if popup { None } else { map });
        draw_sweep(frame, app, p.curves);
    }
}

/// The popup over the panes, if any: the help, a prompt.
fn draw_popup(frame: &mut Frame, app: &App, area: Rect) {
    let export_title = match app.browse.selection.len() {
        0 => "export cluster to folder".to_owned(),
        n => format!("export the {} marked to folder", images(n)),
    };
    match &app.overlay {
        Overlay::Help(top) => draw_help(frame, app.look.theme, area, &app.look.graphics, *top),
        Overlay::Export(text) => draw_prompt(
            frame,
            app.look.theme,
            area,
            &export_title,
            text,
            "Enter exports (never overwrites) · Esc cancels",
        ),
        Overlay::Ask(ask, text) => {
            let (title, hint) = app.question(ask);
            draw_prompt(frame, app.look.theme, area, &title, text, &hint)
        }
        Overlay::Search(text) => draw_prompt(
            frame,
            app.look.theme,
            area,
            "search by words",
            text,
            "Enter searches · + and - join terms (a path is an image) · Esc cancels",
        ),
        Overlay::Filter => draw_prompt(
            frame,
            app.look.theme,
            area,
            "filter by file name",
            &app.browse.filter,
            "Enter keeps the filter · Esc clears it",
        ),
        _ => {}
    }
}
