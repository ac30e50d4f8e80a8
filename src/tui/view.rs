//! Drawing the app: a function of the state, no I/O.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Points};
use ratatui::widgets::{
    Block, BorderType, Borders, Clear, Gauge, List, ListItem, ListState, Paragraph, Sparkline,
    SparklineBar, Wrap,
};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::thread::ThreadProtocol;
use ratatui_image::{Resize, StatefulImage};

use super::app::{App, Focus, GRID_TILE, Hit, ImagesView, Loading, Overlay, images};
use super::theme::Theme;
use crate::session::{Method, WatchMode};

/// Thumbnails most kept for the grid (each a 160-pixel image and its encoding).
const THUMBNAILS_KEPT: usize = 600;

/// The grid's thumbnails by image path, each encoded for one [`GRID_TILE`] (made on workers;
/// drawing only copies them). The oldest go first past [`THUMBNAILS_KEPT`].
#[derive(Default)]
pub struct Thumbnails {
    made: HashMap<PathBuf, StatefulProtocol>,
    order: VecDeque<PathBuf>,
}

impl Thumbnails {
    /// Keeps the thumbnail of `path`.
    pub fn insert(&mut self, path: PathBuf, thumbnail: StatefulProtocol) {
        if self.made.insert(path.clone(), thumbnail).is_none() {
            self.order.push_back(path);
        }
        while self.order.len() > THUMBNAILS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.made.remove(&old);
            }
        }
    }

    /// Whether the thumbnail of `path` is made.
    pub fn has(&self, path: &Path) -> bool {
        self.made.contains_key(path)
    }

    /// Forgets every thumbnail (the graphics changed).
    pub fn clear(&mut self) {
        self.made.clear();
        self.order.clear();
    }
}

/// The images the view draws, made elsewhere (decoded and encoded on workers).
pub struct Pictures<'a> {
    /// The image under the cursor (or the montage), if ready.
    pub preview: Option<&'a mut ThreadProtocol>,
    /// The map as a picture, if asked for and ready.
    pub map: Option<&'a mut ThreadProtocol>,
    /// The grid's thumbnails.
    pub thumbnails: &'a mut Thumbnails,
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
    let grid = app.images_view == ImagesView::Grid;
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
        Overlay::Duplicates | Overlay::Outliers => duplicates_areas(app, p.main)[0],
        _ => p.images,
    };
    tiles_in(Block::bordered().inner(pane))
}

/// The near-duplicates screen: the groups (list or grid), and the preview when there is room.
fn duplicates_areas(app: &App, main: Rect) -> [Rect; 2] {
    let list = if app.images_view == ImagesView::Grid {
        65
    } else {
        50
    };
    if main.width >= 60 {
        Layout::horizontal([
            Constraint::Percentage(list),
            Constraint::Percentage(100 - list),
        ])
        .areas(main)
    } else {
        [main, Rect::default()]
    }
}

fn tiles_in(inner: Rect) -> (usize, usize) {
    (
        (inner.width / (GRID_TILE.0 + 2)) as usize,
        (inner.height / (GRID_TILE.1 + 2)) as usize,
    )
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
    let p = panes(app, area);
    let at = ratatui::layout::Position::new(column, row);
    let inside = |r: Rect| Block::bordered().inner(r).contains(at);
    // The row of a list drawn with its cursor on `selected`: ratatui scrolls just enough.
    let list_row = |r: Rect, selected: usize| {
        let inner = Block::bordered().inner(r);
        selected.saturating_sub(inner.height.saturating_sub(1) as usize) + (row - inner.y) as usize
    };
    if inside(p.clusters) {
        return Some(Hit::Cluster(Some(list_row(p.clusters, app.cluster))));
    }
    if inside(p.images) {
        if p.preview.is_empty() && app.focus == Focus::Similar && !app.grid_shown() {
            return Some(Hit::Similar(Some(list_row(p.images, app.similar_cursor))));
        }
        if !app.grid_shown() {
            return Some(Hit::Image(Some(list_row(p.images, app.image))));
        }
        let inner = Block::bordered().inner(p.images);
        let (columns, _) = tiles_in(inner);
        let (tw, th) = (GRID_TILE.0 + 2, GRID_TILE.1 + 2);
        let left = inner.x + (inner.width - columns as u16 * tw) / 2;
        let (sections, _) = app.grid_items();
        let rows = App::grid_rows(&sections, columns);
        let c = (column.checked_sub(left)? / tw) as usize;
        let r = app.grid_top + ((row - inner.y) / th) as usize;
        let item = rows
            .get(r)
            .filter(|&&(_, len)| c < len && c < columns)
            .map(|&(start, _)| start + c);
        return Some(Hit::Image(item));
    }
    if inside(p.neighbours) {
        let selected = if app.focus == Focus::Similar {
            app.similar_cursor
        } else {
            0
        };
        return Some(Hit::Similar(Some(list_row(p.neighbours, selected))));
    }
    if inside(p.map) {
        let inner = Block::bordered().inner(p.map);
        let [x0, y0, x1, y1] = app.map_view.window();
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
        Overlay::Montage(path) => return draw_montage(frame, app.theme, path, preview, main),
        Overlay::Duplicates => return draw_duplicates(frame, app, preview, thumbnails, main),
        Overlay::Resolve => {
            // The popup over the groups, without images (graphics would cover it).
            draw_duplicates(frame, app, None, &mut Thumbnails::default(), main);
            return draw_resolve(frame, app, area);
        }
        Overlay::Outliers => return draw_outliers(frame, app, preview, thumbnails, main),
        _ => {}
    }
    // Under a popup images are left out: terminal graphics would cover the popup.
    let popup = app.overlay != Overlay::None;
    let preview = if popup { None } else { preview };
    draw_clusters(frame, app, p.clusters);
    if p.preview.is_empty() && app.focus == Focus::Similar && !app.grid_shown() {
        draw_neighbours(frame, app, p.images);
    } else {
        draw_images(frame, app, p.images, (!popup).then_some(thumbnails));
    }
    if !p.preview.is_empty() {
        draw_preview(frame, app, preview, p.preview);
        draw_neighbours(frame, app, p.neighbours);
    }
    if !p.map.is_empty() {
        draw_map(frame, app, p.map, if popup { None } else { map });
        draw_sweep(frame, app, p.curves);
    }
    let export_title = match app.selection.len() {
        0 => "export cluster to folder".to_owned(),
        n => format!("export the {} marked to folder", images(n)),
    };
    match &app.overlay {
        Overlay::Help => draw_help(frame, app.theme, area, &app.graphics),
        Overlay::Export(text) => draw_prompt(
            frame,
            app.theme,
            area,
            &export_title,
            text,
            "Enter exports (never overwrites) · Esc cancels",
        ),
        Overlay::Ask(ask, text) => {
            let (title, hint) = app.question(ask);
            draw_prompt(frame, app.theme, area, &title, text, &hint)
        }
        Overlay::Filter => draw_prompt(
            frame,
            app.theme,
            area,
            "filter by file name",
            &app.filter,
            "Enter keeps the filter · Esc clears it",
        ),
        _ => {}
    }
}

/// A bordered pane; its title is shown with control characters escaped.
fn pane(theme: Theme, title: impl Into<String>, focused: bool) -> Block<'static> {
    let style = if focused { theme.accent() } else { theme.dim() };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(crate::text::escape(&title.into()).into_owned())
}

fn draw_clusters(frame: &mut Frame, app: &App, area: Rect) {
    let Some(clustering) = &app.clustering else {
        return;
    };
    let filtering = !app.filter.is_empty();
    let items: Vec<ListItem> = clustering
        .clusters
        .iter()
        .zip(&app.shown)
        .map(|(cl, shown)| {
            let size = if filtering {
                format!("{:>2} {:>5}/{}  ", cl.number, shown.len(), cl.size)
            } else {
                format!("{:>2} {:>5}  ", cl.number, cl.size)
            };
            let item = ListItem::new(Line::from(vec![
                Span::styled("██ ", Style::new().fg(app.theme.cluster(cl.number))),
                Span::raw(size),
                Span::raw(crate::text::escape(&cl.name).into_owned()),
            ]));
            if filtering && shown.is_empty() {
                item.style(app.theme.dim())
            } else {
                item
            }
        })
        .collect();
    let title = format!(
        " clusters: {} by {} ",
        clustering.k,
        clustering.request.method.name()
    );
    let list = List::new(items)
        .block(pane(app.theme, title, app.focus == Focus::Clusters))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.cluster));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_images(frame: &mut Frame, app: &App, area: Rect, thumbnails: Option<&mut Thumbnails>) {
    let (Some(clustering), Some(shown)) = (&app.clustering, app.shown.get(app.cluster)) else {
        return;
    };
    if app.grid_shown() && app.focus == Focus::Similar {
        let title = match app.base() {
            Some(i) => format!(" similar to {} (Esc returns) ", app.name(i)),
            None => " similar (Esc returns) ".to_owned(),
        };
        return draw_grid(frame, app, area, pane(app.theme, title, true), thumbnails);
    }
    let items: Vec<ListItem> = shown
        .iter()
        .map(|&i| {
            let twin = match app.duplicate_of.get(i).copied().flatten() {
                Some(g) => Span::styled(format!("≈{:<3}", g + 1), app.theme.notice()),
                None => Span::raw("    "),
            };
            let mut spans = mark(app, i);
            spans.extend([
                Span::styled(format!("{:.3} ", clustering.distances[i]), app.theme.dim()),
                twin,
                Span::raw(app.name(i)),
            ]);
            ListItem::new(Line::from(spans))
        })
        .collect();
    let cl = &clustering.clusters[app.cluster];
    let title = if app.filter.is_empty() {
        format!(" cluster {} · {} ", cl.number, images(shown.len()))
    } else {
        format!(
            " cluster {} · {} of {} match \"{}\" ",
            cl.number,
            shown.len(),
            cl.size,
            app.filter
        )
    };
    let block = pane(app.theme, title, app.focus == Focus::Images);
    if app.grid_shown() && !shown.is_empty() {
        return draw_grid(frame, app, area, block, thumbnails);
    }
    if shown.is_empty() {
        let text = Paragraph::new("no file name here matches; ←→ other clusters, Esc clears")
            .style(app.theme.dim())
            .wrap(Wrap { trim: true });
        frame.render_widget(text.block(block), area);
        return;
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.image));
    frame.render_stateful_widget(list, area, &mut state);
}

/// The grid of [`App::grid_items`] in `block`: one framed tile per image, the cursor's frame
/// bright, a placeholder until its thumbnail is made. `thumbnails` is `None` under a popup
/// (terminal graphics would cover it). A cursor step changes only frames, so no image is
/// sent to the terminal again.
fn draw_grid(
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
            .iter()
            .flatten()
            .position(|g| {
                start += g.len();
                item < start
            })
            .unwrap_or(0)
    };
    for (r, &(start, len)) in rows.iter().skip(app.grid_top).take(page_rows).enumerate() {
        for column in 0..len {
            let item = start + column;
            let i = items[item];
            let tile = Rect::new(left + column as u16 * tw, inner.y + r as u16 * th, tw, th);
            let here = item == cursor;
            let marked = app.is_marked(i);
            let style = if here {
                app.theme.accent().bold()
            } else if marked {
                app.theme.notice()
            } else {
                app.theme.dim()
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
                    Span::styled("●", Style::new().fg(app.theme.cluster(number))),
                    if marked {
                        Span::styled("◆", app.theme.notice().bold())
                    } else {
                        Span::raw("")
                    },
                ]));
            if matches!(app.overlay, Overlay::Duplicates | Overlay::Resolve) {
                let g = section_of(item);
                tile_block = tile_block.title_bottom(
                    Line::from(vec![
                        Span::styled(format!("≈{} ", g + 1), app.theme.notice()),
                        fate(app, g, i),
                    ])
                    .right_aligned(),
                );
            } else if let Some(g) = app.duplicate_of.get(i).copied().flatten() {
                tile_block = tile_block.title_bottom(
                    Line::from(format!("≈{}", g + 1))
                        .right_aligned()
                        .style(app.theme.notice()),
                );
            }
            let inside = tile_block.inner(tile);
            frame.render_widget(tile_block, tile);
            let path = &app.collection.paths[i];
            match thumbnails.as_deref_mut().and_then(|t| t.made.get_mut(path)) {
                Some(thumbnail) => frame.render_stateful_widget(
                    StatefulImage::default().resize(Resize::Scale(None)),
                    inside,
                    thumbnail,
                ),
                None => frame.render_widget(
                    Paragraph::new("\n\n…").centered().style(app.theme.dim()),
                    inside,
                ),
            }
        }
    }
}

/// The mark column of a list row, while anything is marked: `◆ ` for a marked image.
fn mark(app: &App, i: usize) -> Vec<Span<'static>> {
    if app.selection.is_empty() {
        Vec::new()
    } else if app.is_marked(i) {
        vec![Span::styled("◆ ", app.theme.notice().bold())]
    } else {
        vec![Span::raw("  ")]
    }
}

fn draw_neighbours(frame: &mut Frame, app: &App, area: Rect) {
    let waiting = (!app.has_vectors())
        .then(|| ListItem::new(Span::styled("reading the image vectors…", app.theme.dim())));
    let items: Vec<ListItem> = app
        .neighbours
        .iter()
        .map(|n| {
            let number = app.cluster_number(n.index);
            let mut spans = mark(app, n.index);
            spans.extend([
                Span::styled("● ", Style::new().fg(app.theme.cluster(number))),
                Span::styled(format!("{:.3} ", n.distance), app.theme.dim()),
                Span::raw(app.name(n.index)),
            ]);
            ListItem::new(Line::from(spans))
        })
        .chain(waiting)
        .collect();
    let title = if app.focus == Focus::Similar {
        " similar (Esc returns) "
    } else {
        " nearest neighbours (s) "
    };
    let list = List::new(items)
        .block(pane(app.theme, title, app.focus == Focus::Similar))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let selected = (app.focus == Focus::Similar).then_some(app.similar_cursor);
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_preview(frame: &mut Frame, app: &App, preview: Option<&mut ThreadProtocol>, area: Rect) {
    let title = app
        .current()
        .map(|i| format!(" {} ", app.name(i)))
        .unwrap_or_default();
    let block = pane(app.theme, title, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match preview {
        Some(state) => frame.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            inner,
            state,
        ),
        None => frame.render_widget(Paragraph::new("…").style(app.theme.dim()), inner),
    }
}

/// The preview over the whole screen, the picture centred in it.
fn draw_full_preview(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    area: Rect,
) {
    let title = app
        .current()
        .map(|i| format!(" {} (Esc returns) ", app.name(i)))
        .unwrap_or_default();
    let block = pane(app.theme, title, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    draw_centred(frame, preview, inner, app.theme);
}

/// `picture` scaled to fit `area` and centred in it ("…" until it is ready).
fn draw_centred(frame: &mut Frame, picture: Option<&mut ThreadProtocol>, area: Rect, theme: Theme) {
    let Some(state) = picture else {
        frame.render_widget(Paragraph::new("…").style(theme.dim()), area);
        return;
    };
    let fitted = state
        .size_for(
            Resize::Scale(None),
            ratatui::layout::Size::new(area.width, area.height),
        )
        .map_or(area, |size| centred(area, size.width, size.height));
    frame.render_stateful_widget(
        StatefulImage::default().resize(Resize::Scale(None)),
        fitted,
        state,
    );
}

/// The map: its points in braille, or (`p`) the picture of its thumbnails once drawn.
fn draw_map(frame: &mut Frame, app: &App, area: Rect, picture: Option<&mut ThreadProtocol>) {
    let Some(clustering) = &app.clustering else {
        return;
    };
    if clustering.map.is_empty() {
        return;
    }
    let view = app.map_view;
    if app.map_picture
        && let Some(picture) = picture
    {
        let mut title = format!(" map ({}) as a picture ", clustering.request.map.name());
        if view.zoom > 1.0 {
            title += &format!("· zoom ×{:.1} ", view.zoom);
        }
        title += "· p points ";
        let block = pane(app.theme, title, app.focus == Focus::Map);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            inner,
            picture,
        );
        return;
    }
    let [x0, y0, x1, y1] = view.window().map(f64::from);
    let mut layers: Vec<(Color, Vec<(f64, f64)>)> = clustering
        .clusters
        .iter()
        .map(|cl| (app.theme.cluster(cl.number), Vec::new()))
        .collect();
    for (i, &[x, y]) in clustering.map.iter().enumerate() {
        layers[clustering.labels[i]].1.push((x as f64, y as f64));
    }
    let selected = app.cluster;
    let marked: Vec<(f64, f64)> = (0..clustering.map.len())
        .filter(|&i| app.is_marked(i))
        .map(|i| (clustering.map[i][0] as f64, clustering.map[i][1] as f64))
        .collect();
    let current = app.current().map(|i| clustering.map[i]);
    let walking = app.focus == Focus::Map;
    let mut title = format!(" map ({}) ", clustering.request.map.name());
    if view.zoom > 1.0 {
        title += &format!("· zoom ×{:.1} ", view.zoom);
    }
    if walking {
        title += "· arrows walk, + / - zoom, p picture, Esc leaves ";
    }
    let crosshair = walking.then_some(view.crosshair);
    let canvas = Canvas::default()
        .block(pane(app.theme, title, walking))
        .marker(Marker::Braille)
        .x_bounds([x0, x1])
        .y_bounds([y0, y1])
        .paint(move |ctx| {
            for (index, (c, pts)) in layers.iter().enumerate() {
                if index != selected {
                    ctx.draw(&Points {
                        coords: pts,
                        color: app.theme.faint(*c),
                    });
                }
            }
            ctx.layer();
            if let Some((c, pts)) = layers.get(selected) {
                ctx.draw(&Points {
                    coords: pts,
                    color: *c,
                });
            }
            if !marked.is_empty() {
                ctx.layer();
                ctx.draw(&Points {
                    coords: &marked,
                    color: app.theme.strong(),
                });
            }
            if let Some([x, y]) = current {
                ctx.layer();
                ctx.print(
                    x as f64,
                    y as f64,
                    Span::styled("◉", Style::new().fg(app.theme.strong()).bold()),
                );
            }
            if let Some([x, y]) = crosshair {
                ctx.print(
                    x as f64,
                    y as f64,
                    Span::styled("╋", app.theme.notice().bold()),
                );
            }
        });
    frame.render_widget(canvas, area);
}

fn draw_sweep(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(app.theme, " choosing k ", false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(sweep) = app.clustering.as_ref().and_then(|c| c.sweep.as_ref()) else {
        // Why there is none: k given, too few images, DBSCAN, one picture copied.
        let why = match &app.clustering {
            Some(c) if c.request.method == Method::Dbscan => "DBSCAN finds its own k".to_owned(),
            Some(c) => c.reason.clone(),
            None => String::new(),
        };
        frame.render_widget(
            Paragraph::new(format!("no sweep: {why}"))
                .wrap(Wrap { trim: true })
                .style(app.theme.dim()),
            inner,
        );
        return;
    };
    // The bar of the fitted k (edits change only the clusters shown).
    let k = app
        .clustering
        .as_ref()
        .map_or(0, |c| if c.fitted_k > 0 { c.fitted_k } else { c.k });
    let [l1, s1, l2, s2, why] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(inner);
    let first_k = sweep.rows.first().map_or(2, |r| r.k);
    // Bars scaled to 1..=100; the bar of the k in use stands out.
    let bars = |v: Vec<f64>| -> Vec<SparklineBar> {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        v.iter()
            .zip(&sweep.rows)
            .map(|(&x, row)| {
                let bar = SparklineBar::from(1 + ((x - lo) / (hi - lo).max(1e-12) * 99.0) as u64);
                if row.k == k {
                    bar.style(app.theme.accent())
                } else {
                    bar
                }
            })
            .collect()
    };
    let inertia = bars(sweep.rows.iter().map(|r| r.inertia).collect());
    let silhouette = bars(sweep.rows.iter().map(|r| r.silhouette as f64).collect());
    frame.render_widget(
        Paragraph::new(format!("inertia (elbow k={})", sweep.elbow)),
        l1,
    );
    frame.render_widget(
        Sparkline::default().data(inertia).style(app.theme.notice()),
        s1,
    );
    frame.render_widget(
        Paragraph::new(format!("silhouette (peak k={})", sweep.silhouette_peak)),
        l2,
    );
    frame.render_widget(
        Sparkline::default()
            .data(silhouette)
            .style(app.theme.accent()),
        s2,
    );
    frame.render_widget(
        Paragraph::new(format!(
            "k = {k} (the bright bar); bars from k = {first_k}, +/- to change"
        ))
        .style(app.theme.dim())
        .wrap(Wrap { trim: true }),
        why,
    );
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let state = match &app.loading {
        Loading::Scanning => "scanning…".to_owned(),
        Loading::Embedding { done, total } => format!("embedding {done}/{total}"),
        Loading::Clustering => "clustering…".to_owned(),
        Loading::Ready => {
            let mut s = images(app.collection.len());
            if let Some(c) = &app.clustering {
                s += &format!(
                    " · {} ({}) k={}",
                    c.request.method.name(),
                    c.method_from.word(),
                    c.k
                );
            }
            if let Some((done, total)) = app.indexing {
                s += &format!(" · indexing {done}/{total}");
            }
            if let Some((done, total)) = app.thumbnailing {
                s += &format!(" · thumbnails {done}/{total}");
            }
            if let Some(activity) = app.activity() {
                s += &format!(" · {activity}");
            }
            // Watching by events is the normal case; a fallback is worth a word.
            if let Some(mode @ WatchMode::Polling { .. }) = &app.watching {
                s += &format!(" · {mode}");
            }
            s
        }
        Loading::Failed(e) => format!("error: {e}"),
    };
    let keys = if app.grid_shown() {
        "arrows move [ ] clusters g list s similar e export +/- k / filter ? help q quit"
    } else {
        "←→ clusters ↑↓ images g grid s similar e export +/- k / filter ? help q quit"
    };
    let text = if app.message.is_empty() {
        format!(" {state} · {} · {keys}", app.model)
    } else {
        format!(" {state} · {}", app.message)
    };
    let text = crate::text::escape(&text).into_owned();
    frame.render_widget(Paragraph::new(text).style(app.theme.bar()), area);
}

/// A live folder with no image (yet): what the explorer waits for.
fn draw_empty(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(
        app.theme,
        format!(" {} ", crate::text::shown(&app.root)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = vec![
        Line::from("no images here yet"),
        Line::from("images added to the folder appear here as they come · q quits")
            .style(app.theme.dim()),
    ];
    frame.render_widget(Paragraph::new(lines).centered(), middle_band(inner));
}

/// The band of three rows 40 % down `inner`, where the waiting screens say what they wait for.
fn middle_band(inner: Rect) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(inner);
    middle
}

fn draw_loading(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(
        app.theme,
        format!(" {} ", crate::text::shown(&app.root)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Loading::Failed(e) = &app.loading {
        // The whole message, as the command line gives it when the explorer ends.
        let lines = vec![
            Line::from(format!("error: {}", crate::text::escape(e))),
            Line::from(""),
            Line::from("q quits (the message is printed again there)").style(app.theme.dim()),
        ];
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .style(app.theme.notice()),
            inner.inner(ratatui::layout::Margin::new(2, 1)),
        );
        return;
    }
    let gauge_area = middle_band(inner);
    let (ratio, label) = match &app.loading {
        Loading::Embedding { done, total } if *total > 0 => (
            *done as f64 / *total as f64,
            format!("embedding {done} of {total} images"),
        ),
        Loading::Clustering => (1.0, "clustering…".to_owned()),
        Loading::Failed(e) => (0.0, e.clone()),
        _ => (0.0, "looking for images…".to_owned()),
    };
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label),
        gauge_area,
    );
}

fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The keys, and below them how images are drawn (`graphics`, empty: not said).
fn draw_help(frame: &mut Frame, theme: Theme, area: Rect, graphics: &str) {
    let keys = [
        (
            "↑ ↓ / j k",
            "images (or clusters, similar: by focus); a grid row",
        ),
        (
            "← → / h l",
            "previous / next cluster (in the grid: along; [ ] there)",
        ),
        ("g", "grid of thumbnails / list of names"),
        ("Tab", "cycle focus: clusters, images, similar, map"),
        ("map", "arrows walk, + / - zoom, p picture of thumbnails"),
        ("mouse", "click selects, the wheel scrolls (zooms the map)"),
        ("Enter", "full-screen preview"),
        ("s", "similar images to the current one; Esc returns"),
        (
            "e",
            "export the marked images, or the cluster; Esc stops it",
        ),
        (
            "Space / c",
            "mark / unmark, then the next image (across clusters); c: all",
        ),
        ("r", "rename the cluster"),
        ("M / S", "merge the cluster into another / split it"),
        ("v", "move the marked images (or this one) to a cluster"),
        ("u / U", "undo / redo an edit (kept in the store)"),
        ("y", "copy the marked paths (or this one) to the clipboard"),
        (
            "+ / -",
            "one cluster more / fewer (reclusters in the background)",
        ),
        ("m", "montage of the cluster, saved to imgtui-montage/"),
        ("d", "near-duplicate groups; Enter goes to the image"),
        ("o", "the odd ones out (least like any other)"),
        ("/", "filter by file name; Esc clears"),
        ("Home End", "first / last"),
        ("PgUp PgDn", "ten at a time"),
        ("? / q", "this help / quit (also Ctrl-C)"),
    ];
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), Style::new().bold()),
                Span::raw(*v),
            ])
        })
        .collect();
    if !graphics.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12}  ", "images"), Style::new().bold()),
            Span::raw(graphics.to_owned()),
        ]));
    }
    // The images line may wrap once (after the 14 columns of the key, 62 are left).
    let wrapped = u16::from(graphics.chars().count() > 62);
    let rect = centred(area, 78, lines.len() as u16 + 2 + wrapped);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(theme, " keys ", true)),
        rect,
    );
}

/// A one-line text prompt in a box: what is typed, with a cursor, and a hint below.
fn draw_prompt(frame: &mut Frame, theme: Theme, area: Rect, title: &str, text: &str, hint: &str) {
    let rect = centred(area, 70, 4);
    frame.render_widget(Clear, rect);
    let p = Paragraph::new(vec![
        Line::from(format!("{}▏", crate::text::escape(text))),
        Line::from(crate::text::escape(hint).into_owned()).style(theme.dim()),
    ])
    .block(pane(theme, format!(" {title} "), true));
    frame.render_widget(p, rect);
}

fn draw_montage(
    frame: &mut Frame,
    theme: Theme,
    path: &Path,
    montage: Option<&mut ThreadProtocol>,
    area: Rect,
) {
    let block = pane(
        theme,
        format!(" {} (Esc returns) ", crate::text::shown(path)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    draw_centred(frame, montage, inner, theme);
}

/// The odd ones out, most odd first, with their score (list or grid), and the preview.
fn draw_outliers(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
) {
    let found = app.outliers.as_deref().unwrap_or_default();
    let title = format!(
        " odd ones out: {} of {}, most odd first (Esc returns) ",
        found.len(),
        images(app.collection.len())
    );
    let items: Vec<ListItem> = found
        .iter()
        .map(|&(i, score)| {
            let mut spans = mark(app, i);
            spans.extend([
                Span::styled(
                    "● ",
                    Style::new().fg(app.theme.cluster(app.cluster_number(i))),
                ),
                Span::styled(format!("{score:.3} "), app.theme.dim()),
                Span::raw(app.name(i)),
            ]);
            // The score is the mean distance to its nearest images: 0 when they are copies.
            if score < 5e-4 {
                spans.push(Span::styled(
                    "  (0: its nearest images are copies of it)",
                    app.theme.dim(),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let browse = Browse {
        title,
        items,
        selected: app.outlier_cursor,
    };
    draw_browse(frame, app, preview, thumbnails, area, browse);
}

/// What becomes of row `i` of near-duplicate group `g` when they are resolved: `keep`, `✗`
/// (goes) or `·` (spared by the user); blank while the keepers are being chosen.
fn fate(app: &App, g: usize, i: usize) -> Span<'static> {
    match app.keeper_of(g) {
        None => Span::raw("     "),
        Some(k) if k == i => Span::styled("keep ", app.theme.accent().bold()),
        Some(_) if app.goes(g, i) => Span::styled("  ✗  ", app.theme.notice()),
        Some(_) => Span::styled("  ·  ", app.theme.dim()),
    }
}

/// The confirmation before near-duplicates go: how many files and bytes, and where.
fn draw_resolve(frame: &mut Frame, app: &App, area: Rect) {
    let (groups, bytes) = app.to_resolve();
    let files: usize = groups.iter().map(|(_, copies)| copies.len()).sum();
    let lines = vec![
        Line::from(format!(
            "{} ({}) go; each of {} keeps its keeper",
            images(files),
            crate::text::bytes(bytes),
            match groups.len() {
                1 => "1 group".to_owned(),
                n => format!("{n} groups"),
            }
        )),
        Line::from(format!(
            "t: to the trash · m: move to {}/ · Esc: back",
            super::app::DUPLICATES_FOLDER
        ))
        .style(app.theme.dim()),
    ];
    let rect = centred(area, 70, 4);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(pane(app.theme, " resolve the near-duplicates ", true)),
        rect,
    );
}

fn draw_duplicates(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
) {
    let groups = app.duplicates.as_deref().unwrap_or_default();
    let mut items = Vec::new();
    let mut selected = 0;
    let mut row = 0;
    for (g, group) in groups.iter().enumerate() {
        items.push(ListItem::new(
            Line::from(format!("group {} · {}", g + 1, images(group.len()))).bold(),
        ));
        for &i in group {
            if row == app.duplicate_cursor {
                selected = items.len();
            }
            row += 1;
            let number = app.cluster_number(i);
            items.push(ListItem::new(Line::from(vec![
                Span::styled("  ● ", Style::new().fg(app.theme.cluster(number))),
                fate(app, g, i),
                Span::raw(app.name(i)),
            ])));
        }
    }
    let title = match groups.len() {
        1 => format!(
            " near-duplicates at ≥ {:.2}: 1 group (Esc returns) ",
            app.threshold
        ),
        n => format!(
            " near-duplicates at ≥ {:.2}: {n} groups (Esc returns) ",
            app.threshold
        ),
    };
    // In the grid each group starts a row: near-copies side by side.
    let browse = Browse {
        title,
        items,
        selected,
    };
    draw_browse(frame, app, preview, thumbnails, area, browse);
}

/// A list over the panes (near-duplicates, odd ones out): its title, its rows, and the row of
/// the cursor.
struct Browse<'a> {
    title: String,
    items: Vec<ListItem<'a>>,
    selected: usize,
}

/// Draws `browse` as the grid of its images (see [`App::grid_items`]) or as its list, with
/// the preview beside it when there is room.
fn draw_browse(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
    browse: Browse,
) {
    let [list_area, preview_area] = duplicates_areas(app, area);
    let block = pane(app.theme, browse.title, true);
    if app.grid_shown() {
        draw_grid(frame, app, list_area, block, Some(thumbnails));
    } else {
        let list = List::new(browse.items)
            .block(block)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        let mut state = ListState::default().with_selected(Some(browse.selected));
        frame.render_stateful_widget(list, list_area, &mut state);
    }
    if !preview_area.is_empty() {
        draw_preview(frame, app, preview, preview_area);
    }
}
