//! Experiment 4: the gradient that reaches G early in training, when D rejects G's
//! samples (D(G(z)) small), under the minimax loss log(1 - D(G(z))) and the
//! non-saturating loss -log D(G(z)) (Goodfellow et al. 2014, sec. 3).
//!
//! With l = D's logit, d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -D, which vanishes as
//! D -> 0, while d/dl [-log sigmoid(l)] = -(1 - D) -> -1. The chain rule multiplies both
//! by the same dl/dtheta_G, so the ratio of the two gradient norms is about mean D(G(z)).

use gan_tensor::Context;

use crate::oned::{Game1d, Game1dConfig};
use gan_train::GLoss;
use gan_train::Result;

/// Settings of [`gradient_saturation`].
#[derive(Clone, Debug)]
pub struct SaturationConfig {
    /// The game (G stays fixed; D is trained to reject it).
    pub game: Game1dConfig,
    /// Discriminator steps.
    pub steps: usize,
    /// Measure every this many D steps.
    pub every: usize,
    /// Latents per gradient measurement.
    pub probe: usize,
}

/// One measurement.
#[derive(Clone, Copy, Debug)]
pub struct SaturationRow {
    /// D steps done.
    pub d_steps: usize,
    /// Mean D(G(z)) on the probe latents.
    pub d_fake: f64,
    /// ||grad_theta_G E log(1 - D(G(z)))||.
    pub minimax: f64,
    /// ||grad_theta_G -E log D(G(z))||.
    pub non_saturating: f64,
}

/// Trains D against a fixed G and measures both generator gradients along the way.
pub fn gradient_saturation(ctx: &Context, cfg: &SaturationConfig) -> Result<Vec<SaturationRow>> {
    let mut game = Game1d::new(ctx, cfg.game.clone())?;
    let mut rows = Vec::new();
    let every = cfg.every.max(1);
    for s in 0..=cfg.steps {
        if s % every == 0 || s == cfg.steps {
            let (minimax, d_fake) = game.g_grad_norm(cfg.probe, GLoss::Minimax)?;
            let (non_saturating, _) = game.g_grad_norm(cfg.probe, GLoss::NonSaturating)?;
            rows.push(SaturationRow {
                d_steps: s,
                d_fake,
                minimax,
                non_saturating,
            });
        }
        if s < cfg.steps {
            game.d_step(false)?;
        }
    }
    Ok(rows)
}
