//! The preview of the image under the cursor (beside the panes, or full screen with Enter)
//! and the montage of a cluster (`m`), saved on a worker and shown full screen.

use std::path::{Path, PathBuf};

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui_image::thread::ThreadProtocol;
use ratatui_image::{Resize, StatefulImage};

use crate::error::Error;
use crate::session::folder_name;
use crate::tui::app::{App, Command, Overlay};
use crate::tui::theme::Theme;
use crate::tui::widgets::{centred, pane};

/// Most images on one montage.
pub const MONTAGE_MAX: usize = 400;

impl App {
    /// A montage was saved, or why not ([`crate::tui::app::Event::Montage`]).
    pub(crate) fn on_montage(&mut self, result: Result<PathBuf, Error>) -> Vec<Command> {
        self.status.busy = None;
        match result {
            Ok(path) => {
                self.say(format!("montage saved to {}", crate::text::shown(&path)));
                self.overlay = Overlay::Montage(path);
            }
            Err(e) => self.say(format!("montage failed: {e}")),
        }
        Vec::new()
    }

    /// Asks for the preview of the image under the active cursor, when it changed.
    pub(crate) fn preview_command(&mut self) -> Vec<Command> {
        let path = self.current_path().cloned();
        if path == self.preview_path {
            return Vec::new();
        }
        self.preview_path = path.clone();
        path.map(Command::LoadPreview).into_iter().collect()
    }

    pub(crate) fn montage(&mut self) -> Vec<Command> {
        let Some((number, name)) = self.current_cluster() else {
            return Vec::new();
        };
        let stem = folder_name(number, name);
        let files: Vec<PathBuf> = self.browse.shown[self.browse.cluster]
            .iter()
            .take(MONTAGE_MAX)
            .map(|&i| self.collection.paths[i].clone())
            .collect();
        if files.is_empty() {
            return Vec::new();
        }
        self.status.busy = Some(format!("drawing a montage of {} images…", files.len()));
        vec![Command::Montage(files, stem)]
    }
}

pub(crate) fn draw_preview(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    area: Rect,
) {
    let title = app
        .current()
        .map(|i| format!(" {} ", app.name(i)))
        .unwrap_or_default();
    let block = pane(app.look.theme, title, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match preview {
        Some(state) => frame.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            inner,
            state,
        ),
        None => frame.render_widget(Paragraph::new("…").style(app.look.theme.dim()), inner),
    }
}

/// The preview over the whole screen, the picture centred in it.
pub(crate) fn draw_full_preview(
    frame: &mut Frame,
    app: &App,
    preview: Option<&mut ThreadProtocol>,
    area: Rect,
) {
    let title = app
        .current()
        .map(|i| format!(" {} (Esc returns) ", app.name(i)))
        .unwrap_or_default();
    let block = pane(app.look.theme, title, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    draw_centred(frame, preview, inner, app.look.theme);
}

/// `picture` scaled to fit `area` and centred in it ("…" until it is ready).
pub(crate) fn draw_centred(
    frame: &mut Frame,
    picture: Option<&mut ThreadProtocol>,
    area: Rect,
    theme: Theme,
) {
    let Some(state) = picture else {
        frame.render_widget(Paragraph::new("…").style(theme.dim()), area);
        return;
    };
    let at = fitted(state, area);
    frame.render_stateful_widget(
        StatefulImage::default().resize(Resize::Scale(None)),
        at,
        state,
    );
}

/// Where `picture`, scaled to fit `area`, is drawn centred in it (all of `area` while it is
/// being encoded).
pub(crate) fn fitted(picture: &ThreadProtocol, area: Rect) -> Rect {
    picture
        .size_for(
            Resize::Scale(None),
            ratatui::layout::Size::new(area.width, area.height),
        )
        .map_or(area, |size| centred(area, size.width, size.height))
}

pub(crate) fn draw_montage(
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
