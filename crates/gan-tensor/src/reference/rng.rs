//! Reference counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw,
//! "Parallel random numbers: as easy as 1, 2, 3", SC 2011) in plain integer math, bit for
//! bit what `shaders/rng.wgsl` computes.
//!
//! Element `4 * b + j` of a draw is word `j` of Philox(counter = [b, 0, stream_lo,
//! stream_hi], key = [seed_lo, seed_hi]).

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds on one counter block.
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        let p0 = M0 as u64 * c[0] as u64;
        let p1 = M1 as u64 * c[2] as u64;
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
    }
    c
}

/// The `n` raw 32-bit words of a draw.
pub fn bits(n: usize, seed: u64, stream: u64) -> Vec<u32> {
    let key = [seed as u32, (seed >> 32) as u32];
    let mut out = Vec::with_capacity(n.next_multiple_of(4));
    for b in 0..n.div_ceil(4) {
        let ctr = [
            b as u32,
            (b as u64 >> 32) as u32,
            stream as u32,
            (stream >> 32) as u32,
        ];
        out.extend_from_slice(&philox4x32_10(ctr, key));
    }
    out.truncate(n);
    out
}

/// The largest f32 below `x` (x finite).
pub fn next_below(x: f32) -> f32 {
    if x == 0.0 {
        -f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() - 1)
    } else {
        f32::from_bits(x.to_bits() + 1)
    }
}

/// Uniform in [lo, hi): the top 24 bits as u in [0, 1), then `lo + (hi - lo) * u` in f32,
/// clamped below `hi` (rounding may reach it).
pub fn uniform(n: usize, lo: f32, hi: f32, seed: u64, stream: u64) -> Vec<f32> {
    let range = hi - lo;
    let top = next_below(hi);
    bits(n, seed, stream)
        .into_iter()
        .map(|r| {
            let u = (r >> 8) as f32 * (1.0 / 16_777_216.0);
            (lo + range * u).min(top)
        })
        .collect()
}

/// -ln(u) for u = (k + 1) / 2^24, k the top 24 bits of `r`, in f64.
fn neg_log_u(r: u32) -> f64 {
    -((((r >> 8) + 1) as f64) / 16_777_216.0).ln()
}

/// Normal N(mean, std^2) by Box-Muller on word pairs: u1 = (k0 + 1) / 2^24 in (0, 1],
/// angle = pi * (2 k1 / 2^24 - 1) in [-pi, pi); words 2i and 2i+1 give r cos and r sin,
/// r = sqrt(-2 ln u1). Computed in f64 (the GPU's f32 transcendentals differ slightly).
pub fn normal(n: usize, mean: f32, std: f32, seed: u64, stream: u64) -> Vec<f32> {
    let words = bits(n.next_multiple_of(2), seed, stream);
    let mut out = Vec::with_capacity(words.len());
    for pair in words.chunks_exact(2) {
        let r = (2.0 * neg_log_u(pair[0])).sqrt();
        let theta = std::f64::consts::PI * ((pair[1] >> 8) as f64 / 8_388_608.0 - 1.0);
        for z in [r * theta.cos(), r * theta.sin()] {
            out.push((mean as f64 + std as f64 * z) as f32);
        }
    }
    out.truncate(n);
    out
}

/// Elements `offset..offset + n` of [`uniform`]'s draw (a shard of a larger draw).
pub fn uniform_at(n: usize, offset: usize, lo: f32, hi: f32, seed: u64, stream: u64) -> Vec<f32> {
    uniform(offset + n, lo, hi, seed, stream).split_off(offset)
}

/// Elements `offset..offset + n` of [`normal`]'s draw (a shard of a larger draw).
pub fn normal_at(n: usize, offset: usize, mean: f32, std: f32, seed: u64, stream: u64) -> Vec<f32> {
    normal(offset + n, mean, std, seed, stream).split_off(offset)
}

/// The inverted-dropout mask of [`crate::rng::dropout_at`]: 1 / (1 - p) where element
/// `offset + i` of the [0, 1) uniform draw exceeds `p`, else 0.
pub fn dropout_mask(n: usize, offset: usize, p: f32, seed: u64, stream: u64) -> Vec<f32> {
    let keep = 1.0 / (1.0 - p);
    uniform_at(n, offset, 0.0, 1.0, seed, stream)
        .into_iter()
        .map(|u| if u > p { keep } else { 0.0 })
        .collect()
}
