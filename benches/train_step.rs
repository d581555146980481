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
use gan_train::feed::DataFeed;
use gan_train::metrics::MetricsBuffer;
use gan_train::{load_dataset, train_step, Arch, Config, Gan, ItemShape, Optimizers};

/// The game, its optimizers and data, without a run directory: what the trainer steps.
struct Bench {
    gan: Gan,
    opt: Optimizers,
    feed: DataFeed,
    metrics: MetricsBuffer,
    step: u64,
}

impl Bench {
    fn new(ctx: &Context, arch: Arch, batch: usize) -> Bench {
        let cfg = Config {
            arch,
            batch_size: batch,
            limit: 4096,
            ..Config::default()
        }
        .resolved()
        .expect("a valid config");
        let data = load_dataset(&cfg).expect("the vendored MNIST");
        let item = ItemShape::for_config(&cfg, data.shape());
        let gan = Gan::new(ctx, &cfg, item).expect("the players");
        let mut b = Bench {
            opt: Optimizers::new(&gan, &cfg).expect("Adam"),
            feed: DataFeed::new(data, item, batch, cfg.seed).expect("a data feed"),
            metrics: MetricsBuffer::new(ctx).expect("a metrics buffer"),
            gan,
            step: 0,
        };
        b.step(); // builds pipelines and pools
        b
    }

    /// One step with its metrics recorded on the GPU (no readback), as the trainer does.
    fn step(&mut self) {
        let ctx = self.gan.context().clone();
        let feed = &mut self.feed;
        let out = train_step(&self.gan, &mut self.opt, 1, self.step, |b| {
            feed.batch(&ctx, b)
        })
        .expect("a step");
        let [d, g, r, f, v] = out.metric_tensors(&self.gan).expect("metrics");
        self.metrics.record([&d, &g, &r, &f, &v]).expect("metrics");
        self.step += 1;
    }
}

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
        let mut t: Option<Bench> = None;
        if arch == Arch::Dcgan {
            g.warm_up_time(Duration::from_millis(1));
            g.measurement_time(Duration::from_millis(1));
        } else {
            g.warm_up_time(Duration::from_millis(500));
            g.measurement_time(Duration::from_secs(3));
        }
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::new(arch.to_string(), batch), &batch, |b, _| {
            let t = t.get_or_insert_with(|| Bench::new(&ctx, arch, batch));
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
