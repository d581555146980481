//! Evaluation of a trained generator (`gan eval`): the metric set follows the run's data.
//!
//! - MNIST-like data (1x28x28 images): FD-LeNet, the Frechet distance (Heusel et al.
//!   2017) between the MNIST classifier's 128-d features of N generated and N real test
//!   images, next to its real-vs-real floor (N train against N test images), and the
//!   classifier's view of the generated images ([`classes`]). FD-LeNet is not FID: the
//!   feature network is the project's LeNet, not Inception, so its values compare only
//!   with each other.
//! - 2-D mixtures (ring8, ring8_wide, grid25): modes captured, % high quality and the
//!   reverse KL of the VEEGAN / PacGAN protocol ([`mixture`]), and a PNG of the points
//!   over the modes.
//! - Stacked MNIST: the classifier labels each channel, one of 1000 modes ([`stacked`]).
//!
//! [`evaluate_run`] evaluates a run directory's latest checkpoint; an [`Evaluator`]
//! keeps the classifier and the real statistics to evaluate several generators
//! ([`evaluate_gan`]: the trainer scores its in-memory [`Gan`] every few epochs).

pub mod classes;
pub mod conditional;
pub mod frechet;
mod history;
pub mod lenet;
pub mod lenet_train;
mod markdown;
pub mod mixture;
pub mod stacked;

pub use history::{append_history, history_table, HISTORY_CSV};

use std::path::{Path, PathBuf};
use std::time::Instant;

use gan_data::{Dataset, Split, ToyDistribution};
use gan_tensor::Context;
use serde::Serialize;

use crate::data::DataSpec;
use crate::error::{Result, TrainError};
use crate::gan::{Gan, Generated};
use crate::rundir;
use classes::{ClassScores, MnistClassifier};
use frechet::GaussianStats;
use mixture::ModeScores;
use stacked::StackedScores;

/// Generated (and real) images of the MNIST scores by default.
pub const MNIST_SAMPLES: usize = 10_000;
/// Folder of a run directory that `gan eval` writes into.
pub const EVAL_DIR: &str = "eval";
/// The metrics file in [`EVAL_DIR`].
pub const METRICS_JSON: &str = "metrics.json";
/// The plot of 2-D points in [`EVAL_DIR`].
pub const MODES_PNG: &str = "modes.png";

/// Options of an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalOptions {
    /// Items to generate; None: the protocol's (10000 MNIST, 2500 2-D points, 26000
    /// Stacked MNIST).
    pub count: Option<usize>,
    /// Seed of the generator's latents.
    pub seed: u64,
    /// Classifier weights; None: [`classes::default_classifier_path`].
    pub classifier: Option<PathBuf>,
    /// Also compute the FD-LeNet floor (train vs test, one more classifier pass).
    pub floor: bool,
    /// Write the 2-D plot into `RUN_DIR/eval/` ([`evaluate_run`], [`evaluate_gan`]).
    pub plot: bool,
    /// File name of that plot in `RUN_DIR/eval/` ([`MODES_PNG`] by default; during
    /// training e.g. `modes-step-00001000.png`).
    pub plot_name: String,
    /// Score the raw G alone even when the run has G_ema (`--no-ema`).
    pub no_ema: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            count: None,
            seed: 0,
            classifier: None,
            floor: true,
            plot: true,
            plot_name: MODES_PNG.to_string(),
            no_ema: false,
        }
    }
}

/// Which metric set a run gets.
#[derive(Clone, Debug)]
pub enum EvalKind {
    /// 1x28x28 images: FD-LeNet and class scores against the test split of `source`.
    Mnist(gan_data::Source),
    /// A 2-D mixture.
    Toy(ToyDistribution),
    /// Stacked MNIST (3x28x28, 1000 modes).
    StackedMnist,
}

impl EvalKind {
    /// The metric set for `dataset` (a `Config::dataset`) whose items have shape
    /// `item_shape` (C, H, W).
    pub fn for_dataset(dataset: &str, item_shape: [usize; 3]) -> Result<Self> {
        if dataset == "stacked-mnist" {
            return Ok(EvalKind::StackedMnist);
        }
        #[allow(unreachable_patterns)] // DataSpec may gain variants
        match DataSpec::parse(dataset)? {
            DataSpec::Toy(dist) => Ok(EvalKind::Toy(dist)),
            DataSpec::Images(source) if item_shape == [1, 28, 28] => Ok(EvalKind::Mnist(source)),
            _ => Err(TrainError::Config(format!(
                "no evaluation for dataset `{dataset}` with items of {}x{}x{}: FD-LeNet and \
                 the class scores need 1x28x28 images (the MNIST classifier's input), mode \
                 counts need ring8, ring8_wide, grid25 or stacked-mnist",
                item_shape[0], item_shape[1], item_shape[2]
            ))),
        }
    }

    /// Short name: "mnist", "toy" or "stacked-mnist".
    pub fn name(&self) -> &'static str {
        match self {
            EvalKind::Mnist(_) => "mnist",
            EvalKind::Toy(_) => "toy",
            EvalKind::StackedMnist => "stacked-mnist",
        }
    }

    /// Items the protocol generates.
    pub fn default_count(&self) -> usize {
        match self {
            EvalKind::Mnist(_) => MNIST_SAMPLES,
            EvalKind::Toy(_) => mixture::SAMPLES,
            EvalKind::StackedMnist => stacked::SAMPLES,
        }
    }
}

/// The classifier-based scores of MNIST-like images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MnistScores {
    /// FD-LeNet between generated and real test images.
    pub fd_lenet: f64,
    /// FD-LeNet between `real` train and `real` test images (None: not computed).
    pub fd_lenet_floor: Option<f64>,
    /// Generated images compared.
    pub generated: usize,
    /// Real images on each side (at most the test split's size).
    pub real: usize,
    /// The classifier's view of the generated images.
    pub classes: ClassScores,
}

/// The scores of one evaluation; exactly one of the three is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    /// MNIST-like data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnist: Option<MnistScores>,
    /// 2-D mixtures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<ModeScores>,
    /// Stacked MNIST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacked: Option<StackedScores>,
    /// A conditional generator on MNIST-like data: agreement with the requested class
    /// and FD-LeNet per class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditional: Option<conditional::ConditionalScores>,
}

/// Real statistics the MNIST scores compare against.
struct MnistReference {
    classifier: MnistClassifier,
    test: GaussianStats,
    /// The same test features grouped by class (for conditional generators).
    test_by_class: Vec<Vec<f32>>,
    floor: Option<f64>,
}

/// The classifier and the real statistics, kept to evaluate many generated sets.
pub struct Evaluator {
    kind: EvalKind,
    mnist: Option<MnistReference>,
    stacked: Option<MnistClassifier>,
}

/// `n` items of `data` spread evenly over it (deterministic, covers the whole split).
fn spread(data: &Dataset, n: usize) -> Vec<f32> {
    let n = n.min(data.len());
    (0..n)
        .flat_map(|i| data.image(i * data.len() / n).iter().copied())
        .collect()
}

impl Evaluator {
    /// Loads what `kind` needs: the classifier (MNIST-like and Stacked MNIST) and, for
    /// MNIST-like data, the features of `real` test images (and the floor when asked).
    /// `real` is the number of real images per side (capped at the test split's size).
    pub fn new(ctx: &Context, kind: EvalKind, real: usize, opts: &EvalOptions) -> Result<Self> {
        let path = opts
            .classifier
            .clone()
            .unwrap_or_else(classes::default_classifier_path);
        let (mut mnist, mut stacked) = (None, None);
        match &kind {
            EvalKind::Mnist(source) => {
                let classifier = MnistClassifier::load(ctx, &path)?;
                let dim = classifier.feature_dim();
                let test = source.load(Split::Test)?;
                let n = real.min(test.len()).max(2);
                let tf = classifier.features(ctx, &spread(&test, n))?;
                let test_by_class = match test.labels() {
                    Some(l) => {
                        let n = n.min(test.len());
                        let picked: Vec<u32> = (0..n).map(|i| l[i * test.len() / n]).collect();
                        conditional::real_by_class(&tf, &picked, dim, test.num_classes())
                    }
                    None => Vec::new(),
                };
                let test = GaussianStats::of(&tf, dim);
                let floor = if opts.floor {
                    let train = source.load(Split::Train)?;
                    let f = classifier.features(ctx, &spread(&train, test.count))?;
                    Some(frechet::frechet_distance(
                        &GaussianStats::of(&f, dim),
                        &test,
                    ))
                } else {
                    None
                };
                mnist = Some(MnistReference {
                    classifier,
                    test,
                    test_by_class,
                    floor,
                });
            }
            EvalKind::StackedMnist => stacked = Some(MnistClassifier::load(ctx, &path)?),
            EvalKind::Toy(_) => {}
        }
        Ok(Evaluator {
            kind,
            mnist,
            stacked,
        })
    }

    /// The metric set.
    pub fn kind(&self) -> &EvalKind {
        &self.kind
    }

    /// Scores of generated items (shaped like the run's data).
    pub fn evaluate(&self, ctx: &Context, items: &Generated) -> Result<Scores> {
        self.evaluate_for(ctx, items, None)
    }

    /// [`Evaluator::evaluate`] of a conditional generator's items made for `requested`
    /// classes (one per item, `classes` in all): MNIST-like data also get the
    /// classifier's agreement with the requested class and FD-LeNet per class.
    pub fn evaluate_for(
        &self,
        ctx: &Context,
        items: &Generated,
        requested: Option<(&[u32], usize)>,
    ) -> Result<Scores> {
        let mut scores = Scores::default();
        match &self.kind {
            EvalKind::Toy(dist) => scores.modes = Some(mixture::mode_scores(dist, &items.values)),
            EvalKind::Mnist(_) => {
                let r = self.mnist.as_ref().expect("built by new");
                if items.count < 2 {
                    return Err(TrainError::Config(
                        "FD-LeNet needs at least 2 generated images (a covariance)".into(),
                    ));
                }
                let (f, logits) = r.classifier.features_and_logits(ctx, &items.values)?;
                let dim = r.classifier.feature_dim();
                if let Some((req, classes)) = requested {
                    scores.conditional = Some(conditional::conditional_scores(
                        &f,
                        &logits,
                        req,
                        &r.test_by_class,
                        dim,
                        classes,
                    ));
                }
                let gen = GaussianStats::of(&f, dim);
                scores.mnist = Some(MnistScores {
                    fd_lenet: frechet::frechet_distance(&gen, &r.test),
                    fd_lenet_floor: r.floor,
                    generated: items.count,
                    real: r.test.count,
                    classes: classes::class_scores(&logits, classes::CLASSES),
                });
            }
            EvalKind::StackedMnist => {
                let c = self.stacked.as_ref().expect("built by new");
                // An item (3, 28, 28) is three consecutive 1x28x28 images.
                let logits = c.logits(ctx, &items.values)?;
                let digits = classes::argmax(&logits, classes::CLASSES);
                scores.stacked = Some(stacked::stacked_scores(&digits));
            }
        }
        Ok(scores)
    }
}

/// One evaluation of a run directory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// The run directory.
    pub run_dir: String,
    /// Its dataset.
    pub dataset: String,
    /// "mnist", "toy" or "stacked-mnist".
    pub kind: String,
    /// Generator steps of the checkpoint evaluated.
    pub step: u64,
    /// Epochs of the checkpoint evaluated.
    pub epoch: f64,
    /// Items generated.
    pub count: usize,
    /// Seed of the latents.
    pub seed: u64,
    /// The adapter that ran it.
    pub adapter: String,
    /// Seconds the evaluation took (classifier loading and real statistics included).
    pub seconds: f64,
    /// The scores.
    #[serde(flatten)]
    pub scores: Scores,
    /// The 2-D plot written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot: Option<String>,
    /// True when `scores` (and the plot) are G_ema's, the moving average of G's weights
    /// (the run was trained with `ema_decay`; `--no-ema` scores the raw G alone).
    pub ema: bool,
    /// The raw G's scores on the same latents, next to G_ema's `scores` (None without
    /// G_ema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_scores: Option<Scores>,
}

/// Evaluates the latest checkpoint of `run_dir` with the metric set of its dataset (G_ema
/// and the raw G when the run has G_ema, unless `opts.no_ema`);
/// with 2-D data and `opts.plot` writes `RUN_DIR/eval/modes.png`. Writes no metrics
/// file (see [`write_metrics`]).
pub fn evaluate_run(ctx: &Context, run_dir: &Path, opts: &EvalOptions) -> Result<EvalReport> {
    let start = Instant::now();
    let cfg = rundir::read_config(run_dir)?;
    let info = rundir::read_run_info(run_dir)?;
    let (kind, count) = eval_kind(&cfg.dataset, info.item_shape, opts)?;
    let evaluator = Evaluator::new(ctx, kind, count, opts)?;
    let latest = rundir::read_latest(run_dir)?;
    let mut gan = crate::infer::load_gan(ctx, run_dir, None)?;
    if opts.no_ema {
        gan.drop_ema();
    }
    let at = EvalAt {
        run_dir,
        dataset: &cfg.dataset,
        step: latest.step,
        epoch: latest.epoch,
    };
    let mut report = evaluate_gan(&evaluator, &gan, &at, opts)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// The metric set of `dataset` with items of `item_shape` (C, H, W), and the item
/// count `opts` asks for.
pub fn eval_kind(
    dataset: &str,
    item_shape: [usize; 3],
    opts: &EvalOptions,
) -> Result<(EvalKind, usize)> {
    let kind = EvalKind::for_dataset(dataset, item_shape)?;
    let count = opts.count.unwrap_or_else(|| kind.default_count());
    if count == 0 {
        return Err(TrainError::Config(
            "the evaluation count must be at least 1".into(),
        ));
    }
    Ok((kind, count))
}

/// What an evaluation reports of the generator it scored.
pub struct EvalAt<'a> {
    /// The run directory (2-D plots are written into its `eval/`).
    pub run_dir: &'a Path,
    /// The run's dataset.
    pub dataset: &'a str,
    /// Generator steps done.
    pub step: u64,
    /// Epochs done.
    pub epoch: f64,
}

/// Scores `gan`'s generator with an [`Evaluator`] built once (the classifier and the
/// real statistics are not recomputed): what training calls every few epochs on its
/// in-memory players. With G_ema the scores are its ([`Gan::sample`]) and the raw G's
/// come beside them (`raw_scores`). `seconds` counts this call only.
pub fn evaluate_gan(
    evaluator: &Evaluator,
    gan: &Gan,
    at: &EvalAt<'_>,
    opts: &EvalOptions,
) -> Result<EvalReport> {
    let start = Instant::now();
    let ctx = gan.context();
    let count = opts
        .count
        .unwrap_or_else(|| evaluator.kind().default_count());
    // A conditional generator makes every class in turn (item i: class i mod classes).
    let requested = gan
        .classes()
        .map(|c| (crate::conditional::grid_classes(count, c), c));
    let classes = requested.as_ref().map(|r| &r.0[..]);
    let asked = requested.as_ref().map(|(r, c)| (&r[..], *c));
    let items = gan.sample_for(count, opts.seed, None, classes)?;
    let scores = evaluator.evaluate_for(ctx, &items, asked)?;
    let raw_scores = match gan.ema {
        Some(_) => {
            let raw = gan.sample_raw_for(count, opts.seed, None, classes)?;
            Some(evaluator.evaluate_for(ctx, &raw, asked)?)
        }
        None => None,
    };
    let mut plot = None;
    if let (EvalKind::Toy(dist), true) = (evaluator.kind(), opts.plot) {
        let dir = at.run_dir.join(EVAL_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
        let path = dir.join(&opts.plot_name);
        rundir::write_atomic(&path, &mixture::modes_png(dist, &items.values)?)?;
        plot = Some(path.display().to_string());
    }
    Ok(EvalReport {
        run_dir: at.run_dir.display().to_string(),
        dataset: at.dataset.to_string(),
        kind: evaluator.kind().name().to_string(),
        step: at.step,
        epoch: at.epoch,
        count,
        seed: opts.seed,
        adapter: ctx.adapter().to_string(),
        seconds: start.elapsed().as_secs_f64(),
        scores,
        plot,
        ema: gan.ema.is_some(),
        raw_scores,
    })
}

/// Writes `report` as `RUN_DIR/eval/metrics.json` (atomically) and returns the path.
pub fn write_metrics(run_dir: &Path, report: &EvalReport) -> Result<PathBuf> {
    let dir = run_dir.join(EVAL_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let path = dir.join(METRICS_JSON);
    rundir::write_atomic(&path, report.to_json().as_bytes())?;
    Ok(path)
}

impl EvalReport {
    /// Pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an EvalReport always serializes") + "\n"
    }
}

impl Scores {
    /// The headline numbers as (name, value) pairs, in a fixed order per metric set
    /// (for a CSV of evaluations through training, or a table): MNIST: fd_lenet,
    /// classes_covered, kl_to_uniform, mean_confidence; 2-D: modes_captured,
    /// high_quality_percent, reverse_kl (NaN when undefined); Stacked MNIST:
    /// modes_captured, kl_to_uniform.
    pub fn columns(&self) -> Vec<(&'static str, f64)> {
        let mut c = Vec::new();
        if let Some(m) = &self.mnist {
            c.push(("fd_lenet", m.fd_lenet));
            c.push(("classes_covered", m.classes.classes_covered as f64));
            c.push(("kl_to_uniform", m.classes.kl_to_uniform));
            c.push(("mean_confidence", m.classes.mean_confidence));
        }
        if let Some(m) = &self.modes {
            c.push(("modes_captured", m.modes_captured as f64));
            c.push(("high_quality_percent", m.high_quality_percent));
            c.push(("reverse_kl", m.reverse_kl.unwrap_or(f64::NAN)));
        }
        if let Some(m) = &self.stacked {
            c.push(("modes_captured", m.modes_captured as f64));
            c.push(("kl_to_uniform", m.kl_to_uniform));
        }
        c
    }
}
