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
use gan_benches::{context, StepBench};
use gan_train::Arch;

fn train_steps(c: &mut Criterion) {
    let ctx = context();
    let mut cases = vec![(Arch::Mlp, 64), (Arch::Mlp, 256), (Arch::Dcgan, 64)];
    if std::env::var("GAN_BENCH_DCGAN256").is_ok() {
        cases.push((Arch::Dcgan, 256));
    }
    let mut g = c.benchmark_group("train_step");
    g.sampling_mode(SamplingMode::Flat);
    for (arch, batch) in cases {
        // Built on the first call only, so a filter skips the (slow) DCGAN setup.
        let mut t: Option<StepBench> = None;
        if arch == Arch::Dcgan {
            g.warm_up_time(Duration::from_millis(1));
            g.measurement_time(Duration::from_millis(1));
        } else {
            g.warm_up_time(Duration::from_millis(500));
            g.measurement_time(Duration::from_secs(3));
        }
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::new(arch.to_string(), batch), &batch, |b, _| {
            let t = t.get_or_insert_with(|| {
                let mut t = StepBench::new(&ctx, arch, batch);
                let case = format!("train_step/{arch}/{batch}");
                gan_benches::record_step_counts(&case, t.counts());
                t
            });
            b.iter_custom(|iters| {
                ctx.sync().unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    t.step();
                }
                ctx.sync().unwrap();
                start.elapsed()
            })
        });
        drop(t);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = gan_benches::criterion();
    targets = train_steps
}
criterion_main!(benches);
