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
use crate::parallel::{all_reduce_mean, Collective, Split};

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

/// What one piece of a step leaves on the GPU: the losses and D's logits of its last D
/// step.
pub struct PieceOutputs {
    /// D's loss of the last D step.
    pub d_loss: DLoss,
    /// G's loss.
    pub g_loss: Var,
    /// D's logits on the last real batch (before D's update).
    pub real_logits: Var,
    /// D's logits on the last generated batch (before D's update).
    pub fake_logits: Var,
}

/// What a step leaves on the GPU: one [`PieceOutputs`] per micro-batch of this process
/// (one for an unsplit step).
pub struct StepOutputs {
    /// This process's pieces, in order.
    pub pieces: Vec<PieceOutputs>,
}

impl PieceOutputs {
    fn metric_tensors(&self, gan: &Gan) -> Result<[Tensor; NUM_METRICS]> {
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

impl StepOutputs {
    /// The step's metrics as `[1]` tensors on the GPU: D loss, G loss, mean D(x), mean
    /// D(G(z)), the batch estimate of V; the means over this process's pieces (equal
    /// sizes: the means over its share of the batch).
    pub fn metric_tensors(&self, gan: &Gan) -> Result<[Tensor; NUM_METRICS]> {
        let mut sum = self.pieces[0].metric_tensors(gan)?;
        for p in &self.pieces[1..] {
            let m = p.metric_tensors(gan)?;
            for (s, x) in sum.iter_mut().zip(&m) {
                *s = s.add(x)?;
            }
        }
        if self.pieces.len() > 1 {
            let scale = 1.0 / self.pieces.len() as f32;
            for s in sum.iter_mut() {
                *s = s.mul_scalar(scale)?;
            }
        }
        Ok(sum)
    }

    /// The (only) piece of an unsplit step.
    pub fn whole(&self) -> &PieceOutputs {
        &self.pieces[0]
    }
}

/// One step: for each of `k` D steps j, real batch `first_batch + j` from `real` and
/// latents of stream `first_batch + j`; D descends its BCE on them (G(z) detached);
/// then G descends its loss on the last D step's G(z) (as the PyTorch DCGAN example
/// does), with D frozen; G_ema, when the game has one, is updated after G's step. With
/// `gan.game.simultaneous` the last D step's update is applied after G's gradient is
/// taken, so both players' gradients come from the same D (ALI's and PacGAN's order).
/// With `gan.game.g_steps` > 1, G then takes that many steps in all, each on the last D
/// step's latents and classes against the same D (the outputs report G's first loss).
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
    train_step_split(gan, opt, k, first_batch, Split::WHOLE, None, |b, _, _| {
        real(b)
    })
}

/// [`train_step_labelled`] on this process's share of the batch ([`crate::parallel`]):
/// `real(b, p, P)` gives piece p of P of real batch b (its rows p B/P ..), whose latents,
/// fake classes and dropout masks are those rows' part of the whole batch's. Each piece
/// is forward and backward on its own (its loss scaled by 1/micro), the gradients of a
/// player are summed on its flat buffer, then averaged over the ranks by `comm` before
/// each optimizer step. With [`Split::WHOLE`] and no `comm`, exactly
/// [`train_step_labelled`].
pub fn train_step_split(
    gan: &Gan,
    opt: &mut Optimizers,
    k: usize,
    first_batch: u64,
    split: Split,
    comm: Option<&dyn Collective>,
    mut real: impl FnMut(u64, usize, usize) -> Result<(Var, Option<Tensor>)>,
) -> Result<StepOutputs> {
    let pieces = split.pieces();
    let scale = 1.0 / split.micro as f32;
    let backward = |loss: &Var| -> Result<()> {
        if split.micro > 1 {
            loss.mul_scalar(scale)?.backward()?;
        } else {
            loss.backward()?;
        }
        Ok(())
    };
    let (g, d) = (&gan.generator, &gan.discriminator);
    let mut kept = Vec::with_capacity(split.micro);
    // The last D step's latents and classes, for G's steps after its first.
    let mut again = Vec::new();
    for j in 0..k as u64 {
        let b = first_batch + j;
        let keep = j + 1 == k as u64;
        opt.d.zero_grad()?;
        // Every piece draws the step's dropout streams, at its own rows.
        let snapshot = (split.micro > 1).then(|| (g.rng_steps(), d.rng_steps()));
        for m in 0..split.micro {
            let p = split.piece(m);
            if let (true, Some((g0, d0))) = (m > 0, &snapshot) {
                g.set_rng_steps(g0);
                d.set_rng_steps(d0);
            }
            g.set_shard(p, pieces);
            d.set_shard(p, pieces);
            let (x, yr) = real(b, p, pieces)?;
            let n = x.dims()[0];
            let z = gan.latents_piece(n, b, p)?;
            let yf = gan.fake_labels_piece(n, b, p, pieces)?;
            // Only the last D step's G(z) is kept for G's step: the others need no tape.
            let fake = if keep {
                gan.generate_for(&z, yf.as_ref(), true)?
            } else {
                no_grad(|| gan.generate_for(&z, yf.as_ref(), true))?
            };
            let (d_loss, lr, lf) = gan.d_loss_for(&x, yr.as_ref(), &fake.detach(), yf.as_ref())?;
            backward(&d_loss.total)?;
            if keep {
                if gan.game.g_steps > 1 {
                    again.push((p, z.clone(), yf.clone()));
                }
                kept.push((p, fake, yf, d_loss, lr, lf));
            }
        }
        if let Some(c) = comm {
            all_reduce_mean(c, opt.d.store().grads())?;
        }
        // Simultaneous updates: D's last step waits until G's gradient is taken against
        // the same D.
        if !(keep && gan.game.simultaneous) {
            opt.d.step()?;
        }
    }
    opt.g.zero_grad()?;
    let d0 = (split.micro > 1).then(|| d.rng_steps());
    let mut out = Vec::with_capacity(kept.len());
    for (m, (p, fake, yf, d_loss, real_logits, fake_logits)) in kept.into_iter().enumerate() {
        if let (true, Some(d0)) = (m > 0, &d0) {
            d.set_rng_steps(d0);
        }
        d.set_shard(p, pieces);
        let g_loss = gan.with_frozen_discriminator(|| {
            let loss = gan.g_loss_for(&fake, yf.as_ref())?;
            backward(&loss)?;
            Ok(loss)
        })?;
        out.push(PieceOutputs {
            d_loss,
            g_loss,
            real_logits,
            fake_logits,
        });
    }
    if let Some(c) = comm {
        all_reduce_mean(c, opt.g.store().grads())?;
    }
    if gan.game.simultaneous {
        opt.d.step()?;
    }
    opt.g.step()?;
    // G_ema follows G's new weights (t = G's steps so far, restored on resume).
    gan.update_ema(opt.g.steps())?;
    for _ in 1..gan.game.g_steps {
        opt.g.zero_grad()?;
        let rng = (split.micro > 1).then(|| (g.rng_steps(), d.rng_steps()));
        for (m, (p, z, yf)) in again.iter().enumerate() {
            if let (true, Some((g1, d1))) = (m > 0, &rng) {
                g.set_rng_steps(g1);
                d.set_rng_steps(d1);
            }
            g.set_shard(*p, pieces);
            d.set_shard(*p, pieces);
            let fake = gan.generate_for(z, yf.as_ref(), true)?;
            gan.with_frozen_discriminator(|| backward(&gan.g_loss_for(&fake, yf.as_ref())?))?;
        }
        if let Some(c) = comm {
            all_reduce_mean(c, opt.g.store().grads())?;
        }
        opt.g.step()?;
        gan.update_ema(opt.g.steps())?;
    }
    Ok(StepOutputs { pieces: out })
}
