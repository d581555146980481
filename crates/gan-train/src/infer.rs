//! Using a trained run: generate items from its generator, judge items with its
//! discriminator (what `gan generate` and `gan discriminate` call).

use std::path::Path;

use gan_data::ImageShape;
use gan_nn::{Module, Var};
use gan_tensor::{Context, Tensor};

use crate::config::Prior;
use crate::error::{Result, TrainError};
use crate::models::ItemShape;
use crate::rundir;
use crate::trainer::{build_players, item_shape, pack, sample_prior, Players};

/// Items made by [`generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// Values, item after item, row-major (C, H, W); images in [-1, 1].
    pub values: Vec<f32>,
    /// Shape of one item (2-D points: 2 x 1 x 1).
    pub shape: ImageShape,
    /// Number of items.
    pub count: usize,
}

/// Items per forward pass at inference.
const CHUNK: usize = 256;

/// The steps of the checkpoints a run directory holds, ascending (only the latest unless
/// the run was trained with `keep_checkpoints`).
pub fn checkpoint_steps(run_dir: &Path) -> Result<Vec<u64>> {
    let root = run_dir.join("checkpoints");
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NoCheckpoint(run_dir.to_path_buf()))
        }
        Err(e) => return Err(TrainError::io(&root, e)),
    };
    let mut steps: Vec<u64> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("step-")?.parse().ok()
        })
        .collect();
    steps.sort_unstable();
    Ok(steps)
}

fn checkpoint_dir(run_dir: &Path, step: Option<u64>) -> Result<std::path::PathBuf> {
    match step {
        None => Ok(run_dir.join(rundir::read_latest(run_dir)?.checkpoint)),
        Some(s) => {
            let dir = run_dir.join(format!("checkpoints/step-{s:08}"));
            if dir.is_dir() {
                return Ok(dir);
            }
            let have = checkpoint_steps(run_dir)?;
            Err(TrainError::Config(format!(
                "{} has no checkpoint of step {s}; it has steps {have:?} (train with \
                 keep_checkpoints = true / --keep-checkpoints to keep every checkpoint)",
                run_dir.display()
            )))
        }
    }
}

/// A run's players loaded from one checkpoint, to generate and judge many times without
/// reloading (what `gan discriminate` uses for each checkpoint it judges with).
pub struct RunModel {
    ctx: Context,
    cfg: crate::Config,
    item: ItemShape,
    players: Players,
}

impl RunModel {
    /// Builds the players of the run in `run_dir` and loads the checkpoint of `step`
    /// (None: the latest).
    pub fn open(ctx: &Context, run_dir: &Path, step: Option<u64>) -> Result<RunModel> {
        let cfg = rundir::read_config(run_dir)?;
        let info = rundir::read_run_info(run_dir)?;
        let ckpt = checkpoint_dir(run_dir, step)?;
        let [c, h, w] = info.item_shape;
        let item = item_shape(
            &cfg,
            ImageShape {
                channels: c,
                height: h,
                width: w,
            },
        );
        let players = build_players(ctx, &cfg, item)?;
        rundir::load_checkpoint(&ckpt, &players.gs, &players.ds, None)?;
        Ok(RunModel {
            ctx: ctx.clone(),
            cfg,
            item,
            players,
        })
    }

    /// `count` items from the generator (eval mode: BatchNorm uses its running
    /// statistics), with latents drawn from `prior` (None: the run's) under `seed`.
    pub fn generate(&self, count: usize, seed: u64, prior: Option<Prior>) -> Result<Generated> {
        let (ctx, cfg, item) = (&self.ctx, &self.cfg, self.item);
        let prior = prior.unwrap_or(cfg.prior);
        let mut values = Vec::with_capacity(count * item.numel());
        for (i, start) in (0..count).step_by(CHUNK).enumerate() {
            let n = CHUNK.min(count - start);
            let z = sample_prior(ctx, prior, n, cfg.latent_dim, seed, i as u64)?;
            let out = gan_nn::no_grad(|| self.players.g.forward(&Var::constant(z), false))?;
            values.extend(out.value().to_vec()?);
        }
        Ok(Generated {
            values,
            shape: item.image_shape(),
            count,
        })
    }

    /// D(x) = sigmoid(logit) of the discriminator (eval mode) for `items` (values item
    /// after item, shaped like the run's data). With PacGAN packing `pack` > 1 the
    /// discriminator judges `pack` consecutive items at once and one value comes back per
    /// group, so the count must be a multiple of `pack`.
    pub fn discriminate(&self, items: &[f32]) -> Result<Vec<f32>> {
        let (ctx, item) = (&self.ctx, self.item);
        let per = item.numel();
        if items.is_empty() || !items.len().is_multiple_of(per) {
            return Err(TrainError::Config(format!(
                "{} values do not make whole items of {:?} ({per} values each)",
                items.len(),
                item.image_shape()
            )));
        }
        let count = items.len() / per;
        let m = self.cfg.pack;
        if !count.is_multiple_of(m) {
            return Err(TrainError::Config(format!(
                "the run packs {m} items per judgement (PacGAN); {count} items is not a multiple"
            )));
        }
        let chunk = (CHUNK / m).max(1) * m;
        let mut out = Vec::with_capacity(count / m);
        for start in (0..count).step_by(chunk) {
            let n = chunk.min(count - start);
            let x = Tensor::from_slice(
                ctx,
                &items[start * per..(start + n) * per],
                &item.batch_dims(n),
            )?;
            let logits = gan_nn::no_grad(|| -> Result<Var> {
                Ok(self
                    .players
                    .d
                    .forward(&pack(&Var::constant(x), m)?, false)?)
            })?;
            out.extend(logits.value().sigmoid()?.to_vec()?);
        }
        Ok(out)
    }
}

/// `count` items from the latest checkpoint's generator ([`RunModel::generate`]).
pub fn generate(
    ctx: &Context,
    run_dir: &Path,
    count: usize,
    seed: u64,
    prior: Option<Prior>,
) -> Result<Generated> {
    RunModel::open(ctx, run_dir, None)?.generate(count, seed, prior)
}

/// D(x) of the latest checkpoint's discriminator for `items` ([`RunModel::discriminate`]).
pub fn discriminate(ctx: &Context, run_dir: &Path, items: &[f32]) -> Result<Vec<f32>> {
    RunModel::open(ctx, run_dir, None)?.discriminate(items)
}
