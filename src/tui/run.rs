//! The event loop: it takes the terminal, starts the workers ([`super::workers`]), and then
//! draws, reads keys and the terminal's replies, and hands the workers' messages and the
//! app's commands round until the user quits.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui_image::picker::ProtocolType;

use super::app::{App, Command, Event, Facets};
use super::screen::Screen;
use super::terminal::{self, Graphics, Input, Probe, Reader, Tty, TtySize};
use super::theme::Theme;
use super::view::{grid_size, map_size, view};
use super::workers::Msg;
use super::workers::commands::Workers;
use super::workers::loader::spawn_loader;
use crate::config::{ProtocolSetting, ThemeSetting, ViewSetting};
use crate::error::{Error, ErrorKind, Result};
use crate::session::Session;

/// What a change of clears the screen: the overlay, and the compare view's shape (flickering,
/// its columns and rows).
type Layout = (
    std::mem::Discriminant<super::app::Overlay>,
    Option<(bool, (u16, u16))>,
);

/// How long the terminal gets to answer the graphics query.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Runs the explorer until the user quits. The terminal (and any tmux option changed) is
/// restored on return, on error, on panic and on SIGHUP/SIGTERM (see [`terminal::restore`]).
///
/// `view` is the first screen ([`ViewSetting`]). `protocol` forces an image protocol; `Auto` asks the terminal which one it speaks (after
/// the first frame, at most 1 s; keys typed meanwhile are handled as usual). Either way the
/// cell size in pixels comes from the tty, else the terminal's answer, else the setting
/// `explore.cell_size`, else a small guess, and is read again on every resize. Raising
/// `cancel` (a signal) ends the explorer and keeps the work done.
///
/// Fails with [`crate::ErrorKind::BadRequest`] when stdin or stdout is not a terminal, and
/// when the terminal cannot be set up.
pub fn run(
    mut session: Session,
    protocol: ProtocolSetting,
    view: ViewSetting,
    cancel: Arc<AtomicBool>,
) -> Result<()> {
    let protocol = forced(protocol);
    if !(std::io::stdout().is_terminal() && std::io::stdin().is_terminal()) {
        return Err(Error::bad_request(
            "the explorer needs a terminal; for scripts see `imgtui --help` (cluster, similar, …)",
        ));
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let setting = session
        .config()
        .facet()
        .map_err(|e| Error::with_kind(ErrorKind::BadRequest, e))?;
    session.set_space(setting.clone());
    session.keep_vectors_in_bytes_from(session.config().explore.byte_vectors_from);
    let space = Arc::new(Mutex::new(setting));
    let mut app = new_app(&session);
    app.start_with(view);
    let mouse = session.config().explore.mouse;
    let cell_setting = session.config().explore.cell_size.0;
    let page_bytes = session.config().explore.page_kb.saturating_mul(1000);
    let dumb = terminal::environment().dumb;
    let indexing = Arc::new(AtomicBool::new(false));
    let loader = session.reopener();
    let workers = Workers::start(session, space.clone(), dumb, &tx)?;
    let graphics = match protocol {
        Some(p) => Graphics::forced(p, cell_setting),
        None if dumb => Graphics::halfblocks("TERM names a terminal without images"),
        None => Graphics::halfblocks("asking the terminal…"),
    };
    app.on(Event::Graphics {
        how: graphics.describe(),
        images: graphics.draws_images(),
    });
    let screen = Screen::new(graphics, page_bytes, tx.clone());
    spawn_loader(loader, space, cancel.clone(), indexing.clone(), tx);

    let mut terminal = terminal::enter()?;
    if mouse {
        terminal::enable_mouse(&mut std::io::stdout())?;
    }
    let finished = Arc::new(AtomicBool::new(false));
    spawn_watchdog(cancel.clone(), finished.clone());
    let asked = (protocol, cell_setting);
    let mut explorer = Explorer::new(app, screen, workers, rx, cancel, asked, dumb);
    let result = explorer.run(&mut terminal);
    terminal::restore();
    finished.store(true, Ordering::SeqCst);
    explorer.finish(result, &indexing)
}

/// The protocol the setting forces, `None` for `auto`.
fn forced(protocol: ProtocolSetting) -> Option<ProtocolType> {
    match protocol {
        ProtocolSetting::Auto => None,
        ProtocolSetting::Kitty => Some(ProtocolType::Kitty),
        ProtocolSetting::Sixel => Some(ProtocolType::Sixel),
        ProtocolSetting::Iterm2 => Some(ProtocolType::Iterm2),
        ProtocolSetting::Halfblocks => Some(ProtocolType::Halfblocks),
    }
}

/// The app for `session`'s folder, with the settings it shows (neighbours, the
/// near-duplicates' similarity, the theme).
fn new_app(session: &Session) -> App {
    let mut app = App::new(
        session.root().to_owned(),
        session.extractor().name().to_owned(),
    );
    let config = session.config();
    app.neighbours.count = config.explore.neighbours;
    app.neighbours.searchable = session.searches_by_words();
    app.duplicates.threshold = config.duplicates.threshold;
    app.look.theme = Theme::from_setting(config.explore.theme, Theme::no_color_env());
    app.look.auto = config.explore.theme == ThemeSetting::Auto;
    app.facets = Facets::new(session.space());
    app
}

/// The event loop's state.
struct Explorer {
    app: App,
    screen: Screen,
    workers: Workers,
    rx: mpsc::Receiver<Msg>,
    /// Raised by a signal: the explorer ends.
    cancel: Arc<AtomicBool>,
    /// The protocol forced by the settings, if any.
    protocol: Option<ProtocolType>,
    /// The setting `explore.cell_size`.
    cell_setting: Option<(u16, u16)>,
    /// Whether the terminal is still to be asked about graphics (after the first frame).
    to_probe: bool,
    probing: Option<Probe>,
    tty_size: Option<TtySize>,
    /// Redraw everything once: after the probe (a terminal that printed part of a question
    /// it did not know leaves no trace) and when the cell size changes (old images go).
    clear: bool,
    input: Reader,
    /// The layout last drawn: which overlay, and the compare view's shape.
    layout_drawn: Option<Layout>,
    /// A failure of the loader, returned when the explorer ends.
    failure: Option<Error>,
}

impl Explorer {
    /// The loop's state before the first frame (the terminal taken): `asked` is the
    /// protocol forced by the settings, if any, and the setting `explore.cell_size`.
    fn new(
        app: App,
        screen: Screen,
        workers: Workers,
        rx: mpsc::Receiver<Msg>,
        cancel: Arc<AtomicBool>,
        asked: (Option<ProtocolType>, Option<(u16, u16)>),
        dumb: bool,
    ) -> Explorer {
        let (protocol, cell_setting) = asked;
        // Halfblocks draw everywhere, so the first frames use them while the terminal is
        // asked what it can do (every terminal: over SSH the environment names none). Its
        // replies come in with the keys; `input` tells them apart, so keys typed meanwhile
        // are handled at once and in order, answered or not. A forced graphics protocol
        // asks for the cell size only.
        let to_probe = cfg!(unix)
            && match protocol {
                None => !dumb,
                Some(p) => p != ProtocolType::Halfblocks,
            };
        Explorer {
            app,
            screen,
            workers,
            rx,
            cancel,
            protocol,
            cell_setting,
            to_probe,
            probing: None,
            tty_size: terminal::tty_size(),
            clear: false,
            input: Reader::new(),
            layout_drawn: None,
            failure: None,
        }
    }

    /// Draws, reads and dispatches until the user quits, the terminal closes or a signal
    /// comes.
    fn run(&mut self, terminal: &mut Tty) -> Result<()> {
        // A frame is drawn after anything but an idle tick (any tick while the compare view
        // flickers), on a resize, and at least once a second: at a million images a frame
        // (the map's points) costs tens of milliseconds, which 20 idle frames a second turned
        // into a fifth of a core doing nothing.
        let mut changed = true;
        let mut drawn = (std::time::Instant::now(), terminal.size()?);
        loop {
            let size = terminal.size()?;
            if changed || size != drawn.1 || drawn.0.elapsed() >= Duration::from_secs(1) {
                self.draw(terminal)?;
                drawn = (std::time::Instant::now(), size);
            }
            // Ctrl-C from outside, SIGTERM, or SIGHUP (the SSH connection dropped).
            if self.cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut events = Vec::new();
            self.probe_or_resize(&mut events)?;
            if self.read_input(terminal, &mut events)?.is_break() {
                return Ok(());
            }
            self.probe_timed_out(&mut events);
            self.drain(&mut events);
            changed = events.iter().any(|e| !matches!(e, Event::Idle));
            let (flow, commands) = self.dispatch(events);
            changed |= commands || self.app.animating();
            if flow.is_break() {
                return Ok(());
            }
        }
    }

    /// Draws a frame, after sizing the grid and the map to the screen.
    fn draw(&mut self, terminal: &mut Tty) -> Result<()> {
        // Graphics (sixel especially) stay on screen until every cell under them is
        // written again, which ratatui's diff does not do: when the screen changes from
        // one layout to another, clear it and draw it whole.
        let layout = (
            std::mem::discriminant(&self.app.overlay),
            self.app.compare_shape(),
        );
        if self.layout_drawn.is_some_and(|l| l != layout) || std::mem::take(&mut self.clear) {
            clear_all(terminal)?;
        }
        self.layout_drawn = Some(layout);
        // The grid's size follows the screen's and the layout's.
        let area = terminal.size()?;
        let area = Rect::new(0, 0, area.width, area.height);
        let tiles = grid_size(&self.app, area);
        let mut sized = Vec::new();
        if area != self.app.look.screen {
            sized.extend(self.app.on(Event::ScreenSize(area.width, area.height)));
        }
        if tiles != self.app.grid.size {
            sized.extend(self.app.on(Event::GridSize(tiles.0, tiles.1)));
        }
        let cells = map_size(&self.app, area);
        if cells != self.app.map.cells {
            sized.extend(self.app.on(Event::MapSize(cells.0, cells.1)));
        }
        for command in sized {
            self.workers.execute(command, &self.app, &mut self.screen);
        }
        let (app, screen) = (&self.app, &mut self.screen);
        terminal.draw(|f| view(f, app, screen.for_view(app)))?;
        Ok(())
    }

    /// Asks the terminal about graphics after the first frame; on a resize (a font zoom
    /// changes the pixels, not always the cells), takes the tty's new cell size, or asks the
    /// terminal again when its answer gave the last one.
    fn probe_or_resize(&mut self, events: &mut Vec<Event>) -> Result<()> {
        if std::mem::take(&mut self.to_probe) {
            self.probing = Some(Probe::start(
                &mut std::io::stdout(),
                PROBE_TIMEOUT,
                self.protocol,
                self.cell_setting,
            )?);
        }
        let size = terminal::tty_size();
        if size != self.tty_size && self.probing.is_none() {
            self.tty_size = size;
            if let Some(g) = self.screen.graphics().resized() {
                self.set_graphics(g, events);
            } else if self.screen.graphics().cell_from_terminal() {
                terminal::ask_cell_size(&mut std::io::stdout())?;
            }
        }
        Ok(())
    }

    /// Draws with `graphics` from now on, clearing the screen once.
    fn set_graphics(&mut self, graphics: Graphics, events: &mut Vec<Event>) {
        let shown = self.app.preview_path.as_ref();
        events.extend(self.screen.set_graphics(graphics, shown));
        self.clear = true;
    }

    /// Reads keys, the mouse and the terminal's replies for at most 50 ms (an idle tick
    /// when none came); breaks when the terminal is gone.
    fn read_input(
        &mut self,
        terminal: &mut Tty,
        events: &mut Vec<Event>,
    ) -> Result<ControlFlow<()>> {
        let inputs = self.input.read(Duration::from_millis(50));
        if inputs.is_empty() {
            events.push(Event::Idle);
        }
        for i in inputs {
            match i {
                Input::Key(k) => events.push(Event::Key(k)),
                Input::Mouse(m) => events.extend(self.mouse(terminal, m)?),
                Input::Reply(r) => self.reply(r, events),
                // The terminal is gone: nothing more can be shown or typed.
                Input::Closed => return Ok(ControlFlow::Break(())),
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// What a click or a turn of the wheel hits, as an event.
    fn mouse(&self, terminal: &mut Tty, m: MouseEvent) -> Result<Option<Event>> {
        let size = terminal.size()?;
        let area = Rect::new(0, 0, size.width, size.height);
        let hit = super::view::hit(&self.app, area, m.column, m.row);
        Ok(hit.and_then(|hit| match m.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Event::Click(hit)),
            MouseEventKind::ScrollUp => Some(Event::Wheel(hit, -1)),
            MouseEventKind::ScrollDown => Some(Event::Wheel(hit, 1)),
            _ => None,
        }))
    }

    /// A reply of the terminal: to the probe, or after it to the size question asked on a
    /// resize (late answers to the probe change nothing else).
    fn reply(&mut self, r: terminal::Reply, events: &mut Vec<Event>) {
        let graphics = match self.probing.as_mut() {
            Some(p) => {
                let done = p.replied(r);
                if done.is_some() {
                    if let Some(light) = p.light_background() {
                        events.push(Event::Background { light });
                    }
                    self.probing = None;
                }
                done
            }
            None => self.screen.graphics().answered(&r),
        };
        if let Some(g) = graphics {
            self.set_graphics(g, events);
        }
    }

    /// Ends a probe the terminal did not finish answering in time, with what it said.
    fn probe_timed_out(&mut self, events: &mut Vec<Event>) {
        if self.probing.as_ref().is_some_and(Probe::timed_out)
            && let Some(mut p) = self.probing.take()
        {
            if let Some(light) = p.light_background() {
                events.push(Event::Background { light });
            }
            self.set_graphics(p.finish(), events);
        }
    }

    /// Takes in what the workers sent: events for the app, images for the screen.
    fn drain(&mut self, events: &mut Vec<Event>) {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::App(e) => events.push(e),
                Msg::Preview(path, img) => {
                    self.screen
                        .decoded(path, img, self.app.preview_path.as_ref())
                }
                Msg::Montage(path, img) => {
                    self.screen.show_montage(img);
                    events.push(Event::Montage(Ok(path)));
                }
                Msg::Encoded(shown, generation, done) => {
                    self.screen.encoded(shown, generation, done)
                }
                Msg::Thumbnail(path, tile, generation, t) => {
                    self.screen.thumbnail(path, tile, generation, t)
                }
                Msg::MapPicture(img) => self.screen.show_map(img),
                Msg::LoadFailed(e) => {
                    let store = self.workers.session().store_path();
                    events.push(Event::LoadFailed(e.explained(Some(store))));
                    if e.kind() != ErrorKind::Interrupted {
                        self.failure = Some(e);
                    }
                }
            }
        }
    }

    /// Gives the app its events and the workers its commands; breaks on quit. Also says
    /// whether any command came of them (the screen may then change without another event).
    fn dispatch(&mut self, events: Vec<Event>) -> (ControlFlow<()>, bool) {
        let mut commands = false;
        for event in events {
            for command in self.app.on(event) {
                if command == Command::Quit {
                    return (ControlFlow::Break(()), true);
                }
                commands = true;
                self.workers.execute(command, &self.app, &mut self.screen);
            }
        }
        (ControlFlow::Continue(()), commands)
    }

    /// After the loop (the terminal given back): lets indexing commit the batch in hand and
    /// an export finish the file in hand, folds the store's WAL into its file, and returns
    /// the loop's error or the loader's failure.
    fn finish(self, result: Result<()>, indexing: &AtomicBool) -> Result<()> {
        // Quitting while indexing or exporting: let the writer commit what is done (it
        // stops within a batch) and the export finish the file in hand. Other background
        // work (fitting, the near-duplicate search) has nothing to keep.
        self.cancel.store(true, Ordering::SeqCst);
        self.workers.export_cancel.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while (indexing.load(Ordering::SeqCst) || self.workers.exporting.load(Ordering::SeqCst))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The workers' connections end with the process, unclosed: fold the WAL into the
        // store file now, so that the file alone holds everything (a backup, `store merge`).
        if self.failure.is_none() {
            let _ = self.workers.session().checkpoint();
        }
        // The command line tells it again, now that the screen is back, and exits non-zero.
        result.and(self.failure.map_or(Ok(()), Err))
    }
}

/// Clears the screen and makes the next draw write every cell, without asking the terminal
/// where its cursor is: ratatui's `Terminal::clear` does (CSI 6 n), and crossterm would read
/// that reply from stdin behind the [`Reader`]'s back, racing it for keys.
fn clear_all(terminal: &mut Tty) -> Result<()> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // A blank frame: the next one differs from it wherever it shows anything.
    terminal.draw(|f| f.render_widget(ratatui::widgets::Clear, f.area()))?;
    Ok(())
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
