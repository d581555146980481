//! G_ema: an exponential moving average of the generator's weights (Polyak averaging as
//! StyleGAN uses it, Karras et al. 2019, decay ~0.999), which makes smoother samples than
//! the raw G of the same step.
//!
//! After the generator's t-th step (t counts from 1, the step just taken) every trainable
//! parameter is averaged, in one dispatch over the flat parameter buffer
//! ([`gan_tensor::optim::ema_update`]):
//!
//! ```text
//! decay_t = min(decay, (1 + t) / (warmup + t))
//! ema     = decay_t * ema + (1 - decay_t) * G
//! ```
//!
//! The ramp is TensorFlow's `tf.train.ExponentialMovingAverage(decay, num_updates=t)`
//! with `warmup` in place of its 10 (0: no ramp), so the average forgets G's
//! initialisation quickly. Non-trainable buffers (BatchNorm's running_mean and
//! running_var, num_batches_tracked) are not averaged: they are copied from G after each
//! update. Those are G's statistics, not the average's: judged with them, the averaged
//! weights of a BatchNorm generator make worse samples than the raw G (PacGAN's 2-D
//! players, ring8, 5000 steps, seed 1: 56.9% high quality against the raw G's 61.4%).
//! So before G_ema is sampled, scored or saved, the trainer gives it statistics of its
//! own ([`Ema::refresh_statistics`]; the "standing statistics" of BigGAN, Brock et al.
//! 2019): running statistics reset, then [`STAT_BATCHES`] forward passes of the average
//! in training mode on latents of a fixed seed (the same run: 87.5% high quality).
//! They depend on the averaged weights alone, so a resumed run saves the same bits.
//! The average starts as an exact copy of G.

use gan_nn::{no_grad, InitScheme, Role, Sequential, Var};
use gan_tensor::{optim, Context, Tensor};

use crate::error::{Result, TrainError};
use crate::player::Player;

/// Name prefix of the averaged generator (`gen_ema.0.weight`: the same `nn.Sequential`
/// as `gen`).
pub const PREFIX: &str = "gen_ema";

/// Forward passes in training mode that make G_ema's BatchNorm statistics (momentum 0.1:
/// the reset values keep a weight of 0.9^100, 3e-5).
pub const STAT_BATCHES: u64 = 100;

/// Seed of those passes' latents (stream i for pass i): a constant, so that the
/// statistics depend on the averaged weights alone.
pub const STAT_SEED: u64 = 0x454d_4153_5441_5453;

/// The averaged generator and its schedule.
pub struct Ema {
    /// The averaged generator: G's network, its names under [`PREFIX`].
    pub player: Player,
    /// The decay it approaches.
    pub decay: f64,
    /// Length of the warm-up ramp (see the module docs).
    pub warmup: f64,
}

impl Ema {
    /// A moving average of `g`, whose network `net` is a second instance of (same layers,
    /// same order), starting as an exact copy of `g`.
    pub fn new(ctx: &Context, net: Sequential, g: &Player, decay: f64, warmup: f64) -> Result<Ema> {
        // Its initial values are overwritten by the copy below.
        let player = Player::new(ctx, net, PREFIX, 0, InitScheme::default())?;
        Ema::from_player(player, g, decay, warmup)
    }

    /// A moving average of `g` held in `player` (a second instance of G's network, with
    /// its class embedding on a conditional game, named under [`PREFIX`]), made an exact
    /// copy of `g`.
    pub fn from_player(player: Player, g: &Player, decay: f64, warmup: f64) -> Result<Ema> {
        let ok = (0.0..1.0).contains(&decay) && warmup >= 0.0 && warmup.is_finite();
        if !ok {
            return Err(TrainError::Config(format!(
                "ema decay = {decay} must be in [0, 1) and warmup = {warmup} finite and >= 0"
            )));
        }
        let ema = Ema {
            player,
            decay,
            warmup,
        };
        ema.check_layout(g)?;
        ema.copy_from(g)?;
        Ok(ema)
    }

    /// G's and the average's stores must lay their entries out alike, so one dispatch over
    /// the flat buffers averages each parameter with itself.
    fn check_layout(&self, g: &Player) -> Result<()> {
        let (a, b) = (g.store.entries(), self.player.store.entries());
        let same = a.len() == b.len()
            && self.player.store.values().numel() == g.store.values().numel()
            && a.iter().zip(b).all(|(x, y)| {
                x.offset == y.offset
                    && x.param.dims() == y.param.dims()
                    && x.param.role() == y.param.role()
                    && x.name.strip_prefix(g.prefix()) == y.name.strip_prefix(PREFIX)
            });
        if same {
            Ok(())
        } else {
            Err(TrainError::Config(
                "the averaged generator's network differs from G's: build both from the same \
                 definition (models::generator)"
                    .into(),
            ))
        }
    }

    /// The decay of the update after G's `t`-th step: min(decay, (1 + t) / (warmup + t)).
    pub fn decay_at(&self, t: u64) -> f64 {
        let t = t as f64;
        self.decay.min((1.0 + t) / (self.warmup + t))
    }

    /// Makes the average an exact copy of `g` (parameters and buffers).
    pub fn copy_from(&self, g: &Player) -> Result<()> {
        self.player.store.values().assign(g.store.values())?;
        self.copy_buffers(g)
    }

    /// The update after G's `t`-th step (t from 1): the parameters are averaged with
    /// [`Ema::decay_at`]`(t)`, the buffers copied.
    pub fn update(&self, g: &Player, t: u64) -> Result<()> {
        optim::ema_update(
            self.player.store.values(),
            g.store.values(),
            self.decay_at(t),
        )?;
        self.copy_buffers(g)
    }

    fn copy_buffers(&self, g: &Player) -> Result<()> {
        for (src, dst) in g.store.entries().iter().zip(self.player.store.entries()) {
            if src.offset.is_some() {
                continue;
            }
            if src.param.role() == Role::Counter {
                dst.param.set_counter(src.param.counter());
            } else {
                dst.param.tensor()?.assign(&src.param.tensor()?)?;
            }
        }
        Ok(())
    }
}

impl Ema {
    /// True when the averaged network has running statistics (BatchNorm layers).
    pub fn has_statistics(&self) -> bool {
        self.player.store.entries().iter().any(|e| {
            e.offset.is_none() && matches!(e.param.role(), Role::BufferZeros | Role::BufferOnes)
        })
    }

    /// Gives the average BatchNorm statistics of its own: running means reset to 0 and
    /// variances to 1, then [`STAT_BATCHES`] forward passes in training mode, pass i on
    /// the latents (and classes) `batch(i)` gives; the counters are set back to `g`'s.
    /// (Spectral normalization's u and v, where G has them, take those passes' power
    /// iterations on the averaged weights.) False, and nothing done, without BatchNorm.
    pub fn refresh_statistics(
        &self,
        g: &Player,
        mut batch: impl FnMut(u64) -> Result<(Tensor, Option<Tensor>)>,
    ) -> Result<bool> {
        if !self.has_statistics() {
            return Ok(false);
        }
        for e in self.player.store.entries() {
            match (e.offset, e.param.role()) {
                (None, Role::BufferZeros) => e.param.tensor()?.fill_(0.0)?,
                (None, Role::BufferOnes) => e.param.tensor()?.fill_(1.0)?,
                _ => {}
            }
        }
        for i in 0..STAT_BATCHES {
            let (z, labels) = batch(i)?;
            no_grad(|| {
                self.player
                    .forward_for(&Var::constant(z), labels.as_ref(), true)
            })?;
        }
        for (src, dst) in g.store.entries().iter().zip(self.player.store.entries()) {
            if src.offset.is_none() && src.param.role() == Role::Counter {
                dst.param.set_counter(src.param.counter());
            }
        }
        Ok(true)
    }
}
