//! Watching a folder for images that are added, changed, renamed or deleted, so a collection
//! that grows while it is explored stays up to date.
//!
//! File system events (inotify on Linux, through the `notify` crate) are debounced: a burst of
//! writes (a copy of a hundred files, an editor saving in three steps) becomes one tick once
//! the folder has been quiet for the debounce time. Only image files count (see
//! [`crate::scan::is_image_path`]), so a store or a temporary file inside the folder never
//! wakes it. Where events fall short — inotify's limit on watched folders reached, a platform
//! without them, or a network file system, where changes made on other machines send none —
//! it also ticks every `rescan_every`, and says why.
//!
//! Symlinks are not followed by the watch itself (a link to `/` would have it watch the whole
//! file system): the folders the walk reached through links ([`crate::scan::Scan::linked`])
//! are watched once the walk names them ([`FolderWatch::follow`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::event::{MetadataKind, ModifyKind};
use notify::{Config, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// How a folder is to be watched (the settings' `[watch]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// How long the folder must be quiet before a burst of events counts as one change.
    pub debounce: Duration,
    /// Time between rescans, where they are used.
    pub rescan_every: Duration,
    /// Whether file events are used at all (`watch.mode = "auto"`); false rescans only.
    pub events: bool,
}

/// How a folder is watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMode {
    /// File system events, debounced.
    Events,
    /// A rescan at a fixed interval (with file events too where they work), because events
    /// alone would miss changes, or were not wanted: why.
    Polling {
        /// Time between rescans.
        every: Duration,
        /// Why: the watcher's error, the network file system, or the setting.
        why: String,
    },
}

impl std::fmt::Display for WatchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WatchMode::Events => f.write_str("watching the folder"),
            WatchMode::Polling { every, why } => {
                write!(f, "rescanning every {} s ({why})", every.as_secs())
            }
        }
    }
}

/// A folder being watched: [`FolderWatch::wait`] says when it may have changed.
pub struct FolderWatch {
    ticks: mpsc::Receiver<()>,
    mode: WatchMode,
    /// The watcher (dropping it stops the events), when file events are used.
    events: Option<RecommendedWatcher>,
    /// Where the rescans' ticks go, for a rescan started later.
    rescans: mpsc::Sender<()>,
    rescan_every: Duration,
    /// The folders reached through links that are watched besides the folder.
    followed: HashSet<PathBuf>,
}

/// Ticks into `tx` every `every`, until the receiver is gone.
fn rescan_every(tx: mpsc::Sender<()>, every: Duration) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            if tx.send(()).is_err() {
                break;
            }
        }
    });
}

impl FolderWatch {
    /// Starts watching `root` and everything below it as `options` say. With events on, they
    /// are debounced by `options.debounce`, and a tick every `options.rescan_every` is added
    /// where they fall short: the watcher failed (inotify's limit), or `root` is on a network
    /// file system (see [`network_file_system`]). Never fails: the rescan is the answer to
    /// every error, and [`FolderWatch::mode`] says which it is.
    pub fn start(root: &Path, options: &WatchOptions) -> FolderWatch {
        let (tx, ticks) = mpsc::channel();
        let every = options.rescan_every;
        let rescan = |why: String| {
            rescan_every(tx.clone(), every);
            WatchMode::Polling { every, why }
        };
        let watch = |mode: WatchMode, events: Option<RecommendedWatcher>| FolderWatch {
            ticks,
            mode,
            events,
            rescans: tx.clone(),
            rescan_every: every,
            followed: HashSet::new(),
        };
        if !options.events {
            return watch(rescan("watch.mode = \"rescan\"".to_owned()), None);
        }
        // Relevant events go to a debouncing thread, which ticks once they have been quiet
        // for `debounce`; it ends when the watcher (the events' sender) is dropped.
        let (events_tx, events) = mpsc::channel::<()>();
        let handler = move |result: notify::Result<notify::Event>| {
            let relevant = match result {
                // Opening or reading a file or a folder changes nothing, and the scans and
                // previews do it all the time: counted, they made the explorer rescan its
                // folder without end (every 0.4 s; at a million images, both cores).
                Ok(e) if matches!(e.kind, EventKind::Access(_)) => false,
                Ok(e)
                    if e.kind
                        == EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) =>
                {
                    false
                }
                // A folder, or a link to one, that is removed or moved away is no folder
                // any more by the time the event is read: a name without an extension that
                // goes counts as one.
                Ok(e) => {
                    let gone = matches!(
                        e.kind,
                        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                    );
                    e.paths.iter().any(|p| {
                        crate::scan::is_image_path(p)
                            || p.is_dir()
                            || (gone && p.extension().is_none())
                    })
                }
                // An overflowed queue or a lost watch: rescan to be sure.
                Err(_) => true,
            };
            if relevant {
                let _ = events_tx.send(());
            }
        };
        let ticks_tx = tx.clone();
        let debounce = options.debounce;
        std::thread::spawn(move || {
            while events.recv().is_ok() {
                while events.recv_timeout(debounce).is_ok() {}
                if ticks_tx.send(()).is_err() {
                    break;
                }
            }
        });
        let config = Config::default().with_follow_symlinks(false);
        let watched = RecommendedWatcher::new(handler, config).and_then(|mut w| {
            w.watch(root, RecursiveMode::Recursive)?;
            Ok(w)
        });
        match watched {
            Ok(watcher) => {
                // Local changes still come as events; those made elsewhere only by rescans.
                let mode = match network_file_system(root) {
                    Some(fs) => rescan(format!("{fs}: other machines' changes send no events")),
                    None => WatchMode::Events,
                };
                watch(mode, Some(watcher))
            }
            Err(e) => watch(rescan(format!("no file events: {e}")), None),
        }
    }

    /// Watches besides the folder those of `links` (symlinks to folders the walk followed,
    /// see [`crate::scan::Scan::linked`]) not watched yet, each with what is below it (links
    /// there are not followed: the walk names those it follows). A link whose folder cannot
    /// be watched, or is on a network file system, turns rescans on, and [`FolderWatch::mode`]
    /// says so.
    pub fn follow(&mut self, links: &[PathBuf]) {
        let Some(events) = self.events.as_mut() else {
            return;
        };
        let mut why = None;
        for link in links {
            // The folder it leads to (now: a link may be pointed elsewhere), watched itself:
            // watched through the link it would not be (the watch's walk takes a link it
            // starts from as a link, not a folder).
            let watched = match std::fs::canonicalize(link) {
                Ok(folder) if !self.followed.insert(folder.clone()) => continue,
                Ok(folder) => events.watch(&folder, RecursiveMode::Recursive),
                // Gone since the walk: the next pass does not name it.
                Err(_) => continue,
            };
            if let Err(e) = watched {
                why.get_or_insert_with(|| {
                    format!("no file events in {}: {e}", crate::text::shown(link))
                });
            } else if let Some(fs) = network_file_system(link) {
                why.get_or_insert_with(|| {
                    format!(
                        "{} is on {fs}: other machines' changes send no events",
                        crate::text::shown(link)
                    )
                });
            }
        }
        if let (Some(why), WatchMode::Events) = (why, &self.mode) {
            rescan_every(self.rescans.clone(), self.rescan_every);
            self.mode = WatchMode::Polling {
                every: self.rescan_every,
                why,
            };
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

/// The kind of network file system `path` is on, by its `statfs(2)` type: "NFS", "SMB/CIFS",
/// "FUSE" (SSHFS, rclone and other user-space mounts), "9P", "Ceph", "AFS", and a few
/// clustered ones; `None` for a local file system, or where it cannot be told (not Linux, or
/// `statfs` failed). On these inotify reports only the changes made through this machine.
pub fn network_file_system(path: &Path) -> Option<&'static str> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
        // SAFETY: a NUL-terminated path and a statfs buffer the call fills in.
        if unsafe { libc::statfs(c_path.as_ptr(), stat.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: statfs returned 0, so it filled the buffer.
        let kind = unsafe { stat.assume_init() }.f_type;
        #[allow(clippy::unnecessary_cast)] // f_type is i64 on x86-64, u32 or i32 elsewhere
        network_kind(kind as i64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// The network file system a `statfs` type (`f_type`, the magic numbers of linux/magic.h and
/// statfs(2)) names, if it is one.
fn network_kind(magic: i64) -> Option<&'static str> {
    // f_type is signed on some targets: compare the low 32 bits.
    Some(match magic as u32 {
        0x6969 => "NFS",
        0x517b | 0xff53_4d42 | 0xfe53_4d42 => "SMB/CIFS",
        0x6573_5546 => "FUSE",
        0x0102_1997 => "9P",
        0x00c3_6400 => "Ceph",
        0x5346_414f | 0x6b41_4653 => "AFS",
        0x0bd0_0bd0 => "Lustre",
        0x0116_1970 => "GFS2",
        0x7461_636f => "OCFS2",
        0x564c => "NCP",
        0x7375_7245 => "Coda",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_kinds_by_magic() {
        assert_eq!(network_kind(0x6969), Some("NFS"));
        assert_eq!(network_kind(0xff53_4d42), Some("SMB/CIFS"));
        // As a signed 64-bit f_type, sign-extended.
        assert_eq!(
            network_kind(0xff53_4d42_u32 as i32 as i64),
            Some("SMB/CIFS")
        );
        assert_eq!(network_kind(0x6573_5546), Some("FUSE"));
        // ext4, tmpfs, btrfs, overlayfs, xfs
        for local in [0xef53, 0x0102_1994, 0x9123_683e, 0x794c_7630, 0x5846_5342] {
            assert_eq!(network_kind(local), None, "{local:#x}");
        }
    }

    #[test]
    fn a_temporary_folder_is_local_and_watched_by_events() {
        let dir = tempfile::tempdir().unwrap();
        // /tmp on a developer's or CI machine is local (tmpfs, ext4, overlayfs).
        if let Some(fs) = network_file_system(dir.path()) {
            eprintln!("skipped: the temporary folder is on {fs}");
            return;
        }
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_secs(3600),
            events: true,
        };
        let watch = FolderWatch::start(dir.path(), &options);
        assert_eq!(watch.mode(), &WatchMode::Events);
        std::fs::write(dir.path().join("a.png"), b"x").unwrap();
        assert!(
            watch.wait(Duration::from_secs(20)),
            "no tick for an added image"
        );
        // Reading the folder and its images (a scan, a preview) is no change.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b.png"), b"y").unwrap();
        assert!(
            watch.wait(Duration::from_secs(20)),
            "no tick for a new folder"
        );
        std::thread::sleep(Duration::from_millis(300));
        while watch.wait(Duration::from_millis(300)) {}
        for _ in 0..3 {
            for entry in walkdir::WalkDir::new(dir.path()) {
                let entry = entry.unwrap();
                if entry.file_type().is_file() {
                    std::fs::read(entry.path()).unwrap();
                }
            }
        }
        assert!(
            !watch.wait(Duration::from_millis(500)),
            "a tick for reading the folder"
        );
    }

    #[test]
    fn rescan_mode_ticks_without_events() {
        let dir = tempfile::tempdir().unwrap();
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_millis(100),
            events: false,
        };
        let watch = FolderWatch::start(dir.path(), &options);
        assert_eq!(
            watch.mode().to_string(),
            "rescanning every 0 s (watch.mode = \"rescan\")"
        );
        assert!(watch.wait(Duration::from_secs(20)));
    }

    #[test]
    fn a_folder_that_cannot_be_watched_is_rescanned_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_millis(100),
            events: true,
        };
        let watch = FolderWatch::start(&gone, &options);
        let WatchMode::Polling { why, .. } = watch.mode() else {
            panic!("{:?}", watch.mode());
        };
        assert!(why.starts_with("no file events: "), "{why}");
        assert!(watch.wait(Duration::from_secs(20)));
    }

    /// A link to a folder is not followed by the watch on its own (a link to `/` would watch
    /// the whole file system), only once the walk names it.
    #[cfg(unix)]
    #[test]
    fn linked_folders_are_watched_once_the_walk_names_them() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("root"), dir.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(outside.join("deeper")).unwrap();
        if network_file_system(dir.path()).is_some() {
            return;
        }
        let link = root.join("linked");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let options = WatchOptions {
            debounce: Duration::from_millis(50),
            rescan_every: Duration::from_secs(3600),
            events: true,
        };
        let mut watch = FolderWatch::start(&root, &options);
        std::fs::write(outside.join("deeper/a.png"), b"x").unwrap();
        assert!(
            !watch.wait(Duration::from_millis(700)),
            "a tick through a link the walk has not named"
        );
        let walked = crate::scan::scan(&root);
        assert_eq!(walked.linked, vec![link]);
        watch.follow(&walked.linked);
        assert_eq!(watch.mode(), &WatchMode::Events);
        for added in ["b.png", "deeper/c.png"] {
            std::fs::write(outside.join(added), b"y").unwrap();
            assert!(
                watch.wait(Duration::from_secs(20)),
                "no tick for {added} added in a linked folder"
            );
            std::thread::sleep(Duration::from_millis(300));
            while watch.wait(Duration::from_millis(300)) {}
        }
        // The link removed, and a folder moved out of the collection, are changes too.
        std::fs::remove_file(root.join("linked")).unwrap();
        assert!(
            watch.wait(Duration::from_secs(20)),
            "no tick for a removed link"
        );
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/d.png"), b"z").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        while watch.wait(Duration::from_millis(300)) {}
        std::fs::rename(root.join("sub"), dir.path().join("away")).unwrap();
        assert!(
            watch.wait(Duration::from_secs(20)),
            "no tick for a folder moved away"
        );
    }
}
