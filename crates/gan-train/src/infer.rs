//! Using a trained run: its [`Gan`] rebuilt from `config.toml` with a checkpoint's
//! weights (what `gan generate`, `gan discriminate` and `gan eval` start from).

use std::path::Path;

use gan_data::ImageShape;
use gan_tensor::Context;

use crate::config::Prior;
use crate::error::Result;
use crate::gan::{Gan, Generated};
use crate::models::ItemShape;
use crate::rundir;

/// The players of the run in `run_dir` with the weights of the checkpoint of `step`
/// (None: the latest), loaded once for many calls of [`Gan::sample`] and [`Gan::judge`].
/// A run trained with `ema_decay` also gets G_ema (`gen_ema.safetensors`), which
/// [`Gan::sample`] then uses ([`Gan::drop_ema`] for the raw G).
pub fn load_gan(ctx: &Context, run_dir: &Path, step: Option<u64>) -> Result<Gan> {
    let cfg = rundir::read_config(run_dir)?;
    let info = rundir::read_run_info(run_dir)?;
    let ckpt = rundir::checkpoint_dir(run_dir, step)?;
    let [channels, height, width] = info.item_shape;
    let shape = ImageShape {
        channels,
        height,
        width,
    };
    let item = ItemShape::for_config(&cfg, shape);
    let gan = if cfg.conditional {
        Gan::with_classes(ctx, &cfg, item, info.classes)?
    } else {
        Gan::new(ctx, &cfg, item)?
    };
    let ema = gan.ema.as_ref().map(|e| &e.player.store);
    rundir::load_checkpoint(
        &ckpt,
        &gan.generator.store,
        &gan.discriminator.store,
        None,
        ema,
    )?;
    Ok(gan)
}

/// `count` items from the latest checkpoint's generator ([`Gan::sample`]).
pub fn generate(
    ctx: &Context,
    run_dir: &Path,
    count: usize,
    seed: u64,
    prior: Option<Prior>,
) -> Result<Generated> {
    generate_truncated(ctx, run_dir, count, seed, prior, 1.0)
}

/// [`generate`] with the truncation trick ([`Gan::sample_truncated`], psi in (0, 1]).
pub fn generate_truncated(
    ctx: &Context,
    run_dir: &Path,
    count: usize,
    seed: u64,
    prior: Option<Prior>,
    psi: f64,
) -> Result<Generated> {
    crate::latent::check_truncation(psi)?;
    load_gan(ctx, run_dir, None)?.sample_truncated(count, seed, prior, psi)
}

/// D(x) of the latest checkpoint's discriminator for `items` ([`Gan::judge`]).
pub fn discriminate(ctx: &Context, run_dir: &Path, items: &[f32]) -> Result<Vec<f32>> {
    load_gan(ctx, run_dir, None)?.judge(items)
}
