//! gan-tensor: f32 tensors in GPU buffers, operated on by hand-written WGSL compute
//! kernels through wgpu, with a plain-loop CPU reference for every operation.
//!
//! ```no_run
//! use gan_tensor::{Context, Tensor};
//! let ctx = Context::new()?;
//! let a = Tensor::from_slice(&ctx, &[1.0, 2.0, 3.0, 4.0], &[2, 2])?;
//! let b = a.relu()?.add(&a)?;
//! assert_eq!(b.to_vec()?, vec![2.0, 4.0, 6.0, 8.0]);
//! # Ok::<(), gan_tensor::Error>(())
//! ```

pub mod batchnorm;
pub mod bce;
mod context;
pub mod conv;
pub mod device;
pub mod elementwise;
pub mod embedding;
mod error;
pub mod matmul;
pub mod maxout;
pub mod ops;
pub mod optim;
mod pool;
pub mod reduce;
pub mod reference;
pub mod rng;
pub mod shaders;
mod shape;
pub mod softmax;
mod tensor;
pub mod testing;

pub use context::{Context, KernelTime, Stats};
pub use device::AdapterSummary;
pub use error::{Error, Result};
pub use shape::{Shape, MAX_DIM, MAX_DIMS};
pub use tensor::Tensor;
