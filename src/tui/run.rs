//! The event loop: terminal, background indexing and clustering, preview decoding.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use image::DynamicImage;
use ratatui_image::picker::ProtocolType;
use ratatui_image::protocol::StatefulProtocol;

use super::app::{App, Command, Loading, Overlay};
use super::terminal::{self, Graphics, Input, Probe, Reader};
use super::view::view;
use crate::analysis::clustering::{Clustering, KChoice};
use crate::analysis::duplicates;
use crate::analysis::neighbours::{APPROXIMATE_FROM, Quantized};
use crate::analysis::saved::{Wanted, load_or_fit};
use crate::config::Config;
use crate::decode::{DecodeOptions, decode};
use crate::montage::{MontageOptions, montage, save_in_folder};
use crate::store::{Collection, Store};
use crate::{Extractor, Progress};

/// How to start the explorer.
pub struct Options {
    pub root: PathBuf,
    pub store: PathBuf,
    pub config: Config,
    /// What the vectors are made with.
    pub extractor: Arc<dyn Extractor>,
    pub cancel: Arc<AtomicBool>,
    /// Image protocol; `None` asks the terminal (after the first frame, at most 1 s; keys
    /// typed meanwhile are handled as usual).
    pub protocol: Option<ProtocolType>,
}

/// How long the terminal gets to answer the graphics query.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

enum Msg {
    Progress(Progress),
    Clustering,
    Loaded(Arc<Collection>, Box<Clustering>),
    /// The vectors of the collection on screen: the same files, in the same order.
    Vectors(Arc<Collection>),
    Reclustered(Result<Box<Clustering>, String>),
    Duplicates(Vec<Vec<usize>>),
    Montage(Result<(PathBuf, DynamicImage), String>),
    Failed(String),
    Preview(PathBuf, DynamicImage),
}

/// Decoded previews kept for going back and forth (each at most 1024 pixels a side).
const PREVIEW_CACHE: usize = 16;

/// Runs the explorer until the user quits. The terminal (and any tmux option changed) is
/// restored on return, on error, on panic and on SIGHUP/SIGTERM (see [`terminal::restore`]).
pub fn run(opts: Options) -> anyhow::Result<()> {
    anyhow::ensure!(
        std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
        "the explorer needs a terminal; for scripts see `imgtui --help` (cluster, similar, …)"
    );
    let (tx, rx) = mpsc::channel::<Msg>();
    let root = crate::scan::resolve_root(&opts.root)?;
    let feature = crate::index::feature_id(&*opts.extractor, &opts.config.decode_options()?);
    let indexing = Arc::new(AtomicBool::new(false));
    spawn_loader(&opts, &root, &feature, indexing.clone(), tx.clone());
    let preview_tx = spawn_previewer(opts.config.decode_options()?, tx.clone());
    let recluster_tx = spawn_reclusterer(&opts, &root, &feature, tx.clone());

    let mut terminal = terminal::enter()?;
    let finished = Arc::new(AtomicBool::new(false));
    spawn_watchdog(opts.cancel.clone(), finished.clone());
    let mut app = App::new(root, opts.extractor.name().to_owned());
    app.neighbour_count = opts.config.explore.neighbours;
    // Halfblocks draw everywhere, so the first frames use them while the terminal is asked
    // what it can do. Its replies come in with the keys; `input` tells them apart, so keys
    // typed meanwhile are handled at once and in order, answered or not.
    let mut picker = match opts.protocol {
        Some(p) => Graphics::forced(p),
        None => Graphics::halfblocks(),
    };
    let mut to_probe = opts.protocol.is_none() && cfg!(unix) && may_draw_graphics();
    let mut probing: Option<Probe> = None;
    let mut input = Reader::new();
    let mut preview: Option<StatefulProtocol> = None;
    let mut montage: Option<StatefulProtocol> = None;
    let mut cache: VecDeque<(PathBuf, DynamicImage)> = VecDeque::new();
    let mut screen_drawn = None;
    let result = (|| -> anyhow::Result<()> {
        loop {
            // Graphics (sixel especially) stay on screen until every cell under them is
            // written again, which ratatui's diff does not do: when the screen changes from
            // one layout to another, clear it and draw it whole.
            let screen = std::mem::discriminant(&app.overlay);
            if screen_drawn.is_some_and(|s| s != screen) {
                terminal.clear()?;
            }
            screen_drawn = Some(screen);
            terminal.draw(|f| {
                let image = match app.overlay {
                    Overlay::Montage(_) => montage.as_mut(),
                    _ => preview.as_mut(),
                };
                view(f, &app, image)
            })?;
            // Ctrl-C from outside, SIGTERM, or SIGHUP (the SSH connection dropped).
            if opts.cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            if std::mem::take(&mut to_probe) {
                probing = Some(Probe::start(&mut std::io::stdout(), PROBE_TIMEOUT)?);
            }
            let mut commands = Vec::new();
            let mut answered = None;
            let inputs = input.read(Duration::from_millis(50));
            if inputs.is_empty() {
                // No key for a moment: the cursor rests, so its neighbours are worth finding.
                app.refresh_neighbours();
            }
            for i in inputs {
                match i {
                    Input::Key(k) => commands.extend(app.key(k)),
                    // Replies after the probe is over (late ones) are dropped here.
                    Input::Reply(r) => {
                        if let Some(graphics) = probing.as_mut().and_then(|p| p.replied(r)) {
                            probing = None;
                            answered = Some(graphics);
                        }
                    }
                    // The terminal is gone: nothing more can be shown or typed.
                    Input::Closed => return Ok(()),
                }
            }
            if probing.as_ref().is_some_and(Probe::timed_out) {
                answered = probing.take().map(|mut p| p.finish());
            }
            if let Some(graphics) = answered {
                picker = graphics;
                // Redraw the shown preview with the new protocol.
                let shown = cache
                    .iter()
                    .find(|(p, _)| Some(p) == app.preview_path.as_ref());
                if let Some((_, img)) = shown {
                    preview = Some(picker.new_resize_protocol(img.clone()));
                }
            }
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Msg::Progress(Progress::Scanned { to_process, .. }) => {
                        app.progress(0, to_process)
                    }
                    Msg::Progress(Progress::Processed { done, to_process }) => {
                        app.progress(done, to_process)
                    }
                    Msg::Clustering => match app.loading {
                        Loading::Ready => app.indexing = None,
                        _ => app.loading = Loading::Clustering,
                    },
                    Msg::Loaded(c, clustering) => commands.extend(app.loaded(c, *clustering)),
                    Msg::Vectors(c) => app.vectors_read(c),
                    Msg::Reclustered(Ok(clustering)) => {
                        commands.extend(app.reclustered(*clustering))
                    }
                    Msg::Reclustered(Err(e)) => {
                        app.busy = None;
                        app.message = format!("clustering failed: {e}");
                    }
                    Msg::Duplicates(groups) => app.duplicates_found(groups),
                    Msg::Montage(Ok((path, img))) => {
                        montage = Some(picker.new_resize_protocol(img));
                        app.montage_saved(path);
                    }
                    Msg::Montage(Err(e)) => {
                        app.busy = None;
                        app.message = format!("montage failed: {e}");
                    }
                    Msg::Failed(e) if app.loading == Loading::Ready => {
                        app.indexing = None;
                        app.message = format!("indexing stopped: {e}");
                    }
                    Msg::Failed(e) => app.loading = Loading::Failed(e),
                    Msg::Preview(path, img) => {
                        if app.preview_path.as_ref() == Some(&path) {
                            preview = Some(picker.new_resize_protocol(img.clone()));
                        }
                        if cache.len() == PREVIEW_CACHE {
                            cache.pop_front();
                        }
                        cache.push_back((path, img));
                    }
                }
            }
            for command in commands {
                match command {
                    Command::Quit => return Ok(()),
                    Command::LoadPreview(path) => match cache.iter().find(|(p, _)| *p == path) {
                        Some((_, img)) => preview = Some(picker.new_resize_protocol(img.clone())),
                        None => {
                            preview = None;
                            let _ = preview_tx.send(path);
                        }
                    },
                    Command::Export(files, target) => {
                        app.message = match crate::export::check_outside(&target, &app.root) {
                            Ok(()) => export_message(&files, &target),
                            Err(e) => format!("export refused: {e:#}"),
                        };
                    }
                    Command::Recluster(k) => {
                        let _ = recluster_tx.send((k, app.collection.clone()));
                    }
                    Command::Montage(files, stem) => {
                        spawn_montage(files, stem, opts.config.decode_options()?, tx.clone())
                    }
                }
            }
        }
    })();
    terminal::restore();
    finished.store(true, Ordering::SeqCst);
    // Quitting while indexing: let the writer commit what is done (it stops within a batch).
    // Other background work (fitting, the near-duplicate search) has nothing to keep.
    opts.cancel.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while indexing.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    result
}

/// How long a signal (SIGHUP, SIGTERM, Ctrl-C from outside) gives the event loop to end by
/// itself, and the indexer to commit its batch, before the process ends from here.
const SIGNAL_GRACE: Duration = Duration::from_secs(3);

/// Ends the process if a signal came and the event loop did not finish: once the terminal
/// is gone (a dropped SSH connection) crossterm's `poll` can spin without returning.
fn spawn_watchdog(cancel: Arc<AtomicBool>, finished: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !cancel.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(SIGNAL_GRACE);
        if !finished.load(Ordering::SeqCst) {
            terminal::restore();
            std::process::exit(129);
        }
    });
}

/// Copies a cluster's files and says how it went, in one line.
fn export_message(files: &[PathBuf], target: &Path) -> String {
    match crate::export::export(files, target, Default::default(), false) {
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
    }
}

/// Whether the environment names a terminal that may draw images. Only those are asked (and
/// only those get tmux's passthrough switched on for the query); others get halfblocks at
/// once, and `--protocol` forces a choice.
fn may_draw_graphics() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let term = var("TERM");
    let program = var("TERM_PROGRAM");
    !var("KITTY_WINDOW_ID").is_empty()
        || !var("WEZTERM_EXECUTABLE").is_empty()
        || !var("KONSOLE_VERSION").is_empty()
        || !var("XTERM_VERSION").is_empty()
        || ["kitty", "ghostty", "foot", "mlterm", "contour", "wezterm"]
            .iter()
            .any(|t| term.contains(t))
        || ["iTerm.app", "WezTerm", "ghostty", "vscode", "mintty", "rio"]
            .contains(&program.as_str())
}

/// Shows the saved clustering at once if there is one, then brings the index up to date,
/// assigns new images to the clusters (or fits them on a first run), and looks for
/// near-duplicates.
fn spawn_loader(
    opts: &Options,
    root: &Path,
    feature: &str,
    indexing: Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
) {
    let (root, feature, store_path, config, model, cancel) = (
        root.to_path_buf(),
        feature.to_owned(),
        opts.store.clone(),
        opts.config.clone(),
        opts.extractor.clone(),
        opts.cancel.clone(),
    );
    std::thread::spawn(move || {
        let result = load(
            &root,
            &feature,
            &store_path,
            &config,
            &*model,
            Flags {
                cancel: &cancel,
                indexing: &indexing,
            },
            &tx,
        );
        if let Err(e) = result {
            let _ = tx.send(Msg::Failed(format!("{e:#}")));
        }
    });
}

/// What the loader shares with the event loop: the request to stop, and whether it is
/// indexing (a quit then waits for the batch in hand to be committed).
struct Flags<'a> {
    cancel: &'a AtomicBool,
    indexing: &'a AtomicBool,
}

fn load(
    root: &Path,
    feature: &str,
    store_path: &Path,
    config: &Config,
    model: &dyn Extractor,
    flags: Flags,
    tx: &mpsc::Sender<Msg>,
) -> anyhow::Result<()> {
    let Flags { cancel, indexing } = flags;
    let mut store = Store::open(store_path)?;
    // With the vectors read: make what neighbour and near-duplicate searches need.
    let prepare = |c: &Arc<Collection>| {
        if c.len() >= APPROXIMATE_FROM {
            // Made here, while the user looks at the clusters, so that neighbour searches
            // do not pause for it (a search that comes first waits for it).
            c.quantized.get_or_init(|| Quantized::new(c));
        }
        let groups = duplicates::groups(c, config.duplicates.threshold);
        let _ = tx.send(Msg::Duplicates(groups));
    };
    let fit = |store: &mut Store, c: Collection| -> anyhow::Result<()> {
        anyhow::ensure!(
            c.len() >= 2,
            "{} has fewer than 2 images to explore",
            root.display()
        );
        let (clustering, _) = load_or_fit(
            store,
            root,
            feature,
            &c,
            &config.cluster_request(),
            &Wanted::default(),
            Some(model),
        )?;
        let c = Arc::new(c);
        let _ = tx.send(Msg::Loaded(c.clone(), Box::new(clustering)));
        prepare(&c);
        Ok(())
    };
    // Warm start: what the store already knows is on screen while the folder is checked.
    // The saved clustering places its images without their vectors, so it is shown first
    // and the vectors (most of the wait: 1.1 s at 100,000 images) are read behind it.
    let saved = store.load_clustering(root, feature)?;
    let shown_early = saved.is_some();
    if let Some(saved) = saved {
        let files = store.files(root)?;
        let known = saved.known(&files);
        let early = (known.len() >= 2).then(|| Arc::new(known));
        if let Some(known) = &early {
            let (clustering, _) = saved.apply(known);
            let _ = tx.send(Msg::Loaded(known.clone(), Box::new(clustering)));
        }
        let c = store.with_vectors(files, feature)?;
        match early {
            Some(known) if known.paths == c.paths => {
                let c = Arc::new(c);
                let _ = tx.send(Msg::Vectors(c.clone()));
                prepare(&c);
            }
            _ => fit(&mut store, c)?,
        }
    }
    let progress_tx = tx.clone();
    let progress = move |p: Progress| {
        let _ = progress_tx.send(Msg::Progress(p));
    };
    let progress = std::sync::Mutex::new(progress);
    let options = config.index_options()?;
    indexing.store(true, Ordering::SeqCst);
    let summary = crate::index(
        root,
        &mut store,
        model,
        &options,
        &|p| (progress.lock().expect("progress lock"))(p),
        cancel,
    );
    indexing.store(false, Ordering::SeqCst);
    let summary = summary?;
    anyhow::ensure!(!summary.interrupted, "interrupted");
    let _ = tx.send(Msg::Clustering);
    // `changed` covers files whose content changed or that are new without being embedded
    // (a copy, a swap): the stored collection differs from the one on screen.
    if !shown_early || summary.embedded > 0 || summary.removed > 0 || summary.changed > 0 {
        let c = store.collection(root, feature)?;
        fit(&mut store, c)?;
    }
    Ok(())
}

/// Fits new clusterings for `+` / `-`; only the newest request is served.
fn spawn_reclusterer(
    opts: &Options,
    root: &Path,
    feature: &str,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<(usize, Arc<Collection>)> {
    let (req_tx, req_rx) = mpsc::channel::<(usize, Arc<Collection>)>();
    let (root, feature, store_path, config, model) = (
        root.to_path_buf(),
        feature.to_owned(),
        opts.store.clone(),
        opts.config.clone(),
        opts.extractor.clone(),
    );
    std::thread::spawn(move || {
        while let Ok(mut request) = req_rx.recv() {
            while let Ok(newer) = req_rx.try_recv() {
                request = newer;
            }
            let (k, c) = request;
            let wanted = Wanted {
                k: Some(KChoice::Fixed(k)),
                ..Default::default()
            };
            let result = Store::open(&store_path).and_then(|mut store| {
                load_or_fit(
                    &mut store,
                    &root,
                    &feature,
                    &c,
                    &config.cluster_request(),
                    &wanted,
                    Some(&*model),
                )
            });
            let msg = Msg::Reclustered(
                result
                    .map(|(c, _)| Box::new(c))
                    .map_err(|e| format!("{e:#}")),
            );
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    req_tx
}

/// Draws a montage and saves it in `./imgtui-montage/`.
fn spawn_montage(files: Vec<PathBuf>, stem: String, decode: DecodeOptions, tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        let opts = MontageOptions {
            decode,
            ..Default::default()
        };
        let sheet = montage(&files, &opts);
        let result = save_in_folder(&sheet, Path::new("imgtui-montage"), &stem)
            .map(|path| (path, DynamicImage::ImageRgb8(sheet)))
            .map_err(|e| format!("{e:#}"));
        let _ = tx.send(Msg::Montage(result));
    });
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
