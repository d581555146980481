//! Joins PyTorch's figures to ours on (name, shape) and prints the table.

use super::torch::{Outcome, TorchRow};
use super::{Adapter, Row};

/// What the ratio column means (the table's header and `pytorch.json`).
pub const RATIO: &str = "ratio = PyTorch's time / our time (> 1: ours is faster)";

/// The benchmark group of `group/function`.
pub fn group(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// The groups that time a CPU library (matrixmultiply), not our kernels: no PyTorch figure.
pub fn is_cpu_group(group: &str) -> bool {
    group.ends_with("_cpu")
}

/// Does PyTorch's `pattern` name our `name`: the same, or `group/*` for any function of
/// the group (matmul: whichever WGSL kernel ran)?
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern == name {
        return true;
    }
    let Some(g) = pattern.strip_suffix("/*") else {
        return false;
    };
    name.strip_prefix(g)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|f| !f.is_empty() && !f.contains('/'))
}

/// PyTorch's time over ours from the two figures in `unit`: for throughputs ours / theirs,
/// for times (`ms`) theirs / ours. None unless both are positive.
pub fn ratio(ours: f64, torch: f64, unit: &str) -> Option<f64> {
    if !(ours > 0.0 && torch > 0.0) {
        return None;
    }
    Some(if unit == "ms" {
        torch / ours
    } else {
        ours / torch
    })
}

/// Fills each row's PyTorch figures (TF32 off and on) and ratio from the row of the same
/// name, shape and unit; the `_cpu` groups keep none.
pub fn join(rows: &mut [Row], torch: &[TorchRow]) {
    for r in rows.iter_mut() {
        if is_cpu_group(group(&r.name)) {
            continue;
        }
        let find = |tf32: bool| {
            torch
                .iter()
                .find(|t| {
                    let (base, is_tf32) = match t.name.strip_suffix("/tf32") {
                        Some(b) => (b, true),
                        None => (t.name.as_str(), false),
                    };
                    is_tf32 == tf32
                        && t.shape == r.shape
                        && t.unit == r.unit
                        && name_matches(base, &r.name)
                })
                .map(|t| t.value)
        };
        r.torch_value = find(false);
        r.torch_tf32_value = find(true);
        r.ratio = r.torch_value.and_then(|t| ratio(r.value, t, &r.unit));
    }
}

/// One line on PyTorch's run: version, device, its name and threads or CUDA and driver.
pub fn describe(outcome: &Outcome) -> String {
    let b = match outcome {
        Outcome::Ran(b) => b,
        Outcome::Skipped(why) => return format!("PyTorch: not run, {why}"),
    };
    let m = &b.meta;
    let s = |k: &str| m[k].as_str().map(str::to_string);
    let mut line = format!(
        "PyTorch {} on {}",
        s("torch").unwrap_or_else(|| "?".into()),
        s("device_name").unwrap_or_else(|| "?".into())
    );
    match s("device").as_deref() {
        Some("cpu") => {
            if let Some(t) = m["threads"].as_u64() {
                line += &format!(" (CPU, {t} threads)");
            }
        }
        Some(dev) => {
            line += &format!(" ({dev}");
            if let Some(c) = s("cuda") {
                line += &format!(" {c}");
            }
            if let Some(d) = s("driver") {
                line += &format!(", driver {d}");
            }
            line += ", TF32 off; TF32 on in its own column)";
        }
        None => {}
    }
    format!("{line}, eager, via {}", b.python.display())
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// The table: name, shape, ours, PyTorch (and PyTorch with TF32 when any row has it),
/// unit, ratio, device.
pub fn print(rows: &[Row], adapter: &Adapter, outcome: &Outcome) {
    println!("\nadapter: {}", adapter.device());
    println!("{}", describe(outcome));
    let ran = matches!(outcome, Outcome::Ran(_));
    if ran {
        println!("{RATIO}");
    }
    let tf32 = rows.iter().any(|r| r.torch_tf32_value.is_some());
    let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let s = rows.iter().map(|r| r.shape.len()).max().unwrap_or(5).max(5);
    let mut head = format!("{:<w$}  {:<s$}  {:>10}", "name", "shape", "ours");
    if ran {
        head += &format!("  {:>10}", "PyTorch");
    }
    if tf32 {
        head += &format!("  {:>12}", "PyTorch TF32");
    }
    head += &format!("  {:<8}", "unit");
    if ran {
        head += &format!("  {:>6}", "ratio");
    }
    println!("{head}  device");
    for r in rows {
        let mut line = format!("{:<w$}  {:<s$}  {:>10.2}", r.name, r.shape, r.value);
        if ran {
            line += &format!("  {:>10}", cell(r.torch_value));
        }
        if tf32 {
            line += &format!("  {:>12}", cell(r.torch_tf32_value));
        }
        line += &format!("  {:<8}", r.unit);
        if ran {
            line += &format!("  {:>6}", cell(r.ratio));
        }
        println!("{line}  {}", r.adapter);
    }
}
