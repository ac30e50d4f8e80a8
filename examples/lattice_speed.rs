//! How long the lattice takes: `cargo run --release --example lattice_speed -- [N…]`.
//!
//! For each N (default 1,000, 10,000, 100,000 and 1,000,000) lays out N points in the
//! near-square grid of [`imgtui::analysis::lattice`], from a map of Gaussian blobs (clusters
//! of different sizes, as a UMAP map has), and prints the median of five runs.

use std::time::Instant;

use imgtui::analysis::lattice::{assign, shape};
use imgtui::analysis::rng::Lcg;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("N"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000, 1_000_000]
    } else {
        sizes
    };
    println!("{:>10} {:>12} {:>10}", "images", "grid", "ms");
    for n in sizes {
        let mut rng = Lcg::new(1);
        let centres: Vec<[f32; 2]> = (0..12)
            .map(|_| [rng.uniform() * 40.0, rng.uniform() * 40.0])
            .collect();
        let map: Vec<[f32; 2]> = (0..n)
            .map(|i| {
                // Blob k takes a share that grows with k: uneven clusters.
                let k = (i * i) % centres.len();
                let [x, y] = centres[k];
                [x + rng.normal() * 2.0, y + rng.normal() * 2.0]
            })
            .collect();
        let (columns, rows) = shape(n);
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let cells = assign(&map, columns, rows);
                assert_eq!(cells.len(), n);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{n:>10} {:>12} {:>10.1}",
            format!("{columns}×{rows}"),
            times[2]
        );
    }
}
