//! Browsing the clusters: the cluster list, the cursor in the current cluster, the
//! file-name filter (`/`), marks (Space, `c`) and copying paths (`y`).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use crate::tui::app::{App, Command, Focus, Overlay, images};
use crate::tui::widgets::pane;

/// The clusters as browsed: who is in each, what the filter shows, where the cursor is, and
/// what is marked.
#[derive(Default)]
pub(crate) struct Browse {
    /// Members of each cluster, nearest the centre first.
    pub(crate) members: Vec<Vec<usize>>,
    /// The members whose file name matches `filter` (all of them when it is empty).
    pub(crate) shown: Vec<Vec<usize>>,
    /// The file-name filter (empty: none).
    pub(crate) filter: String,
    /// Cursor in the cluster list (an index in the clustering's clusters).
    pub(crate) cluster: usize,
    /// Cursor in the current cluster's shown list.
    pub(crate) image: usize,
    /// The marked images, by path (they stay marked through reloads and reclustering, and
    /// are unmarked once `v` has moved them).
    pub(crate) selection: HashSet<PathBuf>,
    /// The edits, undos and redos sent and not yet answered, in order (the worker answers
    /// each with one [`crate::tui::app::Event::Edited`]): for each, the marked images it
    /// moves.
    pub(crate) edits_in_flight: VecDeque<Vec<PathBuf>>,
    /// The k asked for by `+` / `-` and not yet fitted: further presses count from it, so
    /// none is lost while a refit runs.
    pub(crate) pending_k: Option<usize>,
}

impl App {
    /// Paths went to the clipboard, or why not ([`crate::tui::app::Event::Copied`]).
    pub(crate) fn on_copied(&mut self, result: Result<usize, String>) -> Vec<Command> {
        self.say(match result {
            Ok(1) => "1 path copied to the clipboard (OSC 52: the terminal, or tmux with \
                      set-clipboard on, must allow it)"
                .to_owned(),
            Ok(n) => format!(
                "{n} paths copied to the clipboard (OSC 52: the terminal, or tmux with \
                 set-clipboard on, must allow it)"
            ),
            Err(why) => format!("nothing copied: {why}"),
        });
        Vec::new()
    }

    /// Enter in the filter's prompt: the filter stays, and the cursor lands on a cluster
    /// that has matches if this one has none.
    pub(crate) fn keep_filter(&mut self) -> Vec<Command> {
        self.overlay = Overlay::None;
        let shown = &self.browse.shown;
        if shown.get(self.browse.cluster).is_some_and(Vec::is_empty)
            && let Some(c) = shown.iter().position(|s| !s.is_empty())
        {
            self.browse.cluster = c;
            self.browse.image = 0;
        }
        self.cursor_moved()
    }

    /// Esc in the filter's prompt, or on the panes while a filter is on: no filter.
    pub(crate) fn clear_filter(&mut self) -> Vec<Command> {
        self.overlay = Overlay::None;
        self.browse.filter.clear();
        self.apply_filter();
        self.cursor_moved()
    }

    /// Recomputes `shown` from `members` and `filter` (case-insensitive substring), keeping
    /// the cursor on its image if that is still shown.
    pub(crate) fn apply_filter(&mut self) {
        let keep = self.base();
        let needle = self.browse.filter.to_lowercase();
        self.browse.shown = self
            .browse
            .members
            .iter()
            .map(|m| {
                if needle.is_empty() {
                    m.clone()
                } else {
                    m.iter()
                        .copied()
                        .filter(|&i| self.name(i).to_lowercase().contains(&needle))
                        .collect()
                }
            })
            .collect();
        let shown = self
            .browse
            .shown
            .get(self.browse.cluster)
            .map_or(&[][..], Vec::as_slice);
        self.browse.image = match keep.and_then(|row| shown.iter().position(|&i| i == row)) {
            Some(at) => at,
            None => self.browse.image.min(shown.len().saturating_sub(1)),
        };
    }

    /// Puts the images cursor on collection row `row` (clearing a filter that hides it).
    pub(crate) fn go_to(&mut self, row: usize) {
        let Some(label) = self.clustering.as_ref().and_then(|c| c.labels.get(row)) else {
            return;
        };
        let label = *label;
        if !self.browse.shown[label].contains(&row) {
            self.browse.filter.clear();
            self.apply_filter();
        }
        self.browse.cluster = label;
        self.browse.image = self.browse.shown[label]
            .iter()
            .position(|&i| i == row)
            .unwrap_or(0);
        self.focus = Focus::Images;
    }

    pub(crate) fn move_cluster(&mut self, delta: isize) -> Vec<Command> {
        let n = self.browse.shown.len();
        if n == 0 {
            return Vec::new();
        }
        self.browse.cluster =
            (self.browse.cluster as isize + delta).rem_euclid(n as isize) as usize;
        self.browse.image = 0;
        if self.focus == Focus::Similar {
            self.focus = Focus::Images;
        }
        self.cursor_moved()
    }

    pub(crate) fn move_vertical(&mut self, delta: isize) -> Vec<Command> {
        let (cursor, n) = match self.focus {
            Focus::Clusters => (&mut self.browse.cluster, self.browse.shown.len()),
            Focus::Images | Focus::Map => (
                &mut self.browse.image,
                self.browse
                    .shown
                    .get(self.browse.cluster)
                    .map_or(0, Vec::len),
            ),
            Focus::Similar => (&mut self.neighbours.cursor, self.neighbours.list.len()),
        };
        if n == 0 {
            return Vec::new();
        }
        *cursor = (*cursor as isize)
            .saturating_add(delta)
            .clamp(0, n as isize - 1) as usize;
        match self.focus {
            Focus::Clusters => {
                self.browse.image = 0;
                self.cursor_moved()
            }
            Focus::Images | Focus::Map => self.cursor_moved(),
            Focus::Similar => self.preview_command(),
        }
    }

    /// Space: marks (or unmarks) the image under the cursor and moves on to the next, as
    /// file managers do, so that Space Space marks two images.
    pub(crate) fn mark_and_advance(&mut self) -> Vec<Command> {
        self.toggle_mark();
        if self.lattice.on {
            self.lattice_key(crate::tui::keys::Action::Right)
        } else if self.overview.on {
            self.overview_key(crate::tui::keys::Action::Right)
        } else if self.focus == Focus::Clusters {
            Vec::new()
        } else if self.grid_shown() {
            self.move_in_grid(1, 0)
        } else {
            self.move_vertical(1)
        }
    }

    pub(crate) fn toggle_mark(&mut self) {
        let Some(i) = self.current() else {
            return;
        };
        let path = self.collection.paths[i].clone();
        if !self.browse.selection.remove(&path) {
            self.browse.selection.insert(path);
        }
        let n = self.browse.selection.len();
        self.say(match n {
            0 => "nothing marked".to_owned(),
            n => format!(
                "{} marked (e exports them, y copies their paths, c unmarks all)",
                images(n)
            ),
        });
    }

    /// Whether collection row `i` is marked.
    pub fn is_marked(&self, i: usize) -> bool {
        !self.browse.selection.is_empty()
            && self.browse.selection.contains(&self.collection.paths[i])
    }

    /// `y`: the marked images' paths, or the current image's, to the clipboard (OSC 52).
    pub(crate) fn copy_paths(&mut self) -> Vec<Command> {
        let paths: Vec<PathBuf> = if self.browse.selection.is_empty() {
            self.current_path().cloned().into_iter().collect()
        } else {
            self.export_files()
        };
        if paths.is_empty() {
            return Vec::new();
        }
        let text = paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        vec![Command::Copy(text, paths.len())]
    }

    pub(crate) fn current_cluster(&self) -> Option<(usize, &str)> {
        let cl = self
            .clustering
            .as_ref()?
            .clusters
            .get(self.browse.cluster)?;
        Some((cl.number, &cl.name))
    }
}

/// The cluster list: colour, number, size, name.
pub(crate) fn draw_clusters(frame: &mut Frame, app: &App, area: Rect) {
    let Some(clustering) = &app.clustering else {
        return;
    };
    let filtering = !app.browse.filter.is_empty();
    let items: Vec<ListItem> = clustering
        .clusters
        .iter()
        .zip(&app.browse.shown)
        .map(|(cl, shown)| {
            let size = if filtering {
                format!("{:>2} {:>5}/{}  ", cl.number, shown.len(), cl.size)
            } else {
                format!("{:>2} {:>5}  ", cl.number, cl.size)
            };
            let item = ListItem::new(Line::from(vec![
                Span::styled("██ ", Style::new().fg(app.look.theme.cluster(cl.number))),
                Span::raw(size),
                Span::raw(crate::text::escape(&cl.name).into_owned()),
            ]));
            if filtering && shown.is_empty() {
                item.style(app.look.theme.dim())
            } else {
                item
            }
        })
        .collect();
    let title = format!(
        " clusters: {} by {} ",
        clustering.k,
        clustering.request.method.name()
    );
    let list = List::new(items)
        .block(pane(app.look.theme, title, app.focus == Focus::Clusters))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.browse.cluster));
    frame.render_stateful_widget(list, area, &mut state);
}

/// The mark column of a list row, while anything is marked: `◆ ` for a marked image.
pub(crate) fn mark(app: &App, i: usize) -> Vec<Span<'static>> {
    if app.browse.selection.is_empty() {
        Vec::new()
    } else if app.is_marked(i) {
        vec![Span::styled("◆ ", app.look.theme.notice().bold())]
    } else {
        vec![Span::raw("  ")]
    }
}
