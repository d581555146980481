//! `gan generate`: images from a run's latest checkpoint, as PNG files or one IDX file,
//! with a manifest to regenerate each; a sample sheet; an interpolation between two
//! latents.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use gan_data::{Dataset, GridOptions};
use gan_tensor::{Context, Tensor};
use gan_train::latent::{self, Path as LatentPath};
use gan_train::{Gan, ItemShape, Prior};

/// Flags of `gan generate`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
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
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    pub count: usize,
    /// Output directory (created).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// png: one file per image; idx: one IDX file (`generated-images-idx3-ubyte`); npy:
    /// the raw float32 values as one array `generated.npy` [N, C, H, W] (2-D points:
    /// [N, 2]).
    #[arg(long, value_parser = ["png", "idx", "npy"], default_value = "png")]
    pub format: String,
    /// Also write all images as one sample sheet, `grid.png`.
    #[arg(long)]
    pub grid: bool,
    /// Latent prior [default: the run's].
    #[arg(long, value_parser = ["uniform", "normal"])]
    pub prior: Option<String>,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Class of every image, on a conditional run (`gan train --conditional`); refused
    /// on an unconditional run or out of range. Without it a conditional run draws the
    /// classes in turn, one row per class with --grid.
    #[arg(long, value_name = "CLASS")]
    pub class: Option<u32>,
    /// Instead: STEPS images on a path between two latents drawn from the prior, written
    /// as one row, `interpolation.png` (and the frames). The path is spherical (slerp,
    /// White 2016) for a normal prior and a straight line for a uniform one.
    #[arg(long, value_name = "STEPS")]
    pub interpolate: Option<usize>,
    /// With --interpolate: walk the straight line (lerp) even for a normal prior.
    #[arg(long, requires = "interpolate")]
    pub lerp: bool,
    /// With --interpolate: write `interpolation.gif`, a loop through --keyframes latents
    /// (z0 -> z1 -> ... -> z0), --interpolate frames from each to the next.
    #[arg(long, requires = "interpolate")]
    pub gif: bool,
    /// Latents the --gif loop passes through.
    #[arg(long, default_value_t = 4, requires = "gif")]
    pub keyframes: usize,
    /// Truncation trick, 0 < PSI <= 1: every latent is pulled towards the prior's mean,
    /// z' = mean + PSI (z - mean) = PSI z (StyleGAN's psi applied in z space), trading
    /// variety for typical images; 1 is off.
    #[arg(
        long,
        value_name = "PSI",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub truncation: f64,
    /// Use the raw generator of a run trained with --ema-decay [default: its moving
    /// average G_ema].
    #[arg(long)]
    pub no_ema: bool,
    /// Instead of drawing latents: one image per row of FILE.npy, a float32 array
    /// [N, latent_dim] in C order (`np.save(FILE, z.astype(np.float32))`).
    #[arg(
        long,
        value_name = "FILE.npy",
        conflicts_with_all = ["count", "seed", "prior", "truncation", "interpolate"]
    )]
    pub latents: Option<PathBuf>,
}

/// Name of the array `--format npy` writes.
pub const NPY_FILE: &str = "generated.npy";

/// The latents of `--latents FILE`: `[N, dim]` float32 values, or a clear refusal.
pub fn read_latents(path: &Path, dim: usize) -> Result<(Vec<f32>, usize)> {
    let a = gan_data::read_npy_f32(path).map_err(|e| anyhow::anyhow!("--latents: {e}"))?;
    match a.shape[..] {
        [n, d] if d == dim && n > 0 => Ok((a.values, n)),
        [_, d] if d == dim => bail!("--latents {}: the array holds no latents", path.display()),
        _ => bail!(
            "--latents {}: shape {:?}, expected [N, {dim}]: one row of latent_dim = {dim} values \
             per image (the run's latent_dim)",
            path.display(),
            a.shape
        ),
    }
}

/// Where each image's latent came from, as the manifest's columns.
enum Origin {
    /// Drawn from the prior under a seed, scaled by the truncation psi.
    Drawn { seed: u64, prior: String, psi: f64 },
    /// Row i of a `.npy` file.
    File(PathBuf),
}

impl Origin {
    fn header(&self) -> &'static str {
        match self {
            Origin::Drawn { .. } => "seed,prior,latent_index,truncation",
            Origin::File(_) => "latents,latent_index",
        }
    }

    fn row(&self, i: usize) -> String {
        match self {
            Origin::Drawn { seed, prior, psi } => format!("{seed},{prior},{i},{psi}"),
            Origin::File(p) => format!("{},{i}", p.display()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Origin::Drawn { seed, prior, psi } => format!(
                "latent i of `gan generate --seed {seed} --prior {prior} --truncation {psi}`"
            ),
            Origin::File(p) => format!("row i of {}", p.display()),
        }
    }
}

/// Name of the IDX file `--format idx` writes.
pub const IDX_FILE: &str = "generated-images-idx3-ubyte";

fn err(e: gan_train::TrainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Fails clearly when `dir` is not a run directory written by `gan train`.
pub fn check_run_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: no such run directory", dir.display());
    }
    if !dir.join("config.toml").exists() {
        bail!(
            "{}: not a run directory (no config.toml); pass the --out directory of `gan train`",
            dir.display()
        );
    }
    Ok(())
}

/// The class of each image `args` asks for on a run of `classes` classes (None:
/// unconditional), and the grid's row length when the rows are classes.
pub(crate) fn requested_classes(
    classes: Option<usize>,
    args: &GenerateArgs,
) -> Result<(Option<Vec<u32>>, Option<usize>)> {
    match (classes, args.class) {
        (None, None) => Ok((None, None)),
        (None, Some(c)) => bail!(
            "--class {c}: {} is an unconditional run, its generator takes no class; train \
             with `gan train ... --conditional` to choose classes",
            args.run.display()
        ),
        (Some(n), Some(c)) if c as usize >= n => bail!(
            "--class {c} is out of range: the run has {n} classes, 0 to {}",
            n - 1
        ),
        (Some(_), Some(c)) => Ok((Some(vec![c; args.count]), None)),
        (Some(n), None) => {
            let (c, per_row) = classes_in_turn(n, args.count);
            Ok((Some(c), Some(per_row)))
        }
    }
}

/// The classes of `count` images on a run of `n` classes when none is asked for: one row
/// per class, image i of class i / per_row; returns them and the row length.
pub fn classes_in_turn(n: usize, count: usize) -> (Vec<u32>, usize) {
    let per_row = count.div_ceil(n).max(1);
    let c = (0..count)
        .map(|i| ((i / per_row).min(n - 1)) as u32)
        .collect();
    (c, per_row)
}

/// The run's players at the checkpoint of `step` (None: the latest); `no_ema` drops
/// G_ema so that samples come from the raw G.
pub fn load_gan(ctx: &Context, run: &Path, step: Option<u64>, no_ema: bool) -> Result<Gan> {
    let mut gan = gan_train::load_gan(ctx, run, step).map_err(err)?;
    if no_ema {
        gan.drop_ema();
    }
    Ok(gan)
}

/// `gan generate`.
pub fn run(args: &GenerateArgs) -> Result<()> {
    let mut resolved = args.clone();
    resolved.run =
        crate::pretrained::run_dir(args.run_flag.as_deref(), args.pretrained.as_deref())?;
    let args = &resolved;
    let ctx = Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    check_run_dir(&args.run)?;
    let prior = args.prior.as_deref().map(crate::train::prior).transpose()?;
    gan_train::latent::check_truncation(args.truncation)
        .map_err(|e| anyhow::anyhow!("--truncation: {e}"))?;
    if let Some(steps) = args.interpolate {
        return interpolate(&ctx, args, steps, prior);
    }
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let psi = args.truncation;
    let gan = load_gan(&ctx, &args.run, None, args.no_ema)?;
    let latents = match &args.latents {
        Some(p) => Some(read_latents(p, gan.game.latent_dim)?),
        None => None,
    };
    let with_count;
    let args = match &latents {
        Some((_, n)) => {
            with_count = GenerateArgs {
                count: *n,
                ..args.clone()
            };
            &with_count
        }
        None => args,
    };
    let (classes, per_row) = requested_classes(gan.classes(), args)?;
    if let (Some(n), Some(per_row)) = (gan.classes(), per_row) {
        if !args.count.is_multiple_of(n) {
            let last = args.count.div_ceil(per_row).min(n) - 1;
            println!(
                "note: {} images in rows of {per_row} per class cover classes 0 to {last} of \
                 the run's {n}; a --count that is a multiple of {n} gives every class as many",
                args.count
            );
        }
    }
    let g = match latents {
        Some((z, n)) => {
            let z = Tensor::from_slice(&ctx, &z, &[n, gan.game.latent_dim])?;
            gan_train::Generated {
                values: gan.sample_at_for(z, classes.as_deref()).map_err(err)?,
                shape: gan.item.image_shape(),
                count: n,
            }
        }
        None => gan
            .sample_truncated_for(args.count, args.seed, prior, classes.as_deref(), psi)
            .map_err(err)?,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let origin = match &args.latents {
        Some(p) => Origin::File(p.clone()),
        None => Origin::Drawn {
            seed: args.seed,
            prior: match prior {
                Some(p) => p.to_string(),
                None => gan.game.prior.to_string(),
            },
            psi,
        },
    };
    let toy = g.shape.channels == 2 && g.shape.height == 1 && g.shape.width == 1;
    // A conditional run's manifest also records each image's class.
    let mut manifest = format!("file,{}", origin.header());
    manifest.push_str(if classes.is_some() { ",class\n" } else { "\n" });
    let class_of = |i: usize| {
        classes
            .as_ref()
            .map_or(String::new(), |c| format!(",{}", c[i]))
    };
    if args.format == "npy" {
        let path = args.out.join(NPY_FILE);
        let mut dims = gan.item.batch_dims(g.count);
        if toy {
            dims.truncate(2);
        }
        gan_data::write_npy_f32(&path, &g.values, &dims)?;
        for i in 0..g.count {
            writeln!(manifest, "{NPY_FILE}[{i}],{}{}", origin.row(i), class_of(i))?;
        }
        println!(
            "wrote {} float32 values {dims:?} to {}",
            g.values.len(),
            path.display()
        );
    } else if toy {
        let mut csv = String::from("x,y\n");
        for p in g.values.chunks_exact(2) {
            writeln!(csv, "{},{}", p[0], p[1])?;
        }
        let path = args.out.join("points.csv");
        std::fs::write(&path, csv)?;
        for i in 0..g.count {
            writeln!(
                manifest,
                "points.csv:{},{}{}",
                i + 2,
                origin.row(i),
                class_of(i)
            )?;
        }
        println!("wrote {} 2-D points to {}", g.count, path.display());
    } else if args.format == "idx" {
        let data = Dataset::new(g.values.clone(), g.shape, None, 0)?;
        let path = args.out.join(IDX_FILE);
        gan_data::write_idx_dataset(&data, &path, None)?;
        for i in 0..g.count {
            writeln!(manifest, "{IDX_FILE}[{i}],{}{}", origin.row(i), class_of(i))?;
        }
        println!(
            "wrote {} images ({}) to {}",
            g.count,
            g.shape,
            path.display()
        );
    } else {
        let paths = gan_data::write_pngs(&args.out, "gen-", &g.values, g.shape)?;
        for (i, p) in paths.iter().enumerate() {
            let name = p.file_name().unwrap().to_string_lossy();
            writeln!(manifest, "{name},{}{}", origin.row(i), class_of(i))?;
        }
        println!(
            "wrote {} PNG images ({}) to {}",
            g.count,
            g.shape,
            args.out.display()
        );
    }
    let mpath = args.out.join("manifest.csv");
    std::fs::write(&mpath, manifest)?;
    println!(
        "manifest: {} (image i = {}{})",
        mpath.display(),
        origin.describe(),
        if classes.is_some() {
            ", made for its class"
        } else {
            ""
        }
    );
    if args.grid && !toy {
        let path = args.out.join("grid.png");
        let columns = per_row.unwrap_or_else(|| (g.count as f64).sqrt().ceil() as usize);
        gan_data::write_grid(
            &path,
            &g.values,
            g.shape,
            GridOptions {
                columns,
                ..GridOptions::default()
            },
        )?;
        println!("sample sheet: {}", path.display());
    }
    Ok(())
}

fn interpolate(
    ctx: &Context,
    args: &GenerateArgs,
    steps: usize,
    prior: Option<Prior>,
) -> Result<()> {
    if steps < 2 {
        bail!("--interpolate needs at least 2 steps");
    }
    let gan = load_gan(ctx, &args.run, None, args.no_ema)?;
    let ItemShape::Image(shape) = gan.item else {
        bail!("--interpolate writes images; this run generates 2-D points");
    };
    if args.gif {
        return interpolation_gif(ctx, &gan, args, steps, prior);
    }
    let prior = prior.unwrap_or(gan.game.prior);
    let dim = gan.game.latent_dim;
    let ends = gan_train::sample_prior(ctx, prior, 2, dim, args.seed, 0).map_err(err)?;
    let ends = latent::truncate(&ends, args.truncation)
        .map_err(err)?
        .to_vec()?;
    let (a, b) = ends.split_at(dim);
    let interp = if args.lerp {
        LatentPath::Linear
    } else {
        LatentPath::for_prior(prior)
    };
    let z = latent::interpolate(a, b, steps, interp).map_err(err)?;
    let z = Tensor::from_slice(ctx, &z, &[steps, dim])?;
    let classes = match (gan.classes(), args.class) {
        (None, None) => None,
        (Some(_), None) => bail!(
            "--interpolate on a conditional run needs --class C: every frame is made for one \
             class"
        ),
        (classes, _) => {
            requested_classes(
                classes,
                &GenerateArgs {
                    count: steps,
                    ..args.clone()
                },
            )?
            .0
        }
    };
    let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
    std::fs::create_dir_all(&args.out)?;
    let out = args.out.join("interpolation.png");
    gan_data::write_grid(
        &out,
        &values,
        shape,
        GridOptions {
            columns: steps,
            ..GridOptions::default()
        },
    )?;
    gan_data::write_pngs(&args.out, "interp-", &values, shape)?;
    println!(
        "wrote {steps} images from z0 to z1 (latents 0 and 1 of --seed {} --prior {prior} \
         --truncation {}, {interp} interpolation) as one row: {} (frames interp-NNNNN.png)",
        args.seed,
        args.truncation,
        out.display()
    );
    Ok(())
}

/// Frame length of the interpolation loop.
const LOOP_DELAY_MS: u32 = 60;
/// Each pixel as a block of this many pixels (28 x 28 digits become 112 x 112).
const SCALE: u32 = 4;

/// `interpolation.gif` in `args.out`: `args.keyframes` latents of (seed, prior) in a
/// loop, `steps` frames from each to the next (slerp for a normal prior, `--lerp` for a
/// line), one image per frame.
fn interpolation_gif(
    ctx: &Context,
    gan: &Gan,
    args: &GenerateArgs,
    steps: usize,
    prior: Option<Prior>,
) -> Result<()> {
    let ItemShape::Image(shape) = gan.item else {
        bail!("--gif writes images; this run generates 2-D points");
    };
    let k = args.keyframes;
    if !(2..=64).contains(&k) {
        bail!("--keyframes {k}: a loop needs 2 to 64 latents");
    }
    if steps * k > 4096 {
        bail!(
            "--interpolate {steps} x --keyframes {k} = {} frames; at most 4096",
            steps * k
        );
    }
    let prior = prior.unwrap_or(gan.game.prior);
    let dim = gan.game.latent_dim;
    let keys = gan_train::sample_prior(ctx, prior, k, dim, args.seed, 0).map_err(err)?;
    let keys = latent::truncate(&keys, args.truncation)
        .map_err(err)?
        .to_vec()?;
    let path = if args.lerp {
        LatentPath::Linear
    } else {
        LatentPath::for_prior(prior)
    };
    // steps + 1 points from each key to the next, the last dropped: it starts the next leg.
    let mut z = Vec::with_capacity(k * steps * dim);
    for i in 0..k {
        let (a, b) = (
            &keys[i * dim..(i + 1) * dim],
            &keys[(i + 1) % k * dim..][..dim],
        );
        let leg = latent::interpolate(a, b, steps + 1, path).map_err(err)?;
        z.extend_from_slice(&leg[..steps * dim]);
    }
    let n = k * steps;
    let classes = match (gan.classes(), args.class) {
        (None, None) => None,
        (Some(_), None) => {
            bail!("--gif on a conditional run needs --class C: every frame is made for one class")
        }
        (classes, _) => {
            let one = GenerateArgs {
                count: n,
                ..args.clone()
            };
            requested_classes(classes, &one)?.0
        }
    };
    let z = Tensor::from_slice(ctx, &z, &[n, dim])?;
    let values = gan.sample_at_for(z, classes.as_deref()).map_err(err)?;
    let frames = values
        .chunks_exact(shape.len())
        .map(|v| gan_data::output::to_image8(v, shape))
        .collect::<gan_data::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.join("interpolation.gif");
    gan_data::write_gif(&out, &frames, LOOP_DELAY_MS, SCALE)?;
    println!(
        "wrote {out}: a loop through {k} latents (0..{k} of --seed {} --prior {prior}, \
         --truncation {}), {steps} frames per leg, {n} frames, {path} interpolation",
        args.seed,
        args.truncation,
        out = out.display()
    );
    Ok(())
}
