//! The event loop: terminal, background indexing and clustering, preview decoding.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

use crossterm::event::{self, Event, KeyEventKind};
use image::DynamicImage;
use ratatui_image::picker::Picker;
use ratatui_image::protocol::StatefulProtocol;

use super::app::{App, Command, Loading};
use super::view::view;
use crate::analysis::clustering::Clustering;
use crate::analysis::saved::{Wanted, load_or_fit};
use crate::config::Config;
use crate::decode::{DecodeOptions, decode};
use crate::store::{Collection, Store};
use crate::{OnnxModel, Progress};

/// How to start the explorer.
pub struct Options {
    pub root: PathBuf,
    pub store: PathBuf,
    pub config: Config,
    pub cancel: Arc<AtomicBool>,
}

enum Msg {
    Progress(Progress),
    Clustering,
    Loaded(Box<(Collection, Clustering)>),
    Failed(String),
    Preview(PathBuf, DynamicImage),
}

/// Runs the explorer until the user quits. The terminal is restored on return and on panic.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    spawn_loader(&opts, tx.clone());
    let preview_tx = spawn_previewer(opts.config.decode_options()?, tx);

    let mut terminal = ratatui::init();
    let mut app = App::new(opts.root.clone(), "efficientnet-lite0".into());
    // Halfblocks draw everywhere; graphics protocols need a terminal that answers a query,
    // which would block on terminals that never answer (SSH, tmux), so they are opt-in.
    let picker = Picker::halfblocks();
    let mut preview: Option<StatefulProtocol> = None;
    let result = (|| -> anyhow::Result<()> {
        loop {
            terminal.draw(|f| view(f, &app, preview.as_mut()))?;
            let mut commands = Vec::new();
            if event::poll(Duration::from_millis(50))? {
                match event::read()? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => commands.extend(app.key(k)),
                    _ => {}
                }
            }
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Msg::Progress(Progress::Scanned { to_process, .. }) => {
                        app.loading = Loading::Embedding {
                            done: 0,
                            total: to_process,
                        }
                    }
                    Msg::Progress(Progress::Processed { done, .. }) => {
                        if let Loading::Embedding { total, .. } = app.loading {
                            app.loading = Loading::Embedding { done, total };
                        }
                    }
                    Msg::Clustering => app.loading = Loading::Clustering,
                    Msg::Loaded(loaded) => {
                        let (c, clustering) = *loaded;
                        commands.extend(app.loaded(c, clustering));
                    }
                    Msg::Failed(e) => app.loading = Loading::Failed(e),
                    Msg::Preview(path, img) => {
                        if app.preview_path.as_ref() == Some(&path) {
                            preview = Some(picker.new_resize_protocol(img));
                        }
                    }
                }
            }
            for command in commands {
                match command {
                    Command::Quit => return Ok(()),
                    Command::LoadPreview(path) => {
                        preview = None;
                        let _ = preview_tx.send(path);
                    }
                    Command::Export(files, target) => {
                        app.message =
                            match crate::export::export(&files, &target, Default::default(), false)
                            {
                                Ok(r) if r.failed.is_empty() => {
                                    format!("{} files copied to {}", r.written, target.display())
                                }
                                Ok(r) => format!(
                                    "{} files copied to {}, {} failed: {}",
                                    r.written,
                                    target.display(),
                                    r.failed.len(),
                                    r.failed[0].1
                                ),
                                Err(e) => format!("export failed: {e}"),
                            };
                    }
                }
            }
        }
    })();
    ratatui::restore();
    result
}

/// Indexes the folder, loads its vectors and clustering, and reports as it goes.
fn spawn_loader(opts: &Options, tx: mpsc::Sender<Msg>) {
    let (root, store_path, config, cancel) = (
        opts.root.clone(),
        opts.store.clone(),
        opts.config.clone(),
        opts.cancel.clone(),
    );
    std::thread::spawn(move || {
        let result = load(&root, &store_path, &config, &cancel, &tx);
        if let Err(e) = result {
            let _ = tx.send(Msg::Failed(format!("{e:#}")));
        }
    });
}

fn load(
    root: &Path,
    store_path: &Path,
    config: &Config,
    cancel: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
) -> anyhow::Result<()> {
    let mut store = Store::open(store_path)?;
    let model = OnnxModel::builtin();
    let progress_tx = tx.clone();
    let progress = move |p: Progress| {
        let _ = progress_tx.send(Msg::Progress(p));
    };
    let progress = std::sync::Mutex::new(progress);
    let summary = crate::index(
        root,
        &mut store,
        &model,
        &config.index_options()?,
        &|p| (progress.lock().expect("progress lock"))(p),
        cancel,
    )?;
    anyhow::ensure!(!summary.interrupted, "interrupted");
    let _ = tx.send(Msg::Clustering);
    let c = store.collection(root, &summary.feature)?;
    anyhow::ensure!(
        c.len() >= 2,
        "{} has fewer than 2 images to explore",
        root.display()
    );
    let (clustering, _) = load_or_fit(
        &mut store,
        root,
        &summary.feature,
        &c,
        &config.cluster_request(),
        &Wanted::default(),
        Some(&model),
    )?;
    let _ = tx.send(Msg::Loaded(Box::new((c, clustering))));
    Ok(())
}

/// Decodes preview images off the UI thread; only the latest request is served.
fn spawn_previewer(decode_opts: DecodeOptions, tx: mpsc::Sender<Msg>) -> mpsc::Sender<PathBuf> {
    let (req_tx, req_rx) = mpsc::channel::<PathBuf>();
    std::thread::spawn(move || {
        while let Ok(mut path) = req_rx.recv() {
            // Skip to the newest request: holding ↓ must not queue a decode per image.
            while let Ok(newer) = req_rx.try_recv() {
                path = newer;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(img) = decode(&bytes, &decode_opts) else {
                continue;
            };
            // Previews never need more than a screenful of pixels.
            let img = if img.width().max(img.height()) > 1024 {
                img.thumbnail(1024, 1024)
            } else {
                img
            };
            if tx.send(Msg::Preview(path, img)).is_err() {
                break;
            }
        }
    });
    req_tx
}
