//! `gan eval`: the metrics of a run's latest generator, chosen by its data (FD-LeNet and
//! class scores for 1x28x28 images, mode counts for 2-D mixtures and Stacked MNIST), as a
//! table or JSON; always written to `RUN_DIR/eval/metrics.json`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use gan_tensor::Context;
use gan_train::eval::{self, EvalOptions};

/// Flags of `gan eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// A run directory written by `gan train`.
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// Items to generate [default: the protocol's: 10000 MNIST images (and as many real
    /// ones), 2500 2-D points, 26000 Stacked MNIST images].
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Seed of the generator's latents.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// MNIST classifier weights [default: data/classifier/mnist_lenet.safetensors].
    #[arg(long, value_name = "PATH")]
    pub classifier: Option<PathBuf>,
    /// Skip the FD-LeNet floor (real train vs real test images).
    #[arg(long)]
    pub no_floor: bool,
    /// Print JSON instead of the table (the adapter line goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Also write what is printed (table or JSON) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Score only the raw generator of a run trained with --ema-decay [default: its
    /// moving average G_ema, with the raw G beside it].
    #[arg(long)]
    pub no_ema: bool,
}

/// `gan eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    crate::generate::check_run_dir(&args.run)?;
    if args.count == Some(0) {
        anyhow::bail!("--count must be at least 1");
    }
    if let Some(p) = &args.classifier {
        if !p.is_file() {
            anyhow::bail!(
                "--classifier {}: no such file; pass the MNIST LeNet weights written by \
                 `cargo xtask classifier`",
                p.display()
            );
        }
    }
    let ctx = Context::new().context("opening the GPU adapter")?;
    eprintln!("adapter: {}", ctx.adapter());
    let opts = EvalOptions {
        count: args.count,
        seed: args.seed,
        classifier: args.classifier.clone(),
        floor: !args.no_floor,
        no_ema: args.no_ema,
        ..EvalOptions::default()
    };
    let report = eval::evaluate_run(&ctx, &args.run, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let saved = eval::write_metrics(&args.run, &report).map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = if args.json {
        report.to_json()
    } else {
        report.to_markdown()
    };
    print!("{text}");
    if let Some(out) = &args.out {
        gan_train::rundir::write_atomic(out, text.as_bytes())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    eprintln!("wrote {}", saved.display());
    Ok(())
}
