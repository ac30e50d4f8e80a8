//! Times the clustering steps on a stored collection:
//! `cargo run --release --example cluster_speed -- STORE DIR [COPIES] [SAMPLE] [LABELS.csv]`.
//!
//! COPIES > 1 adds jittered copies of every vector (noise of 0.02 per component, renormalised)
//! to reach a larger n from a real collection. SAMPLE sets the size above which k is chosen on
//! a sample (default 20,000; give n or more to fit on everything). LABELS.csv receives each
//! image's cluster, to compare two runs.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use imgtui::analysis::clustering::{Naming, Request, cluster};
use imgtui::index::feature_id;
use imgtui::{OnnxModel, Store};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: cluster_speed STORE DIR [COPIES]");
    let store = Store::open(args[1].as_ref())?;
    let root = std::fs::canonicalize(&args[2])?;
    let copies: usize = args.get(3).map_or(Ok(1), |a| a.parse())?;
    let request = Request {
        sample: args
            .get(4)
            .map_or(Ok(Request::default().sample), |a| a.parse())?,
        ..Request::default()
    };
    let model = OnnxModel::builtin();
    let feature = feature_id(&model, &Default::default());
    let mut c = store.collection(&root, &feature)?;
    anyhow::ensure!(!c.is_empty(), "nothing indexed under {}", root.display());
    common::grow(&mut c, copies);
    println!("{} images × {} dims", c.len(), c.dim());
    let start = Instant::now();
    let naming = Naming {
        model: Some(&model),
        pictures: Some(&store),
    };
    let result = cluster(&c, &request, &naming)?;
    let sweep = result.sweep.as_ref().expect("auto k sweeps");
    println!(
        "kmeans, k auto (sweep 2..={}), PCA to {} dims, names: {:.2} s",
        sweep.rows.last().map_or(0, |r| r.k),
        Request::default().dims,
        start.elapsed().as_secs_f64()
    );
    println!("{}", result.reason);
    // For unit vectors and unit centroids, the squared distance is twice the cosine distance.
    let inertia: f64 = result.distances.iter().map(|&d| 2.0 * d as f64).sum();
    println!(
        "k = {}, squared distances to the unit centroids: {inertia:.1}",
        result.k
    );
    if let Some(out) = args.get(5) {
        let rows: Vec<String> = result.labels.iter().map(|l| l.to_string()).collect();
        std::fs::write(out, rows.join("\n") + "\n")?;
    }
    Ok(())
}
