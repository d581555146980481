//! The `gan` binary end to end on tiny runs: train, resume, generate, discriminate, and
//! the errors a user sees for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn gan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .expect("running gan")
}

fn ok(args: &[&str]) -> String {
    let out = gan(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "gan {args:?} failed:\n{text}");
    text
}

fn fails(args: &[&str]) -> String {
    let out = gan(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "gan {args:?} should fail:\n{text}");
    text
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

/// A 5-step MLP run on 256 MNIST images, shared by the tests that only read it.
fn mnist_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tmp().join("run");
        let text = ok(&[
            "train",
            "mnist",
            "--limit",
            "256",
            "--steps",
            "5",
            "--batch-size",
            "64",
            "--log-every",
            "5",
            "--no-progress",
            "--out",
            s(&dir),
        ]);
        assert!(text.contains("final metrics (step 5"), "{text}");
        assert!(text.contains("report.md"), "{text}");
        dir
    })
}

/// A 20-step ring8 run in its own directory.
fn ring_run(steps: &str) -> PathBuf {
    let dir = tmp().join("ring");
    let text = ok(&[
        "train",
        "ring8",
        "--steps",
        steps,
        "--log-every",
        "10",
        "--no-progress",
        "--out",
        s(&dir),
    ]);
    assert!(text.contains("toy defaults applied"), "{text}");
    dir
}

#[test]
fn bad_names_explain() {
    let t = fails(&["train", "celeba", "--steps", "1"]);
    assert!(t.contains("unknown dataset") && t.contains("ring8"), "{t}");
    let t = fails(&["train", "--arch", "resnet", "--steps", "1"]);
    assert!(t.contains("resnet") && t.contains("dcgan"), "{t}");
    let t = fails(&["train", "stacked-mnist:/tmp", "--steps", "1"]);
    assert!(t.contains("no directory") && t.contains("limit"), "{t}");
    let t = fails(&["train", "idx", "--steps", "1"]);
    assert!(t.contains("idx:DIR"), "{t}");
    let t = fails(&["train", "ring8", "--arch", "dcgan"]);
    assert!(t.contains("mlp"), "{t}");
}

#[test]
fn config_file_and_flags() {
    let dir = tmp();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "dataset = \"ring8\"\nlr_g = 5e-4\nsteps = 3\nseed = 7\n",
    )
    .unwrap();
    let out = dir.join("run");
    let t = ok(&[
        "train",
        "--config",
        s(&file),
        "--seed",
        "9",
        "--no-progress",
        "--out",
        s(&out),
    ]);
    // lr_g from the file, lr_d and dropout from the toy defaults, seed from the flag.
    let cfg = gan_train::read_config(&out).unwrap();
    assert_eq!(
        (cfg.lr_g, cfg.lr_d, cfg.dropout, cfg.seed),
        (Some(5e-4), Some(1e-3), Some(0.0), 9)
    );
    assert!(
        t.contains("lr_d = 1e-3") && !t.contains("lr_g = 1e-3"),
        "{t}"
    );
    let t = fails(&["train", "--config", s(&dir.join("missing.toml"))]);
    assert!(t.contains("missing.toml"), "{t}");
}

#[test]
fn resume_continues_and_refuses_other_configs() {
    let dir = ring_run("10");
    let t = fails(&["train", "ring8", "--steps", "10", "--out", s(&dir)]);
    assert!(t.contains("--resume"), "{t}");
    let t = fails(&["train", "--resume", s(&dir), "--lr-g", "0.5"]);
    assert!(
        t.contains("another configuration") && t.contains("lr_g"),
        "{t}"
    );
    let t = ok(&[
        "train",
        "--resume",
        s(&dir),
        "--steps",
        "20",
        "--no-progress",
    ]);
    assert!(t.contains("resuming") && t.contains("step 20"), "{t}");
    assert_eq!(gan_train::read_latest(&dir).unwrap().step, 20);
    // Toy runs generate points.
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(&dir),
        "--count",
        "5",
        "--out",
        s(&out),
    ]);
    let pts = std::fs::read_to_string(out.join("points.csv")).unwrap();
    assert_eq!(pts.lines().count(), 6);
}

#[test]
fn generate_idx_loads_back_with_gan_data() {
    let run = mnist_run();
    let out = tmp();
    let t = ok(&[
        "generate",
        "--run",
        s(run),
        "--count",
        "10",
        "--out",
        s(&out),
        "--format",
        "idx",
        "--seed",
        "3",
    ]);
    assert!(t.contains("manifest"), "{t}");
    let data = gan_data::idx::load_files(&out.join(gan_cli::generate::IDX_FILE), None).unwrap();
    assert_eq!(data.len(), 10);
    assert_eq!(data.shape(), gan_data::ImageShape::new(1, 28, 28));
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert_eq!(manifest.lines().count(), 11);
    assert!(
        manifest.lines().nth(4).unwrap().ends_with(",3,normal,3,1"),
        "{manifest}"
    );
}

#[test]
fn generate_truncation_is_recorded_and_checked_and_lerp_is_offered() {
    let run = mnist_run();
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(run),
        "--count",
        "3",
        "--out",
        s(&out),
        "--truncation",
        "0.5",
    ]);
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(manifest.starts_with("file,seed,prior,latent_index,truncation\n"));
    assert!(
        manifest
            .lines()
            .nth(3)
            .unwrap()
            .ends_with(",0,normal,2,0.5"),
        "{manifest}"
    );
    for bad in ["0", "1.5", "-0.3", "NaN"] {
        let t = fails(&[
            "generate",
            "--run",
            s(run),
            "--out",
            s(&tmp()),
            "--truncation",
            bad,
        ]);
        assert!(
            t.contains("--truncation") && t.contains("(0, 1]"),
            "{bad}: {t}"
        );
    }
    // Interpolation: spherical for the run's normal prior, linear with --lerp.
    let t = ok(&[
        "generate",
        "--run",
        s(run),
        "--out",
        s(&tmp()),
        "--interpolate",
        "3",
    ]);
    assert!(t.contains("spherical interpolation"), "{t}");
    let t = ok(&[
        "generate",
        "--run",
        s(run),
        "--out",
        s(&tmp()),
        "--interpolate",
        "3",
        "--lerp",
        "--truncation",
        "0.7",
    ]);
    assert!(
        t.contains("linear interpolation") && t.contains("--truncation 0.7"),
        "{t}"
    );
    let help = ok(&["generate", "--help"]);
    assert!(
        help.contains("slerp") && help.contains("towards the prior's mean"),
        "{help}"
    );
}

#[test]
fn generate_pngs_grid_and_interpolation() {
    let run = mnist_run();
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(run),
        "--count",
        "4",
        "--out",
        s(&out),
        "--grid",
    ]);
    for f in ["gen-00000.png", "gen-00003.png", "grid.png", "manifest.csv"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(run),
        "--out",
        s(&out),
        "--interpolate",
        "5",
    ]);
    assert!(out.join("interpolation.png").exists());
    assert!(out.join("interp-00004.png").exists());
}

#[test]
fn discriminate_writes_csv_and_summary() {
    let run = mnist_run();
    let csv = tmp().join("d.csv");
    let t = ok(&[
        "discriminate",
        "--run",
        s(run),
        "--images",
        "mnist-test",
        "--limit",
        "32",
        "--out",
        s(&csv),
    ]);
    assert!(
        t.contains("mean D(x): real") && t.contains("[0.9, 1.0]"),
        "{t}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(rows.lines().count(), 65);
    assert!(rows.contains(",generated,"));
    let t = fails(&["discriminate", "--run", s(run), "--images", "/no/such/dir"]);
    assert!(t.contains("/no/such/dir"), "{t}");
}

#[test]
fn missing_and_corrupt_checkpoints_explain() {
    let run = mnist_run();
    // A run directory with its config but no checkpoint.
    let bare = tmp();
    std::fs::copy(run.join("config.toml"), bare.join("config.toml")).unwrap();
    let out = tmp();
    let t = fails(&["generate", "--run", s(&bare), "--out", s(&out)]);
    assert!(t.contains("no checkpoint"), "{t}");
    let t = fails(&["generate", "--run", s(&tmp()), "--out", s(&out)]);
    assert!(t.contains("config.toml"), "{t}");
    // A copy whose generator weights are garbage.
    let bad = tmp();
    copy_dir(run, &bad);
    let latest = gan_train::read_latest(&bad).unwrap();
    std::fs::write(bad.join(&latest.checkpoint).join("g.safetensors"), b"junk").unwrap();
    let t = fails(&["generate", "--run", s(&bad), "--out", s(&out)]);
    assert!(t.contains("corrupt"), "{t}");
    let t = fails(&[
        "generate",
        "--run",
        s(&bad),
        "--out",
        s(&out),
        "--interpolate",
        "3",
    ]);
    assert!(t.contains("corrupt"), "{t}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

/// Stacked MNIST trains: 3-channel 28x28 items drawn from the vendored MNIST, a colour
/// sample grid, and D judges generated 3-channel images.
#[test]
fn stacked_mnist_trains_with_dcgan() {
    let dir = tmp().join("stacked");
    let t = ok(&[
        "train",
        "stacked-mnist",
        "--arch",
        "dcgan",
        "--limit",
        "128",
        "--steps",
        "2",
        "--batch-size",
        "32",
        "--log-every",
        "1",
        "--no-progress",
        "--out",
        s(&dir),
    ]);
    assert!(t.contains("final metrics (step 2"), "{t}");
    let cfg = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(cfg.contains("dataset = \"stacked-mnist\""), "{cfg}");
    let grid = image::open(dir.join("samples/final.png")).unwrap();
    assert_eq!(grid.color().channel_count(), 3, "a colour grid");
    let out = tmp().join("gen");
    ok(&[
        "generate",
        "--run",
        s(&dir),
        "--count",
        "4",
        "--format",
        "idx",
        "--out",
        s(&out),
    ]);
}

/// With --keep-checkpoints every checkpoint stays, and `discriminate --all-steps` judges
/// with each; `--step` picks one and names the kept steps when asked for a missing one.
#[test]
fn discriminate_at_every_kept_checkpoint() {
    let dir = tmp().join("kept");
    ok(&[
        "train",
        "mnist",
        "--limit",
        "256",
        "--steps",
        "6",
        "--batch-size",
        "32",
        "--checkpoint-every",
        "2",
        "--keep-checkpoints",
        "--no-progress",
        "--out",
        s(&dir),
    ]);
    let csv = tmp().join("gap.csv");
    let t = ok(&[
        "discriminate",
        "--run",
        s(&dir),
        "--images",
        "mnist-test",
        "--limit",
        "16",
        "--all-steps",
        "--out",
        s(&csv),
    ]);
    assert!(t.contains("at each of 3 checkpoints"), "{t}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    let steps: Vec<&str> = rows
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(steps, ["2", "4", "6"], "{rows}");
    let t = ok(&[
        "discriminate",
        "--run",
        s(&dir),
        "--images",
        "mnist-test",
        "--limit",
        "16",
        "--step",
        "4",
    ]);
    assert!(t.contains("mean D(x): real"), "{t}");
    let t = fails(&[
        "discriminate",
        "--run",
        s(&dir),
        "--images",
        "mnist-test",
        "--step",
        "3",
    ]);
    assert!(
        t.contains("no checkpoint of step 3") && t.contains("[2, 4, 6]"),
        "{t}"
    );
}
