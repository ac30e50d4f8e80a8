//! The explorer's screens and keys on ratatui's TestBackend, over a real indexed and
//! clustered folder of drawn images.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use imgtui::analysis::clustering::{KChoice, Request, cluster};
use imgtui::analysis::duplicates::{self, DUPLICATE_THRESHOLD};
use imgtui::analysis::saved::{Wanted, load_or_fit};
use imgtui::montage::{MontageOptions, montage, save_in_folder};
use imgtui::tui::app::{App, Command, Focus, Loading, Overlay};
use imgtui::tui::view;
use imgtui::{OnnxModel, Store};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    app: App,
}

/// Fifteen images in three families, indexed and clustered with k = 3.
fn fixture() -> Fixture {
    fixture_with(|_| {})
}

/// The fifteen images plus whatever `extra` adds to their folder.
fn fixture_with(extra: impl FnOnce(&std::path::Path)) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    extra(&dir);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let model = OnnxModel::builtin();
    let summary = crate::common::index_with(&dir, &mut store, &model, &Default::default());
    let c = store.collection(&dir, &summary.feature).unwrap();
    let req = Request {
        k: KChoice::Fixed(3),
        ..Default::default()
    };
    let clustering = cluster(&c, &req, Some(&model)).unwrap();
    let mut app = App::new(dir.clone(), "efficientnet-lite0".into());
    let first = app.loaded(c, clustering);
    app.refresh_neighbours();
    assert!(
        matches!(first.as_slice(), [Command::LoadPreview(_)]),
        "{first:?}"
    );
    Fixture {
        _tmp: tmp,
        dir,
        app,
    }
}

/// A key press, then a rest (when the event loop finds the neighbours).
fn key(app: &mut App, code: KeyCode) -> Vec<Command> {
    let commands = app.key(KeyEvent::new(code, KeyModifiers::NONE));
    app.refresh_neighbours();
    commands
}

fn type_text(app: &mut App, text: &str) {
    for ch in text.chars() {
        key(app, KeyCode::Char(ch));
    }
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view(f, app, None)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn panes_show_clusters_images_neighbours_map_and_status() {
    let f = fixture();
    let s = screen(&f.app, 160, 48);
    assert!(s.contains("clusters: 3 by kmeans"), "{s}");
    assert!(s.contains("cluster 1 · 5 images"));
    assert!(s.contains("nearest neighbours"));
    assert!(s.contains("map (PCA)"));
    assert!(s.contains("choosing k"));
    assert!(s.contains("15 images"));
    // Every cluster row shows its size.
    assert_eq!(s.matches("     5  ").count(), 3, "{s}");
    // The map is drawn in braille.
    assert!(s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)));
}

#[test]
fn arrows_move_between_clusters_and_images() {
    let mut f = fixture();
    let first = f.app.current().unwrap();
    let cmds = key(&mut f.app, KeyCode::Down);
    assert_eq!(f.app.image, 1);
    assert!(matches!(cmds.as_slice(), [Command::LoadPreview(_)]));
    assert_ne!(f.app.current().unwrap(), first);
    key(&mut f.app, KeyCode::Char('l'));
    assert_eq!((f.app.cluster, f.app.image), (1, 0));
    assert!(screen(&f.app, 160, 48).contains("cluster 2 · 5 images"));
    key(&mut f.app, KeyCode::Left);
    key(&mut f.app, KeyCode::Left);
    assert_eq!(f.app.cluster, 2, "← wraps around");
    // The neighbours follow the cursor and never include the image itself.
    let here = f.app.current().unwrap();
    assert_eq!(f.app.neighbours.len(), 12);
    assert!(f.app.neighbours.iter().all(|n| n.index != here));
    // j/k clamp at the ends.
    for _ in 0..10 {
        key(&mut f.app, KeyCode::Char('j'));
    }
    assert_eq!(f.app.image, 4);
}

#[test]
fn s_browses_similar_images_and_esc_returns() {
    let mut f = fixture();
    let here = f.app.current().unwrap();
    let nearest = f.app.neighbours[0].index;
    let cmds = key(&mut f.app, KeyCode::Char('s'));
    assert_eq!(f.app.focus, Focus::Similar);
    assert_eq!(f.app.current(), Some(nearest));
    assert!(
        matches!(cmds.as_slice(), [Command::LoadPreview(p)] if *p == f.app.collection.paths[nearest])
    );
    key(&mut f.app, KeyCode::Down);
    assert_eq!(f.app.current(), Some(f.app.neighbours[1].index));
    assert!(screen(&f.app, 160, 48).contains("similar (Esc returns)"));
    key(&mut f.app, KeyCode::Esc);
    assert_eq!(f.app.focus, Focus::Images);
    assert_eq!(f.app.current(), Some(here));
    assert!(
        !screen(&f.app, 160, 48).contains("Esc returns"),
        "the hint goes too"
    );
}

#[test]
fn e_exports_the_cluster_to_the_folder_typed() {
    let mut f = fixture();
    key(&mut f.app, KeyCode::Char('e'));
    let Overlay::Export(default) = &f.app.overlay else {
        panic!("no export prompt");
    };
    assert!(default.starts_with("imgtui-export/01-"), "{default}");
    assert!(screen(&f.app, 160, 48).contains("export cluster to folder"));
    // Replace the suggestion with a folder of our own.
    for _ in 0..default.chars().count() {
        key(&mut f.app, KeyCode::Backspace);
    }
    let target = f.dir.parent().unwrap().join("picked");
    for ch in target.to_str().unwrap().chars() {
        key(&mut f.app, KeyCode::Char(ch));
    }
    let cmds = key(&mut f.app, KeyCode::Enter);
    assert_eq!(f.app.overlay, Overlay::None);
    let [Command::Export(files, to)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(to, &target);
    assert_eq!(files.len(), 5);
    let report = imgtui::export::export(files, to, Default::default(), false).unwrap();
    assert_eq!(report.written, 5);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 5);
    // Esc cancels without a command.
    key(&mut f.app, KeyCode::Char('e'));
    assert!(key(&mut f.app, KeyCode::Esc).is_empty());
    assert_eq!(f.app.overlay, Overlay::None);
}

#[test]
fn help_overlay_and_quit() {
    let mut f = fixture();
    key(&mut f.app, KeyCode::Char('?'));
    let s = screen(&f.app, 100, 30);
    assert!(
        s.contains("keys") && s.contains("export the current cluster"),
        "{s}"
    );
    key(&mut f.app, KeyCode::Esc);
    assert_eq!(f.app.overlay, Overlay::None);
    assert_eq!(key(&mut f.app, KeyCode::Char('q')), vec![Command::Quit]);
    let ctrl_c = f
        .app
        .key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(ctrl_c, vec![Command::Quit]);
}

#[test]
fn any_terminal_size_draws_without_panicking() {
    let mut f = fixture();
    for (w, h) in [(40, 12), (80, 24), (20, 5), (1, 1), (300, 100)] {
        let s = screen(&f.app, w, h);
        assert_eq!(s.lines().count(), h as usize);
    }
    // The smallest supported size still shows clusters and images.
    let s = screen(&f.app, 40, 12);
    assert!(s.contains("clusters") && s.contains("cluster 1"), "{s}");
    key(&mut f.app, KeyCode::Enter);
    assert_eq!(f.app.overlay, Overlay::Preview);
    screen(&f.app, 40, 12);
}

#[test]
fn loading_screen_shows_progress() {
    let mut app = App::new("/photos".into(), "efficientnet-lite0".into());
    app.loading = Loading::Embedding { done: 3, total: 12 };
    let s = screen(&app, 80, 20);
    assert!(s.contains("embedding 3 of 12 images"), "{s}");
    // Keys that need clusters do nothing yet; quitting works.
    assert!(key(&mut app, KeyCode::Down).is_empty());
    assert_eq!(key(&mut app, KeyCode::Char('q')), vec![Command::Quit]);
}

#[test]
fn a_saved_clustering_is_shown_before_the_vectors_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("images");
    crate::common::families(&dir);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let mut store = Store::open(&tmp.path().join("store.sqlite")).unwrap();
    let model = OnnxModel::builtin();
    let feature = crate::common::index_with(&dir, &mut store, &model, &Default::default()).feature;
    let c = store.collection(&dir, &feature).unwrap();
    let req = Request {
        k: KChoice::Fixed(3),
        ..Default::default()
    };
    let (fitted, _) = load_or_fit(
        &mut store,
        &dir,
        &feature,
        &c,
        &req,
        &Wanted::default(),
        None,
    )
    .unwrap();

    // What the explorer does on a warm start: paths and the saved clustering first.
    let saved: imgtui::analysis::saved::SavedClustering =
        store.load_clustering(&dir, &feature).unwrap().unwrap();
    let known = saved.known(&store.files(&dir).unwrap());
    assert_eq!(known.paths, c.paths);
    assert_eq!(known.dim(), 0, "no vector is read");
    let (early, new_images) = saved.apply(&known);
    assert_eq!(new_images, 0);
    assert_eq!(early.labels, fitted.labels);
    assert_eq!(early.map, fitted.map);
    assert_eq!(early.distances, fitted.distances);

    let mut app = App::new(dir.clone(), "efficientnet-lite0".into());
    app.loaded(known, early);
    app.refresh_neighbours();
    let s = screen(&app, 160, 48);
    assert!(s.contains("clusters: 3 by kmeans"), "{s}");
    assert!(s.contains("cluster 1 · 5 images"), "{s}");
    assert!(s.contains("reading the image vectors…"), "{s}");
    // What needs vectors says it is waiting, and nothing else is lost.
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.focus, Focus::Images);
    assert_eq!(app.message, "still reading the image vectors…");
    assert!(key(&mut app, KeyCode::Char('+')).is_empty());
    key(&mut app, KeyCode::Down);
    let here = app.current().unwrap();

    app.vectors_read(std::sync::Arc::new(c));
    app.refresh_neighbours();
    assert_eq!(app.current(), Some(here), "the cursor stays");
    assert_eq!(app.neighbours.len(), 12);
    assert!(!screen(&app, 160, 48).contains("reading the image vectors"));
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.focus, Focus::Similar);
}

#[test]
fn neighbours_wait_until_the_cursor_rests() {
    let mut f = fixture();
    let before = f.app.neighbours.clone();
    f.app.key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    f.app.key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    assert_eq!(
        f.app.neighbours, before,
        "not recomputed while keys come in"
    );
    assert!(f.app.refresh_neighbours());
    assert!(!f.app.refresh_neighbours(), "once per resting place");
    let here = f.app.current().unwrap();
    assert!(f.app.neighbours.iter().all(|n| n.index != here));
    assert_ne!(f.app.neighbours, before);
}

#[test]
fn slash_filters_images_by_file_name() {
    let mut f = fixture();
    key(&mut f.app, KeyCode::Char('/'));
    assert_eq!(f.app.overlay, Overlay::Filter);
    type_text(&mut f.app, "STRIPES-3");
    assert!(screen(&f.app, 160, 48).contains("filter by file name"));
    // Enter keeps the filter and lands on the cluster that has the match.
    key(&mut f.app, KeyCode::Enter);
    assert_eq!(f.app.overlay, Overlay::None);
    assert!(f.app.current_path().unwrap().ends_with("stripes-3.png"));
    let s = screen(&f.app, 160, 48);
    assert!(s.contains("1 of 5 match \"STRIPES-3\""), "{s}");
    assert!(s.contains("1/5"), "clusters show their matches: {s}");
    // Esc clears it.
    key(&mut f.app, KeyCode::Esc);
    assert!(f.app.filter.is_empty());
    assert!(f.app.shown.iter().all(|m| m.len() == 5));
    assert!(f.app.current_path().unwrap().ends_with("stripes-3.png"));
    // A filter nothing matches says so.
    key(&mut f.app, KeyCode::Char('/'));
    type_text(&mut f.app, "nothing-like-this");
    key(&mut f.app, KeyCode::Enter);
    assert!(screen(&f.app, 160, 48).contains("no file name here matches"));
}

#[test]
fn d_browses_near_duplicate_groups() {
    // A smaller copy of one disc: a near-duplicate the model must find.
    let mut f = fixture_with(|dir| {
        let img = image::open(dir.join("disc-2.png")).unwrap();
        img.resize(70, 70, image::imageops::FilterType::Triangle)
            .save(dir.join("disc-2-small.png"))
            .unwrap();
    });
    key(&mut f.app, KeyCode::Char('d'));
    assert!(f.app.message.contains("still looking"), "{}", f.app.message);
    let groups = duplicates::groups(&f.app.collection, DUPLICATE_THRESHOLD);
    let names: Vec<Vec<String>> = groups
        .iter()
        .map(|g| g.iter().map(|&i| f.app.name(i)).collect())
        .collect();
    assert!(
        names
            .iter()
            .any(|g| g.contains(&"disc-2.png".into()) && g.contains(&"disc-2-small.png".into())),
        "{names:?}"
    );
    f.app.duplicates_found(groups.clone());
    // The image list marks them.
    let s = screen(&f.app, 160, 48);
    assert!(s.contains("≈1"), "{s}");
    let cmds = key(&mut f.app, KeyCode::Char('d'));
    assert_eq!(f.app.overlay, Overlay::Duplicates);
    let first = &f.app.collection.paths[groups[0][0]];
    assert!(matches!(cmds.as_slice(), [Command::LoadPreview(p)] if p == first));
    let s = screen(&f.app, 160, 48);
    let heading = format!("group 1 · {} images", groups[0].len());
    assert!(
        s.contains("near-duplicates: ") && s.contains(&heading),
        "{s}"
    );
    key(&mut f.app, KeyCode::Down);
    assert_eq!(f.app.current(), Some(groups[0][1]));
    // Enter goes to that image in its cluster.
    key(&mut f.app, KeyCode::Enter);
    assert_eq!(f.app.overlay, Overlay::None);
    assert_eq!(f.app.current(), Some(groups[0][1]));
    assert_eq!(f.app.focus, Focus::Images);
}

#[test]
fn plus_and_minus_recluster_and_keep_the_cursor() {
    let mut f = fixture();
    key(&mut f.app, KeyCode::Down);
    let here = f.app.current_path().unwrap().clone();
    assert_eq!(
        key(&mut f.app, KeyCode::Char('+')),
        vec![Command::Recluster(4)]
    );
    assert!(screen(&f.app, 160, 48).contains("clustering into 4"));
    // What the event loop's worker does with that command:
    let req = Request {
        k: KChoice::Fixed(4),
        ..Default::default()
    };
    let four = cluster(&f.app.collection, &req, None).unwrap();
    f.app.reclustered(four);
    assert_eq!(f.app.current_path(), Some(&here));
    let s = screen(&f.app, 160, 48);
    assert!(
        s.contains("clusters: 4 by kmeans") && s.contains("kmeans k=4"),
        "{s}"
    );
    assert!(f.app.busy.is_none());
    assert_eq!(
        key(&mut f.app, KeyCode::Char('-')),
        vec![Command::Recluster(3)]
    );
    // A result fitted before new images arrived no longer fits: it is dropped, not drawn.
    let req = Request {
        k: KChoice::Fixed(3),
        ..Default::default()
    };
    let mut stale = cluster(&f.app.collection, &req, None).unwrap();
    stale.labels.pop();
    f.app.reclustered(stale);
    assert!(f.app.message.contains("changed"), "{}", f.app.message);
    assert!(screen(&f.app, 160, 48).contains("clusters: 4 by kmeans"));
}

#[test]
fn m_draws_a_montage_of_the_cluster_and_saves_it() {
    let mut f = fixture();
    let cmds = key(&mut f.app, KeyCode::Char('m'));
    let [Command::Montage(files, stem)] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    assert_eq!(files.len(), 5);
    assert!(stem.starts_with("01-"), "{stem}");
    // What the event loop's worker does with it: draw, then save without replacing.
    let sheet = montage(files, &MontageOptions::default());
    let folder = f.dir.parent().unwrap().join("imgtui-montage");
    let first = save_in_folder(&sheet, &folder, stem).unwrap();
    let second = save_in_folder(&sheet, &folder, stem).unwrap();
    assert_eq!(
        first.file_name().unwrap().to_str().unwrap(),
        format!("{stem}.png")
    );
    assert_eq!(
        second.file_name().unwrap().to_str().unwrap(),
        format!("{stem} (2).png")
    );
    assert_eq!(image::open(&first).unwrap().width(), sheet.width());
    f.app.montage_saved(first.clone());
    assert_eq!(f.app.overlay, Overlay::Montage(first));
    assert!(screen(&f.app, 160, 48).contains("imgtui-montage"));
    key(&mut f.app, KeyCode::Esc);
    assert_eq!(f.app.overlay, Overlay::None);
}
