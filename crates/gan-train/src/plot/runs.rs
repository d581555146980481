//! The plots of a training run, `plots/losses.png` and `plots/d_outputs.png`: each row of
//! `metrics.csv` (the means since the previous row) faint, a running mean over the rows
//! bold, the reference line of the loss labelled.

use std::path::Path;

use super::lines::{chart_png, Chart, Line, RefLine};
use super::{BLUE, GREEN, RED};
use crate::config::GLoss;
use crate::error::{Result, TrainError};
use crate::metrics::Metrics;
use crate::rundir::write_atomic;

/// Share of the colour in the faint per-row lines.
const FAINT: f64 = 0.3;

/// The trailing mean of `points`' y over windows of `window` points (fewer at the
/// start); a non-finite y enters no window (the mean is over the finite ones).
pub fn running_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let window = window.max(1);
    (0..points.len())
        .map(|i| {
            let span = &points[(i + 1).saturating_sub(window)..=i];
            let finite: Vec<f64> = span.iter().map(|p| p.1).filter(|y| y.is_finite()).collect();
            let y = if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            };
            (points[i].0, y)
        })
        .collect()
}

/// The running mean's window for `rows` rows: about their square root (1 for up to 2
/// rows, 10 for 100, 32 for 1000), so short runs stay readable and long ones smooth.
fn window(rows: usize) -> usize {
    ((rows as f64).sqrt().round() as usize).max(1)
}

/// Each series faint, then its running mean bold with the legend entry.
fn faint_and_bold<'a>(
    raw: &'a [(f64, f64)],
    mean: &'a [(f64, f64)],
    color: [u8; 3],
    label: &'a str,
) -> [Line<'a>; 2] {
    [
        Line {
            points: raw,
            color,
            label: None,
            width: 1,
            alpha: FAINT,
        },
        Line {
            width: 3,
            ..Line::new(mean, color, label)
        },
    ]
}

fn subtitle(rows: usize) -> String {
    format!(
        "faint: each log row (the mean over the steps since the previous one); \
         bold: running mean over {} rows",
        window(rows)
    )
}

/// Mean D(x) (red) and mean D(G(z)) (blue) against the step, each row faint and a running
/// mean bold, with the labelled equilibrium line D = 1/2.
pub fn d_outputs_png(d_real: &[(f64, f64)], d_fake: &[(f64, f64)]) -> Result<Vec<u8>> {
    d_outputs_chart(d_real, d_fake, "D outputs", Some(0.5))
}

fn d_outputs_chart(
    d_real: &[(f64, f64)],
    d_fake: &[(f64, f64)],
    title: &str,
    half: Option<f64>,
) -> Result<Vec<u8>> {
    let n = d_real.len().max(d_fake.len());
    let (mr, mf) = (
        running_mean(d_real, window(n)),
        running_mean(d_fake, window(n)),
    );
    let mut lines = Vec::with_capacity(4);
    lines.extend(faint_and_bold(d_real, &mr, RED, "D(x), real items"));
    lines.extend(faint_and_bold(
        d_fake,
        &mf,
        BLUE,
        "D(G(z)), generated items",
    ));
    let sub = subtitle(n);
    chart_png(&Chart {
        title,
        subtitle: &sub,
        x_label: "generator step",
        y_label: "mean sigmoid of D's output",
        lines,
        refs: half
            .map(|y| RefLine {
                y,
                label: Some("D = 1/2 (equilibrium)"),
            })
            .into_iter()
            .collect(),
        size: (900, 520),
    })
}

/// The value metric's legend entry for each loss (see [`GLoss::value_meaning`]).
fn value_legend(loss: GLoss) -> &'static str {
    match loss {
        GLoss::Minimax | GLoss::NonSaturating => "V = E log D(x) + E log(1 - D(G(z)))",
        GLoss::Hinge | GLoss::LeastSquares => "V = -(D loss)",
    }
}

/// The reference line's legend entry: the value at the game's equilibrium.
fn equilibrium_legend(loss: GLoss) -> String {
    let v = loss.equilibrium_value();
    if loss.is_bce() {
        format!("-log 4 = {v:.3}: V at equilibrium")
    } else {
        format!("{v}: V at equilibrium")
    }
}

/// Writes `plots/losses.png` (D loss, G loss and V, reference: V at the equilibrium of
/// `loss`, [`GLoss::equilibrium_value`]) and `plots/d_outputs.png` (mean sigmoid of D's
/// output on real and generated items; reference 1/2 for the BCE losses, none for hinge
/// and least squares, whose output is not a logit of a probability).
pub fn write_run_plots(dir: &Path, rows: &[Metrics], loss: GLoss) -> Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| TrainError::io(&plots, e))?;
    let col = |f: fn(&Metrics) -> f32| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.step as f64, f(r) as f64)).collect()
    };
    let w = window(rows.len());
    let (d, g, v) = (col(|r| r.d_loss), col(|r| r.g_loss), col(|r| r.value));
    let (md, mg, mv) = (
        running_mean(&d, w),
        running_mean(&g, w),
        running_mean(&v, w),
    );
    let mut lines = Vec::with_capacity(6);
    lines.extend(faint_and_bold(&d, &md, RED, "D loss"));
    lines.extend(faint_and_bold(&g, &mg, BLUE, "G loss"));
    lines.extend(faint_and_bold(&v, &mv, GREEN, value_legend(loss)));
    let (title, sub, eq) = (
        format!("Losses, {loss} loss"),
        subtitle(rows.len()),
        equilibrium_legend(loss),
    );
    let losses = chart_png(&Chart {
        title: &title,
        subtitle: &sub,
        x_label: "generator step",
        y_label: "loss",
        lines,
        refs: vec![RefLine {
            y: loss.equilibrium_value(),
            label: Some(&eq),
        }],
        size: (900, 520),
    })?;
    write_atomic(&plots.join("losses.png"), &losses)?;
    let (real, fake) = (col(|r| r.d_real), col(|r| r.d_fake));
    let title = if loss.is_bce() {
        format!("D outputs, {loss} loss")
    } else {
        format!("D outputs, {loss} loss (a squashed score, not a probability)")
    };
    let half = loss.is_bce().then_some(0.5);
    let outs = d_outputs_chart(&real, &fake, &title, half)?;
    write_atomic(&plots.join("d_outputs.png"), &outs)
}
