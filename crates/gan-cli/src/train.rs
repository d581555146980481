//! `gan train`: builds a [`gan_train::Config`] from a TOML file and/or flags (flags win),
//! runs [`gan_train::Trainer`] with a progress bar, and resumes runs exactly.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{ArgMatches, Args, Command, FromArgMatches, Parser, ValueEnum};
use gan_train::{Config, DataSpec, Prior, Trainer, IMAGE_DEFAULTS};
use indicatif::{ProgressBar, ProgressStyle};

use crate::presets;

/// The flags of `gan train` that are not [`Config`] fields.
#[derive(Args, Debug, Clone, Default)]
struct RunFlags {
    /// Read the parameters from a TOML file (a bare table of Config keys, or a run's
    /// config.toml); flags override it.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Start from a protocol shipped in the binary (recipes/NAME.toml): `pacgan`
    /// (PacGAN's 2-D players and settings), `default` (the default job); flags override
    /// it; `--preset list` lists them.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "resume"])]
    preset: Option<String>,
    /// Continue the run in RUN_DIR exactly where its latest checkpoint stopped (flags may
    /// lengthen it: --steps/--epochs, or change logging/sampling/checkpointing).
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// No progress bar; print a line per logged step instead.
    #[arg(long)]
    no_progress: bool,
    /// Data-parallel training over MPI: start with `mpirun -n N gan train --distributed
    /// ...` (or srun); each rank opens the GPU of its node-local rank and takes
    /// batch_size / N items of each batch (needs a gan built with `--features
    /// distributed`).
    #[arg(long)]
    distributed: bool,
}

/// Flags of `gan train`: one per field of [`Config`] (made by [`Config::command_args`]:
/// the field docs are the help, the defaults those of `Config::default()`), each
/// overriding the same key of `--config` (or the default), plus `--config`, `--resume`
/// and `--no-progress`.
#[derive(Debug, Clone, Default)]
pub struct TrainArgs {
    /// `--config FILE.toml`.
    pub config: Option<PathBuf>,
    /// `--preset NAME`.
    pub preset: Option<String>,
    /// `--resume RUN_DIR`.
    pub resume: Option<PathBuf>,
    /// `--no-progress`.
    pub no_progress: bool,
    /// `--distributed`.
    pub distributed: bool,
    /// The Config fields given as flags, as a table of Config keys (see
    /// [`Config::given_flags`]).
    pub flags: toml::Table,
}

impl FromArgMatches for TrainArgs {
    fn from_arg_matches(m: &ArgMatches) -> std::result::Result<Self, clap::Error> {
        let run = RunFlags::from_arg_matches(m)?;
        Ok(TrainArgs {
            config: run.config,
            preset: run.preset,
            resume: run.resume,
            no_progress: run.no_progress,
            distributed: run.distributed,
            flags: Config::given_flags(m)?,
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> std::result::Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for TrainArgs {
    fn augment_args(cmd: Command) -> Command {
        Config::command_args(RunFlags::augment_args(cmd))
            .mut_arg("out_dir", |a| {
                // The library's default (runs/gan) gives way to one named after the run.
                a.hide_default_value(true)
                    .help("The run directory [default: runs/<dataset>-<arch>-<seed>]")
            })
            .mut_arg("epochs", |a| {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.help(format!(
                    "{help}; --epochs N without --steps sets steps to 0"
                ))
            })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
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

/// Parses `gan train` flags from `args` (without the program name); `--help` is an error
/// here.
pub fn parse_args(args: &[String]) -> Result<TrainArgs> {
    Standalone::try_parse_from(std::iter::once("gan train".to_string()).chain(args.iter().cloned()))
        .map(|p| p.args)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Parses a prior name (`gan generate --prior`).
pub(crate) fn prior(v: &str) -> Result<Prior> {
    Prior::from_str(v, false)
        .map_err(|_| anyhow::anyhow!("unknown prior `{v}`; expected uniform or normal"))
}

/// A config file (a bare table, a run's `[config]` table, or a recipe with a `[preset]`
/// table).
fn read_file(path: &Path) -> Result<presets::Recipe> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    presets::parse(&text, &path.display().to_string())
}

/// Checks a dataset name before anything is loaded.
fn check_dataset(name: &str) -> Result<()> {
    DataSpec::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// A number as the notes print it: `1e-3`, `0`.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:e}")
    }
}

/// The configuration `args` ask for (flags over `--config` or `base` over the defaults),
/// and notes on the automatic choices made.
pub fn build_config(args: &TrainArgs, base: Option<Config>) -> Result<(Config, Vec<String>)> {
    let mut notes = Vec::new();
    let recipe = match (&args.preset, &args.config, base) {
        (Some(name), None, None) => presets::load(name)?,
        (Some(_), _, _) => bail!(
            "--preset starts a new run from a shipped recipe; it cannot be combined with \
             --config or --resume (flags override a preset)"
        ),
        (None, Some(path), _) => read_file(path)?,
        (None, None, Some(c)) => presets::Recipe {
            config: c,
            sets_out: true,
            meta: Default::default(),
        },
        (None, None, None) => presets::Recipe {
            config: Config::default(),
            sets_out: false,
            meta: Default::default(),
        },
    };
    let (base, file_sets_out) = (recipe.config, recipe.sets_out);
    let mut flags = args.flags.clone();
    if flags.contains_key("epochs") && !flags.contains_key("steps") {
        flags.insert("steps".into(), 0.into()); // epochs only count when steps is 0
    }
    let mut cfg = base
        .overridden(&flags)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    check_dataset(&cfg.dataset)?;
    notes.extend(recipe.meta.apply(&mut cfg, &flags)?);
    if cfg.is_toy() && args.resume.is_none() {
        let applied: Vec<String> = cfg
            .unset_data_defaults()
            .into_iter()
            .map(|(k, v)| format!("{k} = {}", short(v)))
            .collect();
        if !applied.is_empty() {
            notes.push(format!(
                "toy defaults applied for {}: {} (these cover ring8 in ~2000 steps; the image \
                 default lr {} barely learns)",
                cfg.dataset,
                applied.join(", "),
                short(IMAGE_DEFAULTS.lr_g)
            ));
        }
    }
    match (&args.resume, flags.contains_key("out_dir")) {
        (_, true) => {}
        (Some(r), false) => cfg.out_dir = r.clone(),
        (None, false) if !file_sets_out => cfg.out_dir = default_out_dir(&cfg),
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
    if args.preset.as_deref() == Some("list") {
        print!("{}", presets::list());
        return Ok(());
    }
    if args.distributed {
        bail!(
            "--distributed is for the `gan` binary started by mpirun or srun (`mpirun -n N \
             target/release/gan train --distributed ...`), not for this entry point"
        );
    }
    // The parameters are checked before the adapter is opened: a bad flag or preset fails
    // at once.
    let config = config_of(args)?;
    let ctx = gan_tensor::Context::new().context("opening the GPU adapter")?;
    println!("adapter: {}", ctx.adapter());
    if let Some(note) = ctx.adapter().advice() {
        eprintln!("{note}");
    }
    let trainer = open_trainer(config, &ctx)?;
    drive(args, trainer)
}

/// The resolved config of `args` and whether it resumes a run, with the notes to print
/// (rank 0 of a distributed run computes it for every rank).
pub(crate) fn config_of(args: &TrainArgs) -> Result<(Config, bool, Vec<String>)> {
    match &args.resume {
        Some(dir) => {
            let base = gan_train::read_config(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            let (mut cfg, _) = build_config(args, Some(base))?;
            // A resumed run stays in its directory (Trainer::resume ignores out_dir).
            cfg.out_dir = dir.clone();
            let latest = gan_train::read_latest(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
            let note = format!(
                "resuming {} at step {} (epoch {:.2})",
                dir.display(),
                latest.step,
                latest.epoch
            );
            Ok((cfg, true, vec![note]))
        }
        None => {
            let (cfg, notes) = build_config(args, None)?;
            let mut notes: Vec<String> = notes.into_iter().map(|n| format!("note: {n}")).collect();
            notes.push(format!(
                "loading {} and building the players...",
                cfg.dataset
            ));
            Ok((cfg, false, notes))
        }
    }
}

/// The error of a fresh run started where a run exists, with what to do.
pub(crate) fn start_error(e: gan_train::TrainError) -> anyhow::Error {
    match e {
        gan_train::TrainError::RunExists(d) => anyhow::anyhow!(
            "{} already holds a training run: continue it with `--resume {}` (add \
             --steps N to train longer), or pass another --out",
            d.display(),
            d.display()
        ),
        e => anyhow::anyhow!("{e}"),
    }
}

fn open_trainer(
    (cfg, resume, notes): (Config, bool, Vec<String>),
    ctx: &gan_tensor::Context,
) -> Result<Trainer> {
    for n in notes {
        println!("{n}");
    }
    if resume {
        Trainer::resume(ctx, &cfg.out_dir, Some(&cfg)).map_err(|e| anyhow::anyhow!("{e}"))
    } else {
        Trainer::new(ctx, cfg).map_err(start_error)
    }
}

/// Trains to the end with a progress bar (or a line per log) and prints the summary.
pub(crate) fn drive(args: &TrainArgs, mut trainer: Trainer) -> Result<()> {
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
    let first = trainer.step();
    let summary = trainer.train();
    bar.finish_and_clear();
    let summary = summary.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "done: {} steps in {:.1} s ({:.1} ms/step)",
        summary.steps,
        summary.elapsed,
        summary.elapsed * 1000.0 / summary.steps.max(1) as f64
    );
    let split = trainer.split();
    if split.ranks > 1 {
        let steps = (summary.steps - first).max(1) as f64;
        let gan = trainer.gan();
        let floats =
            cfg.k * gan.discriminator.store.values().numel() + gan.generator.store.values().numel();
        println!(
            "communication (rank 0): {:.2} ms/step in MPI calls, {:.2} MB all-reduced per \
             step ({} ranks)",
            trainer.communication_seconds() * 1000.0 / steps,
            floats as f64 * 4.0 / 1e6,
            split.ranks
        );
    }
    if let Some(m) = summary.last {
        println!(
            "final metrics (step {}, epoch {:.2}): D loss {:.4}, G loss {:.4}, D(x) {:.3}, \
             D(G(z)) {:.3}, V {:.4} ({:.4} at equilibrium; {})",
            m.step,
            m.epoch,
            m.d_loss,
            m.g_loss,
            m.d_real,
            m.d_fake,
            m.value,
            cfg.loss.equilibrium_value(),
            cfg.loss.value_meaning()
        );
    }
    println!("samples: {}", run_dir.join("samples/final.png").display());
    println!("report: {}", run_dir.join("report.md").display());
    Ok(())
}
