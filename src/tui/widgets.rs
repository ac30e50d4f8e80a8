//! Small drawing helpers the panes share.

use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders};

use super::theme::Theme;

/// A bordered pane; its title is shown with control characters escaped.
pub(crate) fn pane(theme: Theme, title: impl Into<String>, focused: bool) -> Block<'static> {
    let style = if focused { theme.accent() } else { theme.dim() };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(crate::text::escape(&title.into()).into_owned())
}

/// A `width × height` rectangle in the middle of `area` (smaller where `area` is).
pub(crate) fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
