//! One training step of the game, Algorithm 1 of Goodfellow et al. (2014): `k` steps
//! of D, each on a fresh real batch and fresh latents, then one step of G. No run
//! directory is involved: the trainer and the benches call [`train_step`] alike.

use gan_nn::{no_grad, Adam, AdamConfig, Optimizer, Var};
use gan_tensor::Tensor;

use crate::config::Config;
use crate::error::Result;
use crate::gan::Gan;
use crate::metrics::NUM_METRICS;
use crate::objective::DLoss;

/// Adam for each player.
pub struct Optimizers {
    /// G's.
    pub g: Adam,
    /// D's.
    pub d: Adam,
}

impl Optimizers {
    /// Adam with the config's rates and betas over the players' stores.
    pub fn new(gan: &Gan, cfg: &Config) -> Result<Optimizers> {
        let adam = |lr: f64| AdamConfig {
            beta1: cfg.beta1 as f32,
            beta2: cfg.beta2 as f32,
            ..AdamConfig::adam(lr as f32)
        };
        Ok(Optimizers {
            g: Adam::new(&gan.generator.store, adam(cfg.lr_g()))?,
            d: Adam::new(&gan.discriminator.store, adam(cfg.lr_d()))?,
        })
    }
}

/// What a step leaves on the GPU: the losses and D's logits of its last D step.
pub struct StepOutputs {
    /// D's loss of the last D step.
    pub d_loss: DLoss,
    /// G's loss.
    pub g_loss: Var,
    /// D's logits on the last real batch (before D's update).
    pub real_logits: Var,
    /// D's logits on the last generated batch (before D's update).
    pub fake_logits: Var,
}

impl StepOutputs {
    /// The step's metrics as `[1]` tensors on the GPU: D loss, G loss, mean D(x), mean
    /// D(G(z)), the batch estimate of V.
    pub fn metric_tensors(&self, gan: &Gan) -> Result<[Tensor; NUM_METRICS]> {
        let (lr, lf) = (self.real_logits.value(), self.fake_logits.value());
        let d_real = lr.sigmoid()?.mean_all()?;
        let d_fake = lf.sigmoid()?.mean_all()?;
        let value = gan.objective().value(lr, &self.d_loss)?;
        Ok([
            self.d_loss.total.value().clone(),
            self.g_loss.value().clone(),
            d_real,
            d_fake,
            value,
        ])
    }
}

/// One step: for each of `k` D steps j, real batch `first_batch + j` from `real` and
/// latents of stream `first_batch + j`; D descends its BCE on them (G(z) detached);
/// then G descends its loss on the last D step's G(z) (as the PyTorch DCGAN example
/// does), with D frozen; G_ema, when the game has one, is updated after G's step.
pub fn train_step(
    gan: &Gan,
    opt: &mut Optimizers,
    k: usize,
    first_batch: u64,
    mut real: impl FnMut(u64) -> Result<Var>,
) -> Result<StepOutputs> {
    train_step_labelled(gan, opt, k, first_batch, |b| Ok((real(b)?, None)))
}

/// [`train_step`] where `real` also gives the real items' classes (a conditional game
/// needs them; None otherwise). The generated items of stream b are made for classes
/// drawn uniformly ([`Gan::fake_labels`]); G's step reuses the last D step's classes.
pub fn train_step_labelled(
    gan: &Gan,
    opt: &mut Optimizers,
    k: usize,
    first_batch: u64,
    mut real: impl FnMut(u64) -> Result<(Var, Option<Tensor>)>,
) -> Result<StepOutputs> {
    let mut last = None;
    for j in 0..k as u64 {
        let b = first_batch + j;
        let (x, yr) = real(b)?;
        let n = x.dims()[0];
        let z = gan.latents(n, b)?;
        let yf = gan.fake_labels(n, b)?;
        let keep = j + 1 == k as u64;
        // Only the last D step's G(z) is kept for G's step: the others need no tape.
        let fake = if keep {
            gan.generate_for(&z, yf.as_ref(), true)?
        } else {
            no_grad(|| gan.generate_for(&z, yf.as_ref(), true))?
        };
        opt.d.zero_grad()?;
        let (d_loss, lr, lf) = gan.d_loss_for(&x, yr.as_ref(), &fake.detach(), yf.as_ref())?;
        d_loss.total.backward()?;
        opt.d.step()?;
        if keep {
            last = Some((fake, yf, d_loss, lr, lf));
        }
    }
    let (fake, yf, d_loss, real_logits, fake_logits) = last.expect("k >= 1");
    opt.g.zero_grad()?;
    let g_loss = gan.with_frozen_discriminator(|| {
        let loss = gan.g_loss_for(&fake, yf.as_ref())?;
        loss.backward()?;
        Ok(loss)
    })?;
    opt.g.step()?;
    // G_ema follows G's new weights (t = G's steps so far, restored on resume).
    gan.update_ema(opt.g.steps())?;
    Ok(StepOutputs {
        d_loss,
        g_loss,
        real_logits,
        fake_logits,
    })
}
