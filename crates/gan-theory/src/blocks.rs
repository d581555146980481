//! Experiment 5: each player trained alone on MNIST against a frozen opponent: the MLP
//! players of gan-train's `Gan` for [`BlocksConfig::players`], with its seeds and losses.
//!
//! - D against a frozen, untrained G: how well it separates real test digits from G's
//!   noise (mean D(x), mean D(G(z)), accuracy at threshold 1/2), and the gradient that
//!   would reach G under both generator losses as D gets better.
//! - G against that frozen D (non-saturating loss): D(G(z)) -> 1 while the samples
//!   collapse towards the few points D scores highest (mean pairwise distance of samples
//!   against real test images).

use gan_data::{load_vendored_mnist, Dataset, Split};
use gan_nn::{no_grad, Adam, AdamConfig, Optimizer, Var};
use gan_tensor::{Context, Tensor};
use gan_train::eval::lenet::{argmax_rows, load_mnist_classifier};
use gan_train::{seeds, Arch, Config, GLoss, Gan, ItemShape, Objective, Prior, Result};

use crate::density::SplitMix;
use crate::oned::grad_norm;

/// Settings of [`train_blocks`].
#[derive(Clone, Debug)]
pub struct BlocksConfig {
    /// Dimension of z (N(0, 1) prior).
    pub latent_dim: usize,
    /// Hidden widths of the MLP generator.
    pub g_hidden: Vec<usize>,
    /// Hidden widths of the MLP discriminator (no dropout).
    pub d_hidden: Vec<usize>,
    /// Images of each kind per step.
    pub batch: usize,
    /// Adam learning rate of both players.
    pub lr: f64,
    /// Adam beta1 (beta2 = 0.999).
    pub beta1: f64,
    /// Steps of D against the frozen untrained G.
    pub d_steps: usize,
    /// Steps of G against the frozen trained D.
    pub g_steps: usize,
    /// Measure every this many steps.
    pub every: usize,
    /// Real test images and generated images for the final evaluation.
    pub eval_n: usize,
    /// Images for the mean pairwise distances.
    pub pairs_n: usize,
    /// Seeds initialisation, data order and latents.
    pub seed: u64,
}

impl BlocksConfig {
    /// The gan-train configuration of the players.
    pub fn players(&self) -> Config {
        Config {
            arch: Arch::Mlp,
            latent_dim: self.latent_dim,
            prior: Prior::Normal,
            g_hidden: self.g_hidden.clone(),
            d_hidden: self.d_hidden.clone(),
            dropout: Some(0.0),
            leaky_slope: 0.2,
            pack: 1,
            loss: GLoss::NonSaturating,
            seed: self.seed,
            ..Config::default()
        }
    }

    /// The settings as `name = value` pairs, for reports.
    pub fn describe(&self) -> Vec<(String, String)> {
        let widths = |v: &[usize]| {
            v.iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join("-")
        };
        vec![
            (
                "data".into(),
                "vendored MNIST, train split for D's real batches, test split for evaluation, values in [-1, 1]"
                    .into(),
            ),
            (
                "G (gan_train::models, mlp)".into(),
                format!(
                    "{}-{}-784, LeakyReLU(0.2), tanh; z ~ N(0, I)",
                    self.latent_dim,
                    widths(&self.g_hidden)
                ),
            ),
            (
                "D (gan_train::models, mlp)".into(),
                format!("784-{}-1, LeakyReLU(0.2), no dropout", widths(&self.d_hidden)),
            ),
            ("init".into(), "DCGAN: N(0, 0.02) weights, zero biases".into()),
            ("batch (each of real, generated)".into(), self.batch.to_string()),
            (
                "optimizer".into(),
                format!("Adam lr {}, betas ({}, 0.999)", self.lr, self.beta1),
            ),
            ("D steps (G frozen, untrained)".into(), self.d_steps.to_string()),
            (
                "G steps (D frozen, non-saturating loss)".into(),
                self.g_steps.to_string(),
            ),
            (
                "evaluation".into(),
                format!(
                    "{} real test images and {} generated; pairwise distances over {} images",
                    self.eval_n, self.eval_n, self.pairs_n
                ),
            ),
            ("seed".into(), self.seed.to_string()),
        ]
    }
}

/// A measurement while D trains against the frozen G.
#[derive(Clone, Copy, Debug)]
pub struct DRow {
    /// D steps done.
    pub step: usize,
    /// Mean D(G(z)) on the probe batch.
    pub d_fake: f64,
    /// ||grad_theta_G E log(1 - D(G(z)))||.
    pub minimax: f64,
    /// ||grad_theta_G -E log D(G(z))||.
    pub non_saturating: f64,
}

/// A measurement while G trains against the frozen D.
#[derive(Clone, Copy, Debug)]
pub struct GRow {
    /// G steps done.
    pub step: usize,
    /// Mean D(G(z)) on the batch.
    pub d_fake: f64,
    /// Mean pairwise L2 distance between generated images (pixel values in [-1, 1]).
    pub pairwise: f64,
}

/// How D separates real test images from G's images.
#[derive(Clone, Copy, Debug)]
pub struct Separation {
    /// Mean D(x) over real test images.
    pub d_real: f64,
    /// Mean D(G(z)) over generated images.
    pub d_fake: f64,
    /// Fraction classified correctly at threshold 1/2 (both kinds, equal counts).
    pub accuracy: f64,
}

/// What [`train_blocks`] measured.
pub struct BlocksResult {
    /// D's separation after training against the frozen, untrained G.
    pub d_alone: Separation,
    /// Measurements during D's training.
    pub d_rows: Vec<DRow>,
    /// The frozen D against G after G's training.
    pub g_alone: Separation,
    /// Measurements during G's training.
    pub g_rows: Vec<GRow>,
    /// Mean pairwise distance of real test images.
    pub real_pairwise: f64,
    /// Mean pairwise distance of the untrained G's images.
    pub initial_pairwise: f64,
    /// Mean pairwise distance of G's images after training.
    pub final_pairwise: f64,
    /// 64 images of the untrained G, `[64, 1, 28, 28]` values.
    pub initial_samples: Vec<f32>,
    /// 64 images of G after training against the frozen D.
    pub final_samples: Vec<f32>,
    /// 64 real test images.
    pub real_samples: Vec<f32>,
    /// Class histograms by the committed MNIST classifier (gan_train::eval::lenet) of the
    /// `pairs_n` real test images, untrained G's and final G's images; None when the
    /// classifier weights are missing.
    pub classes: Option<[[usize; 10]; 3]>,
    /// Seconds of D's and G's training.
    pub seconds: (f64, f64),
}

/// Class histograms of `sets` of images `[n, 1, 28, 28]` by the committed MNIST
/// classifier, or None when its weights are not there.
fn class_histograms(ctx: &Context, sets: [&[f32]; 3]) -> Result<Option<[[usize; 10]; 3]>> {
    let path = gan_data::data_dir().join("classifier/mnist_lenet.safetensors");
    if !path.is_file() {
        return Ok(None);
    }
    let (model, _store) = load_mnist_classifier(ctx, &path)?;
    let mut out = [[0usize; 10]; 3];
    for (h, v) in out.iter_mut().zip(sets) {
        let n = v.len() / 784;
        let t = Tensor::from_slice(ctx, v, &[n, 1, 28, 28])?;
        for c in argmax_rows(&model.image_logits(&t)?, 10) {
            h[c as usize] += 1;
        }
    }
    Ok(Some(out))
}

struct Blocks {
    ctx: Context,
    cfg: BlocksConfig,
    gan: Gan,
    train: Dataset,
    test: Dataset,
    rng: SplitMix,
    draws: u64,
}

impl Blocks {
    fn latents(&mut self, n: usize) -> Result<Var> {
        self.draws += 1;
        self.gan.latents(n, self.draws)
    }

    /// `n` images of `data` (random, or the first `n` when `first`), uploaded.
    fn images(&mut self, test: bool, n: usize, first: bool) -> Result<Var> {
        let data = if test { &self.test } else { &self.train };
        let mut host = Vec::with_capacity(n * self.gan.item.numel());
        for i in 0..n {
            let idx = if first {
                i % data.len()
            } else {
                (self.rng.next_u64() % data.len() as u64) as usize
            };
            host.extend_from_slice(data.image(idx));
        }
        let t = Tensor::from_slice(&self.ctx, &host, &self.gan.item.batch_dims(n))?;
        Ok(Var::constant(t))
    }

    /// Mean of sigmoid(logits), on the GPU.
    fn mean_d(logits: &Var) -> Result<f64> {
        Ok(logits.value().sigmoid()?.mean_all()?.to_vec()?[0] as f64)
    }

    /// `n` generated images (evaluation mode), as a constant.
    fn fakes(&mut self, n: usize) -> Result<Var> {
        let z = self.latents(n)?;
        no_grad(|| self.gan.generate(&z, false))
    }

    fn separation(&mut self) -> Result<Separation> {
        let n = self.cfg.eval_n;
        let x = self.images(true, n, true)?;
        let f = self.fakes(n)?;
        let gan = &self.gan;
        let (lr, lf) = no_grad(|| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((
                gan.discriminate(&x, false)?.value().sigmoid()?.to_vec()?,
                gan.discriminate(&f, false)?.value().sigmoid()?.to_vec()?,
            ))
        })?;
        let mean = |v: &[f32]| v.iter().map(|&d| d as f64).sum::<f64>() / v.len() as f64;
        let right =
            lr.iter().filter(|&&d| d > 0.5).count() + lf.iter().filter(|&&d| d < 0.5).count();
        Ok(Separation {
            d_real: mean(&lr),
            d_fake: mean(&lf),
            accuracy: right as f64 / (2 * n) as f64,
        })
    }

    /// G's loss gradient norm on a probe batch (D frozen), and the mean D(G(z)) there.
    fn g_grad(&mut self, loss: GLoss) -> Result<(f64, f64)> {
        let z = self.latents(self.cfg.batch)?;
        let gan = &self.gan;
        let gs = &gan.generator.store;
        gs.zero_grad()?;
        let l = gan.with_frozen_discriminator(|| {
            let l = gan.discriminate(&gan.generate(&z, true)?, true)?;
            Objective::plain(loss).g_loss(&l)?.backward()?;
            Ok(l)
        })?;
        let norm = grad_norm(gs)?;
        gs.zero_grad()?;
        Ok((norm, Self::mean_d(&l)?))
    }
}

/// Mean pairwise Euclidean distance between the rows of `v` (each `dim` values).
pub fn mean_pairwise_distance(v: &[f32], dim: usize) -> f64 {
    let rows: Vec<&[f32]> = v.chunks_exact(dim).collect();
    let (mut sum, mut count) = (0.0f64, 0usize);
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let d2: f64 = rows[i]
                .iter()
                .zip(rows[j])
                .map(|(&a, &b)| ((a - b) as f64).powi(2))
                .sum();
            sum += d2.sqrt();
            count += 1;
        }
    }
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}

/// Runs both halves of experiment 5 on the vendored MNIST.
pub fn train_blocks(ctx: &Context, cfg: &BlocksConfig) -> Result<BlocksResult> {
    let train = load_vendored_mnist(Split::Train)?;
    let test = load_vendored_mnist(Split::Test)?;
    let item = ItemShape::Image(train.shape());
    let gan = Gan::new(ctx, &cfg.players(), item)?;
    let adam = AdamConfig {
        beta1: cfg.beta1 as f32,
        beta2: 0.999,
        ..AdamConfig::adam(cfg.lr as f32)
    };
    let mut opt_d = Adam::new(&gan.discriminator.store, adam)?;
    let mut opt_g = Adam::new(&gan.generator.store, adam)?;
    let mut b = Blocks {
        ctx: ctx.clone(),
        cfg: cfg.clone(),
        gan,
        train,
        test,
        rng: SplitMix::new(seeds::host_data(cfg.seed)),
        draws: 0,
    };
    let dim = item.numel();
    let pairs = cfg.pairs_n;
    let real_pairs = b.images(true, pairs, true)?.value().to_vec()?;
    let real_pairwise = mean_pairwise_distance(&real_pairs, dim);
    let initial_samples = b.fakes(pairs.max(64))?.value().to_vec()?;
    let initial_pairwise = mean_pairwise_distance(&initial_samples[..pairs * dim], dim);
    let every = cfg.every.max(1);

    // D alone: G frozen at its initialisation.
    let start = std::time::Instant::now();
    let mut d_rows = Vec::new();
    for s in 0..=cfg.d_steps {
        if s % every == 0 || s == cfg.d_steps {
            let (minimax, d_fake) = b.g_grad(GLoss::Minimax)?;
            let (non_saturating, _) = b.g_grad(GLoss::NonSaturating)?;
            d_rows.push(DRow {
                step: s,
                d_fake,
                minimax,
                non_saturating,
            });
        }
        if s == cfg.d_steps {
            break;
        }
        let x = b.images(false, cfg.batch, false)?;
        let f = b.fakes(cfg.batch)?;
        opt_d.zero_grad()?;
        b.gan.d_loss(&x, &f)?.0.total.backward()?;
        opt_d.step()?;
    }
    let d_alone = b.separation()?;
    let d_seconds = start.elapsed().as_secs_f64();

    // G alone: D frozen where it stopped; G minimises -log D(G(z)).
    let start = std::time::Instant::now();
    let mut g_rows = Vec::new();
    for s in 0..=cfg.g_steps {
        let measure = s % every == 0 || s == cfg.g_steps;
        if measure {
            let f = b.fakes(pairs)?;
            let lf = no_grad(|| b.gan.discriminate(&f, false))?;
            g_rows.push(GRow {
                step: s,
                d_fake: Blocks::mean_d(&lf)?,
                pairwise: mean_pairwise_distance(&f.value().to_vec()?, dim),
            });
        }
        if s == cfg.g_steps {
            break;
        }
        opt_g.zero_grad()?;
        let z = b.latents(cfg.batch)?;
        let gan = &b.gan;
        gan.with_frozen_discriminator(|| {
            gan.g_loss(&gan.generate(&z, true)?)?
                .backward()
                .map_err(Into::into)
        })?;
        opt_g.step()?;
    }
    let g_alone = b.separation()?;
    let g_seconds = start.elapsed().as_secs_f64();
    let final_samples = b.fakes(pairs.max(64))?.value().to_vec()?;
    let final_pairwise = mean_pairwise_distance(&final_samples[..pairs * dim], dim);
    let real_samples = b.images(true, 64, true)?.value().to_vec()?;
    let classes = class_histograms(
        ctx,
        [
            &real_pairs,
            &initial_samples[..pairs * dim],
            &final_samples[..pairs * dim],
        ],
    )?;
    Ok(BlocksResult {
        d_alone,
        d_rows,
        g_alone,
        g_rows,
        real_pairwise,
        initial_pairwise,
        final_pairwise,
        initial_samples: initial_samples[..64 * dim].to_vec(),
        final_samples: final_samples[..64 * dim].to_vec(),
        real_samples,
        classes,
        seconds: (d_seconds, g_seconds),
    })
}
