//! The in-memory dataset every loader produces: images as f32 in [-1, 1], row-major
//! (N, C, H, W), with optional labels.

use crate::error::{DataError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The shape of one item: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// Number of channels (1 grayscale, 3 RGB, 2 for 2-D toy points).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

impl ImageShape {
    /// A shape of `channels` x `height` x `width`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        ImageShape {
            channels,
            height,
            width,
        }
    }

    /// Number of values in one item (C * H * W).
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True when one item holds no value.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of pixels in one channel (H * W).
    pub const fn plane(&self) -> usize {
        self.height * self.width
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.height, self.width)
    }
}

/// Which part of a dataset that ships a train/test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training part (MNIST's 60000, CIFAR-10's data_batch_1..5).
    Train,
    /// The held-out part (MNIST's t10k, CIFAR-10's test_batch).
    Test,
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

/// Map a u8 pixel to [-1, 1]: 0 -> -1, 255 -> 1.
#[inline]
pub fn u8_to_unit(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// Map a value in [-1, 1] back to a u8 pixel (clamped, rounded); inverse of [`u8_to_unit`].
#[inline]
pub fn unit_to_u8(v: f32) -> u8 {
    // NaN maps to 0 through the saturating cast.
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Convert a whole buffer of u8 pixels to [-1, 1], through a 256-entry table.
pub fn pixels_to_unit(pixels: &[u8]) -> Vec<f32> {
    let table: [f32; 256] = std::array::from_fn(|i| u8_to_unit(i as u8));
    pixels.iter().map(|&p| table[p as usize]).collect()
}

/// A set of equally shaped items held in memory.
///
/// `images` holds `len() * shape.len()` values, item after item, each in C, H, W
/// order. Images loaded from files are in [-1, 1]; toy 2-D points keep their own scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    shape: ImageShape,
    labels: Option<Vec<u32>>,
    num_classes: usize,
    class_names: Vec<String>,
}

impl Dataset {
    /// A dataset from its parts; checks that the lengths agree and that every label
    /// is below `num_classes`.
    pub fn new(
        images: Vec<f32>,
        shape: ImageShape,
        labels: Option<Vec<u32>>,
        num_classes: usize,
    ) -> Result<Self> {
        if shape.is_empty() {
            return Err(DataError::InvalidArgument(format!(
                "item shape {shape} holds no value; expected every dimension above zero"
            )));
        }
        if !images.len().is_multiple_of(shape.len()) {
            return Err(DataError::InvalidArgument(format!(
                "{} values is not a whole number of {shape} items",
                images.len()
            )));
        }
        let n = images.len() / shape.len();
        if let Some(labels) = &labels {
            if labels.len() != n {
                return Err(DataError::InvalidArgument(format!(
                    "{n} items but {} labels; expected one label per item",
                    labels.len()
                )));
            }
            if let Some(bad) = labels.iter().find(|&&l| l as usize >= num_classes) {
                return Err(DataError::InvalidArgument(format!(
                    "label {bad} is not below the number of classes {num_classes}"
                )));
            }
        }
        Ok(Dataset {
            images,
            shape,
            labels,
            num_classes,
            class_names: Vec::new(),
        })
    }

    /// A dataset from u8 pixels (scaled to [-1, 1]).
    pub fn from_u8(
        pixels: &[u8],
        shape: ImageShape,
        labels: Option<Vec<u32>>,
        num_classes: usize,
    ) -> Result<Self> {
        Self::new(pixels_to_unit(pixels), shape, labels, num_classes)
    }

    /// Attach human-readable class names (index = label).
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = names;
        self
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.images.len() / self.shape.len()
    }

    /// True when there is no item.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Shape of one item (C, H, W).
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// Shape of the whole set as (N, C, H, W).
    pub fn nchw(&self) -> [usize; 4] {
        [
            self.len(),
            self.shape.channels,
            self.shape.height,
            self.shape.width,
        ]
    }

    /// All values, item after item.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// The values of item `i`.
    ///
    /// # Panics
    /// When `i >= len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.shape.len();
        &self.images[i * n..(i + 1) * n]
    }

    /// The labels, if the dataset has them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// Number of classes (0 when unlabelled).
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Class names, index = label; empty when unknown.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// The parts: (images, shape, labels, num_classes).
    pub fn into_parts(self) -> (Vec<f32>, ImageShape, Option<Vec<u32>>, usize) {
        (self.images, self.shape, self.labels, self.num_classes)
    }

    /// The images as u8 pixels (clamped to [-1, 1] first).
    pub fn to_u8(&self) -> Vec<u8> {
        self.images.iter().map(|&v| unit_to_u8(v)).collect()
    }

    /// A new dataset of the items at `indices` (in that order, repeats allowed).
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::InvalidArgument(format!(
                "index {bad} out of range for a dataset of {} items",
                self.len()
            )));
        }
        let mut images = Vec::with_capacity(indices.len() * self.shape.len());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        Ok(Dataset {
            images,
            shape: self.shape,
            labels,
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
        })
    }

    /// Split into (train, test) at random, for formats that ship no split; `test_fraction`
    /// in [0, 1] of the items (rounded down) go to the test part.
    pub fn random_split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        if !(0.0..=1.0).contains(&test_fraction) {
            return Err(DataError::InvalidArgument(format!(
                "test fraction {test_fraction} is not in [0, 1]"
            )));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let n_test = (self.len() as f64 * test_fraction).floor() as usize;
        let (test, train) = order.split_at(n_test);
        Ok((self.subset(train)?, self.subset(test)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u8_round_trips_through_unit_range() {
        for v in 0..=255u8 {
            let u = u8_to_unit(v);
            assert!((-1.0..=1.0).contains(&u));
            assert_eq!(unit_to_u8(u), v);
        }
        assert_eq!(u8_to_unit(0), -1.0);
        assert_eq!(u8_to_unit(255), 1.0);
        assert_eq!(unit_to_u8(7.0), 255);
        assert_eq!(unit_to_u8(f32::NAN), 0);
    }

    #[test]
    fn new_rejects_inconsistent_parts() {
        let s = ImageShape::new(1, 2, 2);
        assert!(Dataset::new(vec![0.0; 7], s, None, 0).is_err());
        assert!(Dataset::new(vec![0.0; 8], s, Some(vec![0]), 1).is_err());
        assert!(Dataset::new(vec![0.0; 8], s, Some(vec![0, 3]), 3).is_err());
        assert!(Dataset::new(vec![0.0; 8], ImageShape::new(0, 2, 2), None, 0).is_err());
        let d = Dataset::new(vec![0.0; 8], s, Some(vec![0, 2]), 3).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.nchw(), [2, 1, 2, 2]);
    }

    #[test]
    fn random_split_partitions_items() {
        let s = ImageShape::new(1, 1, 1);
        let d = Dataset::new((0..10).map(|i| i as f32).collect(), s, None, 0).unwrap();
        let (train, test) = d.random_split(0.3, 1).unwrap();
        assert_eq!((train.len(), test.len()), (7, 3));
        let mut all: Vec<f32> = train
            .images()
            .iter()
            .chain(test.images())
            .copied()
            .collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.images());
    }
}
