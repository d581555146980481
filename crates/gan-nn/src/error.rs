//! The error type of gan-nn's model-level API (modules, parameter stores, optimizers,
//! checkpoints). Tensor-level failures are wrapped unchanged; every other variant names
//! the layer, tensor or file concerned.

use std::path::PathBuf;

use thiserror::Error;

/// Result alias of gan-nn's model-level API.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong building, running, optimizing or checkpointing a model.
#[derive(Debug, Error)]
pub enum Error {
    /// A gan-tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] gan_tensor::Error),
    /// A layer failed; `path` is its position in the module tree (e.g. `layers.2`).
    #[error("in layer `{path}` ({layer}): {source}")]
    Layer {
        /// Hierarchical name of the layer, as in PyTorch (`0`, `layers.2`, ...).
        path: String,
        /// The layer's description, e.g. `Linear(in_features=8, out_features=1)`.
        layer: String,
        /// What went wrong inside.
        source: Box<Error>,
    },
    /// A layer received an input whose shape it cannot take.
    #[error("{layer} expects input {expected}, got {got:?}")]
    InputShape {
        /// The layer's description.
        layer: String,
        /// The accepted shapes, in words.
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// A parameter was used before a [`crate::ParamStore`] was built over its module.
    #[error("parameter {dims:?} is not allocated yet: build a ParamStore over the model first")]
    NotBuilt {
        /// The parameter's shape.
        dims: Vec<usize>,
    },
    /// A module reported one parameter under two names, or a parameter already in a store.
    #[error(
        "parameter `{name}` already belongs to a ParamStore (a layer may join one model once)"
    )]
    AlreadyBuilt {
        /// The second name it was reported under.
        name: String,
    },
    /// A loss or other watched value is NaN or infinite.
    #[error("{name} is not finite ({value}); lower the learning rate or check the inputs")]
    NonFinite {
        /// What the value is (e.g. `loss_d`).
        name: String,
        /// The value read back.
        value: f32,
    },
    /// An invalid argument or configuration.
    #[error("invalid {what}: {msg}")]
    Invalid {
        /// What was invalid.
        what: &'static str,
        /// Why.
        msg: String,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("reading checkpoint", ...).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A checkpoint file could not be parsed (truncated, corrupt, not safetensors).
    #[error("checkpoint {path} is corrupt or truncated: {msg}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        msg: String,
    },
    /// A tensor the model needs is not in the checkpoint.
    #[error(
        "checkpoint {path} has no tensor `{name}` (the model expects shape {expected:?}){more}"
    )]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// Its shape in the model.
        expected: Vec<usize>,
        /// Further problems, as "; and N more ..." (empty when none).
        more: String,
    },
    /// The checkpoint has a tensor the model does not.
    #[error("checkpoint {path} has tensor `{name}` of shape {found:?}, which the model does not have{more}")]
    UnexpectedTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// Its shape in the file.
        found: Vec<usize>,
        /// Further problems, as "; and N more ..." (empty when none).
        more: String,
    },
    /// A tensor's shape or dtype in the checkpoint differs from the model's.
    #[error("checkpoint {path}: tensor `{name}` is {found} in the file but {expected} in the model{more}")]
    TensorMismatch {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// Shape and dtype in the model, e.g. `F32 [8, 2]`.
        expected: String,
        /// Shape and dtype in the file.
        found: String,
        /// Further problems, as "; and N more ..." (empty when none).
        more: String,
    },
}

impl Error {
    /// This error as raised inside the child `name` of a container: layer paths grow
    /// from the inside out (`2` inside `layers` becomes `layers.2`).
    pub fn within(self, name: &str, layer: impl FnOnce() -> String) -> Error {
        match self {
            Error::Layer {
                path,
                layer,
                source,
            } => Error::Layer {
                path: format!("{name}.{path}"),
                layer,
                source,
            },
            other => Error::Layer {
                path: name.to_string(),
                layer: layer(),
                source: Box::new(other),
            },
        }
    }

    /// The innermost error (below any layer wrappers).
    pub fn root(&self) -> &Error {
        match self {
            Error::Layer { source, .. } => source.root(),
            other => other,
        }
    }
}
