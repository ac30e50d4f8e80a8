//! One-line prompts over the panes (export folder, cluster edits, the filter): typing and
//! drawing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::theme::Theme;
use crate::tui::view::{centred, pane};

/// A key typed into a prompt's text: a character is added; Ctrl-U clears the text and
/// Ctrl-W deletes the last word, as in a shell; other control keys are not text.
pub(crate) fn type_into(text: &mut String, key: KeyEvent) {
    let KeyCode::Char(c) = key.code else {
        return;
    };
    if !key.modifiers.contains(KeyModifiers::CONTROL) {
        text.push(c);
    } else if c == 'u' {
        text.clear();
    } else if c == 'w' {
        let kept = text
            .trim_end()
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        text.truncate(kept);
    }
}

/// A one-line text prompt in a box: what is typed, with a cursor, and a hint below.
pub(crate) fn draw_prompt(
    frame: &mut Frame,
    theme: Theme,
    area: Rect,
    title: &str,
    text: &str,
    hint: &str,
) {
    let rect = centred(area, 70, 4);
    frame.render_widget(Clear, rect);
    let p = Paragraph::new(vec![
        Line::from(format!("{}▏", crate::text::escape(text))),
        Line::from(crate::text::escape(hint).into_owned()).style(theme.dim()),
    ])
    .block(pane(theme, format!(" {title} "), true));
    frame.render_widget(p, rect);
}
