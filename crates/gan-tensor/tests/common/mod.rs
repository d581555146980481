//! Shared by the integration tests: one device per test binary.
#![allow(dead_code)]

use std::sync::OnceLock;

use gan_tensor::{Context, Tensor};

/// Shapes that are not multiples of any tile size.
pub const AWKWARD: &[usize] = &[1, 3, 17, 63, 65, 127, 129, 257];

/// The device shared by the tests of one binary; prints the adapter once.
pub fn ctx() -> Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let ctx = Context::new().expect("a wgpu adapter (see README: mesa-vulkan-drivers)");
        eprintln!("adapter: {}", ctx.adapter());
        ctx
    })
    .clone()
}

/// Uploads seeded uniform values in [lo, hi) and returns the tensor and the host copy.
pub fn rand_tensor(seed: u64, dims: &[usize], lo: f32, hi: f32) -> (Tensor, Vec<f32>) {
    let n = dims.iter().product();
    let data = gan_tensor::testing::random(seed, n, lo, hi);
    (Tensor::from_slice(&ctx(), &data, dims).unwrap(), data)
}
