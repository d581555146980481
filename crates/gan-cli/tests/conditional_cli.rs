//! The `gan` binary on tiny class-conditional runs: `generate --class` and its manifest,
//! the refusals, the conditional grid's rows, `discriminate` with labels or `--class`,
//! and a conditional DCGAN that trains, keeps PyTorch names and resumes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// A tiny MLP run on the first 256 MNIST images (all 10 classes), conditional or not.
fn mlp_run(conditional: bool) -> PathBuf {
    let dir = tmp().join("run");
    let mut args = vec![
        "train",
        "mnist",
        "--limit",
        "256",
        "--steps",
        "2",
        "--batch-size",
        "64",
        "--latent-dim",
        "8",
        "--g-hidden",
        "32",
        "--d-hidden",
        "32",
        "--samples",
        "10",
        "--log-every",
        "2",
        "--no-progress",
        "--out",
        s(&dir),
    ];
    if conditional {
        args.push("--conditional");
    }
    let t = ok(&args);
    assert!(t.contains("final metrics (step 2"), "{t}");
    dir
}

/// The conditional run shared by the tests that only read it.
fn cond_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| mlp_run(true))
}

/// An unconditional run shared likewise.
fn plain_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| mlp_run(false))
}

/// The last field of each manifest row (after the header).
fn manifest_classes(dir: &Path) -> (String, Vec<String>) {
    let m = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let mut lines = m.lines();
    let header = lines.next().unwrap().to_string();
    let last = lines
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    (header, last)
}

#[test]
fn generate_class_writes_images_and_records_the_class() {
    let out = tmp();
    let t = ok(&[
        "generate",
        "--run",
        s(cond_run()),
        "--count",
        "3",
        "--class",
        "7",
        "--out",
        s(&out),
    ]);
    assert!(t.contains("made for its class"), "{t}");
    for f in ["gen-00000.png", "gen-00001.png", "gen-00002.png"] {
        let img = image::open(out.join(f)).unwrap();
        assert_eq!((img.width(), img.height()), (28, 28), "{f}");
    }
    let (header, classes) = manifest_classes(&out);
    assert_eq!(header, "file,seed,prior,latent_index,truncation,class");
    assert_eq!(classes, ["7", "7", "7"]);
    // IDX output records the class too.
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(cond_run()),
        "--count",
        "2",
        "--class",
        "0",
        "--format",
        "idx",
        "--out",
        s(&out),
    ]);
    let m = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(
        m.contains("generated-images-idx3-ubyte[1],0,normal,1,1,0"),
        "{m}"
    );
}

#[test]
fn generate_class_refusals_say_why() {
    let out = tmp();
    let t = fails(&[
        "generate",
        "--run",
        s(plain_run()),
        "--class",
        "7",
        "--out",
        s(&out),
    ]);
    assert!(
        t.contains("--class 7") && t.contains("unconditional") && t.contains("--conditional"),
        "{t}"
    );
    let t = fails(&[
        "generate",
        "--run",
        s(cond_run()),
        "--class",
        "10",
        "--out",
        s(&out),
    ]);
    assert!(
        t.contains("--class 10 is out of range") && t.contains("10 classes, 0 to 9"),
        "{t}"
    );
    // An unconditional run's manifest has no class column.
    ok(&[
        "generate",
        "--run",
        s(plain_run()),
        "--count",
        "2",
        "--out",
        s(&out),
    ]);
    assert_eq!(
        manifest_classes(&out).0,
        "file,seed,prior,latent_index,truncation"
    );
}

/// 20 images of a 10-class run: one row of 2 per class, so the 28x28 tiles with 2 px of
/// padding make a grid 2 * 30 + 2 = 62 wide and 10 * 30 + 2 = 302 high.
#[test]
fn conditional_grid_has_one_row_per_class() {
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(cond_run()),
        "--count",
        "20",
        "--grid",
        "--out",
        s(&out),
    ]);
    let grid = image::open(out.join("grid.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (62, 302));
    let (_, classes) = manifest_classes(&out);
    let want: Vec<String> = (0..20).map(|i| (i / 2).to_string()).collect();
    assert_eq!(classes, want);
    // A count that is not a multiple of the classes says which classes it covers.
    let out = tmp();
    let t = ok(&[
        "generate",
        "--run",
        s(cond_run()),
        "--count",
        "25",
        "--out",
        s(&out),
    ]);
    assert!(t.contains("cover classes 0 to 8 of the run's 10"), "{t}");
}

/// Rows `index,source,class,d` of a discriminate CSV.
fn csv_rows(path: &Path) -> (String, Vec<Vec<String>>) {
    let csv = std::fs::read_to_string(path).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn discriminate_judges_each_image_with_its_class() {
    let run = cond_run();
    let csv = tmp().join("d.csv");
    let t = ok(&[
        "discriminate",
        "--run",
        s(run),
        "--images",
        "mnist-test",
        "--limit",
        "8",
        "--out",
        s(&csv),
    ]);
    assert!(
        t.contains("each with its label") && t.contains("mean D(x)"),
        "{t}"
    );
    let (header, rows) = csv_rows(&csv);
    assert_eq!(header, "index,source,class,d");
    assert_eq!(rows.len(), 16);
    let test = gan_data::load_vendored_mnist(gan_data::Split::Test).unwrap();
    let want: Vec<String> = test.labels().unwrap()[..8]
        .iter()
        .map(|l| l.to_string())
        .collect();
    let classes = |source: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r[1] == source)
            .map(|r| r[2].clone())
            .collect()
    };
    assert_eq!(classes("real"), want);
    assert_eq!(
        classes("generated"),
        want,
        "generated i is made for real i's class"
    );
    for r in &rows {
        let d: f32 = r[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&d), "{r:?}");
    }
    // --class judges every image as that class, and D's values change with it.
    let csv3 = tmp().join("d3.csv");
    ok(&[
        "discriminate",
        "--run",
        s(run),
        "--images",
        "mnist-test",
        "--limit",
        "8",
        "--class",
        "3",
        "--out",
        s(&csv3),
    ]);
    let (_, rows3) = csv_rows(&csv3);
    assert!(rows3.iter().all(|r| r[2] == "3"), "{rows3:?}");
    let d_of = |rows: &[Vec<String>], i: &str| -> String {
        rows.iter().find(|r| r[1] == "real" && r[0] == i).unwrap()[3].clone()
    };
    // Real image 0 is a 7: judged as a 3 its D(x) differs.
    assert_eq!(rows[0][2], "7");
    assert_ne!(d_of(&rows, "0"), d_of(&rows3, "0"));
}

#[test]
fn discriminate_refusals_on_conditional_and_unlabelled() {
    // A flat folder of PNGs carries no labels.
    let dir = tmp().join("pngs");
    std::fs::create_dir_all(&dir).unwrap();
    let test = gan_data::load_vendored_mnist(gan_data::Split::Test).unwrap();
    gan_data::write_pngs(
        &dir,
        "img-",
        &test.images()[..4 * 784],
        gan_data::ImageShape::new(1, 28, 28),
    )
    .unwrap();
    let t = fails(&["discriminate", "--run", s(cond_run()), "--images", s(&dir)]);
    assert!(
        t.contains("no class labels") && t.contains("--class C (0 to 9)"),
        "{t}"
    );
    let t = ok(&[
        "discriminate",
        "--run",
        s(cond_run()),
        "--images",
        s(&dir),
        "--class",
        "2",
    ]);
    assert!(t.contains("all judged as class 2"), "{t}");
    let t = fails(&[
        "discriminate",
        "--run",
        s(cond_run()),
        "--images",
        s(&dir),
        "--class",
        "12",
    ]);
    assert!(t.contains("--class 12 is out of range"), "{t}");
    let t = fails(&[
        "discriminate",
        "--run",
        s(plain_run()),
        "--images",
        "mnist-test",
        "--limit",
        "4",
        "--class",
        "2",
    ]);
    assert!(
        t.contains("unconditional") && t.contains("drop --class"),
        "{t}"
    );
    // An unconditional run's CSV keeps its three columns.
    let csv = tmp().join("u.csv");
    ok(&[
        "discriminate",
        "--run",
        s(plain_run()),
        "--images",
        s(&dir),
        "--out",
        s(&csv),
    ]);
    assert_eq!(csv_rows(&csv).0, "index,source,d");
}

/// Tensor names of a safetensors file (its JSON header).
fn tensor_names(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let mut names: Vec<String> = header
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.sort();
    names
}

/// A conditional DCGAN (tiny: ngf = ndf = 4, 64 images, batch 16) trains end to end
/// with finite losses, writes PyTorch names with the class embeddings, and resumes.
#[test]
fn conditional_dcgan_trains_and_resumes() {
    let dir = tmp().join("dcgan");
    let t = ok(&[
        "train",
        "mnist",
        "--arch",
        "dcgan",
        "--conditional",
        "--ngf",
        "4",
        "--ndf",
        "4",
        "--latent-dim",
        "8",
        "--limit",
        "64",
        "--batch-size",
        "16",
        "--steps",
        "2",
        "--samples",
        "10",
        "--log-every",
        "1",
        "--no-progress",
        "--out",
        s(&dir),
    ]);
    assert!(t.contains("final metrics (step 2"), "{t}");
    let latest = gan_train::read_latest(&dir).unwrap();
    let ckpt = dir.join(&latest.checkpoint);
    let g = tensor_names(&ckpt.join("g.safetensors"));
    let d = tensor_names(&ckpt.join("d.safetensors"));
    for name in ["gen_embed.weight", "gen.1.weight", "gen.2.running_mean"] {
        assert!(g.contains(&name.to_string()), "{name} not in {g:?}");
    }
    for name in ["disc_embed.weight", "disc.0.weight"] {
        assert!(d.contains(&name.to_string()), "{name} not in {d:?}");
    }
    let t = ok(&[
        "train",
        "--resume",
        s(&dir),
        "--steps",
        "4",
        "--no-progress",
    ]);
    assert!(t.contains("resuming") && t.contains("step 4"), "{t}");
    assert_eq!(gan_train::read_latest(&dir).unwrap().step, 4);
    let rows = gan_train::read_metrics(&dir).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    for r in &rows {
        assert!(
            r.d_loss.is_finite() && r.g_loss.is_finite(),
            "step {}: d {} g {}",
            r.step,
            r.d_loss,
            r.g_loss
        );
    }
    // The resumed generator still takes a class.
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(&dir),
        "--count",
        "2",
        "--class",
        "4",
        "--out",
        s(&out),
    ]);
    assert_eq!(manifest_classes(&out).1, ["4", "4"]);
}
