//! Carries out the app's commands: each goes to the worker that does it, or is done at once
//! when it is quick (the clipboard, a fresh export folder's name).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::Msg;
use super::clusterer::{Job, spawn_clusterer};
use super::files::{spawn_export, spawn_montage};
use super::pictures::{
    ThumbnailRequest, spawn_comparer, spawn_map_painter, spawn_previewer, spawn_thumbnailer,
};
use crate::error::Result;
use crate::session::{Collection, KeepRule, Session, Space};
use crate::tui::app::{App, Command, Event, MapPicture};
use crate::tui::screen::Screen;
use crate::tui::terminal;

/// The workers that carry out the app's commands.
pub(in crate::tui) struct Workers {
    /// The session of the event loop's thread: quick questions, and the sessions of the
    /// workers started for one command (an export, a montage).
    session: Session,
    clusterer: mpsc::Sender<Job>,
    previews: mpsc::Sender<PathBuf>,
    /// The compare view's facts and pictures: (the images, those to decode).
    comparer: mpsc::Sender<(Vec<PathBuf>, Vec<PathBuf>)>,
    thumbnails: mpsc::Sender<ThumbnailRequest>,
    map_picture: mpsc::Sender<(MapPicture, (u16, u16))>,
    neighbours: mpsc::Sender<(Arc<Collection>, usize, usize)>,
    /// Raised by Esc (and on quit): the export stops after the file in hand.
    pub export_cancel: Arc<AtomicBool>,
    /// Whether an export is copying.
    pub exporting: Arc<AtomicBool>,
    /// TERM names a terminal without OSC 52 (or none).
    dumb: bool,
    /// The keep rules of the near-duplicates (setting `duplicates.keep`).
    keep: Vec<KeepRule>,
    tx: mpsc::Sender<Msg>,
}

impl Workers {
    /// Starts the long-lived workers, each on a session of its own (`session` stays with the
    /// event loop).
    /// `space` is what the clusterer compares by, shared with the loader (`f` changes it).
    pub fn start(
        session: Session,
        space: Arc<Mutex<Space>>,
        dumb: bool,
        tx: &mpsc::Sender<Msg>,
    ) -> Result<Workers> {
        Ok(Workers {
            clusterer: spawn_clusterer(session.reopen()?, space.clone(), tx.clone()),
            previews: spawn_previewer(session.decode_options().clone(), tx.clone()),
            comparer: spawn_comparer(session.decode_options().clone(), tx.clone()),
            thumbnails: spawn_thumbnailer(session.reopen()?, tx.clone()),
            map_picture: spawn_map_painter(session.reopen()?, tx.clone()),
            neighbours: spawn_neighbours(session.reopen()?, space, tx.clone()),
            export_cancel: Arc::new(AtomicBool::new(false)),
            exporting: Arc::new(AtomicBool::new(false)),
            dumb,
            keep: session.keep_rules(None)?,
            tx: tx.clone(),
            session,
        })
    }

    /// The event loop's session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    fn send(&self, event: Event) {
        let _ = self.tx.send(event.into());
    }

    /// Hands `command` to the worker that does it.
    pub fn execute(&self, command: Command, app: &App, screen: &mut Screen) {
        let c = || app.collection.clone();
        match command {
            Command::Quit => {}
            Command::LoadPreview(path) => {
                if !screen.show_cached(&path) {
                    screen.clear_preview();
                    let _ = self.previews.send(path);
                }
            }
            Command::LoadCompare(paths) => {
                let missing = screen.compare(&paths);
                let _ = self.comparer.send((paths, missing));
            }
            Command::FindNeighbours(row, n) => drop(self.neighbours.send((c(), row, n))),
            Command::Search(query, n) => self.search(c(), query, n),
            Command::Export(files, target) => self.export(files, target),
            Command::CancelExport => self.export_cancel.store(true, Ordering::SeqCst),
            Command::FreshExportFolder(suggested) => {
                let fresh = self.session.fresh_export_folder(Path::new(&suggested));
                let fresh = fresh.to_string_lossy().into_owned();
                self.send(Event::ExportSuggested(suggested, fresh));
            }
            Command::Recluster(k) => drop(self.clusterer.send(Job::Refit(k, c()))),
            Command::SwitchFacet(index, space) => {
                drop(self.clusterer.send(Job::Facet(index, space)))
            }
            Command::Edit(edit) => drop(self.clusterer.send(Job::Edit(edit, c()))),
            Command::FindDuplicates(threshold) => self.find_duplicates(c(), threshold),
            Command::NotDuplicates(pairs, mark, threshold) => {
                let c = c();
                let decided = if mark {
                    self.session.mark_not_duplicates(&c, &pairs)
                } else {
                    self.session.unmark_not_duplicates(&c, &pairs)
                };
                self.send(Event::Decided(mark, decided));
                self.find_duplicates(c, threshold);
            }
            Command::ResolveDuplicates(groups, folder) => {
                let _ = self.clusterer.send(Job::Resolve(groups, folder, c()));
            }
            Command::FindOutliers => {
                let (c, tx) = (c(), self.tx.clone());
                std::thread::spawn(move || {
                    let found = Session::outliers(&c);
                    let _ = tx.send(Event::Outliers(c, found).into());
                });
            }
            Command::Undo => drop(self.clusterer.send(Job::Undo(c()))),
            Command::Redo => drop(self.clusterer.send(Job::Redo(c()))),
            Command::Montage(files, stem) => match self.session.reopen() {
                Ok(session) => spawn_montage(session, files, stem, self.tx.clone()),
                Err(e) => self.send(Event::Montage(Err(e))),
            },
            Command::Copy(text, n) => self.send(Event::Copied(self.copy(&text, n))),
            Command::DrawMap(request) => {
                let ((w, h), _) = screen.graphics().cell();
                let _ = self.map_picture.send((request, (w, h)));
            }
            Command::LoadThumbnails(images, tile, page) => {
                if let Some(request) = screen.thumbnails_missing(images, tile, page) {
                    let _ = self.thumbnails.send(request);
                }
            }
        }
    }

    /// Starts copying `files` into `target`, on a worker with a session of its own.
    fn export(&self, files: Vec<PathBuf>, target: PathBuf) {
        let session = match self.session.reopen() {
            Ok(session) => session,
            Err(e) => return self.send(Event::Exported(Err(e))),
        };
        self.export_cancel.store(false, Ordering::SeqCst);
        self.exporting.store(true, Ordering::SeqCst);
        let (cancel, exporting) = (self.export_cancel.clone(), self.exporting.clone());
        spawn_export(session, files, target, cancel, exporting, self.tx.clone());
    }

    /// Finds the near-duplicate groups of `c` at `threshold` and their keepers, on a thread
    /// of its own (every request is answered, in [`Event::Duplicates`] and
    /// [`Event::Keepers`]).
    fn find_duplicates(&self, c: Arc<Collection>, threshold: f32) {
        let (tx, rules) = (self.tx.clone(), self.keep.clone());
        let apart = self.session.not_duplicates().unwrap_or_default();
        let reopener = self.session.reopener();
        std::thread::spawn(move || {
            // Without the store's pixels nothing is confirmed, and no group is offered.
            let (groups, keepers) = match reopener.open() {
                Ok(session) => session.near_duplicates(&c, threshold, &rules, &apart),
                Err(_) => (Vec::new(), Vec::new()),
            };
            let _ = tx.send(Event::Duplicates(groups).into());
            let _ = tx.send(Event::Keepers(keepers).into());
        });
    }

    /// Searches `c` for `query` on a thread of its own (the text encoder is loaded on first
    /// use, shared by later searches), answered by [`Event::Searched`].
    fn search(&self, c: Arc<Collection>, query: String, n: usize) {
        let (tx, reopener) = (self.tx.clone(), self.session.reopener());
        std::thread::spawn(move || {
            let found = reopener.open().and_then(|session| {
                let terms = crate::session::Signed::parse(
                    std::slice::from_ref(&query),
                    Some(session.root()),
                )
                .map_err(crate::error::Error::bad_request)?;
                session.search(&c, &session.query_vector(&terms)?, n)
            });
            let _ = tx.send(
                Event::Searched {
                    query,
                    found,
                    of: c,
                }
                .into(),
            );
        });
    }

    /// Puts `text` (`n` paths) on the clipboard with OSC 52; returns `n`, or why not.
    fn copy(&self, text: &str, n: usize) -> std::result::Result<usize, String> {
        if self.dumb {
            Err("this terminal (TERM) has no clipboard sequence".to_owned())
        } else if text.len() > terminal::CLIPBOARD_MAX {
            Err(format!(
                "{n} paths are {} kB, more than terminals take at once ({} kB)",
                text.len() / 1000,
                terminal::CLIPBOARD_MAX / 1000
            ))
        } else {
            let mut out = std::io::stdout();
            out.write_all(terminal::osc52(text).as_bytes())
                .and_then(|()| out.flush())
                .map(|()| n)
                .map_err(|e| e.to_string())
        }
    }
}

/// Finds the nearest neighbours of one image at a time (the newest request), in the space
/// `f` chose last (`space`, shared with the loader and the clusterer): an 8-bit collection's
/// re-rank reads that space's exact vectors. Should the store fail to give them, the
/// neighbours come as the codes rank them.
fn spawn_neighbours(
    mut session: Session,
    space: Arc<Mutex<Space>>,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<(Arc<Collection>, usize, usize)> {
    super::spawn_latest(move |(c, row, n): (Arc<Collection>, usize, usize)| {
        let wanted = space.lock().expect("the facet lock").clone();
        if wanted != *session.space() {
            session.set_space(wanted);
        }
        let found = session.neighbours_of(&c, row, n).unwrap_or_else(|_| {
            Session::similar(
                &c,
                &c.row(row),
                crate::session::Select::Nearest(n),
                Some(row),
            )
        });
        tx.send(Event::Neighbours { row, found, of: c }.into())
            .is_ok()
    })
}
