//! The map's frame: bounds that a few far images do not stretch. A map of 266 wallpapers
//! with a handful of odd ones far out drew the other 250 in a small pile in the middle; the
//! frame is set by the bulk of the images instead, and the far ones are drawn in a thin band
//! at its edge, in their order, and marked.
//!
//! Per axis, the ⌈[`TAIL`] · n⌉ least and greatest coordinates are set aside and the span of
//! the others is widened each side by [`FENCE`] times itself: these are the fences (Tukey's,
//! on wider quantiles than his quartiles). The images inside the fences set the frame (their
//! least and greatest coordinate); each image beyond is moved into a band [`BAND`] of the
//! frame's span wide past the edge, the farther out the nearer the band's outer side, so that
//! its order and the shape of a far group are kept. A normal or uniform spread of points has
//! none beyond the fences (a normal one past 4 standard deviations), so most maps are drawn
//! as they were; maps of fewer than [`FRAMED_FROM`] points are drawn whole.

/// Share of the points that may lie beyond each side of the frame, per axis: the fences
/// start from about the 2nd and the 98th percentile.
pub const TAIL: f32 = 0.02;

/// The fewest points framed: fewer tell too little of what is far.
pub const FRAMED_FROM: usize = 10;

/// How far the fences stand past those percentiles, in the span between them.
pub const FENCE: f32 = 0.5;

/// The width of the band past an edge that holds the points beyond it, in the frame's span.
pub const BAND: f32 = 0.04;

/// A map's points placed in its frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Framed {
    /// Each point where it is drawn, in map units: where it is, inside the frame; in the band
    /// past the frame's edge, outside it.
    pub at: Vec<[f32; 2]>,
    /// Each point's side beyond the frame, per axis (x, y): −1 below its least value, 1
    /// past its greatest, 0 inside.
    pub outside: Vec<[i8; 2]>,
    /// The frame, in map units: (x₀, y₀, x₁, y₁), the extent of the points inside it. The
    /// points beyond lie within [`BAND`] of its span past it.
    pub frame: [f32; 4],
    /// How many points lie beyond the frame (on either axis).
    pub beyond: usize,
}

/// Frames `map` (points in map units, x right and y up): see the module's text. Points with
/// a coordinate that is not finite are left where they are and counted inside.
pub fn frame(map: &[[f32; 2]]) -> Framed {
    let mut at = map.to_vec();
    let mut outside = vec![[0i8; 2]; map.len()];
    let mut frame = [0.0, 0.0, 1.0, 1.0];
    for axis in 0..2 {
        let values: Vec<f32> = map
            .iter()
            .map(|p| p[axis])
            .filter(|v| v.is_finite())
            .collect();
        let Some((lo, hi)) = inner(values) else {
            continue;
        };
        frame[axis] = lo;
        frame[axis + 2] = hi;
        let span = hi - lo;
        let band = BAND * span;
        for (i, p) in map.iter().enumerate() {
            let v = p[axis];
            // d / (d + span) grows from 0 to 1 as the point goes out: the band keeps order.
            if v < lo {
                let d = lo - v;
                at[i][axis] = lo - band * d / (d + span);
                outside[i][axis] = -1;
            } else if v > hi {
                let d = v - hi;
                at[i][axis] = hi + band * d / (d + span);
                outside[i][axis] = 1;
            }
        }
    }
    let beyond = outside.iter().filter(|o| **o != [0, 0]).count();
    Framed {
        at,
        outside,
        frame,
        beyond,
    }
}

/// The least and greatest of `values` inside the fences (all of them when they are too few
/// or the ones kept span nothing); `None` for no values.
fn inner(mut values: Vec<f32>) -> Option<(f32, f32)> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable_by(f32::total_cmp);
    let n = values.len();
    let (min, max) = (values[0], values[n - 1]);
    let aside = (TAIL * n as f32).ceil() as usize;
    let (q0, q1) = (values[aside.min(n - 1)], values[n - 1 - aside.min(n - 1)]);
    let spread = q1 - q0;
    if n < FRAMED_FROM || spread <= 0.0 {
        return Some((min, max));
    }
    let (fence0, fence1) = (q0 - FENCE * spread, q1 + FENCE * spread);
    let lo = values.iter().copied().find(|&v| v >= fence0)?;
    let hi = values.iter().rev().copied().find(|&v| v <= fence1)?;
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), uniform in 0..1.
    fn uniform(state: &mut u64) -> f32 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state >> 40) as f32 / (1u64 << 24) as f32
    }

    #[test]
    fn three_far_points_do_not_stretch_the_frame_and_are_drawn_in_the_band_marked() {
        let mut s = 7;
        let mut map: Vec<[f32; 2]> = (0..200)
            .map(|_| [uniform(&mut s), uniform(&mut s)])
            .collect();
        map.push([50.0, 0.5]);
        map.push([-40.0, 0.2]);
        map.push([80.0, 90.0]);
        let f = frame(&map);
        let [x0, y0, x1, y1] = f.frame;
        assert!(
            x0 > -0.01 && x1 < 1.01 && y0 > -0.01 && y1 < 1.01,
            "{:?}",
            f.frame
        );
        assert_eq!(f.beyond, 3);
        assert_eq!(f.outside[200], [1, 0]);
        assert_eq!(f.outside[201], [-1, 0]);
        assert_eq!(f.outside[202], [1, 1]);
        assert!(f.outside[..200].iter().all(|o| *o == [0, 0]));
        // Inside points stay; the far ones lie in the band past the edge, on their side.
        assert_eq!(&f.at[..200], &map[..200]);
        let band = BAND * (x1 - x0);
        let [x, y] = f.at[200];
        assert!(x > x1 && x < x1 + band && y == 0.5, "{:?}", f.at[200]);
        let [x, _] = f.at[201];
        assert!(x < x0 && x > x0 - band);
        let [x, y] = f.at[202];
        assert!(x > x1 && y > y1 && y < y1 + BAND * (y1 - y0));
        // Farther out is drawn farther out.
        let g = frame(&[map.clone(), vec![[500.0, 0.5]]].concat());
        assert!(g.at[203][0] > g.at[200][0]);
    }

    #[test]
    fn spreads_without_far_points_are_framed_whole() {
        let mut s = 11;
        // Uniform, and normal (sums of twelve uniforms), and two blobs far apart.
        let uniform_map: Vec<[f32; 2]> = (0..1000)
            .map(|_| [uniform(&mut s), uniform(&mut s)])
            .collect();
        let normal = |s: &mut u64| (0..12).map(|_| uniform(s)).sum::<f32>() - 6.0;
        let normal_map: Vec<[f32; 2]> = (0..1000)
            .map(|_| [normal(&mut s), normal(&mut s)])
            .collect();
        let blobs: Vec<[f32; 2]> = (0..300)
            .map(|i| {
                let far = if i % 3 == 0 { 100.0 } else { 0.0 };
                [far + uniform(&mut s), uniform(&mut s)]
            })
            .collect();
        for map in [uniform_map, normal_map, blobs] {
            let f = frame(&map);
            assert_eq!(f.beyond, 0);
            assert_eq!(f.at, map);
        }
    }

    #[test]
    fn small_and_flat_maps_are_left_alone() {
        for map in [
            vec![],
            vec![[1.0, 2.0]],
            vec![[0.0, 0.0], [10.0, -3.0]],
            vec![[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]],
            vec![[5.0, 5.0]; 50],
        ] {
            let f = frame(&map);
            assert_eq!(f.beyond, 0, "{map:?}");
            assert_eq!(f.at, map);
        }
        // Fifteen (the explorer's test collection): one far off is told.
        let mut map: Vec<[f32; 2]> = (0..15).map(|i| [(i % 4) as f32, (i / 4) as f32]).collect();
        map[6][0] = 300.0;
        let f = frame(&map);
        assert_eq!((f.beyond, f.outside[6]), (1, [1, 0]));
        assert_eq!(f.frame, [0.0, 0.0, 3.0, 3.0]);
        // Many points on one spot and a few off it: the spot does not make them far.
        let mut map = vec![[5.0, 5.0]; 100];
        map.push([6.0, 5.0]);
        assert_eq!(frame(&map).beyond, 0);
    }
}
