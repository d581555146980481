//! `report.md` of a run directory, built from plain facts about the run.

use std::fmt::Write as _;
use std::path::Path;

use crate::config::{Config, GLoss};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::rundir::write_atomic;

/// What the report states.
pub struct RunFacts<'a> {
    /// The resolved configuration.
    pub config: &'a Config,
    /// Generator steps done.
    pub step: u64,
    /// Generator steps the config asks for.
    pub total_steps: u64,
    /// Epochs of real data consumed.
    pub epoch: f64,
    /// Seconds of training (all sessions).
    pub elapsed: f64,
    /// The adapter's name.
    pub adapter: &'a str,
    /// Trainable scalars of G and D.
    pub parameters: (usize, usize),
    /// Real batches per epoch.
    pub batches_per_epoch: usize,
    /// The last metrics row.
    pub last: Option<&'a Metrics>,
    /// The table of evaluations during training (eval/history.csv), if any.
    pub eval_history: Option<String>,
    /// Whether `samples/final.png` exists.
    pub final_samples: bool,
}

/// The Markdown text of `report.md`.
pub fn report_text(f: &RunFacts<'_>) -> String {
    let c = f.config;
    let mut s = String::new();
    let _ = writeln!(s, "# GAN training run\n");
    let status = if f.step >= f.total_steps {
        "finished".to_string()
    } else {
        format!("stopped (resume to continue to step {})", f.total_steps)
    };
    let _ = writeln!(
        s,
        "Status: {status} at step {} of {} ({:.2} epochs, {:.1} s of training) on `{}`.\n",
        f.step, f.total_steps, f.epoch, f.elapsed, f.adapter
    );
    let _ = writeln!(s, "## Parameters\n\n| parameter | value |\n| --- | --- |");
    for (key, v) in c.to_table() {
        let _ = writeln!(s, "| {key} | {v} |");
    }
    let _ = writeln!(
        s,
        "| (generator parameters) | {} |\n| (discriminator parameters) | {} |\n| (batches per epoch) | {} |\n",
        f.parameters.0, f.parameters.1, f.batches_per_epoch
    );
    if let Some(r) = f.last {
        let (loss, v_eq) = (c.loss, c.loss.equilibrium_value());
        let d_eq = if loss.is_bce() { "D = 0.5, " } else { "" };
        let _ = writeln!(
            s,
            "## Last metrics (step {})\n\nd_loss {:.4}, g_loss {:.4}, D(x) {:.4}, D(G(z)) {:.4}, V {:.4} (equilibrium: {d_eq}V = {v_eq:.4})\n",
            r.step, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value
        );
        let _ = writeln!(s, "{}\n", metrics_meaning(loss));
    }
    if let Some(table) = &f.eval_history {
        let _ = writeln!(
            s,
            "## Evaluations during training (`eval_every` = {} epochs, {} items each)\n\n{table}",
            c.eval_every,
            if c.eval_count > 0 {
                c.eval_count.to_string()
            } else {
                "the protocol's".into()
            }
        );
        if c.ema_decay > 0.0 {
            let _ = writeln!(
                s,
                "The scores are G_ema's (moving average of G's weights, decay {}); the \
                 `raw_` columns are the raw G's.\n",
                c.ema_decay
            );
        }
    }
    let _ = writeln!(s, "## Files\n");
    if f.final_samples {
        let _ = writeln!(
            s,
            "Final samples (fixed latents{}):\n\n![final samples](samples/final.png)\n",
            if c.ema_decay > 0.0 { ", G_ema" } else { "" }
        );
    }
    let _ = writeln!(
        s,
        "Losses (red: D loss, blue: G loss, green: V, {}; gray line: V at equilibrium = {:.4}):\n\n![losses](plots/losses.png)\n",
        c.loss.value_meaning(),
        c.loss.equilibrium_value()
    );
    let _ = writeln!(
        s,
        "Discriminator outputs (red: mean D(x), blue: mean D(G(z)), D = sigmoid of D's output{}):\n\n![D outputs](plots/d_outputs.png)\n",
        if c.loss.is_bce() {
            "; gray line: D = 1/2"
        } else {
            ", not a probability for this loss"
        }
    );
    let _ = writeln!(
        s,
        "- `config.toml`: every parameter, adapter, versions, dataset summary\n- `metrics.csv`: one row per logged step\n- `samples/`: grids of the fixed latents per epoch\n- `checkpoints/`: latest G, D and optimizer states (safetensors), pointed at by `latest.toml`"
    );
    s
}

/// What V and D(x) mean in the metrics of a run with `loss`, one Markdown paragraph.
pub fn metrics_meaning(loss: GLoss) -> String {
    let d = if loss.is_bce() {
        "D(x) = sigmoid(logit), D's probability that x is real"
    } else {
        "D(x) = sigmoid(D's raw output): kept for comparison, not a probability for this loss"
    };
    format!("Loss `{loss}`: {}; {d}.", loss.value_meaning())
}

/// Writes `dir/report.md` atomically.
pub fn write_report(dir: &Path, facts: &RunFacts<'_>) -> Result<()> {
    write_atomic(&dir.join("report.md"), report_text(facts).as_bytes())
}
