//! An [`EvalReport`] as a Markdown section: one table of the scores, with a column for
//! G_ema and one for the raw G when the run has G_ema.

use super::{stacked, EvalReport, Scores};

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"))
}

fn joined<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The table rows of `scores` as (metric, value).
fn rows(scores: &Scores) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut row = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(m) = &scores.mnist {
        row(
            &format!(
                "FD-LeNet, generated vs real test (N = {} / {})",
                m.generated, m.real
            ),
            format!("{:.3}", m.fd_lenet),
        );
        row(
            &format!("FD-LeNet floor, real train vs real test (N = {})", m.real),
            opt(m.fd_lenet_floor, 3),
        );
        let c = &m.classes;
        row(
            "classes covered",
            format!("{} / {}", c.classes_covered, c.histogram.len()),
        );
        row(
            "KL divergence of the class histogram to uniform, nats",
            format!("{:.4}", c.kl_to_uniform),
        );
        row(
            "mean classifier confidence",
            format!("{:.4}", c.mean_confidence),
        );
        row("class histogram (0-9)", joined(&c.histogram));
    }
    if let Some(c) = &scores.conditional {
        row(
            "agreement with the requested class (chance)",
            format!("{:.4} ({:.4})", c.agreement, c.chance),
        );
        for r in &c.per_class {
            row(
                &format!(
                    "class {}: agreement, FD-LeNet (N = {})",
                    r.class, r.generated
                ),
                format!("{:.4}, {}", r.agreement, opt(r.fd_lenet, 3)),
            );
        }
    }
    if let Some(m) = &scores.modes {
        row(
            "modes captured",
            format!("{} / {}", m.modes_captured, m.modes),
        );
        row(
            &format!(
                "high-quality samples (within 3 sigma = {:.4})",
                3.0 * m.sigma
            ),
            format!("{:.1} %", m.high_quality_percent),
        );
        row(
            "reverse KL of the mode histogram (high-quality samples) to uniform, nats",
            opt(m.reverse_kl, 4),
        );
        row("high-quality samples per mode", joined(&m.counts));
    }
    if let Some(m) = &scores.stacked {
        let anchors = stacked::ANCHORS
            .iter()
            .map(|(n, v)| format!("{n} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        row(
            "modes captured",
            format!("{} / 1000 (published: {anchors})", m.modes_captured),
        );
        row(
            "KL divergence of the mode histogram to uniform, nats",
            format!("{:.4}", m.kl_to_uniform),
        );
    }
    out
}

impl EvalReport {
    /// A Markdown section: a heading and one table of the scores (for the terminal and
    /// for a run's report.md); with G_ema, a column of its scores and one of the raw G's.
    pub fn to_markdown(&self) -> String {
        let data = if self.dataset == self.kind {
            self.dataset.clone()
        } else {
            format!("{} ({})", self.dataset, self.kind)
        };
        let mut s = format!(
            "## Evaluation at step {} (epoch {:.2}): {data}, {} samples, seed {}\n\n",
            self.step, self.epoch, self.count, self.seed
        );
        let main = rows(&self.scores);
        match &self.raw_scores {
            Some(raw) => {
                s.push_str("| metric | G_ema | raw G |\n|---|---|---|\n");
                let raw = rows(raw);
                for (i, (k, v)) in main.iter().enumerate() {
                    let r = raw.get(i).map_or("n/a", |r| r.1.as_str());
                    s.push_str(&format!("| {k} | {v} | {r} |\n"));
                }
            }
            None => {
                s.push_str("| metric | value |\n|---|---|\n");
                for (k, v) in &main {
                    s.push_str(&format!("| {k} | {v} |\n"));
                }
            }
        }
        if let Some(p) = &self.plot {
            let cells = if self.raw_scores.is_some() { " |" } else { "" };
            s.push_str(&format!("| plot | {p} |{cells}\n"));
        }
        s.push_str(&format!("\n{:.1} s on {}\n", self.seconds, self.adapter));
        s
    }
}
