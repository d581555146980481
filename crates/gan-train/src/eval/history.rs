//! Evaluations made during training (`eval_every`): one CSV row per evaluation in
//! `RUN_DIR/eval/history.csv`, read back as a Markdown table for report.md (so a resumed
//! run's report still lists the evaluations made before the interruption).

use std::path::{Path, PathBuf};

use super::{EvalReport, EVAL_DIR};
use crate::error::{Result, TrainError};
use crate::rundir;

/// The history file in [`EVAL_DIR`].
pub const HISTORY_CSV: &str = "history.csv";

fn history_path(run_dir: &Path) -> PathBuf {
    run_dir.join(EVAL_DIR).join(HISTORY_CSV)
}

fn value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v}")
    } else {
        format!("{v:.4}")
    }
}

/// The columns of a row: the scores (G_ema's when the run has it), then the raw G's
/// prefixed `raw_` when the report has them.
fn columns(report: &EvalReport) -> Vec<(String, f64)> {
    let mut c: Vec<(String, f64)> = report
        .scores
        .columns()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    if let Some(raw) = &report.raw_scores {
        c.extend(
            raw.columns()
                .into_iter()
                .map(|(k, v)| (format!("raw_{k}"), v)),
        );
    }
    c
}

/// Appends `report` as a row of `eval/history.csv` (written atomically; the header
/// `step,epoch,<Scores::columns>` comes with the first row; with G_ema those columns are
/// its scores, followed by the raw G's as `raw_<column>`).
pub fn append_history(run_dir: &Path, report: &EvalReport) -> Result<()> {
    let path = history_path(run_dir);
    let dir = run_dir.join(EVAL_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let columns = columns(report);
    let mut text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
            format!("step,epoch,{}\n", names.join(","))
        }
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    let vals: Vec<String> = columns.iter().map(|c| value(c.1)).collect();
    text.push_str(&format!(
        "{},{:.4},{}\n",
        report.step,
        report.epoch,
        vals.join(",")
    ));
    rundir::write_atomic(&path, text.as_bytes())
}

/// `eval/history.csv` as a Markdown table; None when the run has no evaluation history.
pub fn history_table(run_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(history_path(run_dir)).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let mut s = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for line in lines.filter(|l| !l.is_empty()) {
        s.push_str(&format!(
            "| {} |\n",
            line.split(',').collect::<Vec<_>>().join(" | ")
        ));
    }
    Some(s)
}
