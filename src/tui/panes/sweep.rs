//! The choice of k: the inertia (elbow) and silhouette curves of the sweep, as sparklines.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar, Wrap};

use crate::session::Method;
use crate::tui::app::App;
use crate::tui::widgets::pane;

pub(crate) fn draw_sweep(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane(app.look.theme, " choosing k ", false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(sweep) = app.clustering.as_ref().and_then(|c| c.sweep.as_ref()) else {
        // Why there is none: k given, too few images, DBSCAN, one picture copied.
        let why = match &app.clustering {
            Some(c) if c.request.method == Method::Dbscan => "DBSCAN finds its own k".to_owned(),
            Some(c) => c.reason.clone(),
            None => String::new(),
        };
        frame.render_widget(
            Paragraph::new(format!("no sweep: {why}"))
                .wrap(Wrap { trim: true })
                .style(app.look.theme.dim()),
            inner,
        );
        return;
    };
    // The bar of the fitted k (edits change only the clusters shown).
    let k = app
        .clustering
        .as_ref()
        .map_or(0, |c| if c.fitted_k > 0 { c.fitted_k } else { c.k });
    let [l1, s1, l2, s2, why] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(inner);
    let first_k = sweep.rows.first().map_or(2, |r| r.k);
    // Bars scaled to 1..=100; the bar of the k in use stands out.
    let bars = |v: Vec<f64>| -> Vec<SparklineBar> {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        v.iter()
            .zip(&sweep.rows)
            .map(|(&x, row)| {
                let bar = SparklineBar::from(1 + ((x - lo) / (hi - lo).max(1e-12) * 99.0) as u64);
                if row.k == k {
                    bar.style(app.look.theme.accent())
                } else {
                    bar
                }
            })
            .collect()
    };
    let inertia = bars(sweep.rows.iter().map(|r| r.inertia).collect());
    let silhouette = bars(sweep.rows.iter().map(|r| r.silhouette as f64).collect());
    frame.render_widget(
        Paragraph::new(format!("inertia (elbow k={})", sweep.elbow)),
        l1,
    );
    frame.render_widget(
        Sparkline::default()
            .data(inertia)
            .style(app.look.theme.notice()),
        s1,
    );
    frame.render_widget(
        Paragraph::new(format!("silhouette (peak k={})", sweep.silhouette_peak)),
        l2,
    );
    frame.render_widget(
        Sparkline::default()
            .data(silhouette)
            .style(app.look.theme.accent()),
        s2,
    );
    frame.render_widget(
        Paragraph::new(format!(
            "k = {k} (the bright bar); bars from k = {first_k}, +/- to change"
        ))
        .style(app.look.theme.dim())
        .wrap(Wrap { trim: true }),
        why,
    );
}
