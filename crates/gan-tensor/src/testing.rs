//! Helpers for comparing GPU results with the CPU reference, shared by the tests of this
//! crate and of the crates above it.

use std::sync::OnceLock;

use crate::rng::SplitMix64;
use crate::Context;

/// The device shared by all the tests of one test binary (opened at the first call,
/// which prints the adapter once).
pub fn shared_context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let ctx = Context::new().expect("a wgpu adapter (see README: mesa-vulkan-drivers)");
        eprintln!("adapter: {}", ctx.adapter());
        ctx
    })
}

/// A small seeded generator for test inputs: [`SplitMix64`] from state `seed ^ gamma`;
/// no dependency, same on every machine.
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed ^ SplitMix64::GAMMA))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    /// `n` values uniform in [lo, hi).
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// `n` seeded values uniform in [lo, hi).
pub fn random(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    Rng::new(seed).vec(n, lo, hi)
}

/// Where `got` and `want` differ by more than `atol + rtol * |want|`, the worst such
/// element as (index, got, want); None when they agree (and have equal lengths).
pub fn first_mismatch(
    got: &[f32],
    want: &[f32],
    rtol: f32,
    atol: f32,
) -> Option<(usize, f32, f32)> {
    if got.len() != want.len() {
        return Some((usize::MAX, got.len() as f32, want.len() as f32));
    }
    let mut worst: Option<(usize, f32, f32, f32)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = atol + rtol * w.abs();
        let err = (g - w).abs();
        // NaN errors count as bad unless both sides are NaN; equal infinities are fine.
        let within = err <= tol || (g.is_nan() && w.is_nan()) || g == w;
        let bad = !within;
        if bad {
            let excess = if err.is_nan() {
                f32::INFINITY
            } else {
                err - tol
            };
            if worst.is_none_or(|(_, _, _, e)| excess > e) {
                worst = Some((i, g, w, excess));
            }
        }
    }
    worst.map(|(i, g, w, _)| (i, g, w))
}

/// Panics, naming the case and the worst element, unless `got` matches `want` within
/// `atol + rtol * |want|` elementwise.
#[track_caller]
pub fn assert_close(case: &str, got: &[f32], want: &[f32], rtol: f32, atol: f32) {
    if let Some((i, g, w)) = first_mismatch(got, want, rtol, atol) {
        if i == usize::MAX {
            panic!("{case}: length {g} but reference has {w}");
        }
        panic!("{case}: element {i} is {g}, reference {w} (rtol {rtol}, atol {atol})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_is_found_and_agreement_passes() {
        assert_eq!(first_mismatch(&[1.0, 2.0], &[1.0, 2.0005], 1e-3, 0.0), None);
        assert_eq!(
            first_mismatch(&[1.0, 2.1], &[1.0, 2.0], 1e-3, 0.0),
            Some((1, 2.1, 2.0))
        );
        assert!(first_mismatch(&[1.0], &[1.0, 2.0], 1.0, 1.0).is_some());
        assert!(first_mismatch(&[f32::NAN], &[1.0], 1.0, 1.0).is_some());
    }
}
