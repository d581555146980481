//! `gan timelapse`: an animated GIF of the same latents through every kept checkpoint of
//! a run (the interpolation loop, `gan generate --interpolate N --gif`, is in generate).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use gan_data::GridOptions;
use gan_tensor::Context;
use gan_train::ItemShape;

use crate::generate::load_gan;

fn err(e: gan_train::TrainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Flags of `gan timelapse`.
#[derive(Args, Debug, Clone)]
pub struct TimelapseArgs {
    /// A run directory of `gan train` holding several checkpoints (`--keep-checkpoints`).
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// The GIF to write.
    #[arg(long, value_name = "FILE.gif")]
    pub out: PathBuf,
    /// Images per frame (a grid; the same latents in every frame).
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    /// Seed of the latents.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How long each checkpoint's frame shows, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub delay_ms: u32,
    /// Use the raw generator of a run trained with --ema-decay [default: G_ema].
    #[arg(long)]
    pub no_ema: bool,
}

/// `gan timelapse`: the same latents through every kept checkpoint, one grid per frame.
pub fn timelapse(args: &TimelapseArgs) -> Result<()> {
    crate::generate::check_run_dir(&args.run)?;
    if !(1..=256).contains(&args.count) {
        bail!("--count {}: 1 to 256 images per frame", args.count);
    }
    let steps = gan_train::checkpoint_steps(&args.run).map_err(err)?;
    if steps.len() < 2 {
        bail!(
            "{} keeps {} checkpoint(s); a timelapse needs at least 2: train with \
             --keep-checkpoints (and --checkpoint-every N)",
            args.run.display(),
            steps.len()
        );
    }
    let ctx = Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    let mut frames = Vec::with_capacity(steps.len());
    for &step in &steps {
        let gan = load_gan(&ctx, &args.run, Some(step), args.no_ema)?;
        let ItemShape::Image(shape) = gan.item else {
            bail!("a timelapse shows images; this run generates 2-D points");
        };
        let (n, dim) = (args.count, gan.game.latent_dim);
        let z = gan_train::sample_prior(&ctx, gan.game.prior, n, dim, args.seed, 0).map_err(err)?;
        let classes = gan
            .classes()
            .map(|c| (0..n).map(|i| (i % c) as u32).collect::<Vec<_>>());
        let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
        let columns = (n as f64).sqrt().ceil() as usize;
        let grid = gan_data::make_grid(
            &values,
            shape,
            GridOptions {
                columns,
                ..GridOptions::default()
            },
        )?;
        println!("frame {}: step {step}", frames.len());
        frames.push(grid);
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    gan_data::write_gif(&args.out, &frames, args.delay_ms, 2)?;
    println!(
        "wrote {}: {} frames, steps {} to {}",
        args.out.display(),
        frames.len(),
        steps[0],
        steps[steps.len() - 1]
    );
    Ok(())
}
