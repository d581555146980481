//! gan-train: the adversarial game of Goodfellow et al. (2014) on gan-nn's GPU layers.
//!
//! - [`Config`]: every parameter of a run (serde; `config.toml`), with defaults that
//!   train the default MLP GAN on the vendored MNIST.
//! - [`models`]: the players (`mlp`, `dcgan`, and a 2-D `mlp` for toy mixtures).
//! - [`Trainer`]: owns both players, both Adam optimizers, the step counter and the run
//!   directory; [`Trainer::new`] starts, [`Trainer::resume`] continues exactly where a
//!   checkpoint stopped, [`Trainer::train`] runs to the end.
//! - [`generate`] / [`discriminate`]: use a trained run's checkpoint; [`RunModel`] loads one
//!   checkpoint (the latest or a kept step) once for many calls.
//!
//! One step = `k` discriminator steps (BCE with logits on a real batch, label 1 or
//! 1 - label_smoothing, and on G(z).detach(), label 0) and one generator step (minimax
//! or non-saturating loss). D loss, G loss, mean D(x), mean D(G(z)) and the batch
//! estimate of V(D, G) are computed on the GPU every step and read back only every
//! `log_every` steps.
//!
//! A run directory holds `config.toml`, `metrics.csv`, `samples/*.png`,
//! `plots/{losses,d_outputs}.png`, `checkpoints/step-N/{g,d}{,.optim}.safetensors`,
//! `latest.toml` (the state of the latest checkpoint) and `report.md`; every file is
//! written atomically.

pub mod config;
pub mod error;
pub mod eval;
mod infer;
pub mod models;
pub mod plot;
pub mod rundir;
pub mod theory;
mod trainer;

pub use config::{
    load_dataset, Arch, Config, DataDefaults, DataSpec, GLoss, Prior, IMAGE_DEFAULTS, TOY_DEFAULTS,
};
pub use error::{Result, TrainError};
pub use infer::{checkpoint_steps, discriminate, generate, Generated, RunModel};
pub use models::ItemShape;
pub use rundir::{read_config, read_latest, read_metrics, LatestState, MetricsRow, RunInfo};
pub use trainer::{sample_prior, Metrics, RunSummary, Trainer};
