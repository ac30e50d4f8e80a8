//! Watching a folder for images that are added, changed, renamed or deleted, so a collection
//! that grows while it is explored stays up to date.
//!
//! File system events (inotify on Linux, through the `notify` crate) are debounced: a burst of
//! writes (a copy of a hundred files, an editor saving in three steps) becomes one tick once
//! the folder has been quiet for the debounce time. Only image files count (see
//! [`crate::scan::is_image_path`]), so a store or a temporary file inside the folder never
//! wakes it. Where events cannot be had — inotify's limit on watched folders reached, a network
//! file system, a platform without them — it ticks every `poll_every` instead, and says why.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

/// How a folder is watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMode {
    /// File system events, debounced.
    Events,
    /// A rescan at a fixed interval, because events are not available: why.
    Polling {
        /// Time between rescans.
        every: Duration,
        /// Why events could not be used (the watcher's error).
        why: String,
    },
}

impl std::fmt::Display for WatchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchMode::Events => f.write_str("watching the folder"),
            WatchMode::Polling { every, why } => write!(
                f,
                "rescanning every {} s (no file events: {why})",
                every.as_secs()
            ),
        }
    }
}

/// A folder being watched: [`FolderWatch::wait`] says when it may have changed.
pub struct FolderWatch {
    ticks: mpsc::Receiver<()>,
    mode: WatchMode,
    /// Keeps the watcher alive (dropping it stops the events).
    _events: Option<Debouncer<RecommendedWatcher>>,
}

impl FolderWatch {
    /// Starts watching `root` and everything below it, debouncing events by `debounce`; falls
    /// back to a tick every `poll_every` when events cannot be had. Never fails: the fallback
    /// is the answer to every error, and [`FolderWatch::mode`] says which it is.
    pub fn start(root: &Path, debounce: Duration, poll_every: Duration) -> FolderWatch {
        let (tx, ticks) = mpsc::channel();
        let events_tx = tx.clone();
        let handler = move |result: DebounceEventResult| {
            let relevant = match result {
                Ok(events) => events
                    .iter()
                    .any(|e| crate::scan::is_image_path(&e.path) || e.path.is_dir()),
                // An overflowed queue or a lost watch: rescan to be sure.
                Err(_) => true,
            };
            if relevant {
                let _ = events_tx.send(());
            }
        };
        let watched = new_debouncer(debounce, handler).and_then(|mut d| {
            d.watcher().watch(root, RecursiveMode::Recursive)?;
            Ok(d)
        });
        match watched {
            Ok(debouncer) => FolderWatch {
                ticks,
                mode: WatchMode::Events,
                _events: Some(debouncer),
            },
            Err(e) => {
                std::thread::spawn(move || {
                    loop {
                        std::thread::sleep(poll_every);
                        if tx.send(()).is_err() {
                            break;
                        }
                    }
                });
                FolderWatch {
                    ticks,
                    mode: WatchMode::Polling {
                        every: poll_every,
                        why: e.to_string(),
                    },
                    _events: None,
                }
            }
        }
    }

    /// How the folder is watched.
    pub fn mode(&self) -> &WatchMode {
        &self.mode
    }

    /// Waits at most `timeout` for the folder to (perhaps) have changed; true if it has. Ticks
    /// that came meanwhile are taken together.
    pub fn wait(&self, timeout: Duration) -> bool {
        let ticked = self.ticks.recv_timeout(timeout).is_ok();
        while self.ticks.try_recv().is_ok() {}
        ticked
    }
}
