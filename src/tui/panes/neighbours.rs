//! The nearest neighbours of the image under the cursor: found when the cursor rests,
//! shown beside the preview, browsed with `s`.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::browse::mark;
use crate::session::Collection;
use crate::session::Neighbour;
use crate::tui::app::{App, Command, Focus};
use crate::tui::widgets::pane;

/// Number of neighbours shown unless the settings say otherwise.
pub const NEIGHBOURS: usize = 12;

/// The neighbours found, whose they are, and the cursor in them.
pub(crate) struct Neighbours {
    /// The nearest neighbours of the image under the cursor, most similar first.
    pub(crate) list: Vec<Neighbour>,
    /// How many neighbours to find.
    pub(crate) count: usize,
    /// Image the neighbours belong to (or are being found for); they are found again when
    /// the cursor rests elsewhere.
    pub(crate) of: Option<usize>,
    /// Whether `list` holds those of `of` (not still being found).
    pub(crate) ready: bool,
    /// `s` was pressed before the neighbours were in: browse them when they arrive.
    pub(crate) wanted: bool,
    /// Cursor in the similar images.
    pub(crate) cursor: usize,
    /// The words `list` was found for, when it holds search results (`t`), not neighbours.
    pub(crate) query: Option<String>,
    /// Whether the model can search by words (it has a text encoder).
    pub(crate) searchable: bool,
}

impl Default for Neighbours {
    fn default() -> Neighbours {
        Neighbours {
            list: Vec::new(),
            count: NEIGHBOURS,
            of: None,
            ready: false,
            wanted: false,
            cursor: 0,
            query: None,
            searchable: false,
        }
    }
}

impl App {
    /// The neighbours of `row` in `of` have been found ([`crate::tui::app::Event::Neighbours`]);
    /// an answer for a collection no longer on screen is dropped.
    pub(crate) fn on_neighbours(
        &mut self,
        row: usize,
        found: Vec<Neighbour>,
        of: &Arc<Collection>,
    ) -> Vec<Command> {
        if Arc::ptr_eq(of, &self.collection) {
            self.neighbours_found(row, found)
        } else {
            Vec::new()
        }
    }

    /// The cursor rests: ask for the neighbours of the image under it, unless they are
    /// those shown (or being found) already.
    pub(crate) fn cursor_rests(&mut self) -> Vec<Command> {
        let base = self.base();
        if base == self.neighbours.of || !self.has_vectors() {
            return Vec::new();
        }
        self.neighbours.of = base;
        self.neighbours.list.clear();
        self.neighbours.ready = false;
        self.neighbours.query = None;
        match base {
            Some(row) => vec![Command::FindNeighbours(row, self.neighbours.count)],
            None => {
                self.neighbours.ready = true;
                Vec::new()
            }
        }
    }

    /// The neighbours of `row` are in; stale answers (the cursor moved on) are dropped.
    pub(crate) fn neighbours_found(&mut self, row: usize, found: Vec<Neighbour>) -> Vec<Command> {
        if self.neighbours.of != Some(row) {
            return Vec::new();
        }
        self.neighbours.list = found;
        self.neighbours.ready = true;
        if std::mem::take(&mut self.neighbours.wanted) && self.base() == Some(row) {
            return self.browse_similar();
        }
        Vec::new()
    }

    /// Whether the neighbours shown are those of the image under the cursor.
    pub fn neighbours_current(&self) -> bool {
        self.neighbours.ready && self.neighbours.of == self.base()
    }

    pub(crate) fn forget_neighbours(&mut self) {
        self.neighbours.query = None;
        self.neighbours.list.clear();
        self.neighbours.of = None;
        self.neighbours.ready = false;
    }

    /// `s`: browse the current image's neighbours (found first if they are not in yet).
    pub(crate) fn browse_similar(&mut self) -> Vec<Command> {
        // On a search result: the result's own neighbours, from its place in its cluster.
        if self.neighbours.query.is_some()
            && self.focus == Focus::Similar
            && let Some(row) = self.current()
        {
            self.forget_neighbours();
            self.focus = Focus::Images;
            self.go_to(row);
            self.neighbours.wanted = true;
            self.say("finding similar images…");
            let mut commands = self.cursor_rests();
            commands.extend(self.preview_command());
            return commands;
        }
        if !self.neighbours_current() {
            self.neighbours.wanted = true;
            self.say("finding similar images…");
            return self.cursor_rests();
        }
        self.focus = Focus::Similar;
        self.neighbours.cursor = 0;
        self.say("similar images: ↑↓ to browse, Esc returns");
        self.preview_command()
    }
}

/// The neighbours pane: the list of the nearest, or "similar" when browsed.
pub(crate) fn draw_neighbours(frame: &mut Frame, app: &App, area: Rect) {
    let waiting = (!app.has_vectors()).then(|| {
        ListItem::new(Span::styled(
            "reading the image vectors…",
            app.look.theme.dim(),
        ))
    });
    let items: Vec<ListItem> = app
        .neighbours
        .list
        .iter()
        .map(|n| {
            let number = app.cluster_number(n.index);
            let mut spans = mark(app, n.index);
            spans.extend([
                Span::styled("● ", Style::new().fg(app.look.theme.cluster(number))),
                // Search results show their cosine similarity (as `imgtui search` does),
                // neighbours their distance.
                Span::styled(
                    match app.neighbours.query {
                        Some(_) => format!("{:.3} ", 1.0 - n.distance),
                        None => format!("{:.3} ", n.distance),
                    },
                    app.look.theme.dim(),
                ),
                Span::raw(app.name(n.index)),
            ]);
            ListItem::new(Line::from(spans))
        })
        .chain(waiting)
        .collect();
    let title = match (&app.neighbours.query, app.focus == Focus::Similar) {
        (Some(query), _) => format!(" search: {} (Esc returns) ", crate::text::escape(query)),
        (None, true) => " similar (Esc returns) ".to_owned(),
        (None, false) => " nearest neighbours (s) ".to_owned(),
    };
    let list = List::new(items)
        .block(pane(app.look.theme, title, app.focus == Focus::Similar))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let selected = (app.focus == Focus::Similar).then_some(app.neighbours.cursor);
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, area, &mut state);
}
