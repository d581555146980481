//! Shared by the gradcheck binaries (gradcheck_ops.rs, gradcheck_layers.rs,
//! gradcheck_losses.rs, gradcheck_tape.rs): seeded inputs for `common::gradcheck`, and
//! host copies of a Var's value and gradient.
//!
//! Method (see `common::gradcheck` and `common::Tol`): the GPU forward must match the CPU
//! forward; then with a fixed random cotangent r, L = sum(y * r) is back-propagated, and
//! for each input and three random directions d the finite difference
//! (L(x + h d) - L(x - h d)) / 2h, computed entirely in f64 on the CPU, must equal
//! <grad, d> within `rtol * max(|fd|, |ad|) + floor * sum |grad_i d_i|`. Inputs of at most
//! 512 elements (all but the largest in each file) are also checked element by element.
//! Unless a case says otherwise: h = 1e-3, rtol = 1e-3, floor = 1e-4, forward rtol 1e-4 and atol 1e-5.
//! Non-smooth ops get inputs (or pre-activations) kept further than h * (largest possible
//! move) from their kink at 0, so no difference straddles it.
#![allow(dead_code)]

use crate::common::{rand, rand_away_from_zero};
use gan_nn::Var;

pub fn input(seed: u64, dims: &[usize], lo: f32, hi: f32) -> (Vec<f32>, Vec<usize>) {
    let n = dims.iter().product();
    (rand(seed, n, lo, hi), dims.to_vec())
}

pub fn input_away(seed: u64, dims: &[usize], lo: f32, hi: f32) -> (Vec<f32>, Vec<usize>) {
    let n = dims.iter().product();
    (rand_away_from_zero(seed, n, lo, hi), dims.to_vec())
}

/// The value of `v`, on the host.
pub fn values(v: &Var) -> Vec<f32> {
    v.value().to_vec().unwrap()
}

/// The gradient of `v`, on the host (panics when it has none).
pub fn grad_of(v: &Var) -> Vec<f32> {
    v.grad().expect("a gradient").to_vec().unwrap()
}
