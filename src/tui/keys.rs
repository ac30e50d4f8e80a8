//! The explorer's keys: one table of (where, keys, action, help). [`App`](super::app::App)
//! dispatches every key through [`action`], the `?` help lists [`KEYS`], and a test keeps the
//! README's key tables equal to it. A new key is one pair in a row (a new action, one arm
//! where its pane acts on it).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed: each mode has its own rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Anywhere (before the others are looked at).
    Anywhere,
    /// The panes: clusters, images, similar images.
    Panes,
    /// The map, once it has the focus (keys it has no row for go to the panes).
    Map,
    /// The overview, every cluster on one screen (keys it has no row for go to the panes).
    Overview,
    /// The lattice, the whole collection as one grid (keys it has no row for go to the
    /// panes).
    Lattice,
    /// The near-duplicate groups (`d`).
    Duplicates,
    /// The confirmation before near-duplicates go (`x` in the groups).
    Resolve,
    /// The odd ones out (`o`).
    Outliers,
    /// Two to four images side by side (`C`).
    Compare,
    /// A one-line prompt: the export folder, a cluster edit, the filter (other keys type).
    Prompt,
    /// A full-screen layer: the help, the preview, the montage.
    Viewer,
}

impl Mode {
    /// The heading of this mode's keys in the help and the README.
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Mode::Anywhere | Mode::Panes => "",
            Mode::Map => "on the map",
            Mode::Overview => "overview",
            Mode::Lattice => "lattice",
            Mode::Duplicates => "near-duplicates",
            Mode::Resolve => "resolving them",
            Mode::Outliers => "odd ones out",
            Mode::Compare => "compare",
            Mode::Prompt => "in a prompt",
            Mode::Viewer => "help, preview",
        }
    }
}

/// What a key does; the pane of the mode acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Quit,
    Help,
    /// Close the layer on top.
    Close,
    /// Esc: leave what is on (the similar images, the filter, the map), or stop an export.
    Back,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    First,
    Last,
    PreviousCluster,
    NextCluster,
    CycleFocus,
    Preview,
    ToggleView,
    /// The overview on or off.
    Overview,
    /// The lattice on or off.
    Lattice,
    /// Enter in the overview: the cluster in the grid.
    OpenCluster,
    Similar,
    Export,
    Mark,
    UnmarkAll,
    CopyPaths,
    Rename,
    Merge,
    Split,
    MoveTo,
    Undo,
    Redo,
    MoreClusters,
    FewerClusters,
    /// The next facet: what images are compared by (content, colour, texture, a blend).
    Facet,
    Montage,
    Duplicates,
    Outliers,
    /// Two to four images side by side: the marked ones, or a near-duplicate group.
    Compare,
    /// In the compare view: the first and the chosen image in turn at one place, or side by
    /// side again.
    Flicker,
    /// In the compare view: the other of the two, now, by hand.
    Flip,
    Filter,
    /// Search by words (a CLIP-type model).
    Search,
    ZoomIn,
    ZoomOut,
    MapPicture,
    /// Enter in a list over the panes: go to the image in its cluster.
    GoTo,
    Keep,
    Spare,
    /// In the near-duplicates: the image under the cursor is not a duplicate of the rest of
    /// its group (remembered in the store).
    NotDuplicates,
    LowerThreshold,
    RaiseThreshold,
    Resolve,
    Trash,
    MoveAside,
    Confirm,
    DeleteChar,
    ClearText,
    DeleteWord,
}

/// A key: its code, with Ctrl or without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    code: KeyCode,
    ctrl: bool,
}

const fn plain(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

const fn char(c: char) -> Key {
    plain(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

const UP: Key = plain(KeyCode::Up);
const DOWN: Key = plain(KeyCode::Down);
const LEFT: Key = plain(KeyCode::Left);
const RIGHT: Key = plain(KeyCode::Right);
const PAGE_UP: Key = plain(KeyCode::PageUp);
const PAGE_DOWN: Key = plain(KeyCode::PageDown);
const HOME: Key = plain(KeyCode::Home);
const END: Key = plain(KeyCode::End);
const ENTER: Key = plain(KeyCode::Enter);
const ESC: Key = plain(KeyCode::Esc);
const TAB: Key = plain(KeyCode::Tab);
const BACKSPACE: Key = plain(KeyCode::Backspace);
const SPACE: Key = char(' ');

/// One line of the help: in `mode`, these keys do these actions.
pub(crate) struct Row {
    /// Where the keys work.
    pub(crate) mode: Mode,
    /// Each key and what it does.
    pub(crate) keys: &'static [(Key, Action)],
    /// What the line says.
    pub(crate) help: &'static str,
}

const fn row(mode: Mode, keys: &'static [(Key, Action)], help: &'static str) -> Row {
    Row { mode, keys, help }
}

use Action::*;
use Mode::{Anywhere, Duplicates as Dups, Map as OnMap, Outliers as Odd, Panes, Prompt, Viewer};

/// The list moves shared by the lists over the panes (and their grid).
const LIST_MOVES: &[(Key, Action)] = &[
    (UP, Up),
    (DOWN, Down),
    (char('k'), Up),
    (char('j'), Down),
    (LEFT, Left),
    (RIGHT, Right),
    (char('h'), Left),
    (char('l'), Right),
    (PAGE_UP, PageUp),
    (PAGE_DOWN, PageDown),
    (HOME, First),
    (END, Last),
];

/// Every key of the explorer, in the order the help lists them.
pub(crate) const KEYS: &[Row] = &[
    row(Anywhere, &[(ctrl('c'), Quit)], "quit, from anywhere"),
    row(
        Panes,
        &[(UP, Up), (DOWN, Down), (char('k'), Up), (char('j'), Down)],
        "images (or clusters, similar: by focus); in the grid, a row",
    ),
    row(
        Panes,
        &[
            (LEFT, Left),
            (RIGHT, Right),
            (char('h'), Left),
            (char('l'), Right),
        ],
        "previous / next cluster; in the grid, the previous / next image",
    ),
    row(
        Panes,
        &[(char('['), PreviousCluster), (char(']'), NextCluster)],
        "previous / next cluster (in the list and the grid)",
    ),
    row(
        Panes,
        &[(PAGE_UP, PageUp), (PAGE_DOWN, PageDown)],
        "ten at a time; in the grid, a page",
    ),
    row(Panes, &[(HOME, First), (END, Last)], "first / last"),
    row(
        Panes,
        &[(TAB, CycleFocus)],
        "cycle focus: clusters, images, similar, map",
    ),
    row(Panes, &[(ENTER, Preview)], "full-screen preview"),
    row(
        Panes,
        &[(char('g'), ToggleView)],
        "grid of thumbnails / list of names",
    ),
    row(
        Panes,
        &[(char('w'), Overview)],
        "every cluster on one screen (the overview)",
    ),
    row(
        Panes,
        &[(char('L'), Lattice)],
        "the whole collection as one grid, alike images together (the lattice)",
    ),
    row(
        Panes,
        &[(char('s'), Similar)],
        "the images most similar to the current one",
    ),
    row(
        Panes,
        &[(ESC, Back)],
        "leave the similar images; clear the filter; stop an export",
    ),
    row(
        Panes,
        &[(char('e'), Export)],
        "export the marked images, or the cluster",
    ),
    row(
        Panes,
        &[(SPACE, Mark), (char('c'), UnmarkAll)],
        "mark / unmark, then the next image; unmark all",
    ),
    row(
        Panes,
        &[(char('C'), Compare)],
        "compare the marked images (2 to 4) side by side",
    ),
    row(
        Panes,
        &[(char('y'), CopyPaths)],
        "copy the marked paths (or this one) to the clipboard",
    ),
    row(Panes, &[(char('r'), Rename)], "rename the cluster"),
    row(
        Panes,
        &[(char('M'), Merge), (char('S'), Split)],
        "merge the cluster into another / split it",
    ),
    row(
        Panes,
        &[(char('v'), MoveTo)],
        "move the marked images (or this one) to a cluster",
    ),
    row(
        Panes,
        &[(char('u'), Undo), (char('U'), Redo)],
        "undo / redo an edit (kept in the store)",
    ),
    row(
        Panes,
        &[
            (char('+'), MoreClusters),
            (char('='), MoreClusters),
            (char('-'), FewerClusters),
        ],
        "one cluster more / fewer (refitted in the background)",
    ),
    row(
        Panes,
        &[(char('f'), Facet)],
        "similar by content / colour / texture / the blend setting",
    ),
    row(
        Panes,
        &[(char('m'), Montage)],
        "montage of the cluster, saved to imgtui-montage/",
    ),
    row(Panes, &[(char('d'), Duplicates)], "near-duplicate groups"),
    row(
        Panes,
        &[(char('o'), Outliers)],
        "the odd ones out (least like any other)",
    ),
    row(Panes, &[(char('/'), Filter)], "filter by file name"),
    row(
        Panes,
        &[(char('t'), Search)],
        "search by words (a model with a text encoder, --model)",
    ),
    row(
        Panes,
        &[(char('?'), Help), (char('q'), Quit)],
        "this help / quit",
    ),
    row(
        OnMap,
        &[
            (LEFT, Left),
            (RIGHT, Right),
            (UP, Up),
            (DOWN, Down),
            (char('h'), Left),
            (char('l'), Right),
            (char('k'), Up),
            (char('j'), Down),
        ],
        "walk the crosshair: the nearest image becomes current",
    ),
    row(
        OnMap,
        &[
            (char('+'), ZoomIn),
            (char('='), ZoomIn),
            (char('-'), ZoomOut),
        ],
        "zoom in / out around the crosshair",
    ),
    row(
        OnMap,
        &[(char('p'), MapPicture)],
        "the map as a picture of thumbnails / as points",
    ),
    row(OnMap, &[(ESC, Back)], "leave the map"),
    row(
        Mode::Overview,
        LIST_MOVES,
        "along the row (the cluster's images) / to the next cluster / a page",
    ),
    row(
        Mode::Overview,
        &[(ENTER, OpenCluster)],
        "open the cluster in the grid",
    ),
    row(
        Mode::Overview,
        &[(ESC, Close), (char('w'), Close)],
        "back to the panes (other keys work as there)",
    ),
    row(Mode::Lattice, LIST_MOVES, "move to the next cell / a page"),
    row(
        Mode::Lattice,
        &[
            (char('+'), ZoomIn),
            (char('='), ZoomIn),
            (char('-'), ZoomOut),
        ],
        "larger / smaller tiles (down to a colour per image)",
    ),
    row(
        Mode::Lattice,
        &[(ENTER, OpenCluster)],
        "open the image's cluster in the grid",
    ),
    row(
        Mode::Lattice,
        &[(ESC, Close), (char('L'), Close)],
        "back to the panes (other keys work as there)",
    ),
    row(Dups, LIST_MOVES, "move (in the grid: along, a row, a page)"),
    row(Dups, &[(ENTER, GoTo)], "go to the image in its cluster"),
    row(
        Dups,
        &[(char('K'), Keep), (SPACE, Spare)],
        "keep this one instead / spare this copy",
    ),
    row(
        Dups,
        &[(char('n'), NotDuplicates), (char('u'), Undo)],
        "not duplicates: part this image from its group, remembered / undo that",
    ),
    row(
        Dups,
        &[(char('<'), LowerThreshold), (char('>'), RaiseThreshold)],
        "lower / raise the similarity threshold by 0.01",
    ),
    row(
        Dups,
        &[(char('x'), Resolve)],
        "resolve: the copies that go, counted, then t or m",
    ),
    row(
        Dups,
        &[(char('C'), Compare)],
        "compare the group side by side, its keeper first (at most 4)",
    ),
    row(
        Dups,
        &[(ESC, Close), (char('q'), Close), (char('d'), Close)],
        "back to the panes",
    ),
    row(
        Mode::Resolve,
        &[(char('t'), Trash), (char('m'), MoveAside)],
        "the copies to the trash / to imgtui-duplicates/",
    ),
    row(
        Mode::Resolve,
        &[(ESC, Back), (char('n'), Back), (char('q'), Back)],
        "back to the groups",
    ),
    row(Odd, LIST_MOVES, "move (in the grid: along, a row, a page)"),
    row(Odd, &[(ENTER, GoTo)], "go to the image in its cluster"),
    row(Odd, &[(SPACE, Mark)], "mark / unmark, then the next one"),
    row(
        Odd,
        &[(ESC, Close), (char('q'), Close), (char('o'), Close)],
        "back to the panes",
    ),
    row(
        Mode::Compare,
        &[
            (LEFT, Left),
            (RIGHT, Right),
            (char('h'), Left),
            (char('l'), Right),
        ],
        "choose the image compared with the first (thick frame)",
    ),
    row(
        Mode::Compare,
        &[(char('f'), Flicker)],
        "flicker: the first and the chosen image in turn at one place / side by side",
    ),
    row(
        Mode::Compare,
        &[(SPACE, Flip)],
        "flip between the two by hand (the flicker holds)",
    ),
    row(
        Mode::Compare,
        &[(ESC, Close), (char('q'), Close), (char('C'), Close)],
        "back to where it was opened",
    ),
    row(
        Prompt,
        &[(ENTER, Confirm), (ESC, Close)],
        "done / cancel (Esc also clears the filter)",
    ),
    row(
        Prompt,
        &[
            (BACKSPACE, DeleteChar),
            (ctrl('u'), ClearText),
            (ctrl('w'), DeleteWord),
        ],
        "delete a character / all / a word",
    ),
    row(
        Viewer,
        &[
            (ESC, Close),
            (ENTER, Close),
            (char('q'), Close),
            (char('?'), Close),
        ],
        "close",
    ),
    row(
        Viewer,
        &[
            (UP, Up),
            (DOWN, Down),
            (char('k'), Up),
            (char('j'), Down),
            (PAGE_UP, PageUp),
            (PAGE_DOWN, PageDown),
        ],
        "scroll the help",
    ),
];

/// What `key` does in `mode`, if anything: [`Mode::Anywhere`]'s rows first. Shift is
/// ignored (`M` is `M` whether the terminal reports Shift or not); Ctrl must match.
pub(crate) fn action(mode: Mode, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    KEYS.iter()
        .filter(|r| r.mode == Mode::Anywhere || r.mode == mode)
        .flat_map(|r| r.keys.iter())
        .find(|(k, _)| k.code == key.code && k.ctrl == ctrl)
        .map(|&(_, a)| a)
}

/// A key's name as the help shows it: `←`, `j`, `PgUp`, `Ctrl-C`.
fn name(key: Key) -> String {
    let base = match key.code {
        KeyCode::Up => "↑".to_owned(),
        KeyCode::Down => "↓".to_owned(),
        KeyCode::Left => "←".to_owned(),
        KeyCode::Right => "→".to_owned(),
        KeyCode::PageUp => "PgUp".to_owned(),
        KeyCode::PageDown => "PgDn".to_owned(),
        KeyCode::Home => "Home".to_owned(),
        KeyCode::End => "End".to_owned(),
        KeyCode::Enter => "Enter".to_owned(),
        KeyCode::Esc => "Esc".to_owned(),
        KeyCode::Tab => "Tab".to_owned(),
        KeyCode::Backspace => "Backspace".to_owned(),
        KeyCode::Char(' ') => "Space".to_owned(),
        KeyCode::Char(c) if key.ctrl => c.to_ascii_uppercase().to_string(),
        KeyCode::Char(c) => c.to_string(),
        other => format!("{other:?}"),
    };
    if key.ctrl {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// The keys of a row, as the help shows them: "↑ ↓ k j".
pub(crate) fn label(row: &Row) -> String {
    let names: Vec<String> = row.keys.iter().map(|&(k, _)| name(k)).collect();
    names.join(" ")
}

/// A row's keys as Markdown: single characters as code (`` `j` ``), names as they are.
#[cfg(test)]
fn markdown_keys(row: &Row) -> String {
    let names: Vec<String> = row
        .keys
        .iter()
        .map(|&(k, _)| match name(k) {
            n if n.chars().count() == 1 && !"↑↓←→".contains(&n) => format!("`{n}`"),
            n => n,
        })
        .collect();
    names.join(" ")
}

/// The panes' keys as a Markdown table: README.md must hold it (a test checks).
#[cfg(test)]
pub(crate) fn markdown_panes() -> String {
    let mut out = String::from("| key | what it does |\n|---|---|\n");
    for row in KEYS
        .iter()
        .filter(|r| matches!(r.mode, Mode::Panes | Mode::Anywhere))
    {
        out += &format!("| {} | {} |\n", markdown_keys(row), row.help);
    }
    out
}

/// The other modes' keys as a Markdown table: the explorer guide must hold it.
#[cfg(test)]
pub(crate) fn markdown_modes() -> String {
    let mut out = String::from("| where | key | what it does |\n|---|---|---|\n");
    for row in KEYS
        .iter()
        .filter(|r| !matches!(r.mode, Mode::Panes | Mode::Anywhere))
    {
        out += &format!(
            "| {} | {} | {} |\n",
            row.mode.heading(),
            markdown_keys(row),
            row.help
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_and_the_guide_list_every_key_of_the_table() {
        for (file, text, expected) in [
            (
                "README.md",
                include_str!("../../README.md"),
                markdown_panes(),
            ),
            (
                "docs/guide/explorer.md",
                include_str!("../../docs/guide/explorer.md"),
                markdown_modes(),
            ),
        ] {
            assert!(
                text.contains(&expected),
                "{file}'s key table differs from src/tui/keys.rs; it should read:\n\n{expected}"
            );
        }
    }

    #[test]
    fn no_key_does_two_things_in_one_mode() {
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i..] {
                let shared =
                    a.mode == b.mode || a.mode == Mode::Anywhere || b.mode == Mode::Anywhere;
                for (k, x) in a.keys {
                    for (l, y) in b.keys {
                        assert!(
                            !(shared && k == l && x != y),
                            "{} in {:?}: {x:?} and {y:?}",
                            name(*k),
                            a.mode
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn shift_is_ignored_and_ctrl_is_not() {
        let press = |c, m| KeyEvent::new(KeyCode::Char(c), m);
        assert_eq!(
            action(Mode::Panes, press('M', KeyModifiers::SHIFT)),
            Some(Action::Merge)
        );
        assert_eq!(
            action(Mode::Panes, press('M', KeyModifiers::NONE)),
            Some(Action::Merge)
        );
        assert_eq!(
            action(Mode::Panes, press('c', KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            action(Mode::Prompt, press('c', KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            action(Mode::Prompt, press('q', KeyModifiers::NONE)),
            None,
            "typed"
        );
        assert_eq!(label(&KEYS[0]), "Ctrl-C");
    }
}
