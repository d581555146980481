//! `gan eval` end to end: JSON on a tiny ring8 run, the table on a tiny MNIST run, and
//! the errors for a directory without a run and for data it cannot score.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .expect("running gan")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let out = gan(args);
    assert!(out.status.success(), "gan {args:?} failed:\n{}", text(&out));
    out
}

fn fails(args: &[&str]) -> String {
    let out = gan(args);
    assert!(
        !out.status.success(),
        "gan {args:?} should fail:\n{}",
        text(&out)
    );
    text(&out)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

fn train(dataset: &str, dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        dataset,
        "--steps",
        "3",
        "--log-every",
        "3",
        "--no-progress",
        "--out",
        s(dir),
    ];
    args.extend_from_slice(extra);
    ok(&args);
}

#[test]
fn eval_json_on_a_ring8_run() {
    let dir = tmp().join("ring");
    train("ring8", &dir, &[]);
    let out = ok(&["eval", "--run", s(&dir), "--json", "--count", "400"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    assert_eq!(v["kind"], "toy");
    assert_eq!(v["dataset"], "ring8");
    assert_eq!(v["step"], 3);
    assert_eq!(v["count"], 400);
    let m = &v["modes"];
    for key in [
        "modes_captured",
        "high_quality_percent",
        "reverse_kl",
        "counts",
    ] {
        assert!(m.get(key).is_some(), "modes.{key} missing:\n{stdout}");
    }
    assert_eq!(m["modes"], 8);
    assert_eq!(m["samples"], 400);
    assert!(m["modes_captured"].as_u64().unwrap() <= 8);
    assert!(dir.join("eval/modes.png").is_file());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(saved["modes"], v["modes"]);
}

#[test]
fn eval_table_on_an_mnist_run() {
    let dir = tmp().join("mnist");
    train("mnist", &dir, &["--limit", "128", "--batch-size", "32"]);
    let out_file = dir.join("table.md");
    let out = ok(&[
        "eval",
        "--run",
        s(&dir),
        "--count",
        "200",
        "--out",
        s(&out_file),
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    for key in [
        "FD-LeNet, generated vs real test (N = 200 / 200)",
        "FD-LeNet floor",
        "classes covered",
        "KL divergence of the class histogram",
        "mean classifier confidence",
    ] {
        assert!(stdout.contains(key), "{key} missing:\n{stdout}");
    }
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), stdout);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(v["kind"], "mnist");
    assert!(v["mnist"]["fd_lenet"].as_f64().unwrap() > 0.0);
    assert_eq!(
        v["mnist"]["classes"]["histogram"].as_array().unwrap().len(),
        10
    );
}

#[test]
fn eval_errors_are_clear() {
    let empty = tmp();
    let msg = fails(&["eval", "--run", s(&empty)]);
    assert!(msg.contains("not a run directory"), "{msg}");
    let msg = fails(&["eval", "--run", s(&empty.join("missing"))]);
    assert!(msg.contains("no such run directory"), "{msg}");

    let dir = tmp().join("ring");
    train("ring8", &dir, &[]);
    let msg = fails(&["eval", "--run", s(&dir), "--count", "0"]);
    assert!(msg.contains("--count must be at least 1"), "{msg}");
    let msg = fails(&[
        "eval",
        "--run",
        s(&dir),
        "--classifier",
        "/nonexistent.safetensors",
    ]);
    assert!(msg.contains("no such file"), "{msg}");
}

/// `--eval-every 1` evaluates at every epoch end and at the last step: one history row
/// each, the latest metrics.json, a mode plot per evaluation, and a table in report.md;
/// the training numbers are those of a run without evaluations.
#[test]
fn evaluations_during_training_land_in_history_and_report() {
    let dir = tmp().join("ring-eval");
    let plain = tmp().join("ring-plain");
    // 4 batches per epoch: epochs end at steps 4 and 8, the run at step 10.
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "ring8",
            "--limit",
            "256",
            "--batch-size",
            "64",
            "--steps",
            "10",
            "--eval-count",
            "300",
            "--no-progress",
            "--out",
            s(out),
        ];
        args.extend_from_slice(extra);
        ok(&args);
    };
    run(&dir, &["--eval-every", "1"]);
    run(&plain, &[]);
    let history = std::fs::read_to_string(dir.join("eval/history.csv")).unwrap();
    let steps: Vec<&str> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(steps, ["4", "8", "10"], "{history}");
    assert!(
        history.starts_with("step,epoch,modes_captured,"),
        "{history}"
    );
    assert!(dir.join("eval/modes-step-00000008.png").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        (json["step"].as_u64(), json["count"].as_u64()),
        (Some(10), Some(300))
    );
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("Evaluations during training"), "{report}");
    assert!(report.contains("| 8 | "), "{report}");
    let metrics = |d: &Path| std::fs::read_to_string(d.join("metrics.csv")).unwrap();
    let cut = |t: String| -> Vec<String> {
        // Drop the elapsed-time column: the rest must be identical.
        t.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(cut(metrics(&dir)), cut(metrics(&plain)));
}
