//! Stacked MNIST: 3-channel images whose channels are three independently drawn
//! MNIST digits, labelled 100 * red + 10 * green + blue (1000 classes), the standard
//! mode-collapse benchmark (VEEGAN, PacGAN).

use crate::dataset::{Dataset, ImageShape};
use crate::error::{DataError, Result};
use rand::{Rng, SeedableRng};

/// Number of Stacked MNIST classes.
pub const STACKED_CLASSES: usize = 1000;

/// The digits (red, green, blue) of a Stacked MNIST label.
pub fn label_digits(label: u32) -> [u32; 3] {
    [label / 100 % 10, label / 10 % 10, label % 10]
}

/// Build `n` Stacked MNIST images from a labelled 1-channel 10-class `source`
/// (normally MNIST train), drawing the three digits of each with `seed`. The images
/// are materialised: n = 60000 at 28x28 takes 565 MB.
pub fn stacked_mnist(source: &Dataset, n: usize, seed: u64) -> Result<Dataset> {
    let shape = source.shape();
    let labels = match source.labels() {
        Some(l) if shape.channels == 1 && source.num_classes() == 10 && !l.is_empty() => l,
        _ => {
            return Err(DataError::InvalidArgument(format!(
                "stacked MNIST needs a labelled 1-channel 10-class source with items; got \
                 {} items of {shape}, {} classes, labels {}",
                source.len(),
                source.num_classes(),
                if source.labels().is_some() {
                    "present"
                } else {
                    "absent"
                }
            )))
        }
    };
    let out_shape = ImageShape::new(3, shape.height, shape.width);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut images = Vec::with_capacity(n * out_shape.len());
    let mut out_labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut label = 0;
        for _ in 0..3 {
            let i = rng.random_range(0..source.len());
            images.extend_from_slice(source.image(i));
            label = label * 10 + labels[i];
        }
        out_labels.push(label);
    }
    let names = (0..STACKED_CLASSES).map(|c| format!("{c:03}")).collect();
    Dataset::new(images, out_shape, Some(out_labels), STACKED_CLASSES)
        .map(|d| d.with_class_names(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten 2x2 "digits" whose pixels all equal their label / 10.
    fn tiny_digits() -> Dataset {
        let shape = ImageShape::new(1, 2, 2);
        let images = (0..10).flat_map(|d| [d as f32 / 10.0; 4]).collect();
        Dataset::new(images, shape, Some((0..10).collect()), 10).unwrap()
    }

    #[test]
    fn channels_match_the_label_digits() {
        let ds = stacked_mnist(&tiny_digits(), 200, 5).unwrap();
        assert_eq!(ds.nchw(), [200, 3, 2, 2]);
        assert_eq!(ds.num_classes(), 1000);
        for i in 0..ds.len() {
            let digits = label_digits(ds.labels().unwrap()[i]);
            let img = ds.image(i);
            for (c, &d) in digits.iter().enumerate() {
                assert!(img[c * 4..c * 4 + 4].iter().all(|&v| v == d as f32 / 10.0));
            }
        }
        assert_eq!(ds, stacked_mnist(&tiny_digits(), 200, 5).unwrap(), "seeded");
    }

    #[test]
    fn labels_spread_over_many_classes() {
        let ds = stacked_mnist(&tiny_digits(), 5000, 1).unwrap();
        let mut seen = vec![false; 1000];
        for &l in ds.labels().unwrap() {
            seen[l as usize] = true;
        }
        assert!(seen.iter().filter(|&&s| s).count() > 990);
    }

    #[test]
    fn unlabelled_or_color_sources_are_errors() {
        let s = ImageShape::new(1, 2, 2);
        let unlabelled = Dataset::new(vec![0.0; 8], s, None, 0).unwrap();
        assert!(stacked_mnist(&unlabelled, 1, 0).is_err());
        let rgb = Dataset::new(vec![0.0; 12], ImageShape::new(3, 2, 2), Some(vec![0]), 10);
        assert!(stacked_mnist(&rgb.unwrap(), 1, 0).is_err());
    }
}
