//! Experiments 1 and 2: D trained to convergence against a fixed G, compared with
//! D* = p_data / (p_data + p_g) (Prop. 1), and the value it reaches compared with
//! -log 4 + 2 JSD(p_data || p_g) (Thm. 1).

use crate::density::{self, d_star, ln_sigmoid, Grid, Mixture};
use crate::oned::{Game1d, Game1dConfig};
use gan_tensor::Context;
use gan_train::Result;

/// Settings of [`fit_discriminator`].
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// The game (G stays fixed at its initial a, b).
    pub game: Game1dConfig,
    /// Discriminator steps.
    pub steps: usize,
    /// Points of the comparison grid.
    pub grid_points: usize,
    /// The comparison region: where (p_data + p_g)/2 >= this density.
    pub min_density: f64,
    /// Samples of each kind for the Monte Carlo value.
    pub mc_samples: usize,
}

/// What [`fit_discriminator`] measured.
#[derive(Clone, Debug)]
pub struct FitResult {
    /// p_g = N(b, a^2).
    pub p_g: Mixture,
    /// Grid points x.
    pub x: Vec<f64>,
    /// Trained D(x) on the grid.
    pub d: Vec<f64>,
    /// D*(x) on the grid.
    pub d_star: Vec<f64>,
    /// (p_data(x) + p_g(x)) / 2 on the grid.
    pub mix: Vec<f64>,
    /// max |D - D*| where mix >= min_density.
    pub max_err: f64,
    /// The x interval of that region (first and last grid point in it).
    pub region: (f64, f64),
    /// E_{(p_data+p_g)/2} |D - D*| (integral over the whole grid).
    pub mean_err: f64,
    /// V(D, G) by Monte Carlo on the GPU.
    pub v_mc: f64,
    /// V(D*, G) by Monte Carlo on the same samples (host, f64).
    pub v_mc_star: f64,
    /// V(D, G) by integration of the trained D's logits on a fine grid.
    pub v_quad: f64,
    /// V(D*, G) by integration.
    pub v_star: f64,
    /// -log 4 + 2 JSD(p_data || p_g), JSD by integration.
    pub v_jsd: f64,
    /// JSD(p_data || p_g).
    pub jsd: f64,
    /// (step, batch V estimate) during training.
    pub curve: Vec<(f64, f64)>,
    /// Seconds of training.
    pub seconds: f64,
}

/// Trains D for `cfg.steps` steps (fresh samples each step, learning rate decayed
/// linearly to 5% over the second half) against the fixed G and measures it.
pub fn fit_discriminator(ctx: &Context, cfg: &FitConfig) -> Result<FitResult> {
    let start = std::time::Instant::now();
    let mut game = Game1d::new(ctx, cfg.game.clone())?;
    let p_data = cfg.game.p_data.clone();
    let p_g = game.p_g()?;
    let lr = cfg.game.lr_d;
    let mut curve = Vec::new();
    let log_every = (cfg.steps / 100).max(1);
    for s in 0..cfg.steps {
        let t = s as f64 / cfg.steps as f64;
        let f = if t < 0.5 { 1.0 } else { 1.0 - 1.9 * (t - 0.5) };
        game.set_lr_d(lr * f);
        let read = s % log_every == 0 || s + 1 == cfg.steps;
        if let Some(st) = game.d_step(read)? {
            curve.push((s as f64, st.value));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // The comparison grid over both densities' bulk.
    let (lo0, hi0) = p_data.support(4.0);
    let (lo1, hi1) = p_g.support(4.0);
    let grid = Grid::new(lo0.min(lo1), hi0.max(hi1), cfg.grid_points);
    let x = grid.x.clone();
    let d: Vec<f64> = game
        .d_logits(&x)?
        .into_iter()
        .map(density::sigmoid)
        .collect();
    let ds: Vec<f64> = x.iter().map(|&v| d_star(&p_data, &p_g, v)).collect();
    let mix: Vec<f64> = x
        .iter()
        .map(|&v| 0.5 * (p_data.pdf(v) + p_g.pdf(v)))
        .collect();
    let (mut max_err, mut region) = (0.0f64, (f64::MAX, f64::MIN));
    for i in 0..x.len() {
        if mix[i] >= cfg.min_density {
            max_err = max_err.max((d[i] - ds[i]).abs());
            region = (region.0.min(x[i]), region.1.max(x[i]));
        }
    }
    let mean_err: f64 = (0..x.len())
        .map(|i| grid.w[i] * mix[i] * (d[i] - ds[i]).abs())
        .sum();
    // V by integration, D's logits on a fine grid covering both densities.
    let fine = Grid::covering(&p_data, &p_g, density::GRID_POINTS);
    let logits = game.d_logits(&fine.x)?;
    let v_quad = fine
        .x
        .iter()
        .zip(&fine.w)
        .zip(&logits)
        .map(|((&v, &w), &l)| w * (p_data.pdf(v) * ln_sigmoid(l) + p_g.pdf(v) * ln_sigmoid(-l)))
        .sum();
    let (v_mc, reals, fakes) = game.value_mc(cfg.mc_samples)?;
    let mean = |v: &[f32], f: &dyn Fn(f64) -> f64| {
        v.iter().map(|&s| f(s as f64)).sum::<f64>() / v.len() as f64
    };
    // log D* = log sigmoid(log p_data - log p_g), log(1 - D*) = log sigmoid(-...).
    let star_logit = |v: f64| p_data.ln_pdf(v) - p_g.ln_pdf(v);
    let v_mc_star = mean(&reals, &|v| ln_sigmoid(star_logit(v)))
        + mean(&fakes, &|v| ln_sigmoid(-star_logit(v)));
    let jsd = density::jsd(&p_data, &p_g);
    Ok(FitResult {
        v_star: density::value_at_optimum(&p_data, &p_g),
        v_jsd: -density::LOG4 + 2.0 * jsd,
        jsd,
        p_g,
        x,
        d,
        d_star: ds,
        mix,
        max_err,
        region,
        mean_err,
        v_mc,
        v_mc_star,
        v_quad,
        curve,
        seconds,
    })
}
