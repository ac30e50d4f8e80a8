//! Search by words (`t`): a query line, then the images that fit it best, browsed as the
//! similar images are (`s`), in the grid or the list, Esc returning. Needs a CLIP-type model
//! (a spec with a text encoder); the words are embedded on a worker.

use std::sync::Arc;

use crate::error::Error;
use crate::session::{Collection, Neighbour};
use crate::tui::app::{App, Command, Focus, Overlay};
use crate::tui::panes::status::Notice;

/// How many images a search shows.
pub const SEARCH_RESULTS: usize = 60;

impl App {
    /// `t`: the query line (the last query, to edit).
    pub(crate) fn open_search(&mut self) -> Vec<Command> {
        if !self.neighbours.searchable {
            self.say(format!(
                "t searches by words with a CLIP-type model; {} has none (docs/guide/models.md)",
                self.status.model
            ));
            return Vec::new();
        }
        if !self.has_vectors() {
            self.notify(Notice::WaitingForVectors);
            return Vec::new();
        }
        let last = self.neighbours.query.clone().unwrap_or_default();
        self.overlay = Overlay::Search(last);
        Vec::new()
    }

    /// Enter in the query line: search for `text` on a worker.
    pub(crate) fn start_search(&mut self, text: String) -> Vec<Command> {
        if text.trim().is_empty() {
            self.say("the query is empty: type some words");
            return Vec::new();
        }
        self.overlay = Overlay::None;
        self.say(format!("searching for {}…", crate::text::escape(&text)));
        vec![Command::Search(text, SEARCH_RESULTS)]
    }

    /// The images found for `query` in `of`, or why there are none: shown as the similar
    /// images are, with the query in the title. An answer for a collection no longer on
    /// screen is dropped.
    pub(crate) fn on_searched(
        &mut self,
        query: String,
        found: Result<Vec<Neighbour>, Error>,
        of: &Arc<Collection>,
    ) -> Vec<Command> {
        if !Arc::ptr_eq(of, &self.collection) {
            return Vec::new();
        }
        let found = match found {
            Ok(found) if !found.is_empty() => found,
            Ok(_) => {
                self.say("no images to search");
                return Vec::new();
            }
            // The query comes back to be mended, the reason on the status line.
            Err(e) => {
                self.say(e.explained(None));
                self.overlay = Overlay::Search(query);
                return Vec::new();
            }
        };
        self.neighbours.list = found;
        self.neighbours.of = self.base();
        self.neighbours.ready = true;
        self.neighbours.wanted = false;
        self.neighbours.cursor = 0;
        self.neighbours.query = Some(query);
        self.focus = Focus::Similar;
        self.say("search results: ↑↓ to browse, t searches again, Esc returns");
        self.preview_command()
    }
}
