//! gan-train: the adversarial game of Goodfellow et al. (2014) on gan-nn's GPU layers.
//!
//! - [`Config`]: every parameter of a run (serde; `config.toml`), with defaults that
//!   train the default MLP GAN on the vendored MNIST.
//! - [`Gan`]: both players ([`models`]: `mlp`, `dcgan`, a 2-D `mlp`) and the rules of
//!   their game: the prior and its seeded latent streams ([`seeds`]), packing, the item
//!   shape, and the one definition of the [`Objective`] (D's and G's losses, V).
//! - [`train_step`]: one step of Algorithm 1 over a `Gan` and its [`Optimizers`];
//!   [`parallel`]: the same step with the batch split among MPI ranks (feature
//!   `distributed`, [`Trainer::distributed`]) and micro-batches.
//! - [`Trainer`]: the loop around them: data feed, schedule, the GPU metrics buffer and
//!   the run directory; [`Trainer::new`] starts, [`Trainer::resume`] continues exactly
//!   where a checkpoint stopped, [`Trainer::train`] runs to the end.
//! - [`infer`]: a trained run's `Gan` ([`load_gan`]) to [`Gan::sample`] and
//!   [`Gan::judge`] with; [`latent`]: truncation and interpolation of latents;
//!   [`eval`]: its scores; [`export`]: its generator as ONNX.
//!
//! D loss, G loss, mean D(x), mean D(G(z)) and the value (V(D, G) for the BCE losses) are
//! computed on the GPU every step and summed there; every `log_every` steps their means
//! since the previous row are read back as a row of `metrics.csv` ([`metrics`]).
//!
//! A run directory holds `config.toml`, `metrics.csv`, `samples/*.png`,
//! `plots/{losses,d_outputs}.png`, `checkpoints/step-N/{g,d}{,.optim}.safetensors` (and `gen_ema.safetensors` with
//! `ema_decay`: [`ema`]),
//! `latest.toml` (the state of the latest checkpoint) and `report.md`; every file is
//! written atomically.

pub mod conditional;
pub mod config;
pub mod data;
pub mod ema;
pub mod error;
pub mod eval;
pub mod export;
pub mod feed;
pub mod gan;
pub mod infer;
pub mod latent;
pub mod metrics;
pub mod models;
#[cfg(feature = "distributed")]
pub mod mpi;
pub mod objective;
pub mod parallel;
pub mod player;
pub mod plot;
pub mod report;
pub mod rundir;
pub mod seeds;
pub mod step;
mod trainer;

pub use config::{
    load_dataset, Arch, Config, DataDefaults, GLoss, Prior, SpectralNorm, IMAGE_DEFAULTS,
    TOY_DEFAULTS,
};
pub use data::{DataSpec, STACKED_DEFAULT};
pub use ema::Ema;
pub use error::{Result, TrainError};
pub use gan::{sample_prior, Game, Gan, Generated};
pub use infer::{discriminate, generate, generate_truncated, load_gan};
pub use metrics::{read_metrics, Metrics};
pub use models::ItemShape;
pub use objective::{DLoss, Objective};
pub use parallel::{Collective, Split};
pub use player::Player;
pub use rundir::{
    checkpoint_steps, read_config, read_latest, LatestState, PendingMetrics, RunInfo,
};
pub use step::{
    train_step, train_step_labelled, train_step_split, Optimizers, PieceOutputs, StepOutputs,
};
pub use trainer::{RunSummary, Trainer};
