//! Bytes the explorer writes to the terminal for the grid, the preview and the map picture,
//! for each image protocol, on a real indexed folder:
//! `cargo run --release --example wire_bytes -- STORE DIR [COLUMNS ROWS] [--page-kb N]`
//! (default 160 × 48, and `explore.page_kb` of the configuration; 0 sends every thumbnail at
//! full detail).
//!
//! The screen is drawn by the explorer's own `view` into ratatui's crossterm backend writing
//! to memory (cells 10 × 20 pixels), and the bytes of each frame are counted:
//! - a new page of the grid (its thumbnails drawn for the first time);
//! - one cursor step within the page (only the frames of two tiles change);
//! - the next page (PgDn);
//! - the preview of one image in its pane (sent on each cursor step, as the preview follows);
//! - the map as a picture, one redraw (walking the map sends one per step);
//! - the overview (`w`) and the lattice (`L`, at its first zoom and at 6 × 3 cells; Home puts
//!   the cursor in the first column, so that → stays on the page): a first page, one cursor
//!   step (→) and the next page (PgDn).

use std::io::Write;
use std::sync::{Arc, Mutex};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use image::DynamicImage;
use imgtui::analysis::saved::Wanted;
use imgtui::config::Config;
use imgtui::tui::ProtocolType;
use imgtui::tui::app::{App, Command, Event};
use imgtui::tui::terminal::{Graphics, tile_budget};
use imgtui::tui::view::{self, Pictures, Thumbnails};
use imgtui::{OnnxModel, Session};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Rect, Size};
use ratatui::{Terminal, TerminalOptions, Viewport};
use ratatui_image::{Resize, StatefulImage};

/// A writer that keeps what it is given, shared with the counter.
#[derive(Clone, Default)]
struct Wire(Arc<Mutex<Vec<u8>>>);

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Wire {
    fn take(&self) -> usize {
        std::mem::take(&mut *self.0.lock().unwrap()).len()
    }
}

const CELL: (u16, u16) = (10, 20);

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().collect();
    let (config, _) = Config::load(None)?;
    let mut page_kb = config.explore.page_kb;
    if let Some(at) = args.iter().position(|a| a == "--page-kb") {
        anyhow::ensure!(at + 1 < args.len(), "--page-kb needs a number");
        page_kb = args[at + 1].parse()?;
        args.drain(at..at + 2);
    }
    anyhow::ensure!(
        args.len() >= 3,
        "usage: wire_bytes STORE DIR [COLUMNS ROWS]"
    );
    let (columns, rows): (u16, u16) = match (args.get(3), args.get(4)) {
        (Some(c), Some(r)) => (c.parse()?, r.parse()?),
        _ => (160, 48),
    };
    let mut session = Session::open(
        args[2].as_ref(),
        args[1].as_ref(),
        config,
        Arc::new(OnnxModel::builtin()),
    )?;
    let c = session.images()?;
    let (clustering, _, _) = session.clustering(&c, &Wanted::default())?;
    let c = Arc::new(c);
    println!(
        "{} images, screen {columns}×{rows} cells of {}×{} px, thumbnails within {page_kb} kB a page",
        c.len(),
        CELL.0,
        CELL.1
    );
    let page = Page {
        screen: (columns, rows),
        bytes: page_kb * 1000,
    };
    println!(
        "{:<11} {:>10} {:>8} {:>10} {:>9} {:>11}",
        "protocol", "new page", "step", "next page", "preview", "map picture"
    );
    let mut views = Vec::new();
    for (protocol, zlib) in [
        (ProtocolType::Kitty, true),
        (ProtocolType::Kitty, false),
        (ProtocolType::Sixel, false),
        (ProtocolType::Iterm2, false),
        (ProtocolType::Halfblocks, false),
    ] {
        let graphics = match protocol {
            ProtocolType::Halfblocks => Graphics::halfblocks("bench"),
            p => Graphics::forced(p, Some(CELL)).with_kitty_zlib(zlib),
        };
        let name = match (protocol, zlib) {
            (ProtocolType::Kitty, true) => "kitty o=z".to_owned(),
            (ProtocolType::Kitty, false) => "kitty raw".to_owned(),
            (p, _) => format!("{p:?}").to_lowercase(),
        };
        let grid = walk(&session, &graphics, &c, &clustering, &page, &[])?;
        let (first, step, next) = (grid[0], grid[1], grid[2]);
        let overview = walk(
            &session,
            &graphics,
            &c,
            &clustering,
            &page,
            &[KeyCode::Char('w')],
        )?;
        let lattice = walk(
            &session,
            &graphics,
            &c,
            &clustering,
            &page,
            &[KeyCode::Char('L'), KeyCode::Home],
        )?;
        let small = walk(
            &session,
            &graphics,
            &c,
            &clustering,
            &page,
            &[
                KeyCode::Char('L'),
                KeyCode::Char('-'),
                KeyCode::Char('-'),
                KeyCode::Home,
            ],
        )?;
        views.push((name.clone(), overview, lattice, small));
        let (app, _) = opened(&c, &clustering, (columns, rows), session.root(), &[])?;
        // The preview pane (a third of the width, 60 % of the top) and the map pane.
        let preview = one_image(&graphics, &app, &c, Size::new(columns * 28 / 100 - 2, 20))?;
        let map = map_picture(&graphics, &mut session, &app, columns, rows)?;
        println!(
            "{:<11} {:>10} {:>8} {:>10} {:>9} {:>11}",
            name, first, step, next, preview, map
        );
    }
    println!(
        "\n{:<11} {:>14} {:>8} {:>10}   {:>14} {:>8} {:>10}   {:>14} {:>8}",
        "protocol",
        "overview page",
        "step",
        "next page",
        "lattice page",
        "step",
        "next page",
        "6×3 page",
        "step"
    );
    for (name, o, l, s) in views {
        println!(
            "{name:<11} {:>14} {:>8} {:>10}   {:>14} {:>8} {:>10}   {:>14} {:>8}",
            o[0], o[1], o[2], l[0], l[1], l[2], s[0], s[1]
        );
    }
    Ok(())
}

/// The screen's size in cells (columns, rows), and what a screen of thumbnails may cost.
struct Page {
    screen: (u16, u16),
    bytes: usize,
}

/// An explorer on `c` clustered as `clustering`, on a screen of `(columns, rows)` cells, with
/// terminal images on, after `keys`: what it asked for on the way.
fn opened(
    c: &Arc<imgtui::Collection>,
    clustering: &imgtui::analysis::clustering::Clustering,
    (columns, rows): (u16, u16),
    root: &std::path::Path,
    keys: &[KeyCode],
) -> anyhow::Result<(App, Vec<Command>)> {
    let mut app = App::new(root.to_owned(), "bench".into());
    let mut asked = app.on(Event::Loaded(c.clone(), Box::new(clustering.clone())));
    asked.extend(app.on(Event::Graphics {
        how: "bench".into(),
        images: true,
    }));
    asked.extend(app.on(Event::ScreenSize(columns, rows)));
    let (gc, gr) = view::grid_size(&app, Rect::new(0, 0, columns, rows));
    asked.extend(app.on(Event::GridSize(gc, gr)));
    for &code in keys {
        asked.extend(app.on(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))));
    }
    Ok((app, asked))
}

/// Bytes of the frames of a view opened by `keys`: its first page (the screen's text first,
/// then the page's thumbnails), one cursor step (→) and the next page (PgDn).
fn walk(
    session: &Session,
    graphics: &Graphics,
    c: &Arc<imgtui::Collection>,
    clustering: &imgtui::analysis::clustering::Clustering,
    page: &Page,
    keys: &[KeyCode],
) -> anyhow::Result<Vec<usize>> {
    let (columns, rows) = page.screen;
    let (mut app, asked) = opened(c, clustering, (columns, rows), session.root(), keys)?;
    let wire = Wire::default();
    let mut terminal = fixed(&wire, Rect::new(0, 0, columns, rows));
    let mut thumbnails = Thumbnails::default();
    let mut draw = |app: &App, thumbnails: &mut Thumbnails, asked: Vec<Command>| {
        for command in asked {
            if let Command::LoadThumbnails(images, tile, per_page) = command {
                for (path, hash) in images {
                    let t = session.thumbnail(&path, &hash).expect("a thumbnail");
                    let size = Size::new(tile.0, tile.1);
                    let budget = tile_budget(page.bytes, per_page);
                    let encoded = graphics.encoded_within(DynamicImage::ImageRgb8(t), size, budget);
                    thumbnails.insert(path, tile, encoded);
                }
            }
        }
        let pictures = Pictures {
            preview: None,
            map: None,
            thumbnails,
            compare: Vec::new(),
        };
        terminal
            .draw(|f| view::view(f, app, pictures))
            .expect("drawn");
        wire.take()
    };
    let key = |app: &mut App, code| app.on(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    draw(&app, &mut thumbnails, Vec::new());
    let page = draw(&app, &mut thumbnails, asked);
    let asked = key(&mut app, KeyCode::Right);
    let step = draw(&app, &mut thumbnails, asked);
    let asked = key(&mut app, KeyCode::PageDown);
    let next = draw(&app, &mut thumbnails, asked);
    Ok(vec![page, step, next])
}

/// Bytes of one image drawn in a pane of `size` cells (the preview of the current image).
fn one_image(
    graphics: &Graphics,
    app: &App,
    c: &imgtui::Collection,
    size: Size,
) -> anyhow::Result<usize> {
    let path = &c.paths[app.current().expect("an image")];
    let img = image::open(path)?;
    let img = if img.width().max(img.height()) > 1024 {
        img.thumbnail(1024, 1024)
    } else {
        img
    };
    Ok(draw_alone(graphics.encoded(img, size), size))
}

/// Bytes of the map picture of the whole map, drawn in the map pane (60 % of the width,
/// 10 rows inside).
fn map_picture(
    graphics: &Graphics,
    session: &mut Session,
    app: &App,
    columns: u16,
    _rows: u16,
) -> anyhow::Result<usize> {
    let mut app_map = App::new(app.root().to_owned(), "bench".into());
    let c = app.collection().clone();
    app_map.on(Event::Loaded(
        c.clone(),
        Box::new(app.clustering().cloned().expect("clustered")),
    ));
    let cells = (columns * 60 / 100 - 2, 10);
    app_map.on(Event::MapSize(cells.0, cells.1));
    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    while app_map.focus() != imgtui::tui::app::Focus::Map {
        app_map.on(key(KeyCode::Tab));
    }
    let asked = app_map.on(key(KeyCode::Char('p')));
    let Some(Command::DrawMap(request)) = asked.into_iter().last() else {
        anyhow::bail!("no map picture was asked for");
    };
    let (picture, _shown) = imgtui::tui::picture::compose(
        &request,
        imgtui::tui::picture::picture_size(&request, CELL),
        |image, side| {
            let t = session.thumbnail(&image.path, &image.hash).ok()?;
            Some(DynamicImage::ImageRgb8(t).thumbnail(side, side).to_rgb8())
        },
    );
    let size = Size::new(cells.0, cells.1);
    Ok(draw_alone(
        graphics.encoded(DynamicImage::ImageRgb8(picture), size),
        size,
    ))
}

/// Bytes written to draw one encoded image on an otherwise unchanged screen of its size.
fn draw_alone(mut protocol: ratatui_image::protocol::StatefulProtocol, size: Size) -> usize {
    let wire = Wire::default();
    let mut terminal = fixed(&wire, Rect::new(0, 0, size.width, size.height));
    terminal.draw(|_| {}).expect("drawn");
    wire.take();
    terminal
        .draw(|f| {
            f.render_stateful_widget(
                StatefulImage::default().resize(Resize::Scale(None)),
                f.area(),
                &mut protocol,
            )
        })
        .expect("drawn");
    wire.take()
}

/// A terminal of `area` writing to `wire`. Its size is fixed: a terminal made with
/// `Terminal::new` asks the real one for its size on each draw (80 × 24 when there is none)
/// and resizes to it.
fn fixed(wire: &Wire, area: Rect) -> Terminal<CrosstermBackend<Wire>> {
    Terminal::with_options(
        CrosstermBackend::new(wire.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(area),
        },
    )
    .expect("terminal")
}
