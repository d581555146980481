//! Runs `cargo bench -p gan-benches`, reads criterion's results for the benchmarks of
//! this run, runs PyTorch on the same benchmarks when a Python with torch is found
//! ([`torch`]), and prints one table of throughputs with both columns and their ratio
//! ([`table`]); the same rows go to `target/bench/summary.json`, PyTorch's metadata to
//! `target/bench/pytorch.json`.
//!
//! `cargo xtask bench [--quick] [--no-torch] [FILTER...]`: FILTER is criterion's (a regex
//! on `group/function/shape`); `--no-torch` skips PyTorch.

mod table;
mod torch;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// One row of `target/bench/summary.json`: our figure, PyTorch's on the same benchmark
/// when it ran (null otherwise), and their ratio.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Row {
    /// `group/function` as criterion names it, e.g. `matmul/regblock`.
    pub name: String,
    /// The benchmark's parameter, e.g. `1024x1024x1024`.
    pub shape: String,
    /// Our figure, in `unit`.
    pub value: f64,
    /// `GFLOP/s`, `GB/s`, `images/s` or `ms`.
    pub unit: String,
    /// What ran it: the adapter and its driver, or `CPU (N threads)` for the `_cpu` groups.
    pub adapter: String,
    /// PyTorch's figure in the same unit (TF32 off on CUDA).
    pub torch_value: Option<f64>,
    /// PyTorch's figure with TF32 on (CUDA only).
    pub torch_tf32_value: Option<f64>,
    /// PyTorch's time over ours (> 1: ours is faster), from `value` and `torch_value`.
    pub ratio: Option<f64>,
}

/// The adapter the benches ran on, as `benches/lib.rs` records it in
/// `target/bench/adapter.txt`: its summary line (`name (Backend, DeviceType)`), and
/// optionally a line `driver: ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapter {
    /// `name (Backend, DeviceType)`.
    pub label: String,
    /// The driver name and version, when recorded.
    pub driver: Option<String>,
}

impl Adapter {
    pub fn parse(text: &str) -> Adapter {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let label = lines.next().unwrap_or("unknown adapter").to_string();
        let driver = lines
            .find_map(|l| l.strip_prefix("driver:"))
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        Adapter { label, driver }
    }

    /// A software adapter on the CPU: Mesa's llvmpipe or lavapipe, SwiftShader, or
    /// wgpu's device type `Cpu`.
    pub fn is_cpu(&self) -> bool {
        let l = self.label.to_lowercase();
        ["llvmpipe", "lavapipe", "swiftshader"]
            .iter()
            .any(|n| l.contains(n))
            || self.label.contains(", Cpu)")
    }

    /// The device column: the adapter and its driver.
    pub fn device(&self) -> String {
        match &self.driver {
            Some(d) => format!("{}, driver {d}", self.label),
            None => self.label.clone(),
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The host's logical cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub fn run(args: &[String]) -> Result<()> {
    let root = workspace_root();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let quick = args.iter().any(|a| a == "--quick");
    let no_torch = args.iter().any(|a| a == "--no-torch");
    let filter: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let started = SystemTime::now();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root)
        .args(["bench", "-p", "gan-benches", "--"]);
    cmd.args(filter.iter().map(|s| s.as_str()));
    if quick {
        cmd.env("GAN_BENCH_QUICK", "1");
    }
    let status = cmd.status().context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let adapter = Adapter::parse(
        &std::fs::read_to_string(target.join("bench/adapter.txt")).unwrap_or_default(),
    );
    let mut rows = Vec::new();
    collect(
        &target.join("criterion"),
        started,
        &adapter.device(),
        &mut rows,
    )?;
    rows.sort_by(|a, b| (&a.name, &a.shape).cmp(&(&b.name, &b.shape)));
    if rows.is_empty() {
        bail!(
            "no benchmark results found under {}",
            target.join("criterion").display()
        );
    }
    let baseline = if no_torch {
        torch::Outcome::Skipped("--no-torch".into())
    } else {
        torch::run_baseline(&root, &adapter, &rows, quick)
    };
    if let torch::Outcome::Ran(b) = &baseline {
        table::join(&mut rows, &b.rows);
    }
    table::print(&rows, &adapter, &baseline);
    let dir = target.join("bench");
    print_step_counts(&dir.join("step_counts.txt"), started);
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("summary.json");
    std::fs::write(&out, serde_json::to_string_pretty(&rows)?)?;
    std::fs::write(
        dir.join("pytorch.json"),
        serde_json::to_string_pretty(&baseline.to_json())?,
    )?;
    println!("\nwrote {} and pytorch.json beside it", out.display());
    Ok(())
}

/// The engine's work per training step (dispatches, compute passes, submissions, buffers
/// created), as the train_step bench wrote it during this run.
fn print_step_counts(path: &Path, since: SystemTime) {
    let fresh = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    if let (true, Ok(text)) = (fresh, std::fs::read_to_string(path)) {
        println!("\nper training step:");
        for line in text.lines() {
            println!("  {line}");
        }
    }
}

/// Walks criterion's output for `new/benchmark.json` files written after `since`.
fn collect(dir: &Path, since: SystemTime, adapter: &str, rows: &mut Vec<Row>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some(row) = read_result(&path, since, adapter)? {
                    rows.push(row);
                }
            } else {
                collect(&path, since, adapter, rows)?;
            }
        }
    }
    Ok(())
}

fn read_result(dir: &Path, since: SystemTime, adapter: &str) -> Result<Option<Row>> {
    let bench_file = dir.join("benchmark.json");
    let est_file = dir.join("estimates.json");
    let (Ok(meta), Ok(_)) = (std::fs::metadata(&est_file), std::fs::metadata(&bench_file)) else {
        return Ok(None);
    };
    if meta.modified()? < since {
        return Ok(None); // a result of an earlier run
    }
    let bench: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bench_file)?)?;
    let est: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&est_file)?)?;
    let ns = est["median"]["point_estimate"]
        .as_f64()
        .context("median in estimates.json")?;
    Ok(Some(criterion_row(&bench, ns, adapter)))
}

/// Our row from criterion's `benchmark.json` and the median time per iteration in ns.
fn criterion_row(bench: &serde_json::Value, ns: f64, adapter: &str) -> Row {
    let group = bench["group_id"].as_str().unwrap_or_default();
    let function = bench["function_id"].as_str().unwrap_or_default();
    let shape = bench["value_str"].as_str().unwrap_or_default().to_string();
    let (value, unit) = match &bench["throughput"] {
        // Whole training steps count images (Elements = batch), not FLOPs.
        t if t["Elements"].is_u64() && group == "train_step" => {
            (t["Elements"].as_f64().unwrap() / ns * 1e9, "images/s")
        }
        t if t["Elements"].is_u64() => (t["Elements"].as_f64().unwrap() / ns, "GFLOP/s"),
        t if t["Bytes"].is_u64() => (t["Bytes"].as_f64().unwrap() / ns, "GB/s"),
        _ => (ns / 1e6, "ms"),
    };
    let adapter = if table::is_cpu_group(group) {
        format!("CPU ({} threads)", cores())
    } else {
        adapter.to_string()
    };
    Row {
        name: format!("{group}/{function}"),
        shape,
        value,
        unit: unit.to_string(),
        adapter,
        torch_value: None,
        torch_tf32_value: None,
        ratio: None,
    }
}
