//! `gan train`: builds a [`gan_train::Config`] from a TOML file and/or flags (flags win),
//! runs [`gan_train::Trainer`] with a progress bar, and resumes runs exactly.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser};
use gan_train::{Arch, Config, DataSpec, GLoss, Prior, Trainer};
use indicatif::{ProgressBar, ProgressStyle};

/// Learning rate that makes the 2-D toy mixtures converge in ~2000 steps.
pub const TOY_LR: f64 = 1e-3;

/// Flags of `gan train`; every one overrides the same key of `--config` (or the default).
#[derive(Args, Debug, Clone, Default)]
pub struct TrainArgs {
    /// mnist, mnist:DIR, idx:DIR, cifar10:DIR, folder:DIR, ring8, ring8_wide, grid25
    /// [default: mnist]
    pub dataset: Option<String>,
    /// Read the parameters from a TOML file (a bare table of Config keys, or a run's
    /// config.toml); flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Continue the run in RUN_DIR exactly where its latest checkpoint stopped (flags may
    /// lengthen it: --steps/--epochs, or change logging/sampling/checkpointing).
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Run directory [default: runs/<dataset>-<arch>-<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Use only the first N training items (0: all; toy data: 0 means 10000 points).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Network family: mlp or dcgan [default: mlp].
    #[arg(long, value_parser = ["mlp", "dcgan"])]
    pub arch: Option<String>,
    /// Latent prior: uniform or normal [default: normal].
    #[arg(long, value_parser = ["uniform", "normal"])]
    pub prior: Option<String>,
    /// Dimension of z [default: 100].
    #[arg(long)]
    pub latent_dim: Option<usize>,
    /// Generator objective: non-saturating or minimax [default: non-saturating].
    #[arg(long, value_parser = ["non-saturating", "minimax"])]
    pub loss: Option<String>,
    /// Discriminator steps per generator step [default: 1].
    #[arg(long)]
    pub k: Option<usize>,
    /// Items per discriminator step [default: 128].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam learning rate of G [default: 2e-4; toy data 1e-3].
    #[arg(long)]
    pub lr_g: Option<f64>,
    /// Adam learning rate of D [default: 2e-4; toy data 1e-3].
    #[arg(long)]
    pub lr_d: Option<f64>,
    /// Adam beta1 [default: 0.5].
    #[arg(long)]
    pub beta1: Option<f64>,
    /// Adam beta2 [default: 0.999].
    #[arg(long)]
    pub beta2: Option<f64>,
    /// Training length in epochs (used when --steps is 0).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Training length in generator steps [default: 4000]; `--epochs N` alone sets it to 0.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Seed of initialisation, data order, latents and dropout [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// One-sided label smoothing: real label = 1 - S [default: 0].
    #[arg(long)]
    pub label_smoothing: Option<f64>,
    /// PacGAN packing: D judges M items at once [default: 1].
    #[arg(long)]
    pub pack: Option<usize>,
    /// Hidden widths of the MLP generator, comma separated [default: 256,512,1024; toy 128,128].
    #[arg(long, value_delimiter = ',')]
    pub g_hidden: Option<Vec<usize>>,
    /// Hidden widths of the MLP discriminator [default: 512,256; toy 128,128].
    #[arg(long, value_delimiter = ',')]
    pub d_hidden: Option<Vec<usize>>,
    /// Dropout after each hidden layer of the MLP discriminator [default: 0.3; toy 0].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Negative slope of the LeakyReLUs [default: 0.2].
    #[arg(long)]
    pub leaky_slope: Option<f64>,
    /// DCGAN generator width [default: 32].
    #[arg(long)]
    pub ngf: Option<usize>,
    /// DCGAN discriminator width [default: 32].
    #[arg(long)]
    pub ndf: Option<usize>,
    /// Read metrics back every N steps [default: 50].
    #[arg(long)]
    pub log_every: Option<u64>,
    /// Sample grid every N steps (0: every epoch) [default: 0].
    #[arg(long)]
    pub sample_every: Option<u64>,
    /// Checkpoint every N steps (0: every epoch) [default: 0].
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Latents in the sample grids [default: 64].
    #[arg(long)]
    pub samples: Option<usize>,
    /// Evaluate the generator (`gan eval`'s metrics) every N epochs and at the end, into
    /// RUN_DIR/eval/history.csv and report.md [default: 0, off].
    #[arg(long, value_name = "N")]
    pub eval_every: Option<u64>,
    /// Items generated per evaluation during training (0: the protocol's count)
    /// [default: 2000].
    #[arg(long, value_name = "N")]
    pub eval_count: Option<usize>,
    /// Keep every checkpoint, not only the latest (for `gan discriminate --step N`).
    #[arg(long)]
    pub keep_checkpoints: bool,
    /// No progress bar; print a line per logged step instead.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Parser)]
#[command(name = "gan train", about = "Train a GAN (same flags as `gan train`)")]
struct Standalone {
    #[command(flatten)]
    args: TrainArgs,
}

/// Parses `gan train` flags from `args` (without the program name) and trains: what
/// `cargo xtask train` calls.
pub fn run_from_args(args: &[String]) -> Result<()> {
    let parsed = match Standalone::try_parse_from(
        std::iter::once("gan train".to_string()).chain(args.iter().cloned()),
    ) {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => {
            e.print()?; // --help
            return Ok(());
        }
        Err(e) => bail!("{e}"),
    };
    run(&parsed.args)
}

fn arch(v: &str) -> Result<Arch> {
    Ok(match v {
        "mlp" => Arch::Mlp,
        "dcgan" => Arch::Dcgan,
        o => bail!("unknown arch `{o}`; expected mlp or dcgan"),
    })
}

pub(crate) fn prior(v: &str) -> Result<Prior> {
    Ok(match v {
        "uniform" => Prior::Uniform,
        "normal" => Prior::Normal,
        o => bail!("unknown prior `{o}`; expected uniform or normal"),
    })
}

fn loss(v: &str) -> Result<GLoss> {
    Ok(match v {
        "non-saturating" => GLoss::NonSaturating,
        "minimax" => GLoss::Minimax,
        o => bail!("unknown loss `{o}`; expected non-saturating or minimax"),
    })
}

/// The keys a TOML file sets explicitly (bare table or `[config]` table).
fn file_keys(path: &Path) -> Result<(Config, Vec<String>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cfg = Config::from_toml(&text).with_context(|| format!("{}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)?;
    let table = match table.get("config") {
        Some(toml::Value::Table(t)) => t.clone(),
        _ => table,
    };
    Ok((cfg, table.keys().cloned().collect()))
}

/// Checks a dataset name before anything is loaded.
fn check_dataset(name: &str) -> Result<()> {
    DataSpec::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The configuration `args` ask for, and notes on the automatic choices made.
pub fn build_config(args: &TrainArgs, base: Option<Config>) -> Result<(Config, Vec<String>)> {
    let mut notes = Vec::new();
    let (mut cfg, file_set) = match (&args.config, base) {
        (Some(path), _) => file_keys(path)?,
        (None, Some(c)) => (c, vec!["*".to_string()]),
        (None, None) => (Config::default(), Vec::new()),
    };
    let set_by_file = |k: &str| file_set.iter().any(|s| s == k || s == "*");
    if let Some(d) = &args.dataset {
        cfg.dataset = d.clone();
    }
    check_dataset(&cfg.dataset)?;
    if let Some(v) = &args.arch {
        cfg.arch = arch(v)?;
    }
    if let Some(v) = &args.prior {
        cfg.prior = prior(v)?;
    }
    if let Some(v) = &args.loss {
        cfg.loss = loss(v)?;
    }
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = &args.$f { cfg.$f = v.clone(); } )* };
    }
    set!(
        limit,
        latent_dim,
        k,
        batch_size,
        lr_g,
        lr_d,
        beta1,
        beta2,
        seed,
        label_smoothing,
        pack,
        g_hidden,
        d_hidden,
        dropout,
        leaky_slope,
        ngf,
        ndf,
        log_every,
        sample_every,
        checkpoint_every,
        samples,
        eval_every,
        eval_count
    );
    if args.keep_checkpoints {
        cfg.keep_checkpoints = true;
    }
    match (args.steps, args.epochs) {
        (Some(s), Some(e)) => {
            cfg.steps = s;
            cfg.epochs = e;
        }
        (Some(s), None) => cfg.steps = s,
        (None, Some(e)) => {
            cfg.epochs = e;
            cfg.steps = 0; // epochs only count when steps is 0
        }
        (None, None) => {}
    }
    let toy = DataSpec::parse(&cfg.dataset).is_ok_and(|s| s.is_toy());
    if toy && args.resume.is_none() {
        let mut applied = Vec::new();
        if args.lr_g.is_none() && !set_by_file("lr_g") {
            cfg.lr_g = TOY_LR;
            applied.push("lr_g = 1e-3");
        }
        if args.lr_d.is_none() && !set_by_file("lr_d") {
            cfg.lr_d = TOY_LR;
            applied.push("lr_d = 1e-3");
        }
        if args.dropout.is_none() && !set_by_file("dropout") {
            cfg.dropout = 0.0;
            applied.push("dropout = 0");
        }
        if !applied.is_empty() {
            notes.push(format!(
                "toy defaults applied for {}: {} (these cover ring8 in ~2000 steps; the image \
                 default lr 2e-4 barely learns)",
                cfg.dataset,
                applied.join(", ")
            ));
        }
    }
    match (&args.out, &args.resume) {
        (Some(o), _) => cfg.out_dir = o.clone(),
        (None, Some(r)) => cfg.out_dir = r.clone(),
        (None, None) if !set_by_file("out_dir") => cfg.out_dir = default_out_dir(&cfg),
        _ => {}
    }
    cfg.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((cfg, notes))
}

/// `runs/<dataset kind>-<arch>-<seed>`, e.g. `runs/mnist-mlp-1`.
pub fn default_out_dir(cfg: &Config) -> PathBuf {
    let kind = cfg.dataset.split(':').next().unwrap_or("data");
    PathBuf::from("runs").join(format!("{kind}-{}-{}", cfg.arch, cfg.seed))
}

/// One line of every parameter, `key = value`.
pub fn describe(cfg: &Config) -> String {
    cfg.to_table()
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `gan train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let ctx = gan_tensor::Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    let mut trainer = match &args.resume {
        Some(dir) => {
            let base = gan_train::read_config(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (cfg, _) = build_config(args, Some(base))?;
            let latest = gan_train::read_latest(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "resuming {} at step {} (epoch {:.2})",
                dir.display(),
                latest.step,
                latest.epoch
            );
            Trainer::resume(&ctx, dir, Some(&cfg)).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        None => {
            let (cfg, notes) = build_config(args, None)?;
            for n in notes {
                println!("note: {n}");
            }
            println!("loading {} and building the players...", cfg.dataset);
            Trainer::new(&ctx, cfg).map_err(|e| match e {
                gan_train::TrainError::RunExists(d) => anyhow::anyhow!(
                    "{} already holds a training run: continue it with `--resume {}` (add \
                     --steps N to train longer), or pass another --out",
                    d.display(),
                    d.display()
                ),
                e => anyhow::anyhow!("{e}"),
            })?
        }
    };
    let cfg = trainer.config().clone();
    let run_dir = trainer.run_dir().to_path_buf();
    println!("run directory: {}", run_dir.display());
    println!(
        "parameters (also in {}): {}",
        run_dir.join("config.toml").display(),
        describe(&cfg)
    );
    let (gp, dp) = (
        trainer.gan().generator.store.num_parameters(),
        trainer.gan().discriminator.store.num_parameters(),
    );
    let total = trainer.total_steps();
    println!(
        "{} train items, {} batches per epoch, {total} steps; G {gp} / D {dp} parameters",
        trainer.dataset().len(),
        trainer.batches_per_epoch()
    );

    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:25}] {pos}/{len} ETA {eta_precise} {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_position(trainer.step());
    let lines = bar.is_hidden();
    let b = bar.clone();
    trainer.on_log(move |m| {
        let msg = format!(
            "epoch {:.2}  D loss {:.4}  G loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}",
            m.epoch, m.d_loss, m.g_loss, m.d_real, m.d_fake
        );
        b.set_position(m.step);
        if lines {
            let done = m.step as f64 / total.max(1) as f64;
            let eta = if done > 0.0 {
                m.elapsed * (1.0 - done) / done
            } else {
                0.0
            };
            println!(
                "step {}/{total}  {msg}  {:.0} s elapsed, ETA {eta:.0} s",
                m.step, m.elapsed
            );
        } else {
            b.set_message(msg);
        }
    });
    let summary = trainer.train();
    bar.finish_and_clear();
    let summary = summary.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "done: {} steps in {:.1} s ({:.1} ms/step)",
        summary.steps,
        summary.elapsed,
        summary.elapsed * 1000.0 / summary.steps.max(1) as f64
    );
    if let Some(m) = summary.last {
        println!(
            "final metrics (step {}, epoch {:.2}): D loss {:.4}, G loss {:.4}, D(x) {:.3}, \
             D(G(z)) {:.3}, V(D,G) {:.4} (-log 4 = -1.3863 at equilibrium)",
            m.step, m.epoch, m.d_loss, m.g_loss, m.d_real, m.d_fake, m.value
        );
    }
    println!("samples: {}", run_dir.join("samples/final.png").display());
    println!("report: {}", run_dir.join("report.md").display());
    Ok(())
}
