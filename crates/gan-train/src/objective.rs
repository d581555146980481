//! The one definition of the game's objective, for each [`GLoss`]. D's output is its raw
//! last-layer value (the "logit").
//!
//! - Minimax and non-saturating (Goodfellow et al. 2014, eq. 1):
//!   V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))) with D(x) = sigmoid(logit). D ascends V,
//!   i.e. descends the binary cross-entropy BCE(D(x), 1) + BCE(D(G(z)), 0) (with one-sided
//!   label smoothing the real label is 1 - s). G descends log(1 - D(G(z))) (minimax, the
//!   game as written) or -log D(G(z)) (non-saturating, the paper's practical choice).
//! - Hinge (Lim & Ye 2017; Miyato et al. 2018, eq. 17): D descends
//!   E relu(1 - D(x)) + E relu(1 + D(G(z))), G descends -E D(G(z)). Label smoothing has
//!   no meaning here and [`crate::Config::validate`] refuses it.
//! - Least squares (LSGAN, Mao et al. 2017, eq. 2 with a = 0, b = c = 1): D descends
//!   0.5 E (D(x) - b)^2 + 0.5 E D(G(z))^2, G descends 0.5 E (D(G(z)) - 1)^2. Label
//!   smoothing sets D's real target b = 1 - s (one-sided, as for BCE).
//!
//! The metric "value" is, for every loss, minus D's loss with unsmoothed labels: for the
//! BCE losses exactly the batch estimate of V(D, G); for hinge and least squares what D
//! maximises ([`GLoss::value_meaning`]). The trainer, the benches and the theory
//! experiments all call these; every loss runs on the GPU through `Var` ops.

use gan_nn::{no_grad, Labels, Var};
use gan_tensor::Tensor;

use crate::config::{Config, GLoss};
use crate::error::Result;

/// The losses of both players.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    /// The game's loss (both players; the name is historical).
    pub g_loss: GLoss,
    /// One-sided label smoothing: D's target for real items is 1 - this (BCE and least
    /// squares; must be 0 for hinge).
    pub label_smoothing: f32,
}

/// D's loss on one real and one generated batch, with its two halves.
#[derive(Clone)]
pub struct DLoss {
    /// The real half, mean over the batch: BCE(D(x), real label), E relu(1 - D(x)) or
    /// 0.5 E (D(x) - real label)^2.
    pub real: Var,
    /// The generated half, mean over the batch: BCE(D(G(z)), 0), E relu(1 + D(G(z))) or
    /// 0.5 E D(G(z))^2.
    pub fake: Var,
    /// real + fake: what D descends.
    pub total: Var,
}

impl GLoss {
    /// True for the losses built on D's binary cross-entropy (minimax, non-saturating),
    /// whose D(x) = sigmoid(logit) is a probability and whose value is V(D, G) of
    /// Goodfellow et al. (2014).
    pub fn is_bce(self) -> bool {
        matches!(self, GLoss::Minimax | GLoss::NonSaturating)
    }

    /// The metric `value` at the game's equilibrium (p_g = p_data, D optimal), the
    /// reference line of the loss plot: -log 4 for the BCE losses; -2 for hinge (every
    /// D(x) in [-1, 1] is optimal, D's loss 2); -0.25 for least squares (D* = 1/2,
    /// D's loss 0.5 (1/4) + 0.5 (1/4)).
    pub fn equilibrium_value(self) -> f64 {
        match self {
            GLoss::Minimax | GLoss::NonSaturating => -(4f64.ln()),
            GLoss::Hinge => -2.0,
            GLoss::LeastSquares => -0.25,
        }
    }

    /// What the metric `value` means for this loss, for plots, reports and logs.
    pub fn value_meaning(self) -> &'static str {
        match self {
            GLoss::Minimax | GLoss::NonSaturating => {
                "V = E log D(x) + E log(1 - D(G(z))), the batch estimate of V(D, G)"
            }
            GLoss::Hinge => "V = -(D's hinge loss) = -E relu(1 - D(x)) - E relu(1 + D(G(z)))",
            GLoss::LeastSquares => {
                "V = -(D's least-squares loss) = -0.5 E (D(x) - 1)^2 - 0.5 E D(G(z))^2"
            }
        }
    }
}

/// 0.5 E (l - target)^2.
fn half_mean_square(l: &Var, target: f32) -> Result<Var> {
    let d = if target == 0.0 {
        l.clone()
    } else {
        l.add_scalar(-target)?
    };
    Ok(d.mul(&d)?.mean_all()?.mul_scalar(0.5)?)
}

impl Objective {
    /// The objective a config asks for.
    pub fn of(cfg: &Config) -> Objective {
        Objective {
            g_loss: cfg.loss,
            label_smoothing: cfg.label_smoothing as f32,
        }
    }

    /// The plain game of `g_loss`: no smoothing.
    pub fn plain(g_loss: GLoss) -> Objective {
        Objective {
            g_loss,
            label_smoothing: 0.0,
        }
    }

    /// D's target for real items (BCE and least squares).
    pub fn real_label(&self) -> f32 {
        1.0 - self.label_smoothing
    }

    /// The real half of D's loss with real target `label` (ignored by hinge).
    fn real_half(&self, real_logits: &Var, label: f32) -> Result<Var> {
        Ok(match self.g_loss {
            GLoss::Minimax | GLoss::NonSaturating => {
                real_logits.bce_with_logits(Labels::Const(label))?
            }
            // relu(1 - l)
            GLoss::Hinge => real_logits.affine(-1.0, 1.0)?.relu()?.mean_all()?,
            GLoss::LeastSquares => half_mean_square(real_logits, label)?,
        })
    }

    /// The generated half of D's loss.
    fn fake_half(&self, fake_logits: &Var) -> Result<Var> {
        Ok(match self.g_loss {
            GLoss::Minimax | GLoss::NonSaturating => {
                fake_logits.bce_with_logits(Labels::Const(0.0))?
            }
            GLoss::Hinge => fake_logits.add_scalar(1.0)?.relu()?.mean_all()?,
            GLoss::LeastSquares => half_mean_square(fake_logits, 0.0)?,
        })
    }

    /// D's loss from its outputs on real and generated items.
    pub fn d_loss(&self, real_logits: &Var, fake_logits: &Var) -> Result<DLoss> {
        let real = self.real_half(real_logits, self.real_label())?;
        let fake = self.fake_half(fake_logits)?;
        let total = real.add(&fake)?;
        Ok(DLoss { real, fake, total })
    }

    /// G's loss from D's outputs on generated items.
    pub fn g_loss(&self, fake_logits: &Var) -> Result<Var> {
        Ok(match self.g_loss {
            // minimise -log D(G(z)) = BCE(l, 1)
            GLoss::NonSaturating => fake_logits.bce_with_logits(Labels::Const(1.0))?,
            // minimise log(1 - D(G(z))) = -BCE(l, 0)
            GLoss::Minimax => fake_logits.bce_with_logits(Labels::Const(0.0))?.neg()?,
            // minimise -E D(G(z))
            GLoss::Hinge => fake_logits.mean_all()?.neg()?,
            // minimise 0.5 E (D(G(z)) - 1)^2
            GLoss::LeastSquares => half_mean_square(fake_logits, 1.0)?,
        })
    }

    /// The metric "value" on the GPU, `[1]`: minus D's loss with unsmoothed labels (for
    /// BCE the batch estimate of V(D, G)), from D's logits on real items and D's loss
    /// (whose fake half does not depend on smoothing).
    pub fn value(&self, real_logits: &Tensor, d: &DLoss) -> Result<Tensor> {
        let real = if self.label_smoothing == 0.0 {
            d.real.value().clone()
        } else {
            let l = Var::constant(real_logits.clone());
            no_grad(|| self.real_half(&l, 1.0))?.value().clone()
        };
        Ok(real.add(d.fake.value())?.neg()?)
    }

    /// The metric "value" from D's logits alone, `[1]` on the GPU (see [`Self::value`]).
    pub fn value_of_logits(&self, real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
        let (lr, lf) = (
            Var::constant(real_logits.clone()),
            Var::constant(fake_logits.clone()),
        );
        let (real, fake) = no_grad(|| -> Result<(Var, Var)> {
            Ok((self.real_half(&lr, 1.0)?, self.fake_half(&lf)?))
        })?;
        Ok(real.value().add(fake.value())?.neg()?)
    }
}

/// The batch estimate of V(D, G) (Goodfellow et al. 2014) from D's logits alone, `[1]`
/// on the GPU: [`Objective::value_of_logits`] of the BCE game.
pub fn value_of_logits(real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
    Objective::plain(GLoss::NonSaturating).value_of_logits(real_logits, fake_logits)
}
