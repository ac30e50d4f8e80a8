//! The lattice: every image in its own cell of one near-square grid, laid out from the 2-D
//! map so that images near on the map (and so, mostly, alike) stay near on the grid.
//!
//! The cells come from the map by recursive balanced bisection, as RasterFairy's
//! "coonswarp-free" mode and IsoMatch's hierarchical variant do it (Fried et al., "IsoMatch:
//! Creating Informative Grid Layouts", Eurographics 2015, §4): the grid is halved along its
//! longer side, the images are split by their map coordinate along that side into two sets
//! sized to the halves' cells, and each half is laid out the same way, down to one cell. It
//! takes O(n log n) (about 10 ms for 10,000 images) and keeps, on Fashion-MNIST, most of the
//! map's neighbourhoods (see BENCHMARKS, "The lattice").

/// The grid for `n` images: `(columns, rows)`, as square as can be with `columns ≥ rows`
/// and `columns · rows ≥ n`, leaving fewer than `rows` cells empty. `(0, 0)` for none.
pub fn shape(n: usize) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let rows = ((n as f64).sqrt().floor() as usize).max(1);
    (n.div_ceil(rows), rows)
}

/// Neighbours per image in the graph [`lay_out`] refines the lattice with.
pub const NEIGHBOURS: usize = 7;
/// Passes of [`refine`] in [`lay_out`]: on 10,000 Fashion-MNIST images it moves nothing
/// more after about 10.
pub const PASSES: usize = 20;

/// The lattice of `map` (one `[x, y]` per image): the grid's `(columns, rows)` (see
/// [`shape`]) and each image's cell `[column, row]`, by [`assign`], then, when `graph` is
/// given (each image's nearest others in the embedding, nearest first; the first
/// [`NEIGHBOURS`] are used), [`refine`]d towards it.
///
/// On 10,000 Fashion-MNIST images the bisection alone keeps 0.77× of the UMAP map's knn@10,
/// refined 1.2× (BENCHMARKS, "The lattice").
pub fn lay_out(map: &[[f32; 2]], graph: Option<&[Vec<usize>]>) -> ((usize, usize), Vec<[u32; 2]>) {
    let (columns, rows) = shape(map.len());
    let mut cells = assign(map, columns, rows);
    if let Some(graph) = graph {
        let nearest: std::borrow::Cow<[Vec<usize>]> =
            if graph.iter().all(|row| row.len() <= NEIGHBOURS) {
                graph.into()
            } else {
                graph
                    .iter()
                    .map(|row| row.iter().copied().take(NEIGHBOURS).collect())
                    .collect::<Vec<_>>()
                    .into()
            };
        refine(&mut cells, columns, rows, &nearest, PASSES);
    }
    ((columns, rows), cells)
}

/// Each of `map`'s points' cell `[column, row]` in a grid of `columns × rows` (row 0 at the
/// top, where the map's y is largest; column 0 at the left, where x is smallest). Every
/// point gets its own cell; cells are left empty only when `columns · rows > map.len()`,
/// spread over the grid in proportion.
///
/// Deterministic: ties in a coordinate go by the points' order.
///
/// Panics if the grid has fewer cells than `map` has points.
pub fn assign(map: &[[f32; 2]], columns: usize, rows: usize) -> Vec<[u32; 2]> {
    assert!(
        columns * rows >= map.len(),
        "{} points do not fit {columns} × {rows} cells",
        map.len()
    );
    let mut cells = vec![[0u32; 2]; map.len()];
    let mut order: Vec<u32> = (0..map.len() as u32).collect();
    let whole = Region {
        column: 0,
        row: 0,
        columns,
        rows,
    };
    split(map, &mut order, whole, &mut cells);
    cells
}

/// A rectangle of cells.
#[derive(Debug, Clone, Copy)]
struct Region {
    column: usize,
    row: usize,
    columns: usize,
    rows: usize,
}

impl Region {
    fn cells(self) -> usize {
        self.columns * self.rows
    }
}

/// Lays out the points `order` in `region` (they fit), halving it along its longer side.
fn split(map: &[[f32; 2]], order: &mut [u32], region: Region, cells: &mut [[u32; 2]]) {
    let n = order.len();
    if n == 0 {
        return;
    }
    if region.cells() == 1 {
        cells[order[0] as usize] = [region.column as u32, region.row as u32];
        return;
    }
    let across = region.columns >= region.rows;
    let (first, second) = if across {
        let left = region.columns / 2;
        (
            Region {
                columns: left,
                ..region
            },
            Region {
                column: region.column + left,
                columns: region.columns - left,
                ..region
            },
        )
    } else {
        let top = region.rows / 2;
        (
            Region {
                rows: top,
                ..region
            },
            Region {
                row: region.row + top,
                rows: region.rows - top,
                ..region
            },
        )
    };
    // The first half takes its share of the points, and no more than fit either half.
    let share = (n as f64 * first.cells() as f64 / region.cells() as f64).round() as usize;
    let k = share.clamp(n.saturating_sub(second.cells()), first.cells().min(n));
    if k > 0 && k < n {
        // Across: smallest x to the left; down: largest y to the top.
        let key = |i: u32| {
            let [x, y] = map[i as usize];
            if across { x } else { -y }
        };
        order.select_nth_unstable_by(k, |&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
    }
    let (a, b) = order.split_at_mut(k);
    split(map, a, first, cells);
    split(map, b, second, cells);
}

/// The cell distance (squared) beyond which a neighbour counts as simply far in
/// [`refine`]'s cost: a point is pulled to its near neighbours, not dragged towards one that
/// lies across the grid.
const FAR: i64 = 8;

/// Improves a lattice by swaps that bring each point nearer its neighbours in `graph` (each
/// point's nearest others, e.g. its kNN in the embedding): a point moves to the cell around
/// its neighbours' mean cell, swapping with the image there (or into an empty cell), when
/// that lowers the sum, over both points' edges, of the squared cell distance capped at
/// [`FAR`]. The swaps follow the Self-Sorting Map's (Strong & Gong, "Self-Sorting Map: An
/// Efficient Algorithm for Presenting Multimedia Data in Structured Layouts", IEEE TMM 2014),
/// here on a kNN graph rather than on feature distances; the cap keeps one far neighbour
/// from tearing a point out of its group. Each of `passes` visits every point once; it
/// stops early when a pass moves none.
///
/// Keeps every point in its own cell and all within the `columns × rows` grid;
/// deterministic. `graph[i]` lists indices of `cells`; edges count both ways.
pub fn refine(
    cells: &mut [[u32; 2]],
    columns: usize,
    rows: usize,
    graph: &[Vec<usize>],
    passes: usize,
) {
    let n = cells.len();
    const EMPTY: u32 = u32::MAX;
    let mut occupant = vec![EMPTY; columns * rows];
    for (i, &[x, y]) in cells.iter().enumerate() {
        occupant[y as usize * columns + x as usize] = i as u32;
    }
    // The graph with every edge both ways, as adjacency lists.
    let mut edges: Vec<(u32, u32)> =
        Vec::with_capacity(2 * graph.iter().map(Vec::len).sum::<usize>());
    for (i, row) in graph.iter().enumerate().take(n) {
        for &j in row.iter().filter(|&&j| j < n && j != i) {
            edges.push((i as u32, j as u32));
            edges.push((j as u32, i as u32));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let mut start = vec![0usize; n + 1];
    for &(i, _) in &edges {
        start[i as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let adjacent = |i: usize| edges[start[i]..start[i + 1]].iter().map(|e| e.1 as usize);
    // The cost of point p in cell (x, y), leaving out its edge to `skip`.
    let cost = |cells: &[[u32; 2]], p: usize, (x, y): (i64, i64), skip: usize| -> i64 {
        adjacent(p)
            .filter(|&j| j != skip)
            .map(|j| {
                let (dx, dy) = (cells[j][0] as i64 - x, cells[j][1] as i64 - y);
                (dx * dx + dy * dy).min(FAR)
            })
            .sum()
    };
    for _ in 0..passes {
        let mut moved = 0;
        for a in 0..n {
            let degree = start[a + 1] - start[a];
            if degree == 0 {
                continue;
            }
            let here = (cells[a][0] as i64, cells[a][1] as i64);
            let (sx, sy) = adjacent(a).fold((0, 0), |(sx, sy), j| {
                (sx + cells[j][0] as i64, sy + cells[j][1] as i64)
            });
            let target = (
                (sx as f64 / degree as f64).round() as i64,
                (sy as f64 / degree as f64).round() as i64,
            );
            let mut best: Option<(i64, (i64, i64))> = None;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let there = (target.0 + dx, target.1 + dy);
                    if there.0 < 0
                        || there.1 < 0
                        || there.0 >= columns as i64
                        || there.1 >= rows as i64
                        || there == here
                    {
                        continue;
                    }
                    let b = occupant[there.1 as usize * columns + there.0 as usize];
                    let change = if b == EMPTY {
                        cost(cells, a, there, usize::MAX) - cost(cells, a, here, usize::MAX)
                    } else {
                        let b = b as usize;
                        cost(cells, a, there, b) - cost(cells, a, here, b) + cost(cells, b, here, a)
                            - cost(cells, b, there, a)
                    };
                    if change < 0 && best.is_none_or(|(c, _)| change < c) {
                        best = Some((change, there));
                    }
                }
            }
            if let Some((_, there)) = best {
                let (from, to) = (
                    here.1 as usize * columns + here.0 as usize,
                    there.1 as usize * columns + there.0 as usize,
                );
                let b = occupant[to];
                occupant[to] = a as u32;
                occupant[from] = b;
                if b != EMPTY {
                    cells[b as usize] = [here.0 as u32, here.1 as u32];
                }
                cells[a] = [there.0 as u32, there.1 as u32];
                moved += 1;
            }
        }
        if moved == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::rng::Lcg;

    #[test]
    fn the_grid_is_near_square_and_holds_everyone() {
        assert_eq!(shape(0), (0, 0));
        assert_eq!(shape(1), (1, 1));
        assert_eq!(shape(2), (2, 1));
        assert_eq!(shape(10), (4, 3));
        assert_eq!(shape(100), (10, 10));
        for n in 1..500 {
            let (c, r) = shape(n);
            assert!(c >= r && c * r >= n && c * r - n < r, "{n}: {c} × {r}");
        }
    }

    #[test]
    fn every_point_gets_its_own_cell() {
        let mut rng = Lcg::new(3);
        for n in [1, 2, 3, 7, 10, 99, 100, 101, 1000] {
            let map: Vec<[f32; 2]> = (0..n).map(|_| [rng.uniform(), rng.uniform()]).collect();
            let (c, r) = shape(n);
            let cells = assign(&map, c, r);
            let mut seen = std::collections::HashSet::new();
            for &[x, y] in &cells {
                assert!((x as usize) < c && (y as usize) < r);
                assert!(seen.insert((x, y)), "{n}: cell {x},{y} twice");
            }
        }
    }

    #[test]
    fn points_on_a_grid_keep_their_places() {
        // A 6 × 4 grid of points (y up) lands on the same grid (row 0 at the top).
        let map: Vec<[f32; 2]> = (0..24).map(|i| [(i % 6) as f32, (i / 6) as f32]).collect();
        let cells = assign(&map, 6, 4);
        for (i, &[x, y]) in cells.iter().enumerate() {
            assert_eq!((x, y), ((i % 6) as u32, 3 - (i / 6) as u32), "point {i}");
        }
    }

    #[test]
    fn neighbours_on_the_map_stay_near_on_the_grid() {
        // Four tight groups in the map's corners stay in the grid's corners, apart.
        let mut rng = Lcg::new(9);
        let corners = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        let map: Vec<[f32; 2]> = (0..400)
            .map(|i| {
                let [x, y] = corners[i % 4];
                [x + rng.uniform(), y + rng.uniform()]
            })
            .collect();
        let cells = assign(&map, 20, 20);
        for (i, &[x, y]) in cells.iter().enumerate() {
            let (right, top) = (i % 4 == 1 || i % 4 == 3, i % 4 >= 2);
            assert_eq!(x >= 10, right, "point {i} at {x},{y}");
            assert_eq!(y < 10, top, "point {i} at {x},{y}");
        }
    }

    #[test]
    fn the_same_map_gives_the_same_lattice() {
        let map: Vec<[f32; 2]> = (0..50).map(|i| [(i % 7) as f32, (i % 3) as f32]).collect();
        assert_eq!(assign(&map, 8, 7), assign(&map, 8, 7));
    }

    /// The mean squared cell distance along `graph`'s edges.
    fn spread(cells: &[[u32; 2]], graph: &[Vec<usize>]) -> f64 {
        let (mut sum, mut edges) = (0.0, 0);
        for (i, row) in graph.iter().enumerate() {
            for &j in row {
                let dx = cells[i][0] as f64 - cells[j][0] as f64;
                let dy = cells[i][1] as f64 - cells[j][1] as f64;
                sum += dx * dx + dy * dy;
                edges += 1;
            }
        }
        sum / edges as f64
    }

    #[test]
    fn refining_keeps_one_image_per_cell_and_pulls_neighbours_together() {
        // 10 groups of 9 whose map is noise: the bisection scatters them, and the graph
        // (each image's group) is all refine has to go on.
        let mut rng = Lcg::new(5);
        let n = 90;
        let map: Vec<[f32; 2]> = (0..n).map(|_| [rng.uniform(), rng.uniform()]).collect();
        let graph: Vec<Vec<usize>> = (0..n)
            .map(|i| (0..n).filter(|&j| j != i && j / 9 == i / 9).collect())
            .collect();
        let (columns, rows) = shape(n + 5);
        let mut cells = assign(&map, columns, rows);
        let before = spread(&cells, &graph);
        refine(&mut cells, columns, rows, &graph, PASSES);
        let after = spread(&cells, &graph);
        let mut seen = std::collections::HashSet::new();
        for &[x, y] in &cells {
            assert!((x as usize) < columns && (y as usize) < rows);
            assert!(seen.insert((x, y)), "cell {x},{y} twice");
        }
        assert!(
            after < before / 2.0,
            "mean squared distance {before} → {after}"
        );
    }

    #[test]
    fn lay_out_refines_only_with_a_graph_and_is_deterministic() {
        let mut rng = Lcg::new(8);
        let map: Vec<[f32; 2]> = (0..200).map(|_| [rng.uniform(), rng.uniform()]).collect();
        let graph: Vec<Vec<usize>> = (0..200)
            .map(|i| vec![(i + 1) % 200, (i + 199) % 200])
            .collect();
        let shape_of = shape(200);
        assert_eq!(
            lay_out(&map, None),
            (shape_of, assign(&map, shape_of.0, shape_of.1))
        );
        let refined = lay_out(&map, Some(&graph));
        assert_eq!(refined, lay_out(&map, Some(&graph)));
        assert!(spread(&refined.1, &graph) < spread(&lay_out(&map, None).1, &graph));
    }
}
