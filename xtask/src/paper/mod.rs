//! `cargo xtask paper ring8|grid25|stacked [--seeds N] [--steps N] [--packs 1,2,3,4] [--out DIR]
//! [--variant paper|ema]`:
//! one table of PacGAN's paper (Lin et al. 2018) with its protocol. `ring8` and `grid25`
//! are Table 1 (the `pacgan` preset, recipes/pacgan.toml): for each packing m and seed,
//! `gan train TABLE --preset pacgan --pack m --seed s --steps N`, then the paper's metrics
//! on 2500 points (`gan eval`: modes captured, % high quality, reverse KL). `stacked` is
//! Table 2 (the `pacgan-stacked` preset on `stacked-mnist`, 100,000 steps): modes of 1000
//! and KL to uniform on 26,000 samples, each channel read by the MNIST classifier. Runs live in
//! `DIR/TABLE/s<steps>/pac<m>-seed<s>` (default DIR: runs/paper); a finished run
//! (`eval/paper.json`) is skipped and a cut one resumed from its checkpoint, so a long
//! table can be finished across sittings. Every finished run of the table is written as a
//! row to `docs/benchmarks/TABLE-s<steps>.csv`, and `docs/benchmarks.md` is rebuilt from
//! all those files: mean +- standard error next to the paper's row. `--variant ema` runs the
//! same protocol plus the toolbox's G_ema (`--ema-decay 0.999`, scored on G_ema with its own
//! BatchNorm statistics) into `DIR/TABLE/s<steps>-ema` and `TABLE-s<steps>-ema.csv`.

mod table;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use table::{write_doc, Row};

/// The per-run result file, in the run's `eval/`.
const RESULT: &str = "paper.json";

/// What `cargo xtask paper` was asked.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// "ring8", "grid25" or "stacked".
    pub table: String,
    /// Seeds 1..=seeds.
    pub seeds: u64,
    /// Generator steps per run.
    pub steps: u64,
    /// Packing degrees (1: the plain GAN).
    pub packs: Vec<usize>,
    /// Where the runs go.
    pub out: PathBuf,
    /// What the runs add to the paper's protocol.
    pub variant: Variant,
}

/// What a table's runs add to the paper's protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    /// The protocol alone.
    #[default]
    Paper,
    /// The protocol plus G_ema, the moving average of G's weights (decay 0.999), which
    /// makes the samples and is scored (with BatchNorm statistics of its own weights).
    Ema,
}

impl Variant {
    /// Its `--variant` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Paper => "paper",
            Variant::Ema => "ema",
        }
    }

    /// Appended to the runs' folder and the CSV's name ("" for the protocol alone).
    pub fn suffix(self) -> &'static str {
        match self {
            Variant::Paper => "",
            Variant::Ema => "-ema",
        }
    }

    /// The `gan train` flags it adds to the preset's.
    pub fn flags(self) -> &'static [&'static str] {
        match self {
            Variant::Paper => &[],
            Variant::Ema => &["--ema-decay", "0.999"],
        }
    }

    /// The variant of a CSV file of rows, from its name (`ring8-s5000-ema.csv`).
    pub fn of_file(stem: &str) -> Variant {
        if stem.ends_with("-ema") {
            Variant::Ema
        } else {
            Variant::Paper
        }
    }
}

/// Table 1's 400 epochs of 1000 batches.
pub const PAPER_STEPS: u64 = 400_000;

/// Table 2's 50 epochs of 2000 batches of 64 (VEEGAN_experiment/config.py).
pub const STACKED_STEPS: u64 = 100_000;

/// The paper's length of a table, in generator steps (iterations).
pub fn paper_steps(table: &str) -> u64 {
    if table == "stacked" {
        STACKED_STEPS
    } else {
        PAPER_STEPS
    }
}

const USAGE: &str = "usage: cargo xtask paper ring8|grid25|stacked [--seeds N (10)] [--steps N \
                     (the paper's: 400000, stacked 100000)] [--packs 1,2,3,4] [--out DIR (runs/paper)] \
                     [--variant paper|ema (paper)]";

impl Plan {
    /// Parses the task's arguments.
    pub fn parse(args: &[String]) -> Result<Plan> {
        let mut it = args.iter();
        let table = match it.next().map(String::as_str) {
            Some(t @ ("ring8" | "grid25" | "stacked")) => t.to_string(),
            Some(other) => bail!("unknown table `{other}`: ring8, grid25 or stacked\n{USAGE}"),
            None => bail!("{USAGE}"),
        };
        let steps = paper_steps(&table);
        let mut plan = Plan {
            table,
            seeds: 10,
            steps,
            packs: vec![1, 2, 3, 4],
            out: PathBuf::from("runs/paper"),
            variant: Variant::Paper,
        };
        while let Some(flag) = it.next() {
            let value = it
                .next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
            let num = |v: &str| -> Result<u64> {
                match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{flag} {v}: expected a whole number above 0"),
                }
            };
            match flag.as_str() {
                "--seeds" => plan.seeds = num(value)?,
                "--steps" => plan.steps = num(value)?,
                "--packs" => {
                    plan.packs = value
                        .split(',')
                        .map(|p| num(p.trim()).map(|n| n as usize))
                        .collect::<Result<_>>()?
                }
                "--out" => plan.out = PathBuf::from(value),
                "--variant" => {
                    plan.variant = match value.as_str() {
                        "paper" => Variant::Paper,
                        "ema" => Variant::Ema,
                        v => bail!("--variant {v}: paper or ema\n{USAGE}"),
                    }
                }
                _ => bail!("unknown flag {flag}\n{USAGE}"),
            }
        }
        Ok(plan)
    }

    /// The folder of the runs of this table and length.
    pub fn table_dir(&self) -> PathBuf {
        self.out
            .join(&self.table)
            .join(format!("s{}{}", self.steps, self.variant.suffix()))
    }

    /// The run directory of packing `m`, seed `seed`.
    pub fn run_dir(&self, m: usize, seed: u64) -> PathBuf {
        self.table_dir().join(format!("pac{m}-seed{seed}"))
    }

    /// True for Table 2 (Stacked MNIST), false for Table 1's 2-D mixtures.
    pub fn stacked(&self) -> bool {
        self.table == "stacked"
    }

    /// The `gan train` arguments of a fresh run.
    pub fn train_args(&self, m: usize, seed: u64) -> Vec<String> {
        let (dataset, preset, every) = if self.stacked() {
            // Steps of seconds on a CPU adapter: checkpoints at most 5000 apart.
            (
                "stacked-mnist",
                "pacgan-stacked",
                (self.steps / 20).clamp(1, 5000),
            )
        } else {
            (
                self.table.as_str(),
                "pacgan",
                (self.steps / 10).clamp(1, 10_000),
            )
        };
        let every = every.to_string();
        [
            dataset,
            "--preset",
            preset,
            "--pack",
            &m.to_string(),
            "--seed",
            &seed.to_string(),
            "--steps",
            &self.steps.to_string(),
            "--checkpoint-every",
            &every,
            "--sample-every",
            &every,
            "--out",
            &self.run_dir(m, seed).display().to_string(),
            "--no-progress",
        ]
        .iter()
        .chain(self.variant.flags())
        .map(|s| s.to_string())
        .collect()
    }

    /// The rows' file in `docs/benchmarks/`.
    pub fn csv_name(&self) -> String {
        format!(
            "{}-s{}{}.csv",
            self.table,
            self.steps,
            self.variant.suffix()
        )
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::env::set_current_dir(root).with_context(|| format!("entering {}", root.display()))?;
    let plan = Plan::parse(args)?;
    println!(
        "paper table {}{}: packs {:?} x seeds 1..={} at {} steps each (the paper: {}); runs in {}",
        plan.table,
        plan.variant.suffix(),
        plan.packs,
        plan.seeds,
        plan.steps,
        paper_steps(&plan.table),
        plan.table_dir().display()
    );
    let ctx = gan_tensor::Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    let saved = saved_rows(&plan)?;
    for seed in 1..=plan.seeds {
        for &m in &plan.packs {
            // A row saved in the CSV (by another sitting or clone) whose run is not here
            // counts as done; a run directory here is finished or resumed as usual.
            let here = plan.run_dir(m, seed).exists();
            let row = match saved.iter().find(|r| (r.pack, r.seed) == (m, seed)) {
                Some(r) if !here => {
                    println!("{} pack {m} seed {seed}: saved in the table", plan.table);
                    r.clone()
                }
                _ => finish_run(&ctx, &plan, m, seed)?,
            };
            println!(
                "{} pack {m} seed {seed}: {} modes, {} high quality, reverse KL {} ({:.0} s of \
                 training)",
                plan.table,
                row.modes,
                row.high_quality
                    .map_or("-".to_string(), |h| format!("{h:.1}%")),
                row.kl_text(),
                row.train_seconds
            );
            // After every run, so that a cut table still leaves its finished rows.
            save_rows(&plan)?;
        }
    }
    let csv = Path::new("docs/benchmarks").join(plan.csv_name());
    let text =
        std::fs::read_to_string(&csv).with_context(|| format!("reading {}", csv.display()))?;
    println!(
        "\n{}",
        table::section_of(
            table::Source::Ours(plan.variant),
            &plan.table,
            plan.steps,
            &table::from_csv(&text)?
        )
    );
    println!("wrote {} and docs/benchmarks.md", csv.display());
    Ok(())
}

/// Trains (or resumes) and evaluates one run, unless its result exists.
fn finish_run(ctx: &gan_tensor::Context, plan: &Plan, m: usize, seed: u64) -> Result<Row> {
    let dir = plan.run_dir(m, seed);
    if let Some(row) = read_result(&dir)? {
        return Ok(row);
    }
    match gan_train::read_latest(&dir) {
        Ok(latest) if latest.step >= plan.steps => {}
        Ok(latest) => {
            println!("resuming {} at step {}", dir.display(), latest.step);
            let args: Vec<String> = [
                "--resume".to_string(),
                dir.display().to_string(),
                "--steps".into(),
                plan.steps.to_string(),
                "--no-progress".into(),
            ]
            .to_vec();
            gan_cli::train::run_from_args(&args)?;
        }
        Err(_) => {
            if dir.exists() {
                // Cut before its first checkpoint: nothing in it can be resumed.
                println!("{} holds no checkpoint; starting it again", dir.display());
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
            println!("training {}", dir.display());
            gan_cli::train::run_from_args(&plan.train_args(m, seed))?;
        }
    }
    let latest = gan_train::read_latest(&dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let count = if plan.stacked() {
        gan_train::eval::stacked::SAMPLES
    } else {
        gan_train::eval::mixture::SAMPLES
    };
    let opts = gan_train::eval::EvalOptions {
        count: Some(count),
        floor: false,
        ..Default::default()
    };
    let report = gan_train::eval::evaluate_run(ctx, &dir, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    gan_train::eval::write_metrics(&dir, &report).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (modes, high_quality, reverse_kl) = scores_of(plan.stacked(), report.scores, &dir)?;
    let row = Row {
        table: plan.table.clone(),
        pack: m,
        seed,
        steps: latest.step,
        modes,
        high_quality,
        reverse_kl,
        train_seconds: latest.elapsed_s,
        adapter: latest.adapter.clone(),
    };
    let path = dir.join("eval").join(RESULT);
    gan_train::rundir::write_atomic(&path, serde_json::to_string_pretty(&row)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(row)
}

/// (modes, % high quality, reverse KL) of a run's scores: Table 1's three, or Table 2's
/// modes of 1000 and KL (no high-quality measure).
fn scores_of(
    stacked: bool,
    scores: gan_train::eval::Scores,
    dir: &Path,
) -> Result<(usize, Option<f64>, Option<f64>)> {
    if stacked {
        let s = scores.stacked.with_context(|| {
            format!(
                "{}: no Stacked MNIST scores (not a stacked-mnist run?)",
                dir.display()
            )
        })?;
        Ok((s.modes_captured, None, Some(s.kl_to_uniform)))
    } else {
        let s = scores
            .modes
            .with_context(|| format!("{}: no mode scores (not a 2-D run?)", dir.display()))?;
        Ok((s.modes_captured, Some(s.high_quality_percent), s.reverse_kl))
    }
}

fn read_result(dir: &Path) -> Result<Option<Row>> {
    let path = dir.join("eval").join(RESULT);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(Some(
            serde_json::from_str(&t).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The rows of the plan's table and length saved in `docs/benchmarks/` (none when it has
/// no CSV yet); a CSV that does not parse is an error, not an empty table.
fn saved_rows(plan: &Plan) -> Result<Vec<Row>> {
    let path = Path::new("docs/benchmarks").join(plan.csv_name());
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    table::from_csv(&text).with_context(|| {
        format!(
            "{} is not a table of rows; fix or remove it (its rows would be lost)",
            path.display()
        )
    })
}

/// Writes every finished run of the plan's table and length to its CSV, then rebuilds
/// `docs/benchmarks.md` from all CSVs.
fn save_rows(plan: &Plan) -> Result<()> {
    let mut rows = Vec::new();
    if let Ok(entries) = std::fs::read_dir(plan.table_dir()) {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            if let Some(r) = read_result(&d)? {
                rows.push(r);
            }
        }
    }
    let folder = Path::new("docs/benchmarks");
    std::fs::create_dir_all(folder).context("creating docs/benchmarks")?;
    let path = folder.join(plan.csv_name());
    // Rows saved before whose run directories are not on this machine (another sitting,
    // another clone) stay; a run present here replaces its saved row.
    rows = table::merge_rows(saved_rows(plan)?, rows);
    rows.sort_by_key(|r| (r.pack, r.seed));
    // Written aside and renamed: another `paper` process of the same table (one per
    // packing, run side by side) never reads a half-written file.
    let tmp = path.with_extension(format!("csv.{}.tmp", std::process::id()));
    std::fs::write(&tmp, table::to_csv(&rows))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    write_doc(folder, Path::new("docs/benchmarks.md"))
}
