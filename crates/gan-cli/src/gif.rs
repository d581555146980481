//! Animated GIFs: `gan generate --interpolate N --gif` (a loop through several latents)
//! and `gan timelapse` (the same latents through every kept checkpoint of a run).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use gan_data::GridOptions;
use gan_tensor::{Context, Tensor};
use gan_train::latent::{self, Path as LatentPath};
use gan_train::{Gan, ItemShape, Prior};

use crate::generate::{load_gan, requested_classes, GenerateArgs};

fn err(e: gan_train::TrainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Frame length of the interpolation loop.
const LOOP_DELAY_MS: u32 = 60;
/// Each pixel as a block of this many pixels (28 x 28 digits become 112 x 112).
const SCALE: u32 = 4;

/// `interpolation.gif` in `args.out`: `args.keyframes` latents of (seed, prior) in a
/// loop, `steps` frames from each to the next (slerp for a normal prior, `--lerp` for a
/// line), one image per frame.
pub(crate) fn interpolation_gif(
    ctx: &Context,
    gan: &Gan,
    args: &GenerateArgs,
    steps: usize,
    prior: Option<Prior>,
) -> Result<()> {
    let ItemShape::Image(shape) = gan.item else {
        bail!("--gif writes images; this run generates 2-D points");
    };
    let k = args.keyframes;
    if !(2..=64).contains(&k) {
        bail!("--keyframes {k}: a loop needs 2 to 64 latents");
    }
    if steps * k > 4096 {
        bail!(
            "--interpolate {steps} x --keyframes {k} = {} frames; at most 4096",
            steps * k
        );
    }
    let prior = prior.unwrap_or(gan.game.prior);
    let dim = gan.game.latent_dim;
    let keys = gan_train::sample_prior(ctx, prior, k, dim, args.seed, 0).map_err(err)?;
    let keys = latent::truncate(&keys, args.truncation)
        .map_err(err)?
        .to_vec()?;
    let path = if args.lerp {
        LatentPath::Linear
    } else {
        LatentPath::for_prior(prior)
    };
    // steps + 1 points from each key to the next, the last dropped: it starts the next leg.
    let mut z = Vec::with_capacity(k * steps * dim);
    for i in 0..k {
        let (a, b) = (
            &keys[i * dim..(i + 1) * dim],
            &keys[(i + 1) % k * dim..][..dim],
        );
        let leg = latent::interpolate(a, b, steps + 1, path).map_err(err)?;
        z.extend_from_slice(&leg[..steps * dim]);
    }
    let n = k * steps;
    let classes = match (gan.classes(), args.class) {
        (None, None) => None,
        (Some(_), None) => {
            bail!("--gif on a conditional run needs --class C: every frame is made for one class")
        }
        (classes, _) => {
            let one = GenerateArgs {
                count: n,
                ..args.clone()
            };
            requested_classes(classes, &one)?.0
        }
    };
    let z = Tensor::from_slice(ctx, &z, &[n, dim])?;
    let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
    let frames = values
        .chunks_exact(shape.len())
        .map(|v| gan_data::output::to_image8(v, shape))
        .collect::<gan_data::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.join("interpolation.gif");
    gan_data::write_gif(&out, &frames, LOOP_DELAY_MS, SCALE)?;
    println!(
        "wrote {out}: a loop through {k} latents (0..{k} of --seed {} --prior {prior}, \
         --truncation {}), {steps} frames per leg, {n} frames, {path} interpolation",
        args.seed,
        args.truncation,
        out = out.display()
    );
    Ok(())
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
