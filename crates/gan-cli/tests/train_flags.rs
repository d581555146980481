//! `gan train`'s flags without training (no GPU): help shows the defaults of
//! `gan_train::Config::default()`, and flags win over `--config`, which wins over the
//! defaults.

use std::process::Command;

use clap::{Args, FromArgMatches};
use gan_cli::train::{build_config, TrainArgs};
use gan_train::Config;

fn args(flags: &[&str]) -> TrainArgs {
    let cmd = TrainArgs::augment_args(clap::Command::new("gan train"));
    let m = cmd
        .try_get_matches_from(std::iter::once("gan train").chain(flags.iter().copied()))
        .unwrap();
    TrainArgs::from_arg_matches(&m).unwrap()
}

/// The help text of one option of `gan train --help`: its line and those below it, up to
/// the next option.
fn help_of(help: &str, flag: &str) -> String {
    let lines: Vec<&str> = help.lines().collect();
    let is_option = |l: &str| l.starts_with("      --") || l.starts_with("  -h");
    let start = lines
        .iter()
        .position(|l| is_option(l) && l.trim_start().split(' ').next() == Some(flag))
        .unwrap_or_else(|| panic!("{flag} missing:\n{help}"));
    let end = (start + 1..lines.len())
        .find(|&i| is_option(lines[i]))
        .unwrap_or(lines.len());
    lines[start..end].join("\n")
}

#[test]
fn help_shows_the_config_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["train", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    let d = Config::default();
    let b = help_of(&help, "--batch-size");
    assert!(b.contains(&format!("[default: {}]", d.batch_size)), "{b}");
    assert!(
        b.contains("items per discriminator step"),
        "the field's doc: {b}"
    );
    let s = help_of(&help, "--steps");
    assert!(s.contains(&format!("[default: {}]", d.steps)), "{s}");
    let lr = help_of(&help, "--lr-g");
    assert!(
        lr.contains("[default: 0.0002; 2-D toy data: 0.001]"),
        "{lr}"
    );
    let o = help_of(&help, "--out");
    assert!(
        o.contains("runs/<dataset>-<arch>-<seed>") && !o.contains("runs/gan"),
        "{o}"
    );
    for flag in [
        "--config",
        "--resume",
        "--no-progress",
        "--keep-checkpoints",
        "--g-hidden",
        "--k",
        "--eval-every",
        "--eval-count",
        "--latent-dim",
        "--label-smoothing",
    ] {
        help_of(&help, flag);
    }
    // `cargo xtask train --help` goes through the same parser.
    gan_cli::train::run_from_args(&["--help".to_string()]).unwrap();
}

#[test]
fn flags_win_over_the_file_which_wins_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "batch_size = 64\nseed = 7\nlatent_dim = 8\nsteps = 30\nout_dir = \"from-file\"\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (c, notes) = build_config(&args(&["--config", f, "--seed", "9"]), None).unwrap();
    assert_eq!((c.seed, c.batch_size, c.latent_dim), (9, 64, 8));
    assert_eq!(
        (c.k, c.beta1),
        (1, 0.5),
        "defaults where neither sets a key"
    );
    assert_eq!(c.out_dir.to_str(), Some("from-file"));
    assert!(notes.is_empty(), "{notes:?}");
    // A flag given at its default value still overrides the file.
    let (c, _) = build_config(&args(&["--config", f, "--batch-size", "128"]), None).unwrap();
    assert_eq!(c.batch_size, 128);
    // --epochs alone means epochs: steps goes to 0; with --steps both are kept.
    let (c, _) = build_config(&args(&["--config", f, "--epochs", "2"]), None).unwrap();
    assert_eq!((c.epochs, c.steps), (2, 0));
    let (c, _) = build_config(&args(&["--epochs", "2", "--steps", "5"]), None).unwrap();
    assert_eq!((c.epochs, c.steps), (2, 5));
    // No file, no --out: the run directory is named after the run.
    let (c, _) = build_config(&args(&["grid25", "--seed", "3"]), None).unwrap();
    assert_eq!(c.out_dir.to_str(), Some("runs/grid25-mlp-3"));
    let (c, _) = build_config(&args(&["--out", "o", "--g-hidden", "4,5"]), None).unwrap();
    assert_eq!(
        (c.out_dir.to_str(), c.g_hidden.clone()),
        (Some("o"), vec![4, 5])
    );
}

#[test]
fn toy_defaults_are_noted_and_left_to_the_library() {
    let (c, notes) = build_config(&args(&["ring8", "--lr-g", "5e-4"]), None).unwrap();
    assert_eq!((c.lr_g, c.lr_d, c.dropout), (Some(5e-4), None, None));
    assert_eq!((c.lr_g(), c.lr_d(), c.dropout()), (5e-4, 1e-3, 0.0));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("lr_d = 1e-3, dropout = 0") && !notes[0].contains("lr_g"),
        "{notes:?}"
    );
    // Images: nothing to note.
    let (c, notes) = build_config(&args(&["mnist"]), None).unwrap();
    assert!(notes.is_empty() && c.lr_g.is_none() && c.lr_g() == 2e-4);
    // Resuming: the saved config's numbers, flags on top, no note.
    let saved = Config {
        dataset: "ring8".into(),
        ..Config::default()
    }
    .resolved()
    .unwrap();
    let (c, notes) = build_config(&args(&["--resume", "r", "--steps", "9"]), Some(saved)).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        (c.steps, c.lr_g, c.out_dir.to_str()),
        (9, Some(1e-3), Some("r"))
    );
}

/// A `gan` built without the `distributed` feature refuses `--distributed` with how to
/// get one, before opening anything.
#[cfg(not(feature = "distributed"))]
#[test]
fn distributed_without_the_feature_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["train", "ring8", "--steps", "1", "--distributed", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without MPI support") && err.contains("--features distributed"),
        "{err}"
    );
    assert!(!dir.path().join("run").exists(), "nothing written");
}

/// `--micro-batches` is a config key like the others, written to config.toml only when
/// it is not 1 (runs recorded before it existed keep their hash).
#[test]
fn micro_batches_flag_sets_the_config_key() {
    let (cfg, _) = build_config(&args(&["ring8", "--micro-batches", "4"]), None).unwrap();
    assert_eq!(cfg.micro_batches, 4);
    let (one, _) = build_config(&args(&["ring8"]), None).unwrap();
    assert_eq!(one.micro_batches, 1);
    assert!(!one.to_table().contains_key("micro_batches"));
    assert_ne!(cfg.numeric_hash(), one.numeric_hash());
    let e = build_config(&args(&["ring8", "--micro-batches", "3"]), None).unwrap_err();
    assert!(e.to_string().contains("micro_batches = 3"), "{e}");
}

#[test]
fn a_preset_sets_the_protocol_and_flags_override_it() {
    let (cfg, notes) =
        build_config(&args(&["ring8", "--preset", "pacgan", "--pack", "2"]), None).unwrap();
    assert_eq!(
        (cfg.dataset.as_str(), cfg.pack, cfg.batch_size),
        ("ring8", 2, 200)
    );
    assert_eq!((cfg.lr_g, cfg.beta1, cfg.d_maxout), (Some(1e-4), 0.8, 5));
    assert!(
        notes.iter().any(|n| n.contains("100 packs of 2")),
        "{notes:?}"
    );
    let (cfg, _) = build_config(
        &args(&[
            "grid25",
            "--preset",
            "pacgan",
            "--batch-size",
            "60",
            "--lr-g",
            "3e-4",
        ]),
        None,
    )
    .unwrap();
    assert_eq!((cfg.batch_size, cfg.lr_g), (60, Some(3e-4)));
    // The preset is the same file --config reads.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../recipes/pacgan.toml");
    let (from_file, _) = build_config(
        &args(&["ring8", "--config", root.to_str().unwrap(), "--pack", "2"]),
        None,
    )
    .unwrap();
    let (from_preset, _) =
        build_config(&args(&["ring8", "--preset", "pacgan", "--pack", "2"]), None).unwrap();
    assert_eq!(from_file, from_preset);
}

#[test]
fn bad_presets_say_what_to_do() {
    let e = build_config(&args(&["mnist", "--preset", "pacgan"]), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ring8, grid25") && e.contains("gan train ring8"),
        "{e}"
    );
    let e = build_config(&args(&["ring8", "--preset", "pacgn"]), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown preset `pacgn`") && e.contains("pacgan"),
        "{e}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["train", "ring8", "--preset", "pacgan", "--config", "x.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--preset") && err.contains("--config"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(["train", "--preset", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("pacgan") && list.contains("default"),
        "{list}"
    );
}
