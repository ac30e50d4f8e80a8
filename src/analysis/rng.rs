//! A small seeded generator, so every random choice in the analysis is reproducible.

/// 64-bit linear congruential generator (Knuth's MMIX constants), high bits used.
#[derive(Debug, Clone)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator for `seed` (the same seed always gives the same sequence).
    pub fn new(seed: u64) -> Lcg {
        let mut rng = Lcg(seed ^ 0x9e37_79b9_7f4a_7c15);
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform integer in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.uniform().max(f32::MIN_POSITIVE);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    /// `k` distinct indices from 0..n in increasing order (all of them if k ≥ n).
    pub fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        if k >= n {
            return (0..n).collect();
        }
        // Floyd's algorithm.
        let mut chosen = std::collections::BTreeSet::new();
        for j in n - k..n {
            let t = self.below(j + 1);
            if !chosen.insert(t) {
                chosen.insert(j);
            }
        }
        chosen.into_iter().collect()
    }
}

/// SplitMix64's finaliser: spreads nearby seeds (epoch, block, row) over unrelated streams.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Test data: `groups` tight groups of `size` unit vectors in 24-D, rows interleaved.
#[cfg(test)]
pub(crate) fn groups(groups: usize, size: usize, spread: f32) -> crate::collection::matrix::Matrix {
    let (dim, mut rng) = (24, Lcg::new(5));
    let centres: Vec<Vec<f32>> = (0..groups)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    let mut x = crate::collection::matrix::Matrix::zeros(groups * size, dim);
    for i in 0..groups * size {
        let mut v: Vec<f32> = centres[i % groups]
            .iter()
            .map(|c| c + spread * rng.normal())
            .collect();
        crate::features::l2_normalize(&mut v);
        x.row_mut(i).copy_from_slice(&v);
    }
    x
}
