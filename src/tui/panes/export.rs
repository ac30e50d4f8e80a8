//! Exporting (`e`): the prompt for the folder, the copy on a worker with its progress, Esc
//! to stop it, and the report.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind};
use crate::session::{ExportReport, folder_name};
use crate::tui::app::{App, Command, Overlay};

impl App {
    /// `e`: the prompt, with the suggested folder (a fresh one is looked for on a worker).
    pub(crate) fn open_export(&mut self) -> Vec<Command> {
        if self.status.exporting.is_some() {
            self.say("an export is under way (Esc stops it)");
            return Vec::new();
        }
        let suggested = self.export_default();
        self.overlay = Overlay::Export(suggested.clone());
        if suggested.is_empty() {
            return Vec::new();
        }
        vec![Command::FreshExportFolder(suggested)]
    }

    /// Enter in the export prompt: copy the files to `target` on a worker.
    pub(crate) fn start_export(&mut self, target: &str) -> Vec<Command> {
        let target = PathBuf::from(target);
        if target.as_os_str().is_empty() {
            return Vec::new();
        }
        let files = self.export_files();
        self.status.exporting = Some(Exporting {
            target: target.clone(),
            done: 0,
            total: files.len(),
            stopping: false,
        });
        vec![Command::Export(files, target)]
    }

    /// The export has copied `done` of its files.
    pub(crate) fn on_export_progress(&mut self, done: usize) -> Vec<Command> {
        if let Some(x) = &mut self.status.exporting {
            x.done = done;
        }
        Vec::new()
    }

    /// Esc while exporting: it stops after the file in hand.
    pub(crate) fn stop_export(&mut self) -> Vec<Command> {
        if let Some(x) = &mut self.status.exporting {
            x.stopping = true;
        }
        vec![Command::CancelExport]
    }

    /// A fresher folder than the one offered ([`crate::tui::app::Event::ExportSuggested`]),
    /// taken only while the prompt still holds the suggestion as it was offered.
    pub(crate) fn on_export_suggested(&mut self, suggested: String, fresh: String) -> Vec<Command> {
        if let Overlay::Export(text) = &mut self.overlay
            && *text == suggested
        {
            *text = fresh;
        }
        Vec::new()
    }

    /// The export ended, or was refused ([`crate::tui::app::Event::Exported`]).
    pub(crate) fn on_exported(&mut self, result: Result<ExportReport, Error>) -> Vec<Command> {
        self.status.exporting = None;
        self.say(match result {
            Ok(r) => export_message(&r),
            Err(e) if e.kind() == ErrorKind::BadRequest => format!("export refused: {e}"),
            Err(e) => format!("export failed: {e}"),
        });
        Vec::new()
    }

    /// Suggested export folder: for the marked images `imgtui-export/selection`, else for the
    /// current cluster, e.g. `imgtui-export/03-jellyfish`.
    pub fn export_default(&self) -> String {
        if !self.browse.selection.is_empty() {
            return "imgtui-export/selection".to_owned();
        }
        match self.current_cluster() {
            Some((number, name)) => format!("imgtui-export/{}", folder_name(number, name)),
            None => String::new(),
        }
    }

    /// What `e` exports: the marked images when there are any (in collection order), else
    /// the current cluster.
    pub(crate) fn export_files(&self) -> Vec<PathBuf> {
        if self.browse.selection.is_empty() {
            return self.browse.members[self.browse.cluster]
                .iter()
                .map(|&i| self.collection.paths[i].clone())
                .collect();
        }
        self.collection
            .paths
            .iter()
            .filter(|p| self.browse.selection.contains(*p))
            .cloned()
            .collect()
    }
}

/// An export under way: where to, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporting {
    /// The target folder.
    pub target: PathBuf,
    /// Files copied so far.
    pub done: usize,
    /// Files to copy.
    pub total: usize,
    /// Esc was pressed: it stops after the file in hand.
    pub stopping: bool,
}

/// How an export went, in one line: files copied, already there, failed, not attempted.
fn export_message(r: &ExportReport) -> String {
    let mut parts = vec![format!(
        "{} files copied to {}",
        r.written,
        crate::text::shown(&r.target)
    )];
    if r.already_there > 0 {
        parts.push(format!("{} already there", r.already_there));
    }
    if let Some((path, reason)) = r.failed.first() {
        parts.push(format!(
            "{} failed ({}: {reason})",
            r.failed.len(),
            crate::text::shown(path)
        ));
    }
    if r.not_attempted > 0 {
        parts.push(format!("stopped: {} not copied", r.not_attempted));
    }
    parts.join(", ")
}
