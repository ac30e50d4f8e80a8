//! An approximate kNN graph by NN-descent (Dong, Charikar & Li 2011, "Efficient k-nearest
//! neighbor graph construction for generic similarity measures"), started from a random
//! projection forest as pynndescent (McInnes) starts it.
//!
//! The exact graph of n points costs n² distances: 10¹² at a million, hours on 2 cores.
//! NN-descent rests on "a neighbour of a neighbour is likely a neighbour":
//!
//! 1. **Forest.** Each of a few trees splits the points by the hyperplane halfway between two
//!    random points of a node, until a leaf holds at most `leaf` points; each point starts
//!    with its nearest among the points that share its leaves (random points fill what is
//!    left).
//! 2. **Rounds.** Each point's candidates are up to [`MAX_CANDIDATES`] of its neighbours and
//!    reverse neighbours, taken by seeded random priority, new ones (not joined yet) apart from
//!    old ones. Every new–new and new–old pair among one point's candidates is measured and
//!    offered to both ends. Rounds stop when fewer than [`DELTA`]·n·k list entries change,
//!    or after [`MAX_ROUNDS`].
//!
//! Deterministic: every random choice is a hash of the seed and the points involved, and
//! points are joined in fixed blocks whose offers are applied in point order once the block
//! is measured, so the graph depends on the data and the seed only, never on the threads.

use rayon::prelude::*;

use super::rng::{Lcg, mix};
use crate::collection::matrix::Matrix;

/// Most candidates per point and round, each of new and old (pynndescent caps at 60; the
/// join keeps one bit per candidate pair in a `u64`, so at most 32).
pub const MAX_CANDIDATES: usize = 32;
/// Rounds stop when fewer than this share of the n·k list entries changed (the paper's δ).
pub const DELTA: f64 = 0.001;
/// Most rounds.
pub const MAX_ROUNDS: usize = 12;
/// Trees in the starting forest.
pub const TREES: usize = 8;
/// Points joined before their offers are applied (a fixed size, so the result does not
/// depend on the threads).
const BLOCK: usize = 4096;
/// Points whose lists one task updates.
const APPLY_ROWS: usize = 1024;
/// An empty place in a list.
const EMPTY: u32 = u32::MAX;
/// The bit of a list's entry that marks it new (not joined yet): the flags ride in the rows'
/// top bit instead of an array of their own (45 MB at a million points and 45 neighbours).
const FRESH: u32 = 1 << 31;
/// The bits of a list's entry that hold the row.
const ROW: u32 = !FRESH;

/// The approximate `k` nearest of every row of `x` (`n × d`) by Euclidean distance, nearest
/// first (ties by row), the row itself left out: `n` lists of `min(k, n − 1)` rows.
///
/// Recall against the exact graph is typically 0.9–1.0 on embeddings projected to 32–64
/// dimensions (the unit tests check ≥ 0.9 on drawn clusters; BENCHMARKS gives the figures at
/// 100,000 and 1,000,000 images). Time grows about as n·k²; memory is about n·(8k + 24c)
/// bytes beside `x`, with c = min(k, [`MAX_CANDIDATES`]) (the lists, then each round's
/// candidates and their priorities). Panics from 2³¹ − 1 rows on (rows are 31 bits).
pub fn knn_graph(x: &Matrix, k: usize, seed: u64) -> Vec<Vec<u32>> {
    let n = x.rows;
    assert!(n < ROW as usize, "NN-descent numbers rows in 31 bits");
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return vec![Vec::new(); n];
    }
    let mut lists = Lists::new(n, k);
    let leaf = (2 * k).max(16);
    for tree in 0..TREES {
        let (order, ends) = rp_tree(x, leaf, mix(seed ^ (tree as u64) << 32));
        lists.join_leaves(x, &order, &ends);
    }
    lists.fill_randomly(x, seed);
    let candidates = MAX_CANDIDATES.min(k.max(8));
    for round in 0..MAX_ROUNDS {
        let changed = lists.round(x, candidates, mix(seed ^ 0xd1b5 ^ (round as u64) << 40));
        if (changed as f64) < DELTA * (n * k) as f64 {
            break;
        }
    }
    lists.into_rows()
}

/// Squared Euclidean distance, in eight independent sums so the compiler vectorises it.
fn squared(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += (x[l] - y[l]) * (x[l] - y[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// One random projection tree: the rows of `x` reordered so that each leaf is a run, and the
/// end of each run. Splits by the hyperplane halfway between two random rows of the node (as
/// Annoy and pynndescent do); a node that does not split so (copies) is cut in half.
fn rp_tree(x: &Matrix, leaf: usize, seed: u64) -> (Vec<u32>, Vec<usize>) {
    let n = x.rows;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut ends = Vec::with_capacity(n / leaf * 2 + 1);
    let mut rng = Lcg::new(seed);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    // Right halves wait on the stack, so the leaves come out in order.
    let mut stack = vec![(0usize, n)];
    while let Some((lo, hi)) = stack.pop() {
        if hi - lo <= leaf {
            ends.push(hi);
            continue;
        }
        let a = order[lo + rng.below(hi - lo)] as usize;
        let b = order[lo + rng.below(hi - lo)] as usize;
        let normal: Vec<f32> = x.row(a).iter().zip(x.row(b)).map(|(p, q)| p - q).collect();
        let offset: f32 = normal
            .iter()
            .zip(x.row(a).iter().zip(x.row(b)))
            .map(|(w, (p, q))| w * (p + q) / 2.0)
            .sum();
        left.clear();
        right.clear();
        for &i in &order[lo..hi] {
            let margin = crate::collection::dot(&normal, x.row(i as usize)) - offset;
            if margin > 0.0 || (margin == 0.0 && rng.next_u64() & 1 == 0) {
                left.push(i);
            } else {
                right.push(i);
            }
        }
        let mid = if left.is_empty() || right.is_empty() {
            lo + (hi - lo) / 2
        } else {
            order[lo..lo + left.len()].copy_from_slice(&left);
            order[lo + left.len()..hi].copy_from_slice(&right);
            lo + left.len()
        };
        stack.push((mid, hi));
        stack.push((lo, mid));
    }
    (order, ends)
}

/// Every point's list: `k` places of (row, with [`FRESH`] while new; squared distance),
/// sorted by distance then row, empty places (row [`EMPTY`], distance ∞) last.
struct Lists {
    k: usize,
    ids: Vec<u32>,
    dists: Vec<f32>,
}

/// One point's list, borrowed.
struct List<'a> {
    ids: &'a mut [u32],
    dists: &'a mut [f32],
}

/// The lists of a run of points, borrowed: [`Part::list`] lends one at a time.
struct Part<'a> {
    /// The row of the run's first point.
    first: usize,
    k: usize,
    ids: &'a mut [u32],
    dists: &'a mut [f32],
}

impl Part<'_> {
    /// How many points the run holds.
    fn len(&self) -> usize {
        self.ids.len() / self.k
    }

    /// The list of the run's `r`-th point.
    fn list(&mut self, r: usize) -> List<'_> {
        let at = r * self.k..(r + 1) * self.k;
        List {
            ids: &mut self.ids[at.clone()],
            dists: &mut self.dists[at],
        }
    }
}

impl List<'_> {
    /// Takes `j` at squared distance `d` when it is nearer than the farthest held (ties by
    /// row) and not held yet; true when it entered.
    fn offer(&mut self, j: u32, d: f32) -> bool {
        let last = self.ids.len() - 1;
        let before = |p: usize| self.dists[p] > d || (self.dists[p] == d && self.ids[p] & ROW > j);
        if !before(last) || self.ids.iter().any(|&m| m & ROW == j) {
            return false;
        }
        let mut at = last;
        while at > 0 && before(at - 1) {
            at -= 1;
        }
        self.ids.copy_within(at..last, at + 1);
        self.dists.copy_within(at..last, at + 1);
        self.ids[at] = j | FRESH;
        self.dists[at] = d;
        true
    }
}

impl Lists {
    fn new(n: usize, k: usize) -> Lists {
        Lists {
            k,
            ids: vec![EMPTY; n * k],
            dists: vec![f32::INFINITY; n * k],
        }
    }

    /// The lists of `rows` points at a time, each part with its first point's row, in
    /// parallel.
    fn par_chunks(&mut self, rows: usize) -> impl IndexedParallelIterator<Item = Part<'_>> {
        let k = self.k;
        self.ids
            .par_chunks_mut(rows * k)
            .zip(self.dists.par_chunks_mut(rows * k))
            .enumerate()
            .map(move |(chunk, (ids, dists))| Part {
                first: chunk * rows,
                k,
                ids,
                dists,
            })
    }

    /// The squared distance of the farthest point `i` holds (∞ while its list has room).
    fn worst(&self, i: usize) -> f32 {
        self.dists[i * self.k + self.k - 1]
    }

    /// Each point takes its nearest among the other points of its leaf.
    fn join_leaves(&mut self, x: &Matrix, order: &[u32], ends: &[usize]) {
        let mut leaf_of = vec![(0u32, 0u32); x.rows];
        let mut start = 0;
        for &end in ends {
            for &i in &order[start..end] {
                leaf_of[i as usize] = (start as u32, end as u32);
            }
            start = end;
        }
        self.par_chunks(APPLY_ROWS).for_each(|mut part| {
            for r in 0..part.len() {
                let i = part.first + r;
                let mut list = part.list(r);
                let (s, e) = leaf_of[i];
                for &j in &order[s as usize..e as usize] {
                    if j as usize != i {
                        list.offer(j, squared(x.row(i), x.row(j as usize)));
                    }
                }
            }
        });
    }

    /// Fills the places left empty with random points (seeded by the point's row).
    fn fill_randomly(&mut self, x: &Matrix, seed: u64) {
        let n = x.rows;
        self.par_chunks(APPLY_ROWS).for_each(|mut part| {
            for r in 0..part.len() {
                let i = part.first + r;
                let mut list = part.list(r);
                let mut rng = Lcg::new(mix(seed ^ i as u64));
                let mut tries = 4 * list.ids.len();
                while list.ids.contains(&EMPTY) && tries > 0 {
                    let j = rng.below(n);
                    if j != i {
                        list.offer(j as u32, squared(x.row(i), x.row(j)));
                    }
                    tries -= 1;
                }
            }
        });
    }

    /// One round of local joins; returns how many list entries changed.
    fn round(&mut self, x: &Matrix, size: usize, seed: u64) -> usize {
        let n = x.rows;
        let (new, old) = self.candidates(size, seed);
        // The sampled new neighbours are joined now: they are old from here on.
        self.par_chunks(APPLY_ROWS).for_each(|mut part| {
            for r in 0..part.len() {
                let i = part.first + r;
                let list = part.list(r);
                let sampled = &new[i * size..(i + 1) * size];
                for id in list.ids.iter_mut() {
                    if *id != EMPTY && *id & FRESH != 0 && sampled.contains(&(*id & ROW)) {
                        *id &= ROW;
                    }
                }
            }
        });
        let mut changed = 0;
        for first in (0..n).step_by(BLOCK) {
            let end = (first + BLOCK).min(n);
            let lists = &*self;
            let mut offers: Vec<(u32, u32, f32)> = (first..end)
                .into_par_iter()
                .flat_map_iter(|i| {
                    let ours = |c: &[u32]| -> Vec<u32> {
                        c[i * size..(i + 1) * size]
                            .iter()
                            .copied()
                            .filter(|&j| j != EMPTY)
                            .collect()
                    };
                    lists.join(x, &ours(&new), &ours(&old))
                })
                .collect();
            // The offers to each chunk of points, in the order they were made.
            let chunks = n.div_ceil(APPLY_ROWS);
            let mut starts = vec![0usize; chunks + 1];
            for o in &offers {
                starts[o.0 as usize / APPLY_ROWS + 1] += 1;
            }
            for b in 0..chunks {
                starts[b + 1] += starts[b];
            }
            let mut at = starts.clone();
            let mut bucketed = vec![(0u32, 0u32, 0f32); offers.len()];
            for o in offers.drain(..) {
                let b = o.0 as usize / APPLY_ROWS;
                bucketed[at[b]] = o;
                at[b] += 1;
            }
            changed += self
                .par_chunks(APPLY_ROWS)
                .map(|mut part| {
                    let b = part.first / APPLY_ROWS;
                    let first = part.first;
                    bucketed[starts[b]..starts[b + 1]]
                        .iter()
                        .filter(|&&(i, j, d)| part.list(i as usize - first).offer(j, d))
                        .count()
                })
                .sum::<usize>();
        }
        changed
    }

    /// The offers from one point's candidates: every new–new and new–old pair nearer than the
    /// farthest either end holds, as (to, point, squared distance).
    fn join(&self, x: &Matrix, new: &[u32], old: &[u32]) -> Vec<(u32, u32, f32)> {
        // The candidates' rows and farthest distances, side by side.
        let d = x.cols;
        let all: Vec<u32> = new.iter().chain(old).copied().collect();
        let mut rows = Vec::with_capacity(all.len() * d);
        for &j in &all {
            rows.extend_from_slice(x.row(j as usize));
        }
        let worst: Vec<f32> = all.iter().map(|&j| self.worst(j as usize)).collect();
        // Bit b of held[a]: candidate a's list holds candidate b already (no offer needed).
        let mut by_row: Vec<(u32, u32)> = all
            .iter()
            .enumerate()
            .map(|(a, &j)| (j, a as u32))
            .collect();
        by_row.sort_unstable();
        let held: Vec<u64> = all
            .iter()
            .map(|&j| {
                let list = &self.ids[j as usize * self.k..(j as usize + 1) * self.k];
                let mut mask = 0u64;
                for m in list.iter().take_while(|&&m| m != EMPTY).map(|&m| m & ROW) {
                    let from = by_row.partition_point(|o| o.0 < m);
                    for o in by_row[from..].iter().take_while(|o| o.0 == m) {
                        mask |= 1 << o.1;
                    }
                }
                mask
            })
            .collect();
        let mut offers = Vec::new();
        for a in 0..new.len() {
            let row_a = &rows[a * d..(a + 1) * d];
            for b in a + 1..all.len() {
                let (ab, ba) = (held[a] >> b & 1 == 1, held[b] >> a & 1 == 1);
                if all[a] == all[b] || (ab && ba) {
                    continue;
                }
                let dist = squared(row_a, &rows[b * d..(b + 1) * d]);
                if !ab && dist < worst[a] {
                    offers.push((all[a], all[b], dist));
                }
                if !ba && dist < worst[b] {
                    offers.push((all[b], all[a], dist));
                }
            }
        }
        offers
    }

    /// Each point's candidates for a round, `size` places each (empty places [`EMPTY`]): new
    /// and old, each from its own neighbours and its reverse neighbours, the `size` with the
    /// lowest random priority. A pair's priority is a hash of the seed and the two rows, so
    /// what is kept does not depend on the order in which it is seen.
    fn candidates(&self, size: usize, seed: u64) -> (Vec<u32>, Vec<u32>) {
        let (n, k) = (self.ids.len() / self.k, self.k);
        // Each part holds the priorities of its rows (16 bytes a place) while it runs: eight
        // parts a thread keep that to 64 MB at a million rows, not 512 MB; each part reads
        // every list, which costs a few percent of a round.
        let parts = 8 * rayon::current_num_threads().max(1);
        let per = n.div_ceil(parts).max(1);
        let mut new = vec![EMPTY; n * size];
        let mut old = vec![EMPTY; n * size];
        new.par_chunks_mut(per * size)
            .zip(old.par_chunks_mut(per * size))
            .enumerate()
            .for_each(|(part, (new, old))| {
                let first = part * per;
                let last = first + new.len() / size;
                let mut priority = vec![u64::MAX; 2 * (last - first) * size];
                let (new_priority, old_priority) = priority.split_at_mut((last - first) * size);
                let mut keep = |to: usize, j: u32, fresh: bool, p: u64| {
                    let at = (to - first) * size..(to - first + 1) * size;
                    let (ids, keys) = if fresh {
                        (&mut new[at.clone()], &mut new_priority[at])
                    } else {
                        (&mut old[at.clone()], &mut old_priority[at])
                    };
                    keep_lowest(ids, keys, j, p);
                };
                for i in 0..n {
                    for s in 0..k {
                        let j = self.ids[i * k + s];
                        if j == EMPTY {
                            continue;
                        }
                        let (j, fresh) = (j & ROW, j & FRESH != 0);
                        let (lo, hi) = ((i as u64).min(j as u64), (i as u64).max(j as u64));
                        let p = mix(seed ^ mix(lo << 32 | hi));
                        if (first..last).contains(&i) {
                            keep(i, j, fresh, p);
                        }
                        if (first..last).contains(&(j as usize)) {
                            keep(j as usize, i as u32, fresh, p);
                        }
                    }
                }
            });
        (new, old)
    }

    /// The lists as rows, nearest first, without empty places.
    fn into_rows(self) -> Vec<Vec<u32>> {
        // The distances (half of every 8 bytes) go before the rows are made.
        let Lists { k, ids, .. } = self;
        ids.chunks(k)
            .map(|row| {
                row.iter()
                    .filter(|&&j| j != EMPTY)
                    .map(|&j| j & ROW)
                    .collect()
            })
            .collect()
    }
}

/// Keeps `j` among the lowest priorities held in `ids`/`keys` (sorted by priority, then row),
/// unless it is held already.
fn keep_lowest(ids: &mut [u32], keys: &mut [u64], j: u32, p: u64) {
    let last = ids.len() - 1;
    let before = |q: usize| keys[q] > p || (keys[q] == p && ids[q] > j);
    if !before(last) || ids.contains(&j) {
        return;
    }
    let mut at = last;
    while at > 0 && before(at - 1) {
        at -= 1;
    }
    ids.copy_within(at..last, at + 1);
    keys.copy_within(at..last, at + 1);
    ids[at] = j;
    keys[at] = p;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` points in 32 dimensions around 40 centres, with noise of different sizes.
    fn blobs(n: usize, seed: u64) -> Matrix {
        let mut rng = Lcg::new(seed);
        let centres: Vec<Vec<f32>> = (0..40)
            .map(|_| (0..32).map(|_| rng.normal()).collect())
            .collect();
        let mut data = Vec::with_capacity(n * 32);
        for i in 0..n {
            let spread = 0.2 + 0.6 * (i % 7) as f32 / 7.0;
            data.extend(centres[i % 40].iter().map(|c| c + spread * rng.normal()));
        }
        Matrix::from_vec(n, 32, data)
    }

    fn exact(x: &Matrix, k: usize) -> Vec<Vec<u32>> {
        (0..x.rows)
            .map(|i| {
                let mut all: Vec<(f32, u32)> = (0..x.rows)
                    .filter(|&j| j != i)
                    .map(|j| (squared(x.row(i), x.row(j)), j as u32))
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.into_iter().take(k).map(|(_, j)| j).collect()
            })
            .collect()
    }

    fn recall(found: &[Vec<u32>], truth: &[Vec<u32>]) -> f64 {
        let hits: usize = found
            .iter()
            .zip(truth)
            .map(|(f, t)| f.iter().filter(|j| t.contains(j)).count())
            .sum();
        hits as f64 / truth.iter().map(Vec::len).sum::<usize>() as f64
    }

    #[test]
    fn the_graph_finds_most_of_the_exact_neighbours() {
        let x = blobs(3000, 1);
        let found = knn_graph(&x, 15, 0);
        let truth = exact(&x, 15);
        let r = recall(&found, &truth);
        assert!(r >= 0.9, "recall@15 {r}");
        for (i, row) in found.iter().enumerate() {
            assert_eq!(row.len(), 15);
            assert!(
                !row.contains(&(i as u32)),
                "a point is not its own neighbour"
            );
            let d: Vec<f32> = row
                .iter()
                .map(|&j| squared(x.row(i), x.row(j as usize)))
                .collect();
            assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first");
        }
    }

    #[test]
    fn the_graph_depends_on_the_seed_not_on_the_threads() {
        let x = blobs(2500, 2);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| knn_graph(&x, 10, 3));
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap()
            .install(|| knn_graph(&x, 10, 3));
        assert_eq!(one, three);
        assert_eq!(one, knn_graph(&x, 10, 3));
    }

    #[test]
    fn copies_and_tiny_inputs_are_handled() {
        // 300 copies of one point and 300 of another: every list holds copies, no self.
        let x = Matrix::from_fn(
            600,
            8,
            |i, j| if (i % 2 == 0) == (j == 0) { 1.0 } else { 0.0 },
        );
        for (i, row) in knn_graph(&x, 5, 0).iter().enumerate() {
            assert_eq!(row.len(), 5);
            assert!(
                row.iter()
                    .all(|&j| j as usize % 2 == i % 2 && j as usize != i)
            );
        }
        assert_eq!(
            knn_graph(&Matrix::zeros(1, 4), 5, 0),
            vec![Vec::<u32>::new()]
        );
        let two = knn_graph(&Matrix::from_fn(2, 4, |i, _| i as f32), 5, 0);
        assert_eq!(two, vec![vec![1], vec![0]]);
    }
}
