//! The event loop: terminal, background indexing and clustering, preview decoding.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossterm::event::{MouseButton, MouseEventKind};
use image::DynamicImage;
use ratatui::layout::{Rect, Size};
use ratatui_image::picker::ProtocolType;
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::thread::{ResizeRequest, ResizeResponse, ThreadProtocol};

use super::app::{App, Command, Event, GRID_TILE, MapPicture, Overlay};
use super::picture;
use super::terminal::{self, Graphics, Input, Probe, Reader};
use super::theme::Theme;
use super::view::{Pictures, Thumbnails, grid_size, map_size, view};
use crate::analysis::clustering::KChoice;
use crate::analysis::curation::Edit;
use crate::analysis::duplicates;
use crate::analysis::neighbours::{self, APPROXIMATE_FROM, Select};
use crate::analysis::outliers::OUTLIER_K;
use crate::analysis::saved::Wanted;
use crate::collection::{Collection, Quantized};
use crate::config::{ProtocolSetting, ThemeSetting};
use crate::decode::{DecodeOptions, decode};
use crate::error::{Error, ErrorKind, Result};
use crate::export::{ExportReport, folder_outside, fresh_target};
use crate::montage::{MontageOptions, montage, save_in_folder};
use crate::{Progress, Session, Store};

/// How long the terminal gets to answer the graphics query.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// What the workers send the event loop: events for the [`App`], and images for the screen.
enum Msg {
    App(Event),
    /// A decoded preview.
    Preview(PathBuf, DynamicImage),
    /// A montage, saved to this file, to show full screen.
    Montage(PathBuf, DynamicImage),
    /// An image resized and encoded for the screen, off the draw path: which one, and the
    /// generation of the image it was encoded for.
    Encoded(Shown, u64, ResizeResponse),
    /// A grid thumbnail of this image, encoded for the graphics of this generation.
    Thumbnail(PathBuf, u64, StatefulProtocol),
    /// The map drawn as a picture.
    MapPicture(DynamicImage),
    /// Loading or indexing the folder failed: told on screen, and given back by [`run`] so
    /// that the command line repeats it and exits non-zero.
    LoadFailed(Error),
}

impl From<Event> for Msg {
    fn from(e: Event) -> Msg {
        Msg::App(e)
    }
}

/// The two images the screen can show.
#[derive(Debug, Clone, Copy)]
enum Shown {
    Preview,
    Montage,
    Map,
}

/// Decoded previews kept for going back and forth (each at most 1024 pixels a side).
const PREVIEW_CACHE: usize = 16;

/// Runs the explorer until the user quits. The terminal (and any tmux option changed) is
/// restored on return, on error, on panic and on SIGHUP/SIGTERM (see [`terminal::restore`]).
///
/// `protocol` forces an image protocol; `Auto` asks the terminal which one it speaks (after
/// the first frame, at most 1 s; keys typed meanwhile are handled as usual). Either way the
/// cell size in pixels comes from the tty, else the terminal's answer, else the setting
/// `explore.cell_size`, else a small guess, and is read again on every resize. Raising
/// `cancel` (a signal) ends the explorer and keeps the work done.
///
/// Fails with [`crate::ErrorKind::BadRequest`] when stdin or stdout is not a terminal, and
/// when the terminal cannot be set up.
pub fn run(session: Session, protocol: ProtocolSetting, cancel: Arc<AtomicBool>) -> Result<()> {
    let protocol = match protocol {
        ProtocolSetting::Auto => None,
        ProtocolSetting::Kitty => Some(ProtocolType::Kitty),
        ProtocolSetting::Sixel => Some(ProtocolType::Sixel),
        ProtocolSetting::Iterm2 => Some(ProtocolType::Iterm2),
        ProtocolSetting::Halfblocks => Some(ProtocolType::Halfblocks),
    };
    if !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        return Err(Error::bad_request(
            "the explorer needs a terminal; for scripts see `imgtui --help` (cluster, similar, …)",
        ));
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut app = App::new(
        session.root().to_owned(),
        session.extractor().name().to_owned(),
    );
    app.neighbours.count = session.config().explore.neighbours;
    app.duplicates.threshold = session.config().duplicates.threshold;
    let theme = session.config().explore.theme;
    app.look.theme = Theme::from_setting(theme, Theme::no_color_env());
    app.look.auto = theme == ThemeSetting::Auto;
    let mouse = session.config().explore.mouse;
    let cell_setting = session.config().explore.cell_size.0;
    let dumb = terminal::environment().dumb;
    let indexing = Arc::new(AtomicBool::new(false));
    let workers = Workers {
        clusterer: spawn_clusterer(session.reopen()?, tx.clone()),
        previews: spawn_previewer(session.decode_options().clone(), tx.clone()),
        thumbnails: spawn_thumbnailer(session.reopen()?, tx.clone()),
        map_picture: spawn_map_painter(session.reopen()?, tx.clone()),
        neighbours: spawn_neighbours(tx.clone()),
        export_cancel: Arc::new(AtomicBool::new(false)),
        exporting: Arc::new(AtomicBool::new(false)),
        decode: session.decode_options().clone(),
        dumb,
        keep: session.keep_rules(None)?,
        tx: tx.clone(),
    };
    let graphics = match protocol {
        Some(p) => Graphics::forced(p, cell_setting),
        None if dumb => Graphics::halfblocks("TERM names a terminal without images"),
        None => Graphics::halfblocks("asking the terminal…"),
    };
    app.on(Event::Graphics {
        how: graphics.describe(),
        images: graphics.draws_images(),
    });
    let mut screen = Screen::new(graphics, tx.clone());
    let store_path = session.store_path().to_owned();
    spawn_loader(session, cancel.clone(), indexing.clone(), tx.clone());
    // A failure of the loader, returned when the explorer ends.
    let mut failure: Option<Error> = None;

    let mut terminal = terminal::enter()?;
    if mouse {
        terminal::enable_mouse(&mut std::io::stdout())?;
    }
    let finished = Arc::new(AtomicBool::new(false));
    spawn_watchdog(cancel.clone(), finished.clone());
    // Halfblocks draw everywhere, so the first frames use them while the terminal is asked
    // what it can do (every terminal: over SSH the environment names none). Its replies come
    // in with the keys; `input` tells them apart, so keys typed meanwhile are handled at once
    // and in order, answered or not. A forced graphics protocol asks for the cell size only.
    let mut to_probe = cfg!(unix)
        && match protocol {
            None => !dumb,
            Some(p) => p != ProtocolType::Halfblocks,
        };
    let mut probing: Option<Probe> = None;
    let mut tty_size = terminal::tty_size();
    // Redraw everything once: after the probe (a terminal that printed part of a question it
    // did not know leaves no trace) and when the cell size changes (old images go).
    let mut clear = false;
    let mut input = Reader::new();
    let mut layout_drawn = None;
    let result = (|| -> Result<()> {
        loop {
            // Graphics (sixel especially) stay on screen until every cell under them is
            // written again, which ratatui's diff does not do: when the screen changes from
            // one layout to another, clear it and draw it whole.
            let layout = std::mem::discriminant(&app.overlay);
            if layout_drawn.is_some_and(|l| l != layout) || std::mem::take(&mut clear) {
                clear_all(&mut terminal)?;
            }
            layout_drawn = Some(layout);
            // The grid's size follows the screen's and the layout's.
            let area = terminal.size()?;
            let area = Rect::new(0, 0, area.width, area.height);
            let tiles = grid_size(&app, area);
            let mut sized = Vec::new();
            if area != app.look.screen {
                sized.extend(app.on(Event::ScreenSize(area.width, area.height)));
            }
            if tiles != app.grid.size {
                sized.extend(app.on(Event::GridSize(tiles.0, tiles.1)));
            }
            let cells = map_size(&app, area);
            if cells != app.map.cells {
                sized.extend(app.on(Event::MapSize(cells.0, cells.1)));
            }
            for command in sized {
                workers.execute(command, &app, &mut screen);
            }
            terminal.draw(|f| view(f, &app, screen.for_view(&app)))?;
            // Ctrl-C from outside, SIGTERM, or SIGHUP (the SSH connection dropped).
            if cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut events = Vec::new();
            if std::mem::take(&mut to_probe) {
                probing = Some(Probe::start(
                    &mut std::io::stdout(),
                    PROBE_TIMEOUT,
                    protocol,
                    cell_setting,
                )?);
            }
            // A resize (a font zoom changes the pixels, not always the cells): the tty's new
            // cell size, or the terminal asked again when its answer gave the last one.
            let size = terminal::tty_size();
            if size != tty_size && probing.is_none() {
                tty_size = size;
                if let Some(g) = screen.graphics.resized() {
                    events.extend(screen.set_graphics(g, app.preview_path.as_ref()));
                    clear = true;
                } else if screen.graphics.cell_from_terminal() {
                    terminal::ask_cell_size(&mut std::io::stdout())?;
                }
            }
            let inputs = input.read(Duration::from_millis(50));
            if inputs.is_empty() {
                events.push(Event::Idle);
            }
            for i in inputs {
                match i {
                    Input::Key(k) => events.push(Event::Key(k)),
                    Input::Mouse(m) => {
                        let size = terminal.size()?;
                        let area = Rect::new(0, 0, size.width, size.height);
                        let hit = super::view::hit(&app, area, m.column, m.row);
                        events.extend(hit.and_then(|hit| match m.kind {
                            MouseEventKind::Down(MouseButton::Left) => Some(Event::Click(hit)),
                            MouseEventKind::ScrollUp => Some(Event::Wheel(hit, -1)),
                            MouseEventKind::ScrollDown => Some(Event::Wheel(hit, 1)),
                            _ => None,
                        }));
                    }
                    Input::Reply(r) => {
                        let graphics = match probing.as_mut() {
                            Some(p) => {
                                let done = p.replied(r);
                                if done.is_some() {
                                    if let Some(light) = p.light_background() {
                                        events.push(Event::Background { light });
                                    }
                                    probing = None;
                                }
                                done
                            }
                            // After the probe: an answer to the size question after a
                            // resize (late answers to the probe change nothing else).
                            None => screen.graphics.answered(&r),
                        };
                        if let Some(g) = graphics {
                            events.extend(screen.set_graphics(g, app.preview_path.as_ref()));
                            clear = true;
                        }
                    }
                    // The terminal is gone: nothing more can be shown or typed.
                    Input::Closed => return Ok(()),
                }
            }
            if probing.as_ref().is_some_and(Probe::timed_out)
                && let Some(mut p) = probing.take()
            {
                if let Some(light) = p.light_background() {
                    events.push(Event::Background { light });
                }
                let graphics = p.finish();
                events.extend(screen.set_graphics(graphics, app.preview_path.as_ref()));
                clear = true;
            }
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Msg::App(e) => events.push(e),
                    Msg::Preview(path, img) => screen.decoded(path, img, app.preview_path.as_ref()),
                    Msg::Montage(path, img) => {
                        screen.show_montage(img);
                        events.push(Event::Montage(Ok(path)));
                    }
                    Msg::Encoded(shown, generation, done) => {
                        screen.encoded(shown, generation, done)
                    }
                    Msg::Thumbnail(path, generation, thumbnail) => {
                        if generation == screen.thumbnail_generation {
                            screen.thumbnails.insert(path, thumbnail);
                        }
                    }
                    Msg::MapPicture(img) => {
                        let (generation, state) = screen.protocol(Shown::Map, img);
                        screen.map = Some(state);
                        screen.map_generation = generation;
                    }
                    Msg::LoadFailed(e) => {
                        events.push(Event::LoadFailed(e.explained(Some(&store_path))));
                        if e.kind() != ErrorKind::Interrupted {
                            failure = Some(e);
                        }
                    }
                }
            }
            for event in events {
                for command in app.on(event) {
                    if command == Command::Quit {
                        return Ok(());
                    }
                    workers.execute(command, &app, &mut screen);
                }
            }
        }
    })();
    terminal::restore();
    finished.store(true, Ordering::SeqCst);
    // Quitting while indexing or exporting: let the writer commit what is done (it stops
    // within a batch) and the export finish the file in hand. Other background work
    // (fitting, the near-duplicate search) has nothing to keep.
    cancel.store(true, Ordering::SeqCst);
    workers.export_cancel.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    while (indexing.load(Ordering::SeqCst) || workers.exporting.load(Ordering::SeqCst))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The workers' connections end with the process, unclosed: fold the WAL into the store
    // file now, so that the file alone holds everything (a backup, `store merge`).
    if failure.is_none() {
        let _ = Store::open(&store_path).and_then(|store| store.checkpoint());
    }
    // The command line tells it again, now that the screen is back, and exits non-zero.
    result.and(failure.map_or(Ok(()), Err))
}

/// Clears the screen and makes the next draw write every cell, without asking the terminal
/// where its cursor is: ratatui's `Terminal::clear` does (CSI 6 n), and crossterm would read
/// that reply from stdin behind the [`Reader`]'s back, racing it for keys.
fn clear_all(terminal: &mut terminal::Tty) -> Result<()> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // A blank frame: the next one differs from it wherever it shows anything.
    terminal.draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))?;
    Ok(())
}

/// The images on screen: the protocol to draw with, the preview and the montage (resized
/// and encoded on workers, never while drawing), and the last decoded previews.
struct Screen {
    graphics: Graphics,
    /// The preview and the image it shows.
    preview: Option<(PathBuf, ThreadProtocol)>,
    montage: Option<ThreadProtocol>,
    /// The map as a picture, when asked for.
    map: Option<ThreadProtocol>,
    map_generation: u64,
    /// Counts the images given to the preview and the montage, so that an encoding made
    /// for an image no longer shown is told apart and dropped.
    generation: u64,
    preview_generation: u64,
    montage_generation: u64,
    cache: VecDeque<(PathBuf, DynamicImage)>,
    /// The grid's thumbnails, for the graphics of `thumbnail_generation`.
    thumbnails: Thumbnails,
    thumbnail_generation: u64,
    tx: mpsc::Sender<Msg>,
}

impl Screen {
    fn new(graphics: Graphics, tx: mpsc::Sender<Msg>) -> Screen {
        Screen {
            graphics,
            preview: None,
            montage: None,
            map: None,
            map_generation: 0,
            generation: 0,
            preview_generation: 0,
            montage_generation: 0,
            cache: VecDeque::new(),
            thumbnails: Thumbnails::default(),
            thumbnail_generation: 0,
            tx,
        }
    }

    /// What the view draws: the preview (or the montage), the map picture, the thumbnails.
    fn for_view(&mut self, app: &App) -> Pictures<'_> {
        let preview = match app.overlay {
            Overlay::Montage(_) => self.montage.as_mut(),
            _ => match &mut self.preview {
                Some((p, protocol)) if Some(&*p) == app.preview_path.as_ref() => Some(protocol),
                _ => None,
            },
        };
        Pictures {
            preview,
            map: self.map.as_mut(),
            thumbnails: &mut self.thumbnails,
        }
    }

    /// `img`, to be resized and encoded on a worker of its own (which ends with it).
    fn protocol(&mut self, shown: Shown, img: DynamicImage) -> (u64, ThreadProtocol) {
        self.generation += 1;
        let encode = spawn_encoder(shown, self.generation, self.tx.clone());
        let protocol = self.graphics.new_resize_protocol(img);
        (self.generation, ThreadProtocol::new(encode, Some(protocol)))
    }

    /// Shows `path` from the cache; false when it must be decoded first.
    fn show_cached(&mut self, path: &PathBuf) -> bool {
        let Some((_, img)) = self.cache.iter().find(|(p, _)| p == path) else {
            return false;
        };
        let (generation, state) = self.protocol(Shown::Preview, img.clone());
        self.preview = Some((path.clone(), state));
        self.preview_generation = generation;
        true
    }

    fn decoded(&mut self, path: PathBuf, img: DynamicImage, wanted: Option<&PathBuf>) {
        if self.cache.len() == PREVIEW_CACHE {
            self.cache.pop_front();
        }
        self.cache.push_back((path.clone(), img));
        if wanted == Some(&path) {
            self.show_cached(&path);
        }
    }

    /// Draws with `graphics` from now on; returns the event that tells the app.
    fn set_graphics(&mut self, graphics: Graphics, shown: Option<&PathBuf>) -> Option<Event> {
        self.graphics = graphics;
        // Thumbnails are encoded for one protocol and cell size: the app asks again.
        self.thumbnails.clear();
        self.thumbnail_generation += 1;
        // Draw the shown preview again with the new protocol.
        if let Some(path) = shown {
            self.show_cached(path);
        }
        Some(Event::Graphics {
            how: self.graphics.describe(),
            images: self.graphics.draws_images(),
        })
    }

    fn show_montage(&mut self, img: DynamicImage) {
        let (generation, state) = self.protocol(Shown::Montage, img);
        self.montage = Some(state);
        self.montage_generation = generation;
    }

    /// An encoding is done; one made for an image no longer shown is dropped.
    fn encoded(&mut self, shown: Shown, generation: u64, done: ResizeResponse) {
        let state = match shown {
            Shown::Preview if generation == self.preview_generation => {
                self.preview.as_mut().map(|(_, p)| p)
            }
            Shown::Montage if generation == self.montage_generation => self.montage.as_mut(),
            Shown::Map if generation == self.map_generation => self.map.as_mut(),
            _ => None,
        };
        if let Some(state) = state {
            state.update_resized_protocol(done);
        }
    }
}

/// The workers that carry out the app's commands.
struct Workers {
    clusterer: mpsc::Sender<Job>,
    previews: mpsc::Sender<PathBuf>,
    thumbnails: mpsc::Sender<ThumbnailRequest>,
    map_picture: mpsc::Sender<(MapPicture, (u16, u16))>,
    neighbours: mpsc::Sender<(Arc<Collection>, usize, usize)>,
    /// Raised by Esc (and on quit): the export stops after the file in hand.
    export_cancel: Arc<AtomicBool>,
    /// Whether an export is copying.
    exporting: Arc<AtomicBool>,
    decode: DecodeOptions,
    /// TERM names a terminal without OSC 52 (or none).
    dumb: bool,
    /// The keep rules of the near-duplicates (setting `duplicates.keep`).
    keep: Vec<crate::dedupe::KeepRule>,
    tx: mpsc::Sender<Msg>,
}

impl Workers {
    fn execute(&self, command: Command, app: &App, screen: &mut Screen) {
        match command {
            Command::Quit => {}
            Command::LoadPreview(path) => {
                if !screen.show_cached(&path) {
                    screen.preview = None;
                    let _ = self.previews.send(path);
                }
            }
            Command::FindNeighbours(row, n) => {
                let _ = self.neighbours.send((app.collection.clone(), row, n));
            }
            Command::Export(files, target) => {
                self.export_cancel.store(false, Ordering::SeqCst);
                self.exporting.store(true, Ordering::SeqCst);
                let (cancel, exporting, root, tx) = (
                    self.export_cancel.clone(),
                    self.exporting.clone(),
                    app.root.clone(),
                    self.tx.clone(),
                );
                std::thread::spawn(move || {
                    let result = export_files(&files, &target, &root, &cancel, &tx);
                    exporting.store(false, Ordering::SeqCst);
                    let _ = tx.send(Event::Exported(result).into());
                });
            }
            Command::CancelExport => self.export_cancel.store(true, Ordering::SeqCst),
            Command::FreshExportFolder(suggested) => {
                let fresh = fresh_target(&app.root, Path::new(&suggested));
                let fresh = fresh.to_string_lossy().into_owned();
                let _ = self
                    .tx
                    .send(Event::ExportSuggested(suggested, fresh).into());
            }
            Command::Recluster(k) => {
                let _ = self.clusterer.send(Job::Refit(k, app.collection.clone()));
            }
            Command::Edit(edit) => {
                let _ = self.clusterer.send(Job::Edit(edit, app.collection.clone()));
            }
            Command::FindDuplicates(threshold) => {
                let (c, tx, rules) = (app.collection.clone(), self.tx.clone(), self.keep.clone());
                std::thread::spawn(move || {
                    let (groups, keepers) = duplicate_groups(&c, threshold, &rules);
                    let _ = tx.send(Event::Duplicates(groups).into());
                    let _ = tx.send(Event::Keepers(keepers).into());
                });
            }
            Command::ResolveDuplicates(groups, folder) => {
                let _ = self
                    .clusterer
                    .send(Job::Resolve(groups, folder, app.collection.clone()));
            }
            Command::FindOutliers => {
                let (c, tx) = (app.collection.clone(), self.tx.clone());
                std::thread::spawn(move || {
                    let found = crate::analysis::outliers::outliers(&c, OUTLIER_K);
                    let _ = tx.send(Event::Outliers(c, found).into());
                });
            }
            Command::Undo => {
                let _ = self.clusterer.send(Job::Undo(app.collection.clone()));
            }
            Command::Redo => {
                let _ = self.clusterer.send(Job::Redo(app.collection.clone()));
            }
            Command::Montage(files, stem) => {
                let root = app.root.clone();
                spawn_montage(files, stem, root, self.decode.clone(), self.tx.clone())
            }
            Command::Copy(text, n) => {
                let result = if self.dumb {
                    Err("this terminal (TERM) has no clipboard sequence".to_owned())
                } else if text.len() > terminal::CLIPBOARD_MAX {
                    Err(format!(
                        "{n} paths are {} kB, more than terminals take at once ({} kB)",
                        text.len() / 1000,
                        terminal::CLIPBOARD_MAX / 1000
                    ))
                } else {
                    let mut out = std::io::stdout();
                    out.write_all(terminal::osc52(&text).as_bytes())
                        .and_then(|()| out.flush())
                        .map(|()| n)
                        .map_err(|e| e.to_string())
                };
                let _ = self.tx.send(Event::Copied(result).into());
            }
            Command::DrawMap(request) => {
                let ((w, h), _) = screen.graphics.cell();
                let _ = self.map_picture.send((request, (w, h)));
            }
            Command::LoadThumbnails(images) => {
                let missing: Vec<_> = images
                    .into_iter()
                    .filter(|(path, _)| !screen.thumbnails.has(path))
                    .collect();
                if !missing.is_empty() {
                    let _ = self.thumbnails.send(ThumbnailRequest {
                        images: missing,
                        graphics: screen.graphics.clone(),
                        generation: screen.thumbnail_generation,
                    });
                }
            }
        }
    }
}

/// Copies a cluster's files into `target` (refusing a folder inside the collection, and one
/// that holds files: the explorer has no way to merge into it), reporting each file done.
fn export_files(
    files: &[PathBuf],
    target: &Path,
    root: &Path,
    cancel: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
) -> Result<ExportReport> {
    crate::export::check_outside(target, root)?;
    if std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::bad_request(format_args!(
            "{} already holds files; press e and type another folder (nothing is overwritten)",
            crate::text::shown(target)
        )));
    }
    let progress = |done| {
        let _ = tx.send(Event::ExportProgress(done).into());
    };
    Ok(crate::export::export_with(
        files,
        target,
        Default::default(),
        false,
        &progress,
        cancel,
    )?)
}

/// A worker thread that serves only the newest request: requests that arrive while it is
/// busy replace each other, so holding a key never queues work. `serve` returns false to
/// stop (the event loop is gone).
fn spawn_latest<T: Send + 'static>(
    mut serve: impl FnMut(T) -> bool + Send + 'static,
) -> mpsc::Sender<T> {
    let (tx, rx) = mpsc::channel::<T>();
    std::thread::spawn(move || {
        while let Ok(mut request) = rx.recv() {
            while let Ok(newer) = rx.try_recv() {
                request = newer;
            }
            if !serve(request) {
                break;
            }
        }
    });
    tx
}

/// Finds the nearest neighbours of one image at a time (the newest request).
fn spawn_neighbours(tx: mpsc::Sender<Msg>) -> mpsc::Sender<(Arc<Collection>, usize, usize)> {
    spawn_latest(move |(c, row, n): (Arc<Collection>, usize, usize)| {
        let found = neighbours::query(&c, c.row(row), Select::Nearest(n), Some(row));
        tx.send(Event::Neighbours { row, found, of: c }.into())
            .is_ok()
    })
}

/// Resizes and encodes one image for the terminal whenever its area changes (the newest
/// request), so that drawing only copies what is ready. The worker ends with the image.
fn spawn_encoder(
    shown: Shown,
    generation: u64,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<ResizeRequest> {
    spawn_latest(
        move |request: ResizeRequest| match request.resize_encode() {
            Ok(done) => tx.send(Msg::Encoded(shown, generation, done)).is_ok(),
            Err(_) => true,
        },
    )
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

/// Shows the saved clustering at once if there is one, then brings the index up to date,
/// assigns new images to the clusters (or fits them on a first run), and looks for
/// near-duplicates. `indexing` is raised while the index is written (a quit then waits for
/// the batch in hand to be committed).
fn spawn_loader(
    mut session: Session,
    cancel: Arc<AtomicBool>,
    indexing: Arc<AtomicBool>,
    tx: mpsc::Sender<Msg>,
) {
    std::thread::spawn(move || {
        if let Err(e) = load(&mut session, &cancel, &indexing, &tx) {
            let _ = tx.send(Msg::LoadFailed(e));
        }
    });
}

fn load(
    session: &mut Session,
    cancel: &AtomicBool,
    indexing: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
) -> Result<()> {
    let threshold = session.config().duplicates.threshold;
    let rules = session.keep_rules(None)?;
    // With the vectors read: make what neighbour and near-duplicate searches need.
    let prepare = |c: &Arc<Collection>| {
        if c.len() >= APPROXIMATE_FROM {
            // Made here, while the user looks at the clusters, so that neighbour searches
            // do not pause for it (a search that comes first waits for it).
            c.quantized.get_or_init(|| Quantized::new(c));
        }
        let (groups, keepers) = duplicate_groups(c, threshold, &rules);
        let _ = tx.send(Event::Duplicates(groups).into());
        let _ = tx.send(Event::Keepers(keepers).into());
    };
    // Fewer than 2 images are shown as they are (the live folder may bring more).
    let fit = |session: &mut Session, c: Collection| -> Result<()> {
        let clustering = session.clustering_to_show(&c)?;
        let c = Arc::new(c);
        let _ = tx.send(Event::Loaded(c.clone(), Box::new(clustering)).into());
        prepare(&c);
        Ok(())
    };
    // Warm start: what the store already knows is on screen while the folder is checked.
    // The saved clustering places its images without their vectors, so it is shown first
    // and the vectors (most of the wait: 1.1 s at 100,000 images) are read behind it.
    let warm = session.warm_start()?;
    let shown_early = warm.is_some();
    if let Some(warm) = warm {
        let early = warm.shown.map(|(known, clustering)| {
            let known = Arc::new(known);
            let _ = tx.send(Event::Loaded(known.clone(), Box::new(clustering)).into());
            known
        });
        let c = session.read_vectors(warm.files)?;
        match early {
            Some(known) if known.paths == c.paths => {
                let c = Arc::new(c);
                let _ = tx.send(Event::Vectors(c.clone()).into());
                prepare(&c);
            }
            _ => fit(session, c)?,
        }
    }
    let progress_tx = std::sync::Mutex::new(tx.clone());
    let progress = |p: Progress| {
        let _ = progress_tx
            .lock()
            .expect("progress lock")
            .send(Event::Progress(p).into());
    };
    // Brings the index up to date; a quit meanwhile waits for the batch in hand (`indexing`).
    let reindex = |session: &mut Session| {
        indexing.store(true, Ordering::SeqCst);
        let summary = session.update_index(&progress, cancel);
        indexing.store(false, Ordering::SeqCst);
        let _ = tx.send(Event::Clustering.into());
        summary
    };
    // Watched from before the first check, so nothing added meanwhile is missed.
    let mut watch = session.watch();
    let _ = tx.send(Event::Watching(watch.mode().clone()).into());
    let summary = reindex(session)?;
    if summary.interrupted {
        return Err(Error::interrupted());
    }
    // The first pass sets what is skipped; later passes tell only what changes.
    let _ = watch.assess(&summary);
    if !shown_early || summary.changed_collection() {
        let c = session.collection()?;
        fit(session, c)?;
    }
    // A store made before thumbnails were kept gets them now, behind the screen (the grid
    // makes those it shows first, on its own worker).
    if session.config().index.thumbnails {
        let progress = |done, total| {
            let _ = tx.send(Event::Thumbnailing(done, total).into());
        };
        session.fill_thumbnails(progress, cancel)?;
    }
    // The live folder: each change is indexed, new images join the nearest cluster of the
    // saved clustering, deleted ones drop out; the screen keeps its cursor.
    while !cancel.load(Ordering::SeqCst) {
        if !watch.wait(Duration::from_millis(250)) {
            continue;
        }
        let summary = reindex(session)?;
        if summary.interrupted {
            break;
        }
        let Some(change) = watch.assess(&summary) else {
            continue;
        };
        if change.collection_changed() {
            let c = session.collection()?;
            fit(session, c)?;
        }
        let _ = tx.send(Event::FolderChanged(change).into());
    }
    Ok(())
}

/// What the clusterer does: a refit for `+` / `-`, or an edit of the clustering.
enum Job {
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
}

/// Fits new clusterings for `+` / `-` and applies edits, undos and redos, in order, on one
/// session (so the saved clustering and its edit log change one at a time). A refit waiting
/// behind a newer refit is skipped: holding `+` fits once.
fn spawn_clusterer(mut session: Session, tx: mpsc::Sender<Msg>) -> mpsc::Sender<Job> {
    let (jobs, rx) = mpsc::channel::<Job>();
    std::thread::spawn(move || {
        let mut queue = VecDeque::new();
        loop {
            if queue.is_empty() {
                match rx.recv() {
                    Ok(job) => queue.push_back(job),
                    Err(_) => break,
                }
            }
            queue.extend(rx.try_iter());
            let Some(job) = queue.pop_front() else {
                continue;
            };
            let event = match job {
                Job::Refit(..) if queue.iter().any(|j| matches!(j, Job::Refit(..))) => continue,
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
                    Event::Resolved(resolve(&mut session, &groups, folder, &c))
                }
                Job::Undo(c) => Event::Edited(session.undo(&c).and_then(|done| {
                    done.map(|(cl, what)| (Box::new(cl), what))
                        .ok_or_else(|| Error::bad_request("nothing to undo"))
                })),
                Job::Redo(c) => Event::Edited(session.redo(&c).and_then(|done| {
                    done.map(|(cl, what)| (Box::new(cl), what))
                        .ok_or_else(|| Error::bad_request("nothing to redo"))
                })),
            };
            if tx.send(event.into()).is_err() {
                break;
            }
        }
    });
    jobs
}

/// Moves or trashes the copies of each group, keeping its first file (the user's keeper),
/// journalled in the store like `imgtui dups --action`; returns how it went in one line.
fn resolve(
    session: &mut Session,
    groups: &[(PathBuf, Vec<PathBuf>)],
    folder: Option<PathBuf>,
    c: &Collection,
) -> Result<String> {
    use crate::dedupe::{Action, Member, Status, file_facts, plan_chosen};
    let action = match folder {
        // `imgtui-duplicates`, placed as montages are (beside the collection if the working
        // folder is inside it).
        Some(f) => Action::Move(folder_outside(session.root(), &f.to_string_lossy())?)
            .checked(session.root())?,
        None => Action::Trash,
    };
    let hash_of = |p: &PathBuf| c.paths.iter().position(|q| q == p).map(|i| c.hashes[i]);
    let mut chosen = Vec::new();
    for (keeper, copies) in groups {
        let paths: Vec<PathBuf> = std::iter::once(keeper).chain(copies).cloned().collect();
        let members: Vec<Member> = file_facts(&paths)
            .into_iter()
            .zip(&paths)
            .filter_map(|(facts, p)| {
                Some(Member {
                    facts: facts.ok()?,
                    hash: hash_of(p)?,
                })
            })
            .collect();
        // The keeper must be there for its copies to go.
        if members.first().is_some_and(|m| m.facts.path == *keeper) && members.len() > 1 {
            chosen.push((members, 0));
        }
    }
    let plan = plan_chosen(session.root(), chosen, &action);
    let report = session.dedupe_execute(&plan, &AtomicBool::new(false), &|_| {})?;
    let verb = match action {
        Action::Move(f) => format!("moved to {}", crate::text::shown(&f)),
        _ => "moved to the trash".to_owned(),
    };
    let mut said = format!(
        "{} {verb} ({}; imgtui dups --undo puts them back)",
        super::app::images(report.done()),
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

/// A near-duplicate group's keeper (an index in it) and its files' sizes in bytes.
type Keeper = (Option<usize>, Vec<u64>);

/// The near-duplicate groups of `c` at `threshold`, and each group's keeper by `rules` with
/// its files' sizes (what [`Event::Keepers`] carries).
fn duplicate_groups(
    c: &Collection,
    threshold: f32,
    rules: &[crate::dedupe::KeepRule],
) -> (Vec<Vec<usize>>, Vec<Keeper>) {
    let groups = duplicates::groups(c, threshold);
    let keepers = groups
        .iter()
        .map(|group| {
            let paths: Vec<PathBuf> = group.iter().map(|&i| c.paths[i].clone()).collect();
            let facts: Option<Vec<crate::dedupe::FileFacts>> = crate::dedupe::file_facts(&paths)
                .into_iter()
                .map(Result::ok)
                .collect();
            match facts {
                Some(facts) => (
                    Some(crate::dedupe::keeper(&facts, rules)),
                    facts.iter().map(|f| f.bytes).collect(),
                ),
                None => (None, Vec::new()),
            }
        })
        .collect();
    (groups, keepers)
}

/// The status line's words for an edit done.
fn edited(edit: &Edit) -> String {
    let what = match edit {
        Edit::Name { name, .. } => format!("renamed to \"{}\"", name.trim()),
        Edit::Merge { .. } => "merged".to_owned(),
        Edit::Split { k: Some(k), .. } => format!("split into {k}"),
        Edit::Split { k: None, .. } => "split".to_owned(),
        Edit::Move { images, to: None } => format!(
            "{} moved to a new cluster",
            super::app::images(images.len())
        ),
        Edit::Move { images, .. } => format!("{} moved", super::app::images(images.len())),
    };
    format!("{what} (u undoes)")
}

/// Draws a montage and saves it in `imgtui-montage/`, in the working folder or, when that is
/// inside the collection at `root`, beside the collection (see [`folder_outside`]).
fn spawn_montage(
    files: Vec<PathBuf>,
    stem: String,
    root: PathBuf,
    decode: DecodeOptions,
    tx: mpsc::Sender<Msg>,
) {
    std::thread::spawn(move || {
        let folder = match folder_outside(&root, "imgtui-montage") {
            Ok(folder) => folder,
            Err(e) => return drop(tx.send(Event::Montage(Err(e.into())).into())),
        };
        let opts = MontageOptions {
            decode,
            ..Default::default()
        };
        let sheet = montage(&files, &opts);
        let _ = match save_in_folder(&sheet, &folder, &stem) {
            Ok(path) => tx.send(Msg::Montage(path, DynamicImage::ImageRgb8(sheet))),
            Err(e) => tx.send(Event::Montage(Err(e.into())).into()),
        };
    });
}

/// Grid thumbnails to make: the images (path, content hash), in order, and the graphics to
/// encode them for.
struct ThumbnailRequest {
    images: Vec<(PathBuf, [u8; 32])>,
    graphics: Graphics,
    generation: u64,
}

/// Makes grid thumbnails one at a time: from the feature store (made while indexing), else
/// from the file (and then kept in the store), each resized and encoded for one tile and
/// sent as it is done. A newer request replaces the one in hand at the next image, so
/// holding a key through a large cluster never queues pages.
fn spawn_thumbnailer(session: Session, tx: mpsc::Sender<Msg>) -> mpsc::Sender<ThumbnailRequest> {
    let (requests, rx) = mpsc::channel::<ThumbnailRequest>();
    std::thread::spawn(move || {
        let size = Size::new(GRID_TILE.0, GRID_TILE.1);
        'wait: while let Ok(mut request) = rx.recv() {
            'serve: loop {
                for (path, hash) in std::mem::take(&mut request.images) {
                    if let Ok(newer) = rx.try_recv() {
                        request = newer;
                        while let Ok(newer) = rx.try_recv() {
                            request = newer;
                        }
                        continue 'serve;
                    }
                    let Ok(thumbnail) = session.thumbnail(&path, &hash) else {
                        continue;
                    };
                    let encoded = request
                        .graphics
                        .encoded(DynamicImage::ImageRgb8(thumbnail), size);
                    if tx
                        .send(Msg::Thumbnail(path, request.generation, encoded))
                        .is_err()
                    {
                        break 'wait;
                    }
                }
                break;
            }
        }
    });
    requests
}

/// Small thumbnails kept by the map painter, so that walking and zooming redraw quickly.
const MAP_THUMBNAILS_KEPT: usize = 20_000;

/// Draws the map as a picture (the newest request; a newer one stops the one in hand at the
/// next image) from the thumbnails, kept small in memory between pictures.
fn spawn_map_painter(
    session: Session,
    tx: mpsc::Sender<Msg>,
) -> mpsc::Sender<(MapPicture, (u16, u16))> {
    let (requests, rx) = mpsc::channel::<(MapPicture, (u16, u16))>();
    std::thread::spawn(move || {
        let mut small: std::collections::HashMap<(PathBuf, u32), image::RgbImage> =
            Default::default();
        let mut pending = None;
        loop {
            let mut request = match pending.take() {
                Some(r) => r,
                None => match rx.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                },
            };
            while let Ok(newer) = rx.try_recv() {
                request = newer;
            }
            let (p, cell) = request;
            let size = picture::picture_size(&p, cell);
            let pic = picture::compose(&p, size, |image, side| {
                if pending.is_some() {
                    return None;
                }
                if let Some(t) = small.get(&(image.path.clone(), side)) {
                    return Some(t.clone());
                }
                // A newer picture is wanted: stop loading thumbnails for this one.
                if let Ok(newer) = rx.try_recv() {
                    pending = Some(newer);
                    return None;
                }
                let t = session.thumbnail(&image.path, &image.hash).ok()?;
                let t = DynamicImage::ImageRgb8(t).thumbnail(side, side).to_rgb8();
                if small.len() >= MAP_THUMBNAILS_KEPT {
                    small.clear();
                }
                small.insert((image.path.clone(), side), t.clone());
                Some(t)
            });
            if pending.is_some() {
                continue;
            }
            if tx
                .send(Msg::MapPicture(DynamicImage::ImageRgb8(pic)))
                .is_err()
            {
                break;
            }
        }
    });
    requests
}

/// Decodes preview images off the UI thread; only the newest request is served, so holding
/// ↓ never queues a decode per image.
fn spawn_previewer(decode_opts: DecodeOptions, tx: mpsc::Sender<Msg>) -> mpsc::Sender<PathBuf> {
    spawn_latest(move |path: PathBuf| {
        let Ok(bytes) = std::fs::read(&path) else {
            return true;
        };
        let Ok(img) = decode(&bytes, &decode_opts) else {
            return true;
        };
        // Previews never need more than a screenful of pixels.
        let img = if img.width().max(img.height()) > 1024 {
            img.thumbnail(1024, 1024)
        } else {
            img
        };
        tx.send(Msg::Preview(path, img)).is_ok()
    })
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
        let (tx, _rx) = mpsc::channel();
        let cancel = AtomicBool::new(false);
        let err = export_files(&[image], &target, &root, &cancel, &tx).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::BadRequest);
        let text = err.to_string();
        assert!(text.contains("type another folder"), "{text}");
        assert!(!text.contains("merge"), "the explorer cannot merge: {text}");
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
    }
}
