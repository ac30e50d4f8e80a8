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
}
