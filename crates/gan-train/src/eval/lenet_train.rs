//! Training and evaluation of a classifier such as [`super::lenet::LeNet`] (what
//! `cargo xtask classifier` runs): batches already on the device ([`ClassBatch`]), one
//! epoch of cross-entropy steps ([`train_epoch`]) and the accuracy and loss of a set of
//! batches ([`evaluate`]). Both work for any [`Module`] that maps its input to logits.

use gan_nn::error::Error;
use gan_nn::{no_grad, Module, NnResult, Optimizer, Var};
use gan_tensor::Tensor;

use super::lenet::argmax_rows;

/// A batch of labelled images on the device.
#[derive(Clone, Debug)]
pub struct ClassBatch {
    /// The model's input (for [`super::lenet::LeNet`]: images `[N, 1, 28, 28]` in [-1, 1]).
    pub inputs: Tensor,
    /// Class indices as f32 `[N]` (what [`Var::cross_entropy`] takes).
    pub labels: Tensor,
    /// The same class indices on the host (for accuracy).
    pub host_labels: Vec<u32>,
}

impl ClassBatch {
    /// A batch of `inputs` (already on the device) and their `labels`.
    pub fn new(inputs: Tensor, labels: &[u32]) -> NnResult<Self> {
        let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        Ok(ClassBatch {
            labels: Tensor::from_slice(inputs.context(), &lf, &[labels.len()])?,
            inputs,
            host_labels: labels.to_vec(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.host_labels.len()
    }

    /// True without images.
    pub fn is_empty(&self) -> bool {
        self.host_labels.is_empty()
    }
}

fn count_correct(logits: &Tensor, labels: &[u32]) -> NnResult<usize> {
    let classes = logits.dims()[1];
    let pred = argmax_rows(&logits.to_vec()?, classes);
    Ok(pred.iter().zip(labels).filter(|(p, l)| p == l).count())
}

/// What one training epoch did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochStats {
    /// Optimizer steps taken.
    pub steps: usize,
    /// Images seen.
    pub images: usize,
    /// Mean cross-entropy over the steps (accumulated on the device, read once).
    pub loss: f32,
    /// Accuracy (training mode, before each update) on the sampled batches; None when
    /// none was sampled.
    pub sampled_accuracy: Option<f32>,
}

/// Options of [`train_epoch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainOptions {
    /// Read one batch's logits back every `sample_every` steps (0: never) to estimate
    /// the training accuracy; every other step runs without a readback.
    pub sample_every: usize,
    /// Stop after this many steps (None: the whole iterator).
    pub max_steps: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            sample_every: 10,
            max_steps: None,
        }
    }
}

/// One pass over `batches`: for each, zero the gradients, cross-entropy of `model`'s
/// logits (training mode), backward, `opt.step()`. The loss is summed on the device
/// and read back once at the end; NaN or infinity fails naming the loss.
pub fn train_epoch<I>(
    model: &dyn Module,
    opt: &mut dyn Optimizer,
    batches: I,
    options: TrainOptions,
) -> NnResult<EpochStats>
where
    I: IntoIterator<Item = NnResult<ClassBatch>>,
{
    let ctx = opt.store().context().clone();
    let loss_sum = Tensor::zeros(&ctx, &[1])?;
    let mut stats = EpochStats::default();
    let (mut seen, mut correct) = (0usize, 0usize);
    for batch in batches {
        if options.max_steps.is_some_and(|m| stats.steps >= m) {
            break;
        }
        let batch = batch?;
        opt.zero_grad()?;
        let logits = model.forward(&Var::constant(batch.inputs.clone()), true)?;
        let loss = logits.cross_entropy(&batch.labels)?;
        loss.backward()?;
        opt.step()?;
        loss_sum.add_assign(loss.value())?;
        if options.sample_every > 0 && stats.steps % options.sample_every == 0 {
            correct += count_correct(logits.value(), &batch.host_labels)?;
            seen += batch.len();
        }
        stats.steps += 1;
        stats.images += batch.len();
    }
    if stats.steps > 0 {
        let sum = loss_sum.to_vec()?[0];
        let mean = sum / stats.steps as f32;
        if !mean.is_finite() {
            return Err(Error::NonFinite {
                name: "cross_entropy".into(),
                value: mean,
            });
        }
        stats.loss = mean;
    }
    stats.sampled_accuracy = (seen > 0).then(|| correct as f32 / seen as f32);
    Ok(stats)
}

/// Accuracy and loss of a model on a set of batches.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EvalStats {
    /// Images evaluated.
    pub total: usize,
    /// Images whose largest logit is their label.
    pub correct: usize,
    /// Mean cross-entropy per image.
    pub loss: f32,
}

impl EvalStats {
    /// correct / total (0 when empty).
    pub fn accuracy(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f32 / self.total as f32
        }
    }
}

/// Runs `model` in eval mode (BatchNorm's running statistics), without a tape, over
/// `batches`, and counts the images whose argmax logit is their label.
pub fn evaluate<I>(model: &dyn Module, batches: I) -> NnResult<EvalStats>
where
    I: IntoIterator<Item = NnResult<ClassBatch>>,
{
    no_grad(|| {
        let mut stats = EvalStats::default();
        let mut loss = 0.0f64;
        for batch in batches {
            let batch = batch?;
            let logits = model.forward(&Var::constant(batch.inputs.clone()), false)?;
            let l = logits.cross_entropy(&batch.labels)?.item()?;
            loss += l as f64 * batch.len() as f64;
            stats.correct += count_correct(logits.value(), &batch.host_labels)?;
            stats.total += batch.len();
        }
        if stats.total > 0 {
            stats.loss = (loss / stats.total as f64) as f32;
        }
        Ok(stats)
    })
}
