//! The game in one dimension, where every density is known: p_data is a Gaussian mixture,
//! G(z) = a z + b with z ~ N(0, 1) (so p_g = N(b, a^2), read from G's parameters), and D
//! is a small MLP. Both players form a gan-train [`Gan`], so the losses, latent streams
//! and seeds are the trainer's; all training runs on the GPU, the host only draws the data
//! samples (like a data loader) and computes the references of [`crate::density`].

use gan_nn::{
    no_grad, Adam, AdamConfig, Init, InitScheme, LeakyReLU, Linear, Optimizer, ParamStore,
    Sequential, Sgd, SgdConfig, Var,
};
use gan_tensor::{Context, Tensor};
use gan_train::objective::value_of_logits;
use gan_train::{seeds, GLoss, Game, Gan, ItemShape, Objective, Prior};
use gan_train::{Result, TrainError};

use crate::density::{Gaussian, Mixture, SplitMix};

/// The settings of a 1-D game.
#[derive(Clone, Debug)]
pub struct Game1dConfig {
    /// The data density.
    pub p_data: Mixture,
    /// G's initial slope a (G(z) = a z + b).
    pub a: f64,
    /// G's initial offset b.
    pub b: f64,
    /// Hidden widths of D (Linear + LeakyReLU(0.2) each, then Linear to one logit).
    pub d_hidden: Vec<usize>,
    /// Samples of each kind per step.
    pub batch: usize,
    /// Adam learning rate of D.
    pub lr_d: f64,
    /// Adam learning rate of G.
    pub lr_g: f64,
    /// Adam beta1 of both players (beta2 = 0.999).
    pub beta1: f64,
    /// Train G with plain SGD (step = lr_g x gradient) instead of Adam, whose
    /// per-parameter normalisation hides the gradient's scale.
    pub g_sgd: bool,
    /// Seeds initialisation, data samples and latents.
    pub seed: u64,
}

impl Game1dConfig {
    /// The settings as `name = value` pairs, for reports.
    pub fn describe(&self) -> Vec<(String, String)> {
        let mix = self
            .p_data
            .parts
            .iter()
            .map(|(w, g)| {
                if self.p_data.parts.len() == 1 {
                    format!("N({}, {}^2)", g.mean, g.std)
                } else {
                    format!("{w} N({}, {}^2)", g.mean, g.std)
                }
            })
            .collect::<Vec<_>>()
            .join(" + ");
        vec![
            ("p_data".into(), mix),
            (
                "G(z), z ~ N(0,1)".into(),
                format!("a z + b, initial a = {}, b = {}", self.a, self.b),
            ),
            (
                "D".into(),
                format!(
                    "MLP 1-{}-1, LeakyReLU(0.2), PyTorch default init",
                    self.d_hidden
                        .iter()
                        .map(|h| h.to_string())
                        .collect::<Vec<_>>()
                        .join("-")
                ),
            ),
            (
                "batch (each of real, generated)".into(),
                self.batch.to_string(),
            ),
            (
                "lr_d (Adam), lr_g".into(),
                format!("{}, {}", self.lr_d, self.lr_g),
            ),
            ("Adam betas".into(), format!("({}, 0.999)", self.beta1)),
            (
                "G optimizer".into(),
                if self.g_sgd {
                    "plain SGD (no momentum)".into()
                } else {
                    "Adam".into()
                },
            ),
            ("seed".into(), self.seed.to_string()),
        ]
    }
}

/// A 1-D game: the players, their optimizers and the sample streams.
pub struct Game1d {
    /// The settings.
    pub cfg: Game1dConfig,
    gan: Gan,
    opt_g: Box<dyn Optimizer>,
    opt_d: Adam,
    rng: SplitMix,
    draws: u64,
}

/// What one discriminator step measured (D's outputs before its update).
#[derive(Clone, Copy, Debug, Default)]
pub struct StepStats {
    /// Mean D(x) over the real batch.
    pub d_real: f64,
    /// Mean D(G(z)) over the generated batch.
    pub d_fake: f64,
    /// Batch estimate of V(D, G) = mean log D(x) + mean log(1 - D(G(z))).
    pub value: f64,
}

impl Game1d {
    /// Builds the players: G = Linear(1, 1) with weight a and bias b, D = an MLP with
    /// PyTorch's default init, as a [`Gan`] seeded by `cfg.seed` (z ~ N(0, 1)).
    pub fn new(ctx: &Context, cfg: Game1dConfig) -> Result<Game1d> {
        if cfg.batch == 0 || cfg.p_data.parts.is_empty() {
            return Err(TrainError::Config(
                "the 1-D game needs batch >= 1 and a data density with at least one component"
                    .into(),
            ));
        }
        let g = Sequential::new().add(
            Linear::new(1, 1)
                .weight_init(Init::Const(cfg.a as f32))
                .bias_init(Init::Const(cfg.b as f32)),
        );
        let game = Game {
            prior: Prior::Normal,
            latent_dim: 1,
            pack: 1,
            objective: Objective::plain(GLoss::NonSaturating),
            seed: cfg.seed,
            simultaneous: false,
            g_steps: 1,
        };
        let d = discriminator_1d(&cfg.d_hidden);
        let gan = Gan::with_players(ctx, g, d, game, ItemShape::Points(1), InitScheme::PyTorch)?;
        let adam = |lr: f64| AdamConfig {
            beta1: cfg.beta1 as f32,
            beta2: 0.999,
            ..AdamConfig::adam(lr as f32)
        };
        let gs = &gan.generator.store;
        let opt_g: Box<dyn Optimizer> = if cfg.g_sgd {
            Box::new(Sgd::new(
                gs,
                SgdConfig {
                    lr: cfg.lr_g as f32,
                    momentum: 0.0,
                    dampening: 0.0,
                    weight_decay: 0.0,
                    nesterov: false,
                },
            )?)
        } else {
            Box::new(Adam::new(gs, adam(cfg.lr_g))?)
        };
        let opt_d = Adam::new(&gan.discriminator.store, adam(cfg.lr_d))?;
        Ok(Game1d {
            rng: SplitMix::new(seeds::host_data(cfg.seed)),
            cfg,
            gan,
            opt_g,
            opt_d,
            draws: 0,
        })
    }

    /// The device.
    pub fn context(&self) -> &Context {
        self.gan.context()
    }

    /// G's current (a, b), read from its store.
    pub fn affine(&self) -> Result<(f64, f64)> {
        let read = |name: &str| -> Result<f64> {
            let p = self.gan.generator.store.get(name).ok_or_else(|| {
                TrainError::Config(format!("the 1-D generator has no parameter {name}"))
            })?;
            Ok(p.tensor()?.to_vec()?[0] as f64)
        };
        Ok((read("gen.0.weight")?, read("gen.0.bias")?))
    }

    /// p_g = N(b, a^2), from G's current parameters.
    pub fn p_g(&self) -> Result<Mixture> {
        let (a, b) = self.affine()?;
        Ok(Gaussian::new(b, a.abs().max(1e-12)).into())
    }

    /// Sets D's learning rate (a schedule).
    pub fn set_lr_d(&mut self, lr_d: f64) {
        self.opt_d.cfg.lr = lr_d as f32;
    }

    /// `n` real samples, uploaded as `[n, 1]`.
    fn real(&mut self, n: usize) -> Result<Var> {
        let xs = self.cfg.p_data.sample(n, &mut self.rng);
        Ok(Var::constant(Tensor::from_slice(
            self.context(),
            &xs,
            &[n, 1],
        )?))
    }

    /// `n` fresh latents z ~ N(0, 1), `[n, 1]`: the game's next latent stream.
    fn latents(&mut self, n: usize) -> Result<Var> {
        self.draws += 1;
        self.gan.latents(n, self.draws)
    }

    /// One discriminator step on fresh samples (maximises V: the objective's D loss,
    /// BCE with label 1 on real, 0 on generated). Reads the statistics back only when
    /// `read`.
    pub fn d_step(&mut self, read: bool) -> Result<Option<StepStats>> {
        let n = self.cfg.batch;
        let x = self.real(n)?;
        let z = self.latents(n)?;
        let fake = no_grad(|| self.gan.generate(&z, true))?;
        self.opt_d.zero_grad()?;
        let (loss, lr, lf) = self.gan.d_loss(&x, &fake)?;
        loss.total.backward()?;
        self.opt_d.step()?;
        if !read {
            return Ok(None);
        }
        Ok(Some(StepStats {
            d_real: lr.value().sigmoid()?.mean_all()?.to_vec()?[0] as f64,
            d_fake: lf.value().sigmoid()?.mean_all()?.to_vec()?[0] as f64,
            value: -(loss.real.item()? as f64) - loss.fake.item()? as f64,
        }))
    }

    /// G's `loss` on `n` fresh latents, backpropagated into G's gradient with D frozen,
    /// and D's logits on those samples.
    fn g_backward(&mut self, n: usize, loss: GLoss) -> Result<Var> {
        let z = self.latents(n)?;
        let gan = &self.gan;
        gan.with_frozen_discriminator(|| {
            let logits = gan.discriminate(&gan.generate(&z, true)?, true)?;
            Objective::plain(loss).g_loss(&logits)?.backward()?;
            Ok(logits)
        })
    }

    /// One generator step with `loss` on fresh latents.
    pub fn g_step(&mut self, loss: GLoss) -> Result<()> {
        self.opt_g.zero_grad()?;
        self.g_backward(self.cfg.batch, loss)?;
        self.opt_g.step()?;
        Ok(())
    }

    /// The Euclidean norm of the gradient of G's `loss` with respect to G's parameters on
    /// `n` fresh latents, without updating anything (computed on the GPU), and the mean
    /// D(G(z)) on those latents.
    pub fn g_grad_norm(&mut self, n: usize, loss: GLoss) -> Result<(f64, f64)> {
        self.opt_g.zero_grad()?;
        let logits = self.g_backward(n, loss)?;
        let norm = grad_norm(&self.gan.generator.store)?;
        let d_fake = logits.value().sigmoid()?.mean_all()?.to_vec()?[0] as f64;
        self.opt_g.zero_grad()?;
        Ok((norm, d_fake))
    }

    /// D's logits at the points `xs` (evaluation mode, no tape).
    pub fn d_logits(&self, xs: &[f64]) -> Result<Vec<f64>> {
        let host: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let x = Var::constant(Tensor::from_slice(self.context(), &host, &[xs.len(), 1])?);
        let l = no_grad(|| self.gan.discriminate(&x, false))?;
        Ok(l.value().to_vec()?.into_iter().map(f64::from).collect())
    }

    /// Monte Carlo estimate of V(D, G) = E log D(x) + E log(1 - D(G(z))) with `n` samples
    /// of each kind (in chunks of 16384, on the GPU), and the generated samples (so the
    /// caller can evaluate D* on the very same points).
    pub fn value_mc(&mut self, n: usize) -> Result<(f64, Vec<f32>, Vec<f32>)> {
        let chunk = 16_384.min(n.max(1));
        let (mut sum, mut done) = (0.0f64, 0usize);
        let (mut reals, mut fakes) = (Vec::with_capacity(n), Vec::with_capacity(n));
        while done < n {
            let m = chunk.min(n - done);
            let x = self.real(m)?;
            let z = self.latents(m)?;
            let gan = &self.gan;
            let (lr, lf, fake) = no_grad(|| -> Result<(Var, Var, Var)> {
                let fake = gan.generate(&z, false)?;
                Ok((
                    gan.discriminate(&x, false)?,
                    gan.discriminate(&fake, false)?,
                    fake,
                ))
            })?;
            let v = value_of_logits(lr.value(), lf.value())?.to_vec()?[0] as f64;
            sum += v * m as f64;
            reals.extend(x.value().to_vec()?);
            fakes.extend(fake.value().to_vec()?);
            done += m;
        }
        Ok((sum / n as f64, reals, fakes))
    }
}

/// The Euclidean norm of a store's gradient (flat buffer; its padding is zero), reduced
/// on the GPU.
pub fn grad_norm(store: &ParamStore) -> Result<f64> {
    let g = store.grads();
    Ok((g.mul(g)?.sum_all()?.to_vec()?[0] as f64).sqrt())
}

/// D for 1-D data: Linear(1, h1), LeakyReLU(0.2), ..., Linear(h_last, 1) (a logit).
pub fn discriminator_1d(hidden: &[usize]) -> Sequential {
    let mut d = Sequential::new();
    let mut width = 1;
    for &h in hidden {
        d.push(Linear::new(width, h));
        d.push(LeakyReLU::new(0.2));
        width = h;
    }
    d.push(Linear::new(width, 1));
    d
}
