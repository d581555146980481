//! The training loop: data feed, schedule, the GPU metrics buffer and the run directory
//! around a [`Gan`] and its [`Optimizers`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use gan_data::{Dataset, Summary};
use gan_tensor::{Context, Tensor};

use crate::conditional::{conditional_classes, grid_classes};
use crate::config::{load_dataset, Config};
use crate::error::{Result, TrainError};
use crate::eval::{self, EvalAt, EvalOptions, Evaluator};
use crate::feed::DataFeed;
use crate::gan::Gan;
use crate::metrics::{self, Metrics, MetricsBuffer};
use crate::models::ItemShape;
use crate::parallel::{self, Collective, Split};

mod distributed;
use crate::report::{self, RunFacts};
use crate::rundir::{self, LatestState, PendingMetrics};
use crate::step::{train_step_split, Optimizers};

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

/// A training run: the game, its optimizers, the data feed, the step counter and the
/// run directory it writes (see the crate docs for the files).
pub struct Trainer {
    cfg: Config,
    gan: Gan,
    opt: Optimizers,
    feed: DataFeed,
    step: u64,
    total_steps: u64,
    fixed_z: Tensor,
    metrics: MetricsBuffer,
    rows: Vec<Metrics>,
    run_dir: PathBuf,
    started: Instant,
    elapsed_before: f64,
    last_checkpoint: u64,
    on_log: Option<LogFn>,
    evaluator: Option<Evaluator>,
    split: Split,
    comm: Option<Box<dyn Collective>>,
    /// The step whose G_ema weights its BatchNorm statistics were last made for.
    ema_stats_at: std::cell::Cell<Option<u64>>,
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
        let (g, d) = (&t.gan.generator, &t.gan.discriminator);
        let ema = t.gan.ema.as_ref().map(|e| &e.player.store);
        let opts = Some((&mut t.opt.g, &mut t.opt.d));
        rundir::load_checkpoint(&ck, &g.store, &d.store, opts, ema)?;
        d.restore_rng_steps(&state.dropout);
        g.restore_rng_steps(&state.dropout);
        t.step = state.step;
        t.last_checkpoint = state.step;
        t.elapsed_before = state.elapsed_s;
        if let Some(p) = &state.pending_metrics {
            t.metrics.restore(p.sum_bits.map(f32::from_bits), p.steps)?;
        }
        t.rows = metrics::read_metrics(run_dir)?
            .into_iter()
            .filter(|r| r.step <= state.step)
            .collect();
        // What the interrupted session logged after its checkpoint is redone.
        metrics::write_metrics(run_dir, &t.rows)?;
        Ok(t)
    }

    fn build(ctx: &Context, cfg: Config, run_dir: PathBuf) -> Result<Trainer> {
        let data = load_dataset(&cfg)?;
        let item = ItemShape::for_config(&cfg, data.shape());
        let feed = DataFeed::new(data, item, cfg.batch_size, cfg.seed)?;
        let total_steps = if cfg.steps > 0 {
            cfg.steps
        } else {
            let bpe = feed.batches_per_epoch() as u64;
            (cfg.epochs * bpe).div_ceil(cfg.k as u64).max(1)
        };
        let gan = if cfg.conditional {
            Gan::with_classes(ctx, &cfg, item, conditional_classes(&cfg, feed.dataset())?)?
        } else {
            Gan::new(ctx, &cfg, item)?
        };
        let opt = Optimizers::new(&gan, &cfg)?;
        let cfg_micro = cfg.micro_batches;
        Ok(Trainer {
            fixed_z: gan.fixed_latents(cfg.samples.max(1))?,
            metrics: MetricsBuffer::new(ctx)?,
            cfg,
            gan,
            opt,
            feed,
            step: 0,
            total_steps,
            rows: Vec::new(),
            run_dir,
            started: Instant::now(),
            elapsed_before: 0.0,
            last_checkpoint: 0,
            on_log: None,
            evaluator: None,
            split: Split {
                micro: cfg_micro,
                ..Split::WHOLE
            },
            comm: None,
            ema_stats_at: Default::default(),
        })
    }

    fn run_info(&self) -> rundir::RunInfo {
        let a = self.gan.context().adapter();
        let s = self.gan.item.image_shape();
        rundir::RunInfo {
            adapter: a.name.clone(),
            backend: format!("{:?}", a.backend),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash: self.cfg.numeric_hash(),
            total_steps: self.total_steps,
            batches_per_epoch: self.feed.batches_per_epoch() as u64,
            g_parameters: self.gan.generator.store.num_parameters() as u64,
            d_parameters: self.gan.discriminator.store.num_parameters() as u64,
            item_shape: [s.channels, s.height, s.width],
            dataset_summary: Summary::of(self.feed.dataset()).to_string(),
            classes: self.gan.classes().unwrap_or(0),
        }
    }

    /// Calls `f` with the metrics each time they are read back (every `log_every` steps).
    pub fn on_log(&mut self, f: impl FnMut(&Metrics) + 'static) {
        self.on_log = Some(Box::new(f));
    }

    /// Changes both learning rates for the rest of this session (e.g. a schedule). Not
    /// recorded: a resumed run starts again from the config's rates.
    pub fn set_learning_rates(&mut self, lr_g: f32, lr_d: f32) {
        self.opt.g.cfg.lr = lr_g;
        self.opt.d.cfg.lr = lr_d;
    }

    /// The resolved configuration in use.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The game being trained.
    pub fn gan(&self) -> &Gan {
        &self.gan
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
        self.feed.batches_per_epoch()
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The metrics rows logged so far.
    pub fn metrics(&self) -> &[Metrics] {
        &self.rows
    }

    /// The device.
    pub fn context(&self) -> &Context {
        self.gan.context()
    }

    /// The training data.
    pub fn dataset(&self) -> &Dataset {
        self.feed.dataset()
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Epochs of real data consumed after `s` steps.
    fn epoch_at(&self, s: u64) -> f64 {
        (s * self.cfg.k as u64) as f64 / self.feed.batches_per_epoch() as f64
    }

    /// Epoch index of the batch consumed by step `s`'s first discriminator step.
    fn epoch_of_step(&self, s: u64) -> u64 {
        s * self.cfg.k as u64 / self.feed.batches_per_epoch() as u64
    }

    fn diverged(&self, what: &str, value: f32) -> TrainError {
        TrainError::NonFinite {
            step: self.step,
            what: what.to_string(),
            value,
            last_checkpoint: self.last_checkpoint,
            run_dir: self.run_dir.clone(),
        }
    }

    /// One training step ([`train_step`]); its metrics are added into the GPU buffer, and
    /// their means since the last read are read back only when `read` is set.
    fn run_step(&mut self, read: bool) -> Result<Option<Metrics>> {
        let k = self.cfg.k;
        let (gan, feed) = (&self.gan, &mut self.feed);
        let ctx = gan.context().clone();
        let first = self.step * k as u64;
        let comm = self.comm.as_deref();
        let out = train_step_split(gan, &mut self.opt, k, first, self.split, comm, |b, p, n| {
            let (x, labels) = feed.batch_piece(&ctx, b, p, n)?;
            let y = match (gan.classes(), labels) {
                (Some(_), Some(l)) => Some(gan.upload_labels(&l)?),
                _ => None,
            };
            Ok((x, y))
        })?;
        let [d, g, r, f, v] = out.metric_tensors(&self.gan)?;
        self.metrics.record([&d, &g, &r, &f, &v])?;
        self.step += 1;
        if !read {
            return Ok(None);
        }
        let v = self.read_metrics()?;
        if let Some((name, x)) = MetricsBuffer::first_non_finite(&v) {
            return Err(self.diverged(name, x));
        }
        Ok(Some(Metrics {
            step: self.step,
            epoch: self.epoch_at(self.step),
            d_loss: v[0],
            g_loss: v[1],
            d_real: v[2],
            d_fake: v[3],
            value: v[4],
            elapsed: self.elapsed(),
        }))
    }

    /// The metrics' means over the steps since the last read (a new interval starts);
    /// averaged over the ranks when distributed (so every rank sees the same values and
    /// takes the same decision on a non-finite one).
    fn read_metrics(&mut self) -> Result<[f32; crate::metrics::NUM_METRICS]> {
        let mut v = self.metrics.read()?;
        self.rank_mean(&mut v)?;
        Ok(v)
    }

    fn rank_mean(&self, v: &mut [f32; crate::metrics::NUM_METRICS]) -> Result<()> {
        if let Some(c) = &self.comm {
            c.all_reduce_sum(v)?;
            let n = c.size() as f32;
            v.iter_mut().for_each(|x| *x /= n);
        }
        Ok(())
    }

    /// The metrics interval still open (steps since the last log row), to save with a
    /// checkpoint; an error when its sums are not finite (a step diverged since the last
    /// row). The interval goes on: the next row still covers all its steps.
    fn pending_metrics(&self) -> Result<Option<PendingMetrics>> {
        let steps = self.metrics.pending_steps();
        if steps == 0 {
            return Ok(None);
        }
        let mut sums = self.metrics.sums()?;
        self.rank_mean(&mut sums)?;
        if let Some((name, x)) = MetricsBuffer::first_non_finite(&sums) {
            return Err(self.diverged(name, x / steps as f32));
        }
        Ok(Some(PendingMetrics {
            steps,
            sum_bits: sums.map(f32::to_bits),
        }))
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
        let metrics = self.run_step(log)?;
        if !self.is_root() {
            // Only the checkpoint involves the other ranks (metrics and agreement).
            if ckpt {
                self.save_checkpoint()?;
            }
            return Ok(metrics);
        }
        if let Some(mm) = &metrics {
            self.rows.push(*mm);
            metrics::write_metrics(&self.run_dir, &self.rows)?;
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
        if !self.is_root() {
            return Ok(RunSummary {
                steps: self.step,
                total_steps: self.total_steps,
                last,
                elapsed: self.elapsed(),
                run_dir: self.run_dir.clone(),
            });
        }
        if self.step >= self.total_steps {
            self.write_samples("final")?;
        }
        self.write_plots()?;
        self.write_report()?;
        Ok(RunSummary {
            steps: self.step,
            total_steps: self.total_steps,
            last: last.or_else(|| self.rows.last().copied()),
            elapsed: self.elapsed(),
            run_dir: self.run_dir.clone(),
        })
    }

    /// Generated items from the fixed latents (eval mode), `[samples, ...]` values.
    /// On a conditional run item i is made for class i mod classes (rows of classes in
    /// the grid).
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        self.refresh_ema_statistics()?;
        let n = self.fixed_z.dims()[0];
        let classes = self.gan.classes().map(|c| grid_classes(n, c));
        self.gan
            .sample_at_for(self.fixed_z.clone(), classes.as_deref())
    }

    /// Gives G_ema BatchNorm statistics of its own weights ([`Gan::refresh_ema_statistics`],
    /// batches of the run's size), once per step, before it is sampled, scored or saved.
    fn refresh_ema_statistics(&self) -> Result<()> {
        if self.ema_stats_at.get() != Some(self.step) {
            self.gan.refresh_ema_statistics(self.cfg.batch_size)?;
            self.ema_stats_at.set(Some(self.step));
        }
        Ok(())
    }

    fn write_samples(&self, name: &str) -> Result<()> {
        let values = self.fixed_samples()?;
        let dir = self.run_dir.join("samples");
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let path = dir.join(format!("{name}.png"));
        let png = match self.gan.item {
            ItemShape::Image(shape) => {
                let n = values.len() / shape.len();
                let columns = (n as f64).sqrt().ceil() as usize;
                crate::plot::grid_png(&values, shape, columns.max(1))?
            }
            ItemShape::Points(_) => {
                let real = self.feed.dataset().images();
                crate::plot::scatter_png(&real[..real.len().min(4000)], &values)?
            }
        };
        rundir::write_atomic(&path, &png)
    }

    fn write_plots(&self) -> Result<()> {
        crate::plot::write_run_plots(&self.run_dir, &self.rows, self.cfg.loss)
    }

    fn write_report(&self) -> Result<()> {
        let facts = RunFacts {
            config: &self.cfg,
            step: self.step,
            total_steps: self.total_steps,
            epoch: self.epoch_at(self.step),
            elapsed: self.elapsed(),
            adapter: &self.gan.context().adapter().name,
            parameters: (
                self.gan.generator.store.num_parameters(),
                self.gan.discriminator.store.num_parameters(),
            ),
            batches_per_epoch: self.feed.batches_per_epoch(),
            last: self.rows.last(),
            eval_history: eval::history_table(&self.run_dir),
            final_samples: self.run_dir.join("samples/final.png").exists(),
        };
        report::write_report(&self.run_dir, &facts)
    }

    /// Writes a checkpoint of both players, both optimizers and the training state, then
    /// points `latest.toml` at it (atomically) and removes older checkpoints (unless
    /// `keep_checkpoints`).
    pub fn save_checkpoint(&mut self) -> Result<()> {
        // Never save a diverged model: the metrics of the steps since the last row must
        // be finite (the rows' were checked when they were read).
        let pending_metrics = self.pending_metrics()?;
        if let Some(c) = &self.comm {
            // The ranks must still hold one model: checked at every checkpoint.
            let (g, d) = (&self.gan.generator.store, &self.gan.discriminator.store);
            parallel::check_agreement(c.as_ref(), "G", parallel::weights_hash(g)?, self.step)?;
            parallel::check_agreement(c.as_ref(), "D", parallel::weights_hash(d)?, self.step)?;
            if !self.is_root() {
                self.last_checkpoint = self.step;
                return Ok(());
            }
        }
        self.refresh_ema_statistics()?;
        let rel = rundir::checkpoint_name(self.step);
        let (g, d) = (&self.gan.generator, &self.gan.discriminator);
        let dir = self.run_dir.join(&rel);
        let ema = self.gan.ema.as_ref().map(|e| &e.player.store);
        rundir::save_checkpoint(&dir, &g.store, &d.store, &self.opt.g, &self.opt.d, ema)?;
        let mut dropout = d.rng_steps();
        dropout.extend(g.rng_steps());
        let state = LatestState {
            step: self.step,
            epoch: self.epoch_at(self.step),
            checkpoint: rel,
            config_hash: self.cfg.numeric_hash(),
            elapsed_s: self.elapsed(),
            adapter: self.gan.context().adapter().name.clone(),
            dropout,
            pending_metrics,
        };
        rundir::write_latest(&self.run_dir, &state)?;
        if !self.cfg.keep_checkpoints {
            rundir::prune_checkpoints(&self.run_dir, &state.checkpoint);
        }
        self.last_checkpoint = self.step;
        Ok(())
    }

    /// Scores the in-memory generator with the metric set of the run's data (the
    /// classifier and real statistics are loaded at the first call), appends a row to
    /// `eval/history.csv` and writes `eval/metrics.json`.
    fn evaluate(&mut self) -> Result<()> {
        self.refresh_ema_statistics()?;
        let opts = EvalOptions {
            count: (self.cfg.eval_count > 0).then_some(self.cfg.eval_count),
            floor: false,
            plot_name: format!("modes-step-{:08}.png", self.step),
            ..Default::default()
        };
        let s = self.gan.item.image_shape();
        if self.evaluator.is_none() {
            let shape = [s.channels, s.height, s.width];
            let (kind, n) = eval::eval_kind(&self.cfg.dataset, shape, &opts)?;
            self.evaluator = Some(Evaluator::new(self.gan.context(), kind, n, &opts)?);
        }
        let at = EvalAt {
            run_dir: &self.run_dir,
            dataset: &self.cfg.dataset,
            step: self.step,
            epoch: self.epoch_at(self.step),
        };
        let ev = self.evaluator.as_ref().expect("built above");
        let report = eval::evaluate_gan(ev, &self.gan, &at, &opts)?;
        eval::append_history(&self.run_dir, &report)?;
        eval::write_metrics(&self.run_dir, &report)?;
        Ok(())
    }
}
