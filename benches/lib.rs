//! Shared helpers for the criterion benchmarks: one device, GPU-inclusive timing, and a
//! note of the adapter for `cargo xtask bench`.

use std::time::{Duration, Instant};

use criterion::Criterion;
use gan_tensor::{Context, Tensor};

/// Opens the device and records its name in `target/bench/adapter.txt` for the summary.
pub fn context() -> Context {
    let ctx = Context::new().expect("a wgpu adapter (README: mesa-vulkan-drivers)");
    let dir = bench_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("adapter.txt"), ctx.adapter().to_string());
    eprintln!("adapter: {}", ctx.adapter());
    ctx
}

/// `target/bench` of the workspace.
pub fn bench_dir() -> std::path::PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench")
}

/// Runs `op` `iters` times and waits for the GPU: the timed region includes the GPU's work.
pub fn time_gpu(ctx: &Context, iters: u64, mut op: impl FnMut() -> Tensor) -> Duration {
    ctx.sync().unwrap();
    let start = Instant::now();
    for _ in 0..iters {
        drop(op());
    }
    ctx.sync().unwrap();
    start.elapsed()
}

/// Seeded random tensor.
pub fn rand(ctx: &Context, seed: u64, dims: &[usize]) -> Tensor {
    let n = dims.iter().product();
    Tensor::from_slice(ctx, &gan_tensor::testing::random(seed, n, -1.0, 1.0), dims).unwrap()
}

/// Criterion settings sized for a 2-core CPU adapter: few samples, short windows.
/// `GAN_BENCH_QUICK=1` shortens them further.
pub fn criterion() -> Criterion {
    let quick = std::env::var("GAN_BENCH_QUICK").is_ok();
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 200 } else { 1000 }))
        .measurement_time(Duration::from_millis(if quick { 1000 } else { 3000 }))
        .without_plots()
}
