//! The help (`?`): every key, and how the terminal draws images.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::tui::theme::Theme;
use crate::tui::view::{centred, pane};

/// The keys, and below them how images are drawn (`graphics`, empty: not said).
/// The keys, over the panes.
pub(crate) fn draw_help(frame: &mut Frame, theme: Theme, area: Rect, graphics: &str) {
    let keys = [
        (
            "↑ ↓ / j k",
            "images (or clusters, similar: by focus); a grid row",
        ),
        (
            "← → / h l",
            "previous / next cluster (in the grid: along; [ ] there)",
        ),
        ("g", "grid of thumbnails / list of names"),
        ("Tab", "cycle focus: clusters, images, similar, map"),
        ("map", "arrows walk, + / - zoom, p picture of thumbnails"),
        ("mouse", "click selects, the wheel scrolls (zooms the map)"),
        ("Enter", "full-screen preview"),
        ("s", "similar images to the current one; Esc returns"),
        (
            "e",
            "export the marked images, or the cluster; Esc stops it",
        ),
        (
            "Space / c",
            "mark / unmark, then the next image (across clusters); c: all",
        ),
        ("r", "rename the cluster"),
        ("M / S", "merge the cluster into another / split it"),
        ("v", "move the marked images (or this one) to a cluster"),
        ("u / U", "undo / redo an edit (kept in the store)"),
        ("y", "copy the marked paths (or this one) to the clipboard"),
        (
            "+ / -",
            "one cluster more / fewer (reclusters in the background)",
        ),
        ("m", "montage of the cluster, saved to imgtui-montage/"),
        ("d", "near-duplicate groups; Enter goes to the image"),
        ("o", "the odd ones out (least like any other)"),
        ("/", "filter by file name; Esc clears"),
        ("Home End", "first / last"),
        ("PgUp PgDn", "ten at a time"),
        ("? / q", "this help / quit (also Ctrl-C)"),
    ];
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), Style::new().bold()),
                Span::raw(*v),
            ])
        })
        .collect();
    if !graphics.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>12}  ", "images"), Style::new().bold()),
            Span::raw(graphics.to_owned()),
        ]));
    }
    // The images line may wrap once (after the 14 columns of the key, 62 are left).
    let wrapped = u16::from(graphics.chars().count() > 62);
    let rect = centred(area, 78, lines.len() as u16 + 2 + wrapped);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(theme, " keys ", true)),
        rect,
    );
}
