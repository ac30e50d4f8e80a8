//! Shared by the timing examples: a real stored collection, grown to a larger n.

use imgtui::Collection;
use imgtui::analysis::rng::Lcg;

/// Adds `copies - 1` jittered copies of every vector (noise of 0.02 per component,
/// renormalised), to time a real collection at a larger n.
pub fn grow(c: &mut Collection, copies: usize) {
    let base = c.len();
    let mut rng = Lcg::new(1);
    for copy in 1..copies {
        for i in 0..base {
            let mut v: Vec<f32> = c.row(i).iter().map(|x| x + 0.02 * rng.normal()).collect();
            let norm = imgtui::features::l2_normalize(&mut v);
            let norm = c.norms[i] * norm;
            c.push(format!("copy{copy}/{i}").into(), [0; 32], &v, norm);
        }
    }
}

/// This process's resident memory now and at its peak, in MB (Linux; zeros elsewhere).
#[allow(dead_code)]
pub fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
