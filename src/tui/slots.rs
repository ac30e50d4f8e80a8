//! Thumbnail slots: the images of the map picture snapped to a grid of slots, one image a
//! slot, so that none hides another, each as near its map place as the others let it be.
//!
//! When the images fit ([`place`] with no more images than slots), every image gets a slot:
//! first greedily (images alone in their slot first, then the crowded ones, nearest their
//! slot's centre first, each to the free slot nearest its place), then improved by swapping
//! pairs of nearby slots and moving to nearby free ones while that brings the images nearer
//! their places (a local search on the sum of squared distances, the cost of the optimal
//! assignment, which keeps the order of the images of a pile as it spreads it). Empty parts of
//! the map stay empty while there is room. When they do not fit, as many representatives as
//! there are slots are chosen, spread like the map's images (the images are split, along the
//! wider side each time, into as many groups of about equal size as there are slots, and the
//! one of each group nearest its middle stands for it, the current image and the current
//! cluster's first), and placed so: every slot shows an image, a dense part of the map gets
//! more slots than a sparse one, and zooming in shows the others.

/// How far (in slots, each way) the local search looks for a better slot.
const REACH: usize = 2;

/// Most rounds of the local search.
const ROUNDS: usize = 8;

/// Each image's slot `[column, row]` in a grid of `columns × rows` (row 0 at the top), or
/// `None` for one left out (only when there are more images than slots: then every slot is
/// taken).
///
/// `at` holds the images' places in the picture, 0..1 across and 0..1 up (outside is taken
/// as the edge); `keep` ranks them for standing for a group (higher first; only used when
/// they do not all fit). No two images get the same slot; deterministic.
pub fn place(at: &[[f32; 2]], keep: &[u8], columns: usize, rows: usize) -> Vec<Option<[u32; 2]>> {
    let slots = columns * rows;
    let n = at.len();
    if slots == 0 {
        return vec![None; n];
    }
    let grid = Grid {
        columns,
        rows,
        p: at
            .iter()
            .map(|&[x, y]| {
                let x = if x.is_finite() { x } else { 0.5 };
                let y = if y.is_finite() { y } else { 0.5 };
                [
                    (x * columns as f32).clamp(0.0, columns as f32 - 1e-3),
                    ((1.0 - y) * rows as f32).clamp(0.0, rows as f32 - 1e-3),
                ]
            })
            .collect(),
    };
    let mut shown: Vec<usize> = (0..n).collect();
    if n > slots {
        let mut chosen = Vec::with_capacity(slots);
        grid.represent(&mut shown, keep, slots, &mut chosen);
        shown = chosen;
    }
    let mut crowd = vec![0u32; slots];
    for &i in &shown {
        crowd[grid.home(i)] += 1;
    }
    shown.sort_by(|&a, &b| {
        let (sa, sb) = (grid.home(a), grid.home(b));
        crowd[sa]
            .cmp(&crowd[sb])
            .then(grid.cost(a, sa).total_cmp(&grid.cost(b, sb)))
            .then(a.cmp(&b))
    });
    let mut holder: Vec<Option<u32>> = vec![None; slots];
    for i in shown {
        let s = grid.nearest_free(i, &holder);
        holder[s] = Some(i as u32);
    }
    grid.improve(&mut holder);
    let mut slot = vec![None; n];
    for (s, h) in holder.iter().enumerate() {
        if let Some(i) = h {
            slot[*i as usize] = Some([(s % columns) as u32, (s / columns) as u32]);
        }
    }
    slot
}

/// The grid and the images' places on it, in slots (column, row from the top).
struct Grid {
    columns: usize,
    rows: usize,
    p: Vec<[f32; 2]>,
}

impl Grid {
    /// The slot image `i`'s place is in (slots are numbered row by row).
    fn home(&self, i: usize) -> usize {
        let [x, y] = self.p[i];
        y as usize * self.columns + x as usize
    }

    /// Squared distance from image `i`'s place to slot `s`'s centre, in slots.
    fn cost(&self, i: usize, s: usize) -> f32 {
        let [x, y] = self.p[i];
        let (c, r) = (
            (s % self.columns) as f32 + 0.5,
            (s / self.columns) as f32 + 0.5,
        );
        (x - c).powi(2) + (y - r).powi(2)
    }

    /// Chooses `groups` of the images `of` (at least as many) to stand for them all, into
    /// `chosen`: splits them along the wider side of their extent into two sets sized in
    /// proportion to halves of `groups`, down to one group, and keeps of each the image
    /// ranked highest by `keep`, then nearest the group's mean place.
    fn represent(&self, of: &mut [usize], keep: &[u8], groups: usize, chosen: &mut Vec<usize>) {
        if groups == 0 || of.is_empty() {
            return;
        }
        if groups == 1 {
            let k = of.len() as f32;
            let mean = of.iter().fold([0.0, 0.0], |[x, y], &i| {
                [x + self.p[i][0] / k, y + self.p[i][1] / k]
            });
            let far =
                |i: usize| (self.p[i][0] - mean[0]).powi(2) + (self.p[i][1] - mean[1]).powi(2);
            let best = of.iter().copied().min_by(|&a, &b| {
                keep.get(b)
                    .cmp(&keep.get(a))
                    .then(far(a).total_cmp(&far(b)))
                    .then(a.cmp(&b))
            });
            chosen.extend(best);
            return;
        }
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for &i in of.iter() {
            for axis in 0..2 {
                lo[axis] = lo[axis].min(self.p[i][axis]);
                hi[axis] = hi[axis].max(self.p[i][axis]);
            }
        }
        let axis = usize::from(hi[1] - lo[1] > hi[0] - lo[0]);
        let first = groups / 2;
        let n = of.len();
        let k = ((n * first + groups / 2) / groups).clamp(first, n - (groups - first));
        of.select_nth_unstable_by(k, |&a, &b| {
            self.p[a][axis].total_cmp(&self.p[b][axis]).then(a.cmp(&b))
        });
        let (a, b) = of.split_at_mut(k);
        self.represent(a, keep, first, chosen);
        self.represent(b, keep, groups - first, chosen);
    }

    /// The free slot nearest image `i`'s place (there is one), searched ring by ring around
    /// its own slot; of two as near, the one found first (its own slot before any other).
    fn nearest_free(&self, i: usize, holder: &[Option<u32>]) -> usize {
        let home = self.home(i);
        let (hc, hr) = (
            (home % self.columns) as isize,
            (home / self.columns) as isize,
        );
        let mut best: Option<(f32, usize)> = None;
        for ring in 0..=self.columns.max(self.rows) as isize {
            // Every slot of this ring is at least ring − ½ slots away.
            if let Some((d, _)) = best
                && ring > 0
                && (ring as f32 - 0.5).powi(2) > d
            {
                break;
            }
            for r in hr - ring..=hr + ring {
                if r < 0 || r >= self.rows as isize {
                    continue;
                }
                let edge = r == hr - ring || r == hr + ring;
                let step = if edge { 1 } else { (2 * ring).max(1) as usize };
                for c in (hc - ring..=hc + ring).step_by(step) {
                    if c < 0 || c >= self.columns as isize {
                        continue;
                    }
                    let s = r as usize * self.columns + c as usize;
                    if holder[s].is_some() {
                        continue;
                    }
                    let d = self.cost(i, s);
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, s));
                    }
                }
            }
        }
        best.expect("a free slot").1
    }

    /// The local search: swaps two images of slots at most [`REACH`] apart, or moves one to
    /// a free slot there, while that lowers their summed squared distances.
    fn improve(&self, holder: &mut [Option<u32>]) {
        let reach = REACH as isize;
        for _ in 0..ROUNDS {
            let mut better = false;
            for s in 0..holder.len() {
                let Some(a) = holder[s] else {
                    continue;
                };
                let (sc, sr) = ((s % self.columns) as isize, (s / self.columns) as isize);
                'look: for r in sr - reach..=sr + reach {
                    for c in sc - reach..=sc + reach {
                        if r < 0 || c < 0 || r >= self.rows as isize || c >= self.columns as isize {
                            continue;
                        }
                        let t = r as usize * self.columns + c as usize;
                        if t == s {
                            continue;
                        }
                        let b = holder[t];
                        let now =
                            self.cost(a as usize, s) + b.map_or(0.0, |b| self.cost(b as usize, t));
                        let then =
                            self.cost(a as usize, t) + b.map_or(0.0, |b| self.cost(b as usize, s));
                        if then < now - 1e-4 {
                            holder[t] = Some(a);
                            holder[s] = b;
                            better = true;
                            break 'look;
                        }
                    }
                }
            }
            if !better {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn uniform(state: &mut u64) -> f32 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 40) as f32 / (1u64 << 24) as f32
    }

    fn distinct(slots: &[Option<[u32; 2]>], columns: usize, rows: usize) {
        let mut seen = HashSet::new();
        for s in slots.iter().flatten() {
            assert!((s[0] as usize) < columns && (s[1] as usize) < rows, "{s:?}");
            assert!(seen.insert(*s), "slot {s:?} twice");
        }
    }

    /// The slot's centre in picture units (0..1 across, 0..1 up).
    fn centre([c, r]: [u32; 2], columns: usize, rows: usize) -> [f32; 2] {
        [
            (c as f32 + 0.5) / columns as f32,
            1.0 - (r as f32 + 0.5) / rows as f32,
        ]
    }

    #[test]
    fn a_pile_is_spread_so_that_every_image_has_a_slot_of_its_own_in_its_order() {
        // 200 images in a small pile in the middle and 30 in a row along the bottom, on
        // 30 × 16 slots (half of them filled, as in the map picture).
        let mut s = 5;
        let mut at: Vec<[f32; 2]> = (0..200)
            .map(|_| {
                [
                    0.5 + 0.02 * (uniform(&mut s) - 0.5),
                    0.5 + 0.02 * (uniform(&mut s) - 0.5),
                ]
            })
            .collect();
        at.extend((0..30).map(|i| [(i as f32 + 0.5) / 30.0, 0.02]));
        let (columns, rows) = (30, 16);
        let slots = place(&at, &vec![0; at.len()], columns, rows);
        assert!(slots.iter().all(Option::is_some), "every image is shown");
        distinct(&slots, columns, rows);
        // The row along the bottom stays within a slot of its places: the pile spreads
        // around it (sharing out the moves, as the least squared distances do).
        for (i, slot) in slots[200..].iter().enumerate() {
            let [c, r] = slot.unwrap();
            assert!(c.abs_diff(i as u32) <= 1 && r >= 14, "image {i} at {c},{r}");
        }
        // The pile keeps its order: of two images a little apart, the left one lands left
        // (or in the same column), the upper one above, nearly always.
        for axis in 0..2 {
            let (mut agree, mut pairs) = (0, 0);
            for (pa, sa) in at[..200].iter().zip(&slots) {
                for (pb, sb) in at[..200].iter().zip(&slots) {
                    if pa[axis] + 0.004 < pb[axis] {
                        pairs += 1;
                        let (sa, sb) = (sa.unwrap(), sb.unwrap());
                        agree += if axis == 0 {
                            sa[0] <= sb[0]
                        } else {
                            sa[1] >= sb[1]
                        } as usize;
                    }
                }
            }
            assert!(
                agree as f32 > 0.95 * pairs as f32,
                "axis {axis}: {agree} of {pairs}"
            );
        }
    }

    #[test]
    fn images_alone_in_their_slot_stay_there_and_neighbours_stay_near() {
        // A 6 × 4 lattice of places: each lands in its own slot of a 12 × 8 grid.
        let at: Vec<[f32; 2]> = (0..24)
            .map(|i| [(i % 6) as f32 / 6.0 + 0.05, (i / 6) as f32 / 4.0 + 0.05])
            .collect();
        let slots = place(&at, &[0; 24], 12, 8);
        for (i, s) in slots.iter().enumerate() {
            let [c, r] = s.unwrap();
            let [x, y] = centre([c, r], 12, 8);
            assert!(
                (x - at[i][0]).abs() < 0.05 && (y - at[i][1]).abs() < 0.07,
                "{i}"
            );
        }
        // Random places at a quarter of the slots: every one shown, at most a few slots away.
        let mut s = 3;
        let at: Vec<[f32; 2]> = (0..300)
            .map(|_| [uniform(&mut s), uniform(&mut s)])
            .collect();
        let slots = place(&at, &vec![0; 300], 40, 30);
        distinct(&slots, 40, 30);
        for (i, slot) in slots.iter().enumerate() {
            let [x, y] = centre(slot.unwrap(), 40, 30);
            let d = ((x - at[i][0]) * 40.0).hypot((y - at[i][1]) * 30.0);
            assert!(d < 3.0, "image {i} moved {d} slots");
        }
    }

    #[test]
    fn more_images_than_slots_fill_every_slot_a_dense_part_taking_more() {
        // 400 images in the left half, 100 in the right, and the current one: 10 × 5 slots.
        let mut s = 9;
        let mut at: Vec<[f32; 2]> = (0..500)
            .map(|i| {
                let x = uniform(&mut s) / 2.0;
                [if i < 400 { x } else { 0.5 + x }, uniform(&mut s)]
            })
            .collect();
        let mut keep = vec![0u8; 500];
        at.push([0.9, 0.9]);
        keep.push(2);
        let slots = place(&at, &keep, 10, 5);
        distinct(&slots, 10, 5);
        assert_eq!(
            slots.iter().flatten().count(),
            50,
            "every slot shows an image"
        );
        assert!(slots[500].is_some(), "the current image is one of them");
        let left = slots[..400].iter().flatten().count();
        assert!(
            (38..=42).contains(&left),
            "the dense half has 4 in 5: {left}"
        );
        // Each shown image lies within a few slots of its place, the left ones leftmost.
        for (i, slot) in slots.iter().enumerate() {
            if let Some(sl) = slot {
                let [x, y] = centre(*sl, 10, 5);
                let d = ((x - at[i][0]) * 10.0).hypot((y - at[i][1]) * 5.0);
                assert!(d < 3.5, "image {i} moved {d} slots");
            }
        }
        // Nothing to place on: all left out.
        assert_eq!(place(&at, &keep, 0, 5), vec![None; 501]);
    }
}
