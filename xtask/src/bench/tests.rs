//! The bench summary's logic without running anything: criterion's rows, baseline.py's
//! JSON, the join on (name, shape), the ratio, the device and the Python found.

use std::path::Path;

use super::table::{self, join, name_matches, ratio};
use super::torch::{self, baseline_args, find_python, parse_baseline, Outcome, TorchRow};
use super::{criterion_row, Adapter, Row};

const LLVMPIPE: &str = "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)";
const H100: &str = "NVIDIA H100 80GB HBM3 (Vulkan, DiscreteGpu)";

fn row(name: &str, shape: &str, value: f64, unit: &str) -> Row {
    Row {
        name: name.into(),
        shape: shape.into(),
        value,
        unit: unit.into(),
        adapter: LLVMPIPE.into(),
        torch_value: None,
        torch_tf32_value: None,
        ratio: None,
    }
}

fn trow(name: &str, shape: &str, value: f64, unit: &str) -> TorchRow {
    TorchRow {
        name: name.into(),
        shape: shape.into(),
        value,
        unit: unit.into(),
    }
}

const BASELINE: &str = r#"{
 "meta": {"torch": "2.15.0+cu132", "device": "cpu", "device_name": "Intel(R) Xeon(R)",
          "threads": 2, "cores": 2},
 "rows": [
  {"name": "matmul/*", "shape": "1024x1024x1024", "value": 80.5, "unit": "GFLOP/s"},
  {"name": "matmul/*/tf32", "shape": "1024x1024x1024", "value": 161.0, "unit": "GFLOP/s"},
  {"name": "train_step/mlp", "shape": "64", "value": 980.0, "unit": "images/s"},
  {"name": "train_step/dcgan", "shape": "64", "value": 185.0, "unit": "images/s"},
  {"name": "conv2d/forward", "shape": "64x1x28x28->64x14x14_k4s2p1", "value": 1.5,
   "unit": "GB/s"}
 ]
}"#;

#[test]
fn baseline_json_parses_as_an_object_or_a_bare_list() {
    let (meta, rows) = parse_baseline(BASELINE).unwrap();
    assert_eq!(meta["threads"], 2);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0], trow("matmul/*", "1024x1024x1024", 80.5, "GFLOP/s"));
    let (meta, rows) =
        parse_baseline(r#"[{"name": "bce/sum", "shape": "256", "value": 1, "unit": "GB/s"}]"#)
            .unwrap();
    assert!(meta.is_null());
    assert_eq!(rows, vec![trow("bce/sum", "256", 1.0, "GB/s")]);
    assert!(parse_baseline("# PyTorch 2.15 on a CPU\nname | shape").is_err());
    assert!(parse_baseline(r#"{"meta": {}}"#).is_err());
    assert!(parse_baseline(r#"[{"name": "x", "shape": "1"}]"#).is_err());
}

#[test]
fn join_matches_name_and_shape_and_computes_the_ratio() {
    let (_, torch) = parse_baseline(BASELINE).unwrap();
    let mut rows = vec![
        row("matmul/regblock", "1024x1024x1024", 161.0, "GFLOP/s"),
        row("matmul/tiled", "1024x1024x1024", 40.25, "GFLOP/s"),
        row("matmul/regblock", "2048x2048x2048", 100.0, "GFLOP/s"),
        row(
            "matmul_cpu/matrixmultiply_sgemm",
            "1024x1024x1024",
            50.0,
            "GFLOP/s",
        ),
        row("train_step/mlp", "64", 490.0, "images/s"),
        row("train_step/mlp", "256", 900.0, "images/s"),
        // A unit that disagrees does not join.
        row(
            "conv2d/forward",
            "64x1x28x28->64x14x14_k4s2p1",
            3.0,
            "GFLOP/s",
        ),
    ];
    join(&mut rows, &torch);
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.torch_value, r.torch_tf32_value, r.ratio))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(80.5), Some(161.0), Some(2.0)),
            (Some(80.5), Some(161.0), Some(0.5)),
            (None, None, None),
            (None, None, None),
            (Some(980.0), None, Some(0.5)),
            (None, None, None),
            (None, None, None),
        ]
    );
    // The summary's rows carry nulls where PyTorch has no figure.
    let json = serde_json::to_value(&rows[2]).unwrap();
    assert!(json["torch_value"].is_null() && json["ratio"].is_null());
    assert_eq!(serde_json::to_value(&rows[0]).unwrap()["ratio"], 2.0);
}

#[test]
fn names_match_exactly_or_by_group_wildcard() {
    assert!(name_matches("train_step/mlp", "train_step/mlp"));
    assert!(!name_matches("train_step/mlp", "train_step/dcgan"));
    assert!(name_matches("matmul/*", "matmul/subgroup"));
    assert!(!name_matches("matmul/*", "matmul_gan/forward_bias_relu"));
    assert!(!name_matches("matmul/*", "matmul"));
    assert!(!name_matches("matmul/*", "matmul/a/b"));
}

#[test]
fn ratio_is_their_time_over_ours() {
    assert_eq!(ratio(200.0, 100.0, "GFLOP/s"), Some(2.0));
    assert_eq!(ratio(50.0, 100.0, "images/s"), Some(0.5));
    assert_eq!(ratio(2.0, 1.0, "ms"), Some(0.5)); // we take twice as long
    assert_eq!(ratio(0.0, 1.0, "GB/s"), None);
    assert_eq!(ratio(1.0, f64::NAN, "GB/s"), None);
}

#[test]
fn adapter_file_gives_the_device_and_whether_it_is_a_cpu() {
    let a = Adapter::parse(&format!("{LLVMPIPE}\ndriver: llvmpipe Mesa 22.3.6\n"));
    assert_eq!(a.label, LLVMPIPE);
    assert_eq!(a.driver.as_deref(), Some("llvmpipe Mesa 22.3.6"));
    assert_eq!(
        a.device(),
        format!("{LLVMPIPE}, driver llvmpipe Mesa 22.3.6")
    );
    assert!(a.is_cpu());
    let gpu = Adapter::parse(&format!("{H100}\n"));
    assert_eq!((gpu.device(), gpu.is_cpu()), (H100.to_string(), false));
    assert!(Adapter::parse("SwiftShader Device (Subzero) (Vulkan, Other)").is_cpu());
    assert!(Adapter::parse("Some software rasterizer (Gl, Cpu)").is_cpu());
    assert_eq!(Adapter::parse("").label, "unknown adapter");
}

#[test]
fn baseline_runs_on_the_device_of_our_adapter_for_the_rows_we_ran() {
    let rows = vec![
        row("matmul/regblock", "1024x1024x1024", 1.0, "GFLOP/s"),
        row(
            "matmul_cpu/matrixmultiply_sgemm",
            "1024x1024x1024",
            1.0,
            "GFLOP/s",
        ),
        row("train_step/mlp", "64", 1.0, "images/s"),
    ];
    let cpu = Adapter::parse(LLVMPIPE);
    assert_eq!(
        baseline_args(&cpu, &rows, true, 2).unwrap(),
        [
            "--json",
            "--device",
            "cpu",
            "--threads",
            "2",
            "--quick",
            "--only",
            "matmul/regblock/1024x1024x1024",
            "train_step/mlp/64"
        ]
    );
    let args = baseline_args(&Adapter::parse(H100), &rows, false, 16).unwrap();
    assert_eq!(args[..4], ["--json", "--device", "cuda", "--only"]);
    assert_eq!(baseline_args(&cpu, &rows[1..2], false, 2), None);
}

#[test]
fn python_is_the_env_variable_then_the_venv() {
    let dir = std::env::temp_dir().join(format!("xtask-bench-py-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(find_python(&dir, None), None);
    assert_eq!(find_python(&dir, Some("".into())), None);
    let (p, how) = find_python(&dir, Some("/opt/py/bin/python3".into())).unwrap();
    assert_eq!(
        (p.as_path(), how.as_str()),
        (Path::new("/opt/py/bin/python3"), "GAN_BENCH_PYTHON")
    );
    std::fs::create_dir_all(dir.join(".bench-venv/bin")).unwrap();
    std::fs::write(dir.join(".bench-venv/bin/python"), "").unwrap();
    let (p, how) = find_python(&dir, None).unwrap();
    assert_eq!(
        (p, how.as_str()),
        (dir.join(".bench-venv/bin/python"), ".bench-venv")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn criterion_results_become_rows_in_their_units() {
    let bench = |group: &str, thr: serde_json::Value| {
        serde_json::json!({"group_id": group, "function_id": "f", "value_str": "64",
                           "throughput": thr})
    };
    let r = criterion_row(
        &bench("train_step", serde_json::json!({"Elements": 64})),
        1e6,
        "A",
    );
    assert_eq!(
        (r.name.as_str(), r.value, r.unit.as_str()),
        ("train_step/f", 64000.0, "images/s")
    );
    let r = criterion_row(
        &bench("matmul", serde_json::json!({"Elements": 2000})),
        1000.0,
        "A",
    );
    assert_eq!(
        (r.value, r.unit.as_str(), r.adapter.as_str()),
        (2.0, "GFLOP/s", "A")
    );
    let r = criterion_row(
        &bench("reduce", serde_json::json!({"Bytes": 4000})),
        1000.0,
        "A",
    );
    assert_eq!((r.value, r.unit.as_str()), (4.0, "GB/s"));
    let r = criterion_row(
        &bench("matmul_cpu", serde_json::json!({"Elements": 1})),
        1.0,
        "A",
    );
    assert!(r.adapter.starts_with("CPU ("), "{}", r.adapter);
    let r = criterion_row(&bench("x", serde_json::Value::Null), 2e6, "A");
    assert_eq!((r.value, r.unit.as_str()), (2.0, "ms"));
}

#[test]
fn the_header_names_pytorchs_device_or_why_it_did_not_run() {
    let (meta, rows) = parse_baseline(BASELINE).unwrap();
    let ran = Outcome::Ran(torch::Baseline {
        python: ".bench-venv/bin/python".into(),
        found_by: ".bench-venv".into(),
        args: vec![],
        meta,
        rows,
    });
    assert_eq!(
        table::describe(&ran),
        "PyTorch 2.15.0+cu132 on Intel(R) Xeon(R) (CPU, 2 threads), eager, via \
         .bench-venv/bin/python"
    );
    assert_eq!(ran.to_json()["meta"]["device"], "cpu");
    let skipped = Outcome::Skipped("--no-torch".into());
    assert_eq!(table::describe(&skipped), "PyTorch: not run, --no-torch");
    assert_eq!(skipped.to_json()["skipped"], "--no-torch");
}

/// The whole PyTorch path on this machine's `.bench-venv` (or `GAN_BENCH_PYTHON`), on the
/// CPU, for two quick rows: `cargo test -p xtask --bin xtask -- --ignored with_torch`.
#[test]
#[ignore = "needs a Python with torch (.bench-venv or GAN_BENCH_PYTHON); ~30 s"]
fn with_torch_baseline_runs_and_joins() {
    let root = super::workspace_root();
    let mut rows = vec![
        row("matmul/regblock", "256x256x256", 10.0, "GFLOP/s"),
        row("train_step/mlp", "64", 100.0, "images/s"),
        row(
            "matmul_cpu/matrixmultiply_sgemm",
            "256x256x256",
            10.0,
            "GFLOP/s",
        ),
    ];
    let adapter = Adapter::parse(LLVMPIPE);
    let outcome = torch::run_baseline(&root, &adapter, &rows, true);
    let Outcome::Ran(b) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(b.meta["device"], "cpu");
    join(&mut rows, &b.rows);
    table::print(&rows, &adapter, &outcome);
    assert!(rows[..2]
        .iter()
        .all(|r| r.torch_value.is_some() && r.ratio.is_some()));
    assert_eq!(rows[2].torch_value, None);
}
