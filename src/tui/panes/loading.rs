//! The collection on its way in and the live folder: scanning, embedding, clustering, the
//! vectors read behind a warm start, the folder's changes, and the screens while waiting.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use crate::session::Change;
use crate::session::Clustering;
use crate::session::Collection;
use crate::session::Progress;
use crate::session::{FitStage, WatchMode};
use crate::tui::app::{App, Command, Loading, Notice, Overlay};
use crate::tui::widgets::pane;

impl App {
    /// A collection and its clustering have arrived (at start, or with new images).
    /// The cursor stays on the image it was on.
    pub(crate) fn loaded(
        &mut self,
        collection: impl Into<Arc<Collection>>,
        clustering: Clustering,
    ) -> Vec<Command> {
        let keep = self
            .base()
            .map(|i| (self.collection.paths[i].clone(), self.collection.hashes[i]));
        self.collection = collection.into();
        self.duplicates.groups = None;
        self.duplicates.of = vec![None; self.collection.len()];
        self.forget_neighbours();
        self.loading = Loading::Ready;
        // The cursor stays on its image: by path, else by content (it was renamed).
        let c = &self.collection;
        let row = keep.and_then(|(path, hash)| {
            c.paths
                .iter()
                .position(|q| *q == path)
                .or_else(|| c.hashes.iter().position(|h| *h == hash))
        });
        self.set_clustering(clustering, row)
    }

    /// The vectors of the collection on screen have been read (it was shown with paths
    /// only, from the saved clustering): neighbours and `+` / `-` can start.
    pub(crate) fn vectors_read(&mut self, collection: Arc<Collection>) -> Vec<Command> {
        if collection.paths == self.collection.paths {
            self.collection = collection;
            self.forget_neighbours();
            if self.status.notice == Some(Notice::WaitingForVectors) {
                self.say("");
            }
        }
        Vec::new()
    }

    /// Indexing moved on: the gauge before the collection is shown, the status line after.
    pub(crate) fn on_progress(&mut self, progress: Progress) -> Vec<Command> {
        let (done, total) = match progress {
            Progress::Scanned { to_process, .. } => (0, to_process),
            Progress::Processed { done, to_process } => (done, to_process),
        };
        match self.loading {
            Loading::Ready => self.status.indexing = Some((done, total)),
            _ => self.loading = Loading::Embedding { done, total },
        }
        Vec::new()
    }

    /// Indexing is done; the clustering is being brought up to date.
    pub(crate) fn on_clustering(&mut self) -> Vec<Command> {
        match self.loading {
            Loading::Ready => self.status.indexing = None,
            _ => self.loading = Loading::Clustering(None),
        }
        Vec::new()
    }

    /// A new fit has reached `stage`: the gauge says which (the first fit of a large
    /// collection takes minutes).
    pub(crate) fn on_fitting(&mut self, stage: FitStage) -> Vec<Command> {
        if self.loading != Loading::Ready {
            self.loading = Loading::Clustering(Some(stage));
        }
        Vec::new()
    }

    /// The loader stopped: the folder is no longer indexed nor watched. The whole message
    /// goes on screen (q quits, and the command line says it again).
    pub(crate) fn load_failed(&mut self, e: String) -> Vec<Command> {
        self.loading = Loading::Failed(if self.loading == Loading::Ready {
            format!("indexing stopped: {e}")
        } else {
            e
        });
        self.status.indexing = None;
        self.overlay = Overlay::None;
        Vec::new()
    }

    /// Thumbnails missing from the store are being made: `done` of `total`.
    pub(crate) fn on_thumbnailing(&mut self, done: usize, total: usize) -> Vec<Command> {
        self.status.thumbnailing = (done < total).then_some((done, total));
        Vec::new()
    }

    /// How the folder is watched.
    pub(crate) fn on_watching(&mut self, mode: WatchMode) -> Vec<Command> {
        self.status.watching = Some(mode);
        Vec::new()
    }

    /// The folder changed and the collection on screen was brought up to date: said on the
    /// status line, after what the user just did to the folder (duplicates moved), if so.
    pub(crate) fn folder_changed(&mut self, change: Change) -> Vec<Command> {
        let counts = [
            (change.changed, "new or changed"),
            (change.removed, "removed"),
            (change.newly_skipped, "skipped"),
            (change.no_longer_skipped, "no longer skipped"),
        ];
        let parts: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        let changed = format!("the folder changed: {}", parts.join(", "));
        let said = match self.duplicates.resolved.take() {
            Some(done) => format!("{done} · {changed}"),
            None => changed,
        };
        self.say(said);
        Vec::new()
    }
}

/// A live folder with no image (yet): what the explorer waits for.
pub(crate) fn draw_empty(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(
        app.look.theme,
        format!(" {} ", crate::text::shown(&app.root)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = vec![
        Line::from("no images here yet"),
        Line::from("images added to the folder appear here as they come · q quits")
            .style(app.look.theme.dim()),
    ];
    frame.render_widget(Paragraph::new(lines).centered(), middle_band(inner));
}

/// The screen while the collection comes in: scanning, the embedding gauge, clustering, or
/// why loading stopped.
pub(crate) fn draw_loading(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(
        app.look.theme,
        format!(" {} ", crate::text::shown(&app.root)),
        true,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Loading::Failed(e) = &app.loading {
        // The whole message, as the command line gives it when the explorer ends.
        let lines = vec![
            Line::from(format!("error: {}", crate::text::escape(e))),
            Line::from(""),
            Line::from("q quits (the message is printed again there)").style(app.look.theme.dim()),
        ];
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: true })
                .style(app.look.theme.notice()),
            inner.inner(ratatui::layout::Margin::new(2, 1)),
        );
        return;
    }
    let gauge_area = middle_band(inner);
    let (ratio, label) = match &app.loading {
        Loading::Embedding { done, total } if *total > 0 => (
            *done as f64 / *total as f64,
            format!("embedding {done} of {total} images"),
        ),
        Loading::Clustering(None) => (1.0, "clustering…".to_owned()),
        Loading::Clustering(Some(stage)) => {
            let done = match stage {
                FitStage::Mapping { done, total } => *done as f64 / (*total).max(1) as f64,
                _ => 1.0,
            };
            (done, format!("clustering: {stage}…"))
        }
        Loading::Failed(e) => (0.0, e.clone()),
        _ => (0.0, "looking for images…".to_owned()),
    };
    frame.render_widget(
        Gauge::default()
            .block(Block::bordered())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label),
        gauge_area,
    );
}

/// The band of three rows 40 % down `inner`, where the waiting screens say what they wait for.
fn middle_band(inner: Rect) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(inner);
    middle
}
