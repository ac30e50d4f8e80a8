//! The loader: shows the saved clustering at once, brings the index up to date, fits or
//! places the clusters, finds the near-duplicates, then follows the live folder.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use super::Msg;
use crate::error::{Error, Result};
use crate::session::{
    Change, Collection, KeepRule, Progress, Reopener, Session, Space, Summary, Watching,
};
use crate::tui::app::Event;

/// Shows the saved clustering at once if there is one, then brings the index up to date,
/// assigns new images to the clusters (or fits them on a first run), and looks for
/// near-duplicates. `indexing` is raised while the index is written (a quit then waits for
/// the batch in hand to be committed). Images that come later are shown in `space`, the
/// facet `f` chose last.
pub(in crate::tui) fn spawn_loader(
    session: Reopener,
    space: Arc<Mutex<Space>>,
    cancel: Arc<AtomicBool>,
    indexing: Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
) {
    std::thread::spawn(move || {
        let result = session.open().and_then(|session| {
            let rules = session.keep_rules(None)?;
            let mut loader = Loader {
                session,
                cancel: &cancel,
                indexing: &indexing,
                tx: &tx,
                space: &space,
                threshold: 0.0,
                rules,
            };
            loader.threshold = loader.session.config().duplicates.threshold;
            loader.load()
        });
        if let Err(e) = result {
            let _ = tx.send(Msg::LoadFailed(e));
        }
    });
}

/// What the loader works with.
struct Loader<'a> {
    session: Session,
    cancel: &'a AtomicBool,
    indexing: &'a AtomicBool,
    tx: &'a mpsc::Sender<Msg>,
    /// What images are compared by (`f` changes it).
    space: &'a Mutex<Space>,
    /// The near-duplicates' similarity and keep rules (settings `duplicates.*`).
    threshold: f32,
    rules: Vec<KeepRule>,
}

impl Loader<'_> {
    fn send(&self, event: Event) {
        let _ = self.tx.send(event.into());
    }

    fn load(&mut self) -> Result<()> {
        let shown_early = self.warm_start()?;
        // Watched from before the first check, so nothing added meanwhile is missed.
        let mut watch = self.session.watch();
        self.send(Event::Watching(watch.mode().clone()));
        let summary = self.reindex()?;
        if summary.interrupted {
            return Err(Error::interrupted());
        }
        // The first pass sets what is skipped; later passes tell only what changes.
        let _ = self.assess(&mut watch, &summary);
        if !shown_early || summary.changed_collection() {
            let c = self.collection()?;
            self.fit(c)?;
        }
        // A store made before thumbnails were kept gets them now, behind the screen (the
        // grid makes those it shows first, on its own worker).
        if self.session.config().index.thumbnails {
            let progress = |done, total| self.send(Event::Thumbnailing(done, total));
            self.session.fill_thumbnails(progress, self.cancel)?;
        }
        self.follow(&mut watch)
    }

    /// Warm start: what the store already knows is on screen while the folder is checked.
    /// The saved clustering places its images without their vectors, so it is shown first
    /// and the vectors (most of the wait: 1.1 s at 100,000 images) are read behind it.
    /// Returns whether anything was shown.
    fn warm_start(&mut self) -> Result<bool> {
        let Some(warm) = self.session.warm_start()? else {
            return Ok(false);
        };
        let early = warm.shown.map(|(known, clustering)| {
            let known = Arc::new(known);
            self.send(Event::Loaded(known.clone(), Box::new(clustering)));
            known
        });
        let c = self.session.read_vectors(warm.files)?;
        match early {
            Some(known) if known.paths == c.paths => {
                let c = Arc::new(c);
                self.send(Event::Vectors(c.clone()));
                self.prepare(&c);
            }
            _ => self.fit(c)?,
        }
        Ok(true)
    }

    /// What a pass changed ([`Watching::assess`]); the screen hears when the folders it
    /// reached through symlinks changed how the folder is watched.
    fn assess(&self, watch: &mut Watching, summary: &Summary) -> Option<Change> {
        let before = watch.mode().clone();
        let change = watch.assess(summary);
        if *watch.mode() != before {
            self.send(Event::Watching(watch.mode().clone()));
        }
        change
    }

    /// The live folder: each change is indexed, new images join the nearest cluster of the
    /// saved clustering, deleted ones drop out; the screen keeps its cursor.
    fn follow(&mut self, watch: &mut Watching) -> Result<()> {
        while !self.cancel.load(Ordering::SeqCst) {
            if !watch.wait(Duration::from_millis(250)) {
                continue;
            }
            let summary = self.reindex()?;
            if summary.interrupted {
                break;
            }
            let Some(change) = self.assess(watch, &summary) else {
                continue;
            };
            if change.collection_changed() {
                let c = self.collection()?;
                self.fit(c)?;
            }
            self.send(Event::FolderChanged(change));
        }
        Ok(())
    }

    /// With the vectors read: makes what neighbour and near-duplicate searches need (while
    /// the user looks at the clusters, so that neighbour searches do not pause for it), and
    /// finds the near-duplicates, in a collection small enough
    /// ([`Session::duplicates_at_start`]; a larger one is searched when `d` asks).
    fn prepare(&self, c: &Arc<Collection>) {
        self.session.prepare_search(c);
        if !Session::duplicates_at_start(c) {
            return;
        }
        // A store that cannot be read now: grouped without the marks and, without the store's
        // pixels, nothing is confirmed and no group is offered (the next load says why).
        let apart = self.session.not_duplicates().unwrap_or_default();
        let (groups, keepers) =
            self.session
                .near_duplicates(c, self.threshold, &self.rules, &apart);
        self.send(Event::Duplicates(groups));
        self.send(Event::Keepers(keepers));
    }

    /// The collection in the space `f` chose last.
    fn collection(&mut self) -> Result<Collection> {
        let space = self.space.lock().expect("the facet lock").clone();
        if space != *self.session.space() {
            self.session.set_space(space);
        }
        self.session.collection()
    }

    /// Shows the clustering of `c`; fewer than 2 images are shown as they are (the live
    /// folder may bring more).
    fn fit(&mut self, c: Collection) -> Result<()> {
        let tx = Mutex::new(self.tx.clone());
        let progress = |stage| {
            let _ = tx
                .lock()
                .expect("progress lock")
                .send(Event::Fitting(stage).into());
        };
        let clustering = self.session.clustering_to_show(&c, &progress)?;
        let c = Arc::new(c);
        self.send(Event::Loaded(c.clone(), Box::new(clustering)));
        self.prepare(&c);
        Ok(())
    }

    /// Brings the index up to date; a quit meanwhile waits for the batch in hand
    /// (`indexing`).
    fn reindex(&mut self) -> Result<Summary> {
        let progress_tx = Mutex::new(self.tx.clone());
        let progress = |p: Progress| {
            let _ = progress_tx
                .lock()
                .expect("progress lock")
                .send(Event::Progress(p).into());
        };
        self.indexing.store(true, Ordering::SeqCst);
        let summary = self.session.update_index(&progress, self.cancel);
        self.indexing.store(false, Ordering::SeqCst);
        self.send(Event::Clustering);
        summary
    }
}
