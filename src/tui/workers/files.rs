//! Files out: exporting a cluster's files, and drawing and saving a montage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use image::DynamicImage;

use super::Msg;
use crate::error::{Error, Result};
use crate::session::{ExportReport, Mode, Session};
use crate::tui::app::Event;

/// Copies `files` into `target` on a thread of its own, with `session` (its own connection),
/// telling the app of each file done and of the end. `exporting` is lowered at the end;
/// raising `cancel` stops the export after the file in hand.
pub(in crate::tui) fn spawn_export(
    session: Session,
    files: Vec<PathBuf>,
    target: PathBuf,
    cancel: Arc<AtomicBool>,
    exporting: Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
) {
    std::thread::spawn(move || {
        let result = export_files(&session, &files, &target, &cancel, &tx);
        exporting.store(false, Ordering::SeqCst);
        let _ = tx.send(Event::Exported(result).into());
    });
}

/// Copies a cluster's files into `target` (refusing a folder inside the collection, and one
/// that holds files: the explorer has no way to merge into it), reporting each file done.
pub(in crate::tui) fn export_files(
    session: &Session,
    files: &[PathBuf],
    target: &Path,
    cancel: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
) -> Result<ExportReport> {
    session.check_outside(target)?;
    if std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::bad_request(format_args!(
            "{} already holds files; press e and type another folder (nothing is overwritten)",
            crate::text::shown(target)
        )));
    }
    let progress = |done| {
        let _ = tx.send(Event::ExportProgress(done).into());
    };
    session.export(files, target, Mode::default(), false, &progress, cancel)
}

/// Draws a montage on a thread of its own, with `session` (its own connection), and saves
/// it in `imgtui-montage/`, in the working folder or, when that is inside the collection,
/// beside the collection ([`Session::save_montage`]).
pub(in crate::tui) fn spawn_montage(
    session: Session,
    files: Vec<PathBuf>,
    stem: String,
    tx: mpsc::Sender<Msg>,
) {
    std::thread::spawn(move || {
        let _ = match session.save_montage(&files, &stem) {
            Ok((path, sheet)) => tx.send(Msg::Montage(path, DynamicImage::ImageRgb8(sheet))),
            Err(e) => tx.send(Event::Montage(Err(e)).into()),
        };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_into_a_folder_with_files_says_to_type_another() {
        let tmp = tempfile::tempdir().unwrap();
        let (root, target) = (tmp.path().join("images"), tmp.path().join("out"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&target).unwrap();
        let image = root.join("a.png");
        std::fs::write(&image, b"an image").unwrap();
        std::fs::write(target.join("there.png"), b"already there").unwrap();
        let session = Session::with_pixels(&root, &tmp.path().join("s.sqlite"));
        let (tx, _rx) = mpsc::channel();
        let cancel = AtomicBool::new(false);
        let err = export_files(&session, &[image], &target, &cancel, &tx).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        let text = err.to_string();
        assert!(text.contains("type another folder"), "{text}");
        assert!(!text.contains("merge"), "the explorer cannot merge: {text}");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    }
}
