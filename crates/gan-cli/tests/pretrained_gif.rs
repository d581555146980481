//! Pretrained generators (`--pretrained NAME`, `gan list-pretrained`) work from any
//! directory with no training and no dataset; `--interpolate N --gif` and `gan timelapse`
//! write looping GIFs with the frames they announce.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::codecs::gif::GifDecoder;
use image::AnimationDecoder;

fn gan(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .current_dir(cwd)
        .env_remove("GAN_PRETRAINED_DIR")
        .output()
        .expect("running gan")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str], cwd: &Path) -> String {
    let o = gan(args, cwd);
    let t = text(&o);
    assert!(o.status.success(), "gan {args:?} failed:\n{t}");
    t
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

fn gif_frames(path: &Path) -> Vec<image::RgbaImage> {
    let file = std::fs::File::open(path).unwrap();
    let dec = GifDecoder::new(std::io::BufReader::new(file)).unwrap();
    dec.into_frames()
        .collect_frames()
        .unwrap()
        .into_iter()
        .map(|f| f.into_buffer())
        .collect()
}

#[test]
fn the_pretrained_mnist_generator_draws_digits_from_any_directory() {
    let cwd = tmp(); // no pretrained/ or data/ here
    let list = ok(&["list-pretrained"], &cwd);
    assert!(
        list.contains("mnist") && list.contains("FD-LeNet"),
        "{list}"
    );
    let out = cwd.join("gen");
    ok(
        &[
            "generate",
            "--pretrained",
            "mnist",
            "--count",
            "16",
            "--grid",
            "--out",
            s(&out),
        ],
        &cwd,
    );
    let grid = image::open(out.join("grid.png")).unwrap().to_luma8();
    assert!(grid.width() > 100);
    // MNIST-like: mostly black background with bright strokes, not a blank or noise image.
    let one = image::open(out.join("gen-00000.png")).unwrap().to_luma8();
    assert_eq!(one.dimensions(), (28, 28));
    let px: Vec<f64> = one.pixels().map(|p| p.0[0] as f64).collect();
    let dark = px.iter().filter(|&&v| v < 64.0).count() as f64 / px.len() as f64;
    let bright = px.iter().filter(|&&v| v > 192.0).count();
    assert!(dark > 0.6 && bright >= 20, "dark {dark}, bright {bright}");
    // The conditional one takes a class; ring8 gives points.
    let seven = cwd.join("seven");
    ok(
        &[
            "generate",
            "--pretrained",
            "mnist-conditional",
            "--class",
            "7",
            "--count",
            "4",
            "--out",
            s(&seven),
        ],
        &cwd,
    );
    assert!(std::fs::read_to_string(seven.join("manifest.csv"))
        .unwrap()
        .contains(",7"));
    let ring = cwd.join("ring");
    ok(
        &[
            "generate",
            "--pretrained",
            "ring8",
            "--count",
            "10",
            "--out",
            s(&ring),
        ],
        &cwd,
    );
    assert!(ring.join("points.csv").exists());
    // Its discriminator loads too.
    let d = ok(
        &[
            "discriminate",
            "--pretrained",
            "mnist",
            "--images",
            "mnist-test",
            "--limit",
            "32",
        ],
        &cwd,
    );
    assert!(d.contains("D(x)"), "{d}");
}

#[test]
fn unknown_or_missing_pretrained_names_are_clear_errors() {
    let cwd = tmp();
    let o = gan(&["generate", "--pretrained", "nope", "--out", "x"], &cwd);
    let t = text(&o);
    assert!(!o.status.success() && t.contains("available: mnist"), "{t}");
    assert!(!cwd.join("x").exists(), "nothing written");
    let o = gan(&["generate", "--out", "x"], &cwd);
    assert!(
        !o.status.success() && text(&o).contains("--run"),
        "{}",
        text(&o)
    );
    // GAN_PRETRAINED_DIR points elsewhere: its generators are listed, not the repo's.
    let own = tmp();
    std::fs::create_dir_all(own.join("mine")).unwrap();
    std::fs::write(own.join("mine/config.toml"), "[config]\n").unwrap();
    std::fs::write(own.join("mine/README.md"), "# my generator\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gan"))
        .arg("list-pretrained")
        .env("GAN_PRETRAINED_DIR", &own)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(
        t.contains("mine") && t.contains("my generator") && !t.contains("FD-LeNet"),
        "{t}"
    );
}

#[test]
fn interpolation_gif_loops_through_the_keyframes() {
    let cwd = tmp();
    let out = cwd.join("loop");
    let log = ok(
        &[
            "generate",
            "--pretrained",
            "mnist",
            "--interpolate",
            "5",
            "--gif",
            "--keyframes",
            "3",
            "--out",
            s(&out),
        ],
        &cwd,
    );
    assert!(log.contains("15 frames"), "{log}");
    let frames = gif_frames(&out.join("interpolation.gif"));
    assert_eq!(frames.len(), 15);
    assert!(frames.iter().all(|f| f.dimensions() == (112, 112)));
    assert_ne!(frames[0], frames[1], "the latent moves");
    let o = gan(
        &[
            "generate",
            "--pretrained",
            "mnist",
            "--interpolate",
            "5",
            "--gif",
            "--keyframes",
            "1",
            "--out",
            s(&out),
        ],
        &cwd,
    );
    assert!(
        !o.status.success() && text(&o).contains("--keyframes 1"),
        "{}",
        text(&o)
    );
}

#[test]
fn timelapse_shows_every_kept_checkpoint() {
    let cwd = tmp();
    let run = cwd.join("run");
    let train = |extra: &[&str], dir: &Path| {
        let mut a = vec![
            "train",
            "mnist",
            "--limit",
            "128",
            "--batch-size",
            "16",
            "--g-hidden",
            "16",
            "--d-hidden",
            "16",
            "--steps",
            "3",
            "--no-progress",
            "--out",
            s(dir),
        ];
        a.extend_from_slice(extra);
        ok(&a, &cwd);
    };
    train(&["--checkpoint-every", "1", "--keep-checkpoints"], &run);
    let gif = cwd.join("t/lapse.gif");
    let log = ok(
        &[
            "timelapse",
            "--run",
            s(&run),
            "--out",
            s(&gif),
            "--count",
            "4",
        ],
        &cwd,
    );
    assert!(log.contains("3 frames, steps 1 to 3"), "{log}");
    let frames = gif_frames(&gif);
    assert_eq!(frames.len(), 3);
    assert_ne!(
        frames[0], frames[2],
        "the generator changed between checkpoints"
    );
    // A run that kept one checkpoint says how to keep more.
    let single = cwd.join("single");
    train(&[], &single);
    let o = gan(&["timelapse", "--run", s(&single), "--out", s(&gif)], &cwd);
    let t = text(&o);
    assert!(
        !o.status.success() && t.contains("--keep-checkpoints"),
        "{t}"
    );
}
