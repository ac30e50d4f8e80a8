//! How well each 2-D map keeps neighbours, and how long it takes:
//! `cargo run --release --example map_quality -- STORE DIR LABELS.csv [--tsne] [--copies N]
//! [--seed N] [--epochs N] [--export PREFIX]`.
//!
//! For the images of DIR in STORE (labels by file name from LABELS.csv: `filename,label,...`)
//! prints, for the PCA map, t-SNE (with `--tsne`; slow) and UMAP:
//! - knn@10: mean share of an image's 10 nearest neighbours by cosine distance on the vectors
//!   that are also among its 10 nearest on the map (Euclidean);
//! - label@10: mean share of an image's 10 nearest neighbours on the map with its label;
//! - the time to make the map from the vectors (the 32-dimensional PCA included);
//!
//! and the same for the lattice made from each map ("grid": each image's cell as a point, by
//! bisection alone; "grid refined": then refined with the kNN graph of the PCA space re-ranked
//! by cosine, as the clustering makes it for UMAP; time: the layout alone, the graph's time
//! beside it).
//!
//! COPIES > 1 adds jittered copies of every vector (see examples/common) to reach a larger n;
//! copies keep their original's label. `--seed` and `--epochs` go to UMAP (default: the
//! clustering's seed 0, and umap-learn's number of epochs). Above 20,000 images the measures are taken on a seeded
//! sample of 2,000 images (their neighbours still among all). `--export PREFIX` writes the
//! vectors to PREFIX.npy (n × d float32) and the labels to PREFIX.labels.txt, one per line,
//! for bench/map_quality.py.

#[path = "common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::Instant;

use imgtui::analysis::lattice;
use imgtui::analysis::neighbours::{Select, exact_query, knn_graph};
use imgtui::analysis::pca::Pca;
use imgtui::analysis::rng::Lcg;
use imgtui::analysis::umap::{self, UmapOptions, umap};
use imgtui::analysis::{clustering::Request, tsne::tsne};
use imgtui::index::feature_id;
use imgtui::{Collection, OnnxModel, Store};

/// Neighbours compared per image.
const K: usize = 10;
/// Above this many images the measures use a sample of [`SAMPLE`] images.
const ALL_UP_TO: usize = 20_000;
const SAMPLE: usize = 2_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 4,
        "usage: map_quality STORE DIR LABELS.csv [--tsne] [--copies N] [--seed N] [--epochs N] [--export PREFIX]"
    );
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let with_tsne = args.iter().any(|a| a == "--tsne");
    let copies: usize = option("--copies").map_or(Ok(1), |a| a.parse())?;

    let store = Store::open(args[1].as_ref())?;
    let root = std::fs::canonicalize(&args[2])?;
    let model = OnnxModel::builtin();
    let mut c = store.collection(&root, &feature_id(&model, &Default::default()))?;
    anyhow::ensure!(!c.is_empty(), "nothing indexed under {}", root.display());
    let by_name = read_labels(&args[3])?;
    let mut labels: Vec<String> = c
        .paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            by_name.get(name.as_ref()).cloned().unwrap_or_default()
        })
        .collect();
    let unlabelled = labels.iter().filter(|l| l.is_empty()).count();
    common::grow(&mut c, copies);
    labels = (0..c.len())
        .map(|i| labels[i % labels.len()].clone())
        .collect();
    println!(
        "{} images × {} dims, {} labels ({unlabelled} images without one)",
        c.len(),
        c.dim(),
        labels
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
    if let Some(prefix) = option("--export") {
        write_npy(&format!("{prefix}.npy"), &c)?;
        std::fs::write(format!("{prefix}.labels.txt"), labels.join("\n") + "\n")?;
        println!("wrote {prefix}.npy and {prefix}.labels.txt");
    }

    let rows: Vec<usize> = if c.len() <= ALL_UP_TO {
        (0..c.len()).collect()
    } else {
        Lcg::new(7).sample(c.len(), SAMPLE)
    };
    let truth = embedding_neighbours(&c, &rows);
    println!(
        "measured on {} images\n{:<8} {:>7} {:>9} {:>9}",
        rows.len(),
        "map",
        "knn@10",
        "label@10",
        "time (s)"
    );
    let seed: u64 = option("--seed").map_or(Ok(Request::default().seed), |a| a.parse())?;
    let epochs: Option<usize> = option("--epochs").map(|a| a.parse()).transpose()?;
    let dims = Request::default().dims;
    let mut maps: Vec<(&str, MakeMap)> = vec![
        (
            "PCA",
            Box::new(|| {
                let x = Pca::fit(&c.vectors, 2, seed).project(&c.vectors);
                Ok((0..x.rows).map(|i| [x.get(i, 0), x.get(i, 1)]).collect())
            }),
        ),
        (
            "UMAP",
            Box::new(|| {
                let x = Pca::fit(&c.vectors, dims, seed).project(&c.vectors);
                Ok(umap(
                    &c,
                    &x,
                    &UmapOptions {
                        seed,
                        epochs,
                        ..Default::default()
                    },
                ))
            }),
        ),
    ];
    if with_tsne {
        maps.insert(
            1,
            (
                "t-SNE",
                Box::new(|| tsne(&Pca::fit(&c.vectors, dims, seed).project(&c.vectors))),
            ),
        );
    }
    for (name, make) in maps {
        let start = Instant::now();
        let map = make()?;
        let seconds = start.elapsed().as_secs_f64();
        let (knn, label) = measures(&map, &rows, &truth, &labels);
        println!("{name:<8} {knn:>7.3} {label:>9.3} {seconds:>9.2}");
        // The lattice made from this map (each image's cell as a point): by bisection
        // alone, then refined with the kNN graph UMAP is fitted on, as the clustering does.
        let start = Instant::now();
        let (_, cells) = lattice::lay_out(&map, None);
        let seconds = start.elapsed().as_secs_f64();
        let (knn, label) = measures(&as_points(&cells), &rows, &truth, &labels);
        let bisected = format!("{name} grid");
        println!("{bisected:<8} {knn:>7.3} {label:>9.3} {seconds:>9.3}");
        let start = Instant::now();
        let x = Pca::fit(&c.vectors, dims, seed).project(&c.vectors);
        let graph: Vec<Vec<usize>> =
            umap::knn(&c, &x, umap::others(c.len(), &Default::default()), seed)
                .into_iter()
                .map(|row| row.into_iter().map(|nb| nb.index).collect())
                .collect();
        let graph_seconds = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let (_, cells) = lattice::lay_out(&map, Some(&graph));
        let seconds = start.elapsed().as_secs_f64();
        let (knn, label) = measures(&as_points(&cells), &rows, &truth, &labels);
        let refined = format!("{name} grid refined");
        println!(
            "{refined:<8} {knn:>7.3} {label:>9.3} {seconds:>9.3} (+ {graph_seconds:.2} s for the kNN graph)"
        );
    }
    Ok(())
}

/// Lattice cells as points of a plane (y up, as on the map).
fn as_points(cells: &[[u32; 2]]) -> Vec<[f32; 2]> {
    cells
        .iter()
        .map(|&[x, y]| [x as f32, -(y as f32)])
        .collect()
}

/// Makes one map of the collection.
type MakeMap<'a> = Box<dyn Fn() -> anyhow::Result<Vec<[f32; 2]>> + 'a>;

/// `filename → label` from a CSV whose first two columns are those (header line skipped).
fn read_labels(path: &str) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
        })
        .collect())
}

/// The 10 nearest neighbours by cosine distance of each of `rows`, among all images.
fn embedding_neighbours(c: &Collection, rows: &[usize]) -> Vec<Vec<usize>> {
    if rows.len() == c.len() {
        return knn_graph(c, K)
            .into_iter()
            .map(|row| row.into_iter().map(|nb| nb.index).collect())
            .collect();
    }
    rows.iter()
        .map(|&i| {
            exact_query(c, &c.row(i), Select::Nearest(K), Some(i))
                .into_iter()
                .map(|nb| nb.index)
                .collect()
        })
        .collect()
}

/// knn@10 and label@10 of `map` over `rows`.
fn measures(
    map: &[[f32; 2]],
    rows: &[usize],
    truth: &[Vec<usize>],
    labels: &[String],
) -> (f64, f64) {
    use rayon::prelude::*;
    let (kept, same): (f64, f64) = rows
        .par_iter()
        .zip(truth)
        .map(|(&i, truth)| {
            let mut near: Vec<(f32, usize)> = map
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, p)| ((p[0] - map[i][0]).powi(2) + (p[1] - map[i][1]).powi(2), j))
                .collect();
            near.select_nth_unstable_by(K - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let near = &near[..K];
            let kept = near.iter().filter(|(_, j)| truth.contains(j)).count();
            let same = near.iter().filter(|(_, j)| labels[*j] == labels[i]).count();
            (kept as f64 / K as f64, same as f64 / K as f64)
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    (kept / rows.len() as f64, same / rows.len() as f64)
}

/// The unit vectors as a NumPy `.npy` file of float32, `n × d`.
fn write_npy(path: &str, c: &Collection) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    imgtui::collection::npy::write(&c.vectors, &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}
