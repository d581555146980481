//! Experiment 3: both players of the 1-D game trained; D(x) and D(G(z)) move to 1/2, the
//! value V to -log 4 and JSD(p_data || p_g) (p_g read from G's parameters, JSD by
//! integration) to 0.

use gan_tensor::Context;

use crate::density::{self, Mixture};
use crate::oned::{Game1d, Game1dConfig};
use gan_train::GLoss;
use gan_train::Result;

/// Settings of [`train_game`].
#[derive(Clone, Debug)]
pub struct GameConfig {
    /// The game.
    pub game: Game1dConfig,
    /// Generator steps (each after `k` discriminator steps).
    pub steps: usize,
    /// Discriminator steps per generator step.
    pub k: usize,
    /// The generator's loss.
    pub loss: GLoss,
    /// Record a row every this many steps.
    pub log_every: usize,
    /// Points of the grid on which D is compared with 1/2 at the end.
    pub grid_points: usize,
    /// The comparison region: where (p_data + p_g)/2 >= this density.
    pub min_density: f64,
}

/// One recorded step.
#[derive(Clone, Copy, Debug)]
pub struct GameRow {
    /// Generator steps done.
    pub step: usize,
    /// Mean D(x) on the last real batch.
    pub d_real: f64,
    /// Mean D(G(z)) on the last generated batch.
    pub d_fake: f64,
    /// Batch estimate of V(D, G).
    pub value: f64,
    /// G's slope a.
    pub a: f64,
    /// G's offset b.
    pub b: f64,
    /// JSD(p_data || N(b, a^2)) by integration.
    pub jsd: f64,
}

impl GameRow {
    /// V(D*, G) = -log 4 + 2 JSD: the value if D were optimal for the current G.
    pub fn v_star(&self) -> f64 {
        -density::LOG4 + 2.0 * self.jsd
    }
}

/// What [`train_game`] measured.
#[derive(Clone, Debug)]
pub struct GameResult {
    /// The recorded rows (the first at step 0, before any update of G).
    pub rows: Vec<GameRow>,
    /// max |D(x) - 1/2| at the end, over the grid points where the mixture density is
    /// at least `min_density`.
    pub max_dev_half: f64,
    /// The x interval of that region.
    pub region: (f64, f64),
    /// V by Monte Carlo at the end (65536 samples of each kind).
    pub v_final: f64,
    /// Seconds of training.
    pub seconds: f64,
}

/// Trains both players and records D's outputs, V, G's parameters and the JSD.
pub fn train_game(ctx: &Context, cfg: &GameConfig) -> Result<GameResult> {
    let start = std::time::Instant::now();
    let mut game = Game1d::new(ctx, cfg.game.clone())?;
    let p_data = cfg.game.p_data.clone();
    let mut rows = Vec::new();
    let log_every = cfg.log_every.max(1);
    for s in 0..=cfg.steps {
        let read_step = s % log_every == 0 || s == cfg.steps;
        let mut stats = None;
        for j in 0..cfg.k.max(1) {
            let last = j + 1 == cfg.k.max(1);
            stats = game.d_step(read_step && last)?.or(stats);
        }
        if let Some(st) = stats {
            let (a, b) = game.affine()?;
            let p_g: Mixture = game.p_g()?;
            rows.push(GameRow {
                step: s,
                d_real: st.d_real,
                d_fake: st.d_fake,
                value: st.value,
                a,
                b,
                jsd: density::jsd(&p_data, &p_g),
            });
        }
        if s < cfg.steps {
            game.g_step(cfg.loss)?;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let p_g = game.p_g()?;
    let (lo0, hi0) = p_data.support(4.0);
    let (lo1, hi1) = p_g.support(4.0);
    let grid = density::Grid::new(lo0.min(lo1), hi0.max(hi1), cfg.grid_points);
    let logits = game.d_logits(&grid.x)?;
    let (mut max_dev_half, mut region) = (0.0f64, (f64::MAX, f64::MIN));
    for (&x, &l) in grid.x.iter().zip(&logits) {
        if 0.5 * (p_data.pdf(x) + p_g.pdf(x)) >= cfg.min_density {
            max_dev_half = max_dev_half.max((density::sigmoid(l) - 0.5).abs());
            region = (region.0.min(x), region.1.max(x));
        }
    }
    let (v_final, _, _) = game.value_mc(65_536)?;
    Ok(GameResult {
        rows,
        max_dev_half,
        region,
        v_final,
        seconds,
    })
}
