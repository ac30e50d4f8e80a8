//! The lists shown over the panes, the near-duplicate groups and the odd ones out: a list (or
//! a grid) of images with the preview beside it, and the keys they share.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{List, ListItem, ListState};
use ratatui_image::thread::ThreadProtocol;

use super::grid::{Thumbnails, draw_grid};
use super::preview::draw_preview;
use crate::tui::app::{App, Command, ImagesView, Overlay};
use crate::tui::keys::Action;
use crate::tui::widgets::pane;

impl App {
    /// The actions shared by the lists over the panes (near-duplicates, odd ones out):
    /// moving (in the grid too), going to the image in its cluster, closing. `None` for
    /// the others.
    pub(crate) fn list_key(&mut self, action: Action) -> Option<Vec<Command>> {
        if self.grid_shown()
            && let Some((dx, dy)) = self.grid_step(action)
        {
            return Some(self.move_in_grid(dx, dy));
        }
        let step: isize = match action {
            Action::Up => -1,
            Action::Down => 1,
            Action::PageUp => -10,
            Action::PageDown => 10,
            Action::First => isize::MIN / 2,
            Action::Last => isize::MAX / 2,
            Action::GoTo => {
                let row = self.current();
                self.overlay = Overlay::None;
                self.say("");
                if let Some(row) = row {
                    self.go_to(row);
                }
                return Some(self.cursor_moved());
            }
            Action::Close => 0,
            _ => return None,
        };
        if step == 0 {
            self.overlay = Overlay::None;
            self.say("");
            return Some(self.preview_command());
        }
        let (cursor, n) = if self.overlay == Overlay::Outliers {
            let n = self.outliers.list.as_ref().map_or(0, Vec::len);
            (&mut self.outliers.cursor, n)
        } else {
            let n = self.duplicate_rows().count();
            (&mut self.duplicates.cursor, n)
        };
        *cursor = (*cursor as isize)
            .saturating_add(step)
            .clamp(0, n.saturating_sub(1) as isize) as usize;
        Some(self.preview_command())
    }
}

/// A list over the panes: its list (or grid), and the preview beside it when there is room.
pub(crate) fn list_areas(app: &App, main: Rect) -> [Rect; 2] {
    let list = if app.grid.view == ImagesView::Grid {
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

/// A list over the panes (near-duplicates, odd ones out): its title, its rows, and the row of
/// the cursor.
pub(crate) struct ListScreen<'a> {
    /// The pane's title.
    pub(crate) title: String,
    /// The list's rows (headings among them).
    pub(crate) items: Vec<ListItem<'a>>,
    /// The row of the cursor.
    pub(crate) selected: usize,
}

/// Draws `screen` as the grid of its images (see [`App::grid_items`]) or as its list, with
/// the preview beside it when there is room.
pub(crate) fn draw_list_screen(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    thumbnails: &mut Thumbnails,
    area: Rect,
    screen: ListScreen,
) {
    let [list_area, preview_area] = list_areas(app, area);
    let block = pane(app.look.theme, screen.title, true);
    if app.grid_shown() {
        draw_grid(frame, app, list_area, block, Some(thumbnails));
    } else {
        let list = List::new(screen.items)
            .block(block)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
        let mut state = ListState::default().with_selected(Some(screen.selected));
        frame.render_stateful_widget(list, list_area, &mut state);
    }
    if !preview_area.is_empty() {
        draw_preview(frame, app, preview, preview_area);
    }
}
