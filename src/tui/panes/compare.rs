//! Compare (`C`): two to four images — the marked ones, or a near-duplicate group (`C` in
//! `d`) — side by side at the largest size the screen allows, each with its file's facts
//! (pixels, format, bytes, modification time) and its cosine distance to the first, and
//! every pairwise distance for three or four. `f` flickers the first and the chosen image
//! (←→) in turn at one place, the way a blink comparator shows a difference; Space flips
//! them by hand. The pictures are decoded as the preview's are, on a worker, and the facts
//! read there too ([`Command::LoadCompare`]).

use std::collections::HashMap;
use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};
use ratatui_image::thread::ThreadProtocol;
use ratatui_image::{Resize, ResizeEncodeRender};

use super::preview::{draw_centred, fitted};
use crate::session::{ImageFacts, Session};
use crate::tui::app::{App, Command, Overlay, images};
use crate::tui::keys::Action;
use crate::tui::widgets::centred;

/// Most images compared at once.
pub const COMPARE_MAX: usize = 4;

/// Rows of each picture's caption: pixels, format and bytes; the time; the distance.
const CAPTION_ROWS: u16 = 3;

/// Idle ticks (about 50 ms each) each image of a flicker stays.
const FLICKER_TICKS: u32 = 10;

/// The images compared and how they are shown.
#[derive(Debug)]
pub(crate) struct Compare {
    /// The images, 2 to [`COMPARE_MAX`], by path (rows move when the folder changes); the
    /// first is the one the distances are to.
    pub(crate) paths: Vec<PathBuf>,
    /// The image compared with the first: an index in `paths`, at least 1.
    pub(crate) other: usize,
    /// The flicker, when on: the first and `other` in turn at one place.
    pub(crate) flicker: Option<Flicker>,
    /// The layer it was opened from, and goes back to.
    pub(crate) from: Overlay,
    /// Each image's facts as the worker read them, or why it could not.
    pub(crate) facts: HashMap<PathBuf, Result<ImageFacts, String>>,
    /// The images that could not be decoded, and why.
    pub(crate) failed: HashMap<PathBuf, String>,
}

impl Default for Compare {
    fn default() -> Compare {
        Compare {
            paths: Vec::new(),
            other: 1,
            flicker: None,
            from: Overlay::None,
            facts: HashMap::new(),
            failed: HashMap::new(),
        }
    }
}

/// The flicker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flicker {
    /// The chosen image is shown now (else the first).
    pub(crate) other_shown: bool,
    /// Idle ticks since the last change.
    pub(crate) ticks: u32,
    /// Flipped by hand (Space): the timer holds.
    pub(crate) held: bool,
}

impl App {
    /// Whether the screen changes on idle ticks alone (the compare view flickering), so the
    /// event loop draws every tick.
    pub fn animating(&self) -> bool {
        self.compare.flicker.as_ref().is_some_and(|f| !f.held)
    }

    /// `C` on the panes: the marked images side by side, when there are 2 to 4.
    pub(crate) fn compare_marked(&mut self) -> Vec<Command> {
        let marked: Vec<PathBuf> = self
            .collection
            .paths
            .iter()
            .filter(|p| self.browse.selection.contains(*p))
            .cloned()
            .collect();
        match marked.len() {
            0 => self.say("compare: mark 2 to 4 images with Space, then C shows them side by side"),
            1 => self.say("compare: 1 image marked; mark 1 to 3 more with Space, then C"),
            n if n > COMPARE_MAX => self.say(format!(
                "compare: {n} images marked, at most {COMPARE_MAX} fit side by side; \
                 unmark {} with Space (c unmarks all)",
                n - COMPARE_MAX
            )),
            _ => return self.open_compare(marked, 1, None),
        }
        Vec::new()
    }

    /// `C` in the near-duplicates: the group under the cursor side by side, its keeper first
    /// (distances are to it) and the image under the cursor chosen; of a group larger than
    /// [`COMPARE_MAX`], those two and the first others.
    pub(crate) fn compare_group(&mut self) -> Vec<Command> {
        let Some((g, k)) = self.duplicate_at_cursor() else {
            return Vec::new();
        };
        let group = match &self.duplicates.groups {
            Some(groups) => groups[g].clone(),
            None => return Vec::new(),
        };
        let (here, keeper) = (group[k], self.keeper_of(g));
        let mut rows: Vec<usize> = keeper.into_iter().collect();
        rows.extend(group.iter().copied().filter(|&i| Some(i) != keeper));
        if let Some(at) = rows.iter().position(|&i| i == here)
            && at >= COMPARE_MAX
        {
            rows.swap(COMPARE_MAX - 1, at);
        }
        rows.truncate(COMPARE_MAX);
        let other = rows.iter().position(|&i| i == here).filter(|&at| at > 0);
        let mut note = Vec::new();
        if group.len() > COMPARE_MAX {
            note.push(format!(
                "{COMPARE_MAX} of group {}'s {}",
                g + 1,
                images(group.len())
            ));
        }
        if keeper.is_some() {
            note.push("the keeper first".to_owned());
        }
        let paths = rows
            .iter()
            .map(|&i| self.collection.paths[i].clone())
            .collect();
        let note = (!note.is_empty()).then(|| note.join(", "));
        self.open_compare(paths, other.unwrap_or(1), note)
    }

    /// Opens the compare view on `paths` (2 to 4), `other` chosen; `note` is said first.
    fn open_compare(
        &mut self,
        paths: Vec<PathBuf>,
        other: usize,
        note: Option<String>,
    ) -> Vec<Command> {
        self.compare = Compare {
            paths: paths.clone(),
            other,
            from: self.overlay.clone(),
            ..Compare::default()
        };
        self.overlay = Overlay::Compare;
        let keys = "←→ chooses the image compared with 1 · f flickers · Space flips · Esc returns";
        self.say(match note {
            Some(note) => format!("compare: {note} · {keys}"),
            None => format!("compare: {keys}"),
        });
        vec![Command::LoadCompare(paths)]
    }

    /// The actions of the compare view ([`crate::tui::keys::Mode::Compare`]).
    pub(crate) fn compare_key(&mut self, action: Action) -> Vec<Command> {
        let n = self.compare.paths.len();
        if n < 2 {
            self.overlay = Overlay::None;
            return Vec::new();
        }
        match action {
            // The chosen one walks round 2…n.
            Action::Left => self.compare.other = (self.compare.other + n - 3) % (n - 1) + 1,
            Action::Right => self.compare.other = self.compare.other % (n - 1) + 1,
            Action::Flicker => {
                self.compare.flicker = match self.compare.flicker {
                    Some(_) => None,
                    None => Some(Flicker::default()),
                }
            }
            Action::Flip => {
                let f = self.compare.flicker.get_or_insert_default();
                f.other_shown = !f.other_shown;
                f.held = true;
                f.ticks = 0;
            }
            Action::Close => return self.close_compare(),
            _ => {}
        }
        Vec::new()
    }

    /// Back to where the compare view was opened.
    fn close_compare(&mut self) -> Vec<Command> {
        let from = std::mem::replace(&mut self.compare.from, Overlay::None);
        self.compare.flicker = None;
        self.overlay = match from {
            // The groups may be gone meanwhile (a regrouping, the folder changed).
            Overlay::Duplicates if self.duplicate_rows().next().is_none() => Overlay::None,
            other => other,
        };
        self.say("");
        self.preview_command()
    }

    /// An idle tick: the flicker moves on.
    pub(crate) fn compare_tick(&mut self) {
        if self.overlay != Overlay::Compare {
            return;
        }
        if let Some(f) = &mut self.compare.flicker
            && !f.held
        {
            f.ticks += 1;
            if f.ticks >= FLICKER_TICKS {
                f.ticks = 0;
                f.other_shown = !f.other_shown;
            }
        }
    }

    /// The facts of the images compared are in ([`crate::tui::app::Event::ImageFacts`]).
    pub(crate) fn on_image_facts(
        &mut self,
        facts: Vec<(PathBuf, Result<ImageFacts, String>)>,
    ) -> Vec<Command> {
        for (path, f) in facts {
            if self.compare.paths.contains(&path) {
                self.compare.facts.insert(path, f);
            }
        }
        Vec::new()
    }

    /// An image compared could not be decoded ([`crate::tui::app::Event::PictureFailed`]).
    pub(crate) fn on_picture_failed(&mut self, path: PathBuf, why: String) -> Vec<Command> {
        if self.compare.paths.contains(&path) {
            self.compare.failed.insert(path, why);
        }
        Vec::new()
    }

    /// The collection row of compared image `k`, while it is in the collection.
    fn compare_row(&self, k: usize) -> Option<usize> {
        let path = self.compare.paths.get(k)?;
        self.collection.paths.binary_search(path).ok()
    }

    /// The cosine distance between compared images `a` and `b`, once the vectors are in.
    pub fn compare_distance(&self, a: usize, b: usize) -> Option<f32> {
        let (a, b) = (self.compare_row(a)?, self.compare_row(b)?);
        self.has_vectors()
            .then(|| Session::cosine_distance(&self.collection, a, b))
    }

    /// Compared image `k`'s name, as the panes show names.
    fn compare_name(&self, k: usize) -> String {
        match self.compare_row(k) {
            Some(i) => self.name(i),
            None => {
                let p = &self.compare.paths[k];
                crate::text::shown(p.strip_prefix(&self.root).unwrap_or(p)).to_string()
            }
        }
    }

    /// The compare view's area: the screen above the status line.
    fn compare_area(&self) -> Rect {
        let s = self.look.screen;
        Rect::new(s.x, s.y, s.width, s.height.saturating_sub(1))
    }

    /// How the compare view is laid out now: flickering or not, and its (columns, rows);
    /// `None` when it is not shown. The event loop clears the screen when this changes
    /// (terminal graphics stay where they were drawn).
    pub(crate) fn compare_shape(&self) -> Option<(bool, (u16, u16))> {
        if self.overlay != Overlay::Compare {
            return None;
        }
        let (grid, _) = split_table(self.compare_area(), self.compare.paths.len());
        Some((
            self.compare.flicker.is_some(),
            arrangement((grid.width, grid.height), &self.compare_aspects()),
        ))
    }

    /// Each compared image's width / height, once its facts say (square until then).
    fn compare_aspects(&self) -> Vec<f32> {
        self.compare
            .paths
            .iter()
            .map(|p| match self.compare.facts.get(p) {
                Some(Ok(ImageFacts {
                    pixels: Some((w, h)),
                    ..
                })) if *w > 0 && *h > 0 => *w as f32 / *h as f32,
                _ => 1.0,
            })
            .collect()
    }
}

/// The inside of a panel of `columns` × `rows` in an `area` (columns, rows of cells) that is
/// left for its picture: (columns, rows).
fn picture_box(area: (u16, u16), columns: u16, rows: u16) -> (u16, u16) {
    (
        (area.0 / columns).saturating_sub(2),
        (area.1 / rows).saturating_sub(2 + CAPTION_ROWS),
    )
}

/// How much of a `cells` box a picture of `aspect` (width / height) covers, scaled to fit,
/// in square units (a cell is twice as tall as wide).
fn covered(cells: (u16, u16), aspect: f32) -> f32 {
    let (w, h) = (f32::from(cells.0), 2.0 * f32::from(cells.1));
    if w <= 0.0 || h <= 0.0 || aspect <= 0.0 {
        return 0.0;
    }
    if w / h > aspect {
        h * h * aspect
    } else {
        w * w / aspect
    }
}

/// How pictures of `aspects` (each's width / height) sit in `area` (columns, rows of cells):
/// the (columns, rows) of equal panels whose pictures, each scaled to fit its panel, cover
/// the most of the screen together. Side by side, in one row, unless stacking shows them
/// larger (four wide images: 2 × 2; two panoramas: one above the other); a tie goes to more
/// columns.
pub(crate) fn arrangement(area: (u16, u16), aspects: &[f32]) -> (u16, u16) {
    let n = u16::try_from(aspects.len().max(1)).unwrap_or(1);
    let mut best = ((n, 1), -1.0);
    for columns in (1..=n).rev() {
        let rows = n.div_ceil(columns);
        let cells = picture_box(area, columns, rows);
        let score: f32 = aspects.iter().map(|&a| covered(cells, a)).sum();
        if score > best.1 {
            best = ((columns, rows), score);
        }
    }
    best.0
}

/// `area` split into the pictures' part and, for three or four images, the distance table's
/// below it.
fn split_table(area: Rect, n: usize) -> (Rect, Rect) {
    let table = if n > 2 { n as u16 + 3 } else { 0 };
    let [grid, table] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(table)]).areas(area);
    (grid, table)
}

/// Draws the compare view in `area`: the panels (or the flicker) and the distance table.
/// `pictures` are the compared images' decoded pictures, in order (`None`: not yet).
pub(crate) fn draw_compare(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    pictures: &mut [Option<&mut ThreadProtocol>],
) {
    let n = app.compare.paths.len();
    if n == 0 {
        return;
    }
    let (grid, table) = split_table(area, n);
    if let Some(flicker) = app.compare.flicker {
        return draw_flicker(frame, app, area, flicker, pictures);
    }
    let (columns, rows) = arrangement((grid.width, grid.height), &app.compare_aspects());
    let (w, h) = (grid.width / columns, grid.height / rows);
    // Panels are centred when they leave a margin.
    let left = grid.x + (grid.width - w * columns) / 2;
    for k in 0..n {
        let (c, r) = (k as u16 % columns, k as u16 / columns);
        let panel = Rect::new(left + c * w, grid.y + r * h, w, h);
        let picture = pictures.get_mut(k).and_then(|p| p.as_deref_mut());
        draw_panel(frame, app, k, panel, picture);
    }
    if n > 2 {
        draw_table(frame, app, table);
    }
}

/// One compared image in `panel`: its number and name on the frame (thick for the chosen
/// one), its picture, its caption.
fn draw_panel(
    frame: &mut Frame,
    app: &App,
    k: usize,
    panel: Rect,
    picture: Option<&mut ThreadProtocol>,
) {
    let theme = app.look.theme;
    let chosen = k == app.compare.other;
    let room = usize::from(panel.width.saturating_sub(8));
    let title = format!(
        " {} · {} ",
        k + 1,
        crate::text::middle_cut(&app.compare_name(k), room)
    );
    let style = if chosen {
        theme.accent().bold()
    } else if k == 0 {
        theme.notice()
    } else {
        theme.dim()
    };
    let block = Block::bordered()
        .border_type(if chosen {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(Line::from(title).style(style));
    let inner = block.inner(panel);
    frame.render_widget(block, panel);
    let [picture_area, caption] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(CAPTION_ROWS)]).areas(inner);
    let distance = if k == 0 {
        Line::styled("the first: distances are to it", theme.notice())
    } else {
        distance_line(app, 0, k)
    };
    draw_picture(frame, app, k, picture, picture_area);
    let mut lines = facts_lines(app, k);
    lines.push(distance);
    frame.render_widget(Paragraph::new(lines), caption);
}

/// Compared image `k`'s picture in `area`, or why it cannot be drawn, or "…" until it is in.
fn draw_picture(
    frame: &mut Frame,
    app: &App,
    k: usize,
    picture: Option<&mut ThreadProtocol>,
    area: Rect,
) {
    match app.compare.failed.get(&app.compare.paths[k]) {
        Some(why) => frame.render_widget(
            Paragraph::new(format!(
                "cannot be drawn: {}",
                crate::text::escape_lines(why)
            ))
            .style(app.look.theme.notice())
            .wrap(Wrap { trim: true }),
            area,
        ),
        None => draw_centred(frame, picture, area, app.look.theme),
    }
}

/// The facts of compared image `k` in two lines: pixels, format and bytes; the time.
fn facts_lines(app: &App, k: usize) -> Vec<Line<'static>> {
    let dim = app.look.theme.dim();
    match app.compare.facts.get(&app.compare.paths[k]) {
        None => vec![Line::styled("…", dim), Line::raw("")],
        Some(Err(why)) => vec![
            Line::styled(
                format!("unreadable: {}", crate::text::escape(why)),
                app.look.theme.notice(),
            ),
            Line::raw(""),
        ],
        Some(Ok(f)) => {
            let pixels = match f.pixels {
                Some((w, h)) => format!("{w}×{h}"),
                None => "?×?".to_owned(),
            };
            let format = f.format.as_deref().unwrap_or("unknown format");
            vec![
                Line::raw(format!(
                    "{pixels} · {} · {}",
                    crate::text::escape(format),
                    crate::text::bytes(f.bytes)
                )),
                Line::styled(format!("modified {}", crate::text::time(f.modified)), dim),
            ]
        }
    }
}

/// "distance to 1: 0.123" for compared images `a` and `b` ("…" until the vectors are in).
fn distance_line(app: &App, a: usize, b: usize) -> Line<'static> {
    let value = match app.compare_distance(a, b) {
        Some(d) => format!("{d:.3}"),
        None => "…".to_owned(),
    };
    Line::from(vec![
        Span::styled(format!("distance to {}: ", a + 1), app.look.theme.dim()),
        Span::styled(value, app.look.theme.accent()),
    ])
}

/// Every pairwise cosine distance of the images compared, as a table.
fn draw_table(frame: &mut Frame, app: &App, area: Rect) {
    let n = app.compare.paths.len();
    let dim = app.look.theme.dim();
    let cell = |k: usize, j: usize| -> Span<'static> {
        if k == j {
            return Span::styled(format!("{:>8}", "·"), dim);
        }
        let text = match app.compare_distance(k, j) {
            Some(d) => format!("{d:>8.3}"),
            None => format!("{:>8}", "…"),
        };
        let pair = |x: usize, y: usize| {
            (x == 0 && y == app.compare.other) || (y == 0 && x == app.compare.other)
        };
        if pair(k, j) {
            Span::styled(text, app.look.theme.accent())
        } else {
            Span::raw(text)
        }
    };
    let mut lines = vec![Line::styled(
        format!(
            "{:4}{}",
            "",
            (1..=n).map(|j| format!("{j:>8}")).collect::<String>()
        ),
        dim,
    )];
    for k in 0..n {
        let mut spans = vec![Span::styled(format!("{:>4}", k + 1), dim)];
        spans.extend((0..n).map(|j| cell(k, j)));
        lines.push(Line::from(spans));
    }
    let title = " cosine distances (0: the same direction) ";
    let width = (4 + 8 * n as u16).max(title.chars().count() as u16) + 4;
    let block = Block::bordered().border_style(dim).title(title);
    let at = centred(area, width, area.height);
    frame.render_widget(Paragraph::new(lines).block(block), at);
}

/// The flicker: the first image and the chosen one in turn at one place, over `area`, with
/// the one shown now named on the frame and its caption below.
fn draw_flicker(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    flicker: Flicker,
    pictures: &mut [Option<&mut ThreadProtocol>],
) {
    let theme = app.look.theme;
    let other = app.compare.other;
    let (shown, hidden) = if flicker.other_shown {
        (other, 0)
    } else {
        (0, other)
    };
    let how = if flicker.held {
        "flipped by hand"
    } else {
        "flickering"
    };
    let title = format!(
        " {how} 1 ⇄ {}: {} · {} ",
        other + 1,
        shown + 1,
        crate::text::middle_cut(
            &app.compare_name(shown),
            usize::from(area.width.saturating_sub(30))
        )
    );
    let style = if shown == 0 {
        theme.notice()
    } else {
        theme.accent()
    };
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(style)
        .title(Line::from(title).style(style.bold()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [picture_area, caption] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(CAPTION_ROWS)]).areas(inner);
    let (mut shown_picture, mut hidden_picture) = (None, None);
    for (k, p) in pictures.iter_mut().enumerate() {
        if k == shown {
            shown_picture = p.as_deref_mut();
        } else if k == hidden {
            hidden_picture = p.as_deref_mut();
        }
    }
    draw_picture(frame, app, shown, shown_picture, picture_area);
    // The other one is encoded for the same place meanwhile, so that it shows at once (only
    // encoded: rendering it off screen would spend kitty's one transmission of it).
    if let Some(state) = hidden_picture {
        let resize = Resize::Scale(None);
        let at = fitted(state, picture_area);
        if let Some(size) = state.needs_resize(&resize, at.as_size()) {
            state.resize_encode(&resize, size);
        }
    }
    let mut lines = facts_lines(app, shown);
    // The pair's distance, whichever of the two shows.
    let mut pair = distance_line(app, 0, other);
    pair.spans[0] = Span::styled(format!("distance 1 ⇄ {}: ", other + 1), theme.dim());
    lines.push(pair);
    frame.render_widget(Paragraph::new(lines), caption);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_sit_side_by_side_unless_stacking_shows_them_larger() {
        let screen = (160, 40);
        // Square images: one row, whatever their number.
        assert_eq!(arrangement(screen, &[1.0, 1.0]), (2, 1));
        assert_eq!(arrangement(screen, &[1.0; 3]), (3, 1));
        assert_eq!(arrangement(screen, &[1.0; 4]), (4, 1));
        // Four wide (16:9) images are larger two by two.
        assert_eq!(arrangement(screen, &[16.0 / 9.0; 4]), (2, 2));
        // Two panoramas: one above the other.
        assert_eq!(arrangement(screen, &[4.0, 4.0]), (1, 2));
        // Portraits stay in a row.
        assert_eq!(arrangement(screen, &[0.75; 4]), (4, 1));
        // A tall narrow screen stacks squares.
        assert_eq!(arrangement((60, 80), &[1.0, 1.0]), (1, 2));
    }

    #[test]
    fn the_chosen_picture_covers_its_box_as_scaled_to_fit() {
        // A 10 × 5 box is 10 × 10 square units: a square fills it, a 2:1 image half.
        assert_eq!(covered((10, 5), 1.0), 100.0);
        assert_eq!(covered((10, 5), 2.0), 50.0);
        assert_eq!(covered((10, 5), 0.5), 50.0);
        assert_eq!(covered((0, 5), 1.0), 0.0);
        // Panels lose their frame and caption rows.
        assert_eq!(picture_box((160, 40), 4, 1), (38, 35));
        assert_eq!(picture_box((160, 40), 2, 2), (78, 15));
    }
}
