//! A small LeNet-style image classifier (MNIST) whose convolutions run as matrix
//! products, with a generic training loop and evaluation over plain tensors.
//!
//! The network doubles as the feature extractor of the image-quality metrics:
//! [`LeNet::forward_features`] returns the penultimate layer (after the hidden Linear +
//! ReLU), [`LeNet::forward_with_features`] both that and the logits, and
//! [`LeNet::image_features`] / [`LeNet::image_logits`] take images `[N, C, H, W]`.
//!
//! # Why matrix products
//!
//! On a CPU adapter (lavapipe) gan-tensor's direct convolution kernels run at about
//! 0.3 GMAC/s while the register-blocked matmul reaches 8 GMAC/s and more, so a
//! LeNet built from [`Conv2d`](crate::Conv2d) would need hours for a few epochs. Here:
//!
//! 1. `conv1` (k x k, stride s, padding k/2, no bias) is a product with patches that
//!    [`LeNet::patches`] cuts on the host (im2col): the input of the network is
//!    `[N * P, C * k * k]`, one row per output position. The rows are ordered so that
//!    every block of 2x2 neighbouring positions is 4 consecutive rows (Z order inside
//!    the final grid, the final grid row-major).
//! 2. each further convolution is 2x2 with stride 2 (non-overlapping), so it is a
//!    reshape `[R, c] -> [R / 4, 4c]` followed by a Linear (`conv2`, `conv3` ...).
//! 3. BatchNorm1d over the rows of `[N * positions, c]` is exactly BatchNorm2d over
//!    `[N, c, H, W]`.
//! 4. `fc` (Linear + ReLU, the features) over the flattened final grid, then
//!    `classifier` (Linear to the logits).
//!
//! The default ([`LeNetConfig::default`]) is conv1 5x5/2 to 32 channels (14x14), one
//! 2x2/2 convolution to 64 channels (7x7), fc 3136 -> 128, classifier 128 -> 10.
//!
//! # PyTorch equivalent
//!
//! `conv1.weight` has `nn.Conv2d`'s shape `[c1, C, k, k]`. A 2x2/2 convolution's weight is
//! stored as Linear `[c_out, 4 c_in]` with columns ordered (dy, dx, c): the `nn.Conv2d`
//! weight is `w.view(c_out, 2, 2, c_in).permute(0, 3, 1, 2)`; `fc` reads the final grid
//! channels-last (y, x, c). This module has exactly the state_dict of the checkpoints:
//!
//! ```python
//! class LeNet(nn.Module):
//!     def __init__(self, channels=(32, 64), k=5, stride=2, grid=7, hidden=128, classes=10):
//!         super().__init__()
//!         self.stride = stride
//!         self.conv1 = nn.Conv2d(1, channels[0], k, stride, k // 2, bias=False)
//!         self.bn1 = nn.BatchNorm2d(channels[0])
//!         for i, (a, b) in enumerate(zip(channels, channels[1:]), start=2):
//!             setattr(self, f"conv{i}", nn.Linear(4 * a, b, bias=False))
//!             setattr(self, f"bn{i}", nn.BatchNorm1d(b))
//!         self.n = len(channels)
//!         self.fc = nn.Linear(grid * grid * channels[-1], hidden)
//!         self.classifier = nn.Linear(hidden, classes)
//!     def features(self, x):                          # x: [N, 1, 28, 28] in [-1, 1]
//!         h = F.relu(self.bn1(self.conv1(x))).permute(0, 2, 3, 1)  # [N, H, W, c]
//!         for i in range(2, self.n + 1):
//!             n, hh, ww, c = h.shape                  # space-to-depth, (dy, dx, c)
//!             h = h.view(n, hh // 2, 2, ww // 2, 2, c).permute(0, 1, 3, 2, 4, 5)
//!             h = h.reshape(n, hh // 2, ww // 2, 4 * c)
//!             h = getattr(self, f"conv{i}")(h)
//!             h = F.relu(getattr(self, f"bn{i}")(h.flatten(0, 2)).view(h.shape))
//!         return F.relu(self.fc(h.flatten(1)))
//!     def forward(self, x):
//!         return self.classifier(self.features(x))
//! ```
//!
//! Training ([`train_epoch`]) and evaluation ([`evaluate`]) take batches already on the
//! device ([`ClassBatch`]) and work for any [`Module`] that maps its input to logits.

use std::path::Path;

use gan_tensor::matmul::{matmul_with, Activation, MatmulOptions};
use gan_tensor::{Context, Tensor};

use crate::error::{Error, Result};
use crate::init::Role;
use crate::layers::{BatchNorm1d, Linear};
use crate::module::{child_name, Module, Slot};
use crate::optim::Optimizer;
use crate::params::{Param, ParamStore, StoreConfig};
use crate::var::{no_grad, Var};

/// Where the committed MNIST classifier weights live, relative to the workspace root.
pub const DEFAULT_CLASSIFIER_PATH: &str = "data/classifier/mnist_lenet.safetensors";

/// Builds a [`LeNet`] with [`LeNetConfig::default`] and loads trained weights from `path`
/// (usually the workspace root joined with [`DEFAULT_CLASSIFIER_PATH`]).
///
/// A missing file fails naming it and saying how to get it; a corrupt file or one with
/// other tensors fails naming the file and the tensor (see [`crate::checkpoint::load`]).
pub fn load_mnist_classifier(ctx: &Context, path: &Path) -> Result<(LeNet, ParamStore)> {
    if !path.is_file() {
        return Err(Error::Invalid {
            what: "MNIST classifier weights",
            msg: format!(
                "{} is not a file; the weights are committed at {DEFAULT_CLASSIFIER_PATH} \
                 (relative to the workspace root), or retrain them with \
                 `cargo xtask classifier`",
                path.display()
            ),
        });
    }
    let model = LeNet::new(LeNetConfig::default());
    let store = ParamStore::build(ctx, &model, &StoreConfig::seed(0))?;
    crate::checkpoint::load(path, &store)?;
    Ok((model, store))
}

/// Shape of a [`LeNet`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeNetConfig {
    /// Input channels (1 for MNIST).
    pub in_channels: usize,
    /// Input height and width (28 for MNIST).
    pub size: usize,
    /// conv1's kernel (odd; padding kernel / 2).
    pub kernel: usize,
    /// conv1's stride.
    pub stride: usize,
    /// Channels of conv1, then of each 2x2/2 convolution (at least one entry).
    pub channels: Vec<usize>,
    /// Width of the hidden Linear layer: the feature dimension.
    pub hidden: usize,
    /// Number of classes.
    pub classes: usize,
}

impl Default for LeNetConfig {
    /// MNIST: 1x28x28, conv1 5x5/2 -> 32 x 14x14, 2x2/2 -> 64 x 7x7, 128 features, 10
    /// classes.
    fn default() -> Self {
        LeNetConfig {
            in_channels: 1,
            size: 28,
            kernel: 5,
            stride: 2,
            channels: vec![32, 64],
            hidden: 128,
            classes: 10,
        }
    }
}

impl LeNetConfig {
    /// Side of conv1's output grid.
    pub fn grid1(&self) -> usize {
        self.size.div_ceil(self.stride)
    }

    /// Side of the final grid (after every 2x2/2 convolution).
    pub fn final_grid(&self) -> usize {
        self.grid1() >> (self.channels.len().saturating_sub(1))
    }

    /// Values per patch row: C * k * k.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Patch rows per image: conv1's output positions.
    pub fn positions(&self) -> usize {
        self.grid1() * self.grid1()
    }

    fn check(&self) -> std::result::Result<(), String> {
        let merges = self.channels.len().saturating_sub(1);
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err("channels must list at least one non-zero width".into());
        }
        if self.kernel.is_multiple_of(2) || self.stride == 0 || self.size == 0 {
            return Err("kernel must be odd, stride and size above zero".into());
        }
        if !self.grid1().is_multiple_of(1 << merges) {
            return Err(format!(
                "conv1's grid {} is not divisible by 2^{merges} for the 2x2/2 convolutions",
                self.grid1()
            ));
        }
        Ok(())
    }

    /// conv1's output positions (y, x) in row order: the final grid row-major, inside
    /// each final cell the 2x2 blocks of every level in Z order (finest innermost).
    pub fn position_order(&self) -> Vec<(usize, usize)> {
        let merges = self.channels.len().saturating_sub(1);
        let g = self.final_grid();
        let mut out = Vec::with_capacity(self.positions());
        fn rec(y: usize, x: usize, level: usize, out: &mut Vec<(usize, usize)>) {
            if level == 0 {
                out.push((y, x));
                return;
            }
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                rec(2 * y + dy, 2 * x + dx, level - 1, out);
            }
        }
        for y in 0..g {
            for x in 0..g {
                rec(y, x, merges, &mut out);
            }
        }
        out
    }
}

/// conv1 as a product with host-cut patches: weight `[c1, C, k, k]` (nn.Conv2d's), no
/// bias. Its input is data, so backward computes only the weight's gradient.
struct PatchConv {
    weight: Param,
    out: usize,
    patch: usize,
}

impl PatchConv {
    fn forward(&self, x: &Var) -> Result<Var> {
        let w = self.weight.var()?;
        let w2 = w.value().reshape(&[self.out, self.patch])?;
        let y = matmul_with(
            x.value(),
            &w2,
            MatmulOptions {
                trans_b: true,
                ..Default::default()
            },
        )?;
        let xv = x.value().clone();
        let dims = self.weight.dims().to_vec();
        let wants_dx = x.requires_grad();
        let w2b = w2.clone();
        Ok(Var::from_op(
            y,
            &[x, &w],
            Box::new(move |g| {
                // dW = g^T x: [c1, rows] x [rows, patch].
                let dw = matmul_with(
                    g,
                    &xv,
                    MatmulOptions {
                        trans_a: true,
                        ..Default::default()
                    },
                )?
                .reshape(&dims)?;
                let dx = if wants_dx {
                    Some(matmul_with(g, &w2b, MatmulOptions::default())?)
                } else {
                    None
                };
                Ok(vec![dx, Some(dw)])
            }),
        ))
    }
}

/// The classifier; see the module docs. Its input is [`LeNet::patches`] of the images.
pub struct LeNet {
    cfg: LeNetConfig,
    conv1: PatchConv,
    bns: Vec<BatchNorm1d>,
    merges: Vec<Linear>,
    fc: Linear,
    classifier: Linear,
}

impl LeNet {
    /// A fresh (unbuilt) network; build its parameters with [`crate::ParamStore::build`].
    ///
    /// # Panics
    /// When the configuration is inconsistent (see [`LeNetConfig`]).
    pub fn new(cfg: LeNetConfig) -> Self {
        if let Err(e) = cfg.check() {
            panic!("LeNetConfig {cfg:?}: {e}");
        }
        let c = &cfg.channels;
        let k = cfg.kernel;
        let g = cfg.final_grid();
        let conv1 = PatchConv {
            weight: Param::new(&[c[0], cfg.in_channels, k, k], Role::Weight),
            out: c[0],
            patch: cfg.patch_len(),
        };
        let bns = c.iter().map(|&ch| BatchNorm1d::new(ch)).collect();
        let merges = c
            .windows(2)
            .map(|w| Linear::new(4 * w[0], w[1]).no_bias())
            .collect();
        let fc = Linear::new(g * g * c[c.len() - 1], cfg.hidden).activation(Activation::Relu);
        let classifier = Linear::new(cfg.hidden, cfg.classes);
        LeNet {
            cfg,
            conv1,
            bns,
            merges,
            fc,
            classifier,
        }
    }

    /// The shape.
    pub fn config(&self) -> &LeNetConfig {
        &self.cfg
    }

    /// Length of the feature vector ([`LeNetConfig::hidden`]).
    pub fn feature_dim(&self) -> usize {
        self.cfg.hidden
    }

    /// Cuts conv1's patches of `n` images (row-major `[n, C, H, W]` on the host) into
    /// the network's input, row-major `[n * positions, C * k * k]`: the values of the
    /// k x k window (zero outside the image) in nn.Conv2d's weight order (c, ky, kx),
    /// rows in [`LeNetConfig::position_order`].
    pub fn patches(&self, images: &[f32], n: usize) -> Vec<f32> {
        let c = &self.cfg;
        let (s, k, ch) = (c.size, c.kernel, c.in_channels);
        let pad = k / 2;
        assert_eq!(images.len(), n * ch * s * s, "images must be [n, C, H, W]");
        let order = c.position_order();
        let plen = c.patch_len();
        let mut out = vec![0.0f32; n * order.len() * plen];
        for (b, img) in images.chunks_exact(ch * s * s).enumerate() {
            for (r, &(oy, ox)) in order.iter().enumerate() {
                let row = &mut out[(b * order.len() + r) * plen..][..plen];
                let (y0, x0) = (
                    (oy * c.stride) as isize - pad as isize,
                    (ox * c.stride) as isize - pad as isize,
                );
                for ci in 0..ch {
                    for ky in 0..k {
                        let y = y0 + ky as isize;
                        if y < 0 || y >= s as isize {
                            continue;
                        }
                        for kx in 0..k {
                            let x = x0 + kx as isize;
                            if x >= 0 && x < s as isize {
                                row[(ci * k + ky) * k + kx] =
                                    img[(ci * s + y as usize) * s + x as usize];
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Uploads [`LeNet::patches`] of `n` host images as a `[n * positions, C k k]` tensor.
    pub fn upload(&self, ctx: &Context, images: &[f32], n: usize) -> Result<Tensor> {
        let p = self.patches(images, n);
        Ok(Tensor::from_slice(
            ctx,
            &p,
            &[n * self.cfg.positions(), self.cfg.patch_len()],
        )?)
    }

    fn check_input(&self, x: &Var) -> Result<usize> {
        let c = &self.cfg;
        let d = x.dims();
        if d.len() != 2 || d[1] != c.patch_len() || !d[0].is_multiple_of(c.positions()) {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!(
                    "patches [N * {}, {}] (LeNet::patches)",
                    c.positions(),
                    c.patch_len()
                ),
                got: d.to_vec(),
            });
        }
        Ok(d[0] / c.positions())
    }

    /// The penultimate layer, `[N, hidden]` (after fc's ReLU), from patches: the
    /// features the generated-image metrics compare.
    pub fn forward_features(&self, x: &Var, train: bool) -> Result<Var> {
        let n = self.check_input(x)?;
        let c = &self.cfg.channels;
        let mut h = self
            .conv1
            .forward(x)
            .map_err(|e| e.within("conv1", || "Conv2d (as patches x weight)".into()))?;
        for (i, bn) in self.bns.iter().enumerate() {
            if i > 0 {
                let rows = h.dims()[0];
                h = h.reshape(&[rows / 4, 4 * c[i - 1]])?;
                let m = &self.merges[i - 1];
                h = m
                    .forward(&h, train)
                    .map_err(|e| e.within(&format!("conv{}", i + 1), || m.describe()))?;
            }
            h = bn
                .forward(&h, train)
                .map_err(|e| e.within(&format!("bn{}", i + 1), || bn.describe()))?
                .relu()?;
        }
        let g = self.cfg.final_grid();
        let h = h.reshape(&[n, g * g * c[c.len() - 1]])?;
        self.fc
            .forward(&h, train)
            .map_err(|e| e.within("fc", || self.fc.describe()))
    }

    /// (features `[N, hidden]`, logits `[N, classes]`) from one pass.
    pub fn forward_with_features(&self, x: &Var, train: bool) -> Result<(Var, Var)> {
        let f = self.forward_features(x, train)?;
        let logits = self
            .classifier
            .forward(&f, train)
            .map_err(|e| e.within("classifier", || self.classifier.describe()))?;
        Ok((f, logits))
    }

    fn images_chunked(&self, images: &Tensor, chunk: usize, logits: bool) -> Result<Vec<f32>> {
        let c = &self.cfg;
        let d = images.dims();
        if d.len() != 4 || d[1] != c.in_channels || d[2] != c.size || d[3] != c.size {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("images [N, {}, {}, {}]", c.in_channels, c.size, c.size),
                got: d.to_vec(),
            });
        }
        let host = images.to_vec()?;
        let per = c.in_channels * c.size * c.size;
        let mut out = Vec::new();
        no_grad(|| {
            for part in host.chunks(chunk.max(1) * per) {
                let n = part.len() / per;
                let x = Var::constant(self.upload(images.context(), part, n)?);
                let (f, l) = self.forward_with_features(&x, false)?;
                out.extend(if logits { l } else { f }.value().to_vec()?);
            }
            Ok(out)
        })
    }

    /// Features `[N * hidden]` (row-major) of images `[N, C, H, W]` on the device, in
    /// eval mode: read back, cut into patches on the host and run in chunks of 500.
    pub fn image_features(&self, images: &Tensor) -> Result<Vec<f32>> {
        self.images_chunked(images, 500, false)
    }

    /// Logits `[N * classes]` (row-major) of images `[N, C, H, W]`, in eval mode.
    pub fn image_logits(&self, images: &Tensor) -> Result<Vec<f32>> {
        self.images_chunked(images, 500, true)
    }
}

impl Module for LeNet {
    fn describe(&self) -> String {
        let c = &self.cfg;
        format!(
            "LeNet(in={}x{}x{}, conv1={}x{}/{}, channels={:?}, grid={}, hidden={}, classes={})",
            c.in_channels,
            c.size,
            c.size,
            c.kernel,
            c.kernel,
            c.stride,
            c.channels,
            c.final_grid(),
            c.hidden,
            c.classes
        )
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        Ok(self.forward_with_features(x, train)?.1)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        f(
            &child_name(prefix, "conv1.weight"),
            Slot::Param(&self.conv1.weight),
        );
        for (i, bn) in self.bns.iter().enumerate() {
            if i > 0 {
                self.merges[i - 1].visit(&child_name(prefix, &format!("conv{}", i + 1)), f);
            }
            bn.visit(&child_name(prefix, &format!("bn{}", i + 1)), f);
        }
        self.fc.visit(&child_name(prefix, "fc"), f);
        self.classifier.visit(&child_name(prefix, "classifier"), f);
    }
}

/// A batch of labelled images on the device.
#[derive(Clone, Debug)]
pub struct ClassBatch {
    /// The model's input (for [`LeNet`]: its patches, [`LeNet::upload`]).
    pub inputs: Tensor,
    /// Class indices as f32 `[N]` (what [`Var::cross_entropy`] takes).
    pub labels: Tensor,
    /// The same class indices on the host (for accuracy).
    pub host_labels: Vec<u32>,
}

impl ClassBatch {
    /// A batch of `inputs` (already on the device) and their `labels`.
    pub fn new(inputs: Tensor, labels: &[u32]) -> Result<Self> {
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

/// Index of the largest logit of each row of a row-major `[rows, classes]` buffer.
pub fn argmax_rows(logits: &[f32], classes: usize) -> Vec<u32> {
    logits
        .chunks_exact(classes)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best as u32
        })
        .collect()
}

fn count_correct(logits: &Tensor, labels: &[u32]) -> Result<usize> {
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
) -> Result<EpochStats>
where
    I: IntoIterator<Item = Result<ClassBatch>>,
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
pub fn evaluate<I>(model: &dyn Module, batches: I) -> Result<EvalStats>
where
    I: IntoIterator<Item = Result<ClassBatch>>,
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
