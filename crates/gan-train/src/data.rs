//! Dataset names (`mnist`, `idx:DIR`, `ring8`, `stacked-mnist` ...) and loading the
//! training data they name.

use std::path::PathBuf;

use gan_data::{Dataset, FolderOptions, Source, ToyDistribution};

use crate::error::{Result, TrainError};

/// Where the data come from, parsed from [`crate::Config::dataset`].
#[derive(Clone, Debug)]
pub enum DataSpec {
    /// Images from a [`Source`].
    Images(Source),
    /// A 2-D toy mixture.
    Toy(ToyDistribution),
    /// Stacked MNIST (VEEGAN, PacGAN): three MNIST digits as the R, G, B channels,
    /// 1000 classes, drawn from the vendored MNIST with the run's seed.
    StackedMnist,
}

impl DataSpec {
    /// Parses a dataset name (see [`crate::Config::dataset`]).
    pub fn parse(name: &str) -> Result<DataSpec> {
        let (kind, dir) = match name.split_once(':') {
            Some((k, d)) => (k, Some(PathBuf::from(d))),
            None => (name, None),
        };
        let need_dir = |dir: Option<PathBuf>| {
            dir.ok_or_else(|| {
                TrainError::Config(format!("dataset `{kind}` needs a directory: `{kind}:DIR`"))
            })
        };
        Ok(match kind {
            "mnist" => DataSpec::Images(Source::Mnist(dir)),
            "idx" => DataSpec::Images(Source::Idx(need_dir(dir)?)),
            "cifar10" => DataSpec::Images(Source::Cifar10(need_dir(dir)?)),
            "folder" => {
                let mut opts = FolderOptions::new(32);
                opts.progress = false;
                DataSpec::Images(Source::Folder(need_dir(dir)?, opts))
            }
            "ring8" => DataSpec::Toy(ToyDistribution::ring8()),
            "ring8_wide" => DataSpec::Toy(ToyDistribution::ring8_wide()),
            "grid25" => DataSpec::Toy(ToyDistribution::grid25()),
            "stacked-mnist" => {
                if dir.is_some() {
                    return Err(TrainError::Config(
                        "dataset `stacked-mnist` is built from the vendored MNIST and takes \
                         no directory; set `limit` for the number of images"
                            .into(),
                    ));
                }
                DataSpec::StackedMnist
            }
            other => {
                return Err(TrainError::Config(format!(
                    "unknown dataset `{other}`; expected mnist, mnist:DIR, idx:DIR, \
                     cifar10:DIR, folder:DIR, ring8, ring8_wide, grid25 or stacked-mnist"
                )))
            }
        })
    }

    /// True for 2-D toy data.
    pub fn is_toy(&self) -> bool {
        matches!(self, DataSpec::Toy(_))
    }
}

/// Stacked MNIST images drawn when `limit` is 0: 60000 (565 MB of f32 on the host),
/// as many as MNIST has training images.
pub const STACKED_DEFAULT: usize = 60_000;

impl DataSpec {
    /// Loads the training data: the first `limit` items (0: all; toy data: 0 means
    /// 10000 points; Stacked MNIST: the number of images drawn, 0 means
    /// [`STACKED_DEFAULT`]), toy points and Stacked MNIST drawn from `seed`.
    pub fn load(&self, limit: usize, seed: u64) -> Result<Dataset> {
        match self {
            DataSpec::Toy(dist) => {
                let n = if limit == 0 { 10_000 } else { limit };
                Ok(dist.sample_dataset(n, seed ^ 0x7075_6e6b)?)
            }
            DataSpec::StackedMnist => {
                let n = if limit == 0 { STACKED_DEFAULT } else { limit };
                let source = Source::StackedMnist {
                    n,
                    seed: seed ^ 0x5374_6163,
                };
                Ok(source.load(gan_data::Split::Train)?)
            }
            DataSpec::Images(source) => {
                let data = source.load(gan_data::Split::Train)?;
                if limit > 0 && limit < data.len() {
                    let idx: Vec<usize> = (0..limit).collect();
                    Ok(data.subset(&idx)?)
                } else {
                    Ok(data)
                }
            }
        }
    }
}
