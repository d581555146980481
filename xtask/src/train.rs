//! `cargo xtask train [gan train flags]`: the default job. With no argument it trains
//! gan-train's `Config::default()` (MLP GAN on the vendored MNIST, batch 128, 4000 steps)
//! into `runs/mnist-mlp-<seed>` of the workspace; any argument goes to the same parser
//! and code as `gan train` (gan_cli::train).

use std::path::Path;

use anyhow::{Context, Result};

pub fn run(args: &[String]) -> Result<()> {
    // Run directories (runs/...) and relative paths are taken from the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::env::set_current_dir(root).with_context(|| format!("entering {}", root.display()))?;
    let start = std::time::Instant::now();
    gan_cli::train::run_from_args(args)?;
    println!(
        "cargo xtask train: {:.1} s wall",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
