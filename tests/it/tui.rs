//! The explorer's update loop and screens on ratatui's TestBackend, with a synthetic
//! collection (vectors and clusters made here, no model): every event goes through
//! `App::on`, and the commands a worker would carry out are carried out by [`Harness`].
//!
//! Screens are compared with the golden files in `tests/it/screens/`; after a deliberate
//! change of the screen, `IMGTUI_BLESS=1 cargo test --test it tui::` writes them anew.
//! The real terminal, on the real model, is `terminal.rs` (tmux).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use imgtui::analysis::clustering::{Clustering, KChoice, Naming, Request, cluster};
use imgtui::analysis::duplicates::{self, DUPLICATE_THRESHOLD};
use imgtui::analysis::neighbours::{self, Select};
use imgtui::tui::app::{App, Command, Event, Focus, ImagesView, Loading, Overlay};
use imgtui::tui::terminal::Graphics;
use imgtui::tui::view::{self, Pictures, Thumbnails, view};
use imgtui::{Collection, Error, ErrorKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Three families of five images (discs, stripes, checkerboards), as unit vectors in 8
/// dimensions: each family around its own axis, each image a little apart. `extra` adds a
/// near-copy of `disc-2`.
fn collection(root: &Path, near_copy: bool) -> Collection {
    let mut c = Collection::default();
    let mut rng = crate::common::Lcg::new(7);
    let mut rows = Vec::new();
    for (f, family) in ["checker", "disc", "stripes"].iter().enumerate() {
        for i in 0..5 {
            let mut v = [0f32; 8];
            v[f] = 1.0;
            for x in v.iter_mut().skip(3) {
                *x = (rng.next_u8() as f32 / 255.0 - 0.5) * 1.2;
            }
            rows.push((format!("{family}-{i}.png"), v));
        }
    }
    if near_copy {
        let mut v = rows[7].1;
        v[7] += 0.01;
        rows.push(("disc-2-small.png".into(), v));
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, (name, mut v)) in rows.into_iter().enumerate() {
        let len = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= len);
        c.push(root.join(name), [k as u8; 32], &v, len);
    }
    c
}

fn clusters(c: &Collection, k: usize) -> Clustering {
    let req = Request {
        k: KChoice::Fixed(k),
        ..Default::default()
    };
    cluster(c, &req, &Naming::default()).unwrap()
}

/// The app and a stand-in for the event loop's workers: commands that compute (neighbours,
/// reclustering, exports) are carried out at once and their events fed back.
struct Harness {
    app: App,
    /// Images whose preview was asked for, in order.
    previews: Vec<PathBuf>,
    /// The grid's thumbnails, made at once (half blocks, a colour per image).
    thumbnails: Thumbnails,
    /// The thumbnail requests, in order.
    thumbnail_requests: Vec<Vec<PathBuf>>,
}

impl Harness {
    /// The synthetic collection at `/art`, clustered with k = 3, shown, cursor at rest.
    fn new() -> Harness {
        Harness::with(Path::new("/art"), false)
    }

    fn with(root: &Path, near_copy: bool) -> Harness {
        let c = collection(root, near_copy);
        let clustering = clusters(&c, 3);
        Harness::showing(root, c, clustering)
    }

    /// The explorer of `root` showing `c` clustered as `clustering`, cursor at rest.
    fn showing(root: &Path, c: Collection, clustering: Clustering) -> Harness {
        let mut h = Harness {
            app: App::new(root.to_owned(), "synthetic".into()),
            previews: Vec::new(),
            thumbnails: Thumbnails::default(),
            thumbnail_requests: Vec::new(),
        };
        let first = h.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
        assert!(
            matches!(first.as_slice(), [Command::LoadPreview(_)]),
            "{first:?}"
        );
        h.on(Event::Idle);
        h
    }

    /// `App::on`, carrying out what a worker would; returns the commands left to the
    /// event loop (previews, quit, montage, recluster, export).
    fn on(&mut self, event: Event) -> Vec<Command> {
        let mut left = Vec::new();
        for command in self.app.on(event) {
            match command {
                Command::FindNeighbours(row, n) => {
                    let c = self.app.collection().clone();
                    let found = neighbours::query(&c, &c.row(row), Select::Nearest(n), Some(row));
                    left.extend(self.on(Event::Neighbours { row, found, of: c }));
                }
                Command::LoadPreview(p) => {
                    self.previews.push(p.clone());
                    left.push(Command::LoadPreview(p));
                }
                Command::LoadThumbnails(images, tile, _) => {
                    let graphics = Graphics::halfblocks("test");
                    for (path, hash) in &images {
                        let img = image::RgbImage::from_fn(32, 32, |_, y| {
                            image::Rgb([hash[0].wrapping_mul(40), (y * 8) as u8, 200])
                        });
                        let size = ratatui::layout::Size::new(tile.0, tile.1);
                        let encoded = graphics.encoded(image::DynamicImage::ImageRgb8(img), size);
                        self.thumbnails.insert(path.clone(), tile, encoded);
                    }
                    self.thumbnail_requests
                        .push(images.into_iter().map(|(p, _)| p).collect());
                }
                other => left.push(other),
            }
        }
        left
    }

    /// A key press, then a rest (when the event loop asks for the neighbours).
    fn key(&mut self, code: KeyCode) -> Vec<Command> {
        let commands = self.on(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.on(Event::Idle);
        commands
    }

    fn type_text(&mut self, text: &str) {
        for ch in text.chars() {
            self.key(KeyCode::Char(ch));
        }
    }

    /// Terminal graphics (the grid becomes the view) on a screen of `width` × `height`.
    fn grid(&mut self, width: u16, height: u16) {
        self.on(Event::Graphics {
            how: "test".into(),
            images: true,
        });
        self.resize(width, height);
    }

    /// What the event loop says when the screen is `width` × `height`.
    fn resize(&mut self, width: u16, height: u16) {
        self.on(Event::ScreenSize(width, height));
        let (columns, rows) =
            view::grid_size(&self.app, ratatui::layout::Rect::new(0, 0, width, height));
        self.on(Event::GridSize(columns, rows));
    }

    fn screen(&mut self, width: u16, height: u16) -> String {
        self.resize(width, height);
        screen_with(&self.app, &mut self.thumbnails, width, height)
    }
}

fn screen(app: &App, width: u16, height: u16) -> String {
    screen_with(app, &mut Thumbnails::default(), width, height)
}

fn screen_with(app: &App, thumbnails: &mut Thumbnails, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let pictures = Pictures {
        preview: None,
        map: None,
        thumbnails,
        compare: Vec::new(),
    };
    terminal.draw(|f| view(f, app, pictures)).unwrap();
    text_of(&terminal, width, height)
}

/// The compare view with its pictures, drawn as the event loop draws them: half blocks, a
/// gradient of its own colour for each image, encoded when a frame asks (as the encoders on
/// workers do) and drawn by the next.
fn compare_screen(app: &App, width: u16, height: u16) -> String {
    use ratatui_image::thread::ThreadProtocol;
    let graphics = Graphics::halfblocks("test");
    let mut encoders = Vec::new();
    let mut protocols: Vec<ThreadProtocol> = (0..app.compared().len())
        .map(|k| {
            let (tx, rx) = std::sync::mpsc::channel();
            encoders.push(rx);
            let img = image::RgbImage::from_fn(64, 48, |x, y| {
                image::Rgb([(k * 80) as u8, (x * 4) as u8, (y * 5) as u8])
            });
            let protocol = graphics.new_resize_protocol(image::DynamicImage::ImageRgb8(img));
            ThreadProtocol::new(tx, Some(protocol))
        })
        .collect();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    for _ in 0..2 {
        let pictures = Pictures {
            preview: None,
            map: None,
            thumbnails: &mut Thumbnails::default(),
            compare: protocols.iter_mut().map(Some).collect(),
        };
        terminal.draw(|f| view(f, app, pictures)).unwrap();
        for (protocol, rx) in protocols.iter_mut().zip(&encoders) {
            while let Ok(request) = rx.try_recv() {
                protocol.update_resized_protocol(request.resize_encode().unwrap());
            }
        }
    }
    text_of(&terminal, width, height)
}

/// The text on a test terminal, each line's trailing blanks left out.
fn text_of(terminal: &Terminal<TestBackend>, width: u16, height: u16) -> String {
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            let line: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares `shown` with `tests/it/screens/NAME.txt`, or writes it there with IMGTUI_BLESS=1.
fn golden(name: &str, shown: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/screens")
        .join(format!("{name}.txt"));
    let shown = format!("{shown}\n");
    if std::env::var_os("IMGTUI_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &shown).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (IMGTUI_BLESS=1 writes it)", path.display()));
    if expected != shown {
        let first = expected
            .lines()
            .zip(shown.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "screen {name} differs from {} from line {}; now:\n{shown}\n\
             (IMGTUI_BLESS=1 writes it anew after a deliberate change)",
            path.display(),
            first + 1
        );
    }
}

#[test]
fn panes_show_clusters_images_neighbours_map_and_status() {
    let h = Harness::new();
    let s = screen(&h.app, 120, 36);
    golden("panes", &s);
    assert!(s.contains("clusters: 3 by kmeans"), "{s}");
    assert!(s.contains("cluster 1 · 5 images"));
    assert!(s.contains("nearest neighbours"));
    assert!(s.contains("map (UMAP)"));
    assert!(s.contains("15 images"));
    // The map is drawn in braille.
    assert!(s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)));
}

#[test]
fn arrows_move_between_clusters_and_images() {
    let mut h = Harness::new();
    let first = h.app.current().unwrap();
    let cmds = h.key(KeyCode::Down);
    assert_eq!(h.app.image(), 1);
    assert!(matches!(cmds.as_slice(), [Command::LoadPreview(_)]));
    assert_ne!(h.app.current().unwrap(), first);
    h.key(KeyCode::Char('l'));
    assert_eq!((h.app.cluster(), h.app.image()), (1, 0));
    assert!(screen(&h.app, 120, 36).contains("cluster 2 · 5 images"));
    h.key(KeyCode::Left);
    h.key(KeyCode::Left);
    assert_eq!(h.app.cluster(), 2, "← wraps around");
    // The neighbours follow the cursor and never include the image itself.
    let here = h.app.current().unwrap();
    assert_eq!(h.app.neighbours().len(), 12);
    assert!(h.app.neighbours().iter().all(|n| n.index != here));
    assert!(h.app.neighbours_current());
    // j/k clamp at the ends.
    for _ in 0..10 {
        h.key(KeyCode::Char('j'));
    }
    assert_eq!(h.app.image(), 4);
}

#[test]
fn neighbours_are_asked_for_once_the_cursor_rests_and_stale_answers_are_dropped() {
    let mut h = Harness::new();
    let before = h.app.neighbours().to_vec();
    let down = || Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    // Keys coming in ask for nothing.
    assert!(matches!(
        h.app.on(down()).as_slice(),
        [Command::LoadPreview(_)]
    ));
    assert!(matches!(
        h.app.on(down()).as_slice(),
        [Command::LoadPreview(_)]
    ));
    assert_eq!(
        h.app.neighbours(),
        before,
        "not recomputed while keys come in"
    );
    // At rest: one request, for the image under the cursor, and only once.
    let here = h.app.current().unwrap();
    let asked = h.app.on(Event::Idle);
    assert_eq!(asked, vec![Command::FindNeighbours(here, 12)]);
    assert!(h.app.on(Event::Idle).is_empty(), "once per resting place");
    assert!(!h.app.neighbours_current());
    // An answer for an image the cursor has left is dropped.
    h.app.on(Event::Neighbours {
        row: first_other(here),
        found: before.clone(),
        of: h.app.collection().clone(),
    });
    assert!(!h.app.neighbours_current());
    let c = h.app.collection().clone();
    let found = neighbours::query(&c, &c.row(here), Select::Nearest(12), Some(here));
    // An answer from a collection no longer on screen is dropped too.
    let older = Arc::new(collection(Path::new("/art"), false));
    h.app.on(Event::Neighbours {
        row: here,
        found: found.clone(),
        of: older,
    });
    assert!(!h.app.neighbours_current());
    h.app.on(Event::Neighbours {
        row: here,
        found: found.clone(),
        of: h.app.collection().clone(),
    });
    assert!(h.app.neighbours_current());
    assert_eq!(h.app.neighbours(), found);
}

fn first_other(row: usize) -> usize {
    if row == 0 { 1 } else { 0 }
}

#[test]
fn s_browses_similar_images_and_esc_returns() {
    let mut h = Harness::new();
    let here = h.app.current().unwrap();
    let nearest = h.app.neighbours()[0].index;
    let cmds = h.key(KeyCode::Char('s'));
    assert_eq!(h.app.focus(), Focus::Similar);
    assert_eq!(h.app.current(), Some(nearest));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadPreview(p)] if *p == h.app.collection().paths[nearest])
    );
    h.key(KeyCode::Down);
    assert_eq!(h.app.current(), Some(h.app.neighbours()[1].index));
    golden("similar", &screen(&h.app, 120, 36));
    h.key(KeyCode::Esc);
    assert_eq!(h.app.focus(), Focus::Images);
    assert_eq!(h.app.current(), Some(here));
    assert!(
        !screen(&h.app, 120, 36).contains("Esc returns"),
        "the hint goes too"
    );
}

#[test]
fn s_before_the_neighbours_are_in_browses_them_when_they_arrive() {
    let mut h = Harness::new();
    h.app
        .on(Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    let here = h.app.current().unwrap();
    let asked = h.app.on(Event::Key(KeyEvent::new(
        KeyCode::Char('s'),
        KeyModifiers::NONE,
    )));
    assert_eq!(asked, vec![Command::FindNeighbours(here, 12)]);
    assert_eq!(h.app.focus(), Focus::Images);
    assert_eq!(h.app.message(), "finding similar images…");
    let c = h.app.collection().clone();
    let found = neighbours::query(&c, &c.row(here), Select::Nearest(12), Some(here));
    let nearest = found[0].index;
    let cmds = h.app.on(Event::Neighbours {
        row: here,
        found,
        of: c.clone(),
    });
    assert_eq!(h.app.focus(), Focus::Similar);
    assert_eq!(
        cmds,
        vec![Command::LoadPreview(
            h.app.collection().paths[nearest].clone()
        )]
    );
}

#[test]
fn e_exports_on_a_worker_with_progress_and_esc_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let mut h = Harness::with(&dir, false);
    h.key(KeyCode::Char('e'));
    let Overlay::Export(default) = &h.app.overlay() else {
        panic!("no export prompt");
    };
    assert!(default.starts_with("imgtui-export/01"), "{default}");
    assert!(screen(&h.app, 120, 36).contains("export cluster to folder"));
    // Replace the suggestion with a folder of our own.
    for _ in 0..default.chars().count() {
        h.key(KeyCode::Backspace);
    }
    let target = tmp.path().join("picked");
    h.type_text(target.to_str().unwrap());
    let cmds = h.key(KeyCode::Enter);
    assert_eq!(*h.app.overlay(), Overlay::None);
    let [Command::Export(files, to)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(to, &target);
    assert_eq!(files.len(), 5);
    // While it copies: the status line shows how far, the screen stays usable, and a
    // second export waits.
    h.on(Event::ExportProgress(2));
    let s = screen(&h.app, 160, 36);
    assert!(s.contains("exporting 2/5 to"), "{s}");
    assert!(s.contains("(Esc stops)"), "{s}");
    assert!(matches!(
        h.key(KeyCode::Down).as_slice(),
        [Command::LoadPreview(_)]
    ));
    assert!(h.key(KeyCode::Char('e')).is_empty());
    assert_eq!(h.app.message(), "an export is under way (Esc stops it)");
    // Esc stops it: what the worker does with the flag, for real.
    assert_eq!(h.key(KeyCode::Esc), vec![Command::CancelExport]);
    assert!(screen(&h.app, 160, 36).contains("stopping the export after 2/5 files"));
    let cancel = AtomicBool::new(false);
    let copied = std::cell::Cell::new(0);
    let progress = |done: usize| {
        copied.set(done);
        if done == 2 {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let report =
        imgtui::export::export_with(files, to, Default::default(), false, &progress, &cancel)
            .unwrap();
    assert_eq!((report.written, report.not_attempted), (2, 3));
    assert_eq!(copied.get(), 2);
    // The files copied are whole.
    for entry in std::fs::read_dir(&target).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read(dir.join(name)).unwrap()
        );
    }
    h.on(Event::Exported(Ok(report)));
    assert!(h.app.exporting().is_none());
    assert!(
        h.app.message().starts_with("2 files copied to")
            && h.app.message().ends_with("stopped: 3 not copied"),
        "{}",
        h.app.message()
    );
    // Esc on the prompt cancels without a command.
    h.key(KeyCode::Char('e'));
    assert!(h.key(KeyCode::Esc).is_empty());
    assert_eq!(*h.app.overlay(), Overlay::None);
}

#[test]
fn export_progress_on_the_status_line() {
    let mut h = Harness::new();
    h.key(KeyCode::Char('e'));
    let cmds = h.key(KeyCode::Enter);
    assert!(
        matches!(cmds.as_slice(), [Command::Export(_, _)]),
        "{cmds:?}"
    );
    h.on(Event::ExportProgress(3));
    golden("export-progress", &screen(&h.app, 120, 36));
    h.on(Event::Exported(Err(Error::bad_request(
        "imgtui-export/01 is inside the collection",
    ))));
    assert!(h.app.message().starts_with("export refused"));
    assert!(h.app.activity().is_none());
}

#[test]
fn help_overlay_and_quit() {
    let mut h = Harness::new();
    h.on(Event::ScreenSize(100, 30));
    h.on(Event::Graphics {
        how: "sixel (DA1), cell 7×14 px from the tty".into(),
        images: true,
    });
    h.key(KeyCode::Char('?'));
    let s = screen(&h.app, 100, 30);
    golden("help", &s);
    assert!(
        s.contains("keys (↑ ↓ scroll)")
            && s.contains("sixel (DA1), cell 7×14 px from the tty")
            && s.contains("export the marked images, or the cluster"),
        "{s}"
    );
    // The help is longer than 30 rows: it scrolls to its last line, and no further.
    assert!(!s.contains("their keys are on the status line"), "{s}");
    for _ in 0..3 {
        h.key(KeyCode::PageDown);
    }
    let end = screen(&h.app, 100, 30);
    assert!(end.contains("their keys are on the status line"), "{end}");
    assert!(end.contains("leave the map"), "{end}");
    h.key(KeyCode::Up);
    let up = screen(&h.app, 100, 30);
    assert_ne!(
        up, end,
        "one line up, at once: the scroll stopped at the end"
    );
    for _ in 0..3 {
        h.key(KeyCode::PageUp);
    }
    assert_eq!(screen(&h.app, 100, 30), s);
    h.key(KeyCode::Esc);
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert_eq!(h.key(KeyCode::Char('q')), vec![Command::Quit]);
    let ctrl_c = h.on(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(ctrl_c, vec![Command::Quit]);
}

#[test]
fn any_terminal_size_draws_without_panicking() {
    let mut h = Harness::new();
    for (w, h_) in [(40, 12), (80, 24), (20, 5), (1, 1), (300, 100)] {
        let s = screen(&h.app, w, h_);
        assert_eq!(s.lines().count(), h_ as usize);
    }
    // The smallest supported size still shows clusters and images.
    let s = screen(&h.app, 40, 12);
    golden("small", &s);
    assert!(s.contains("clusters") && s.contains("cluster 1"), "{s}");
    h.key(KeyCode::Enter);
    assert_eq!(*h.app.overlay(), Overlay::Preview);
    screen(&h.app, 40, 12);
}

#[test]
fn loading_screen_shows_progress_then_the_clusters() {
    let mut app = App::new("/photos".into(), "synthetic".into());
    app.on(Event::Progress(imgtui::Progress::Processed {
        done: 3,
        to_process: 12,
    }));
    let s = screen(&app, 80, 20);
    golden("loading", &s);
    assert!(s.contains("embedding 3 of 12 images"), "{s}");
    // Keys that need clusters do nothing yet; quitting works.
    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    assert!(app.on(key(KeyCode::Down)).is_empty());
    app.on(Event::Clustering);
    assert_eq!(*app.loading(), Loading::Clustering(None));
    // A first fit tells its stages: the gauge names each, UMAP's epochs one by one.
    use imgtui::session::FitStage;
    app.on(Event::Fitting(FitStage::Neighbours));
    let s = screen(&app, 80, 20);
    assert!(
        s.contains("clustering: finding each image's nearest (kNN graph)…"),
        "{s}"
    );
    app.on(Event::Fitting(FitStage::Mapping {
        done: 50,
        total: 100,
    }));
    let s = screen(&app, 80, 20);
    assert!(
        s.contains("clustering: laying out the map (UMAP epoch 50 of 100)…"),
        "{s}"
    );
    let c = collection(Path::new("/photos"), false);
    let clustering = clusters(&c, 3);
    app.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
    assert_eq!(*app.loading(), Loading::Ready);
    // More images being indexed behind the clusters show on the status line.
    app.on(Event::Progress(imgtui::Progress::Processed {
        done: 1,
        to_process: 4,
    }));
    assert!(screen(&app, 120, 36).contains("indexing 1/4"));
    app.on(Event::LoadFailed("disk full".into()));
    // The whole message on screen, whatever key comes next.
    let s = screen(&app, 120, 36);
    assert!(s.contains("error: indexing stopped: disk full"), "{s}");
    app.on(key(KeyCode::Char('s')));
    assert!(screen(&app, 120, 36).contains("error: indexing stopped: disk full"));
    assert_eq!(app.on(key(KeyCode::Char('q'))), vec![Command::Quit]);
}

/// The warm start through the library session, on the `pixels` descriptor (no model):
/// paths and the saved clustering first, the vectors behind them.
#[test]
fn a_saved_clustering_is_shown_before_the_vectors_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let store = tmp.path().join("store.sqlite");
    let open = || {
        let config = imgtui::config::Config::default();
        let pixels = imgtui::features::select("pixels", Default::default())
            .unwrap()
            .into();
        imgtui::Session::open(&dir, &store, config, pixels).unwrap()
    };
    let mut session = open();
    session
        .update_index(&|_| {}, &AtomicBool::new(false))
        .unwrap();
    let c = session.images().unwrap();
    let wanted = imgtui::analysis::saved::Wanted {
        k: Some(KChoice::Fixed(3)),
        ..Default::default()
    };
    let (fitted, _, _) = session.clustering(&c, &wanted).unwrap();

    let warm = open().warm_start().unwrap().expect("a saved clustering");
    let (known, early) = warm.shown.expect("it knows every image");
    assert_eq!(known.paths, c.paths);
    assert_eq!(known.dim(), 0, "no vector is read");
    assert_eq!(early.labels, fitted.labels);
    assert_eq!(early.map, fitted.map);
    assert_eq!(early.distances, fitted.distances);

    let mut h = Harness {
        app: App::new(session.root().to_owned(), "pixels".into()),
        previews: Vec::new(),
        thumbnails: Thumbnails::default(),
        thumbnail_requests: Vec::new(),
    };
    h.on(Event::Loaded(Arc::new(known), Box::new(early)));
    h.on(Event::Idle);
    let s = screen(&h.app, 120, 36);
    assert!(s.contains("clusters: 3 by kmeans"), "{s}");
    assert!(s.contains("cluster 1 · 5 images"), "{s}");
    assert!(s.contains("reading the image vectors…"), "{s}");
    // What needs vectors says it is waiting, and nothing else is lost.
    h.key(KeyCode::Char('s'));
    assert_eq!(h.app.focus(), Focus::Images);
    assert_eq!(h.app.message(), "still reading the image vectors…");
    assert!(h.key(KeyCode::Char('+')).is_empty());
    h.key(KeyCode::Down);
    let here = h.app.current().unwrap();

    let vectors = open().read_vectors(warm.files).unwrap();
    assert_eq!(vectors.paths, c.paths);
    h.on(Event::Vectors(Arc::new(vectors)));
    h.on(Event::Idle);
    assert_eq!(h.app.current(), Some(here), "the cursor stays");
    assert_eq!(h.app.neighbours().len(), 12);
    assert!(!screen(&h.app, 120, 36).contains("reading the image vectors"));
    h.key(KeyCode::Char('s'));
    assert_eq!(h.app.focus(), Focus::Similar);
}

#[test]
fn slash_filters_images_by_file_name() {
    let mut h = Harness::new();
    h.key(KeyCode::Char('/'));
    assert_eq!(*h.app.overlay(), Overlay::Filter);
    h.type_text("STRIPES-3");
    assert!(screen(&h.app, 120, 36).contains("filter by file name"));
    // Enter keeps the filter and lands on the cluster that has the match.
    h.key(KeyCode::Enter);
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert!(h.app.current_path().unwrap().ends_with("stripes-3.png"));
    let s = screen(&h.app, 160, 36);
    golden("filter", &s);
    assert!(s.contains("1 of 5 match \"STRIPES-3\""), "{s}");
    assert!(s.contains("1/5"), "clusters show their matches: {s}");
    // Esc clears it.
    h.key(KeyCode::Esc);
    assert!(h.app.filter().is_empty());
    assert!(h.app.shown().iter().all(|m| m.len() == 5));
    assert!(h.app.current_path().unwrap().ends_with("stripes-3.png"));
    // A filter nothing matches says so.
    h.key(KeyCode::Char('/'));
    h.type_text("nothing-like-this");
    h.key(KeyCode::Enter);
    assert!(screen(&h.app, 120, 36).contains("no file name here matches"));
}

#[test]
fn d_browses_near_duplicate_groups() {
    let mut h = Harness::with(Path::new("/art"), true);
    h.key(KeyCode::Char('d'));
    assert!(
        h.app.message().contains("still looking"),
        "{}",
        h.app.message()
    );
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    let names: Vec<Vec<String>> = groups
        .iter()
        .map(|g| g.iter().map(|&i| h.app.name(i)).collect())
        .collect();
    assert_eq!(
        names,
        vec![vec!["disc-2-small.png".to_owned(), "disc-2.png".to_owned()]]
    );
    h.on(Event::Duplicates(groups.clone()));
    // The image list marks them.
    assert!(screen(&h.app, 120, 36).contains("≈1"));
    let cmds = h.key(KeyCode::Char('d'));
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
    let first = &h.app.collection().paths[groups[0][0]];
    assert!(matches!(cmds.as_slice(), [Command::LoadPreview(p)] if p == first));
    let s = screen(&h.app, 120, 36);
    golden("duplicates", &s);
    assert!(
        s.contains("near-duplicates: ") && s.contains("group 1 · 2 images"),
        "{s}"
    );
    h.key(KeyCode::Down);
    assert_eq!(h.app.current(), Some(groups[0][1]));
    // Enter goes to that image in its cluster.
    h.key(KeyCode::Enter);
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert_eq!(h.app.current(), Some(groups[0][1]));
    assert_eq!(h.app.focus(), Focus::Images);
}

#[test]
fn plus_and_minus_recluster_and_keep_the_cursor() {
    let mut h = Harness::new();
    h.key(KeyCode::Down);
    let here = h.app.current_path().unwrap().clone();
    assert_eq!(h.key(KeyCode::Char('+')), vec![Command::Recluster(4)]);
    assert!(screen(&h.app, 120, 36).contains("clustering into 4"));
    // What the event loop's worker sends back:
    let four = clusters(h.app.collection(), 4);
    h.on(Event::Reclustered(Ok(Box::new(four))));
    assert_eq!(h.app.current_path(), Some(&here));
    let s = screen(&h.app, 120, 36);
    assert!(
        s.contains("clusters: 4 by kmeans") && s.contains("kmeans (settings) k=4"),
        "{s}"
    );
    assert!(h.app.busy().is_none());
    assert_eq!(h.key(KeyCode::Char('-')), vec![Command::Recluster(3)]);
    // A result fitted before new images arrived no longer fits: it is dropped, not drawn.
    let mut stale = clusters(h.app.collection(), 3);
    stale.labels.pop();
    h.on(Event::Reclustered(Ok(Box::new(stale))));
    assert!(h.app.message().contains("changed"), "{}", h.app.message());
    assert!(screen(&h.app, 120, 36).contains("clusters: 4 by kmeans"));
    // A failed fit says why and leaves the clusters as they were.
    assert_eq!(h.key(KeyCode::Char('-')), vec![Command::Recluster(3)]);
    h.on(Event::Reclustered(Err(Error::new(
        ErrorKind::Failed,
        "out of memory",
    ))));
    assert_eq!(h.app.message(), "clustering failed: out of memory");
    assert!(h.app.busy().is_none());
}

#[test]
fn m_asks_for_a_montage_and_shows_it_when_saved() {
    let mut h = Harness::new();
    let cmds = h.key(KeyCode::Char('m'));
    let [Command::Montage(files, stem)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(files.len(), 5);
    assert!(stem.starts_with("01"), "{stem}");
    assert!(screen(&h.app, 120, 36).contains("drawing a montage of 5 images"));
    let saved = PathBuf::from(format!("imgtui-montage/{stem}.png"));
    h.on(Event::Montage(Ok(saved.clone())));
    assert_eq!(*h.app.overlay(), Overlay::Montage(saved));
    assert!(screen(&h.app, 120, 36).contains("imgtui-montage"));
    h.key(KeyCode::Esc);
    assert_eq!(*h.app.overlay(), Overlay::None);
    h.key(KeyCode::Char('m'));
    h.on(Event::Montage(Err(Error::new(
        ErrorKind::Failed,
        "disk full",
    ))));
    assert_eq!(h.app.message(), "montage failed: disk full");
}

/// Drawing and saving a montage for real: what the montage worker does.
#[test]
fn montages_are_saved_without_replacing_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let files: Vec<PathBuf> = (0..5).map(|i| dir.join(format!("disc-{i}.png"))).collect();
    let sheet = imgtui::montage::montage(&files, &Default::default());
    let folder = tmp.path().join("imgtui-montage");
    let first = imgtui::montage::save_in_folder(&sheet, &folder, "01").unwrap();
    let second = imgtui::montage::save_in_folder(&sheet, &folder, "01").unwrap();
    assert_eq!(first.file_name().unwrap(), "01.png");
    assert_eq!(second.file_name().unwrap(), "01 (2).png");
    assert_eq!(image::open(&first).unwrap().width(), sheet.width());
}

/// `+` pressed five times while the refits run: each press counts from the k asked for last,
/// and an older refit that finishes first is not shown.
#[test]
fn quick_plus_presses_are_all_counted() {
    let mut h = Harness::new();
    let asked: Vec<Vec<Command>> = (0..5).map(|_| h.key(KeyCode::Char('+'))).collect();
    assert_eq!(
        asked,
        (4..=8)
            .map(|k| vec![Command::Recluster(k)])
            .collect::<Vec<_>>()
    );
    assert!(screen(&h.app, 120, 36).contains("clustering into 8"));
    let older = clusters(h.app.collection(), 5);
    h.on(Event::Reclustered(Ok(Box::new(older))));
    assert!(
        screen(&h.app, 120, 36).contains("clusters: 3 by kmeans"),
        "not shown"
    );
    assert!(h.app.busy().is_some(), "still fitting 8");
    let newest = clusters(h.app.collection(), 8);
    h.on(Event::Reclustered(Ok(Box::new(newest))));
    assert!(screen(&h.app, 120, 36).contains("clusters: 8 by kmeans"));
    assert!(h.app.busy().is_none());
    // And back down: `-` counts from 8.
    assert_eq!(h.key(KeyCode::Char('-')), vec![Command::Recluster(7)]);
}

/// New images come in while the cursor rests on an image that was renamed meanwhile: the
/// cursor stays on it, found by its content.
#[test]
fn the_cursor_follows_its_image_through_a_rename() {
    let mut h = Harness::new();
    h.key(KeyCode::Down);
    let here = h.app.current().unwrap();
    let hash = h.app.collection().hashes[here];
    let mut c = collection(Path::new("/art"), true);
    let row = c.hashes.iter().position(|x| *x == hash).unwrap();
    c.paths[row] = "/art/renamed.png".into();
    let clustering = clusters(&c, 3);
    h.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
    assert_eq!(h.app.current_path().unwrap(), Path::new("/art/renamed.png"));
}

/// `w`: every cluster a row of thumbnails on one screen; the cursor walks rows and clusters,
/// marks work as in the grid, Enter opens the cluster in the grid.
#[test]
fn the_overview_shows_every_cluster_on_one_screen() {
    let mut h = Harness::new();
    h.grid(120, 36);
    h.thumbnail_requests.clear();
    h.key(KeyCode::Char('w'));
    assert!(
        h.app.message().starts_with("overview"),
        "{}",
        h.app.message()
    );
    // Three clusters of 5 in 35 rows: the grid's own tiles, every image of every cluster.
    assert_eq!(h.thumbnail_requests.len(), 1);
    assert_eq!(h.thumbnail_requests[0].len(), 15);
    let s = h.screen(120, 36);
    golden("overview", &s);
    for number in ["1 ", "2 ", "3 "] {
        assert!(
            s.lines().any(|l| l.starts_with(&format!("██ {number}"))),
            "{s}"
        );
    }
    assert!(s.contains('▀') || s.contains('▄'), "thumbnails drawn:\n{s}");
    assert!(s.contains('┏'), "the cursor's tile has a thick frame:\n{s}");
    // → along the cluster's images, ↓ to the next cluster in the same column.
    h.key(KeyCode::Right);
    assert_eq!((h.app.cluster(), h.app.image()), (0, 1));
    h.key(KeyCode::Down);
    assert_eq!((h.app.cluster(), h.app.image()), (1, 1));
    let here = h.app.current().unwrap();
    // Space marks and moves on along the row, as in the grid.
    h.key(KeyCode::Char(' '));
    assert!(h.app.is_marked(here));
    assert_eq!((h.app.cluster(), h.app.image()), (1, 2));
    // Enter: the cluster in the grid, the cursor on its image.
    h.key(KeyCode::Enter);
    assert_eq!(h.app.images_view(), ImagesView::Grid);
    assert_eq!((h.app.cluster(), h.app.image()), (1, 2));
    assert!(!h.screen(120, 36).contains("+0 more"));
    // w again, then Esc: back to the panes.
    h.key(KeyCode::Char('w'));
    h.key(KeyCode::Esc);
    assert!(h.screen(120, 36).contains("clusters: 3 by kmeans"));
}

/// `L`: the whole collection as one grid, each image in its own cell, framed in its
/// cluster's colour; the arrows walk the cells, `-` zooms out to a colour per image, Enter
/// opens the image's cluster in the grid.
#[test]
fn the_lattice_shows_every_image_in_its_own_cell() {
    let mut h = Harness::new();
    h.grid(120, 36);
    h.thumbnail_requests.clear();
    h.key(KeyCode::Char('L'));
    assert!(
        h.app.message().starts_with("lattice"),
        "{}",
        h.app.message()
    );
    // 15 images in 5 × 3 cells of the grid's tiles: all in view, each thumbnail asked once.
    assert_eq!(h.thumbnail_requests.len(), 1);
    assert_eq!(h.thumbnail_requests[0].len(), 15);
    let s = h.screen(120, 36);
    golden("lattice", &s);
    assert_eq!(s.matches('┏').count(), 1, "one cursor:\n{s}");
    assert_eq!(s.matches('┌').count(), 14, "fourteen other tiles:\n{s}");
    // Each family fills a patch of neighbouring cells: walking right from the first image
    // stays in the lattice, and the cursor is a real image each step.
    let start = h.app.current().unwrap();
    h.key(KeyCode::Right);
    let next = h.app.current().unwrap();
    assert_ne!(start, next);
    h.key(KeyCode::Left);
    assert_eq!(h.app.current(), Some(start));
    // Space marks here as in the grid.
    h.key(KeyCode::Char(' '));
    assert!(h.app.is_marked(start));
    // Zoomed out to a colour per image: 15 cells, the cursor's drawn apart.
    for _ in 0..3 {
        h.key(KeyCode::Char('-'));
    }
    let s = h.screen(120, 36);
    assert_eq!(s.matches("██").count(), 14, "{s}");
    assert_eq!(s.matches("◆◆").count(), 1, "{s}");
    // Enter: the image's cluster in the grid, the cursor on it.
    let here = h.app.current().unwrap();
    h.key(KeyCode::Enter);
    assert_eq!(h.app.images_view(), ImagesView::Grid);
    assert_eq!(h.app.current(), Some(here));
    assert!(h.screen(120, 36).contains("clusters: 3 by kmeans"));
}

/// On a screen smaller than the lattice, the view moves by whole pages: a cursor step on the
/// page asks for no thumbnail (nothing in view moves, so nothing is sent again), and a step
/// off it asks for the next page's.
#[test]
fn the_lattice_moves_by_pages() {
    let mut h = Harness::new();
    // 40 × 20 cells hold 2 × 2 tiles of 16 × 9 (the 5 × 3 lattice is three pages wide).
    h.grid(40, 20);
    h.key(KeyCode::Char('L'));
    h.key(KeyCode::Home);
    h.key(KeyCode::Up);
    h.key(KeyCode::Up);
    h.thumbnail_requests.clear();
    h.key(KeyCode::Right);
    assert!(h.thumbnail_requests.is_empty(), "a step on the page");
    h.key(KeyCode::Right);
    assert_eq!(h.thumbnail_requests.len(), 1, "a step off the page");
    assert_eq!(
        h.thumbnail_requests[0].len(),
        4,
        "the next page's 2 × 2 cells"
    );
    h.thumbnail_requests.clear();
    h.key(KeyCode::Right);
    assert!(h.thumbnail_requests.is_empty(), "a step on the new page");
    h.key(KeyCode::Left);
    h.key(KeyCode::Left);
    assert_eq!(h.thumbnail_requests.len(), 1, "back to the first page");
}

/// A cluster with more images than a row holds shows its most central ones, then its two
/// farthest from the centre, marked "edge", and says how many are left out; the cursor
/// walks onto the edge images.
#[test]
fn the_overview_shows_the_edges_of_a_large_cluster() {
    let mut h = Harness::new();
    let c = h.app.collection().clone();
    h.on(Event::Loaded(c.clone(), Box::new(clusters(&c, 2))));
    h.grid(120, 36);
    h.key(KeyCode::Char('w'));
    let s = h.screen(120, 36);
    let big = (0..2)
        .find(|&k| h.app.shown()[k].len() == 10)
        .expect("a cluster of 10");
    // 100 columns hold 6 tiles of the grid's size: 4 central, 2 from the edge, 4 left out.
    assert_eq!(s.matches("edge").count(), 2, "{s}");
    assert!(s.contains("+4 more"), "{s}");
    while h.app.cluster() != big {
        h.key(KeyCode::Down);
    }
    for _ in 0..5 {
        h.key(KeyCode::Right);
    }
    assert_eq!(h.app.image(), 9, "the last tile is the farthest image");
    h.key(KeyCode::Left);
    assert_eq!(h.app.image(), 8);
    h.key(KeyCode::Left);
    assert_eq!(h.app.image(), 3, "from the edge back to the central ones");
}

#[test]
fn the_grid_shows_thumbnails_and_the_cursor_moves_in_two_dimensions() {
    let mut h = Harness::new();
    assert_eq!(h.app.images_view(), ImagesView::List, "half blocks: a list");
    h.grid(160, 48);
    assert_eq!(
        h.app.images_view(),
        ImagesView::Grid,
        "terminal graphics: a grid"
    );
    let (columns, rows) = h.app.grid_size();
    assert_eq!((columns, rows), (4, 3), "tiles at 160×48");
    // The page's thumbnails are asked for once, and drawn.
    assert_eq!(h.thumbnail_requests.len(), 1);
    assert_eq!(h.thumbnail_requests[0].len(), 5);
    let s = h.screen(160, 48);
    golden("grid", &s);
    assert!(
        s.contains("checker-0.png") || s.contains("disc-0.png"),
        "{s}"
    );
    assert!(s.contains('▀') || s.contains('▄'), "thumbnails drawn:\n{s}");
    assert!(s.contains('┏'), "the cursor's tile has a thick frame:\n{s}");
    // → one along, ↓ one row down (same column, or the last of a shorter row).
    h.key(KeyCode::Right);
    assert_eq!(h.app.image(), 1);
    h.key(KeyCode::Down);
    assert_eq!(h.app.image(), 4, "the second row holds one image");
    h.key(KeyCode::Up);
    assert_eq!(h.app.image(), 0);
    h.key(KeyCode::Char('l'));
    h.key(KeyCode::Char('l'));
    assert_eq!(h.app.image(), 2);
    h.key(KeyCode::Char('h'));
    assert_eq!(h.app.image(), 1);
    // Moving within the page asks for no thumbnail again.
    assert_eq!(h.thumbnail_requests.len(), 1, "{:?}", h.thumbnail_requests);
    // ] and [ change the cluster; the preview follows the grid's cursor.
    let cmds = h.key(KeyCode::Char(']'));
    assert_eq!((h.app.cluster(), h.app.image()), (1, 0));
    assert!(cmds.iter().any(|c| matches!(c, Command::LoadPreview(_))));
    assert_eq!(h.thumbnail_requests.len(), 2, "the new cluster's page");
    // g goes back to the list, and stays there when the terminal answers again.
    h.key(KeyCode::Char('g'));
    assert_eq!(h.app.images_view(), ImagesView::List);
    h.on(Event::Graphics {
        how: "again".into(),
        images: true,
    });
    assert_eq!(h.app.images_view(), ImagesView::List);
    h.key(KeyCode::Down);
    assert_eq!(h.app.image(), 1, "the list moves by one");
}

#[test]
fn a_large_cluster_scrolls_by_pages_and_asks_only_for_the_pages_in_view() {
    let root = Path::new("/art");
    let mut c = Collection::default();
    for k in 0..300 {
        let mut v = [0f32; 4];
        v[k % 2] = 1.0;
        v[2] = k as f32 / 300.0;
        let len = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= len);
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(k as u64).to_le_bytes());
        c.push(root.join(format!("img-{k:03}.png")), hash, &v, len);
    }
    let clustering = clusters(&c, 2);
    let mut h = Harness {
        app: App::new(root.to_owned(), "synthetic".into()),
        previews: Vec::new(),
        thumbnails: Thumbnails::default(),
        thumbnail_requests: Vec::new(),
    };
    h.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
    h.grid(160, 48);
    let (columns, rows) = h.app.grid_size();
    let page = columns * rows;
    // The page in view and the next.
    assert_eq!(h.thumbnail_requests.last().unwrap().len(), 2 * page);
    let size = h.app.shown()[h.app.cluster()].len();
    for _ in 0..size {
        h.app
            .on(Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    }
    assert_eq!(
        h.app.image() / columns,
        (size - 1) / columns,
        "the last row"
    );
    assert!(
        h.app.grid_top() + rows > h.app.image() / columns,
        "the cursor stays in view"
    );
    let s = h.screen(160, 48);
    let last = h.app.name(h.app.shown()[h.app.cluster()][size - 1]);
    assert!(s.contains(&last), "{last} in view:\n{s}");
    // PgUp goes a page up; Home to the first.
    h.key(KeyCode::PageUp);
    assert_eq!(h.app.image() / columns, (size - 1) / columns - rows);
    h.key(KeyCode::Home);
    assert_eq!((h.app.image(), h.app.grid_top()), (0, 0));
}

#[test]
fn similar_images_and_near_duplicates_use_the_grid() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    h.grid(160, 48);
    h.key(KeyCode::Char('s'));
    assert_eq!(h.app.focus(), Focus::Similar);
    let s = h.screen(160, 48);
    assert!(s.contains("similar to "), "{s}");
    let first = h.app.name(h.app.neighbours()[0].index);
    assert!(s.contains(&first[..first.len().min(13)]), "{first}:\n{s}");
    h.key(KeyCode::Right);
    assert_eq!(h.app.similar_cursor(), 1);
    assert_eq!(h.app.current(), Some(h.app.neighbours()[1].index));
    h.key(KeyCode::Esc);
    // Near-copies side by side: a group is one row of the grid.
    h.key(KeyCode::Char('d'));
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
    let s = h.screen(160, 48);
    golden("duplicates-grid", &s);
    assert!(s.contains("≈1"), "{s}");
    h.key(KeyCode::Right);
    assert_eq!(h.app.current(), Some(groups[0][1]));
}

#[test]
fn the_map_is_walked_with_a_crosshair_and_zoomed_around_it() {
    let mut h = Harness::new();
    // Tab: clusters → images → similar → map.
    while h.app.focus() != Focus::Map {
        h.key(KeyCode::Tab);
    }
    let c = h.app.clustering().cloned().unwrap();
    let start = h.app.current().unwrap();
    assert_eq!(
        h.app.map_view().crosshair,
        c.map[start],
        "the crosshair starts on the image"
    );
    let s = screen(&h.app, 120, 40);
    golden("map-walk", &s);
    assert!(s.contains("arrows walk"), "{s}");
    assert!(s.contains('╋'), "{s}");
    // Walking across the map makes the image nearest the crosshair current, with its
    // preview; the crosshair stays inside the map.
    let mut seen = vec![start];
    for key in [KeyCode::Left, KeyCode::Right, KeyCode::Up, KeyCode::Down] {
        for _ in 0..45 {
            let cmds = h.key(key);
            let now = h.app.current().unwrap();
            if !seen.contains(&now) {
                seen.push(now);
                assert!(
                    cmds.iter()
                        .any(|c| matches!(c, Command::LoadPreview(p) if *p == h.app.collection().paths[now])),
                    "{cmds:?}"
                );
            }
            let [x, y] = h.app.map_view().crosshair;
            let b = h.app.map_view().bounds;
            assert!(x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]);
        }
    }
    assert!(
        seen.len() >= 3,
        "the walk visits images of the map: {seen:?}"
    );
    assert_eq!(h.app.focus(), Focus::Map, "walking keeps the map focused");
    let here = h.app.current().unwrap();
    let nearest = (0..c.map.len())
        .min_by(|&a, &b| {
            let d = |i: usize| {
                let [x, y] = c.map[i];
                let [cx, cy] = h.app.map_view().crosshair;
                let (w, hh) = (
                    h.app.map_view().bounds[2] - h.app.map_view().bounds[0],
                    h.app.map_view().bounds[3] - h.app.map_view().bounds[1],
                );
                ((x - cx) / w).powi(2) + ((y - cy) / hh).powi(2)
            };
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    assert_eq!(here, nearest);
    // + zooms in around the crosshair, - back out; the crosshair stays in view.
    h.key(KeyCode::Char('+'));
    h.key(KeyCode::Char('+'));
    assert!((h.app.map_view().zoom - 2.25).abs() < 1e-4);
    let [x0, y0, x1, y1] = h.app.map_view().window();
    let [cx, cy] = h.app.map_view().crosshair;
    // In view (up to rounding: the view may end exactly at the crosshair, on the map's edge).
    let e = 1e-4 * (x1 - x0).max(y1 - y0);
    assert!(
        cx >= x0 - e && cx <= x1 + e && cy >= y0 - e && cy <= y1 + e,
        "{:?} not in {:?}",
        [cx, cy],
        [x0, y0, x1, y1]
    );
    assert!(screen(&h.app, 120, 40).contains("zoom ×2.2"));
    assert_eq!(
        h.app.clustering().as_ref().unwrap().k,
        3,
        "+ zooms, it does not add a cluster"
    );
    for _ in 0..5 {
        h.key(KeyCode::Char('-'));
    }
    assert_eq!(h.app.map_view().zoom, 1.0);
    h.key(KeyCode::Esc);
    assert_eq!(h.app.focus(), Focus::Images);
}

#[test]
fn p_draws_the_map_as_a_picture_of_the_images_in_view() {
    let mut h = Harness::new();
    h.on(Event::MapSize(70, 18));
    while h.app.focus() != Focus::Map {
        h.key(KeyCode::Tab);
    }
    let cmds = h.key(KeyCode::Char('p'));
    let Some(Command::DrawMap(picture)) = cmds.last() else {
        panic!("{cmds:?}");
    };
    assert_eq!(picture.cells, (70, 18));
    assert_eq!(picture.images.len(), 15, "the whole map is in view");
    let last = picture.images.last().unwrap();
    assert!(last.current, "the current image is drawn last, on top");
    assert_eq!(
        last.path,
        h.app.collection().paths[h.app.current().unwrap()]
    );
    assert!(
        picture
            .images
            .iter()
            .all(|i| (0.0..=1.0).contains(&i.at[0]))
    );
    assert!(
        picture.crosshair.is_some(),
        "walking: the crosshair is drawn in"
    );
    // Resting asks for nothing new; zooming in draws the part in view only.
    assert!(h.on(Event::Idle).is_empty());
    let cmds = h.key(KeyCode::Char('+'));
    let Some(Command::DrawMap(zoomed)) = cmds.last() else {
        panic!("{cmds:?}");
    };
    assert!((h.app.map_view().zoom - 1.5).abs() < 1e-6);
    assert_eq!(zoomed.in_view, zoomed.images.len());
    let [x0, y0, x1, y1] = h.app.map_view().window();
    let map = &h.app.clustering().as_ref().unwrap().map;
    // The app's rule: in view up to rounding (1e-5 of the span).
    let (ex, ey) = (1e-5 * (x1 - x0), 1e-5 * (y1 - y0));
    let inside = map
        .iter()
        .filter(|&&[x, y]| x >= x0 - ex && x <= x1 + ex && y >= y0 - ey && y <= y1 + ey)
        .count();
    assert_eq!(zoomed.images.len(), inside);
    // p again: points, and no more pictures.
    h.key(KeyCode::Char('p'));
    assert!(!h.app.map_picture());
    assert!(
        !h.key(KeyCode::Left)
            .iter()
            .any(|c| matches!(c, Command::DrawMap(_)))
    );
}

#[test]
fn an_image_far_off_is_drawn_at_the_map_edge_marked_and_the_crosshair_reaches_it() {
    let root = Path::new("/art");
    let c = collection(root, false);
    let mut clustering = clusters(&c, 3);
    // One image far to the right: framed by all, the others would share a 20th of the width.
    let far = 6;
    let xs = || clustering.map.iter().map(|p| p[0]);
    let (left, right) = (xs().fold(f32::MAX, f32::min), xs().fold(f32::MIN, f32::max));
    clustering.map[far][0] = right + 20.0 * (right - left);
    let mut h = Harness::showing(root, c, clustering);
    h.on(Event::MapSize(70, 18));
    while h.app.focus() != Focus::Map {
        h.key(KeyCode::Tab);
    }
    let places = h.app.map_places();
    assert_eq!(places.beyond, 1);
    assert_eq!(places.outside[far], [1, 0]);
    let b = h.app.map_view().bounds;
    assert!(
        b[2] - b[0] < 1.1 * (right - left),
        "framed by the rest: {b:?}"
    );
    let s = screen(&h.app, 160, 48);
    golden("map-far", &s);
    assert!(s.contains("1 far off: arrows at the edge"), "{s}");
    assert!(
        s.contains('→'),
        "the far one is an arrow at the right edge:\n{s}"
    );
    // A click where it is drawn makes it current.
    let at = places.at[far];
    h.on(Event::Click(imgtui::tui::app::Hit::Map(at)));
    assert_eq!(h.app.current(), Some(far));
    // In the picture it lies at the right edge, marked.
    let cmds = h.key(KeyCode::Char('p'));
    let Some(Command::DrawMap(picture)) = cmds.last() else {
        panic!("{cmds:?}");
    };
    let image = picture.images.iter().find(|i| i.current).unwrap();
    assert_eq!(image.outside, [1, 0]);
    assert!(image.at[0] > 0.99, "{:?}", image.at);
    assert!(
        picture
            .images
            .iter()
            .filter(|i| i.outside != [0, 0])
            .count()
            == 1
    );
}

/// The screen position of the first cell showing `text` (of a screen drawn at 160 × 48).
fn find(s: &str, text: &str) -> (u16, u16) {
    for (row, line) in s.lines().enumerate() {
        if let Some(at) = line.find(text) {
            return (line[..at].chars().count() as u16, row as u16);
        }
    }
    panic!("{text} not on the screen:\n{s}")
}

#[test]
fn clicks_select_clusters_tiles_and_map_places_and_the_wheel_scrolls_and_zooms() {
    use imgtui::tui::app::Hit;
    let mut h = Harness::new();
    h.grid(160, 48);
    let area = ratatui::layout::Rect::new(0, 0, 160, 48);
    let click = |h: &mut Harness, (x, y): (u16, u16)| {
        let hit = view::hit(&h.app, area, x, y).expect("something is there");
        h.on(Event::Click(hit));
        h.on(Event::Idle);
        hit
    };
    // A tile: its image becomes current (the title row of a tile is its frame; click inside).
    let s = h.screen(160, 48);
    let third = h.app.name(h.app.shown()[0][2]);
    let (x, y) = find(&s, &third);
    assert_eq!(click(&mut h, (x + 2, y + 3)), Hit::Image(Some(2)));
    assert_eq!((h.app.image(), h.app.focus()), (2, Focus::Images));
    // A cluster row.
    let (x, y) = find(&s, "██  3");
    assert_eq!(click(&mut h, (x, y)), Hit::Cluster(Some(2)));
    assert_eq!((h.app.cluster(), h.app.image()), (2, 0));
    // The empty part of the grid selects nothing.
    let s = h.screen(160, 48);
    let (x, y) = find(&s, " cluster 3 · 5 images");
    assert_eq!(click(&mut h, (x + 60, y + 25)), Hit::Image(None));
    assert_eq!(h.app.image(), 0);
    // A place on the map: the crosshair goes there, the nearest image becomes current.
    let (x, y) = find(&s, "map (UMAP)");
    let Hit::Map(at) = click(&mut h, (x + 20, y + 4)) else {
        panic!("not the map");
    };
    assert_eq!(h.app.focus(), Focus::Map);
    assert_eq!(h.app.map_view().crosshair, at);
    // The wheel over the map zooms; over the cluster list it scrolls it.
    let (x, y) = find(&h.screen(160, 48), "map (UMAP)");
    let over_map = view::hit(&h.app, area, x + 20, y + 4).unwrap();
    h.on(Event::Wheel(over_map, -1));
    assert!((h.app.map_view().zoom - 1.5).abs() < 1e-6);
    h.on(Event::Wheel(Hit::Cluster(None), -1));
    assert_eq!((h.app.focus(), h.app.cluster()), (Focus::Clusters, 0));
    // Under a popup, clicks reach nothing.
    h.key(KeyCode::Char('?'));
    assert_eq!(view::hit(&h.app, area, 10, 3), None);
}

#[test]
fn clicks_and_the_wheel_work_in_the_overview_and_the_lattice() {
    use imgtui::tui::app::Hit;
    let mut h = Harness::new();
    h.grid(160, 48);
    let area = ratatui::layout::Rect::new(0, 0, 160, 48);
    let click = |h: &mut Harness, (x, y): (u16, u16)| {
        let hit = view::hit(&h.app, area, x, y).expect("something is there");
        h.on(Event::Click(hit));
        h.on(Event::Idle);
        hit
    };
    // The overview: three rows of 9 cells (a 20-cell label, then tiles 16 wide).
    h.key(KeyCode::Char('w'));
    h.screen(160, 48);
    assert_eq!(
        click(&mut h, (20 + 3 * 16 + 4, 9 + 4)),
        Hit::Overview(1, Some(3))
    );
    assert_eq!((h.app.cluster(), h.app.image()), (1, 3));
    assert_eq!(click(&mut h, (5, 18 + 2)), Hit::Overview(2, None));
    assert_eq!((h.app.cluster(), h.app.image()), (2, 0));
    h.on(Event::Wheel(Hit::Overview(0, None), -1));
    assert_eq!(h.app.cluster(), 1);
    // Past the last tile of a row, nothing.
    assert_eq!(view::hit(&h.app, area, 20 + 6 * 16, 4), None);
    // A click on the cursor's tile opens its cluster in the grid.
    let here = h.app.current();
    let hit = view::hit(&h.app, area, 20 + 4, 9 + 4).unwrap();
    assert_eq!(hit, Hit::Overview(1, Some(0)));
    h.on(Event::Click(hit));
    assert!(
        h.screen(160, 48).contains("cluster 2 · 5 images"),
        "the grid"
    );
    assert_eq!(h.app.current(), here);

    // The lattice: 5 × 3 cells of 16 × 9, all in view.
    h.key(KeyCode::Char('L'));
    h.screen(160, 48);
    let before = h.app.current();
    assert_eq!(click(&mut h, (2 * 16 + 4, 9 + 4)), Hit::Lattice(2, 1));
    let there = h.app.current();
    assert_ne!(there, before);
    assert_eq!(
        view::hit(&h.app, area, 5 * 16 + 4, 4),
        None,
        "right of the grid"
    );
    // The wheel walks the rows; a click on the cursor's cell opens its cluster.
    h.on(Event::Wheel(Hit::Lattice(0, 0), 1));
    assert_ne!(h.app.current(), there);
    h.on(Event::Wheel(Hit::Lattice(0, 0), -1));
    assert_eq!(h.app.current(), there);
    click(&mut h, (2 * 16 + 4, 9 + 4));
    assert_eq!(h.app.images_view(), ImagesView::Grid);
    assert_eq!(h.app.current(), there);
    assert!(h.screen(160, 48).contains("clusters: 3 by kmeans"));
}

#[test]
fn space_marks_images_across_clusters_e_exports_them_and_y_copies_their_paths() {
    let mut h = Harness::new();
    let first = h.app.current().unwrap();
    h.key(KeyCode::Char(' '));
    // Space marks and moves on, as file managers do: Space Space marks two images.
    assert_ne!(h.app.current(), Some(first));
    h.key(KeyCode::Char(']'));
    h.key(KeyCode::Down);
    let second = h.app.current().unwrap();
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.selection().len(), 2);
    assert!(h.app.is_marked(first) && h.app.is_marked(second));
    assert!(
        h.app.message().contains("2 images marked"),
        "{}",
        h.app.message()
    );
    // Marks show in the list (and stay through a cluster change).
    let s = screen(&h.app, 120, 36);
    assert!(s.contains("◆ "), "{s}");
    // y: both paths, one a line, for the clipboard.
    let cmds = h.key(KeyCode::Char('y'));
    let mut want = vec![
        h.app.collection().paths[first].display().to_string(),
        h.app.collection().paths[second].display().to_string(),
    ];
    want.sort();
    let Some(Command::Copy(text, 2)) = cmds.first() else {
        panic!("{cmds:?}");
    };
    let mut got: Vec<String> = text.lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, want);
    h.on(Event::Copied(Ok(2)));
    assert!(
        h.app.message().contains("2 paths copied"),
        "{}",
        h.app.message()
    );
    // e offers a folder for the selection and exports exactly the marked files.
    h.key(KeyCode::Char('e'));
    assert_eq!(
        *h.app.overlay(),
        Overlay::Export("imgtui-export/selection".into())
    );
    let cmds = h.key(KeyCode::Enter);
    let Some(Command::Export(files, target)) = cmds.first() else {
        panic!("{cmds:?}");
    };
    assert_eq!(target, Path::new("imgtui-export/selection"));
    let mut files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    files.sort();
    assert_eq!(files, want);
    h.on(Event::Exported(Err(Error::bad_request("test"))));
    // Space again unmarks; c unmarks all; then e and y are about the cluster and the image.
    h.key(KeyCode::Up);
    assert_eq!(h.app.current(), Some(second));
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.selection().len(), 1);
    h.key(KeyCode::Char('c'));
    assert!(h.app.selection().is_empty());
    assert!(!screen(&h.app, 120, 36).contains('◆'));
    let cmds = h.key(KeyCode::Char('y'));
    assert!(
        matches!(cmds.first(), Some(Command::Copy(_, 1))),
        "{cmds:?}"
    );
    h.key(KeyCode::Char('e'));
    assert!(
        matches!(h.app.overlay(), Overlay::Export(t) if t.starts_with("imgtui-export/02")),
        "{:?}",
        h.app.overlay()
    );
}

#[test]
fn no_color_draws_no_colour_and_auto_follows_a_light_background() {
    use imgtui::tui::theme::Theme;
    use ratatui::style::Color;
    let colours = |app: &App| {
        let mut terminal = Terminal::new(TestBackend::new(120, 36)).unwrap();
        let pictures = Pictures {
            preview: None,
            map: None,
            thumbnails: &mut Thumbnails::default(),
            compare: Vec::new(),
        };
        terminal.draw(|f| view(f, app, pictures)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        buffer
            .content()
            .iter()
            .flat_map(|c| [c.fg, c.bg])
            .filter(|&c| c != Color::Reset)
            .count()
    };
    let mut h = Harness::new();
    assert!(colours(&h.app) > 100, "the dark theme colours the panes");
    h.app.set_theme(Theme::Plain, true);
    assert_eq!(colours(&h.app), 0, "NO_COLOR: not one coloured cell");
    h.on(Event::Background { light: true });
    assert_eq!(
        h.app.theme(),
        Theme::Plain,
        "NO_COLOR wins over the terminal"
    );
    h.app.set_theme(Theme::Dark, true);
    h.on(Event::Background { light: true });
    assert_eq!(h.app.theme(), Theme::Light);
    let light = h.app.theme();
    h.app.set_theme(light, false);
    h.on(Event::Background { light: false });
    assert_eq!(h.app.theme(), Theme::Light, "a chosen theme stays");
}

#[test]
fn curation_keys_ask_and_send_the_edits_and_their_answers_show() {
    use imgtui::analysis::curation::Edit;
    use imgtui::tui::app::Ask;
    let mut h = Harness::new();
    let number = |h: &Harness, i: usize| h.app.clustering().as_ref().unwrap().clusters[i].number;
    // r: the prompt holds the current name; Enter renames.
    h.key(KeyCode::Char('r'));
    assert!(matches!(*h.app.overlay(), Overlay::Ask(Ask::Rename, _)));
    let s = screen(&h.app, 120, 36);
    assert!(s.contains("name of cluster 1"), "{s}");
    h.type_text("spirals");
    let cmds = h.key(KeyCode::Enter);
    let want = Edit::Name {
        cluster: 0,
        name: "spirals".into(),
    };
    assert_eq!(cmds.first(), Some(&Command::Edit(want)));
    // M: into another cluster by its number; into itself is refused on the status line.
    h.key(KeyCode::Char('M'));
    h.type_text(&number(&h, 0).to_string());
    assert!(h.key(KeyCode::Enter).is_empty());
    assert!(
        h.app.message().contains("into itself"),
        "{}",
        h.app.message()
    );
    h.key(KeyCode::Char('M'));
    h.type_text(&number(&h, 2).to_string());
    let cmds = h.key(KeyCode::Enter);
    assert_eq!(
        cmds.first(),
        Some(&Command::Edit(Edit::Merge { from: 0, into: 2 }))
    );
    h.key(KeyCode::Char('M'));
    h.type_text("9");
    h.key(KeyCode::Enter);
    assert_eq!(h.app.message(), "there is no cluster 9");
    // S: empty chooses k inside the cluster; 1 is refused.
    h.key(KeyCode::Char('S'));
    let cmds = h.key(KeyCode::Enter);
    assert_eq!(
        cmds.first(),
        Some(&Command::Edit(Edit::Split {
            cluster: 0,
            k: None
        }))
    );
    h.key(KeyCode::Char('S'));
    h.type_text("1");
    assert!(h.key(KeyCode::Enter).is_empty());
    // v: the marked images (across clusters) to a new cluster.
    let a = h.app.current().unwrap();
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char(']'));
    let b = h.app.current().unwrap();
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('v'));
    assert!(screen(&h.app, 120, 36).contains("move the 2 images marked to cluster"));
    h.type_text("new");
    let cmds = h.key(KeyCode::Enter);
    let Some(Command::Edit(Edit::Move { images, to: None })) = cmds.first() else {
        panic!("{cmds:?}");
    };
    let mut want = vec![h.app.collection().hashes[a], h.app.collection().hashes[b]];
    want.sort();
    let mut images = images.clone();
    images.sort();
    assert_eq!(images, want);
    // u and U: undo and redo, answered with the clustering and what was done.
    assert_eq!(h.key(KeyCode::Char('u')).first(), Some(&Command::Undo));
    assert_eq!(h.key(KeyCode::Char('U')).first(), Some(&Command::Redo));
    let mut renamed = h.app.clustering().cloned().unwrap();
    renamed.clusters[1].name = "stripes".into();
    let here = h.app.current();
    h.on(Event::Edited(Ok((
        Box::new(renamed),
        "renamed to \"stripes\" (u undoes)".into(),
    ))));
    assert_eq!(h.app.current(), here, "the cursor stays on its image");
    let s = screen(&h.app, 120, 36);
    assert!(s.contains("stripes") && s.contains("(u undoes)"), "{s}");
    h.on(Event::Edited(Err(Error::bad_request("nothing to undo"))));
    assert_eq!(h.app.message(), "nothing to undo");
}

#[test]
fn marks_are_cleared_once_v_has_moved_them_and_kept_when_it_fails() {
    use imgtui::analysis::curation::Edit;
    let mut h = Harness::new();
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char(']'));
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.selection().len(), 2);
    // A move that fails leaves the marks, to try again.
    h.key(KeyCode::Char('v'));
    h.type_text("new");
    assert!(matches!(
        h.key(KeyCode::Enter).first(),
        Some(Command::Edit(Edit::Move { .. }))
    ));
    h.on(Event::Edited(Err(Error::bad_request("the store is busy"))));
    assert_eq!(h.app.selection().len(), 2, "a failed move keeps the marks");
    // A move that succeeds clears them, and the status line says so.
    h.key(KeyCode::Char('v'));
    h.type_text("new");
    assert!(matches!(
        h.key(KeyCode::Enter).first(),
        Some(Command::Edit(Edit::Move { .. }))
    ));
    // An image marked while the move is under way is not one it moves: it stays marked.
    h.key(KeyCode::Char(']'));
    let later = h.app.collection().paths[h.app.current().unwrap()].clone();
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.selection().len(), 3);
    let clustering = h.app.clustering().cloned().unwrap();
    h.on(Event::Edited(Ok((
        Box::new(clustering),
        "2 images moved to a new cluster".into(),
    ))));
    assert_eq!(
        h.app.selection().iter().collect::<Vec<_>>(),
        [&later],
        "the moved images are unmarked"
    );
    assert!(
        h.app.message().contains("2 images unmarked"),
        "{}",
        h.app.message()
    );
    // Undo's answer unmarks nothing.
    h.key(KeyCode::Char('u'));
    let clustering = h.app.clustering().cloned().unwrap();
    h.on(Event::Edited(Ok((Box::new(clustering), "undone".into()))));
    assert_eq!(h.app.selection().len(), 1);
}

#[test]
fn o_lists_the_odd_ones_out_with_previews_and_enter_goes_to_one() {
    let mut h = Harness::new();
    assert_eq!(h.key(KeyCode::Char('o')), vec![Command::FindOutliers]);
    let c = h.app.collection().clone();
    let found = imgtui::analysis::outliers::outliers(&c, 10);
    let cmds = h.on(Event::Outliers(c.clone(), found.clone()));
    assert_eq!(*h.app.overlay(), Overlay::Outliers);
    assert_eq!(h.app.current(), Some(found[0].0), "the most odd first");
    assert!(
        cmds.iter()
            .any(|cmd| matches!(cmd, Command::LoadPreview(p) if *p == c.paths[found[0].0]))
    );
    let s = screen(&h.app, 120, 36);
    assert!(
        s.contains("odd ones out: 10 of 15 images, most odd first"),
        "{s}"
    );
    assert!(s.contains(&format!("{:.3}", found[0].1)), "{s}");
    h.key(KeyCode::Down);
    assert_eq!(h.app.current(), Some(found[1].0));
    h.key(KeyCode::Enter);
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert_eq!(
        h.app.current(),
        Some(found[1].0),
        "Enter goes to it in its cluster"
    );
    // An answer for a collection no longer on screen is dropped.
    let stale = Arc::new((*c).clone());
    h.on(Event::Outliers(stale, found));
    assert_eq!(*h.app.overlay(), Overlay::None);
}

#[test]
fn the_d_view_shows_keepers_and_resolves_the_copies_after_a_confirmation() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    // The rules keep the second file (say, the larger), 200 and 100 bytes.
    h.on(Event::Keepers(vec![(
        Some(1),
        vec![100, 200],
        vec![false; 2],
    )]));
    h.key(KeyCode::Char('d'));
    let (keeper, copy) = (groups[0][1], groups[0][0]);
    assert_eq!(h.app.keeper_of(0), Some(keeper));
    let s = screen(&h.app, 120, 36);
    assert!(s.contains("near-duplicates, threshold 0.95"), "{s}");
    let line = |s: &str, name: &str| {
        s.lines()
            .find(|l| l.starts_with("│  ●") && l.contains(&format!(" {name}")))
            .unwrap()
            .to_owned()
    };
    assert!(line(&s, &h.app.name(keeper)).contains("keep"), "{s}");
    assert!(line(&s, &h.app.name(copy)).contains('✗'), "{s}");
    // x asks first, counting files and bytes; t sends the copies to the trash.
    h.key(KeyCode::Char('x'));
    assert_eq!(*h.app.overlay(), Overlay::Resolve);
    let s = screen(&h.app, 120, 36);
    assert!(
        s.contains("1 image (100 B) go; each of 1 group keeps its keeper"),
        "{s}"
    );
    let cmds = h.key(KeyCode::Char('t'));
    let want = vec![(
        h.app.collection().paths[keeper].clone(),
        vec![h.app.collection().paths[copy].clone()],
    )];
    assert_eq!(cmds.first(), Some(&Command::ResolveDuplicates(want, None)));
    h.on(Event::Resolved(Ok("1 image moved to the trash".into())));
    assert_eq!(h.app.message(), "1 image moved to the trash");
    // The folder change it causes does not hide it.
    h.on(Event::FolderChanged(imgtui::session::Change {
        changed: 0,
        removed: 1,
        newly_skipped: 0,
        no_longer_skipped: 0,
    }));
    assert_eq!(
        h.app.message(),
        "1 image moved to the trash · the folder changed: 1 removed"
    );
    // K makes the image under the cursor the keeper; Space spares a copy; nothing left to go.
    h.key(KeyCode::Char('d'));
    assert_eq!(h.app.current(), Some(copy));
    h.key(KeyCode::Char('K'));
    assert_eq!(h.app.keeper_of(0), Some(copy));
    assert!(h.app.goes(0, keeper));
    h.key(KeyCode::Down);
    h.key(KeyCode::Char(' '));
    assert!(!h.app.goes(0, keeper), "spared");
    h.key(KeyCode::Char('x'));
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
    assert!(
        h.app.message().contains("nothing goes"),
        "{}",
        h.app.message()
    );
    // < and > change the threshold and ask for the groups again.
    assert_eq!(
        h.key(KeyCode::Char('<')).first(),
        Some(&Command::FindDuplicates(0.94))
    );
    assert_eq!(
        h.key(KeyCode::Char('>')).first(),
        Some(&Command::FindDuplicates(0.95))
    );
}

#[test]
fn prompts_take_ctrl_u_and_ctrl_w_as_a_shell_does_and_minus_counts_from_the_fitted_k() {
    let mut h = Harness::new();
    h.key(KeyCode::Char('r'));
    h.type_text("blue series");
    let ctrl = |c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    h.on(ctrl('w'));
    assert!(
        matches!(h.app.overlay(), Overlay::Ask(_, t) if t == "blue "),
        "{:?}",
        h.app.overlay()
    );
    h.on(ctrl('u'));
    assert!(matches!(h.app.overlay(), Overlay::Ask(_, t) if t.is_empty()));
    h.on(ctrl('a'));
    assert!(
        matches!(h.app.overlay(), Overlay::Ask(_, t) if t.is_empty()),
        "no stray letter"
    );
    h.key(KeyCode::Esc);
    // Edits made 5 clusters out of a fit of 3: - asks for 2, + for 4.
    let mut edited = h.app.clustering().cloned().unwrap();
    edited.fitted_k = 3;
    edited.k = 5;
    h.on(Event::Edited(Ok((Box::new(edited), "split".into()))));
    assert_eq!(
        h.key(KeyCode::Char('-')).first(),
        Some(&Command::Recluster(2))
    );
}

#[test]
fn regrouping_near_duplicates_ends_its_status_and_the_preview_follows_the_cursor() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    h.key(KeyCode::Char('d'));
    let (a, b) = (groups[0][0], groups[0][1]);
    assert_eq!(h.app.current(), Some(a));
    let cmds = h.key(KeyCode::Char('<'));
    assert_eq!(cmds, vec![Command::FindDuplicates(0.94)]);
    assert!(h.app.activity().is_some_and(|s| s.contains("grouping")));
    // The answer lists the group the other way round: the cursor stays on its image.
    h.on(Event::Duplicates(vec![vec![b, a]]));
    assert_eq!(h.app.current(), Some(a));
    h.key(KeyCode::Char('<'));
    // The image under the cursor is in no group now: the cursor keeps its place, on another
    // image, and the preview follows it.
    let other = (0..h.app.collection().len())
        .find(|&r| r != a && r != b)
        .unwrap();
    let cmds = h.on(Event::Duplicates(vec![vec![b, other]]));
    assert_eq!(h.app.current(), Some(other));
    assert_eq!(
        cmds,
        vec![Command::LoadPreview(
            h.app.collection().paths[other].clone()
        )]
    );
    assert_eq!(
        h.app.activity(),
        None,
        "the status line forgets the regrouping"
    );
    assert!(!screen(&h.app, 120, 36).contains("grouping at"));
    // Two quick presses: the status stays until the second answer is in.
    h.key(KeyCode::Char('>'));
    h.key(KeyCode::Char('>'));
    h.on(Event::Duplicates(vec![vec![a, b]]));
    assert!(h.app.activity().is_some());
    h.on(Event::Duplicates(vec![vec![a, b]]));
    assert_eq!(h.app.activity(), None);
}

/// The live folder carries the explorer from no image to one, to two, and back: each screen
/// draws, every key is safe, and the cursor lands on what is there.
#[test]
fn the_explorer_follows_a_live_folder_through_0_1_and_2_images() {
    use imgtui::analysis::clustering::of_too_few;
    let root = Path::new("/art");
    let full = collection(root, false);
    let first_n = |n: usize| {
        let mut c = Collection::default();
        for i in 0..n {
            c.push(
                full.paths[i].clone(),
                full.hashes[i],
                &full.row(i),
                full.norms[i],
            );
        }
        c
    };
    let shown = |c: &Collection| {
        if c.len() < 2 {
            of_too_few(c, &Request::default(), &Naming::default())
        } else {
            clusters(c, 1)
        }
    };
    let mut h = Harness {
        app: App::new(root.to_owned(), "synthetic".into()),
        previews: Vec::new(),
        thumbnails: Thumbnails::default(),
        thumbnail_requests: Vec::new(),
    };
    let keys = [
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Down,
        KeyCode::Right,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::Char(' '),
        KeyCode::Char('s'),
        KeyCode::Esc,
        KeyCode::Char('d'),
        KeyCode::Esc,
        KeyCode::Char('o'),
        KeyCode::Char('+'),
        KeyCode::Char('-'),
        KeyCode::Char('g'),
        KeyCode::Char('g'),
        KeyCode::Char('?'),
        KeyCode::Esc,
    ];
    for n in [0, 1, 2, 1, 0, 2] {
        let c = first_n(n);
        let clustering = shown(&c);
        h.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
        h.on(Event::Idle);
        let s = h.screen(120, 36);
        match n {
            0 => assert!(s.contains("no images here yet"), "{s}"),
            _ => assert!(s.contains("checker-0.png"), "{s}"),
        }
        assert_eq!(h.app.current().is_some(), n > 0);
        for key in keys {
            h.key(key);
            h.screen(120, 36);
            h.screen(60, 20);
        }
        if n > 0 {
            let s = screen(&h.app, 120, 36);
            assert!(s.contains("checker-0.png"), "{s}");
        }
    }
}

#[test]
fn names_that_hold_terminal_controls_are_shown_escaped() {
    let root = Path::new("/art");
    let mut c = collection(root, false);
    c.paths[0] = root.join("bad\u{1b}]2;TITLE\u{7}\u{1b}[H.png");
    c.paths[1] = root.join("c1\u{9b}31m.png");
    let clustering = clusters(&c, 3);
    let mut h = Harness {
        app: App::new(root.to_owned(), "synthetic".into()),
        previews: Vec::new(),
        thumbnails: Thumbnails::default(),
        thumbnail_requests: Vec::new(),
    };
    h.on(Event::Loaded(Arc::new(c), Box::new(clustering)));
    h.on(Event::Idle);
    h.on(Event::Resolved(Ok(
        "moved bad\u{1b}]2;TITLE\u{7}\u{1b}[H.png".into(),
    )));
    // To the cluster that lists them.
    let mut s = screen(&h.app, 160, 40);
    for _ in 0..3 {
        if s.contains("c1\\u{9b}31m.png") {
            break;
        }
        h.key(KeyCode::Char(']'));
        s = screen(&h.app, 160, 40);
    }
    assert!(s.contains("c1\\u{9b}31m.png"), "{s}");
    assert!(s.contains("bad\\e]2;TITLE\\x07\\e[H.png"), "{s}");
    assert!(!s.contains('\u{1b}') && !s.contains('\u{9b}'), "{s}");
    // In the grid the tile titles keep the start and the end of a long name.
    h.grid(160, 40);
    let s = h.screen(160, 40);
    assert!(
        s.contains("bad\\e]2…\\e[H.png") || s.contains("bad\\e]2;"),
        "{s}"
    );
}

#[test]
fn small_things_say_what_happened() {
    let mut h = Harness::new();
    // `-` at k = 2 and `+` at the most clusters there can be say why nothing happens.
    let mut h2 = Harness {
        app: App::new("/art".into(), "synthetic".into()),
        previews: Vec::new(),
        thumbnails: Thumbnails::default(),
        thumbnail_requests: Vec::new(),
    };
    let c = collection(Path::new("/art"), false);
    let two = clusters(&c, 2);
    h2.on(Event::Loaded(Arc::new(c), Box::new(two)));
    assert!(h2.key(KeyCode::Char('-')).is_empty());
    assert!(h2.app.message().contains("k is 2"), "{}", h2.app.message());
    // The sweep pane says why there is no sweep: here, k was given.
    let s = screen(&h.app, 160, 48);
    assert!(s.contains("no sweep: k = 3 as asked"), "{s}");
    // The status line names the method and where it came from.
    assert!(s.contains("kmeans (settings) k=3"), "{s}");
    // e offers the cluster's folder, then a fresh one when the worker finds it taken.
    h.key(KeyCode::Char('e'));
    let Overlay::Export(offered) = h.app.overlay().clone() else {
        panic!("{:?}", h.app.overlay())
    };
    h.on(Event::ExportSuggested(
        offered.clone(),
        format!("{offered}-2"),
    ));
    assert_eq!(*h.app.overlay(), Overlay::Export(format!("{offered}-2")));
    // A late suggestion does not replace what the user typed.
    h.type_text("x");
    h.on(Event::ExportSuggested(offered.clone(), "other".into()));
    assert_eq!(*h.app.overlay(), Overlay::Export(format!("{offered}-2x")));
}

/// The map and the overview leave the keys they have no row for to the panes: q quits from
/// either, and Space marks.
#[test]
fn keys_the_map_and_the_overview_leave_alone_work_as_on_the_panes() {
    let mut h = Harness::new();
    h.grid(120, 36);
    h.key(KeyCode::Tab);
    h.key(KeyCode::Tab);
    assert_eq!(h.app.focus(), Focus::Map);
    assert_eq!(h.key(KeyCode::Char('q')), vec![Command::Quit]);
    let here = h.app.current().unwrap();
    h.key(KeyCode::Char(' '));
    assert!(h.app.is_marked(here));
    h.key(KeyCode::Esc);
    h.key(KeyCode::Char('w'));
    assert_eq!(h.key(KeyCode::Char('q')), vec![Command::Quit]);
    let ctrl_c = h.on(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(ctrl_c, vec![Command::Quit]);
}

/// The facts a worker would read of a `w` × `h` PNG of `bytes` bytes.
fn png_facts(w: u32, h: u32, bytes: u64) -> Result<imgtui::session::ImageFacts, String> {
    Ok(imgtui::session::ImageFacts {
        bytes,
        modified: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_694_580),
        format: Some("PNG".into()),
        pixels: Some((w, h)),
    })
}

#[test]
fn c_compares_the_marked_images_side_by_side_and_f_flickers_two_of_them() {
    let mut h = Harness::new();
    h.key(KeyCode::Char('C'));
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert!(
        h.app.message().contains("mark 2 to 4 images"),
        "{}",
        h.app.message()
    );
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('C'));
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert!(
        h.app.message().contains("1 image marked; mark 1 to 3 more"),
        "{}",
        h.app.message()
    );
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char(' '));
    // Three marked: side by side, in the collection's order, their facts and pictures asked
    // for.
    let cmds = h.key(KeyCode::Char('C'));
    assert_eq!(*h.app.overlay(), Overlay::Compare);
    let paths = h.app.compared().to_vec();
    assert_eq!(paths.len(), 3);
    let mut marked: Vec<PathBuf> = h.app.selection().iter().cloned().collect();
    marked.sort();
    assert_eq!(paths, marked);
    assert_eq!(cmds, vec![Command::LoadCompare(paths.clone())]);
    assert_eq!(h.app.compare_other(), 1);
    h.on(Event::ImageFacts(vec![
        (paths[0].clone(), png_facts(640, 480, 12_300)),
        (paths[1].clone(), png_facts(640, 480, 9_870)),
        (
            paths[2].clone(),
            Err("No such file or directory (os error 2)".into()),
        ),
    ]));
    h.on(Event::PictureFailed(
        paths[2].clone(),
        "corrupt image: truncated".into(),
    ));
    let s = compare_screen(&h.app, 160, 48);
    golden("compare", &s);
    let c = h.app.collection().clone();
    let row = |p: &PathBuf| c.paths.binary_search(p).unwrap();
    let names: Vec<String> = paths.iter().map(|p| h.app.name(row(p))).collect();
    let name = |k: usize| names[k].clone();
    for k in 0..3 {
        assert!(s.contains(&format!("{} · {}", k + 1, name(k))), "{s}");
    }
    assert!(s.contains("640×480 · PNG · 12.3 kB"), "{s}");
    assert!(s.contains("640×480 · PNG · 9.9 kB"), "{s}");
    assert!(s.contains("modified 2026-11-26 12:03 UTC"), "{s}");
    assert!(s.contains("unreadable: No such file"), "{s}");
    assert!(
        s.contains("cannot be drawn: corrupt image: truncated"),
        "{s}"
    );
    assert!(s.contains('▀') || s.contains('▄'), "pictures drawn:\n{s}");
    // Each picture's distance to the first, and the table of every pair.
    let d =
        |a: usize, b: usize| imgtui::Session::cosine_distance(&c, row(&paths[a]), row(&paths[b]));
    assert!(s.contains(&format!("distance to 1: {:.3}", d(0, 1))), "{s}");
    assert!(s.contains(&format!("distance to 1: {:.3}", d(0, 2))), "{s}");
    assert!(s.contains("cosine distances"), "{s}");
    let table_row = format!(
        "{:>4}{:>8}{:>8.3}{:>8.3}",
        2,
        format!("{:.3}", d(1, 0)),
        "·",
        d(1, 2)
    );
    assert!(s.contains(&table_row), "{table_row:?} in\n{s}");
    // ← → choose the image compared with the first, round the others.
    h.key(KeyCode::Right);
    assert_eq!(h.app.compare_other(), 2);
    h.key(KeyCode::Right);
    assert_eq!(h.app.compare_other(), 1);
    h.key(KeyCode::Char('h'));
    assert_eq!(h.app.compare_other(), 2);
    h.key(KeyCode::Left);
    // f: the first and the chosen one in turn at one place, on the idle ticks.
    h.key(KeyCode::Char('f'));
    assert_eq!(h.app.flicker_shows(), Some(0));
    let s = compare_screen(&h.app, 160, 48);
    assert!(
        s.contains(&format!("flickering 1 ⇄ 2: 1 · {}", name(0))),
        "{s}"
    );
    assert!(
        !s.contains("cosine distances"),
        "one picture at a time:\n{s}"
    );
    assert!(
        s.contains(&format!("distance 1 ⇄ 2: {:.3}", d(0, 1))),
        "{s}"
    );
    let shows_after = |h: &mut Harness, ticks: usize| {
        for _ in 0..ticks {
            h.on(Event::Idle);
        }
        h.app.flicker_shows()
    };
    // (A key is followed by one idle tick: nine in all.)
    assert_eq!(shows_after(&mut h, 8), Some(0));
    assert_eq!(shows_after(&mut h, 1), Some(1));
    let s = compare_screen(&h.app, 160, 48);
    assert!(
        s.contains(&format!("flickering 1 ⇄ 2: 2 · {}", name(1))),
        "{s}"
    );
    assert_eq!(shows_after(&mut h, 10), Some(0));
    // Space flips by hand, and the flicker holds.
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.flicker_shows(), Some(1));
    assert_eq!(shows_after(&mut h, 30), Some(1));
    assert!(compare_screen(&h.app, 160, 48).contains("flipped by hand 1 ⇄ 2"));
    h.key(KeyCode::Char(' '));
    assert_eq!(h.app.flicker_shows(), Some(0));
    // f again: side by side; Esc: back to the panes, the marks kept.
    h.key(KeyCode::Char('f'));
    assert_eq!(h.app.flicker_shows(), None);
    h.key(KeyCode::Esc);
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert_eq!(h.app.selection().len(), 3);
    assert_eq!(h.app.message(), "");
    // More than four marked: it says how many to unmark.
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char(' '));
    h.key(KeyCode::Char('C'));
    assert_eq!(*h.app.overlay(), Overlay::None);
    assert!(
        h.app
            .message()
            .contains("5 images marked, at most 4 fit side by side; unmark 1"),
        "{}",
        h.app.message()
    );
}

#[test]
fn four_wide_images_are_compared_two_by_two_and_two_in_a_row() {
    let mut h = Harness::new();
    for _ in 0..4 {
        h.key(KeyCode::Char(' '));
    }
    h.key(KeyCode::Char('C'));
    let paths = h.app.compared().to_vec();
    assert_eq!(paths.len(), 4);
    // Until the facts say, pictures are taken as square: four in a row.
    let title_rows = |s: &str| -> Vec<usize> {
        (1..=4)
            .map(|k| {
                let title = |corner| format!("{corner} {k} · ");
                s.lines()
                    .position(|l| l.contains(&title('┌')) || l.contains(&title('┏')))
                    .unwrap()
            })
            .collect()
    };
    let s = compare_screen(&h.app, 160, 48);
    let rows = title_rows(&s);
    assert!(rows.iter().all(|&r| r == rows[0]), "{rows:?}\n{s}");
    h.on(Event::ImageFacts(
        paths
            .iter()
            .map(|p| (p.clone(), png_facts(1920, 1080, 1_000)))
            .collect(),
    ));
    let s = compare_screen(&h.app, 160, 48);
    let rows = title_rows(&s);
    assert!(
        rows[0] == rows[1] && rows[2] == rows[3] && rows[2] > rows[0],
        "{rows:?}\n{s}"
    );
}

#[test]
fn c_in_the_near_duplicates_compares_the_group_and_esc_returns_to_it() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    h.key(KeyCode::Char('d'));
    h.key(KeyCode::Down);
    let cmds = h.key(KeyCode::Char('C'));
    assert_eq!(*h.app.overlay(), Overlay::Compare);
    let group: Vec<PathBuf> = groups[0]
        .iter()
        .map(|&i| h.app.collection().paths[i].clone())
        .collect();
    assert_eq!(h.app.compared(), group.as_slice());
    assert_eq!(cmds, vec![Command::LoadCompare(group)]);
    assert_eq!(h.app.compare_other(), 1, "the image under the cursor");
    let s = compare_screen(&h.app, 120, 36);
    assert!(
        s.contains("1 · disc-2-small.png") && s.contains("2 · disc-2.png"),
        "{s}"
    );
    assert!(s.contains("distance to 1: 0.0"), "{s}");
    h.key(KeyCode::Esc);
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
    assert_eq!(h.app.current(), Some(groups[0][1]));
    // A group larger than four: its first four, and the status line says so.
    h.on(Event::Duplicates(vec![(0..6).collect()]));
    h.key(KeyCode::Home);
    h.key(KeyCode::Char('C'));
    assert_eq!(h.app.compared().len(), 4);
    assert_eq!(h.app.compared()[0], h.app.collection().paths[0]);
    assert!(
        h.app.message().contains("4 of group 1's 6 images"),
        "{}",
        h.app.message()
    );
    h.key(KeyCode::Char('q'));
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
    // Once the keeper is known it comes first, and the image under the cursor is in even
    // when it is not among the first four.
    h.on(Event::Keepers(vec![(
        Some(5),
        vec![100; 6],
        vec![false; 6],
    )]));
    for _ in 0..4 {
        h.key(KeyCode::Down);
    }
    h.key(KeyCode::Char('C'));
    let paths = &h.app.collection().paths;
    let want = [&paths[5], &paths[0], &paths[1], &paths[4]];
    assert_eq!(h.app.compared().iter().collect::<Vec<_>>(), want);
    assert_eq!(h.app.compare_other(), 3);
    assert!(
        h.app
            .message()
            .contains("4 of group 1's 6 images, the keeper first"),
        "{}",
        h.app.message()
    );
}

#[test]
fn n_parts_an_image_from_its_group_and_u_takes_it_back() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    h.key(KeyCode::Char('d'));
    let here = h.app.current().unwrap();
    let others: Vec<(usize, usize)> = groups[0]
        .iter()
        .filter(|&&j| j != here)
        .map(|&j| (here, j))
        .collect();
    let asked = |cmds: Vec<Command>| {
        cmds.into_iter()
            .find(|c| matches!(c, Command::NotDuplicates(..)))
    };
    assert_eq!(
        asked(h.key(KeyCode::Char('n'))),
        Some(Command::NotDuplicates(
            others.clone(),
            true,
            DUPLICATE_THRESHOLD
        ))
    );
    h.on(Event::Decided(true, Ok(others.len())));
    let name = h.app.collection().paths[here]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        h.app.message().contains("marked not duplicates") && h.app.message().contains(&name),
        "the message names the image: {}",
        h.app.message()
    );
    // The regrouping sorts the group anew: the cursor stays on its image.
    let mut moved = groups.clone();
    moved[0].rotate_left(1);
    h.on(Event::Duplicates(moved));
    assert_eq!(h.app.current(), Some(here));
    // Regrouped (say a third image still links them): u takes the marks back.
    h.on(Event::Duplicates(groups.clone()));
    assert_eq!(
        asked(h.key(KeyCode::Char('u'))),
        Some(Command::NotDuplicates(others, false, DUPLICATE_THRESHOLD))
    );
    h.on(Event::Decided(false, Ok(1)));
    assert!(
        h.app.message().contains("taken back"),
        "{}",
        h.app.message()
    );
    h.on(Event::Duplicates(groups));
    assert_eq!(asked(h.key(KeyCode::Char('u'))), None);
    assert!(
        h.app.message().contains("nothing to undo"),
        "{}",
        h.app.message()
    );
    // A refusal (exact copies, a store that cannot be written) is said, and nothing is kept
    // to undo.
    h.key(KeyCode::Char('n'));
    h.on(Event::Decided(
        true,
        Err(Error::bad_request("a and b are exact copies")),
    ));
    assert!(
        h.app.message().contains("nothing marked"),
        "{}",
        h.app.message()
    );
    assert_eq!(asked(h.key(KeyCode::Char('u'))), None);
}

/// From `DUPLICATES_AT_START_BELOW` images the explorer looks for near-duplicates only when
/// `d` asks (at a million images the search takes minutes): `d` starts it once, the status
/// line says so while it runs, then what was found, and `d` shows the groups.
#[test]
fn a_large_collection_is_searched_for_near_duplicates_when_d_asks() {
    use imgtui::session::DUPLICATES_AT_START_BELOW;
    let root = Path::new("/art");
    let small = collection(root, false);
    let fitted = clusters(&small, 3);
    let n = DUPLICATES_AT_START_BELOW;
    let mut c = Collection::default();
    for i in 0..n {
        let mut hash = [0; 32];
        hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let j = i % small.len();
        c.push(root.join(format!("{i:06}.png")), hash, &small.row(j), 1.0);
    }
    let mut clustering = fitted.clone();
    clustering.labels = (0..n).map(|i| fitted.labels[i % small.len()]).collect();
    clustering.map = (0..n).map(|i| fitted.map[i % small.len()]).collect();
    clustering.distances = (0..n).map(|i| fitted.distances[i % small.len()]).collect();
    clustering.lattice = Vec::new();
    for (k, cl) in clustering.clusters.iter_mut().enumerate() {
        cl.size = clustering.labels.iter().filter(|&&l| l == k).count();
    }
    let mut h = Harness::showing(root, c, clustering);
    // The images list makes only its rows on screen: the cursor's, 100 rows down, shows.
    let name_of = |h: &Harness, row: usize| {
        let path = &h.app.collection().paths[row];
        path.file_name().unwrap().to_string_lossy().into_owned()
    };
    let first = name_of(&h, h.app.current().unwrap());
    assert!(screen(&h.app, 120, 36).contains(&first));
    for _ in 0..100 {
        h.on(Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)));
    }
    h.on(Event::Idle);
    let last = name_of(&h, h.app.current().unwrap());
    let s = screen(&h.app, 120, 36);
    assert!(s.contains(&last), "{last} on screen: {s}");
    let top_row = s.lines().nth(1).unwrap_or_default();
    assert!(!top_row.contains(&first), "{first} scrolled away: {s}");
    h.key(KeyCode::Home);
    let cmds = h.key(KeyCode::Char('d'));
    assert_eq!(cmds, vec![Command::FindDuplicates(DUPLICATE_THRESHOLD)]);
    let busy = h.app.activity().unwrap_or_default();
    assert!(
        busy.contains("looking for near-duplicates among 50000 images"),
        "{busy}"
    );
    // A second `d` while it runs asks nothing more.
    assert!(h.key(KeyCode::Char('d')).is_empty());
    assert_eq!(*h.app.overlay(), Overlay::None);
    h.on(Event::Duplicates(vec![vec![0, 15], vec![1, 16, 31]]));
    assert_eq!(h.app.activity(), None);
    let said = screen(&h.app, 120, 36);
    assert!(
        said.contains("2 near-duplicate groups found; d shows them"),
        "{said}"
    );
    h.key(KeyCode::Char('d'));
    assert_eq!(*h.app.overlay(), Overlay::Duplicates);
}

#[test]
fn a_copy_that_stays_whatever_the_keeper_is_not_marked_to_go_nor_counted() {
    let mut h = Harness::with(Path::new("/art"), true);
    let groups = duplicates::groups(h.app.collection(), DUPLICATE_THRESHOLD);
    h.on(Event::Duplicates(groups.clone()));
    // The rules keep the second file; the first is a symlink (or a symlink leads to it).
    h.on(Event::Keepers(vec![(
        Some(1),
        vec![100, 200],
        vec![true, false],
    )]));
    h.key(KeyCode::Char('d'));
    let copy = groups[0][0];
    assert!(!h.app.goes(0, copy));
    let s = screen(&h.app, 120, 36);
    let line = s
        .lines()
        .find(|l| l.starts_with("│  ●") && l.contains(&format!(" {}", h.app.name(copy))))
        .unwrap();
    assert!(!line.contains('✗'), "{s}");
    h.key(KeyCode::Char('x'));
    assert!(
        h.app.message().contains("nothing goes"),
        "{}",
        h.app.message()
    );
}
