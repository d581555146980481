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
    /// "ring8", "grid25" or "stacked".
    pub table: String,
    /// Packing degree (1: GAN).
    pub pack: usize,
    /// The run's seed.
    pub seed: u64,
    /// Generator steps trained.
    pub steps: u64,
    /// Modes with at least one high-quality sample (Stacked MNIST: with at least one
    /// image).
    pub modes: usize,
    /// % of the 2500 samples within 3 sigma of a mode (None for Stacked MNIST, which has
    /// no such measure).
    pub high_quality: Option<f64>,
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
            "{},{},{},{},{},{},{},{:.1},\"{}\"\n",
            r.table,
            r.pack,
            r.seed,
            r.steps,
            r.modes,
            r.high_quality.map_or("-".into(), |h| format!("{h:.2}")),
            r.kl_text(),
            r.train_seconds,
            r.adapter.replace('"', "'")
        );
    }
    s
}

/// Reads what [`to_csv`] wrote.
/// The rows of `saved` whose (pack, seed) `fresh` lacks, then `fresh`: runs found on
/// this machine replace their saved rows, the others are kept.
pub fn merge_rows(saved: Vec<Row>, fresh: Vec<Row>) -> Vec<Row> {
    let mut rows: Vec<Row> = saved
        .into_iter()
        .filter(|s| !fresh.iter().any(|f| (f.pack, f.seed) == (s.pack, s.seed)))
        .collect();
    rows.extend(fresh);
    rows
}

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
                high_quality: if f[5] == "-" { None } else { Some(num(5)?) },
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

/// PacGAN's Table 2 (fjxmlzn/PacGAN stacked_MNIST_experiments/results/Table2.png): modes
/// (of 1000) and KL, mean and standard error over 10 trials, of their DCGAN (m = 1) and
/// PacDCGANm. (VEEGAN's paper reports 99.0 modes / KL 3.40 for its DCGAN.)
pub fn paper_row_stacked(m: usize) -> Option<[(f64, f64); 2]> {
    Some(match m {
        1 => [(78.9, 6.46), (4.50, 0.127)],
        2 => [(1000.0, 0.0), (0.06, 0.003)],
        3 => [(1000.0, 0.0), (0.06, 0.003)],
        4 => [(1000.0, 0.0), (0.07, 0.005)],
        _ => return None,
    })
}

fn method(table: &str, m: usize) -> String {
    match (table == "stacked", m) {
        (false, 1) => "GAN".into(),
        (false, _) => format!("PacGAN{m}"),
        (true, 1) => "DCGAN".into(),
        (true, _) => format!("PacDCGAN{m}"),
    }
}

fn pm((m, s): (f64, f64), digits: usize) -> String {
    format!("{m:.digits$} ± {s:.digits$}")
}

/// Our runs' mean ± standard error, or the value alone for one seed (no error to show).
fn ours(v: &[f64], digits: usize) -> String {
    match v {
        [one] => format!("{one:.digits$}"),
        _ => pm(mean_se(v), digits),
    }
}

/// Who measured a file of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// `cargo xtask paper` (our kernels), with what its runs add to the protocol.
    Ours(super::Variant),
    /// `benches/pytorch/pacgan_2d.py` (eager PyTorch, the same protocol); `true`: with
    /// `--simultaneous`.
    PyTorch(bool),
}

/// The markdown section of one table and length, measured by us.
#[cfg(test)]
pub fn section(table: &str, steps: u64, rows: &[Row]) -> String {
    section_of(Source::Ours(super::Variant::Paper), table, steps, rows)
}

/// The markdown section of one table and length from `source`.
pub fn section_of(source: Source, table: &str, steps: u64, rows: &[Row]) -> String {
    let stacked = table == "stacked";
    let modes_max = match table {
        "ring8" => 8,
        "grid25" => 25,
        _ => 1000,
    };
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
        Source::Ours(v) => (
            match v {
                super::Variant::Paper => "gan".to_string(),
                super::Variant::Ema => "gan + G_ema (moving average of G's weights, decay 0.999, \
                                       with BatchNorm statistics of its own; the samples scored are G_ema's)"
                    .to_string(),
            },
            format!(
                "`cargo xtask paper {table} --steps {steps} --seeds {seeds} --packs {packs}{}` (resumable)",
                match v {
                    super::Variant::Paper => String::new(),
                    other => format!(" --variant {}", other.name()),
                }
            ),
        ),
        Source::PyTorch(sim) => (
            format!("PyTorch reference{}", if sim { ", simultaneous updates" } else { "" }),
            format!(
                "`python benches/pytorch/pacgan_2d.py {table} --steps {steps} --seeds {seeds} --packs {packs}{}`",
                if sim { " --simultaneous" } else { "" }
            ),
        ),
    };
    let paper = super::paper_steps(table);
    let (head, rule) = if stacked {
        (
            format!("| method | seeds | modes (max {modes_max}) | KL | paper: modes | paper: KL | train s / run |"),
            "|---|---|---|---|---|---|---|",
        )
    } else {
        (
            format!("| method | seeds | modes (max {modes_max}) | % high quality | reverse KL | paper: modes | \
             paper: % high quality | paper: reverse KL | train s / run |"),
            "|---|---|---|---|---|---|---|---|---|",
        )
    };
    let mut s = format!(
        "### {table}, {steps} steps per run ({:.1}% of the paper's {}): {who}\n\n\
         Reproduce: {how}. Adapter: {}.\n\n{head}\n{rule}\n",
        100.0 * steps as f64 / paper as f64,
        thousands(paper),
        adapters.join("; ")
    );
    for (&m, rs) in &by_pack {
        let col = |f: &dyn Fn(&Row) -> f64| rs.iter().map(|r| f(r)).collect::<Vec<_>>();
        let kls: Vec<f64> = rs.iter().filter_map(|r| r.reverse_kl).collect();
        let kl = if kls.is_empty() {
            "-".to_string()
        } else if kls.len() < rs.len() {
            format!("{} ({} of {} defined)", ours(&kls, 2), kls.len(), rs.len())
        } else {
            ours(&kls, 2)
        };
        let modes = ours(&col(&|r| r.modes as f64), 1);
        let seconds = mean_se(&col(&|r| r.train_seconds)).0;
        if stacked {
            let (pmodes, pkl) = match paper_row_stacked(m) {
                Some([(m, ms), (k, ks)]) => {
                    (format!("{m:.1} ± {ms:.2}"), format!("{k:.2} ± {ks:.3}"))
                }
                None => ("-".into(), "-".into()),
            };
            s += &format!(
                "| {} | {} | {modes} | {kl} | {pmodes} | {pkl} | {seconds:.0} |\n",
                method(table, m),
                rs.len(),
            );
            continue;
        }
        let hqs: Vec<f64> = rs.iter().filter_map(|r| r.high_quality).collect();
        let hq = if hqs.is_empty() {
            "-".to_string()
        } else {
            ours(&hqs, 1)
        };
        let paper = paper_row(table, m);
        let p = |i: usize, d: usize| paper.map_or("-".to_string(), |p| pm(p[i], d));
        s += &format!(
            "| {} | {} | {modes} | {hq} | {kl} | {} | {} | {} | {seconds:.0} |\n",
            method(table, m),
            rs.len(),
            p(0, 1),
            p(1, 1),
            p(2, 2),
        );
    }
    s
}

/// 400000 as "400,000".
fn thousands(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
            let stem = p.file_stem().and_then(|x| x.to_str()).unwrap_or("");
            let source = if torch {
                Source::PyTorch(sim)
            } else {
                Source::Ours(super::Variant::of_file(stem))
            };
            if let Some(r) = rows.first() {
                let (t, st) = (r.table.clone(), r.steps);
                files.push((t, st, source, rows));
            }
        }
    }
    let rank = |t: &str| ["ring8", "grid25", "stacked"].iter().position(|x| *x == t);
    files.sort_by_key(|(t, st, src, _)| (rank(t), *st, *src));
    let mut s = String::from(INTRO);
    for (t, st, src, rows) in &files {
        s += "\n";
        s += &section_of(*src, t, *st, rows);
    }
    std::fs::write(out, s).with_context(|| format!("writing {}", out.display()))
}

const INTRO: &str = "# Benchmarks: PacGAN's mode-collapse tables with their own protocols

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

Stacked MNIST (`cargo xtask paper stacked`, PacGAN's Table 2): the `pacgan-stacked` preset
(recipes/pacgan-stacked.toml: carpedm20's DCGAN with 64 filters, z 100-D U[-1, 1], Adam 2e-4 /
0.5, 64 packs per batch, G stepped twice, 128,000 images, 100,000 steps), scored on 26,000
generated images whose three channels are each read by the MNIST classifier
(data/classifier): **modes** of the 1000 digit triples with at least one image and the **KL**
of the mode histogram to the uniform one (crates/gan-train/src/eval/stacked.rs). Its paper
columns are Table 2 (10 trials): their DCGAN and PacDCGAN2-4.
";
