//! `f`: in what way images are similar. Cycles the session's facets (content, colour,
//! texture, and the setting `facet` when it is a blend); the clusterer loads the vectors of
//! the next one and its clustering, and neighbours, grid, map and clusters follow.

use crate::session::Space;
use crate::tui::app::{App, Command, Notice};

/// The facets `f` cycles and the one on screen.
#[derive(Debug, Default)]
pub struct Facets {
    /// The spaces in the order `f` visits them (never empty once the explorer starts).
    pub(crate) spaces: Vec<Space>,
    /// The one on screen: an index into `spaces`.
    pub(crate) current: usize,
    /// The one being loaded, if `f` was pressed and its clustering is not in yet.
    pub(crate) pending: Option<usize>,
}

impl Facets {
    /// The spaces `f` cycles: every facet, then `setting` when it is a blend; `setting` is
    /// the one on screen at first.
    pub fn new(setting: &Space) -> Facets {
        let mut spaces: Vec<Space> = crate::session::FACETS.map(Space::of).to_vec();
        if !spaces.contains(setting) {
            spaces.push(setting.clone());
        }
        let current = spaces.iter().position(|s| s == setting).unwrap_or(0);
        Facets {
            spaces,
            current,
            pending: None,
        }
    }

    /// How the status line says what images are compared by: "" for content, else e.g.
    /// " · by colour".
    pub fn shown(&self) -> String {
        match self.spaces.get(self.current) {
            Some(s) if *s != Space::default() => format!(" · by {s}"),
            _ => String::new(),
        }
    }
}

impl App {
    /// `f`: the next facet, loaded in the background.
    pub(crate) fn next_facet(&mut self) -> Vec<Command> {
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        let n = self.facets.spaces.len();
        if n < 2 {
            return Vec::new();
        }
        let next = (self.facets.pending.unwrap_or(self.facets.current) + 1) % n;
        self.facets.pending = Some(next);
        let space = self.facets.spaces[next].clone();
        self.say(format!(
            "similar by {space}: loading its vectors and clusters…"
        ));
        vec![Command::SwitchFacet(next, space)]
    }

    /// The clusterer switched to facet `index` (its collection and clustering came just
    /// before), or could not.
    pub(crate) fn on_facet_switched(
        &mut self,
        index: usize,
        result: Result<(), crate::error::Error>,
    ) -> Vec<Command> {
        if self.facets.pending == Some(index) {
            self.facets.pending = None;
        }
        match result {
            Ok(()) => {
                self.facets.current = index;
                let space = &self.facets.spaces[index];
                self.say(format!(
                    "similar by {space}: neighbours, map and clusters follow (f: the next)"
                ));
                vec![Command::FindDuplicates(self.duplicates.threshold)]
            }
            Err(e) => {
                self.say(format!("not switched: {e}"));
                Vec::new()
            }
        }
    }
}
