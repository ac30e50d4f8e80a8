//! Editing the clustering: rename (`r`), merge (`M`), split (`S`), move images (`v`), undo
//! and redo (`u` `U`), one cluster more or fewer (`+` `-`). Edits are made on a worker and
//! kept in the store's edit log; the answers come back as events.

use crate::error::{Error, ErrorKind};
use crate::session::Edit;
use crate::session::{Clustering, KChoice, Method};
use crate::tui::app::{App, Command, Notice, images};

/// The questions an edit of the clustering asks (see [`Overlay::Ask`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// `r`: the current cluster's new name.
    Rename,
    /// `M`: the number of the cluster to merge the current one into.
    MergeInto,
    /// `S`: into how many clusters to split the current one (empty: chosen inside it).
    Split,
    /// `v`: the number of the cluster to move the marked images (or the current one) to, or
    /// `new`.
    MoveTo,
}

impl App {
    /// An edit, undo or redo was applied ([`crate::tui::app::Event::Edited`]): the
    /// clustering now and what happened; or why not.
    pub(crate) fn on_edited(
        &mut self,
        result: Result<(Box<Clustering>, String), Error>,
    ) -> Vec<Command> {
        self.status.busy = None;
        let (clustering, what) = match result {
            Ok(done) => done,
            Err(e) => {
                self.browse.edits_in_flight.pop_front();
                self.say(match e.kind() {
                    ErrorKind::BadRequest => e.to_string(),
                    _ => format!("the edit failed: {e}"),
                });
                return Vec::new();
            }
        };
        self.say(what);
        // The marked images this edit moved are where they were asked to go: their marks
        // have done their work.
        let moved = self.browse.edits_in_flight.pop_front().unwrap_or_default();
        let unmarked = moved
            .iter()
            .filter(|p| self.browse.selection.remove(*p))
            .count();
        if unmarked > 0 {
            self.say(format!(
                "{} · {} unmarked",
                self.status.message,
                images(unmarked)
            ));
        }
        if clustering.labels.len() != self.collection.len() {
            return Vec::new();
        }
        let row = self.base();
        self.set_clustering(*clustering, row)
    }

    /// A refit after `+` / `-` is done, or failed ([`crate::tui::app::Event::Reclustered`]).
    pub(crate) fn on_reclustered(
        &mut self,
        result: Result<Box<Clustering>, Error>,
    ) -> Vec<Command> {
        match result {
            Ok(clustering) => self.reclustered(*clustering),
            Err(e) => {
                self.status.busy = None;
                self.browse.pending_k = None;
                self.say(format!("clustering failed: {e}"));
                Vec::new()
            }
        }
    }

    /// What a refit could not carry over of the user's edits, said after what it did.
    pub(crate) fn on_notes(&mut self, notes: Vec<String>) -> Vec<Command> {
        if !notes.is_empty() {
            self.say(format!("{}; {}", self.status.message, notes.join("; ")));
        }
        Vec::new()
    }

    /// The question of `ask` for the prompt: (title, hint).
    pub fn question(&self, ask: &Ask) -> (String, String) {
        let number = self.current_cluster().map_or(0, |(n, _)| n);
        let moving = match self.browse.selection.len() {
            0 => "the current image".to_owned(),
            n => format!("the {} marked", images(n)),
        };
        match ask {
            Ask::Rename => (
                format!("name of cluster {number}"),
                "Enter renames (kept in the store; u undoes) · Esc cancels".to_owned(),
            ),
            Ask::MergeInto => (
                format!("merge cluster {number} into cluster number"),
                "Enter merges · Esc cancels".to_owned(),
            ),
            Ask::Split => (
                format!("split cluster {number} into how many"),
                "a number, or empty to choose inside it · Enter splits · Esc cancels".to_owned(),
            ),
            Ask::MoveTo => (
                format!("move {moving} to cluster"),
                "its number, or new · Enter moves · Esc cancels".to_owned(),
            ),
        }
    }

    /// The answer to a question: the edit to make, or why not (on the status line).
    pub(crate) fn answer(&mut self, ask: Ask, text: &str) -> Vec<Command> {
        let Some(clustering) = &self.clustering else {
            return Vec::new();
        };
        let index_of = |text: &str| -> Result<usize, String> {
            let n: usize = text
                .parse()
                .map_err(|_| format!("{text:?} is not a cluster number"))?;
            clustering
                .clusters
                .iter()
                .position(|c| c.number == n)
                .ok_or_else(|| format!("there is no cluster {n}"))
        };
        let edit = match ask {
            Ask::Rename if text.is_empty() => Err("a name cannot be empty".to_owned()),
            Ask::Rename => Ok(Edit::Name {
                cluster: self.browse.cluster,
                name: text.to_owned(),
            }),
            Ask::MergeInto => index_of(text).and_then(|into| {
                if into == self.browse.cluster {
                    Err("a cluster cannot be merged into itself".to_owned())
                } else {
                    Ok(Edit::Merge {
                        from: self.browse.cluster,
                        into,
                    })
                }
            }),
            Ask::Split => match text {
                "" | "auto" => Ok(Edit::Split {
                    cluster: self.browse.cluster,
                    k: None,
                }),
                t => match t.parse::<usize>() {
                    Ok(k) if k >= 2 => Ok(Edit::Split {
                        cluster: self.browse.cluster,
                        k: Some(k),
                    }),
                    _ => Err(format!("{t:?}: a split needs 2 parts or more")),
                },
            },
            Ask::MoveTo => {
                let to = match text {
                    "new" => Ok(None),
                    t => index_of(t).map(Some),
                };
                to.map(|to| Edit::Move {
                    images: self.moving_hashes(),
                    to,
                })
            }
        };
        match edit {
            Ok(edit) => {
                self.status.busy = Some("changing the clusters…".into());
                let moves_marked = matches!(edit, Edit::Move { .. });
                self.browse.edits_in_flight.push_back(if moves_marked {
                    self.browse.selection.iter().cloned().collect()
                } else {
                    Vec::new()
                });
                vec![Command::Edit(edit)]
            }
            Err(why) => {
                self.say(why);
                Vec::new()
            }
        }
    }

    /// The content hashes `v` moves: the marked images, else the current one.
    pub(crate) fn moving_hashes(&self) -> Vec<[u8; 32]> {
        if self.browse.selection.is_empty() {
            return self
                .current()
                .map(|i| self.collection.hashes[i])
                .into_iter()
                .collect();
        }
        (0..self.collection.len())
            .filter(|&i| self.is_marked(i))
            .map(|i| self.collection.hashes[i])
            .collect()
    }

    /// `u` / `U`: undo or redo an edit, once the vectors are in.
    pub(crate) fn history(&mut self, command: Command) -> Vec<Command> {
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        self.status.busy = Some(match command {
            Command::Undo => "undoing…".into(),
            _ => "redoing…".into(),
        });
        self.browse.edits_in_flight.push_back(Vec::new());
        vec![command]
    }

    /// `+` / `-`: one cluster more or fewer, fitted in the background.
    pub(crate) fn change_k(&mut self, delta: isize) -> Vec<Command> {
        let Some(c) = &self.clustering else {
            return Vec::new();
        };
        if c.request.method == Method::Dbscan {
            self.say("DBSCAN finds its own number of clusters (set --eps instead)");
            return Vec::new();
        }
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        let n = self.collection.len();
        // From the fitted k: edits (a split, a new cluster) change only the clusters shown.
        let fitted = if c.fitted_k > 0 { c.fitted_k } else { c.k };
        let from = self.browse.pending_k.unwrap_or(fitted);
        let most = n.saturating_sub(1).max(2);
        let k = (from as isize + delta).clamp(2, most as isize) as usize;
        if k == from {
            self.say(if delta < 0 {
                "k is 2, the fewest clusters there can be".to_owned()
            } else {
                format!("k is {most}, the most clusters {} allow", images(n))
            });
            return Vec::new();
        }
        self.browse.pending_k = (k != fitted).then_some(k);
        if self.browse.pending_k.is_none() {
            // Back where it is: nothing to fit (a refit under way is superseded by this one).
            self.status.busy = None;
            return vec![Command::Recluster(k)];
        }
        self.status.busy = Some(format!("clustering into {k}…"));
        vec![Command::Recluster(k)]
    }

    /// A new clustering of the same collection (after `+` / `-`).
    pub(crate) fn reclustered(&mut self, clustering: Clustering) -> Vec<Command> {
        if let Some(k) = self.browse.pending_k
            && clustering.request.k != KChoice::Fixed(k)
        {
            // An older request's answer: the newest one is still being fitted.
            return Vec::new();
        }
        self.browse.pending_k = None;
        self.status.busy = None;
        if clustering.labels.len() != self.collection.len() {
            // New images arrived while it was being fitted: it no longer fits the collection.
            self.say("the collection changed while clustering; press + or - again");
            return Vec::new();
        }
        self.say(format!(
            "{} clusters by {}",
            clustering.k,
            clustering.request.method.name()
        ));
        let row = self.base();
        self.set_clustering(clustering, row)
    }
}
