//! The PNG figures of the theory experiments (charts of [`gan_train::plot`] with a title,
//! axis labels, a legend and labelled reference lines; sample grids).

use gan_data::ImageShape;

use crate::blocks::BlocksResult;
use crate::density::LOG4;
use crate::fit::FitResult;
use crate::game::GameResult;
use crate::saturation::SaturationRow;
use gan_train::plot::{chart_png, grid_png, Chart, Line, RefLine, BLUE, GREEN, RED};
use gan_train::Result;

/// Orange, for a fourth series.
pub const ORANGE: [u8; 3] = [255, 127, 14];
/// Gray, for densities drawn behind the curves.
pub const GRAY: [u8; 3] = [140, 140, 140];

fn xy(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    x.iter().copied().zip(y.iter().copied()).collect()
}

fn chart<'a>(
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    lines: Vec<Line<'a>>,
    refs: Vec<RefLine<'a>>,
) -> Result<Vec<u8>> {
    chart_png(&Chart {
        title,
        subtitle: "",
        x_label,
        y_label,
        lines,
        refs,
        size: (800, 450),
    })
}

fn reference(y: f64, label: &str) -> RefLine<'_> {
    RefLine {
        y,
        label: Some(label),
    }
}

/// D(x) after training (red) and D*(x) (blue) against x; p_data (gray) and p_g (orange)
/// behind them; dashed line at 1/2.
pub fn d_vs_d_star(r: &FitResult, p_data: &[f64], p_g: &[f64]) -> Result<Vec<u8>> {
    let (d, ds) = (xy(&r.x, &r.d), xy(&r.x, &r.d_star));
    let (pd, pg) = (xy(&r.x, p_data), xy(&r.x, p_g));
    chart(
        "D trained against a fixed G, and the optimal D*",
        "x",
        "probability / density",
        vec![
            Line::new(&pd, GRAY, "p_data(x)"),
            Line::new(&pg, ORANGE, "p_g(x)"),
            Line::new(&ds, BLUE, "D*(x) = p_data / (p_data + p_g)"),
            Line::new(&d, RED, "D(x) after training"),
        ],
        vec![reference(0.5, "D = 1/2")],
    )
}

/// The batch estimate of V(D, G) while D trains (green), dashed lines at V(D*, G) and
/// -log 4.
pub fn fit_value(r: &FitResult) -> Result<Vec<u8>> {
    let v_star = format!("V(D*, G) = {:.3}", r.v_star);
    chart(
        "V(D, G) while D trains against a fixed G",
        "D step",
        "V(D, G)",
        vec![Line::new(&r.curve, GREEN, "batch estimate of V(D, G)")],
        vec![
            reference(r.v_star, &v_star),
            reference(-LOG4, "-log 4: V at the game's equilibrium"),
        ],
    )
}

/// Mean D(x) (red) and mean D(G(z)) (blue) per step; dashed line at 1/2.
pub fn game_outputs(r: &GameResult) -> Result<Vec<u8>> {
    let col = |f: fn(&super::game::GameRow) -> f64| -> Vec<(f64, f64)> {
        r.rows.iter().map(|w| (w.step as f64, f(w))).collect()
    };
    gan_train::plot::d_outputs_png(&col(|w| w.d_real), &col(|w| w.d_fake))
}

/// Batch V(D, G) (green), V(D*, G) = -log 4 + 2 JSD (blue) and JSD (red) per step;
/// dashed lines at -log 4 and 0.
pub fn game_value(r: &GameResult) -> Result<Vec<u8>> {
    let v: Vec<(f64, f64)> = r.rows.iter().map(|w| (w.step as f64, w.value)).collect();
    let vs: Vec<(f64, f64)> = r.rows.iter().map(|w| (w.step as f64, w.v_star())).collect();
    let j: Vec<(f64, f64)> = r.rows.iter().map(|w| (w.step as f64, w.jsd)).collect();
    chart(
        "The value of the game and the Jensen-Shannon divergence",
        "generator step",
        "nats",
        vec![
            Line::new(&v, GREEN, "batch V(D, G)"),
            Line::new(&vs, BLUE, "V(D*, G) = -log 4 + 2 JSD"),
            Line::new(&j, RED, "JSD(p_data || p_g)"),
        ],
        vec![reference(-LOG4, "-log 4"), reference(0.0, "0")],
    )
}

/// G's |a| (red) and b (blue) per step; dashed lines at the data's std and mean.
pub fn game_params(r: &GameResult, mean: f64, std: f64) -> Result<Vec<u8>> {
    let a: Vec<(f64, f64)> = r.rows.iter().map(|w| (w.step as f64, w.a.abs())).collect();
    let b: Vec<(f64, f64)> = r.rows.iter().map(|w| (w.step as f64, w.b)).collect();
    let (s, m) = (format!("data std {std:.3}"), format!("data mean {mean:.3}"));
    chart(
        "The generator G(z) = a z + b against the data's moments",
        "generator step",
        "parameter",
        vec![Line::new(&a, RED, "|a|"), Line::new(&b, BLUE, "b")],
        vec![reference(std, &s), reference(mean, &m)],
    )
}

/// log10 of G's gradient norm under the minimax loss (red) and the non-saturating loss
/// (blue), and log10 mean D(G(z)) (green), against D steps; `rows` are (step, D(G(z)),
/// minimax, non-saturating).
pub fn saturation(rows: &[(f64, f64, f64, f64)]) -> Result<Vec<u8>> {
    let lg = |v: f64| v.max(1e-30).log10();
    let mm: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, lg(r.2))).collect();
    let ns: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, lg(r.3))).collect();
    let df: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, lg(r.1))).collect();
    chart(
        "G's gradient as D gets better: minimax vs non-saturating loss",
        "D step",
        "log10",
        vec![
            Line::new(&mm, RED, "|grad G|, minimax loss"),
            Line::new(&ns, BLUE, "|grad G|, non-saturating loss"),
            Line::new(&df, GREEN, "mean D(G(z))"),
        ],
        vec![reference(0.0, "10^0 = 1")],
    )
}

/// [`saturation`] for the 1-D rows.
pub fn saturation_1d(rows: &[SaturationRow]) -> Result<Vec<u8>> {
    let t: Vec<_> = rows
        .iter()
        .map(|r| (r.d_steps as f64, r.d_fake, r.minimax, r.non_saturating))
        .collect();
    saturation(&t)
}

/// [`saturation`] for the MNIST rows of D trained against the frozen G.
pub fn saturation_mnist(r: &BlocksResult) -> Result<Vec<u8>> {
    let t: Vec<_> = r
        .d_rows
        .iter()
        .map(|w| (w.step as f64, w.d_fake, w.minimax, w.non_saturating))
        .collect();
    saturation(&t)
}

/// G trained against the frozen D: mean D(G(z)) (blue) and the mean pairwise distance of
/// its samples divided by that of real test images (red); dashed line at 1.
pub fn blocks_g(r: &BlocksResult) -> Result<Vec<u8>> {
    let d: Vec<(f64, f64)> = r.g_rows.iter().map(|w| (w.step as f64, w.d_fake)).collect();
    let p: Vec<(f64, f64)> = r
        .g_rows
        .iter()
        .map(|w| (w.step as f64, w.pairwise / r.real_pairwise))
        .collect();
    chart(
        "G trained against a frozen D",
        "generator step",
        "value",
        vec![
            Line::new(&d, BLUE, "mean D(G(z))"),
            Line::new(&p, RED, "pairwise distance of samples / of real images"),
        ],
        vec![reference(1.0, "1: as diverse as real images")],
    )
}

/// An 8-column grid of 28x28 images.
pub fn mnist_grid(values: &[f32]) -> Result<Vec<u8>> {
    grid_png(
        values,
        ImageShape {
            channels: 1,
            height: 28,
            width: 28,
        },
        8,
    )
}

/// JSD(p_data || p_g) per step of two games: non-saturating loss (blue), minimax loss
/// (red); dashed line at 0.
pub fn jsd_by_loss(ns: &GameResult, mm: &GameResult) -> Result<Vec<u8>> {
    let j = |r: &GameResult| -> Vec<(f64, f64)> {
        r.rows.iter().map(|w| (w.step as f64, w.jsd)).collect()
    };
    let (a, b) = (j(ns), j(mm));
    chart(
        "JSD(p_data || p_g) under each generator loss",
        "generator step",
        "JSD, nats",
        vec![
            Line::new(&a, BLUE, "non-saturating loss"),
            Line::new(&b, RED, "minimax loss"),
        ],
        vec![reference(0.0, "0: p_g = p_data")],
    )
}
