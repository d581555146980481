//! All five experiments with their settings, as run by `cargo xtask theory`: a markdown
//! report (every parameter, every number) and the figures.

use std::fmt::Write as _;
use std::time::Instant;

use gan_tensor::Context;

use crate::blocks::{train_blocks, BlocksConfig};
use crate::density::{self, Gaussian, Mixture, LOG4};
use crate::figures;
use crate::fit::{fit_discriminator, FitConfig};
use crate::game::{train_game, GameConfig};
use crate::oned::Game1dConfig;
use crate::saturation::{gradient_saturation, SaturationConfig};
use gan_train::GLoss;
use gan_train::Result;

/// The settings of every experiment.
#[derive(Clone, Debug)]
pub struct TheoryConfig {
    /// Experiments 1 and 2.
    pub fit: FitConfig,
    /// Experiment 3.
    pub game: GameConfig,
    /// Experiment 3c: the game with G trained by plain SGD (run with both losses).
    pub sgd_game: GameConfig,
    /// Experiment 4.
    pub saturation: SaturationConfig,
    /// Experiment 5.
    pub blocks: BlocksConfig,
}

impl TheoryConfig {
    /// The settings of the full run (`quick`: fewer steps, for a smoke test).
    pub fn new(quick: bool) -> TheoryConfig {
        let q = |full: usize, short: usize| if quick { short } else { full };
        let data = Gaussian::new(2.0, 0.5);
        TheoryConfig {
            fit: FitConfig {
                game: Game1dConfig {
                    p_data: Mixture::new(&[(0.5, -1.5, 0.5), (0.5, 2.0, 0.5)]),
                    a: 1.2,
                    b: 0.5,
                    d_hidden: vec![32, 32],
                    batch: 512,
                    lr_d: 5e-3,
                    lr_g: 0.0,
                    beta1: 0.5,
                    g_sgd: false,
                    seed: 1,
                },
                steps: q(4000, 500),
                grid_points: 401,
                min_density: 0.01,
                mc_samples: q(262_144, 65_536),
            },
            game: GameConfig {
                game: Game1dConfig {
                    p_data: data.into(),
                    a: 1.0,
                    b: -1.0,
                    d_hidden: vec![32, 32],
                    batch: 256,
                    lr_d: 2e-3,
                    lr_g: 2e-3,
                    beta1: 0.5,
                    g_sgd: false,
                    seed: 2,
                },
                steps: q(3000, 400),
                k: 1,
                loss: GLoss::NonSaturating,
                log_every: q(20, 10),
                grid_points: 401,
                min_density: 0.01,
            },
            sgd_game: GameConfig {
                game: Game1dConfig {
                    p_data: data.into(),
                    a: 0.5,
                    b: -2.0,
                    d_hidden: vec![32, 32],
                    batch: 256,
                    lr_d: 2e-3,
                    lr_g: 1e-2,
                    beta1: 0.5,
                    g_sgd: true,
                    seed: 2,
                },
                steps: q(3000, 400),
                k: 1,
                loss: GLoss::NonSaturating,
                log_every: q(20, 10),
                grid_points: 401,
                min_density: 0.01,
            },
            saturation: SaturationConfig {
                game: Game1dConfig {
                    p_data: data.into(),
                    a: 0.5,
                    b: -2.0,
                    d_hidden: vec![32, 32],
                    batch: 256,
                    lr_d: 2e-3,
                    lr_g: 0.0,
                    beta1: 0.5,
                    g_sgd: false,
                    seed: 3,
                },
                steps: q(2000, 300),
                every: q(25, 25),
                probe: 4096,
            },
            blocks: BlocksConfig {
                latent_dim: 64,
                g_hidden: vec![256],
                d_hidden: vec![256],
                batch: 64,
                lr: 2e-4,
                beta1: 0.5,
                d_steps: q(1000, 40),
                g_steps: q(1000, 40),
                every: q(25, 10),
                eval_n: q(1000, 256),
                pairs_n: 256,
                seed: 4,
            },
        }
    }
}

/// The output of [`run`].
pub struct TheoryReport {
    /// Markdown: every parameter, the measured tables, the figure files.
    pub markdown: String,
    /// (file name, PNG bytes).
    pub figures: Vec<(String, Vec<u8>)>,
}

fn params_table(s: &mut String, rows: &[(String, String)]) {
    let _ = writeln!(s, "| parameter | value |\n| --- | --- |");
    for (k, v) in rows {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    let _ = writeln!(s);
}

/// Runs the experiments of `cfg`, calling `progress` with a line as each one finishes.
pub fn run(
    ctx: &Context,
    cfg: &TheoryConfig,
    mut progress: impl FnMut(&str),
) -> Result<TheoryReport> {
    let t0 = Instant::now();
    let mut s = String::new();
    let mut figs = Vec::new();
    let _ = writeln!(
        s,
        "Adapter: `{}` ({:?}). Every number below comes from this run.\n",
        ctx.adapter().name,
        ctx.adapter_info().backend
    );

    // 1 and 2.
    let f = &cfg.fit;
    let r = fit_discriminator(ctx, f)?;
    let p_data = &f.game.p_data;
    let pd: Vec<f64> = r.x.iter().map(|&x| p_data.pdf(x)).collect();
    let pg: Vec<f64> = r.x.iter().map(|&x| r.p_g.pdf(x)).collect();
    figs.push((
        "theory_d_star.png".into(),
        figures::d_vs_d_star(&r, &pd, &pg)?,
    ));
    figs.push(("theory_fit_value.png".into(), figures::fit_value(&r)?));
    let _ = writeln!(
        s,
        "## 1-2. D trained against a fixed G, compared with D* and -log 4 + 2 JSD\n"
    );
    let mut rows = f.game.describe();
    rows.retain(|(k, _)| !k.starts_with("lr_d"));
    rows.push((
        "D steps".into(),
        format!(
            "{}, Adam lr {} constant for the first half, then linearly down to 5% of it",
            f.steps, f.game.lr_d
        ),
    ));
    rows.push((
        "comparison grid".into(),
        format!(
            "{} points on the 4-std bulk of both densities, [{:.2}, {:.2}]",
            f.grid_points,
            r.x[0],
            r.x[r.x.len() - 1]
        ),
    ));
    rows.push((
        "comparison region".into(),
        format!("(p_data + p_g)/2 >= {}", f.min_density),
    ));
    rows.push((
        "Monte Carlo value".into(),
        format!("{} samples of each kind", f.mc_samples),
    ));
    rows.push((
        "integrals".into(),
        format!(
            "Simpson rule, {} points over every component's mean +- 12 std",
            density::GRID_POINTS
        ),
    ));
    params_table(&mut s, &rows);
    let _ = writeln!(
        s,
        "| quantity | value |\n| --- | --- |\n\
         | p_g (fixed) | N({:.3}, {:.3}^2) |\n\
         | max \\|D - D*\\| on [{:.2}, {:.2}] | {:.4} |\n\
         | E_(p_data+p_g)/2 \\|D - D*\\| | {:.4} |\n\
         | JSD(p_data \\|\\| p_g) (integration) | {:.6} |\n\
         | -log 4 + 2 JSD | {:.6} |\n\
         | V(D*, G) (integration) | {:.6} |\n\
         | V(D*, G) (Monte Carlo, same samples as below) | {:.6} |\n\
         | V(D, G), trained D (Monte Carlo on the GPU) | {:.6} |\n\
         | V(D, G), trained D (integration of D's logits) | {:.6} |\n\
         | gap V(D*, G) - V(D, G) (integration) | {:.2e} |\n\
         | D training time | {:.1} s |\n",
        r.p_g.parts[0].1.mean,
        r.p_g.parts[0].1.std,
        r.region.0,
        r.region.1,
        r.max_err,
        r.mean_err,
        r.jsd,
        r.v_jsd,
        r.v_star,
        r.v_mc_star,
        r.v_mc,
        r.v_quad,
        r.v_star - r.v_quad,
        r.seconds
    );
    let _ = writeln!(
        s,
        "Figures: `theory_d_star.png` (red D, blue D*, gray p_data, orange p_g, dashed 1/2), \
         `theory_fit_value.png` (green: batch V during D's training; dashed V(D*, G) and -log 4).\n"
    );
    progress(&format!(
        "1-2: max |D - D*| = {:.4}, V(D*,G) = {:.5}, -log4+2JSD = {:.5} ({:.0} s)",
        r.max_err,
        r.v_star,
        r.v_jsd,
        t0.elapsed().as_secs_f64()
    ));

    // 3.
    let g = &cfg.game;
    let r = train_game(ctx, g)?;
    let data = g.game.p_data.parts[0].1;
    figs.push(("theory_game_outputs.png".into(), figures::game_outputs(&r)?));
    figs.push(("theory_game_value.png".into(), figures::game_value(&r)?));
    figs.push((
        "theory_game_params.png".into(),
        figures::game_params(&r, data.mean, data.std)?,
    ));
    let _ = writeln!(s, "## 3. Both players trained (1-D)\n");
    let mut rows = g.game.describe();
    rows.push((
        "steps".into(),
        format!(
            "{} generator steps, k = {} D step each; loss {}; logged every {}",
            g.steps, g.k, g.loss, g.log_every
        ),
    ));
    params_table(&mut s, &rows);
    let _ = writeln!(
        s,
        "| step | mean D(x) | mean D(G(z)) | V (batch) | a | b | JSD (integration) | -log 4 + 2 JSD |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    let n = r.rows.len();
    for i in eight_rows(n) {
        let w = &r.rows[i];
        let _ = writeln!(
            s,
            "| {} | {:.3} | {:.3} | {:.4} | {:.3} | {:.3} | {:.5} | {:.4} |",
            w.step,
            w.d_real,
            w.d_fake,
            w.value,
            w.a,
            w.b,
            w.jsd,
            w.v_star()
        );
    }
    let tail = &r.rows[n.saturating_sub((n / 5).max(1))..];
    let avg =
        |f: fn(&super::game::GameRow) -> f64| tail.iter().map(f).sum::<f64>() / tail.len() as f64;
    let _ = writeln!(
        s,
        "\nLast 20% of the logged steps (mean): D(x) {:.3}, D(G(z)) {:.3}, V {:.4} (-log 4 = {:.4}), \
         JSD {:.5}. At the end, V by Monte Carlo (65536 samples each) = {:.4}; \
         max \\|D(x) - 1/2\\| on [{:.2}, {:.2}] (where (p_data + p_g)/2 >= {}) = {:.3}. \
         Training time {:.1} s.\n",
        avg(|w| w.d_real),
        avg(|w| w.d_fake),
        avg(|w| w.value),
        -LOG4,
        avg(|w| w.jsd),
        r.v_final,
        r.region.0,
        r.region.1,
        g.min_density,
        r.max_dev_half,
        r.seconds
    );
    let _ = writeln!(
        s,
        "Figures: `theory_game_outputs.png` (red mean D(x), blue mean D(G(z)), dashed 1/2), \
         `theory_game_value.png` (green batch V, blue -log 4 + 2 JSD, red JSD; dashed -log 4 and 0), \
         `theory_game_params.png` (red \\|a\\|, blue b; dashed the data's std {} and mean {}).\n",
        data.std, data.mean
    );
    // 3b. The same game with the minimax generator loss.
    let mut gm = g.clone();
    gm.loss = GLoss::Minimax;
    let rm = train_game(ctx, &gm)?;
    figs.push((
        "theory_game_jsd_losses.png".into(),
        figures::jsd_by_loss(&r, &rm)?,
    ));
    let _ = writeln!(
        s,
        "### 3b. The generator losses compared, G trained with Adam (settings above)\n"
    );
    loss_comparison(&mut s, &r, &rm);
    let _ = writeln!(
        s,
        "Figure: `theory_game_jsd_losses.png` (JSD per step; blue non-saturating, red minimax).\n"
    );
    // 3c. Both losses again, G trained with plain SGD from a G that D rejects.
    let gs = &cfg.sgd_game;
    let sn = train_game(ctx, gs)?;
    let mut gsm = gs.clone();
    gsm.loss = GLoss::Minimax;
    let sm = train_game(ctx, &gsm)?;
    figs.push((
        "theory_game_jsd_losses_sgd.png".into(),
        figures::jsd_by_loss(&sn, &sm)?,
    ));
    let _ = writeln!(
        s,
        "### 3c. The generator losses compared, G trained with plain SGD\n"
    );
    let mut rows = gs.game.describe();
    rows.push((
        "steps".into(),
        format!(
            "{} generator steps, k = {} D step each; logged every {}",
            gs.steps, gs.k, gs.log_every
        ),
    ));
    params_table(&mut s, &rows);
    loss_comparison(&mut s, &sn, &sm);
    let _ = writeln!(
        s,
        "Figure: `theory_game_jsd_losses_sgd.png` (JSD per step; blue non-saturating, red minimax).\n"
    );
    progress(&format!(
        "3: final JSD {:.5}, V {:.4} ({:.0} s)",
        r.rows[n - 1].jsd,
        r.v_final,
        t0.elapsed().as_secs_f64()
    ));

    // 4.
    let sc = &cfg.saturation;
    let rows4 = gradient_saturation(ctx, sc)?;
    figs.push((
        "theory_saturation_1d.png".into(),
        figures::saturation_1d(&rows4)?,
    ));
    let _ = writeln!(
        s,
        "## 4. Gradient reaching G: minimax vs non-saturating (1-D)\n"
    );
    let mut rows = sc.game.describe();
    rows.retain(|(k, _)| !k.starts_with("lr_d"));
    rows.push((
        "D training".into(),
        format!(
            "{} steps, Adam lr {} (G fixed); gradients of G measured every {} D steps on {} fresh latents",
            sc.steps, sc.game.lr_d, sc.every, sc.probe
        ),
    ));
    params_table(&mut s, &rows);
    saturation_table(
        &mut s,
        &rows4
            .iter()
            .map(|r| (r.d_steps, r.d_fake, r.minimax, r.non_saturating))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        s,
        "Figure: `theory_saturation_1d.png` (log10: red minimax gradient norm, blue non-saturating, \
         green mean D(G(z)); x: D steps).\n"
    );
    progress(&format!("4: done ({:.0} s)", t0.elapsed().as_secs_f64()));

    // 5.
    let bc = &cfg.blocks;
    let r = train_blocks(ctx, bc)?;
    figs.push((
        "theory_blocks_saturation.png".into(),
        figures::saturation_mnist(&r)?,
    ));
    figs.push(("theory_blocks_g.png".into(), figures::blocks_g(&r)?));
    figs.push((
        "theory_blocks_real.png".into(),
        figures::mnist_grid(&r.real_samples)?,
    ));
    figs.push((
        "theory_blocks_g_initial.png".into(),
        figures::mnist_grid(&r.initial_samples[..32 * 784])?,
    ));
    figs.push((
        "theory_blocks_g_final.png".into(),
        figures::mnist_grid(&r.final_samples[..32 * 784])?,
    ));
    let _ = writeln!(s, "## 5. Each player alone on MNIST\n");
    params_table(&mut s, &bc.describe());
    let _ = writeln!(
        s,
        "| | mean D(x), real test | mean D(G(z)) | accuracy at 1/2 |\n| --- | --- | --- | --- |\n\
         | D trained {} steps vs frozen untrained G | {:.4} | {:.4} | {:.2}% |\n\
         | then G trained {} steps vs that frozen D | {:.4} | {:.4} | {:.2}% |\n",
        bc.d_steps,
        r.d_alone.d_real,
        r.d_alone.d_fake,
        100.0 * r.d_alone.accuracy,
        bc.g_steps,
        r.g_alone.d_real,
        r.g_alone.d_fake,
        100.0 * r.g_alone.accuracy
    );
    let _ = writeln!(
        s,
        "Mean pairwise L2 distance ({} images, pixels in [-1, 1]): real test {:.2}, \
         untrained G {:.2}, G after training against the frozen D {:.2} ({:.0}% of real).\n",
        bc.pairs_n,
        r.real_pairwise,
        r.initial_pairwise,
        r.final_pairwise,
        100.0 * r.final_pairwise / r.real_pairwise
    );
    if let Some([real, init, fin]) = r.classes {
        let _ = writeln!(
            s,
            "Classes of {} images by the committed MNIST classifier (`{}`):\n\n| images | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | classes with >= 1% |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            bc.pairs_n,
            gan_train::eval::lenet::DEFAULT_CLASSIFIER_PATH
        );
        for (name, h) in [
            ("real test", real),
            ("untrained G", init),
            ("G after training vs frozen D", fin),
        ] {
            let covered = h.iter().filter(|&&c| c * 100 >= bc.pairs_n).count();
            let cells: Vec<String> = h.iter().map(|c| c.to_string()).collect();
            let _ = writeln!(s, "| {name} | {} | {covered} |", cells.join(" | "));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "G against the frozen D:\n\n| G step | mean D(G(z)) | pairwise distance / real |\n| --- | --- | --- |");
    for i in eight_rows(r.g_rows.len()) {
        let w = &r.g_rows[i];
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.3} |",
            w.step,
            w.d_fake,
            w.pairwise / r.real_pairwise
        );
    }
    let _ = writeln!(
        s,
        "\nGradient reaching G while D trains against it (MNIST):\n"
    );
    saturation_table(
        &mut s,
        &r.d_rows
            .iter()
            .map(|w| (w.step, w.d_fake, w.minimax, w.non_saturating))
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        s,
        "Training time: D {:.1} s, G {:.1} s. Figures: `theory_blocks_real.png` (real test \
         images), `theory_blocks_g_initial.png` (untrained G), `theory_blocks_g_final.png` \
         (G after training against the frozen D), `theory_blocks_g.png` (blue mean D(G(z)), \
         red pairwise distance / real; dashed 1), `theory_blocks_saturation.png` (log10: red \
         minimax gradient norm, blue non-saturating, green mean D(G(z)); x: D steps).\n",
        r.seconds.0, r.seconds.1
    );
    let _ = writeln!(s, "Total: {:.0} s.", t0.elapsed().as_secs_f64());
    progress(&format!("5: done ({:.0} s)", t0.elapsed().as_secs_f64()));
    Ok(TheoryReport {
        markdown: s,
        figures: figs,
    })
}

/// A table comparing the non-saturating game `ns` with the minimax game `mm`.
fn loss_comparison(s: &mut String, ns: &super::game::GameResult, mm: &super::game::GameResult) {
    let first_below = |res: &super::game::GameResult, t: f64| {
        res.rows
            .iter()
            .find(|w| w.jsd < t)
            .map(|w| w.step.to_string())
            .unwrap_or_else(|| "never".into())
    };
    let _ = writeln!(
        s,
        "| G loss | mean D(G(z)), first 10% of steps | first logged step with JSD < 0.1 | JSD < 0.01 | final JSD | final mean D(G(z)) | time |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for (name, res) in [("non-saturating", ns), ("minimax", mm)] {
        let last = res.rows[res.rows.len() - 1];
        let head = &res.rows[..(res.rows.len() / 10).max(1)];
        let early = head.iter().map(|w| w.d_fake).sum::<f64>() / head.len() as f64;
        let _ = writeln!(
            s,
            "| {name} | {early:.4} | {} | {} | {:.5} | {:.3} | {:.1} s |",
            first_below(res, 0.1),
            first_below(res, 0.01),
            last.jsd,
            last.d_fake,
            res.seconds
        );
    }
    let _ = writeln!(s);
}

/// Rows (D steps, mean D(G(z)), minimax norm, non-saturating norm), at most 9 of them.
fn saturation_table(s: &mut String, rows: &[(usize, f64, f64, f64)]) {
    let _ = writeln!(
        s,
        "| D steps | mean D(G(z)) | \\|grad\\| minimax | \\|grad\\| non-saturating | ratio minimax / NS |\n| --- | --- | --- | --- | --- |"
    );
    let n = rows.len();
    let mut picks: Vec<usize> = (0..9).map(|i| i * (n - 1) / 8).collect();
    picks.dedup();
    for &i in &picks {
        let (st, d, mm, ns) = rows[i];
        let _ = writeln!(
            s,
            "| {st} | {d:.2e} | {mm:.3e} | {ns:.3e} | {:.2e} |",
            mm / ns
        );
    }
    let _ = writeln!(s);
}

/// Indices of up to 8 evenly spaced rows of `n` (first and last included) for a table.
fn eight_rows(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..8).map(|i| i * n.saturating_sub(1) / 7).collect();
    v.dedup();
    v
}
