//! Times the clustering steps on a stored collection:
//! `cargo run --release --example cluster_speed -- STORE DIR [COPIES]`.
//!
//! COPIES > 1 adds jittered copies of every vector (noise of 0.02 per component, renormalised)
//! to reach a larger n from a real collection.

use std::time::Instant;

use imgtui::analysis::clustering::{Request, cluster};
use imgtui::analysis::rng::Lcg;
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
    let base = c.len();
    let mut rng = Lcg::new(1);
    for copy in 1..copies {
        for i in 0..base {
            let mut v: Vec<f32> = c.row(i).iter().map(|x| x + 0.02 * rng.normal()).collect();
            let norm = imgtui::features::l2_normalize(&mut v);
            c.vectors.data.extend_from_slice(&v);
            c.vectors.rows += 1;
            c.norms.push(c.norms[i] * norm);
            c.paths.push(format!("copy{copy}/{i}").into());
            c.hashes.push([0; 32]);
        }
    }
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
