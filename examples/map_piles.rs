//! How many images of the map picture can be seen: drawn at their map positions, each
//! thumbnail over the ones before and the map framed by all its images (the picture until
//! the slots), and drawn as now (framed by the bulk, one image a slot):
//! `cargo run --release --example map_piles -- STORE DIR [COLUMNS ROWS]`
//! (default 94 × 21, the focused map pane's inside on a 160 × 48 screen; cells 10 × 20 px).
//!
//! At zoom 1, 2.25 and 5.06 around the first image, prints the images in view and how many
//! of them show at least half of their thumbnail, and at least a tenth. Each thumbnail is
//! drawn as a full square of its side (real ones keep their aspect, so the positions' count
//! is if anything high).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use image::{Rgb, RgbImage};
use imgtui::analysis::saved::Wanted;
use imgtui::config::Config;
use imgtui::tui::app::{App, Command, Event, Focus, MapPicture, MapView};
use imgtui::tui::picture::{compose, picture_size};
use imgtui::{OnnxModel, Session};

const CELL: (u16, u16) = (10, 20);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: map_piles STORE DIR [COLUMNS ROWS]");
    let cells: (u16, u16) = match (args.get(3), args.get(4)) {
        (Some(c), Some(r)) => (c.parse()?, r.parse()?),
        _ => (94, 21),
    };
    let (config, _) = Config::load(None)?;
    let mut session = Session::open(
        args[2].as_ref(),
        args[1].as_ref(),
        config,
        Arc::new(OnnxModel::builtin()),
    )?;
    let c = session.images()?;
    let (clustering, _, _) = session.clustering(&c, &Wanted::default())?;
    let raw = clustering.map.clone();
    let mut app = App::new(args[2].clone().into(), "bench".into());
    app.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
    app.on(Event::MapSize(cells.0, cells.1));
    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    while app.focus() != Focus::Map {
        app.on(key(KeyCode::Tab));
    }
    let current = app.current().expect("an image");
    println!(
        "{} images, map pane {}×{} cells of {}×{} px; {} beyond the frame",
        raw.len(),
        cells.0,
        cells.1,
        CELL.0,
        CELL.1,
        app.map_places().beyond
    );
    println!(
        "{:>6} | {:>7} {:>9} {:>9} | {:>7} {:>9} {:>9} {:>6}",
        "zoom", "in view", "½ seen", "⅒ seen", "in view", "½ seen", "⅒ seen", "side"
    );
    let mut asked = app.on(key(KeyCode::Char('p')));
    for zoom in [1.0f32, 2.25, 5.0625] {
        let Some(Command::DrawMap(request)) = asked.into_iter().last() else {
            anyhow::bail!("no map picture was asked for");
        };
        let size = picture_size(&request, CELL);
        // Before: the whole map framed, thumbnails at their positions, later ones on top.
        let mut view = MapView::new(&raw);
        view.put(raw[current]);
        view.zoom_by(zoom);
        let before = at_positions(&raw, view, size);
        // Now.
        let now = in_slots(&request, size);
        println!(
            "{zoom:>6.2} | {:>7} {:>9} {:>9} | {:>7} {:>9} {:>9} {:>6}",
            before.0, before.1, before.2, request.in_view, now.1, now.2, now.3
        );
        asked = app.on(key(KeyCode::Char('+')));
        asked.extend(app.on(key(KeyCode::Char('+'))));
    }
    Ok(())
}

/// The images in `view` drawn at their positions as the picture did before the slots (side
/// an eighth of the height times √zoom, within 16..128 px; frame 1 px; in order): how many
/// in view, how many with half their square seen, a tenth.
fn at_positions(map: &[[f32; 2]], view: MapView, (w, h): (u32, u32)) -> (usize, usize, usize) {
    let [x0, y0, x1, y1] = view.window();
    let side = ((h as f32 / 8.0) * view.zoom.max(1.0).sqrt()).clamp(16.0, 128.0) as i64;
    let mut owner = vec![u32::MAX; (w * h) as usize];
    let inside: Vec<usize> = (0..map.len())
        .filter(|&i| {
            let [x, y] = map[i];
            let (ex, ey) = (1e-5 * (x1 - x0), 1e-5 * (y1 - y0));
            x >= x0 - ex && x <= x1 + ex && y >= y0 - ey && y <= y1 + ey
        })
        .collect();
    for (k, &i) in inside.iter().enumerate() {
        let [x, y] = map[i];
        let cx = ((x - x0) / (x1 - x0) * w as f32) as i64 - side / 2;
        let cy = ((1.0 - (y - y0) / (y1 - y0)) * h as f32) as i64 - side / 2;
        for yy in (cy - 1).max(0)..(cy + side + 1).min(h as i64) {
            for xx in (cx - 1).max(0)..(cx + side + 1).min(w as i64) {
                let inner = yy >= cy && yy < cy + side && xx >= cx && xx < cx + side;
                owner[(yy * w as i64 + xx) as usize] = if inner { k as u32 } else { u32::MAX };
            }
        }
    }
    seen(&owner, inside.len(), (side * side) as usize)
}

/// The picture as drawn now, each thumbnail a square of its own colour: how many in view,
/// how many with half their square seen, a tenth (and the side).
fn in_slots(p: &MapPicture, size: (u32, u32)) -> (usize, usize, usize, u32) {
    let mut side = 0;
    let number: HashMap<&Path, u32> = (0..p.images.len())
        .map(|k| (p.images[k].path.as_path(), k as u32 + 1))
        .collect();
    let (pic, _shown) = compose(p, size, |image, s| {
        side = s;
        let k = number[image.path.as_path()];
        Some(RgbImage::from_pixel(
            s,
            s,
            Rgb([(k >> 16) as u8, (k >> 8) as u8, k as u8]),
        ))
    });
    let owner: Vec<u32> = pic
        .pixels()
        .map(|&Rgb([r, g, b])| {
            let k = (r as u32) << 16 | (g as u32) << 8 | b as u32;
            if k >= 1 && k as usize <= p.images.len() {
                k - 1
            } else {
                u32::MAX
            }
        })
        .collect();
    let (n, half, tenth) = seen(&owner, p.images.len(), (side * side) as usize);
    (n, half, tenth, side)
}

/// Of `n` images, how many own at least half of `area` pixels in `owner`, and a tenth.
fn seen(owner: &[u32], n: usize, area: usize) -> (usize, usize, usize) {
    let mut count = vec![0usize; n];
    for &o in owner {
        if (o as usize) < n {
            count[o as usize] += 1;
        }
    }
    let half = count.iter().filter(|&&c| 2 * c >= area).count();
    let tenth = count.iter().filter(|&&c| 10 * c >= area).count();
    (n, half, tenth)
}
