//! Class-based scores of generated MNIST-like images, judged by the project's own MNIST
//! classifier ([`super::lenet::LeNet`], `data/classifier/mnist_lenet.safetensors`): the
//! class histogram, the classes covered, KL(histogram || uniform) and the mean
//! confidence; and the classifier's features for FD-LeNet.

use std::path::{Path, PathBuf};

use gan_nn::ParamStore;
use gan_tensor::{Context, Tensor};
use serde::Serialize;

use super::lenet::{load_mnist_classifier, LeNet};
use crate::error::{Result, TrainError};

/// Number of MNIST classes.
pub const CLASSES: usize = 10;

/// Images per device upload (bounds the device buffer; the classifier chunks again).
const UPLOAD: usize = 2000;

/// The classifier weights of the workspace: `gan_data::data_dir()/classifier/
/// mnist_lenet.safetensors` (honours `GAN_DATA_DIR`).
pub fn default_classifier_path() -> PathBuf {
    gan_data::data_dir()
        .join("classifier")
        .join("mnist_lenet.safetensors")
}

/// The MNIST classifier with its loaded weights.
pub struct MnistClassifier {
    model: LeNet,
    _store: ParamStore,
}

impl MnistClassifier {
    /// Loads the default LeNet's weights from `path`.
    pub fn load(ctx: &Context, path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(TrainError::Config(format!(
                "MNIST classifier weights {} not found; the evaluation of MNIST-like data \
                 needs them: train them with `cargo xtask classifier` or pass \
                 --classifier PATH",
                path.display()
            )));
        }
        let (model, store) =
            load_mnist_classifier(ctx, path).map_err(|e| TrainError::CorruptCheckpoint {
                path: path.to_path_buf(),
                msg: format!("not the default MNIST LeNet classifier: {e}"),
            })?;
        Ok(MnistClassifier {
            model,
            _store: store,
        })
    }

    /// Length of a feature vector (128).
    pub fn feature_dim(&self) -> usize {
        self.model.feature_dim()
    }

    /// (features `[n, 128]`, logits `[n, 10]`), row-major, of images `[n, 1, 28, 28]`
    /// (values in [-1, 1]) from one pass of the classifier.
    pub fn features_and_logits(
        &self,
        ctx: &Context,
        images: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let pixels = 28 * 28;
        if !images.len().is_multiple_of(pixels) {
            return Err(TrainError::Config(format!(
                "{} values are not whole 1x28x28 images",
                images.len()
            )));
        }
        let n = images.len() / pixels;
        let mut features = Vec::with_capacity(n * self.feature_dim());
        let mut logits = Vec::with_capacity(n * CLASSES);
        for part in images.chunks(UPLOAD * pixels) {
            let t = Tensor::from_slice(ctx, part, &[part.len() / pixels, 1, 28, 28])?;
            let (f, l) = self.model.image_features_and_logits(&t)?;
            features.extend(f);
            logits.extend(l);
        }
        Ok((features, logits))
    }

    /// Penultimate-layer features, row-major `[n, 128]`, of images `[n, 1, 28, 28]`
    /// (values in [-1, 1]).
    pub fn features(&self, ctx: &Context, images: &[f32]) -> Result<Vec<f32>> {
        Ok(self.features_and_logits(ctx, images)?.0)
    }

    /// Logits, row-major `[n, 10]`, of images `[n, 1, 28, 28]` (values in [-1, 1]).
    pub fn logits(&self, ctx: &Context, images: &[f32]) -> Result<Vec<f32>> {
        Ok(self.features_and_logits(ctx, images)?.1)
    }
}

/// KL(p || uniform) in nats of the histogram `counts` (p = counts / total, K bins):
/// sum over non-empty bins of p_i ln(p_i K). Empty bins add 0 (0 ln 0 = 0), so the value
/// is finite: 0 for a uniform histogram, ln K when all mass is in one bin. None when the
/// histogram is empty.
pub fn kl_to_uniform(counts: &[usize]) -> Option<f64> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let k = counts.len() as f64;
    let kl = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            p * (p * k).ln()
        })
        .sum::<f64>();
    Some(kl.max(0.0))
}

/// How the classifier sees a set of images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassScores {
    /// Images judged.
    pub count: usize,
    /// Images assigned to each class (argmax of the logits).
    pub histogram: Vec<usize>,
    /// Classes with at least one image.
    pub classes_covered: usize,
    /// KL(histogram || uniform) in nats ([`kl_to_uniform`]); ln 10 = 2.303 at worst.
    pub kl_to_uniform: f64,
    /// Mean over images of the largest softmax probability.
    pub mean_confidence: f64,
}

/// Scores of logits, row-major `[n, classes]`.
///
/// # Panics
/// When `classes` is 0 or the logits are not whole rows.
pub fn class_scores(logits: &[f32], classes: usize) -> ClassScores {
    assert!(classes > 0 && logits.len().is_multiple_of(classes));
    let mut histogram = vec![0; classes];
    let mut confidence = 0.0f64;
    for row in logits.chunks_exact(classes) {
        let (arg, max) =
            row.iter().enumerate().fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &v)| if v > b.1 { (i, v) } else { b },
            );
        histogram[arg] += 1;
        // max softmax = 1 / sum_j exp(l_j - max)
        let z: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
        confidence += 1.0 / z;
    }
    let count = logits.len() / classes;
    ClassScores {
        count,
        classes_covered: histogram.iter().filter(|&&c| c > 0).count(),
        kl_to_uniform: kl_to_uniform(&histogram).unwrap_or(0.0),
        mean_confidence: if count == 0 {
            0.0
        } else {
            confidence / count as f64
        },
        histogram,
    }
}

/// Argmax of each row of `logits` `[n, classes]`.
pub fn argmax(logits: &[f32], classes: usize) -> Vec<u32> {
    logits
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                )
                .0 as u32
        })
        .collect()
}
