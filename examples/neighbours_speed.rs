//! Query speed of exact neighbour search over a stored collection.
//!
//!     cargo run --release --example neighbours_speed -- STORE.sqlite DIR [QUERIES]
//!
//! DIR must have been indexed into STORE with the built-in model. Also times the kNN graph.

use std::time::Instant;

use imgtui::analysis::neighbours::{Select, knn_graph, query};
use imgtui::index::feature_id;
use imgtui::{OnnxModel, Store};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        args.len() >= 2,
        "usage: neighbours_speed STORE DIR [QUERIES]"
    );
    let store = Store::open(args[0].as_ref())?;
    let root = std::fs::canonicalize(&args[1])?;
    let queries: usize = args.get(2).map_or(Ok(200), |a| a.parse())?;
    let feature = feature_id(&OnnxModel::builtin(), &Default::default());

    let start = Instant::now();
    let c = store.collection(&root, &feature)?;
    println!(
        "loaded {} vectors of {} in {:.3} s",
        c.len(),
        c.dim(),
        start.elapsed().as_secs_f64()
    );
    anyhow::ensure!(!c.is_empty(), "nothing indexed under {}", root.display());

    let start = Instant::now();
    for q in 0..queries {
        let i = q * 7919 % c.len();
        std::hint::black_box(query(&c, c.row(i), Select::Nearest(10), Some(i)));
    }
    let per = start.elapsed().as_secs_f64() * 1000.0 / queries as f64;
    println!("{queries} queries, 10 nearest: {per:.2} ms per query");

    let start = Instant::now();
    let graph = knn_graph(&c, 5);
    println!(
        "kNN graph, 5 per image, {} rows: {:.2} s",
        graph.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
