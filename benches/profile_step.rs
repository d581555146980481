//! Where one training step's time goes: the dispatches, compute passes and submissions of
//! a step, and (with `GAN_TENSOR_PROFILE=1`) each kernel's share of its time.
//!
//! ```text
//! GAN_TENSOR_PROFILE=1 cargo run --release -p gan-benches --example profile_step -- dcgan 64 [steps]
//! (cases: dcgan, mlp, pacgan: PacGAN's 2-D players on ring8)
//! ```
//! Profiling submits and waits for every command alone, so its total is slower than the
//! bench's; the counts do not depend on it.

use std::time::Instant;

use gan_benches::{context, StepBench};
use gan_train::{Arch, Config};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("dcgan", |s| s.as_str());
    let batch: usize = args.get(1).map_or(64, |s| s.parse().expect("a batch size"));
    let steps: u64 = args.get(2).map_or(5, |s| s.parse().expect("a step count"));
    let ctx = context();
    let (arch, mut bench) = match name {
        "mlp" => (Arch::Mlp, StepBench::new(&ctx, Arch::Mlp, batch)),
        "dcgan" => (Arch::Dcgan, StepBench::new(&ctx, Arch::Dcgan, batch)),
        // PacGAN's 2-D players (recipes/pacgan.toml) on ring8, unpacked.
        "pacgan" => {
            let cfg = Config {
                dataset: "ring8".into(),
                latent_dim: 2,
                g_hidden: vec![400; 4],
                g_batchnorm: true,
                d_hidden: vec![200; 3],
                d_maxout: 5,
                batch_size: batch,
                limit: 4096,
                ..Config::default()
            };
            (Arch::Mlp, StepBench::with_config(&ctx, cfg))
        }
        other => panic!("unknown case {other:?}: mlp, dcgan or pacgan"),
    };
    ctx.sync().unwrap();
    ctx.reset_profile();
    let before = ctx.stats();
    let start = Instant::now();
    for _ in 0..steps {
        bench.step();
    }
    ctx.sync().unwrap();
    let wall = start.elapsed().as_secs_f64() / steps as f64;
    let after = ctx.stats();
    let per = |a: u64, b: u64| (a - b) as f64 / steps as f64;
    println!(
        "{name} ({arch:?}) batch {batch}, {steps} steps on {}",
        ctx.adapter()
    );
    println!(
        "per step: {:.1} ms wall, {:.0} dispatches, {:.0} compute passes, {:.1} submissions, {:.0} buffers created",
        wall * 1e3,
        per(after.dispatches, before.dispatches),
        per(after.passes, before.passes),
        per(after.submissions, before.submissions),
        per(after.buffers_created, before.buffers_created),
    );
    let rows = ctx.profile();
    if rows.is_empty() {
        println!("(set GAN_TENSOR_PROFILE=1 for the per-kernel times)");
        return;
    }
    let total: f64 = rows.iter().map(|r| r.seconds).sum();
    println!("\nkernel                                    calls/step   ms/step   share");
    for r in &rows {
        println!(
            "{:<42} {:>10.1} {:>9.2} {:>6.1}%",
            r.kernel,
            r.calls as f64 / steps as f64,
            r.seconds * 1e3 / steps as f64,
            100.0 * r.seconds / total
        );
    }
    println!(
        "{:<42} {:>10} {:>9.2}",
        "total (serialised)",
        "",
        total * 1e3 / steps as f64
    );
}
