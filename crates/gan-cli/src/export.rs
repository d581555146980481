//! `gan export`: a run's generator as an ONNX file (see `gan_train::export`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use gan_tensor::Context;

use crate::generate::{check_run_dir, load_gan};

/// Flags of `gan export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// A run directory written by `gan train`.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "pretrained")]
    pub run: Option<PathBuf>,
    /// Instead of --run: a pretrained generator shipped in the repository
    /// (`gan list-pretrained`), e.g. mnist.
    #[arg(long, value_name = "NAME", conflicts_with = "run")]
    pub pretrained: Option<String>,
    /// The ONNX file to write (opset 17): input `z` float32 [batch, latent_dim] (and
    /// `class` int64 `[batch]` for a conditional run), output `images` float32
    /// [batch, C, H, W] (2-D points: [batch, 2]), batch dynamic.
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// Export the raw generator of a run trained with --ema-decay [default: its moving
    /// average G_ema].
    #[arg(long)]
    pub no_ema: bool,
    /// The checkpoint of this step [default: the latest].
    #[arg(long, value_name = "STEP")]
    pub step: Option<u64>,
}

/// Refuses an output path that is a directory (nothing is written then).
fn check_out(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "--onnx {}: is a directory; give a file name, e.g. {}",
            path.display(),
            path.join("generator.onnx").display()
        );
    }
    Ok(())
}

/// `gan export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    let run = crate::pretrained::run_dir(args.run.as_deref(), args.pretrained.as_deref())?;
    check_run_dir(&run)?;
    check_out(&args.onnx)?;
    let ctx = Context::new().context("opening the GPU adapter")?;
    let gan = load_gan(&ctx, &run, args.step, args.no_ema)?;
    let model = gan_train::export::generator_onnx(&gan).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = args.onnx.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    gan_train::rundir::write_atomic(&args.onnx, &model.bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let inputs = model.inputs.join(", ");
    println!(
        "wrote {} ({} bytes, {} nodes): {} -> images {:?} (batch dynamic), {}",
        args.onnx.display(),
        model.bytes.len(),
        model.ops.len(),
        inputs,
        model.output_dims,
        if model.ema { "G_ema" } else { "G" }
    );
    println!(
        "z: float32 [batch, {}] from the {} prior; e.g. onnxruntime.InferenceSession(\"{}\")\
         .run(None, {{\"z\": z}})[0]",
        gan.game.latent_dim,
        gan.game.prior,
        args.onnx.display()
    );
    Ok(())
}
