//! One enum naming every dataset this crate can load, so the CLI and the trainer can
//! take a dataset as a value and load the split they need.

use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::folder::{load_folder, FolderOptions};
use crate::toy::ToyDistribution;
use crate::{cifar, idx, mnist, stacked};
use std::path::PathBuf;

/// A dataset and where it lives.
#[derive(Clone, Debug)]
pub enum Source {
    /// MNIST, checked against its published checksums; `None` is the vendored copy.
    Mnist(Option<PathBuf>),
    /// Any IDX dataset in the MNIST layout (Fashion-MNIST, KMNIST, EMNIST ...).
    Idx(PathBuf),
    /// CIFAR-10 binary batches.
    Cifar10(PathBuf),
    /// An image folder (no test split).
    Folder(PathBuf, FolderOptions),
    /// `n` Stacked MNIST images drawn with `seed` from the vendored MNIST of the split.
    StackedMnist {
        /// Number of images.
        n: usize,
        /// Seed of the draws.
        seed: u64,
    },
    /// `n` points of a 2-D toy mixture; the test split uses the next seed.
    Toy {
        /// The mixture.
        distribution: ToyDistribution,
        /// Number of points.
        n: usize,
        /// Seed of the training points.
        seed: u64,
    },
}

impl Source {
    /// Load `split`. Image folders have only a training split: use
    /// [`Dataset::random_split`] to hold some out.
    pub fn load(&self, split: Split) -> Result<Dataset> {
        match self {
            Source::Mnist(None) => mnist::load_vendored_mnist(split),
            Source::Mnist(Some(dir)) => mnist::load_mnist(dir, split),
            Source::Idx(dir) => idx::load_dir(dir, split),
            Source::Cifar10(dir) => cifar::load_cifar10(dir, split),
            Source::Folder(dir, opts) => match split {
                Split::Train => Ok(load_folder(dir, opts)?.0),
                Split::Test => Err(DataError::InvalidArgument(format!(
                    "{}: an image folder has no test split; load it as train and use \
                     Dataset::random_split",
                    dir.display()
                ))),
            },
            Source::StackedMnist { n, seed } => {
                stacked::stacked_mnist(&mnist::load_vendored_mnist(split)?, *n, *seed)
            }
            Source::Toy {
                distribution,
                n,
                seed,
            } => {
                let seed = if split == Split::Train {
                    *seed
                } else {
                    seed.wrapping_add(1)
                };
                distribution.sample_dataset(*n, seed)
            }
        }
    }
}
