//! Shared helpers for the criterion benchmarks: one device, GPU-inclusive timing, and a
//! note of the adapter for `cargo xtask bench`.

use std::time::{Duration, Instant};

use criterion::Criterion;
use gan_tensor::{Context, Tensor};
use gan_train::feed::DataFeed;
use gan_train::metrics::MetricsBuffer;
use gan_train::{load_dataset, train_step, Arch, Config, Gan, ItemShape, Optimizers};

/// Opens the device and records its name and driver in `target/bench/adapter.txt` for the
/// summary.
pub fn context() -> Context {
    let ctx = Context::new().expect("a wgpu adapter (README: mesa-vulkan-drivers)");
    let dir = bench_dir();
    let _ = std::fs::create_dir_all(&dir);
    let text = format!("{}\ndriver: {}\n", ctx.adapter(), ctx.adapter().driver);
    let _ = std::fs::write(dir.join("adapter.txt"), text);
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

/// The game, its optimizers and data, without a run directory: what the trainer steps.
pub struct StepBench {
    gan: Gan,
    opt: Optimizers,
    feed: DataFeed,
    metrics: MetricsBuffer,
    step: u64,
}

impl StepBench {
    /// The default config's players for `arch` at `batch`, after one warm-up step.
    pub fn new(ctx: &Context, arch: Arch, batch: usize) -> StepBench {
        let cfg = Config {
            arch,
            batch_size: batch,
            limit: 4096,
            ..Config::default()
        };
        StepBench::with_config(ctx, cfg)
    }

    /// The players and data of `cfg` (resolved here), after one warm-up step.
    pub fn with_config(ctx: &Context, cfg: Config) -> StepBench {
        let cfg = cfg.resolved().expect("a valid config");
        let batch = cfg.batch_size;
        let data = load_dataset(&cfg).expect("the vendored MNIST");
        let item = ItemShape::for_config(&cfg, data.shape());
        let gan = Gan::new(ctx, &cfg, item).expect("the players");
        let mut b = StepBench {
            opt: Optimizers::new(&gan, &cfg).expect("Adam"),
            feed: DataFeed::new(data, item, batch, cfg.seed).expect("a data feed"),
            metrics: MetricsBuffer::new(ctx).expect("a metrics buffer"),
            gan,
            step: 0,
        };
        b.step(); // builds pipelines and pools
        b
    }

    /// The engine's work for one step: (dispatches, compute passes, submissions, buffers
    /// created), measured over one step after a sync.
    pub fn counts(&mut self) -> [u64; 4] {
        let ctx = self.gan.context().clone();
        ctx.sync().expect("a sync");
        let before = ctx.stats();
        self.step();
        ctx.sync().expect("a sync");
        let after = ctx.stats();
        [
            after.dispatches - before.dispatches,
            after.passes - before.passes,
            after.submissions - before.submissions,
            after.buffers_created - before.buffers_created,
        ]
    }

    /// One step with its metrics recorded on the GPU (no readback), as the trainer does.
    pub fn step(&mut self) {
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

/// Records a training step's engine counts in `target/bench/step_counts.txt` (one line per
/// case, replacing that case's earlier line) and prints them, for `cargo xtask bench`.
pub fn record_step_counts(case: &str, [dispatches, passes, submissions, buffers]: [u64; 4]) {
    let line = format!(
        "{case}: {dispatches} dispatches, {passes} compute passes, {submissions} submissions, \
         {buffers} buffers created per step"
    );
    eprintln!("{line}");
    let path = bench_dir().join("step_counts.txt");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<&str> = old
        .lines()
        .filter(|l| !l.starts_with(&format!("{case}:")))
        .collect();
    lines.push(&line);
    lines.sort();
    let _ = std::fs::create_dir_all(bench_dir());
    let _ = std::fs::write(&path, lines.join("\n") + "\n");
}
