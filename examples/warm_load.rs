//! Times each step the explorer takes before a warm folder's clusters are on screen:
//! `cargo run --release --example warm_load -- STORE DIR`.
//!
//! The folder must be indexed and clustered already (`imgtui cluster DIR` once).

use std::time::Instant;

use imgtui::analysis::neighbours::{APPROXIMATE_FROM, Quantized};
use imgtui::analysis::saved::{Wanted, load_or_fit};
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
    let mut store = Store::open(args[1].as_ref())?;
    lap("open the store");
    anyhow::ensure!(
        store.has_clustering(&root, &feature)?,
        "no saved clustering: run `imgtui cluster DIR` first"
    );
    let c = store.collection(&root, &feature)?;
    lap(&format!("read {} vectors", c.len()));
    let (clustering, origin) = load_or_fit(
        &mut store,
        &root,
        &feature,
        &c,
        &Default::default(),
        &Wanted::default(),
        Some(&model),
    )?;
    lap(&format!("read and apply the saved clustering ({origin:?})"));
    if c.len() >= APPROXIMATE_FROM {
        c.quantized.get_or_init(|| Quantized::new(&c));
        lap("8-bit copy for neighbours");
    }
    println!(
        "{:<28} {:7.1} ms ({} clusters)",
        "total",
        start.elapsed().as_secs_f64() * 1e3,
        clustering.clusters.len()
    );
    Ok(())
}
