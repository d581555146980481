//! `cargo xtask <task>`: orchestration only; the work lives in the library crates.
//!
//! - `bench [--quick] [--no-torch] [FILTER]`: runs the criterion benchmarks of `benches/`
//!   and, when a Python with torch is found, `benches/pytorch/baseline.py` on the same
//!   benchmarks; prints one table (ours, PyTorch's, their ratio, the adapter and driver) and
//!   writes the same rows to `target/bench/summary.json`.
//! - `paper ring8|grid25 ...`: PacGAN's Table 1 with the paper's protocol (src/paper/).

mod bench;
mod classifier;
mod gen_matmul;
mod gen_matmul_text;
mod paper;
mod theory;
mod train;

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("classifier") => classifier::run(&args[1..]),
        Some("gen-matmul") => gen_matmul::run(&args[1..]),
        Some("paper") => paper::run(&args[1..]),
        Some("theory") => theory::run(&args[1..]),
        Some("train") => train::run(&args[1..]),
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
        None => {
            println!("{USAGE}");
            Ok(())
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
tasks:
  bench [--quick] [--no-torch] [FILTER]  run the kernel benchmarks (and PyTorch's, with GAN_BENCH_PYTHON
                             or .bench-venv), print a table, write target/bench/summary.json
  gen-matmul [--check]       regenerate shaders/matmul*.wgsl (matmul, matmul_subgroup and their _c4 twins)
  classifier [--epochs N] ...  train the MNIST LeNet classifier, save data/classifier/ (xtask/src/classifier.rs)
  paper ring8|grid25 [--seeds N] [--steps N] [--packs 1,2,3,4]  PacGAN's Table 1 with its protocol
                             (the pacgan preset): resumable runs in runs/paper, rows in docs/benchmarks/*.csv,
                             docs/benchmarks.md
  theory [--quick] [--out DIR]  the theory experiments (D vs D*, JSD, saturation, MNIST blocks): report + docs/figures/
  train [gan train flags]    train the default job, recipes/default.toml (DCGAN on MNIST, batch 64, 1000 steps), into runs/mnist-dcgan-1 (`gan train --help`)";
