//! Drives a training run and prints its metrics (and the time per step).
//!
//! ```text
//! cargo run --release -p gan-train --example train -- [key=value ...] [--resume DIR]
//! cargo run --release -p gan-train --example train -- arch=dcgan steps=30 log_every=10 out_dir=/tmp/g
//! ```
//! Keys are those of `gan_train::Config` (values in TOML syntax; bare words are taken as
//! strings).

use std::path::PathBuf;
use std::time::Instant;

use gan_train::{Config, Trainer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines = String::new();
    let mut resume: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--resume" {
            resume = Some(args.next().ok_or("--resume needs a directory")?.into());
            continue;
        }
        let (k, v) = a
            .split_once('=')
            .ok_or(format!("expected key=value, got {a}"))?;
        let line = format!("{k} = {v}\n");
        if toml::from_str::<toml::Table>(&line).is_ok() {
            lines.push_str(&line);
        } else {
            lines.push_str(&format!("{k} = {v:?}\n"));
        }
    }
    let cfg = Config::from_toml(&lines)?;
    let ctx = gan_tensor::Context::new()?;
    eprintln!("adapter: {}", ctx.adapter().name);
    let t0 = Instant::now();
    let mut trainer = match resume {
        Some(dir) => Trainer::resume(&ctx, &dir, Some(&cfg))?,
        None => Trainer::new(&ctx, cfg)?,
    };
    eprintln!(
        "setup {:.2} s; {} steps, {} batches per epoch, G {} / D {} parameters",
        t0.elapsed().as_secs_f64(),
        trainer.total_steps(),
        trainer.batches_per_epoch(),
        trainer.gan().generator.store.num_parameters(),
        trainer.gan().discriminator.store.num_parameters()
    );
    let mut last = (0u64, 0.0f64);
    trainer.on_log(move |m| {
        let per = if m.step > last.0 {
            (m.elapsed - last.1) / (m.step - last.0) as f64 * 1000.0
        } else {
            0.0
        };
        last = (m.step, m.elapsed);
        println!(
            "step {:6} epoch {:6.2}  d_loss {:.4}  g_loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  V {:.4}  {:8.1} s  {:7.1} ms/step",
            m.step, m.epoch, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.value, m.elapsed, per
        );
    });
    let s = trainer.train()?;
    let stats = trainer.context().stats();
    eprintln!(
        "done: {} steps in {:.1} s ({:.1} ms/step); {} submissions, {} dispatches, {} buffers; run dir {}",
        s.steps,
        s.elapsed,
        s.elapsed / s.steps.max(1) as f64 * 1000.0,
        stats.submissions,
        stats.dispatches,
        stats.buffers_created,
        s.run_dir.display()
    );
    Ok(())
}
