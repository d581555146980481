//! `--ema-decay` end to end: a ring8 run with G_ema, `gan generate` with and without
//! `--no-ema`, `gan eval` reporting both generators, and the training evaluations.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .expect("running gan");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gan {args:?} failed:\n{text}");
    text
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

#[test]
fn ema_run_generates_and_evaluates_both_generators() {
    let run = tmp().join("ring");
    ok(&[
        "train",
        "ring8",
        "--steps",
        "20",
        "--ema-decay",
        "0.9",
        "--eval-every",
        "1",
        "--eval-count",
        "200",
        "--log-every",
        "10",
        "--no-progress",
        "--out",
        s(&run),
    ]);
    let latest = gan_train::read_latest(&run).unwrap();
    assert!(run
        .join(&latest.checkpoint)
        .join("gen_ema.safetensors")
        .is_file());
    // Evaluations during training name both generators.
    let history = std::fs::read_to_string(run.join("eval/history.csv")).unwrap();
    let header = history.lines().next().unwrap();
    assert!(
        header.contains(",modes_captured,") && header.contains(",raw_modes_captured"),
        "{header}"
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("G_ema"), "{report}");

    // generate: G_ema by default, the raw G with --no-ema; the two differ.
    let points = |extra: &[&str]| {
        let out = tmp();
        let mut args = vec![
            "generate",
            "--run",
            s(&run),
            "--count",
            "16",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        ok(&args);
        std::fs::read_to_string(out.join("points.csv")).unwrap()
    };
    let (ema, raw) = (points(&[]), points(&["--no-ema"]));
    assert_eq!(ema, points(&[]), "generate is deterministic");
    assert_ne!(ema, raw, "--no-ema must give the raw G's points");

    // eval: both score sets by default, the raw G alone with --no-ema.
    let both = ok(&["eval", "--run", s(&run), "--count", "200", "--json"]);
    assert!(
        both.contains("\"ema\": true") && both.contains("\"raw_scores\""),
        "{both}"
    );
    let table = ok(&["eval", "--run", s(&run), "--count", "200"]);
    assert!(table.contains("| metric | G_ema | raw G |"), "{table}");
    let raw_only = ok(&[
        "eval",
        "--run",
        s(&run),
        "--count",
        "200",
        "--json",
        "--no-ema",
    ]);
    assert!(
        raw_only.contains("\"ema\": false") && !raw_only.contains("raw_scores"),
        "{raw_only}"
    );
}
