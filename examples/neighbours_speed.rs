//! Query speed of exact neighbour search over a stored collection.
//!
//!     cargo run --release --example neighbours_speed -- STORE.sqlite DIR [QUERIES] [COPIES]
//!
//! DIR must have been indexed into STORE with the built-in model. COPIES > 1 grows the
//! collection with jittered copies. Also times the kNN graph (up to 20,000 images).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use imgtui::analysis::neighbours::{Select, exact_query, knn_graph, query};
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
    let copies: usize = args.get(3).map_or(Ok(1), |a| a.parse())?;
    let feature = feature_id(&OnnxModel::builtin(), &Default::default());

    let start = Instant::now();
    let mut c = store.collection(&root, &feature)?;
    println!(
        "loaded {} vectors of {} in {:.3} s",
        c.len(),
        c.dim(),
        start.elapsed().as_secs_f64()
    );
    anyhow::ensure!(!c.is_empty(), "nothing indexed under {}", root.display());
    common::grow(&mut c, copies);
    println!("{} images × {} dims", c.len(), c.dim());

    let rows: Vec<usize> = (0..queries).map(|q| q * 7919 % c.len()).collect();
    let time = |f: &dyn Fn(usize) -> Vec<imgtui::analysis::neighbours::Neighbour>| {
        let start = Instant::now();
        let answers: Vec<_> = rows.iter().map(|&i| f(i)).collect();
        (
            start.elapsed().as_secs_f64() * 1000.0 / queries as f64,
            answers,
        )
    };
    // The first query builds the 8-bit copy (for large collections): time it apart.
    let start = Instant::now();
    query(&c, c.row(0), Select::Nearest(10), Some(0));
    println!(
        "first query (builds the 8-bit copy if used): {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    let (fast, answers) = time(&|i| query(&c, c.row(i), Select::Nearest(10), Some(i)));
    let (slow, truth) = time(&|i| exact_query(&c, c.row(i), Select::Nearest(10), Some(i)));
    let found: usize = answers
        .iter()
        .zip(&truth)
        .map(|(a, t)| {
            a.iter()
                .filter(|x| t.iter().any(|y| y.index == x.index))
                .count()
        })
        .sum();
    println!(
        "{queries} queries, 10 nearest: {fast:.2} ms per query (exact search: {slow:.2} ms); recall@10 {:.4}",
        found as f64 / (10 * queries) as f64
    );

    if c.len() > 20_000 {
        return Ok(());
    }
    let start = Instant::now();
    let graph = knn_graph(&c, 5);
    println!(
        "kNN graph, 5 per image, {} rows: {:.2} s",
        graph.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
