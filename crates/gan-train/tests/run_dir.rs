//! What a run directory holds, and using it: generate, discriminate, clear errors.

mod common;

use common::{mnist_tiny, ring8};
use gan_tensor::Context;
use gan_train::{discriminate, generate, read_latest, Prior, TrainError, Trainer};

#[test]
fn run_directory_files() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let mut cfg = mnist_tiny(&dir, 10);
    cfg.log_every = 4;
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train().unwrap();
    for f in [
        "config.toml",
        "metrics.csv",
        "latest.toml",
        "report.md",
        "plots/losses.png",
        "plots/d_outputs.png",
        "samples/epoch-0001.png",
        "samples/final.png",
        "checkpoints/step-00000010/g.safetensors",
        "checkpoints/step-00000010/d.optim.safetensors",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // Only the latest checkpoint is kept (the epoch-end one at step 8 was pruned).
    assert_eq!(
        std::fs::read_dir(dir.join("checkpoints")).unwrap().count(),
        1
    );
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    for key in [
        "lr_g = 0.0002",
        "beta1 = 0.5",
        "g_hidden = [32]",
        "adapter = ",
        "crate_version",
        "items:    256",
        "config_hash",
    ] {
        assert!(config.contains(key), "config.toml lacks {key}:\n{config}");
    }
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "step,epoch,d_loss,g_loss,d_real,d_fake,value,elapsed"
    );
    // step 1, 4, 8 (log_every, also the epoch end), 10 (last)
    let steps: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(steps, ["1", "4", "8", "10"]);
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("samples/final.png") && report.contains("plots/losses.png"));
    assert!(report.contains("| latent_dim | 8 |"), "{report}");
    // No temporary files are left behind.
    for e in walk(&dir) {
        let name = e.file_name().unwrap().to_string_lossy().to_string();
        assert!(!name.contains("tmp"), "leftover {name}");
    }
    let img = image::open(dir.join("samples/final.png")).unwrap();
    assert!(img.width() > 4 * 28 && img.height() > 4 * 28);

    // generate: from the checkpoint, reproducible by seed, both priors.
    let a = generate(&ctx, &dir, 5, 11, None).unwrap();
    assert_eq!((a.count, a.values.len()), (5, 5 * 784));
    assert!(a.values.iter().all(|v| (-1.0..=1.0).contains(v)));
    assert_eq!(a, generate(&ctx, &dir, 5, 11, None).unwrap());
    assert_ne!(a, generate(&ctx, &dir, 5, 12, None).unwrap());
    let u = generate(&ctx, &dir, 300, 1, Some(Prior::Uniform)).unwrap();
    assert_eq!(u.values.len(), 300 * 784);
    // discriminate: probabilities, one per item.
    let d = discriminate(&ctx, &dir, &a.values).unwrap();
    assert_eq!(d.len(), 5);
    assert!(d.iter().all(|p| (0.0..=1.0).contains(p)), "{d:?}");
    let e = discriminate(&ctx, &dir, &a.values[..100]).unwrap_err();
    assert!(e.to_string().contains("whole items"), "{e}");

    // Errors: no run, corrupt checkpoint.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = generate(&ctx, &empty, 1, 0, None).unwrap_err();
    assert!(matches!(e, TrainError::NoCheckpoint(_)), "{e}");
    let ck = dir
        .join(read_latest(&dir).unwrap().checkpoint)
        .join("g.safetensors");
    std::fs::write(&ck, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    let e = generate(&ctx, &dir, 1, 0, None).unwrap_err();
    assert!(matches!(e, TrainError::CorruptCheckpoint { .. }), "{e}");
    assert!(e.to_string().contains("g.safetensors"), "{e}");
    std::fs::remove_file(&ck).unwrap();
    let e = discriminate(&ctx, &dir, &a.values).unwrap_err();
    assert!(e.to_string().contains("g.safetensors"), "{e}");
    std::fs::write(dir.join("latest.toml"), "step = \"x\"").unwrap();
    let e = generate(&ctx, &dir, 1, 0, None).unwrap_err();
    assert!(matches!(e, TrainError::CorruptCheckpoint { .. }), "{e}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn toy_run_writes_scatter_plots_and_points() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("toy");
    let mut cfg = ring8(&dir, 20);
    cfg.batch_size = 64; // 8 batches per epoch of 512 points
    cfg.log_every = 10;
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train().unwrap();
    assert!(dir.join("samples/epoch-0002.png").is_file());
    let img = image::open(dir.join("samples/final.png")).unwrap();
    assert_eq!((img.width(), img.height()), (512, 512));
    let g = generate(&ctx, &dir, 10, 0, None).unwrap();
    assert_eq!((g.values.len(), g.shape.channels), (20, 2));
    // Points are not squashed by tanh: just finite.
    assert!(g.values.iter().all(|v| v.is_finite()));
    assert_eq!(discriminate(&ctx, &dir, &g.values).unwrap().len(), 10);
}
