//! Shared by the integration tests: one device per test binary.
#![allow(dead_code)]

use gan_tensor::{Context, Tensor};

/// Shapes that are not multiples of any tile size.
pub const AWKWARD: &[usize] = &[1, 3, 17, 63, 65, 127, 129, 257];

/// The device shared by the tests of one binary ([`gan_tensor::testing::shared_context`]).
pub fn ctx() -> Context {
    gan_tensor::testing::shared_context().clone()
}

/// Uploads seeded uniform values in [lo, hi) and returns the tensor and the host copy.
pub fn rand_tensor(seed: u64, dims: &[usize], lo: f32, hi: f32) -> (Tensor, Vec<f32>) {
    let n = dims.iter().product();
    let data = gan_tensor::testing::random(seed, n, lo, hi);
    (Tensor::from_slice(&ctx(), &data, dims).unwrap(), data)
}
