//! Runs `cargo bench -p gan-benches`, then reads criterion's results for the benchmarks of
//! this run and turns them into one table of throughputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// One row of `target/bench/summary.json`.
#[derive(Serialize, Debug)]
struct Row {
    name: String,
    shape: String,
    value: f64,
    unit: String,
    adapter: String,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn run(args: &[String]) -> Result<()> {
    let root = workspace_root();
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let quick = args.iter().any(|a| a == "--quick");
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
    let adapter = std::fs::read_to_string(target.join("bench/adapter.txt"))
        .unwrap_or_else(|_| "unknown adapter".into());
    let mut rows = Vec::new();
    collect(&target.join("criterion"), started, &adapter, &mut rows)?;
    rows.sort_by(|a, b| (&a.name, &a.shape).cmp(&(&b.name, &b.shape)));
    if rows.is_empty() {
        bail!(
            "no benchmark results found under {}",
            target.join("criterion").display()
        );
    }
    print_table(&rows, &adapter);
    let out = target.join("bench/summary.json");
    std::fs::create_dir_all(out.parent().unwrap())?;
    std::fs::write(&out, serde_json::to_string_pretty(&rows)?)?;
    println!("\nwrote {}", out.display());
    Ok(())
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
    let adapter = if group.ends_with("_cpu") {
        format!(
            "CPU ({} threads)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        )
    } else {
        adapter.to_string()
    };
    Ok(Some(Row {
        name: format!("{group}/{function}"),
        shape,
        value,
        unit: unit.to_string(),
        adapter,
    }))
}

fn print_table(rows: &[Row], adapter: &str) {
    println!("\nadapter: {adapter}");
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let s = rows.iter().map(|r| r.shape.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<w$}  {:<s$}  {:>10}  unit      device",
        "name", "shape", "value"
    );
    for r in rows {
        let device = if r.adapter == adapter {
            "gpu"
        } else {
            r.adapter.as_str()
        };
        println!(
            "{:<w$}  {:<s$}  {:>10.2}  {:<8}  {}",
            r.name, r.shape, r.value, r.unit, device
        );
    }
}
