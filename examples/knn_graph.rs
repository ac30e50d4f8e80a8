//! How long the kNN graph that UMAP, the lattice and `dups` use takes, and how much of the
//! true graph it finds:
//!
//!     cargo run --release --example knn_graph -- STORE DIR [COPIES] [--exact]
//!
//! DIR must have been indexed into STORE with the built-in model; COPIES > 1 grows the
//! collection with jittered copies, and the variable `LIMIT=N` keeps only its first N images. Prints the time of the PCA projection (32 dimensions, as
//! the clustering makes it) and of the 14-nearest graph from NN-descent candidates, and its
//! recall@14 against the true cosine kNN of 300 rows found by brute force. With `--exact`, the
//! same for the exact candidates (every pair in the PCA space: n², hours at a million).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use imgtui::analysis::neighbours::{Neighbour, Select, exact_query};
use imgtui::analysis::pca::Pca;
use imgtui::analysis::umap::{self, Candidates};
use imgtui::index::feature_id;
use imgtui::{OnnxModel, Store};

const SAMPLED: usize = 300;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--exact").collect();
    anyhow::ensure!(
        args.len() >= 2,
        "usage: knn_graph STORE DIR [COPIES] [--exact]"
    );
    let store = Store::open(args[0].as_ref())?;
    let root = std::fs::canonicalize(args[1])?;
    let copies: usize = args.get(2).map_or(Ok(1), |a| a.parse())?;
    let limit: Option<usize> = std::env::var("LIMIT").ok().map(|v| v.parse()).transpose()?;
    let feature = feature_id(&OnnxModel::builtin(), &Default::default());
    let start = Instant::now();
    let mut c = store.collection(&root, &feature)?;
    anyhow::ensure!(c.len() > 20, "too few images under {}", root.display());
    if let Some(limit) = limit.filter(|&l| l < c.len()) {
        let mut first = imgtui::Collection::default();
        for i in 0..limit {
            first.push(c.paths[i].clone(), c.hashes[i], &c.row(i), c.norms[i]);
        }
        c = first;
    }
    common::grow(&mut c, copies);
    println!(
        "{} images × {} dims, loaded in {:.1} s",
        c.len(),
        c.dim(),
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let x = Pca::fit(&c.vectors, 32, 0).project(&c.vectors);
    println!("PCA to 32 dims: {:.1} s", start.elapsed().as_secs_f64());

    let others = umap::others(c.len(), &Default::default());
    let rows: Vec<usize> = (0..SAMPLED).map(|q| q * 7919 % c.len()).collect();
    let truth: Vec<Vec<Neighbour>> = rows
        .iter()
        .map(|&i| exact_query(&c, &c.row(i), Select::Nearest(others), Some(i)))
        .collect();
    let recall = |graph: &[Vec<Neighbour>]| {
        let hits: usize = rows
            .iter()
            .zip(&truth)
            .map(|(&i, t)| {
                graph[i]
                    .iter()
                    .filter(|nb| t.iter().any(|x| x.index == nb.index))
                    .count()
            })
            .sum();
        hits as f64 / (SAMPLED * others) as f64
    };
    let mut ways = vec![("NN-descent", Candidates::Descent { seed: 0 })];
    if exact {
        ways.push(("exact", Candidates::Exact));
    }
    for (name, how) in ways {
        let start = Instant::now();
        let graph = umap::knn_by(&c, &x, others, how);
        println!(
            "{name:<10} candidates: graph in {:.1} s, recall@{others} {:.3} on {SAMPLED} rows",
            start.elapsed().as_secs_f64(),
            recall(&graph)
        );
    }
    Ok(())
}
