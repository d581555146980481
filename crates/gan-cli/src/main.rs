//! `gan`: the command-line front of the framework. Each subcommand parses its flags and
//! calls into the library crates; no training logic lives here.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use gan_cli::{
    dataset, discriminate, distributed, eval, export, generate, gif, pretrained, serve, train,
};
use gan_data::{Split, Summary};

#[derive(Parser)]
#[command(name = "gan", version, about = "GPU-native GANs on wgpu")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; boxing would only add noise
enum Command {
    /// Print the GPU adapter gan-tensor opens (honours WGPU_BACKEND, WGPU_ADAPTER_NAME)
    /// and its main limits.
    Info,
    /// Load a dataset and print its summary: count, shape, label histogram, pixel stats.
    Data {
        /// mnist, idx:DIR, cifar10:DIR, folder:DIR, ring8, grid25, stacked-mnist
        #[arg(default_value = "mnist")]
        dataset: String,
        /// Which split to load.
        #[arg(long, value_parser = ["train", "test"], default_value = "train")]
        split: String,
        /// Side length images of an image folder are resized to.
        #[arg(long, default_value_t = 64)]
        size: u32,
    },
    /// Train a GAN: flags and/or --config FILE.toml (flags win); --resume RUN_DIR continues
    /// a run exactly. Writes a run directory (config.toml, metrics.csv, samples/,
    /// plots/, checkpoints/, report.md).
    Train(train::TrainArgs),
    /// Generate images from a run's latest checkpoint (PNGs or IDX, manifest, grid,
    /// interpolation).
    Generate(generate::GenerateArgs),
    /// D(x) of a run's discriminator for real images, against as many generated ones.
    Discriminate(discriminate::DiscriminateArgs),
    /// Metrics of a run's generator, chosen by its data: FD-LeNet and class scores
    /// (1x28x28), modes captured and % high quality (ring8, grid25), 1000-mode counts
    /// (stacked-mnist). Writes RUN_DIR/eval/metrics.json.
    Eval(eval::EvalArgs),
    /// List the pretrained generators shipped in the repository (`--pretrained NAME` of
    /// generate and discriminate).
    ListPretrained,
    /// An animated GIF of the same latents through every kept checkpoint of a run.
    Timelapse(gif::TimelapseArgs),
    /// A local web page over a run's generator (seed, latent sliders, class, truncation,
    /// checkpoint, interpolation, D's scores) and its JSON API; prints the URL first.
    Serve(serve::ServeArgs),
    /// Write a run's generator (G_ema when present) as an ONNX file with a dynamic batch
    /// axis, for onnxruntime and other runtimes.
    Export(export::ExportArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Info => info(),
        Command::Train(args) if args.distributed => distributed::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Discriminate(args) => discriminate::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::ListPretrained => pretrained::print_list(),
        Command::Timelapse(args) => gif::timelapse(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Data {
            dataset,
            split,
            size,
        } => {
            let source = dataset::parse(&dataset, size)?;
            let split = if split == "test" {
                Split::Test
            } else {
                Split::Train
            };
            let start = std::time::Instant::now();
            let data = source
                .load(split)
                .with_context(|| format!("loading {dataset}"))?;
            println!(
                "dataset: {dataset} ({split:?}), loaded in {:.2?}",
                start.elapsed()
            );
            println!("{}", Summary::of(&data));
            Ok(())
        }
    }
}

fn info() -> Result<()> {
    let ctx = gan_tensor::Context::new()?;
    let a = ctx.adapter();
    let l = ctx.limits();
    println!("adapter: {a}");
    if let Some(note) = a.advice() {
        eprintln!("{note}");
    }
    println!("driver: {}", a.driver);
    println!(
        "limits: storage binding {} MiB, buffer {} MiB, workgroup memory {} KiB, \
         invocations per workgroup {}, workgroups per dimension {}",
        l.max_storage_buffer_binding_size >> 20,
        l.max_buffer_size >> 20,
        l.max_compute_workgroup_storage_size >> 10,
        l.max_compute_invocations_per_workgroup,
        l.max_compute_workgroups_per_dimension
    );
    println!(
        "matmul kernel: {:?}",
        gan_tensor::matmul::MatmulKernel::for_adapter(&ctx)
    );
    println!(
        "conv algorithm: {:?} (GAN_CONV_ALGO=direct|im2col)",
        gan_tensor::conv::ConvAlgo::default()
    );
    Ok(())
}
