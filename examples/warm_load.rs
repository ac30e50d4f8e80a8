//! Times each step the explorer takes before a warm folder's clusters are on screen:
//! `cargo run --release --example warm_load -- STORE DIR`.
//!
//! The folder must be indexed and clustered already (`imgtui cluster DIR` once).

use std::time::Instant;

use imgtui::index::feature_id;
use imgtui::{OnnxModel, Store};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() == 3, "usage: warm_load STORE DIR");
    let root = std::fs::canonicalize(&args[2])?;
    let model = OnnxModel::builtin();
    let feature = feature_id(&model, &Default::default());
    let start = Instant::now();
    let mut lap = {
        let mut last = Instant::now();
        move |what: &str| {
            println!("{what:<28} {:7.1} ms", last.elapsed().as_secs_f64() * 1e3);
            last = Instant::now();
        }
    };
    let store = Store::open(args[1].as_ref())?;
    lap("open the store");
    let saved: Option<imgtui::analysis::saved::SavedClustering> =
        store.load_clustering(&root, &feature)?;
    lap("read the saved clustering");
    let saved = saved
        .ok_or_else(|| anyhow::anyhow!("no saved clustering: run `imgtui cluster DIR` first"))?;
    let files = store.files(&root)?;
    lap(&format!("read {} paths", files.len()));
    let known = saved.known(&files);
    let (clustering, _) = saved.apply(&known);
    lap(&format!("apply it to {} known images", known.len()));
    println!(
        "{:<28} {:7.1} ms (the explorer draws the clusters here)",
        "clusters ready",
        start.elapsed().as_secs_f64() * 1e3
    );
    let c = store.with_vectors(files, &feature)?;
    lap(&format!("read {} vectors", c.len()));
    if let Some((index, unseen)) = store.load_ivf(&root, &feature, &c)? {
        lap(&format!(
            "saved neighbour index ({} cells, {unseen} images new to it)",
            index.cells()
        ));
    }
    println!(
        "{:<28} {:7.1} ms ({} clusters)",
        "total",
        start.elapsed().as_secs_f64() * 1e3,
        clustering.clusters.len()
    );
    Ok(())
}
