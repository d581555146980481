//! `gan export --onnx` against `gan generate --latents`: the exported generator, run in
//! onnxruntime (tests/onnx_run.py) on the same latents, must make the same items within
//! 1e-4, in batches of N, 1 and 5 (the batch axis is dynamic). Runs: an MLP on MNIST,
//! a conditional DCGAN on MNIST (`class` input), and a ring8 MLP with BatchNorm1d,
//! spectral normalization and G_ema (exported by default, the raw G with --no-ema).
//!
//! The onnxruntime tests need a Python with onnxruntime and numpy: `GAN_ONNX_PYTHON`, or
//! `.ci/venv/bin/python` at the workspace root (`python3 -m venv .ci/venv &&
//! .ci/venv/bin/pip install onnxruntime numpy`); they are `#[ignore]`d so that
//! `cargo test --workspace` passes without it, and `.ci/run` runs them with
//! `-- --ignored`. The refusals below need no Python.

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

fn ok(args: &[&str]) -> String {
    let out = gan(args);
    let t = text(&out);
    assert!(out.status.success(), "gan {args:?} failed:\n{t}");
    t
}

fn fails(args: &[&str]) -> String {
    let out = gan(args);
    let t = text(&out);
    assert!(!out.status.success(), "gan {args:?} should fail:\n{t}");
    t
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

/// A tiny run of `gan train DATASET EXTRA...` in a fresh directory.
fn train(dataset: &str, extra: &[&str]) -> PathBuf {
    let run = tmp().join("run");
    let mut args = vec![
        "train",
        dataset,
        "--steps",
        "3",
        "--batch-size",
        "16",
        "--log-every",
        "1",
        "--no-progress",
        "--out",
        s(&run),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    run
}

/// `n` latents of `dim` values as a float32 .npy (deterministic, spread over [-2, 2]).
fn latents(dir: &Path, n: usize, dim: usize) -> PathBuf {
    let v: Vec<f32> = (0..n * dim)
        .map(|i| ((i * 7919 % 1000) as f32 / 250.0) - 2.0)
        .collect();
    let p = dir.join("z.npy");
    gan_data::write_npy_f32(&p, &v, &[n, dim]).unwrap();
    p
}

/// The Python with onnxruntime, or a failure that says how to install one.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = std::env::var_os("GAN_ONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci/venv/bin/python"));
    let works = Command::new(&py)
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        works,
        "{} cannot import onnxruntime and numpy; install them with `python3 -m venv .ci/venv \
         && .ci/venv/bin/pip install onnxruntime numpy` at the workspace root, or point \
         GAN_ONNX_PYTHON at a Python that has them",
        py.display()
    );
    py
}

/// `gan generate --latents` (G_ema unless `extra` says --no-ema) and `gan export` of the
/// same generator, the ONNX model run in onnxruntime; asserts every batching agrees with
/// generate within 1e-4 and returns the model's JSON description and generate's values.
fn compare(run: &Path, dim: usize, extra: &[&str], class: Option<u32>) -> (String, Vec<f32>) {
    let dir = tmp();
    let z = latents(&dir, 7, dim);
    let class_s = class.map(|c| c.to_string());
    let mut args = vec!["generate", "--run", s(run), "--latents", s(&z)];
    args.extend(["--format", "npy", "--out", s(&dir)]);
    if let Some(c) = &class_s {
        args.extend(["--class", c]);
    }
    args.extend_from_slice(extra);
    ok(&args);
    let want = gan_data::read_npy_f32(&dir.join("generated.npy")).unwrap();
    assert_eq!(want.shape[0], 7);
    let model = dir.join("g.onnx");
    let mut args = vec!["export", "--run", s(run), "--onnx", s(&model)];
    args.extend_from_slice(extra);
    let t = ok(&args);
    assert!(t.contains("batch dynamic"), "{t}");

    let mut cmd = Command::new(python());
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_run.py"));
    cmd.args([&model, &z, &dir]);
    if let Some(c) = &class_s {
        cmd.arg(c);
    }
    let out = cmd.output().expect("running python");
    let info = text(&out);
    assert!(out.status.success(), "onnx_run.py failed:\n{info}");
    for b in ["N", "1", "5"] {
        let got = gan_data::read_npy_f32(&dir.join(format!("onnx-b{b}.npy"))).unwrap();
        assert_eq!(got.shape, want.shape, "batch {b}");
        let worst = got
            .values
            .iter()
            .zip(&want.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-4, "batch {b}: max |onnx - gan| = {worst}");
    }
    (info, want.values)
}

#[test]
#[ignore = "needs onnxruntime: python3 -m venv .ci/venv && .ci/venv/bin/pip install onnxruntime numpy"]
fn mlp_on_mnist_matches_generate() {
    python();
    let run = train(
        "mnist",
        &["--limit", "256", "--g-hidden", "32", "--d-hidden", "32"],
    );
    let (info, values) = compare(&run, 100, &[], None);
    // A symbolic batch in and out, images [batch, 1, 28, 28].
    assert!(
        info.contains(r#"["z", ["batch", 100], "tensor(float)"]"#)
            && info.contains(r#"["images", ["batch", 1, 28, 28], "tensor(float)"]"#),
        "{info}"
    );
    assert!(values.iter().all(|v| v.abs() <= 1.0));
}

#[test]
#[ignore = "needs onnxruntime: python3 -m venv .ci/venv && .ci/venv/bin/pip install onnxruntime numpy"]
fn conditional_dcgan_matches_generate() {
    python();
    let run = train(
        "mnist",
        &[
            "--limit",
            "256",
            "--arch",
            "dcgan",
            "--ngf",
            "8",
            "--ndf",
            "8",
            "--conditional",
        ],
    );
    let (info, three) = compare(&run, 100, &[], Some(3));
    assert!(
        info.contains(r#"["class", ["batch"], "tensor(int64)"]"#)
            && info.contains(r#""classes": "10""#),
        "{info}"
    );
    // The class input matters: class 4 makes other images from the same latents.
    let (_, four) = compare(&run, 100, &[], Some(4));
    assert_ne!(three, four);
}

#[test]
#[ignore = "needs onnxruntime: python3 -m venv .ci/venv && .ci/venv/bin/pip install onnxruntime numpy"]
fn dcgan_tf_on_stacked_mnist_matches_generate() {
    python();
    // carpedm20's players: a Linear projection, a Reshape, BatchNorm2d, 5x5 transposed
    // convolutions with output padding (2 -> 4 -> 7 -> 14 -> 28).
    let run = train(
        "stacked-mnist",
        &[
            "--limit",
            "64",
            "--arch",
            "dcgan-tf",
            "--ngf",
            "4",
            "--ndf",
            "4",
            "--g-steps",
            "2",
        ],
    );
    let (info, values) = compare(&run, 100, &[], None);
    assert!(
        info.contains(r#"["images", ["batch", 3, 28, 28], "tensor(float)"]"#),
        "{info}"
    );
    assert!(values.iter().all(|v| v.abs() <= 1.0));
}

#[test]
#[ignore = "needs onnxruntime: python3 -m venv .ci/venv && .ci/venv/bin/pip install onnxruntime numpy"]
fn ema_with_batchnorm_and_spectral_norm_matches_generate() {
    python();
    let run = train(
        "ring8",
        &[
            "--ema-decay",
            "0.9",
            "--g-batchnorm",
            "--spectral-norm",
            "g",
            "--g-hidden",
            "16,16",
        ],
    );
    let (info, ema) = compare(&run, 100, &[], None);
    assert!(
        info.contains(r#"["images", ["batch", 2], "tensor(float)"]"#),
        "{info}"
    );
    let (_, raw) = compare(&run, 100, &["--no-ema"], None);
    assert_ne!(ema, raw, "G_ema and G should differ after 3 steps");
}

#[test]
fn refusals_name_the_problem_and_write_nothing() {
    let dir = tmp();
    let model = dir.join("g.onnx");
    let t = fails(&["export", "--run", s(&dir.join("nope")), "--onnx", s(&model)]);
    assert!(t.contains("no such run directory"), "{t}");
    assert!(!model.exists());

    let run = train("ring8", &["--g-hidden", "8"]);
    let t = fails(&["export", "--run", s(&run), "--onnx", s(&dir)]);
    assert!(t.contains("is a directory"), "{t}");

    let gen = |z: &Path| {
        let out = dir.join("out");
        fails(&[
            "generate",
            "--run",
            s(&run),
            "--latents",
            s(z),
            "--format",
            "npy",
            "--out",
            s(&out),
        ])
    };
    // latent_dim of a ring8 run is 100: three values per row is the wrong width.
    let wide = dir.join("wide.npy");
    gan_data::write_npy_f32(&wide, &[0.0; 6], &[2, 3]).unwrap();
    let t = gen(&wide);
    assert!(t.contains("[2, 3]") && t.contains("[N, 100]"), "{t}");
    let flat = dir.join("flat.npy");
    gan_data::write_npy_f32(&flat, &[0.0; 4], &[4]).unwrap();
    assert!(gen(&flat).contains("expected [N, 100]"));
    // float64 (numpy's default) is refused with the dtype named.
    let f64s = dir.join("f64.npy");
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 100), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend([0u8; 800]);
    std::fs::write(&f64s, bytes).unwrap();
    let t = gen(&f64s);
    assert!(t.contains("<f8") && t.contains("float32"), "{t}");
    // --latents replaces the drawn latents: --seed with it is a contradiction.
    let t = fails(&[
        "generate",
        "--run",
        s(&run),
        "--latents",
        s(&wide),
        "--seed",
        "3",
        "--out",
        s(&dir),
    ]);
    assert!(t.contains("--seed") && t.contains("--latents"), "{t}");
    assert!(!dir.join("out").join("generated.npy").exists());

    // The same file twice gives the same values; npy output keeps the raw floats.
    let z = latents(&dir, 3, 100);
    let out = dir.join("pts");
    ok(&[
        "generate",
        "--run",
        s(&run),
        "--latents",
        s(&z),
        "--format",
        "npy",
        "--out",
        s(&out),
    ]);
    let a = gan_data::read_npy_f32(&out.join("generated.npy")).unwrap();
    assert_eq!(a.shape, vec![3, 2]);
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(
        manifest.starts_with("file,latents,latent_index\ngenerated.npy[0],"),
        "{manifest}"
    );
}
