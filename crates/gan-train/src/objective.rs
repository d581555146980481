//! The one definition of the game's objective (Goodfellow et al. 2014, eq. 1):
//! V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))), with D given as logits.
//!
//! D ascends V, i.e. descends the binary cross-entropy BCE(D(x), 1) + BCE(D(G(z)), 0)
//! (with one-sided label smoothing the real label is 1 - s). G descends log(1 - D(G(z)))
//! (minimax, the game as written) or -log D(G(z)) (non-saturating, the paper's practical
//! choice). The trainer, the benches and the theory experiments all call these.

use gan_nn::{Labels, Var};
use gan_tensor::bce::{bce_with_logits_loss, Targets};
use gan_tensor::Tensor;

use crate::config::{Config, GLoss};
use crate::error::Result;

/// The losses of both players.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// The generator's loss.
    pub g_loss: GLoss,
    /// One-sided label smoothing: D's target for real items is 1 - this.
    pub label_smoothing: f32,
}

/// D's loss on one real and one generated batch, with its two halves.
#[derive(Clone)]
pub struct DLoss {
    /// BCE(D(x), real label), mean over the batch.
    pub real: Var,
    /// BCE(D(G(z)), 0), mean over the batch.
    pub fake: Var,
    /// real + fake: what D descends.
    pub total: Var,
}

impl Objective {
    /// The objective a config asks for.
    pub fn of(cfg: &Config) -> Objective {
        Objective {
            g_loss: cfg.loss,
            label_smoothing: cfg.label_smoothing as f32,
        }
    }

    /// The plain game: minimax or non-saturating G, no smoothing.
    pub fn plain(g_loss: GLoss) -> Objective {
        Objective {
            g_loss,
            label_smoothing: 0.0,
        }
    }

    /// D's target for real items.
    pub fn real_label(&self) -> f32 {
        1.0 - self.label_smoothing
    }

    /// D's loss from its logits on real and generated items.
    pub fn d_loss(&self, real_logits: &Var, fake_logits: &Var) -> Result<DLoss> {
        let real = real_logits.bce_with_logits(Labels::Const(self.real_label()))?;
        let fake = fake_logits.bce_with_logits(Labels::Const(0.0))?;
        let total = real.add(&fake)?;
        Ok(DLoss { real, fake, total })
    }

    /// G's loss from D's logits on generated items.
    pub fn g_loss(&self, fake_logits: &Var) -> Result<Var> {
        Ok(match self.g_loss {
            // minimise -log D(G(z)) = BCE(l, 1)
            GLoss::NonSaturating => fake_logits.bce_with_logits(Labels::Const(1.0))?,
            // minimise log(1 - D(G(z))) = -BCE(l, 0)
            GLoss::Minimax => fake_logits.bce_with_logits(Labels::Const(0.0))?.neg()?,
        })
    }

    /// The batch estimate of V(D, G) (unsmoothed labels) on the GPU, `[1]`, from D's
    /// logits and the fake half of D's loss (which is -E log(1 - D(G(z)))).
    pub fn value(&self, real_logits: &Tensor, d: &DLoss) -> Result<Tensor> {
        let real = if self.label_smoothing == 0.0 {
            d.real.value().clone()
        } else {
            bce_with_logits_loss(real_logits, Targets::Const(1.0))?
        };
        Ok(real.add(d.fake.value())?.neg()?)
    }
}

/// The batch estimate of V(D, G) from D's logits alone, `[1]` on the GPU.
pub fn value_of_logits(real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
    let a = bce_with_logits_loss(real_logits, Targets::Const(1.0))?;
    let b = bce_with_logits_loss(fake_logits, Targets::Const(0.0))?;
    Ok(a.add(&b)?.neg()?)
}
