//! The help (`?`): every key, and how the terminal draws images.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::tui::app::{App, Overlay};
use crate::tui::keys::{Action, KEYS, Mode, label};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centred, pane};

/// The help's lines: how images are drawn (`graphics`, empty: not said), the keys of the
/// panes and of the map read from the key table ([`KEYS`]), then the mouse. The lists over
/// the panes say their keys on the status line.
fn help_lines(theme: Theme, graphics: &str) -> Vec<Line<'static>> {
    let line = |keys: &str, help: &str| {
        Line::from(vec![
            Span::styled(format!("{keys:>KEY_WIDTH$}  "), Style::new().bold()),
            Span::raw(help.to_owned()),
        ])
    };
    let mut lines = Vec::new();
    if !graphics.is_empty() {
        lines.push(line("images", graphics));
    }
    for mode in [Mode::Panes, Mode::Map, Mode::Overview, Mode::Lattice] {
        if !mode.heading().is_empty() {
            lines.push(Line::styled(
                format!("{:>KEY_WIDTH$}  {}", "", mode.heading()),
                theme.accent(),
            ));
        }
        let rows = KEYS
            .iter()
            .filter(|r| r.mode == mode || (mode == Mode::Panes && r.mode == Mode::Anywhere));
        lines.extend(rows.map(|row| line(&label(row), row.help)));
    }
    lines.push(line(
        "mouse",
        "a click selects, the wheel scrolls (and zooms the map)",
    ));
    lines.push(line(
        "d  o  x",
        "their keys are on the status line while they are open",
    ));
    lines
}

/// The help's box on a screen of `area`, and how far its lines can scroll.
fn help_box(lines: &[Line], area: Rect) -> (Rect, u16) {
    let width = 86.min(area.width);
    // Lines too long for the box wrap (after the key column).
    let room = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(room)).sum();
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    let rect = centred(area, width, rows.saturating_add(2));
    (rect, rows.saturating_sub(rect.height.saturating_sub(2)))
}

/// The help over the panes, scrolled down `top` lines (at most until its last line shows).
pub(crate) fn draw_help(frame: &mut Frame, theme: Theme, area: Rect, graphics: &str, top: u16) {
    let lines = help_lines(theme, graphics);
    let (rect, most) = help_box(&lines, area);
    let top = top.min(most);
    let title = if most > 0 {
        " keys (↑ ↓ scroll) "
    } else {
        " keys "
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((top, 0))
            .block(pane(theme, title, true)),
        rect,
    );
}

/// The key column's width.
const KEY_WIDTH: usize = 16;

impl App {
    /// Scrolls the help for `action` (a line or ten), not past its last line.
    pub(crate) fn scroll_help(&mut self, action: Action) {
        let lines = help_lines(self.look.theme, &self.look.graphics);
        let (_, last) = help_box(&lines, self.look.screen);
        if let Overlay::Help(top) = &mut self.overlay {
            *top = match action {
                Action::Up => top.saturating_sub(1),
                Action::Down => (*top + 1).min(last),
                Action::PageUp => top.saturating_sub(10),
                Action::PageDown => (*top + 10).min(last),
                _ => *top,
            };
        }
    }
}
