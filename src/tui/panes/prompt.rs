//! One-line prompts over the panes (export folder, cluster edits, the filter): typing and
//! drawing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use crate::tui::app::{App, Command, Overlay};
use crate::tui::keys::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::{centred, pane};

/// Edits a prompt's text for `action`, or types `key` into it when the key table has no
/// action for it (a character, without Ctrl). Whether the text changed.
fn edit_text(text: &mut String, action: Option<Action>, key: KeyEvent) -> bool {
    match action {
        Some(Action::DeleteChar) => text.pop().is_some(),
        Some(Action::ClearText) => {
            let had = !text.is_empty();
            text.clear();
            had
        }
        // As in a shell: the last word and the blanks after it.
        Some(Action::DeleteWord) => {
            let kept = text
                .trim_end()
                .rfind(char::is_whitespace)
                .map_or(0, |i| i + 1);
            let had = kept < text.len();
            text.truncate(kept);
            had
        }
        Some(_) => false,
        None => match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                text.push(c);
                true
            }
            _ => false,
        },
    }
}

impl App {
    /// A key in a prompt ([`Mode::Prompt`](crate::tui::keys::Mode::Prompt)): `action` when
    /// the key table has one for it, else the key is typed.
    pub(crate) fn prompt_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Command> {
        match (action, &self.overlay) {
            (Some(Action::Confirm), Overlay::Export(text)) => {
                let target = text.trim().to_owned();
                self.overlay = Overlay::None;
                self.start_export(&target)
            }
            (Some(Action::Confirm), Overlay::Ask(ask, text)) => {
                let (ask, text) = (ask.clone(), text.trim().to_owned());
                self.overlay = Overlay::None;
                self.answer(ask, &text)
            }
            (Some(Action::Confirm), Overlay::Filter) => self.keep_filter(),
            (Some(Action::Confirm), Overlay::Search(text)) => {
                let text = text.clone();
                self.start_search(text)
            }
            (Some(Action::Close), Overlay::Filter) => self.clear_filter(),
            (Some(Action::Close), _) => {
                self.overlay = Overlay::None;
                Vec::new()
            }
            (action, _) => {
                let text = match &mut self.overlay {
                    Overlay::Export(text) | Overlay::Ask(_, text) | Overlay::Search(text) => text,
                    Overlay::Filter => &mut self.browse.filter,
                    _ => return Vec::new(),
                };
                if !edit_text(text, action, key) || self.overlay != Overlay::Filter {
                    return Vec::new();
                }
                self.apply_filter();
                self.cursor_moved()
            }
        }
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
