//! Query speed of neighbour search over a stored collection: exact (every row) and through
//! the IVF index (the saved one, else one trained here and timed), with recall@10.
//!
//!     cargo run --release --example neighbours_speed -- STORE.sqlite DIR [QUERIES] [COPIES]
//!
//! DIR must have been indexed into STORE with the built-in model. COPIES > 1 grows the
//! collection with jittered copies. Also times the kNN graph (up to 20,000 images).

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use imgtui::analysis::neighbours::{
    Select, exact_query, knn_graph, query, rerank, shortlist, through_index,
};
use imgtui::collection::{Precision, Vectors};
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

    let rows: Vec<usize> = rows_of_queries(&c, queries).collect();
    let time = |f: &dyn Fn(usize) -> Vec<imgtui::analysis::neighbours::Neighbour>| {
        let start = Instant::now();
        let answers: Vec<_> = rows.iter().map(|&i| f(i)).collect();
        (
            start.elapsed().as_secs_f64() * 1000.0 / queries as f64,
            answers,
        )
    };
    let (now, peak) = common::memory_mb();
    println!(
        "vectors in memory: {:.0} MB (half precision); process {now:.0} MB, peak {peak:.0} MB",
        c.vectors.bytes() as f64 / 1e6
    );
    let start = Instant::now();
    let saved = match store.load_ivf(&root, &feature, &c)? {
        Some((index, _)) if copies <= 1 => Some(index),
        _ => None,
    };
    let index = match saved {
        Some(index) => {
            println!("saved index read in {:.2} s", start.elapsed().as_secs_f64());
            index
        }
        None => {
            let index = imgtui::collection::ivf::Ivf::train(&c.vectors);
            println!("index trained in {:.2} s", start.elapsed().as_secs_f64());
            index
        }
    };
    println!(
        "{} cells, {} probed per query",
        index.cells(),
        index.probes()
    );
    let scanned: usize = rows_of_queries(&c, queries)
        .map(|i| index.candidates(&c.row(i), index.probes()).len())
        .sum();
    println!(
        "rows scanned per query: {:.0} of {}",
        scanned as f64 / queries as f64,
        c.len()
    );
    for probes in [4, 8, 16, 24, 32, 48] {
        let probing = index.clone().with_probes(probes);
        let start = Instant::now();
        let answers: Vec<_> = rows
            .iter()
            .map(|&i| through_index(&c, &probing, &c.row(i), 10, Some(i)))
            .collect();
        let ms = start.elapsed().as_secs_f64() * 1000.0 / queries as f64;
        let truth: Vec<_> = rows
            .iter()
            .map(|&i| exact_query(&c, &c.row(i), Select::Nearest(10), Some(i)))
            .collect();
        let found: usize = answers
            .iter()
            .zip(&truth)
            .map(|(a, t)| a.iter().filter(|x| t.contains(x)).count())
            .sum();
        println!(
            "  {probes:>2} cells probed: {ms:6.2} ms per query, recall@10 {:.4}",
            found as f64 / (10 * queries) as f64
        );
    }
    let _ = c.index.set(index);
    let (fast, answers) = time(&|i| query(&c, &c.row(i), Select::Nearest(10), Some(i)));
    let (slow, truth) = time(&|i| exact_query(&c, &c.row(i), Select::Nearest(10), Some(i)));
    let found = found_of(&answers, &truth);
    println!(
        "{queries} queries, 10 nearest: {fast:.2} ms per query through the index (exact search: {slow:.2} ms); recall@10 {:.4}",
        found as f64 / (10 * queries) as f64
    );

    // The explorer's 8-bit copy of a large folder: the codes are scanned through the same
    // index, and a shortlist is re-ranked on the exact vectors (read from the store there).
    let start = Instant::now();
    let mut bytes = imgtui::Collection {
        paths: c.paths.clone(),
        hashes: c.hashes.clone(),
        vectors: Vectors::zeros_in(c.len(), c.dim(), Precision::Byte),
        ..Default::default()
    };
    for i in 0..c.len() {
        bytes.vectors.set_row(i, &c.row(i));
    }
    let _ = bytes.index.set(c.index.get().expect("set above").clone());
    println!(
        "8-bit copy: {:.0} MB, made in {:.2} s",
        bytes.vectors.bytes() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    let (scan, shortlists) =
        time(&|i| query(&bytes, &c.row(i), Select::Nearest(shortlist(10)), Some(i)));
    let start = Instant::now();
    let reranked: Vec<_> = shortlists
        .clone()
        .into_iter()
        .zip(&rows)
        .map(|(found, &i)| {
            let q = c.row(i);
            rerank(found, |j| Some(c.vectors.dot(j, &q)), 10)
        })
        .collect();
    let rerank_ms = start.elapsed().as_secs_f64() * 1000.0 / queries as f64;
    let found = found_of(&reranked, &truth);
    let same = reranked
        .iter()
        .zip(&answers)
        .filter(|(a, b)| a == b)
        .count();
    println!(
        "8-bit codes through the index: {scan:.2} ms per query for a shortlist of {}, re-ranked \
         in {rerank_ms:.3} ms; recall@10 {:.4} (exact search), {same} of {queries} lists as \
         half precision gives them",
        shortlist(10),
        found as f64 / (10 * queries) as f64
    );
    if copies <= 1 {
        let start = Instant::now();
        for (a, &i) in shortlists.iter().zip(&rows) {
            let pick = a.iter().map(|x| x.index).chain([i]);
            let files = imgtui::Collection {
                paths: pick.clone().map(|j| c.paths[j].clone()).collect(),
                hashes: pick.map(|j| c.hashes[j]).collect(),
                ..Default::default()
            };
            store.with_vectors(files, &feature)?;
        }
        println!(
            "reading a shortlist's exact vectors from the store: {:.2} ms",
            start.elapsed().as_secs_f64() * 1000.0 / queries as f64
        );
    }

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

/// The rows queried: spread over the collection.
fn rows_of_queries(c: &imgtui::Collection, queries: usize) -> impl Iterator<Item = usize> + '_ {
    (0..queries).map(move |q| q * 7919 % c.len())
}

/// How many of each list's images are among the true list's (recall@k's numerator).
fn found_of(
    answers: &[Vec<imgtui::analysis::neighbours::Neighbour>],
    truth: &[Vec<imgtui::analysis::neighbours::Neighbour>],
) -> usize {
    answers
        .iter()
        .zip(truth)
        .map(|(a, t)| {
            a.iter()
                .filter(|x| t.iter().any(|y| y.index == x.index))
                .count()
        })
        .sum()
}
