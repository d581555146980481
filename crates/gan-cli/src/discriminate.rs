//! `gan discriminate`: D(x) of a run's latest discriminator for every given image, as CSV,
//! with a summary comparing them to as many generated images.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use gan_data::{ColorMode, Dataset, FolderOptions, ImageShape, Source, Split};
use gan_tensor::Context;

/// Flags of `gan discriminate`.
#[derive(Args, Debug, Clone)]
pub struct DiscriminateArgs {
    /// A run directory written by `gan train`.
    #[arg(
        id = "run",
        long = "run",
        value_name = "RUN_DIR",
        required_unless_present = "pretrained"
    )]
    pub run_flag: Option<PathBuf>,
    /// Instead of --run: a pretrained generator shipped in the repository
    /// (`gan list-pretrained`), e.g. mnist.
    #[arg(long, value_name = "NAME", conflicts_with = "run")]
    pub pretrained: Option<String>,
    /// The run directory (from --run or --pretrained; filled by `run`).
    #[arg(skip)]
    pub run: PathBuf,
    /// `mnist-test` (vendored MNIST test split), `mnist-train`, a folder of PNG/JPEG
    /// images, a directory or file of IDX images (e.g. `gan generate --format idx`), or a
    /// dataset name such as idx:DIR / cifar10:DIR (test split).
    #[arg(long, value_name = "DIR|mnist-test")]
    pub images: String,
    /// Judge only the first N images (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Write `index,source,d` rows here (real images, then the generated ones; a
    /// conditional run adds the class judged with: `index,source,class,d`).
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Seed of the generated images' latents.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Judge with the checkpoint of this step instead of the latest (runs trained with
    /// --keep-checkpoints keep them all).
    #[arg(long, value_name = "N", conflicts_with = "all_steps")]
    pub step: Option<u64>,
    /// Judge with every checkpoint the run kept and print one line per step: how the
    /// gap between real and generated images evolves through training.
    #[arg(long)]
    pub all_steps: bool,
    /// Generate the compared images with the raw generator of a run trained with
    /// --ema-decay [default: its moving average G_ema].
    #[arg(long)]
    pub no_ema: bool,
    /// On a conditional run (`gan train --conditional`): judge every image, real and
    /// generated, as class CLASS. Without it the real images are judged with their own
    /// labels (mnist-test, a folder with one subfolder per class) and each generated
    /// image with the label of the real image of the same index; images without labels
    /// (a flat PNG folder, an IDX file without labels) need it. Refused on an
    /// unconditional run.
    #[arg(long, value_name = "CLASS")]
    pub class: Option<u32>,
}

fn err(e: gan_train::TrainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn is_idx_name(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("idx3-ubyte") || n.contains("idx4-ubyte"))
}

/// Loads the images `spec` names, shaped like `shape` (folders are resized to it).
pub fn load_images(spec: &str, shape: ImageShape) -> Result<Dataset> {
    let data = match spec {
        "mnist-test" => gan_data::load_vendored_mnist(Split::Test)?,
        "mnist-train" => gan_data::load_vendored_mnist(Split::Train)?,
        s if s.contains(':') => crate::dataset::parse(s, shape.height as u32)?
            .load(Split::Test)
            .with_context(|| format!("loading {s}"))?,
        s => {
            let path = Path::new(s);
            if !path.exists() {
                bail!("{s}: no such file or directory (expected a directory of images, an IDX file, or mnist-test)");
            }
            if path.is_file() {
                gan_data::idx::load_files(path, None)?
            } else if let Some(f) = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| is_idx_name(p))
            {
                gan_data::idx::load_files(&f, None)?
            } else {
                let mut opts = FolderOptions::new(shape.height as u32);
                opts.width = shape.width as u32;
                opts.color = if shape.channels == 1 {
                    ColorMode::Gray
                } else {
                    ColorMode::Rgb
                };
                opts.progress = false;
                Source::Folder(path.to_path_buf(), opts).load(Split::Train)?
            }
        }
    };
    if data.shape() != shape {
        bail!(
            "{spec}: images are {}, the run's discriminator judges {}",
            data.shape(),
            shape
        );
    }
    Ok(data)
}

/// Mean and a 10-bin text histogram of values in [0, 1].
pub fn histogram(values: &[f32]) -> (f64, [usize; 10]) {
    let mut bins = [0usize; 10];
    for &v in values {
        bins[((v.clamp(0.0, 1.0) * 10.0) as usize).min(9)] += 1;
    }
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64;
    (mean, bins)
}

/// `gan discriminate`.
pub fn run(args: &DiscriminateArgs) -> Result<()> {
    let mut resolved = args.clone();
    resolved.run =
        crate::pretrained::run_dir(args.run_flag.as_deref(), args.pretrained.as_deref())?;
    let args = &resolved;
    let ctx = Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    crate::generate::check_run_dir(&args.run)?;
    let cfg = gan_train::read_config(&args.run).map_err(err)?;
    gan_train::read_latest(&args.run).map_err(err)?;
    let info = gan_train::rundir::read_run_info(&args.run).map_err(err)?;
    let [c, h, w] = info.item_shape;
    let shape = ImageShape {
        channels: c,
        height: h,
        width: w,
    };
    if gan_train::DataSpec::parse(&cfg.dataset).is_ok_and(|s| s.is_toy()) {
        bail!(
            "{} was trained on 2-D points ({}); gan discriminate judges images",
            args.run.display(),
            cfg.dataset
        );
    }
    let data = load_images(&args.images, shape)?;
    let mut n = data.len();
    if args.limit > 0 {
        n = n.min(args.limit);
    }
    n -= n % cfg.pack; // PacGAN: whole groups only
    if n == 0 {
        bail!("{}: no image to judge", args.images);
    }
    let real = &data.images()[..n * shape.len()];
    let labels = classes(args, info.classes, cfg.conditional, &data, n)?;
    let real = Judged {
        images: real,
        labels: labels.as_deref(),
        n,
    };
    if args.all_steps {
        return all_steps(&ctx, args, &real);
    }
    let (d_real, d_fake) = judge(&ctx, args, args.step, &real)?;
    let per = if cfg.pack > 1 {
        format!(" (one value per group of {} images, PacGAN)", cfg.pack)
    } else {
        String::new()
    };
    let cls = match (real.labels, args.class) {
        (None, _) => String::new(),
        (Some(_), Some(c)) => format!(", all judged as class {c}"),
        (Some(_), None) => {
            ", each with its label (the generated image i made for real image i's class)".into()
        }
    };
    println!(
        "D(x) of {n} images from {} and {n} generated (seed {}){per}{cls}",
        args.images, args.seed
    );
    if let Some(out) = &args.out {
        let mut csv = String::new();
        match real.labels {
            None => {
                csv.push_str("index,source,d\n");
                for (i, d) in d_real.iter().enumerate() {
                    writeln!(csv, "{i},real,{d}")?;
                }
                for (i, d) in d_fake.iter().enumerate() {
                    writeln!(csv, "{i},generated,{d}")?;
                }
            }
            Some(y) => {
                csv.push_str("index,source,class,d\n");
                for (i, (d, c)) in d_real.iter().zip(y).enumerate() {
                    writeln!(csv, "{i},real,{c},{d}")?;
                }
                for (i, (d, c)) in d_fake.iter().zip(y).enumerate() {
                    writeln!(csv, "{i},generated,{c},{d}")?;
                }
            }
        }
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(out, csv).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    print!("{}", summary(&d_real, &d_fake));
    Ok(())
}

/// The `n` real images to judge and, on a conditional run, their classes (also those the
/// generated half is made for).
struct Judged<'a> {
    images: &'a [f32],
    labels: Option<&'a [u32]>,
    n: usize,
}

/// The class of each of the first `n` images on a run of `classes` classes
/// (`conditional`), or None on an unconditional run; refuses what cannot be judged.
fn classes(
    args: &DiscriminateArgs,
    classes: usize,
    conditional: bool,
    data: &Dataset,
    n: usize,
) -> Result<Option<Vec<u32>>> {
    if !conditional {
        if let Some(c) = args.class {
            bail!(
                "--class {c}: {} is an unconditional run, its discriminator takes no class; \
                 drop --class (or train with `gan train ... --conditional`)",
                args.run.display()
            );
        }
        return Ok(None);
    }
    if let Some(c) = args.class {
        if c as usize >= classes {
            bail!(
                "--class {c} is out of range: the run has {classes} classes, 0 to {}",
                classes - 1
            );
        }
        return Ok(Some(vec![c; n]));
    }
    let Some(labels) = data.labels() else {
        bail!(
            "{}: these images carry no class labels, and {} is a conditional run whose \
             discriminator judges each image with its class; pass --class C (0 to {}) to \
             judge them all as class C",
            args.images,
            args.run.display(),
            classes - 1
        );
    };
    let labels = &labels[..n];
    if let Some(bad) = labels.iter().find(|&&l| l as usize >= classes) {
        bail!(
            "{}: an image is labelled {bad}, but the run has {classes} classes (0 to {}); \
             pass --class C to judge every image as class C",
            args.images,
            classes - 1
        );
    }
    Ok(Some(labels.to_vec()))
}

/// D(x) of the real images and of as many generated ones (made for the same classes on
/// a conditional run), with the checkpoint of `step` (loaded once for the three passes).
fn judge(
    ctx: &Context,
    args: &DiscriminateArgs,
    step: Option<u64>,
    real: &Judged,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let gan = crate::generate::load_gan(ctx, &args.run, step, args.no_ema)?;
    let d_real = gan.judge_for(real.images, real.labels).map_err(err)?;
    let fake = gan
        .sample_for(real.n, args.seed, None, real.labels)
        .map_err(err)?;
    let d_fake = gan.judge_for(&fake.values, real.labels).map_err(err)?;
    Ok((d_real, d_fake))
}

fn mean(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64
}

/// `--all-steps`: one line per kept checkpoint.
fn all_steps(ctx: &Context, args: &DiscriminateArgs, real: &Judged) -> Result<()> {
    let n = real.n;
    let steps = gan_train::checkpoint_steps(&args.run).map_err(err)?;
    println!(
        "D(x) of {n} images from {} and {n} generated (seed {}) at each of {} checkpoints",
        args.images,
        args.seed,
        steps.len()
    );
    let mut csv = String::from("step,d_real,d_generated,gap\n");
    println!(
        "{:>8}  {:>10}  {:>12}  {:>8}",
        "step", "real D(x)", "generated", "gap"
    );
    for step in steps {
        let (r, f) = judge(ctx, args, Some(step), real)?;
        let (mr, mf) = (mean(&r), mean(&f));
        println!("{step:>8}  {mr:>10.4}  {mf:>12.4}  {:>8.4}", mr - mf);
        writeln!(csv, "{step},{mr},{mf},{}", mr - mf)?;
    }
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(out, csv).with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// The text summary: means, and the two histograms side by side.
pub fn summary(real: &[f32], fake: &[f32]) -> String {
    let (mr, hr) = histogram(real);
    let (mf, hf) = histogram(fake);
    let mut s = String::new();
    let _ = writeln!(s, "mean D(x): real {mr:.4}, generated {mf:.4}");
    let _ = writeln!(s, "D(x) bin     real                           generated");
    let max = hr.iter().chain(&hf).copied().max().unwrap_or(1).max(1);
    let bar = |k: usize| "#".repeat((k * 24).div_ceil(max));
    for b in 0..10 {
        let _ = writeln!(
            s,
            "[{:.1}, {:.1}{} {:>6} {:<24} {:>6} {}",
            b as f64 / 10.0,
            (b + 1) as f64 / 10.0,
            if b == 9 { "]" } else { ")" },
            hr[b],
            bar(hr[b]),
            hf[b],
            bar(hf[b])
        );
    }
    s
}
