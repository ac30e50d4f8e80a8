//! The map (UMAP or PCA in 2-D): walked with a crosshair (Tab to it), zoomed, and drawn as
//! braille points or (`p`) as a picture of thumbnails made on a worker, one image a slot.
//! It is framed by the bulk of its images ([`crate::tui::framing`]): the few far off are
//! drawn at the edge and marked (arrows in braille, an orange wedge in the picture).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::canvas::{Canvas, Points};
use ratatui_image::thread::ThreadProtocol;
use ratatui_image::{Resize, StatefulImage};

use crate::tui::app::{App, Command, Focus, Loading, Notice, Overlay};
use crate::tui::event::{MapImage, MapPicture};
use crate::tui::framing::Framed;
use crate::tui::keys::Action;
use crate::tui::widgets::pane;

/// Most images sent to the map painter for one picture, besides the current one:
/// beyond, the current cluster is sent whole if it leaves the others half of them, and the
/// rest evenly thinned. (The picture shows at most one image a slot, a few
/// thousand at the smallest thumbnails; only those are loaded.)
pub const MAP_PICTURE_MAX: usize = 20_000;

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

    pub(crate) fn span(&self) -> (f32, f32) {
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
    pub(crate) fn clamp(&mut self) {
        let (w, h) = self.span();
        let b = self.bounds;
        self.centre[0] = self.centre[0].clamp(b[0] + w / 2.0, (b[2] - w / 2.0).max(b[0] + w / 2.0));
        self.centre[1] = self.centre[1].clamp(b[1] + h / 2.0, (b[3] - h / 2.0).max(b[1] + h / 2.0));
    }
}

/// Everything a map picture depends on.
type PictureKey = (MapView, (u16, u16), usize, Option<usize>, bool, u64, String);

/// The map pane's state.
pub(crate) struct Map {
    /// The part of the map in view and the crosshair.
    pub(crate) view: MapView,
    /// The pane's inside in cells (0, 0 until the event loop says).
    pub(crate) cells: (u16, u16),
    /// Shown as a picture of thumbnails (`p` on the map), not as points.
    pub(crate) picture: bool,
    /// What the picture last asked for showed: it is drawn again when this changes.
    pub(crate) asked: Option<PictureKey>,
    /// Counts the clusterings shown (a new one draws the picture again).
    pub(crate) generation: u64,
    /// The clustering's map in its frame: where each image is drawn, and which are far off.
    pub(crate) framed: Framed,
    /// The last picture drawn showed this many images of this many in view.
    pub(crate) drawn: Option<(usize, usize)>,
}

impl Default for Map {
    fn default() -> Map {
        Map {
            view: MapView::new(&[]),
            cells: (0, 0),
            picture: false,
            asked: None,
            generation: 0,
            framed: Framed::default(),
            drawn: None,
        }
    }
}

impl App {
    /// The map pane's inside is this many cells ([`crate::tui::app::Event::MapSize`]).
    pub(crate) fn on_map_size(&mut self, columns: u16, rows: u16) -> Vec<Command> {
        self.map.cells = (columns, rows);
        Vec::new()
    }

    /// The map picture was drawn, showing `shown` of the `of` images in view.
    pub(crate) fn on_map_drawn(&mut self, shown: usize, of: usize) -> Vec<Command> {
        self.map.drawn = Some((shown, of));
        Vec::new()
    }

    /// Focus on the map: the crosshair starts on the current image.
    pub(crate) fn enter_map(&mut self) -> Vec<Command> {
        let at = self.base().and_then(|i| self.map.framed.at.get(i).copied());
        if let Some(at) = at {
            self.map.view.put(at);
        }
        self.notify(Notice::MapKeys);
        Vec::new()
    }

    /// The actions of the focused map ([`Mode::Map`](crate::tui::keys::Mode::Map)).
    pub(crate) fn map_key(&mut self, action: Action) -> Vec<Command> {
        // A step is a 40th of the view's width and a 16th of its height: about a cell.
        let (dx, dy) = match action {
            Action::Left => (-1.0 / 40.0, 0.0),
            Action::Right => (1.0 / 40.0, 0.0),
            Action::Up => (0.0, 1.0 / 16.0),
            Action::Down => (0.0, -1.0 / 16.0),
            Action::ZoomIn => {
                self.map.view.zoom_by(1.5);
                return Vec::new();
            }
            Action::ZoomOut => {
                self.map.view.zoom_by(1.0 / 1.5);
                return Vec::new();
            }
            Action::MapPicture => {
                self.map.picture = !self.map.picture;
                return Vec::new();
            }
            Action::Back => {
                self.focus = Focus::Images;
                self.say("");
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.map.view.walk(dx, dy);
        self.walk_to_crosshair()
    }

    /// The image nearest the crosshair becomes the current one.
    pub(crate) fn walk_to_crosshair(&mut self) -> Vec<Command> {
        match self.nearest_on_map(self.map.view.crosshair) {
            Some(row) if Some(row) != self.base() => {
                self.go_to(row);
                self.focus = Focus::Map;
                self.preview_command()
            }
            _ => Vec::new(),
        }
    }

    /// The image nearest to `at` on the map as drawn (among those shown, if a filter is on;
    /// a far-off image where it is drawn, at the edge).
    pub(crate) fn nearest_on_map(&self, at: [f32; 2]) -> Option<usize> {
        self.clustering.as_ref()?;
        let map = &self.map.framed.at;
        // Distances in units of the view, so that x and y weigh alike.
        let (w, h) = self.map.view.span();
        self.browse
            .shown
            .iter()
            .flatten()
            .copied()
            .min_by(|&a, &b| {
                let d = |i: usize| {
                    let [x, y] = map[i];
                    ((x - at[0]) / w).powi(2) + ((y - at[1]) / h).powi(2)
                };
                d(a).total_cmp(&d(b))
            })
    }

    /// Asks for the map picture when it is on and what it shows changed.
    pub(crate) fn picture(&mut self) -> Vec<Command> {
        let shown = self.map.picture
            && self.loading == Loading::Ready
            && self.overlay == Overlay::None
            && self.map.cells.0 > 0
            && self.map.cells.1 > 0;
        let Some(clustering) = self.clustering.as_ref().filter(|_| shown) else {
            self.map.asked = None;
            self.map.drawn = None;
            return Vec::new();
        };
        let framed = &self.map.framed;
        let key = (
            self.map.view,
            self.map.cells,
            self.browse.cluster,
            self.current(),
            self.focus == Focus::Map,
            self.map.generation,
            self.browse.filter.clone(),
        );
        if self.map.asked.as_ref() == Some(&key) {
            return Vec::new();
        }
        self.map.asked = Some(key);
        let [x0, y0, x1, y1] = self.map.view.window();
        // Up to rounding: the images on the map's edge are in the whole map's view.
        let (ex, ey) = (1e-5 * (x1 - x0), 1e-5 * (y1 - y0));
        let inside =
            |[x, y]: [f32; 2]| x >= x0 - ex && x <= x1 + ex && y >= y0 - ey && y <= y1 + ey;
        let place = |[x, y]: [f32; 2]| {
            [
                ((x - x0) / (x1 - x0)).clamp(0.0, 1.0),
                ((y - y0) / (y1 - y0)).clamp(0.0, 1.0),
            ]
        };
        let current = self.current();
        let (mut bright, mut dim): (Vec<usize>, Vec<usize>) = self
            .browse
            .shown
            .iter()
            .flatten()
            .copied()
            .filter(|&i| inside(framed.at[i]) && Some(i) != current)
            .partition(|&i| clustering.labels[i] == self.browse.cluster);
        let in_view =
            bright.len() + dim.len() + current.is_some_and(|i| inside(framed.at[i])) as usize;
        // The current cluster whole if it leaves the others half the room.
        thin(
            &mut bright,
            MAP_PICTURE_MAX
                .saturating_sub(dim.len())
                .max(MAP_PICTURE_MAX / 2),
        );
        thin(&mut dim, MAP_PICTURE_MAX - bright.len());
        let image = |i: usize, current: bool| MapImage {
            path: self.collection.paths[i].clone(),
            hash: self.collection.hashes[i],
            at: place(framed.at[i]),
            cluster: clustering.clusters[clustering.labels[i]].number,
            bright: clustering.labels[i] == self.browse.cluster,
            current,
            outside: framed.outside[i],
        };
        let mut images: Vec<MapImage> = dim.into_iter().map(|i| image(i, false)).collect();
        images.extend(bright.into_iter().map(|i| image(i, false)));
        images.extend(
            current
                .filter(|&i| inside(framed.at[i]))
                .map(|i| image(i, true)),
        );
        let picture = MapPicture {
            images,
            cells: self.map.cells,
            in_view,
            crosshair: (self.focus == Focus::Map).then(|| place(self.map.view.crosshair)),
        };
        vec![Command::DrawMap(picture)]
    }
}

/// Keeps at most `room` of `images`, evenly spread over them.
fn thin(images: &mut Vec<usize>, room: usize) {
    if images.len() > room {
        let step = images.len() as f64 / room.max(1) as f64;
        *images = (0..room)
            .map(|k| images[(k as f64 * step) as usize])
            .collect();
    }
}

/// The map: its points in braille, or (`p`) the picture of its thumbnails once drawn. Images
/// beyond the map's frame are drawn at its edge: in braille as an arrow pointing their way.
pub(crate) fn draw_map(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    picture: Option<&mut ThreadProtocol>,
) {
    let Some(clustering) = &app.clustering else {
        return;
    };
    let framed = &app.map.framed;
    if clustering.map.is_empty() || framed.at.len() != clustering.map.len() {
        return;
    }
    let view = app.map.view;
    let far = match framed.beyond {
        0 => String::new(),
        n if app.map.picture => format!("· {n} far off: orange at the edge "),
        n => format!("· {n} far off: arrows at the edge "),
    };
    if app.map.picture
        && let Some(picture) = picture
    {
        let mut title = format!(" map ({}) as a picture ", clustering.request.map.name());
        if view.zoom > 1.0 {
            title += &format!("· zoom ×{:.1} ", view.zoom);
        }
        match app.map.drawn {
            Some((shown, of)) if shown < of => {
                title += &format!("· {shown} of {of} shown, one a slot (+ for more) ")
            }
            Some((_, of)) => title += &format!("· {of} in view "),
            None => {}
        }
        title += "· p points ";
        title += &far;
        let block = pane(app.look.theme, title, app.focus == Focus::Map);
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
        .map(|cl| (app.look.theme.cluster(cl.number), Vec::new()))
        .collect();
    let selected = app.browse.cluster;
    let mut arrows: Vec<(f64, f64, &str, Color)> = Vec::new();
    for (i, &[x, y]) in framed.at.iter().enumerate() {
        let label = clustering.labels[i];
        match arrow(framed.outside[i]) {
            None => layers[label].1.push((x as f64, y as f64)),
            Some(glyph) => {
                let c = app.look.theme.cluster(clustering.clusters[label].number);
                let c = if label == selected {
                    c
                } else {
                    app.look.theme.faint(c)
                };
                arrows.push((x as f64, y as f64, glyph, c));
            }
        }
    }
    let marked: Vec<(f64, f64)> = (0..framed.at.len())
        .filter(|&i| app.is_marked(i))
        .map(|i| (framed.at[i][0] as f64, framed.at[i][1] as f64))
        .collect();
    let current = app.current().and_then(|i| framed.at.get(i).copied());
    let walking = app.focus == Focus::Map;
    let mut title = format!(" map ({}) ", clustering.request.map.name());
    if view.zoom > 1.0 {
        title += &format!("· zoom ×{:.1} ", view.zoom);
    }
    if walking {
        title += "· arrows walk, + / - zoom, p picture, Esc leaves ";
    }
    title += &far;
    let crosshair = walking.then_some(view.crosshair);
    let canvas = Canvas::default()
        .block(pane(app.look.theme, title, walking))
        .marker(Marker::Braille)
        .x_bounds([x0, x1])
        .y_bounds([y0, y1])
        .paint(move |ctx| {
            for (index, (c, pts)) in layers.iter().enumerate() {
                if index != selected {
                    ctx.draw(&Points {
                        coords: pts,
                        color: app.look.theme.faint(*c),
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
                    color: app.look.theme.strong(),
                });
            }
            for &(x, y, glyph, c) in &arrows {
                ctx.print(x, y, Span::styled(glyph, Style::new().fg(c)));
            }
            if let Some([x, y]) = current {
                ctx.layer();
                ctx.print(
                    x as f64,
                    y as f64,
                    Span::styled("◉", Style::new().fg(app.look.theme.strong()).bold()),
                );
            }
            if let Some([x, y]) = crosshair {
                ctx.print(
                    x as f64,
                    y as f64,
                    Span::styled("╋", app.look.theme.notice().bold()),
                );
            }
        });
    frame.render_widget(canvas, area);
}

/// The arrow drawn, in braille, for an image beyond the map's frame on `side` (x, y; y up):
/// it points the way the image lies; `None` for one inside.
fn arrow(side: [i8; 2]) -> Option<&'static str> {
    Some(match side {
        [0, 0] => return None,
        [1, 0] => "→",
        [-1, 0] => "←",
        [0, 1] => "↑",
        [0, -1] => "↓",
        [1, 1] => "↗",
        [-1, 1] => "↖",
        [1, -1] => "↘",
        _ => "↙",
    })
}
