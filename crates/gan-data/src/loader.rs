//! Fixed-size batches over a [`Dataset`], shuffled with a seed per epoch.

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// How to cut a dataset into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Items per batch (above zero).
    pub batch_size: usize,
    /// Shuffle the order every epoch.
    pub shuffle: bool,
    /// Drop the last batch when it is smaller than `batch_size` (GAN training usually
    /// wants every batch full).
    pub drop_last: bool,
    /// Seed of the shuffles; epoch `e` uses an order derived from (seed, e).
    pub seed: u64,
}

impl LoaderOptions {
    /// Shuffled batches of `batch_size`, last partial batch dropped, seed 0.
    pub fn new(batch_size: usize) -> Self {
        LoaderOptions {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed: 0,
        }
    }
}

/// One batch: values of shape (N, C, H, W) and the labels, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// The values, item after item.
    pub images: Vec<f32>,
    /// One label per item when the dataset is labelled.
    pub labels: Option<Vec<u32>>,
    /// Shape of one item.
    pub shape: ImageShape,
}

impl Batch {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.images.len() / self.shape.len()
    }

    /// True when the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// (N, C, H, W).
    pub fn nchw(&self) -> [usize; 4] {
        [
            self.len(),
            self.shape.channels,
            self.shape.height,
            self.shape.width,
        ]
    }
}

/// Cuts a borrowed dataset into batches, one epoch at a time.
#[derive(Clone, Debug)]
pub struct Loader<'a> {
    dataset: &'a Dataset,
    options: LoaderOptions,
}

impl<'a> Loader<'a> {
    /// A loader over `dataset`; a batch size of zero is an error.
    pub fn new(dataset: &'a Dataset, options: LoaderOptions) -> Result<Self> {
        if options.batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch size 0; expected at least 1".into(),
            ));
        }
        Ok(Loader { dataset, options })
    }

    /// The options it was made with.
    pub fn options(&self) -> LoaderOptions {
        self.options
    }

    /// Number of batches one epoch yields.
    pub fn batches_per_epoch(&self) -> usize {
        let (n, b) = (self.dataset.len(), self.options.batch_size);
        if self.options.drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    /// The item order of `epoch`: shuffled from (seed, epoch), or 0..N.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if self.options.shuffle {
            // Mix the epoch in with a large odd constant so nearby seeds and epochs differ.
            let s = self.options.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(s));
        }
        order
    }

    /// The batches of `epoch`.
    pub fn epoch(&self, epoch: u64) -> Batches<'a> {
        Batches {
            dataset: self.dataset,
            order: self.order(epoch),
            next: 0,
            batch_size: self.options.batch_size,
            drop_last: self.options.drop_last,
        }
    }
}

/// Iterator over the batches of one epoch.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    dataset: &'a Dataset,
    order: Vec<usize>,
    next: usize,
    batch_size: usize,
    drop_last: bool,
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let left = self.order.len() - self.next;
        if left == 0 || (self.drop_last && left < self.batch_size) {
            return None;
        }
        let idx = &self.order[self.next..self.next + left.min(self.batch_size)];
        self.next += idx.len();
        let shape = self.dataset.shape();
        let mut images = Vec::with_capacity(idx.len() * shape.len());
        for &i in idx {
            images.extend_from_slice(self.dataset.image(i));
        }
        let labels = self
            .dataset
            .labels()
            .map(|l| idx.iter().map(|&i| l[i]).collect());
        Some(Batch {
            images,
            labels,
            shape,
        })
    }
}
