//! Helpers for comparing GPU results with the CPU reference, shared by the tests of this
//! crate and of the crates above it.

use std::cell::Cell;
use std::sync::OnceLock;

use crate::rng::SplitMix64;
use crate::Context;

/// The device shared by all the tests of one test binary (opened at the first call,
/// which prints the adapter once).
///
/// Each thread that calls it (libtest runs every test on a thread of its own) waits for
/// the device's work when it ends. The context is a `static`, never dropped, so without
/// that a test's last unread dispatches may still be running in the driver when the
/// process exits: on Mesa's lavapipe (22.3, LLVM 15) the driver's queue thread then
/// compiles a shader while the C library destroys LLVM's statics, and a binary whose
/// tests all passed dies with SIGSEGV or SIGABRT (CI stop 22: `conv_errors`; measured 3 of
/// 150 exits here, with the shader cache off and the CPU loaded). An `atexit` hook that
/// waits is no cure: LLVM registers its statics' destructors lazily, after such a hook,
/// so they run first and the wait crashes nearly every time. Thread-local destructors run
/// before any of those handlers (the main thread's at the start of `exit`).
pub fn shared_context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    let ctx = CTX.get_or_init(|| {
        let ctx = Context::new().expect("a wgpu adapter (see README: mesa-vulkan-drivers)");
        eprintln!("adapter: {}", ctx.adapter());
        ctx
    });
    WAIT_AT_THREAD_EXIT.with(|w| w.0.set(Some(ctx)));
    ctx
}

/// Waits for the shared context's work when its thread ends (see [`shared_context`]).
struct WaitAtThreadExit(Cell<Option<&'static Context>>);

impl Drop for WaitAtThreadExit {
    fn drop(&mut self) {
        if let Some(ctx) = self.0.get() {
            // On a fresh thread: this one's other thread-locals (wgpu's lock tracing in
            // debug builds) may be gone already. A lost device or a timeout has been
            // reported by the test itself.
            let _ = std::thread::spawn(move || ctx.sync()).join();
        }
    }
}

thread_local! {
    static WAIT_AT_THREAD_EXIT: WaitAtThreadExit = const { WaitAtThreadExit(Cell::new(None)) };
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
