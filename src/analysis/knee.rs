//! Kneedle (Satopää et al. 2011): the point of a curve furthest from the straight line
//! through its ends, after scaling both axes to 0..1.

/// Index of the elbow of a decreasing curve, such as inertia over k.
pub fn elbow_of_decreasing(ys: &[f32]) -> usize {
    furthest_from_chord(ys, |x, y| (1.0 - x) - y)
}

/// Index of the knee of an increasing curve, such as sorted k-distances.
pub fn knee_of_increasing(ys: &[f32]) -> usize {
    furthest_from_chord(ys, |x, y| x - y)
}

fn furthest_from_chord(ys: &[f32], gap: impl Fn(f32, f32) -> f32) -> usize {
    if ys.len() < 3 {
        return 0;
    }
    let (lo, hi) = ys
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &y| {
            (lo.min(y), hi.max(y))
        });
    let span = (hi - lo).max(f32::MIN_POSITIVE);
    let last = (ys.len() - 1) as f32;
    (0..ys.len())
        .map(|i| (i, gap(i as f32 / last, (ys[i] - lo) / span)))
        .fold((0, f32::NEG_INFINITY), |best, (i, g)| {
            if g > best.1 { (i, g) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bend() {
        // Falls steeply until index 3, then flattens.
        let inertia = [100.0, 60.0, 30.0, 10.0, 9.0, 8.0, 7.5, 7.0];
        assert_eq!(elbow_of_decreasing(&inertia), 3);
        let kdist = [0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.5, 0.9];
        assert_eq!(knee_of_increasing(&kdist), 5);
    }
}
