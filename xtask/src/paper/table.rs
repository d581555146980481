//! The rows of `cargo xtask paper` (one per run, kept in `docs/benchmarks/*.csv`) and the
//! page built from them, `docs/benchmarks.md`: per table, length and packing, the mean +-
//! standard error over seeds next to the paper's row.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

/// One finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// "ring8" or "grid25".
    pub table: String,
    /// Packing degree (1: GAN).
    pub pack: usize,
    /// The run's seed.
    pub seed: u64,
    /// Generator steps trained.
    pub steps: u64,
    /// Modes with at least one high-quality sample.
    pub modes: usize,
    /// % of the 2500 samples within 3 sigma of a mode.
    pub high_quality: f64,
    /// KL of the mode histogram to uniform (None: no high-quality sample).
    pub reverse_kl: Option<f64>,
    /// Seconds of training.
    pub train_seconds: f64,
    /// The adapter that trained it.
    pub adapter: String,
}

impl Row {
    /// The reverse KL as the CSV and logs print it ("-" when undefined).
    pub fn kl_text(&self) -> String {
        self.reverse_kl.map_or("-".into(), |k| format!("{k:.4}"))
    }
}

const HEADER: &str = "table,pack,seed,steps,modes,high_quality,reverse_kl,train_seconds,adapter";

/// The rows as CSV (adapter names are quoted).
pub fn to_csv(rows: &[Row]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s += &format!(
            "{},{},{},{},{},{:.2},{},{:.1},\"{}\"\n",
            r.table,
            r.pack,
            r.seed,
            r.steps,
            r.modes,
            r.high_quality,
            r.kl_text(),
            r.train_seconds,
            r.adapter.replace('"', "'")
        );
    }
    s
}

/// Reads what [`to_csv`] wrote.
pub fn from_csv(text: &str) -> Result<Vec<Row>> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        bail!("expected the header `{HEADER}`");
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let (head, adapter) = l
                .split_once(",\"")
                .with_context(|| format!("row {}: no quoted adapter", i + 1))?;
            let f: Vec<&str> = head.split(',').collect();
            if f.len() != 8 {
                bail!("row {}: expected 9 fields", i + 1);
            }
            let num = |k: usize| -> Result<f64> {
                f[k].parse::<f64>()
                    .with_context(|| format!("row {}: field {} = {:?}", i + 1, k + 1, f[k]))
            };
            Ok(Row {
                table: f[0].to_string(),
                pack: num(1)? as usize,
                seed: num(2)? as u64,
                steps: num(3)? as u64,
                modes: num(4)? as usize,
                high_quality: num(5)?,
                reverse_kl: if f[6] == "-" { None } else { Some(num(6)?) },
                train_seconds: num(7)?,
                adapter: adapter.trim_end_matches('"').to_string(),
            })
        })
        .collect()
}

/// Mean and standard error (sample standard deviation / sqrt n; 0 for one value).
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// PacGAN's Table 1 (Lin et al. 2018; fjxmlzn/PacGAN
/// synthetic_data_experiments/results/Table1.png): modes, % high quality and reverse KL,
/// each mean and standard error over 10 trials, for `table` and packing `m`.
pub fn paper_row(table: &str, m: usize) -> Option<[(f64, f64); 3]> {
    Some(match (table, m) {
        ("ring8", 1) => [(6.3, 0.5), (98.2, 0.2), (0.45, 0.09)],
        ("ring8", 2) => [(7.9, 0.1), (95.6, 2.0), (0.07, 0.03)],
        ("ring8", 3) => [(7.8, 0.1), (97.7, 0.3), (0.10, 0.02)],
        ("ring8", 4) => [(7.8, 0.1), (95.9, 1.4), (0.07, 0.02)],
        ("grid25", 1) => [(17.3, 0.8), (94.8, 0.7), (0.70, 0.07)],
        ("grid25", 2) => [(23.8, 0.7), (91.3, 0.8), (0.13, 0.04)],
        ("grid25", 3) => [(24.6, 0.4), (94.2, 0.4), (0.06, 0.02)],
        ("grid25", 4) => [(24.8, 0.2), (93.6, 0.6), (0.04, 0.01)],
        _ => return None,
    })
}

fn method(m: usize) -> String {
    if m == 1 {
        "GAN".into()
    } else {
        format!("PacGAN{m}")
    }
}

fn pm((m, s): (f64, f64), digits: usize) -> String {
    format!("{m:.digits$} ± {s:.digits$}")
}

/// Who measured a file of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `cargo xtask paper` (our kernels).
    Ours,
    /// `benches/pytorch/pacgan_2d.py` (eager PyTorch, the same protocol); `true`: with
    /// `--simultaneous`.
    PyTorch(bool),
}

/// The markdown section of one table and length, measured by us.
pub fn section(table: &str, steps: u64, rows: &[Row]) -> String {
    section_of(Source::Ours, table, steps, rows)
}

/// The markdown section of one table and length from `source`.
pub fn section_of(source: Source, table: &str, steps: u64, rows: &[Row]) -> String {
    let modes_max = if table == "ring8" { 8 } else { 25 };
    let mut by_pack: BTreeMap<usize, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_pack.entry(r.pack).or_default().push(r);
    }
    let adapters: Vec<&str> = {
        let mut a: Vec<&str> = rows.iter().map(|r| r.adapter.as_str()).collect();
        a.sort();
        a.dedup();
        a
    };
    let packs = by_pack
        .keys()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let seeds = rows.iter().map(|r| r.seed).max().unwrap_or(0);
    let (who, how) = match source {
        Source::Ours => (
            "gan".to_string(),
            format!("`cargo xtask paper {table} --steps {steps} --seeds {seeds} --packs {packs}` (resumable)"),
        ),
        Source::PyTorch(sim) => (
            format!("PyTorch reference{}", if sim { ", simultaneous updates" } else { "" }),
            format!(
                "`python benches/pytorch/pacgan_2d.py {table} --steps {steps} --seeds {seeds} --packs {packs}{}`",
                if sim { " --simultaneous" } else { "" }
            ),
        ),
    };
    let mut s = format!(
        "### {table}, {steps} steps per run ({:.1}% of the paper's 400,000): {who}\n\n\
         Reproduce: {how}. Adapter: {}.\n\n\
         | method | seeds | modes (max {modes_max}) | % high quality | reverse KL | paper: modes | \
         paper: % high quality | paper: reverse KL | train s / run |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        100.0 * steps as f64 / 400_000.0,
        adapters.join("; ")
    );
    for (&m, rs) in &by_pack {
        let col = |f: &dyn Fn(&Row) -> f64| mean_se(&rs.iter().map(|r| f(r)).collect::<Vec<_>>());
        let kls: Vec<f64> = rs.iter().filter_map(|r| r.reverse_kl).collect();
        let kl = if kls.is_empty() {
            "-".to_string()
        } else if kls.len() < rs.len() {
            format!(
                "{} ({} of {} defined)",
                pm(mean_se(&kls), 2),
                kls.len(),
                rs.len()
            )
        } else {
            pm(mean_se(&kls), 2)
        };
        let paper = paper_row(table, m);
        let p = |i: usize, d: usize| paper.map_or("-".to_string(), |p| pm(p[i], d));
        s += &format!(
            "| {} | {} | {} | {} | {kl} | {} | {} | {} | {:.0} |\n",
            method(m),
            rs.len(),
            pm(col(&|r| r.modes as f64), 1),
            pm(col(&|r| r.high_quality), 1),
            p(0, 1),
            p(1, 1),
            p(2, 2),
            col(&|r| r.train_seconds).0
        );
    }
    s
}

/// Rebuilds `out` from every `*.csv` of `folder` (ours) and of `folder/pytorch` (the
/// PyTorch reference): the intro, then per table (ring8 first) and length, our section
/// and the reference's beside it.
pub fn write_doc(folder: &Path, out: &Path) -> Result<()> {
    let mut files: Vec<(String, u64, Source, Vec<Row>)> = Vec::new();
    for (dir, torch) in [
        (folder.to_path_buf(), false),
        (folder.join("pytorch"), true),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e?.path();
            if p.extension().and_then(|x| x.to_str()) != Some("csv") {
                continue;
            }
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let rows = from_csv(&text).with_context(|| format!("{}", p.display()))?;
            let sim = p.to_string_lossy().contains("-simultaneous");
            let source = if torch {
                Source::PyTorch(sim)
            } else {
                Source::Ours
            };
            if let Some(r) = rows.first() {
                let (t, st) = (r.table.clone(), r.steps);
                files.push((t, st, source, rows));
            }
        }
    }
    files.sort_by_key(|(t, st, src, _)| (t != "ring8", *st, *src));
    let mut s = String::from(INTRO);
    for (t, st, src, rows) in &files {
        s += "\n";
        s += &section_of(*src, t, *st, rows);
    }
    std::fs::write(out, s).with_context(|| format!("writing {}", out.display()))
}

const INTRO: &str = "# Benchmarks: PacGAN's mode-collapse table with its own protocol

Written by `cargo xtask paper` (xtask/src/paper/) from the rows in `docs/benchmarks/*.csv`;
do not edit by hand. Each row: the `pacgan` preset (recipes/pacgan.toml: the players, data,
optimizer and batch of the authors' code, fjxmlzn/PacGAN `synthetic_data_experiments`), packing
m (GAN is m = 1), seeds 1..N; scored on 2500 generated points: **modes** with at least one
high-quality point, **% high quality** (within 3 sigma of the nearest mode), **reverse KL** of
the high-quality points' mode histogram to the uniform one (crates/gan-train/src/eval/mixture.rs).
Mean ± standard error over seeds; the paper's columns are its Table 1 (10 trials, 400 epochs =
400,000 steps). Where our runs are shorter than the paper's, the rows compare the protocol at
that length, not the paper's final numbers; the README's \"Reproducing the papers\" says what
differs.
";
