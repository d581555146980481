//! The error type of gan-train.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias of gan-train.
pub type Result<T> = std::result::Result<T, TrainError>;

/// What can go wrong configuring, training, resuming or sampling a GAN.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A model-level failure (layers, stores, optimizers, checkpoint files).
    #[error(transparent)]
    Nn(#[from] gan_nn::NnError),
    /// A tensor operation or the device failed.
    #[error(transparent)]
    Tensor(#[from] gan_tensor::Error),
    /// Loading or writing data failed.
    #[error(transparent)]
    Data(#[from] gan_data::DataError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// An invalid configuration value or argument.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A loss or D output became NaN or infinite.
    #[error(
        "training diverged at step {step}: {what} = {value} (not finite); the last good \
         checkpoint (step {last_checkpoint}) is kept in {run_dir}; lower the learning rates \
         and resume or restart"
    )]
    NonFinite {
        /// The step whose metrics were not finite.
        step: u64,
        /// Which metric.
        what: String,
        /// The value read back.
        value: f32,
        /// Step of the last checkpoint on disk (0: none).
        last_checkpoint: u64,
        /// The run directory.
        run_dir: PathBuf,
    },
    /// The run directory has no (complete) checkpoint.
    #[error("{0}: no checkpoint found (expected latest.toml written by a training run)")]
    NoCheckpoint(PathBuf),
    /// A checkpoint or state file could not be parsed or does not fit the model.
    #[error("{path}: corrupt or incompatible checkpoint: {msg}")]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// Resuming a run directory with a different configuration.
    #[error(
        "{dir} was trained with another configuration; differences (run dir -> requested): \
         {diffs}. Use another out_dir or the same settings"
    )]
    ConfigMismatch {
        /// The run directory.
        dir: PathBuf,
        /// `key: old -> new`, comma separated.
        diffs: String,
    },
    /// Starting a fresh run in a directory that already holds one.
    #[error(
        "{0} already holds a training run (latest.toml); resume it, or choose another out_dir"
    )]
    RunExists(PathBuf),
    /// Data-parallel training failed: a collective call, a rank, or the ranks' agreement.
    #[error("distributed training: {0}")]
    Distributed(String),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}
