//! Times the clustering steps on a stored collection:
//! `cargo run --release --example cluster_speed -- STORE DIR [COPIES]`.
//!
//! COPIES > 1 adds jittered copies of every vector (noise of 0.02 per component, renormalised)
//! to reach a larger n from a real collection.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use imgtui::analysis::clustering::{Request, cluster};
use imgtui::index::feature_id;
use imgtui::{OnnxModel, Store};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() >= 3, "usage: cluster_speed STORE DIR [COPIES]");
    let store = Store::open(args[1].as_ref())?;
    let root = std::fs::canonicalize(&args[2])?;
    let copies: usize = args.get(3).map_or(Ok(1), |a| a.parse())?;
    let model = OnnxModel::builtin();
    let feature = feature_id(&model, &Default::default());
    let mut c = store.collection(&root, &feature)?;
    anyhow::ensure!(!c.is_empty(), "nothing indexed under {}", root.display());
    common::grow(&mut c, copies);
    println!("{} images × {} dims", c.len(), c.dim());
    let start = Instant::now();
    let result = cluster(&c, &Request::default(), Some(&model))?;
    let sweep = result.sweep.as_ref().expect("auto k sweeps");
    println!(
        "kmeans, k auto (sweep 2..={}), PCA to {} dims, names: {:.2} s",
        sweep.rows.last().map_or(0, |r| r.k),
        Request::default().dims,
        start.elapsed().as_secs_f64()
    );
    println!("{}", result.reason);
    Ok(())
}
