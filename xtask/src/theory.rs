//! `cargo xtask theory [--quick] [--out DIR]`: runs the experiments of
//! gan-theory (D vs D*, V vs -log 4 + 2 JSD, the 1-D game, gradient saturation,
//! each player alone on MNIST), prints the markdown report with every parameter and
//! writes the figures (default `docs/figures/`, relative to the workspace root).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use gan_theory::run::{run as run_theory, TheoryConfig};

pub fn run(args: &[String]) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (mut quick, mut out) = (false, root.join("docs/figures"));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--out" => {
                let dir = it
                    .next()
                    .context("--out needs a directory, e.g. --out docs/figures")?;
                out = root.join(PathBuf::from(dir));
            }
            other => {
                bail!("unknown argument {other:?}; usage: cargo xtask theory [--quick] [--out DIR]")
            }
        }
    }
    let start = std::time::Instant::now();
    let ctx = gan_tensor::Context::new().context("opening the GPU (wgpu adapter)")?;
    let cfg = TheoryConfig::new(quick);
    let report = run_theory(&ctx, &cfg, |line| eprintln!("theory: {line}"))?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, png) in &report.figures {
        let path = out.join(name);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report.markdown);
    println!(
        "Figures written to {} ({} files). cargo xtask theory{}: {:.1} s wall.",
        out.display(),
        report.figures.len(),
        if quick { " --quick" } else { "" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
