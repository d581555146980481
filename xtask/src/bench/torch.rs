//! PyTorch's column: finds a Python with torch, runs `benches/pytorch/baseline.py` on the
//! same kind of device as our adapter (the CPU with as many threads as cores when our
//! adapter is a CPU one, CUDA otherwise) for the benchmarks of this run, and reads its JSON.
//!
//! The Python: `GAN_BENCH_PYTHON` when set, else `<root>/.bench-venv/bin/python` when it
//! exists. Without one, or without torch in it, the bench goes on with our column only.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::{table, Adapter, Row};

/// How to get the column (README, "Benchmarks").
pub const INSTALL: &str =
    "python3 -m venv .bench-venv && .bench-venv/bin/pip install torch==2.15.0 numpy";

/// One figure of baseline.py: `name` and `shape` as our benchmark's (`group/*` stands for
/// any function of the group, `/tf32` ends the names of the TF32 rows), `value` in `unit`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct TorchRow {
    pub name: String,
    pub shape: String,
    pub value: f64,
    pub unit: String,
}

/// What a run of baseline.py gave.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The Python it ran with, and how that was found.
    pub python: PathBuf,
    pub found_by: String,
    /// baseline.py's arguments, without the `--only` list.
    pub args: Vec<String>,
    /// baseline.py's `meta`: torch version, device, its name, threads, CUDA and driver.
    pub meta: serde_json::Value,
    pub rows: Vec<TorchRow>,
}

/// PyTorch ran, or why not.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ran(Baseline),
    Skipped(String),
}

impl Outcome {
    /// `target/bench/pytorch.json`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Outcome::Ran(b) => serde_json::json!({
                "python": b.python,
                "found_by": b.found_by,
                "args": b.args,
                "meta": b.meta,
                "ratio": table::RATIO,
                "rows": b.rows,
            }),
            Outcome::Skipped(why) => serde_json::json!({ "skipped": why }),
        }
    }
}

/// baseline.py's `--json` output: `{"meta": {...}, "rows": [...]}` (a bare list of rows is
/// taken too, with null meta).
pub fn parse_baseline(text: &str) -> Result<(serde_json::Value, Vec<TorchRow>)> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).context("baseline.py's JSON")?;
    let (meta, rows) = match v {
        serde_json::Value::Array(_) => (serde_json::Value::Null, v),
        serde_json::Value::Object(mut o) => (
            o.remove("meta").unwrap_or(serde_json::Value::Null),
            o.remove("rows")
                .context("no \"rows\" in baseline.py's JSON")?,
        ),
        _ => bail!("baseline.py's JSON is neither an object nor a list"),
    };
    Ok((
        meta,
        serde_json::from_value(rows).context("baseline.py's rows")?,
    ))
}

/// The Python to run baseline.py with, and how it was found: `env` (the value of
/// `GAN_BENCH_PYTHON`) when set and not empty, else `<root>/.bench-venv/bin/python`.
pub fn find_python(root: &Path, env: Option<OsString>) -> Option<(PathBuf, String)> {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(p), "GAN_BENCH_PYTHON".into()));
    }
    let venv = root.join(".bench-venv/bin/python");
    venv.exists().then(|| (venv, ".bench-venv".into()))
}

/// baseline.py's arguments for our rows: the device matching our adapter, the threads on
/// the CPU, and `--only` the IDs (`name/shape`) of our rows outside the `_cpu` groups.
/// None when no row is PyTorch's to run.
pub fn baseline_args(
    adapter: &Adapter,
    rows: &[Row],
    quick: bool,
    cores: usize,
) -> Option<Vec<String>> {
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| !table::is_cpu_group(table::group(&r.name)))
        .map(|r| format!("{}/{}", r.name, r.shape))
        .collect();
    if ids.is_empty() {
        return None;
    }
    let mut args = vec!["--json".to_string(), "--device".into()];
    if adapter.is_cpu() {
        args.extend(["cpu".into(), "--threads".into(), cores.to_string()]);
    } else {
        args.push("cuda".into());
    }
    if quick {
        args.push("--quick".into());
    }
    args.push("--only".into());
    args.extend(ids);
    Some(args)
}

const PROBE: &str = "import json, torch; \
    print(json.dumps({'torch': torch.__version__, 'cuda': torch.cuda.is_available()}))";

fn no_python() -> String {
    format!(
        "no Python with torch found (set GAN_BENCH_PYTHON, or `{INSTALL}`: about 4 GB with \
         the CUDA libraries, even for CPU use)"
    )
}

/// Runs baseline.py for `rows` (see the module's doc); never an error: what went wrong
/// is the [`Outcome::Skipped`] reason.
pub fn run_baseline(root: &Path, adapter: &Adapter, rows: &[Row], quick: bool) -> Outcome {
    let Some((python, found_by)) = find_python(root, std::env::var_os("GAN_BENCH_PYTHON")) else {
        return Outcome::Skipped(no_python());
    };
    let probe = Command::new(&python)
        .args(["-c", PROBE])
        .stderr(Stdio::null())
        .output();
    let probe = match probe {
        Ok(o) if o.status.success() => {
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default()
        }
        Ok(_) => {
            return Outcome::Skipped(format!(
                "{} ({found_by}) cannot import torch; `{INSTALL}`",
                python.display()
            ))
        }
        Err(e) => {
            return Outcome::Skipped(format!(
                "{} ({found_by}) does not run: {e}; `{INSTALL}`",
                python.display()
            ))
        }
    };
    if !adapter.is_cpu() && probe["cuda"] != serde_json::Value::Bool(true) {
        return Outcome::Skipped(format!(
            "our adapter is a GPU and torch {} finds no CUDA device",
            probe["torch"].as_str().unwrap_or("?")
        ));
    }
    let Some(args) = baseline_args(adapter, rows, quick, super::cores()) else {
        return Outcome::Skipped("no benchmark of this run has a PyTorch version".into());
    };
    let shown: Vec<String> = args
        .iter()
        .take_while(|a| *a != "--only")
        .cloned()
        .collect();
    println!(
        "\nPyTorch {}: {} benches/pytorch/baseline.py {} --only <{} ids>",
        probe["torch"].as_str().unwrap_or("?"),
        python.display(),
        shown.join(" "),
        args.len() - shown.len() - 1
    );
    let out = Command::new(&python)
        .arg(root.join("benches/pytorch/baseline.py"))
        .args(&args)
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => return Outcome::Skipped(format!("baseline.py failed ({})", o.status)),
        Err(e) => return Outcome::Skipped(format!("baseline.py did not start: {e}")),
    };
    match parse_baseline(&String::from_utf8_lossy(&out.stdout)) {
        Ok((meta, rows)) => Outcome::Ran(Baseline {
            python,
            found_by,
            args: shown,
            meta,
            rows,
        }),
        Err(e) => Outcome::Skipped(format!("{e:#}")),
    }
}
