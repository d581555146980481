//! gan-nn: trainable networks over gan-tensor's kernels.
//!
//! - [`Var`]: a tensor on a define-by-run tape. Operations on `Var`s record how to push a
//!   gradient back; [`Var::backward`] walks the tape in reverse. Gradients stay on the GPU.
//! - [`no_grad`] runs inference without recording; [`Var::detach`] cuts the tape (the
//!   discriminator step must not push gradients into the generator).

mod layers_ops;
mod ops;
mod var;

pub use layers_ops::Labels;
pub use var::{is_grad_enabled, no_grad, Var};

pub use gan_tensor::{Error, Result};
