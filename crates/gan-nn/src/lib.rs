//! gan-nn: trainable networks over gan-tensor's kernels.
//!
//! - [`Var`]: a tensor on a define-by-run tape. Operations on `Var`s record how to push a
//!   gradient back; [`Var::backward`] walks the tape in reverse. Gradients stay on the GPU.
//! - [`no_grad`] runs inference without recording; [`Var::detach`] cuts the tape (the
//!   discriminator step must not push gradients into the generator).
//! - [`Module`] layers ([`layers`]) with PyTorch's names, built into a [`ParamStore`]
//!   (all parameters in one flat buffer), updated by an [`optim::Optimizer`] in one
//!   dispatch per step, saved and loaded with [`checkpoint`] as PyTorch-compatible
//!   safetensors.
//!
//! Errors: `Var` operations return gan-tensor's error (re-exported at the root as
//! [`Error`] / [`Result`]); the model-level API (modules, stores, optimizers,
//! checkpoints) returns [`NnError`] / [`NnResult`] ([`error::Error`]), which wraps it
//! (`?` converts) and adds layer names, tensor names and file paths.

pub mod checkpoint;
pub mod error;
pub mod init;
pub mod layers;
mod layers_ops;
pub mod loss;
mod module;
mod ops;
pub mod optim;
mod param;
mod spec;
mod store;
mod var;

pub use error::{Error as NnError, Result as NnResult};
pub use init::{Init, InitScheme, Role};
pub use layers::*;
pub use layers_ops::Labels;
pub use module::{child_name, Module, Named, Sequential, Slot};
pub use optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
pub use param::{Entry, Param, RngState};
pub use spec::{LayerSpec, NormSpec, WeightSpec};
pub use store::{ParamStore, StoreConfig};
pub use var::{is_grad_enabled, no_grad, set_grads_in_place, InPlace, Var};

pub use gan_tensor::matmul::Activation;
pub use gan_tensor::{Error, Result};
