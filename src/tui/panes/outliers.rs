//! The odd ones out (`o`): the images least like any other, most odd first.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::ListItem;
use ratatui_image::thread::ThreadProtocol;

use super::browse::mark;
use super::grid::Thumbnails;
use super::lists::{ListScreen, draw_list_screen};
use crate::session::Collection;
use crate::tui::app::{App, Command, Overlay, images};
use crate::tui::keys::Action;

/// The odd ones out listed by `o`: the most odd 5 % of the images, at least 10 (all of a
/// smaller collection), at most 500.
pub fn outliers_shown(images: usize) -> usize {
    images.div_ceil(20).clamp(10, 500).min(images)
}

/// The odd ones out shown, and the cursor in them.
#[derive(Default)]
pub(crate) struct Outliers {
    /// The odd ones out shown ([`outliers_shown`] of them), most odd first, with their score.
    pub(crate) list: Option<Vec<(usize, f32)>>,
    /// Cursor in them.
    pub(crate) cursor: usize,
}

impl App {
    /// `o`: find the odd ones out, once the vectors are in.
    pub(crate) fn find_outliers(&mut self) -> Vec<Command> {
        self.status.busy = Some("finding the odd ones out…".into());
        vec![Command::FindOutliers]
    }

    /// The odd ones out of `of` have been found ([`crate::tui::app::Event::Outliers`]):
    /// shown over the panes, unless the collection changed meanwhile.
    pub(crate) fn on_outliers(
        &mut self,
        of: Arc<Collection>,
        mut found: Vec<(usize, f32)>,
    ) -> Vec<Command> {
        if !Arc::ptr_eq(&of, &self.collection) {
            return Vec::new();
        }
        self.status.busy = None;
        found.truncate(outliers_shown(self.collection.len()));
        self.outliers.list = Some(found);
        self.outliers.cursor = 0;
        self.overlay = Overlay::Outliers;
        self.say(
            "odd ones out (mean distance to the 10 nearest): ↑↓ browse, Enter goes to the image, Esc returns",
        );
        self.preview_command()
    }

    /// The actions of the odd ones out ([`Mode::Outliers`](crate::tui::keys::Mode::Outliers)).
    pub(crate) fn outliers_key(&mut self, action: Action) -> Vec<Command> {
        if let Some(commands) = self.list_key(action) {
            return commands;
        }
        if action == Action::Mark {
            self.toggle_mark();
            // On to the next, as file managers do.
            return self.list_key(Action::Down).unwrap_or_default();
        }
        Vec::new()
    }
}

/// The odd ones out, most odd first, with their score (list or grid), and the preview.
pub(crate) fn draw_outliers(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
) {
    let found = app.outliers.list.as_deref().unwrap_or_default();
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
                    Style::new().fg(app.look.theme.cluster(app.cluster_number(i))),
                ),
                Span::styled(format!("{score:.3} "), app.look.theme.dim()),
                Span::raw(app.name(i)),
            ]);
            // The score is the mean distance to its nearest images: 0 when they are copies.
            if score < 5e-4 {
                spans.push(Span::styled(
                    "  (0: its nearest images are copies of it)",
                    app.look.theme.dim(),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let screen = ListScreen {
        title,
        items,
        selected: app.outliers.cursor,
    };
    draw_list_screen(frame, app, preview, thumbnails, area, screen);
}
