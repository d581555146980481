//! Whole GAN training steps (k = 1: one D step on a real and a generated batch, one G
//! step, Adam on both) of the default MLP GAN and the 28x28 DCGAN on MNIST, at batch 64
//! and 256: steps per second as time per step, images per second (real images consumed)
//! as the throughput; `cargo xtask bench train_step` reports images/s.
//!
//! A DCGAN step takes ~6 s on 2-core lavapipe, so that group runs 10 one-step samples
//! (criterion's minimum) after a single warm-up step, and DCGAN at batch 256 (~4x longer)
//! only when `GAN_BENCH_DCGAN256=1` is set.

use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use gan_benches::context;
use gan_tensor::Context;
use gan_train::{Arch, Config, Trainer};

const NEVER: u64 = u64::MAX / 4;

fn trainer(ctx: &Context, arch: Arch, batch: usize, dir: &std::path::Path) -> Trainer {
    let cfg = Config {
        arch,
        batch_size: batch,
        limit: 4096,
        steps: NEVER,
        log_every: NEVER,
        sample_every: NEVER,
        checkpoint_every: NEVER,
        out_dir: dir.to_path_buf(),
        ..Config::default()
    };
    let mut t = Trainer::new(ctx, cfg).expect("a trainer");
    t.step_once().expect("a first step"); // builds pipelines and pools
    t
}

fn train_step(c: &mut Criterion) {
    let ctx = context();
    let tmp = std::env::temp_dir().join(format!("gan-bench-train-step-{}", std::process::id()));
    let mut cases = vec![(Arch::Mlp, 64), (Arch::Mlp, 256), (Arch::Dcgan, 64)];
    if std::env::var("GAN_BENCH_DCGAN256").is_ok() {
        cases.push((Arch::Dcgan, 256));
    }
    let mut g = c.benchmark_group("train_step");
    g.sampling_mode(SamplingMode::Flat);
    for (arch, batch) in cases {
        let dir = tmp.join(format!("{arch}-{batch}"));
        let _ = std::fs::remove_dir_all(&dir);
        // Built on the first call only, so a filter skips the (slow) DCGAN setup.
        let mut t: Option<Trainer> = None;
        if arch == Arch::Dcgan {
            g.warm_up_time(Duration::from_millis(1));
            g.measurement_time(Duration::from_millis(1));
        } else {
            g.warm_up_time(Duration::from_millis(500));
            g.measurement_time(Duration::from_secs(3));
        }
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::new(arch.to_string(), batch), &batch, |b, _| {
            let t = t.get_or_insert_with(|| trainer(&ctx, arch, batch, &dir));
            b.iter_custom(|iters| {
                t.context().sync().unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    t.step_once().unwrap();
                }
                t.context().sync().unwrap();
                start.elapsed()
            })
        });
        drop(t);
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&tmp);
}

criterion_group! {
    name = benches;
    config = gan_benches::criterion();
    targets = train_step
}
criterion_main!(benches);
