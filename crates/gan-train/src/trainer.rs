//! The training loop and its run directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gan_data::{Dataset, Loader, LoaderOptions, Summary};
use gan_nn::{Adam, AdamConfig, InitScheme, Labels, Module, Optimizer, ParamStore, Sequential};
use gan_nn::{Slot, StoreConfig, Var};
use gan_tensor::bce::{bce_with_logits_loss, Targets};
use gan_tensor::{Context, Tensor};

use crate::config::{load_dataset, Config, DataSpec, GLoss, Prior};
use crate::error::{Result, TrainError};
use crate::models::{discriminator, generator, ItemShape};
use crate::rundir::{self, LatestState, MetricsRow};

/// Seeds of the independent random streams, all derived from [`Config::seed`].
pub(crate) mod seeds {
    /// SplitMix64 finaliser.
    pub fn mix(z: u64) -> u64 {
        gan_tensor::rng::SplitMix64::mix(z)
    }
    pub fn gen_init(seed: u64) -> u64 {
        mix(seed ^ 0x6765_6e00)
    }
    pub fn disc_init(seed: u64) -> u64 {
        mix(seed ^ 0x6469_7363)
    }
    pub fn latents(seed: u64) -> u64 {
        mix(seed ^ 0x6c61_7465)
    }
    pub fn fixed_latents(seed: u64) -> u64 {
        mix(seed ^ 0x6669_7865)
    }
}

/// Draws `n` latent codes `[n, dim]` from `prior` on the GPU (seed, stream).
pub fn sample_prior(
    ctx: &Context,
    prior: Prior,
    n: usize,
    dim: usize,
    seed: u64,
    stream: u64,
) -> Result<Tensor> {
    Ok(match prior {
        Prior::Uniform => Tensor::rand_uniform_stream(ctx, &[n, dim], -1.0, 1.0, seed, stream)?,
        Prior::Normal => Tensor::rand_normal_stream(ctx, &[n, dim], 0.0, 1.0, seed, stream)?,
    })
}

/// PacGAN packing: `[B, d1, ...]` -> `[B/m, m*d1, ...]` (m consecutive items side by side).
pub(crate) fn pack(x: &Var, m: usize) -> Result<Var> {
    if m == 1 {
        return Ok(x.clone());
    }
    let mut dims = x.dims().to_vec();
    dims[0] /= m;
    dims[1] *= m;
    Ok(x.reshape(&dims)?)
}

/// The metrics of one step, read back from the GPU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Generator steps done (1 after the first).
    pub step: u64,
    /// Epochs of real data consumed.
    pub epoch: f64,
    /// BCE(D(x), real label) + BCE(D(G(z)), 0) of the last discriminator step.
    pub d_loss: f32,
    /// The generator's loss (its objective, see [`GLoss`]).
    pub g_loss: f32,
    /// Mean D(x) over the real batch (D's output before its update).
    pub d_real: f32,
    /// Mean D(G(z)) over the generated batch (D's output before its update).
    pub d_fake: f32,
    /// The batch estimate of V(D, G) = E log D(x) + E log(1 - D(G(z))) (unsmoothed
    /// labels); -log 4 at the game's equilibrium.
    pub value: f32,
    /// Seconds of training so far (resumed runs include the earlier sessions).
    pub elapsed: f64,
}

/// Outcome of [`Trainer::train`].
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// Steps done.
    pub steps: u64,
    /// Steps the config asks for.
    pub total_steps: u64,
    /// The last metrics read back.
    pub last: Option<Metrics>,
    /// Seconds of training (all sessions).
    pub elapsed: f64,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// A callback receiving the metrics each time they are read back.
type LogFn = Box<dyn FnMut(&Metrics)>;

const NUM_METRICS: usize = 5;
const METRIC_NAMES: [&str; NUM_METRICS] = ["d_loss", "g_loss", "d_real", "d_fake", "value"];

/// A training run: configuration, both players, their optimizers, the step counter and
/// the run directory it writes (see the crate docs for the files).
pub struct Trainer {
    cfg: Config,
    ctx: Context,
    data: Dataset,
    item: ItemShape,
    g: Sequential,
    d: Sequential,
    gs: ParamStore,
    ds: ParamStore,
    opt_g: Adam,
    opt_d: Adam,
    step: u64,
    total_steps: u64,
    batches_per_epoch: usize,
    fixed_z: Tensor,
    metrics_buf: Tensor,
    metric_views: Vec<Tensor>,
    order: Option<(u64, Vec<usize>)>,
    host_batch: Vec<f32>,
    run_dir: PathBuf,
    started: Instant,
    elapsed_before: f64,
    rows: Vec<MetricsRow>,
    last_checkpoint: u64,
    on_log: Option<LogFn>,
    evaluator: Option<crate::eval::Evaluator>,
}

/// The players of a run, built and initialised (used by training and by
/// [`crate::generate`] / [`crate::discriminate`]).
pub(crate) struct Players {
    pub g: Sequential,
    pub d: Sequential,
    pub gs: ParamStore,
    pub ds: ParamStore,
}

pub(crate) fn item_shape(cfg: &Config, data_shape: gan_data::ImageShape) -> ItemShape {
    if DataSpec::parse(&cfg.dataset)
        .map(|s| s.is_toy())
        .unwrap_or(false)
    {
        ItemShape::Point2
    } else {
        ItemShape::Image(data_shape)
    }
}

pub(crate) fn build_players(ctx: &Context, cfg: &Config, item: ItemShape) -> Result<Players> {
    let g = generator(cfg, item)?;
    let d = discriminator(cfg, item)?;
    let gs = ParamStore::build(
        ctx,
        &g,
        &StoreConfig::seed(seeds::gen_init(cfg.seed))
            .prefix("gen")
            .init(InitScheme::Dcgan),
    )?;
    let ds = ParamStore::build(
        ctx,
        &d,
        &StoreConfig::seed(seeds::disc_init(cfg.seed))
            .prefix("disc")
            .init(InitScheme::Dcgan),
    )?;
    Ok(Players { g, d, gs, ds })
}

fn adam(cfg: &Config, lr: f64) -> AdamConfig {
    AdamConfig {
        beta1: cfg.beta1 as f32,
        beta2: cfg.beta2 as f32,
        ..AdamConfig::adam(lr as f32)
    }
}

/// Dropout random states of a model by name (name, state handle's step count).
fn rng_steps(model: &dyn Module, prefix: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    model.visit(prefix, &mut |name, slot| {
        if let Slot::Rng(r) = slot {
            out.insert(name.to_string(), r.steps());
        }
    });
    out
}

fn restore_rng_steps(model: &dyn Module, prefix: &str, saved: &BTreeMap<String, u64>) {
    model.visit(prefix, &mut |name, slot| {
        if let Slot::Rng(r) = slot {
            let want = saved.get(name).copied().unwrap_or(0);
            r.set_seed(r.seed()); // restarts the counter at 0
            for _ in 0..want {
                r.next();
            }
        }
    });
}

impl Trainer {
    /// Starts a fresh run in `cfg.out_dir` (created; it must not hold a run already):
    /// loads the data, builds and initialises both players, writes `config.toml`.
    pub fn new(ctx: &Context, cfg: Config) -> Result<Trainer> {
        let cfg = cfg.resolved()?;
        let dir = cfg.out_dir.clone();
        if dir.join(rundir::LATEST).exists() {
            return Err(TrainError::RunExists(dir));
        }
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let t = Trainer::build(ctx, cfg, dir)?;
        rundir::write_config(&t.run_dir, &t.cfg, &t.run_info())?;
        Ok(t)
    }

    /// Continues the run in `run_dir` from its latest checkpoint. `requested` (optional)
    /// must agree with the run's config in every field that changes the numbers (a clear
    /// error lists the differences); its `steps`/`epochs`, `log_every`, `sample_every`,
    /// `checkpoint_every` and `samples` replace the run's (e.g. to train longer).
    pub fn resume(ctx: &Context, run_dir: &Path, requested: Option<&Config>) -> Result<Trainer> {
        let state = rundir::read_latest(run_dir)?;
        let saved = rundir::read_config(run_dir)?;
        let mut cfg = saved.clone();
        if let Some(req) = requested {
            let req = req.resolved()?;
            let diffs = saved.numeric_diffs(&req);
            if !diffs.is_empty() {
                return Err(TrainError::ConfigMismatch {
                    dir: run_dir.to_path_buf(),
                    diffs: diffs.join(", "),
                });
            }
            cfg.steps = req.steps;
            cfg.epochs = req.epochs;
            cfg.log_every = req.log_every;
            cfg.sample_every = req.sample_every;
            cfg.checkpoint_every = req.checkpoint_every;
            cfg.samples = req.samples;
        }
        cfg.out_dir = run_dir.to_path_buf();
        if state.config_hash != saved.numeric_hash() {
            return Err(TrainError::CorruptCheckpoint {
                path: run_dir.join(rundir::LATEST),
                msg: format!(
                    "config hash {} does not match config.toml ({}); the files come from \
                     different runs",
                    state.config_hash,
                    saved.numeric_hash()
                ),
            });
        }
        let mut t = Trainer::build(ctx, cfg, run_dir.to_path_buf())?;
        let ck = run_dir.join(&state.checkpoint);
        rundir::load_checkpoint(&ck, &t.gs, &t.ds, Some((&mut t.opt_g, &mut t.opt_d)))?;
        restore_rng_steps(&t.d, "disc", &state.dropout);
        restore_rng_steps(&t.g, "gen", &state.dropout);
        t.step = state.step;
        t.last_checkpoint = state.step;
        t.elapsed_before = state.elapsed_s;
        t.rows = rundir::read_metrics(run_dir)?
            .into_iter()
            .filter(|r| r.step <= state.step)
            .collect();
        // What the interrupted session logged after its checkpoint is redone.
        rundir::write_metrics(run_dir, &t.rows)?;
        Ok(t)
    }

    fn build(ctx: &Context, cfg: Config, run_dir: PathBuf) -> Result<Trainer> {
        let data = load_dataset(&cfg)?;
        let item = item_shape(&cfg, data.shape());
        let loader = Loader::new(&data, Self::loader_options(&cfg))?;
        let batches_per_epoch = loader.batches_per_epoch();
        if batches_per_epoch == 0 {
            return Err(TrainError::Config(format!(
                "the dataset has {} items, fewer than batch_size = {}",
                data.len(),
                cfg.batch_size
            )));
        }
        let total_steps = Self::total_steps_of(&cfg, batches_per_epoch);
        let Players { g, d, gs, ds } = build_players(ctx, &cfg, item)?;
        let opt_g = Adam::new(&gs, adam(&cfg, cfg.lr_g))?;
        let opt_d = Adam::new(&ds, adam(&cfg, cfg.lr_d))?;
        let fixed_z = sample_prior(
            ctx,
            cfg.prior,
            cfg.samples.max(1),
            cfg.latent_dim,
            seeds::fixed_latents(cfg.seed),
            0,
        )?;
        let align = ctx.view_alignment();
        let metrics_buf = Tensor::zeros(ctx, &[NUM_METRICS * align])?;
        let metric_views = (0..NUM_METRICS)
            .map(|i| metrics_buf.view(i * align, &[1]))
            .collect::<gan_tensor::Result<Vec<_>>>()?;
        Ok(Trainer {
            host_batch: Vec::with_capacity(cfg.batch_size * item.numel()),
            cfg,
            ctx: ctx.clone(),
            data,
            item,
            g,
            d,
            gs,
            ds,
            opt_g,
            opt_d,
            step: 0,
            total_steps,
            batches_per_epoch,
            fixed_z,
            metrics_buf,
            metric_views,
            order: None,
            run_dir,
            started: Instant::now(),
            elapsed_before: 0.0,
            rows: Vec::new(),
            last_checkpoint: 0,
            on_log: None,
            evaluator: None,
        })
    }

    fn loader_options(cfg: &Config) -> LoaderOptions {
        LoaderOptions {
            batch_size: cfg.batch_size,
            shuffle: true,
            drop_last: true,
            seed: cfg.seed,
        }
    }

    fn total_steps_of(cfg: &Config, bpe: usize) -> u64 {
        if cfg.steps > 0 {
            cfg.steps
        } else {
            (cfg.epochs * bpe as u64).div_ceil(cfg.k as u64).max(1)
        }
    }

    fn run_info(&self) -> rundir::RunInfo {
        let a = self.ctx.adapter();
        rundir::RunInfo {
            adapter: a.name.clone(),
            backend: format!("{:?}", a.backend),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash: self.cfg.numeric_hash(),
            total_steps: self.total_steps,
            batches_per_epoch: self.batches_per_epoch as u64,
            g_parameters: self.gs.num_parameters() as u64,
            d_parameters: self.ds.num_parameters() as u64,
            item_shape: {
                let s = self.item.image_shape();
                [s.channels, s.height, s.width]
            },
            dataset_summary: Summary::of(&self.data).to_string(),
        }
    }

    /// Calls `f` with the metrics each time they are read back (every `log_every` steps).
    pub fn on_log(&mut self, f: impl FnMut(&Metrics) + 'static) {
        self.on_log = Some(Box::new(f));
    }

    /// Changes both learning rates for the rest of this session (e.g. a schedule). Not
    /// recorded: a resumed run starts again from the config's rates.
    pub fn set_learning_rates(&mut self, lr_g: f32, lr_d: f32) {
        self.opt_g.cfg.lr = lr_g;
        self.opt_d.cfg.lr = lr_d;
    }

    /// The resolved configuration in use.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Generator steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Generator steps the config asks for.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// Real batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The metrics rows logged so far.
    pub fn metrics(&self) -> &[MetricsRow] {
        &self.rows
    }

    /// The device.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The generator's and discriminator's parameter stores.
    pub fn stores(&self) -> (&ParamStore, &ParamStore) {
        (&self.gs, &self.ds)
    }

    /// The training data.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Uploads real batch number `b` (counting from the start of training).
    fn real_batch(&mut self, b: u64) -> Result<Var> {
        let bpe = self.batches_per_epoch as u64;
        let (epoch, pos) = (b / bpe, (b % bpe) as usize);
        if self.order.as_ref().map(|o| o.0) != Some(epoch) {
            let loader = Loader::new(&self.data, Self::loader_options(&self.cfg))?;
            self.order = Some((epoch, loader.order(epoch)));
        }
        let bs = self.cfg.batch_size;
        let order = &self.order.as_ref().expect("set above").1;
        self.host_batch.clear();
        for &i in &order[pos * bs..(pos + 1) * bs] {
            self.host_batch.extend_from_slice(self.data.image(i));
        }
        let t = Tensor::from_slice(&self.ctx, &self.host_batch, &self.item.batch_dims(bs))?;
        Ok(Var::constant(t))
    }

    /// One training step: `k` discriminator steps (each on a fresh real batch and fresh
    /// latents, G(z) detached) and one generator step (on the last discriminator step's
    /// G(z), as the PyTorch DCGAN example). Every metric is computed on the GPU into a
    /// small buffer; nothing is read back unless `read` is set.
    fn train_step(&mut self, read: bool) -> Result<Option<Metrics>> {
        let cfg = &self.cfg;
        let (k, bs, m) = (cfg.k as u64, cfg.batch_size, cfg.pack);
        let real_label = (1.0 - cfg.label_smoothing) as f32;
        let latent_seed = seeds::latents(cfg.seed);
        let (prior, latent_dim, loss_kind) = (cfg.prior, cfg.latent_dim, cfg.loss);
        let mut kept = None;
        for j in 0..k {
            let b = self.step * k + j;
            let x = self.real_batch(b)?;
            let z = Var::constant(sample_prior(
                &self.ctx,
                prior,
                bs,
                latent_dim,
                latent_seed,
                b,
            )?);
            let last = j + 1 == k;
            let fake = if last {
                self.g.forward(&z, true)?
            } else {
                gan_nn::no_grad(|| self.g.forward(&z, true))?
            };
            self.opt_d.zero_grad()?;
            let lr = self.d.forward(&pack(&x, m)?, true)?;
            let lf = self.d.forward(&pack(&fake.detach(), m)?, true)?;
            let loss_real = lr.bce_with_logits(Labels::Const(real_label))?;
            let loss_fake = lf.bce_with_logits(Labels::Const(0.0))?;
            let d_loss = loss_real.add(&loss_fake)?;
            d_loss.backward()?;
            self.opt_d.step()?;
            if last {
                kept = Some((fake, lr, lf, loss_real, loss_fake, d_loss));
            }
        }
        let (fake, lr, lf, loss_real, loss_fake, d_loss) = kept.expect("k >= 1");
        self.opt_g.zero_grad()?;
        // G's step needs the gradient of D's input, not of D's weights: D is frozen for
        // it (its weight-gradient products are skipped; they were discarded anyway).
        self.ds.set_frozen(true)?;
        let g_step = || -> Result<Var> {
            let lg = self.d.forward(&pack(&fake, m)?, true)?;
            let g_loss = match loss_kind {
                GLoss::NonSaturating => lg.bce_with_logits(Labels::Const(1.0))?,
                GLoss::Minimax => lg.bce_with_logits(Labels::Const(0.0))?.neg()?,
            };
            g_loss.backward()?;
            Ok(g_loss)
        };
        let g_loss = g_step();
        self.ds.set_frozen(false)?;
        let g_loss = g_loss?;
        self.opt_g.step()?;
        // Metrics, on the GPU, into the metrics buffer.
        let (lrv, lfv) = (lr.value(), lf.value());
        let d_real = lrv.sigmoid()?.mean_all()?;
        let d_fake = lfv.sigmoid()?.mean_all()?;
        let value = if real_label == 1.0 {
            loss_real.value().add(loss_fake.value())?.neg()?
        } else {
            bce_with_logits_loss(lrv, Targets::Const(1.0))?
                .add(loss_fake.value())?
                .neg()?
        };
        for (view, t) in
            self.metric_views
                .iter()
                .zip([d_loss.value(), g_loss.value(), &d_real, &d_fake, &value])
        {
            view.assign(t)?;
        }
        self.step += 1;
        if !read {
            return Ok(None);
        }
        let all = self.metrics_buf.to_vec()?;
        let align = self.ctx.view_alignment();
        let v: Vec<f32> = (0..NUM_METRICS).map(|i| all[i * align]).collect();
        let metrics = Metrics {
            step: self.step,
            epoch: (self.step * k) as f64 / self.batches_per_epoch as f64,
            d_loss: v[0],
            g_loss: v[1],
            d_real: v[2],
            d_fake: v[3],
            value: v[4],
            elapsed: self.elapsed(),
        };
        for (name, x) in METRIC_NAMES.iter().zip(&v) {
            if !x.is_finite() {
                return Err(TrainError::NonFinite {
                    step: self.step,
                    what: name.to_string(),
                    value: *x,
                    last_checkpoint: self.last_checkpoint,
                    run_dir: self.run_dir.clone(),
                });
            }
        }
        Ok(Some(metrics))
    }

    /// Epoch index of the batch consumed by step `s`'s first discriminator step.
    fn epoch_of_step(&self, s: u64) -> u64 {
        s * self.cfg.k as u64 / self.batches_per_epoch as u64
    }

    /// Runs one step and everything due after it (metrics row, samples, checkpoint).
    /// Returns the metrics when they were read back.
    pub fn step_once(&mut self) -> Result<Option<Metrics>> {
        let next = self.step + 1;
        let epoch_end = self.epoch_of_step(next) > self.epoch_of_step(self.step);
        let last = next >= self.total_steps;
        let due = |every: u64| {
            if every == 0 {
                epoch_end || last
            } else {
                next.is_multiple_of(every) || last
            }
        };
        let sample = due(self.cfg.sample_every);
        let ckpt = due(self.cfg.checkpoint_every);
        let log = next.is_multiple_of(self.cfg.log_every) || next == 1 || sample || ckpt || last;
        let metrics = self.train_step(log)?;
        if let Some(mm) = &metrics {
            self.rows.push(MetricsRow::from(mm));
            rundir::write_metrics(&self.run_dir, &self.rows)?;
            if let Some(f) = self.on_log.as_mut() {
                f(mm);
            }
        }
        // The last step of a run that ends mid-epoch gets only the final grid.
        if sample && (self.cfg.sample_every != 0 || epoch_end) {
            let name = if self.cfg.sample_every == 0 {
                format!("epoch-{:04}", self.epoch_of_step(next).max(1))
            } else {
                format!("step-{next:08}")
            };
            self.write_samples(&name)?;
            self.write_plots()?;
        }
        if ckpt {
            self.save_checkpoint()?;
        }
        let every = self.cfg.eval_every;
        if every > 0 && ((epoch_end && self.epoch_of_step(next).is_multiple_of(every)) || last) {
            // The evaluation reads the run directory's latest checkpoint.
            if !ckpt {
                self.save_checkpoint()?;
            }
            self.evaluate()?;
        }
        Ok(metrics)
    }

    /// Trains to the configured length; writes the final samples, plots, checkpoint and
    /// `report.md`.
    pub fn train(&mut self) -> Result<RunSummary> {
        self.train_until(self.total_steps)
    }

    /// Trains until `stop` steps are done (at most the configured length), then writes a
    /// checkpoint, plots and `report.md` (an interruption that [`Trainer::resume`]
    /// continues exactly).
    pub fn train_until(&mut self, stop: u64) -> Result<RunSummary> {
        let stop = stop.min(self.total_steps);
        let mut last = None;
        while self.step < stop {
            if let Some(mm) = self.step_once()? {
                last = Some(mm);
            }
        }
        if self.last_checkpoint != self.step {
            self.save_checkpoint()?;
        }
        if self.step >= self.total_steps {
            self.write_samples("final")?;
        }
        self.write_plots()?;
        rundir::write_report(self)?;
        Ok(RunSummary {
            steps: self.step,
            total_steps: self.total_steps,
            last: last.or_else(|| self.rows.last().map(|r| r.metrics())),
            elapsed: self.elapsed(),
            run_dir: self.run_dir.clone(),
        })
    }

    /// Generated items from the fixed latents (eval mode), `[samples, ...]` values.
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        let out = gan_nn::no_grad(|| self.g.forward(&Var::constant(self.fixed_z.clone()), false))?;
        Ok(out.value().to_vec()?)
    }

    fn write_samples(&self, name: &str) -> Result<()> {
        let values = self.fixed_samples()?;
        let dir = self.run_dir.join("samples");
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let path = dir.join(format!("{name}.png"));
        match self.item {
            ItemShape::Image(shape) => {
                let n = values.len() / shape.len();
                let columns = (n as f64).sqrt().ceil() as usize;
                let png = crate::plot::grid_png(&values, shape, columns.max(1))?;
                rundir::write_atomic(&path, &png)
            }
            ItemShape::Point2 => {
                let real: Vec<f32> =
                    self.data.images()[..self.data.images().len().min(4000)].to_vec();
                let png = crate::plot::scatter_png(&real, &values)?;
                rundir::write_atomic(&path, &png)
            }
        }
    }

    fn write_plots(&self) -> Result<()> {
        crate::plot::write_run_plots(&self.run_dir, &self.rows)
    }

    /// Writes a checkpoint of both players, both optimizers and the training state, then
    /// points `latest.toml` at it (atomically) and removes older checkpoints (unless
    /// `keep_checkpoints`).
    pub fn save_checkpoint(&mut self) -> Result<()> {
        // Never save a diverged model: the metrics of the last step must be finite.
        let all = self.metrics_buf.to_vec()?;
        let align = self.ctx.view_alignment();
        for (i, name) in METRIC_NAMES.iter().enumerate() {
            let x = all[i * align];
            if !x.is_finite() && self.step > 0 {
                return Err(TrainError::NonFinite {
                    step: self.step,
                    what: name.to_string(),
                    value: x,
                    last_checkpoint: self.last_checkpoint,
                    run_dir: self.run_dir.clone(),
                });
            }
        }
        let rel = format!("checkpoints/step-{:08}", self.step);
        let dir = self.run_dir.join(&rel);
        rundir::save_checkpoint(&dir, &self.gs, &self.ds, &self.opt_g, &self.opt_d)?;
        let mut dropout = rng_steps(&self.d, "disc");
        dropout.extend(rng_steps(&self.g, "gen"));
        let state = LatestState {
            step: self.step,
            epoch: (self.step * self.cfg.k as u64) as f64 / self.batches_per_epoch as f64,
            checkpoint: rel,
            config_hash: self.cfg.numeric_hash(),
            elapsed_s: self.elapsed(),
            adapter: self.ctx.adapter().name.clone(),
            dropout,
        };
        rundir::write_latest(&self.run_dir, &state)?;
        if !self.cfg.keep_checkpoints {
            rundir::prune_checkpoints(&self.run_dir, &state.checkpoint);
        }
        self.last_checkpoint = self.step;
        Ok(())
    }

    /// Evaluates the latest checkpoint with the metric set of the run's data (the
    /// classifier and real statistics are loaded at the first call), appends a row to
    /// `eval/history.csv` and writes `eval/metrics.json`.
    fn evaluate(&mut self) -> Result<()> {
        let opts = crate::eval::EvalOptions {
            count: (self.cfg.eval_count > 0).then_some(self.cfg.eval_count),
            floor: false,
            plot_name: format!("modes-step-{:08}.png", self.step),
            ..Default::default()
        };
        if self.evaluator.is_none() {
            let (kind, n) = crate::eval::run_kind(&self.run_dir, &opts)?;
            self.evaluator = Some(crate::eval::Evaluator::new(&self.ctx, kind, n, &opts)?);
        }
        let ev = self.evaluator.as_ref().expect("built above");
        let report = crate::eval::evaluate_with(&self.ctx, ev, &self.run_dir, &opts)?;
        crate::eval::append_history(&self.run_dir, &report)?;
        crate::eval::write_metrics(&self.run_dir, &report)?;
        Ok(())
    }

    pub(crate) fn report_text(&self) -> String {
        let c = &self.cfg;
        let mut s = String::new();
        let _ = writeln!(s, "# GAN training run\n");
        let status = if self.step >= self.total_steps {
            "finished".to_string()
        } else {
            format!("stopped (resume to continue to step {})", self.total_steps)
        };
        let _ = writeln!(
            s,
            "Status: {status} at step {} of {} ({:.2} epochs, {:.1} s of training) on `{}`.\n",
            self.step,
            self.total_steps,
            (self.step * c.k as u64) as f64 / self.batches_per_epoch as f64,
            self.elapsed(),
            self.ctx.adapter().name
        );
        let _ = writeln!(s, "## Parameters\n\n| parameter | value |\n| --- | --- |");
        for (key, v) in c.to_table() {
            let _ = writeln!(s, "| {key} | {v} |");
        }
        let _ = writeln!(
            s,
            "| (generator parameters) | {} |\n| (discriminator parameters) | {} |\n| (batches per epoch) | {} |\n",
            self.gs.num_parameters(),
            self.ds.num_parameters(),
            self.batches_per_epoch
        );
        if let Some(r) = self.rows.last() {
            let _ = writeln!(
                s,
                "## Last metrics (step {})\n\nd_loss {:.4}, g_loss {:.4}, D(x) {:.4}, D(G(z)) {:.4}, V {:.4} (equilibrium: D = 0.5, V = -log 4 = -1.3863)\n",
                r.step, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value
            );
        }
        if let Some(table) = crate::eval::history_table(&self.run_dir) {
            let _ = writeln!(
                s,
                "## Evaluations during training (`eval_every` = {} epochs, {} items each)\n\n{table}",
                c.eval_every,
                if c.eval_count > 0 { c.eval_count.to_string() } else { "the protocol's".into() }
            );
        }
        let _ = writeln!(s, "## Files\n");
        if self.run_dir.join("samples/final.png").exists() {
            let _ = writeln!(
                s,
                "Final samples (fixed latents):\n\n![final samples](samples/final.png)\n"
            );
        }
        let _ = writeln!(
            s,
            "Losses (red: D loss, blue: G loss, green: V estimate; gray line: V = -log 4):\n\n![losses](plots/losses.png)\n"
        );
        let _ = writeln!(
            s,
            "Discriminator outputs (red: mean D(x), blue: mean D(G(z)); gray line: D = 1/2):\n\n![D outputs](plots/d_outputs.png)\n"
        );
        let _ = writeln!(
            s,
            "- `config.toml`: every parameter, adapter, versions, dataset summary\n- `metrics.csv`: one row per logged step\n- `samples/`: grids of the fixed latents per epoch\n- `checkpoints/`: latest G, D and optimizer states (safetensors), pointed at by `latest.toml`"
        );
        s
    }
}
