//! How long the lattice takes: `cargo run --release --example lattice_speed -- [N…]`.
//!
//! For each N (default 1,000, 10,000, 100,000 and 1,000,000) lays out N points in the
//! near-square grid of [`imgtui::analysis::lattice`], from a map of Gaussian blobs (clusters
//! of different sizes, as a UMAP map has), and prints the median of five runs: the bisection
//! alone, and the refinement towards a kNN graph (median of three; one run at 1,000,000).
//! The graph stands in for the embedding's: each point's 5 nearest among the 24 cells
//! around its bisected cell, and 2 random points of its blob (the neighbours the map tore
//! apart).

use std::time::Instant;

use imgtui::analysis::lattice::{PASSES, assign, refine, shape};
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
    println!(
        "{:>10} {:>12} {:>14} {:>14}",
        "images", "grid", "bisection ms", "refinement ms"
    );
    for n in sizes {
        let mut rng = Lcg::new(1);
        let centres: Vec<[f32; 2]> = (0..12)
            .map(|_| [rng.uniform() * 40.0, rng.uniform() * 40.0])
            .collect();
        // Blob k takes a share that grows with k: uneven clusters.
        let blob: Vec<usize> = (0..n).map(|i| (i * i) % centres.len()).collect();
        let map: Vec<[f32; 2]> = blob
            .iter()
            .map(|&k| {
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
        let bisection = times[2];
        let cells = assign(&map, columns, rows);
        let graph = stand_in_graph(&map, &cells, &blob, columns, rows, &mut rng);
        let runs = if n >= 1_000_000 { 1 } else { 3 };
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let mut refined = cells.clone();
                let start = Instant::now();
                refine(&mut refined, columns, rows, &graph, PASSES);
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{n:>10} {:>12} {bisection:>14.1} {:>14.0}",
            format!("{columns}×{rows}"),
            times[runs / 2]
        );
    }
}

/// Each point's 5 nearest on the map among the points within 2 cells of its cell, and 2
/// random points of its blob.
fn stand_in_graph(
    map: &[[f32; 2]],
    cells: &[[u32; 2]],
    blob: &[usize],
    columns: usize,
    rows: usize,
    rng: &mut Lcg,
) -> Vec<Vec<usize>> {
    let mut at = vec![usize::MAX; columns * rows];
    for (i, &[x, y]) in cells.iter().enumerate() {
        at[y as usize * columns + x as usize] = i;
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); blob.iter().max().map_or(0, |b| b + 1)];
    for (i, &b) in blob.iter().enumerate() {
        members[b].push(i);
    }
    (0..map.len())
        .map(|i| {
            let [cx, cy] = cells[i];
            let mut near: Vec<(f32, usize)> = Vec::new();
            for dy in -2i64..=2 {
                for dx in -2i64..=2 {
                    let (x, y) = (cx as i64 + dx, cy as i64 + dy);
                    if x < 0 || y < 0 || x >= columns as i64 || y >= rows as i64 {
                        continue;
                    }
                    let j = at[y as usize * columns + x as usize];
                    if j != usize::MAX && j != i {
                        let d = (map[i][0] - map[j][0]).powi(2) + (map[i][1] - map[j][1]).powi(2);
                        near.push((d, j));
                    }
                }
            }
            near.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut row: Vec<usize> = near.iter().take(5).map(|p| p.1).collect();
            let own = &members[blob[i]];
            for _ in 0..2 {
                row.push(own[rng.below(own.len())]);
            }
            row
        })
        .collect()
}
