//! The clusterer: refits for `+` / `-`, edits, undos and redos, facet switches (`f`), and
//! moving or trashing near-duplicates, in order, on one session.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, mpsc};

use super::Msg;
use crate::error::Error;
use crate::error::Result;
use crate::session::{Action, Collection, Edit, KChoice, Session, Space, Status, Wanted};
use crate::tui::app::{Event, images};

/// What the clusterer does: a refit for `+` / `-`, or an edit of the clustering.
pub(in crate::tui) enum Job {
    Refit(usize, Arc<Collection>),
    /// Keep the first file of each group, move (into the folder) or trash the rest.
    Resolve(
        Vec<(PathBuf, Vec<PathBuf>)>,
        Option<PathBuf>,
        Arc<Collection>,
    ),
    Edit(Edit, Arc<Collection>),
    Undo(Arc<Collection>),
    Redo(Arc<Collection>),
    /// Compare by this space from now on (the facet at this index of the app's cycle).
    Facet(usize, Space),
}

/// Fits new clusterings for `+` / `-` and applies edits, undos and redos, in order, on one
/// session (so the saved clustering and its edit log change one at a time). A refit waiting
/// behind a newer refit is skipped: holding `+` fits once. A facet switch that loads also
/// sets `space`, which the loader follows.
pub(in crate::tui) fn spawn_clusterer(
    mut session: Session,
    space: Arc<Mutex<Space>>,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<Job> {
    let (jobs, rx) = mpsc::channel::<Job>();
    std::thread::spawn(move || {
        let mut queue = VecDeque::new();
        while let Some(job) = next_job(&mut queue, &rx) {
            if matches!(job, Job::Refit(..)) && queue.iter().any(|j| matches!(j, Job::Refit(..))) {
                continue;
            }
            let event = serve(&mut session, job, &space, &tx);
            if tx.send(event.into()).is_err() {
                break;
            }
        }
    });
    jobs
}

/// The next job: the first of those waiting, after taking in all that have come (`None`
/// once the event loop is gone and nothing waits).
fn next_job(queue: &mut VecDeque<Job>, rx: &mpsc::Receiver<Job>) -> Option<Job> {
    if queue.is_empty() {
        queue.push_back(rx.recv().ok()?);
    }
    queue.extend(rx.try_iter());
    queue.pop_front()
}

/// Does `job`; returns the event that tells the app how it went (a refit or a facet switch
/// also sends its clustering before it). `space` is the loader's, which a switch sets.
fn serve(session: &mut Session, job: Job, space: &Mutex<Space>, tx: &mpsc::Sender<Msg>) -> Event {
    match job {
        Job::Refit(k, c) => {
            let wanted = Wanted {
                k: Some(KChoice::Fixed(k)),
                ..Default::default()
            };
            match session.clustering(&c, &wanted) {
                Ok((clustering, _, notes)) => {
                    let _ = tx.send(Event::Reclustered(Ok(Box::new(clustering))).into());
                    Event::Notes(notes)
                }
                Err(e) => Event::Reclustered(Err(e)),
            }
        }
        Job::Edit(edit, c) => {
            let what = edited(&edit);
            Event::Edited(session.edit(&c, edit).map(|(clustering, notes)| {
                let mut said = vec![what];
                said.extend(notes);
                (Box::new(clustering), said.join("; "))
            }))
        }
        Job::Resolve(groups, folder, c) => {
            Event::Resolved(resolve(session, &groups, folder.as_deref(), &c))
        }
        Job::Undo(c) => Event::Edited(session.undo(&c).and_then(|done| {
            done.map(|(cl, what)| (Box::new(cl), what))
                .ok_or_else(|| Error::bad_request("nothing to undo"))
        })),
        Job::Redo(c) => Event::Edited(session.redo(&c).and_then(|done| {
            done.map(|(cl, what)| (Box::new(cl), what))
                .ok_or_else(|| Error::bad_request("nothing to redo"))
        })),
        Job::Facet(index, wanted) => switch(session, index, wanted, space, tx),
    }
}

/// Compares by `wanted` from now on: sends its collection and clustering, and (when they
/// load) sets `shared` for the loader; the session stays on its space when they do not.
fn switch(
    session: &mut Session,
    index: usize,
    wanted: Space,
    shared: &Mutex<Space>,
    tx: &mpsc::Sender<Msg>,
) -> Event {
    let before = session.space().clone();
    session.set_space(wanted.clone());
    let loaded = session.images().and_then(|c| {
        let clustering = session.clustering_to_show(&c, &|_| {})?;
        Ok((c, clustering))
    });
    match loaded {
        Ok((c, clustering)) => {
            *shared.lock().expect("the facet lock") = wanted;
            let _ = tx.send(Event::Loaded(Arc::new(c), Box::new(clustering)).into());
            Event::FacetSwitched(index, Ok(()))
        }
        Err(e) => {
            session.set_space(before);
            Event::FacetSwitched(index, Err(e))
        }
    }
}

/// Moves or trashes the copies of each group, keeping its first file (the user's keeper),
/// journalled in the store like `imgtui dups --action`; returns how it went in one line.
fn resolve(
    session: &mut Session,
    groups: &[(PathBuf, Vec<PathBuf>)],
    folder: Option<&std::path::Path>,
    c: &Collection,
) -> Result<String> {
    let plan = session.plan_kept(c, groups, folder)?;
    let report = session.dedupe_execute(&plan, &AtomicBool::new(false), &|_| {})?;
    let verb = match &plan.action {
        Action::Move(f) => format!("moved to {}", crate::text::shown(f)),
        _ => "moved to the trash".to_owned(),
    };
    let mut said = format!(
        "{} {verb} ({}; imgtui dups --undo puts them back)",
        images(report.done()),
        crate::text::bytes(report.bytes())
    );
    let left = report.outcomes.iter().find_map(|o| match &o.status {
        Status::Left(why) => Some((&o.from, why)),
        _ => None,
    });
    if let Some((from, why)) = left {
        said += &format!(
            "; {} left in place ({}: {why})",
            report.left(),
            crate::text::shown(from)
        );
    }
    Ok(said)
}

/// The status line's words for an edit done.
fn edited(edit: &Edit) -> String {
    let what = match edit {
        Edit::Name { name, .. } => format!("renamed to \"{}\"", name.trim()),
        Edit::Merge { .. } => "merged".to_owned(),
        Edit::Split { k: Some(k), .. } => format!("split into {k}"),
        Edit::Split { k: None, .. } => "split".to_owned(),
        Edit::Move {
            images: moved,
            to: None,
        } => {
            format!("{} moved to a new cluster", images(moved.len()))
        }
        Edit::Move { images: moved, .. } => format!("{} moved", images(moved.len())),
    };
    format!("{what} (u undoes)")
}
