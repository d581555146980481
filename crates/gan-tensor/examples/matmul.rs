//! Uses gan-tensor alone: open the best adapter, multiply two matrices on the GPU with a
//! fused bias and ReLU, check the result against the CPU reference, and time it.
//!
//! `cargo run --release -p gan-tensor --example matmul -- [SIZE]`

use std::time::Instant;

use gan_tensor::matmul::{matmul_with, Activation, MatmulKernel, MatmulOptions};
use gan_tensor::{reference, testing, Context, Tensor};

fn main() -> gan_tensor::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(512);
    let ctx = Context::new()?;
    println!("adapter: {}", ctx.adapter());
    let (av, bv, biasv) = (
        testing::random(1, n * n, -1.0, 1.0),
        testing::random(2, n * n, -1.0, 1.0),
        testing::random(3, n, -1.0, 1.0),
    );
    let a = Tensor::from_slice(&ctx, &av, &[n, n])?;
    let b = Tensor::from_slice(&ctx, &bv, &[n, n])?;
    let bias = Tensor::from_slice(&ctx, &biasv, &[n])?;
    let opts = MatmulOptions {
        bias: Some(&bias),
        activation: Activation::Relu,
        ..Default::default()
    };
    let c = matmul_with(&a, &b, opts)?.to_vec()?; // first call compiles the pipeline
    let want = reference::matmul::matmul(
        &av,
        &bv,
        Some(&biasv),
        n,
        n,
        n,
        false,
        false,
        Activation::Relu,
    );
    let worst = c
        .iter()
        .zip(&want)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    println!("relu(A x B + bias), {n}x{n}: max |GPU - CPU reference| = {worst:.2e}");

    let iters = 5;
    ctx.sync()?;
    let start = Instant::now();
    for _ in 0..iters {
        matmul_with(&a, &b, opts)?;
    }
    ctx.sync()?;
    let secs = start.elapsed().as_secs_f64() / iters as f64;
    let gflops = 2.0 * (n as f64).powi(3) / secs / 1e9;
    println!(
        "{:?} kernel: {:.2} ms per product, {gflops:.1} GFLOP/s",
        MatmulKernel::for_adapter(&ctx),
        secs * 1e3
    );
    Ok(())
}
