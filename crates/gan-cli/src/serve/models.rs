//! The run `gan serve` shows: its facts, its players loaded per checkpoint step (a few
//! kept in memory), and the images and D's scores a request asks for.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use base64::Engine as _;
use gan_data::{GridOptions, ImageShape};
use gan_tensor::{Context, Tensor};
use gan_train::latent::{self, Path as LatentPath};
use gan_train::{Gan, ItemShape};
use serde_json::{json, Value};

use crate::serve::api::{Facts, GenerateRequest, InterpolateRequest};

/// Checkpoints kept loaded at once (the picker switches between a few).
const CACHED: usize = 4;

/// Latent coordinates offered as sliders on the page.
pub const SLIDERS: usize = 8;

/// Images made for a request, with what the client needs to show them.
pub struct Images {
    /// The images, planar, in [-1, 1].
    pub values: Vec<f32>,
    /// Shape of one image.
    pub shape: ImageShape,
    /// Images per row of the grid.
    pub columns: usize,
    /// D(x) (the probability D gives to "real") per image, or per group of `pack`.
    pub scores: Vec<f32>,
    /// The class of each image on a conditional run.
    pub classes: Option<Vec<u32>>,
    /// The checkpoint step that made them.
    pub step: u64,
    /// The first [`SLIDERS`] coordinates of image 0's latent (before truncation).
    pub z_head: Vec<f32>,
}

/// A run directory and its players, loaded lazily per checkpoint step.
pub struct Run {
    ctx: Context,
    dir: PathBuf,
    /// What requests are checked against.
    pub facts: Facts,
    /// `GET /api/info`'s body.
    pub info: Value,
    shape: ImageShape,
    pack: usize,
    loaded: Vec<(u64, Gan)>,
}

fn err(e: gan_train::TrainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Run {
    /// Opens the run in `dir` and loads its latest checkpoint (refusing runs of 2-D
    /// points: the page shows images).
    pub fn open(ctx: &Context, dir: &Path) -> Result<Run> {
        let cfg = gan_train::read_config(dir).map_err(err)?;
        let latest = gan_train::read_latest(dir).map_err(err)?.step;
        let mut steps = gan_train::checkpoint_steps(dir).map_err(err)?;
        if !steps.contains(&latest) {
            steps.push(latest);
            steps.sort_unstable();
        }
        let gan = crate::generate::load_gan(ctx, dir, None, false)?;
        let ItemShape::Image(shape) = gan.item else {
            bail!(
                "{} was trained on 2-D points ({}); gan serve shows images",
                dir.display(),
                cfg.dataset
            );
        };
        let facts = Facts {
            latent_dim: gan.game.latent_dim,
            classes: gan.classes(),
            steps: steps.clone(),
            latest,
            normal_prior: gan.game.prior == gan_train::Prior::Normal,
        };
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        let info = json!({
            "run": name,
            "dataset": cfg.dataset,
            "arch": cfg.arch.to_string(),
            "latent_dim": facts.latent_dim,
            "prior": gan.game.prior.to_string(),
            "classes": facts.classes,
            "item_shape": [shape.channels, shape.height, shape.width],
            "steps": steps,
            "latest_step": latest,
            "ema": gan.ema.is_some(),
            "pack": gan.game.pack,
            "loss": cfg.loss.to_string(),
            "seed": cfg.seed,
            "max_count": crate::serve::api::MAX_COUNT,
            "sliders": SLIDERS.min(facts.latent_dim),
        });
        Ok(Run {
            ctx: ctx.clone(),
            dir: dir.to_path_buf(),
            pack: gan.game.pack,
            facts,
            info,
            shape,
            loaded: vec![(latest, gan)],
        })
    }

    /// The index in `loaded` of the players at checkpoint `step`, loaded on first use
    /// (the oldest of more than [`CACHED`] dropped).
    fn load(&mut self, step: u64) -> Result<usize> {
        if let Some(i) = self.loaded.iter().position(|(s, _)| *s == step) {
            return Ok(i);
        }
        let gan = crate::generate::load_gan(&self.ctx, &self.dir, Some(step), false)?;
        if self.loaded.len() >= CACHED {
            self.loaded.remove(0);
        }
        self.loaded.push((step, gan));
        Ok(self.loaded.len() - 1)
    }

    /// `count` latents of `seed` (stream 0, as [`Gan::sample`] draws up to 256 of
    /// them), the first coordinates replaced by `head`.
    fn latents(&self, gan: &Gan, seed: u64, count: usize, head: &[f32]) -> Result<Vec<f32>> {
        let dim = gan.game.latent_dim;
        let z =
            gan_train::sample_prior(&self.ctx, gan.game.prior, count, dim, seed, 0).map_err(err)?;
        let mut z = z.to_vec()?;
        for row in z.chunks_exact_mut(dim) {
            row[..head.len()].copy_from_slice(head);
        }
        Ok(z)
    }

    /// D(x) of `values` with their classes: one score per image, or per group of `pack`
    /// (PacGAN; the images past the last whole group get none).
    fn scores(&self, gan: &Gan, values: &[f32], classes: Option<&[u32]>) -> Result<Vec<f32>> {
        let n = values.len() / self.shape.len();
        let whole = n - n % self.pack;
        if whole == 0 {
            return Ok(Vec::new());
        }
        gan.judge_for(
            &values[..whole * self.shape.len()],
            classes.map(|c| &c[..whole]),
        )
        .map_err(err)
    }

    /// `POST /api/generate` (checked; `step` from [`GenerateRequest::check`]).
    pub fn generate(&mut self, req: &GenerateRequest, step: u64) -> Result<Images> {
        let n = req.count;
        let (classes, columns) = match (self.facts.classes, req.class) {
            (None, _) => (None, (n as f64).sqrt().ceil() as usize),
            (Some(_), Some(c)) => (Some(vec![c; n]), (n as f64).sqrt().ceil() as usize),
            (Some(k), None) => {
                let (c, per_row) = crate::generate::classes_in_turn(k, n);
                (Some(c), per_row)
            }
        };
        let i = self.load(step)?;
        let gan = &self.loaded[i].1;
        let z = self.latents(gan, req.seed, n, req.z.as_deref().unwrap_or_default())?;
        let z_head = z[..SLIDERS.min(self.facts.latent_dim)].to_vec();
        let z = truncate(z, req.truncation);
        let z = Tensor::from_slice(&self.ctx, &z, &[n, self.facts.latent_dim])?;
        let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
        let scores = self.scores(gan, &values, classes.as_deref())?;
        Ok(Images {
            values,
            shape: self.shape,
            columns,
            scores,
            classes,
            step,
            z_head,
        })
    }

    /// `POST /api/interpolate`: `steps` frames from latent 0 to latent 1 of the seed.
    pub fn interpolate(
        &mut self,
        req: &InterpolateRequest,
        step: u64,
        spherical: bool,
    ) -> Result<Images> {
        let i = self.load(step)?;
        let gan = &self.loaded[i].1;
        let ends = truncate(self.latents(gan, req.seed, 2, &[])?, req.truncation);
        let dim = self.facts.latent_dim;
        let (a, b) = ends.split_at(dim);
        let path = if spherical {
            LatentPath::Spherical
        } else {
            LatentPath::Linear
        };
        let z = latent::interpolate(a, b, req.steps, path).map_err(err)?;
        let z_head = z[..SLIDERS.min(dim)].to_vec();
        let z = Tensor::from_slice(&self.ctx, &z, &[req.steps, dim])?;
        let classes = req.class.map(|c| vec![c; req.steps]);
        let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
        let scores = self.scores(gan, &values, classes.as_deref())?;
        Ok(Images {
            values,
            shape: self.shape,
            columns: req.steps,
            scores,
            classes,
            step,
            z_head,
        })
    }
}

/// The truncation trick of [`latent::truncate`], z' = psi z, on the CPU (the same f32
/// products; psi = 1 leaves z as drawn).
fn truncate(mut z: Vec<f32>, psi: f64) -> Vec<f32> {
    if psi != 1.0 {
        z.iter_mut().for_each(|v| *v *= psi as f32);
    }
    z
}

fn data_url(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

impl Images {
    /// The grid as PNG bytes (the layout of `gan generate --grid`).
    pub fn grid_png(&self) -> Result<Vec<u8>> {
        let grid = gan_data::make_grid(
            &self.values,
            self.shape,
            GridOptions {
                columns: self.columns,
                ..GridOptions::default()
            },
        )?;
        Ok(gan_data::encode_png(
            grid.width,
            grid.height,
            grid.channels,
            &grid.pixels,
        )?)
    }

    /// The JSON variant: the grid and each image as PNG data URLs, with the scores.
    pub fn to_json(&self, seed: u64, pack: usize) -> Result<Value> {
        let images = self
            .values
            .chunks_exact(self.shape.len())
            .map(|v| {
                let im = gan_data::output::to_image8(v, self.shape)?;
                Ok(data_url(&gan_data::encode_png(
                    im.width,
                    im.height,
                    im.channels,
                    &im.pixels,
                )?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({
            "step": self.step,
            "seed": seed,
            "count": images.len(),
            "columns": self.columns,
            "pack": pack,
            "scores": self.scores,
            "classes": self.classes,
            "z_head": self.z_head,
            "grid": data_url(&self.grid_png()?),
            "images": images,
        }))
    }

    /// The scores as the `X-Gan-Scores` header's value: comma-separated, 6 decimals.
    pub fn scores_header(&self) -> String {
        let s: Vec<String> = self.scores.iter().map(|d| format!("{d:.6}")).collect();
        s.join(",")
    }
}

impl Run {
    /// PacGAN packing of the run's D (scores per group of this many images).
    pub fn pack(&self) -> usize {
        self.pack
    }
}
