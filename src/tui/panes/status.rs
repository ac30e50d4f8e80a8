//! The status line: what the explorer is doing, the last thing worth a line, and the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use crate::session::WatchMode;
use crate::tui::app::{App, Loading, images};

/// A status line that stands for a state, cleared when the state ends (rather than when
/// another message replaces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// A key that needs the vectors was pressed while they are still being read.
    WaitingForVectors,
    /// The map has the focus: its keys.
    MapKeys,
}

impl Notice {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Notice::WaitingForVectors => "still reading the image vectors…",
            Notice::MapKeys => "map: arrows walk, + / - zoom, Esc or Tab leaves",
        }
    }
}

/// What the status line shows besides the keys.
#[derive(Default)]
pub(crate) struct Status {
    /// What made the vectors.
    pub(crate) model: String,
    /// The last thing that happened worth a line (set by [`App::say`] and [`App::notify`]).
    pub(crate) message: String,
    /// What `message` stands for, when it stands for a state ([`Notice`]).
    pub(crate) notice: Option<Notice>,
    /// Background work under way (reclustering, a montage, an edit).
    pub(crate) busy: Option<String>,
    /// Progress of indexing new images while the collection is already shown.
    pub(crate) indexing: Option<(usize, usize)>,
    /// Progress of making the thumbnails a store lacks, in the background.
    pub(crate) thumbnailing: Option<(usize, usize)>,
    /// How the folder is watched (once the loader has started watching).
    pub(crate) watching: Option<WatchMode>,
    /// The export under way, if any.
    pub(crate) exporting: Option<crate::tui::app::Exporting>,
}

impl Status {
    /// The status of an explorer whose vectors `model` made.
    pub(crate) fn new(model: String) -> Status {
        Status {
            model,
            ..Status::default()
        }
    }
}

impl App {
    /// Puts `text` on the status line (empty: the keys again).
    pub(crate) fn say(&mut self, text: impl Into<String>) {
        self.status.message = text.into();
        self.status.notice = None;
    }

    /// Puts a notice on the status line, until its state ends or another message comes.
    pub(crate) fn notify(&mut self, notice: Notice) {
        self.status.message = notice.text().to_owned();
        self.status.notice = Some(notice);
    }

    /// The status line's account of background work: an export's progress, else `busy`.
    pub fn activity(&self) -> Option<String> {
        match &self.status.exporting {
            Some(x) if x.stopping => Some(format!(
                "stopping the export after {}/{} files…",
                x.done, x.total
            )),
            Some(x) => Some(format!(
                "exporting {}/{} to {} (Esc stops)…",
                x.done,
                x.total,
                crate::text::shown(&x.target)
            )),
            None => self.status.busy.clone(),
        }
    }
}

/// The status line: state, then the message or the keys.
pub(crate) fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let state = match &app.loading {
        Loading::Scanning => "scanning…".to_owned(),
        Loading::Embedding { done, total } => format!("embedding {done}/{total}"),
        Loading::Clustering(None) => "clustering…".to_owned(),
        Loading::Clustering(Some(stage)) => format!("clustering: {stage}…"),
        Loading::Ready => {
            let mut s = images(app.collection.len());
            if let Some(c) = &app.clustering {
                s += &format!(
                    " · {} ({}) k={}",
                    c.request.method.name(),
                    c.method_from.word(),
                    c.k
                );
            }
            if let Some((done, total)) = app.status.indexing {
                s += &format!(" · indexing {done}/{total}");
            }
            if let Some((done, total)) = app.status.thumbnailing {
                s += &format!(" · thumbnails {done}/{total}");
            }
            if let Some(activity) = app.activity() {
                s += &format!(" · {activity}");
            }
            // Watching by events is the normal case; a fallback is worth a word.
            if let Some(mode @ WatchMode::Polling { .. }) = &app.status.watching {
                s += &format!(" · {mode}");
            }
            s
        }
        Loading::Failed(e) => format!("error: {e}"),
    };
    let keys = if app.lattice.on {
        "arrows move +/- zoom Enter opens the cluster L panes s similar e export ? help q quit"
    } else if app.overview.on {
        "arrows move Enter opens the cluster w panes s similar e export ? help q quit"
    } else if app.grid_shown() {
        "arrows move [ ] clusters g list s similar e export +/- k / filter ? help q quit"
    } else {
        "←→ clusters ↑↓ images g grid s similar e export +/- k / filter ? help q quit"
    };
    let text = if app.status.message.is_empty() {
        format!(
            " {state} · {}{} · {keys}",
            app.status.model,
            app.facets.shown()
        )
    } else {
        format!(" {state} · {}", app.status.message)
    };
    let text = crate::text::escape(&text).into_owned();
    frame.render_widget(Paragraph::new(text).style(app.look.theme.bar()), area);
}
