//! Datasets, loaders and image output for the GAN framework.
//!
//! Every loader yields a [`Dataset`]: values as f32, row-major (N, C, H, W), images
//! scaled to [-1, 1] (the generator ends with tanh), optional labels. Formats:
//! IDX (MNIST and kin, [`idx`], [`mnist`]), CIFAR-10 binary batches ([`cifar`]), image
//! folders ([`folder`]), 2-D toy mixtures ([`toy`]) and Stacked MNIST ([`stacked`]).
//! [`Loader`] cuts a dataset into seeded, shuffled batches; [`Summary`] describes it;
//! [`output`] writes PNGs, sample grids and IDX files ([`npy`]: float32 `.npy`
//! arrays); [`Source`] names any of them as one value.
//!
//! ```no_run
//! use gan_data::{load_vendored_mnist, Loader, LoaderOptions, Split, Summary};
//! let train = load_vendored_mnist(Split::Train)?;
//! println!("{}", Summary::of(&train));
//! let loader = Loader::new(&train, LoaderOptions::new(64))?;
//! for batch in loader.epoch(0) {
//!     assert_eq!(batch.nchw(), [64, 1, 28, 28]);
//! }
//! # Ok::<(), gan_data::DataError>(())
//! ```

#![warn(missing_docs)]

pub mod cifar;
pub mod dataset;
pub mod error;
mod fileio;
pub mod folder;
pub mod gif;
pub mod idx;
pub mod loader;
pub mod mnist;
pub mod npy;
pub mod output;
pub mod source;
pub mod stacked;
pub mod summary;
pub mod toy;

pub use cifar::load_cifar10;
pub use dataset::{Dataset, ImageShape, Split};
pub use error::{DataError, Result};
pub use folder::{load_folder, ColorMode, FolderOptions, FolderReport};
pub use gif::{encode_gif, write_gif};
pub use loader::{Batch, Loader, LoaderOptions};
pub use mnist::{data_dir, load_mnist, load_vendored_mnist, mnist_dir};
pub use npy::{read_npy_f32, write_npy_f32, NpyArray};
pub use output::{
    encode_png, encode_png_rgb, make_grid, write_grid, write_idx_dataset, write_png, write_pngs,
    GridOptions,
};
pub use source::Source;
pub use stacked::stacked_mnist;
pub use summary::Summary;
pub use toy::ToyDistribution;
