//! A small LeNet-style image classifier (MNIST) built from gan-nn's layers: the judge
//! of the evaluation's class scores and the feature network of FD-LeNet. Its training
//! loop and evaluation are in [`super::lenet_train`].
//!
//! The network doubles as the feature extractor of the image-quality metrics:
//! [`LeNet::forward_features`] returns the penultimate layer (after the hidden Linear +
//! ReLU), [`LeNet::forward_with_features`] both that and the logits, and
//! [`LeNet::image_features`] / [`LeNet::image_logits`] run a whole set of images in
//! chunks, in eval mode. [`load_mnist_classifier`] loads the committed weights
//! ([`DEFAULT_CLASSIFIER_PATH`], 99.09% on MNIST's test set).
//!
//! # Architecture
//!
//! The default ([`LeNetConfig::default`]), input `[N, 1, 28, 28]` in [-1, 1]:
//!
//! | layer | output |
//! | --- | --- |
//! | conv1: Conv2d(1, 32, 5, stride 2, padding 2, bias=False), bn1: BatchNorm2d(32), ReLU | 32 x 14 x 14 |
//! | conv2: Conv2d(32, 64, 2, stride 2, bias=False), bn2: BatchNorm2d(64), ReLU | 64 x 7 x 7 |
//! | Flatten, fc: Linear(3136, 128), ReLU: the features | 128 |
//! | classifier: Linear(128, 10): the logits | 10 |
//!
//! Every layer is gan-nn's own ([`Conv2d`], [`BatchNorm2d`], [`Linear`]), so the
//! convolutions run as gan-tensor's GPU kernels (im2col + matmul) and nothing is computed
//! on the host. More 2x2/2 convolutions can follow conv1 ([`LeNetConfig::channels`]).
//!
//! # PyTorch equivalent
//!
//! The state_dict has exactly the names and layouts of this module (`fc` reads the
//! flattened NCHW grid (c, y, x), as `nn.Flatten` does), so a checkpoint loads with
//! `load_state_dict(..., strict=True)`:
//!
//! ```python
//! class LeNet(nn.Module):
//!     def __init__(self, channels=(32, 64), k=5, stride=2, grid=7, hidden=128, classes=10):
//!         super().__init__()
//!         self.conv1 = nn.Conv2d(1, channels[0], k, stride, k // 2, bias=False)
//!         self.bn1 = nn.BatchNorm2d(channels[0])
//!         for i, (a, b) in enumerate(zip(channels, channels[1:]), start=2):
//!             setattr(self, f"conv{i}", nn.Conv2d(a, b, 2, 2, bias=False))
//!             setattr(self, f"bn{i}", nn.BatchNorm2d(b))
//!         self.n = len(channels)
//!         self.fc = nn.Linear(grid * grid * channels[-1], hidden)
//!         self.classifier = nn.Linear(hidden, classes)
//!     def features(self, x):                          # x: [N, 1, 28, 28] in [-1, 1]
//!         for i in range(1, self.n + 1):
//!             x = F.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
//!         return F.relu(self.fc(x.flatten(1)))
//!     def forward(self, x):
//!         return self.classifier(self.features(x))
//! ```

use std::path::Path;

use gan_nn::error::Error;
use gan_nn::{
    checkpoint, child_name, no_grad, Activation, BatchNorm2d, Conv2d, Linear, Module, NnResult,
    ParamStore, Slot, StoreConfig, Var,
};
use gan_tensor::{Context, Tensor};

/// Where the committed MNIST classifier weights live, relative to the workspace root.
pub const DEFAULT_CLASSIFIER_PATH: &str = "data/classifier/mnist_lenet.safetensors";

/// Builds a [`LeNet`] with [`LeNetConfig::default`] and loads trained weights from `path`
/// (usually the workspace root joined with [`DEFAULT_CLASSIFIER_PATH`]).
///
/// A missing file fails naming it and saying how to get it; a corrupt file or one with
/// other tensors fails naming the file and the tensor (see [`gan_nn::checkpoint::load`]).
pub fn load_mnist_classifier(ctx: &Context, path: &Path) -> NnResult<(LeNet, ParamStore)> {
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
    checkpoint::load(path, &store)?;
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
    /// Side of conv1's output grid: `(size + 2 (k / 2) - k) / stride + 1`.
    pub fn grid1(&self) -> usize {
        self.size.div_ceil(self.stride)
    }

    /// Side of the final grid (each 2x2/2 convolution halves it, rounding down).
    pub fn final_grid(&self) -> usize {
        self.grid1() >> (self.channels.len().saturating_sub(1))
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.channels.is_empty() || self.channels.contains(&0) {
            return Err("channels must list at least one non-zero width".into());
        }
        if self.kernel.is_multiple_of(2) || self.stride == 0 || self.size == 0 {
            return Err("kernel must be odd, stride and size above zero".into());
        }
        if self.in_channels == 0 || self.hidden == 0 || self.classes == 0 {
            return Err("in_channels, hidden and classes must be above zero".into());
        }
        if self.final_grid() == 0 {
            return Err(format!(
                "conv1's {0}x{0} grid is too small for {1} 2x2/2 convolutions",
                self.grid1(),
                self.channels.len() - 1
            ));
        }
        Ok(())
    }
}

/// The classifier; see the module docs. Its input is images `[N, C, H, W]`.
pub struct LeNet {
    cfg: LeNetConfig,
    /// conv1 (k x k / stride), then the 2x2/2 convolutions.
    convs: Vec<Conv2d>,
    bns: Vec<BatchNorm2d>,
    fc: Linear,
    classifier: Linear,
}

impl LeNet {
    /// A fresh (unbuilt) network; build its parameters with [`ParamStore::build`].
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
        let mut convs = vec![Conv2d::new(cfg.in_channels, c[0], k)
            .stride(cfg.stride)
            .padding(k / 2)
            .no_bias()];
        convs.extend(
            c.windows(2)
                .map(|w| Conv2d::new(w[0], w[1], 2).stride(2).no_bias()),
        );
        let bns = c.iter().map(|&ch| BatchNorm2d::new(ch)).collect();
        let fc = Linear::new(g * g * c[c.len() - 1], cfg.hidden).activation(Activation::Relu);
        let classifier = Linear::new(cfg.hidden, cfg.classes);
        LeNet {
            cfg,
            convs,
            bns,
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

    fn check_images(&self, d: &[usize]) -> NnResult<()> {
        let c = &self.cfg;
        if d.len() != 4 || d[1] != c.in_channels || d[2] != c.size || d[3] != c.size {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("images [N, {}, {}, {}]", c.in_channels, c.size, c.size),
                got: d.to_vec(),
            });
        }
        Ok(())
    }

    /// The penultimate layer, `[N, hidden]` (after fc's ReLU), of images
    /// `[N, C, H, W]`: the features the generated-image metrics compare.
    pub fn forward_features(&self, x: &Var, train: bool) -> NnResult<Var> {
        self.check_images(x.dims())?;
        let mut h = x.clone();
        for (i, (conv, bn)) in self.convs.iter().zip(&self.bns).enumerate() {
            h = conv
                .forward(&h, train)
                .map_err(|e| e.within(&format!("conv{}", i + 1), || conv.describe()))?;
            h = bn
                .forward(&h, train)
                .map_err(|e| e.within(&format!("bn{}", i + 1), || bn.describe()))?
                .relu()?;
        }
        // nn.Flatten: [N, c, g, g] -> [N, c g g] in (c, y, x) order.
        let d = h.dims().to_vec();
        let h = h.reshape(&[d[0], d[1..].iter().product()])?;
        self.fc
            .forward(&h, train)
            .map_err(|e| e.within("fc", || self.fc.describe()))
    }

    /// (features `[N, hidden]`, logits `[N, classes]`) from one pass.
    pub fn forward_with_features(&self, x: &Var, train: bool) -> NnResult<(Var, Var)> {
        let f = self.forward_features(x, train)?;
        let logits = self
            .classifier
            .forward(&f, train)
            .map_err(|e| e.within("classifier", || self.classifier.describe()))?;
        Ok((f, logits))
    }

    /// Images per chunk near `want` whose start offsets are all multiples of the
    /// adapter's view alignment (so each chunk is a view, not a copy).
    fn chunk_len(&self, ctx: &Context, want: usize) -> usize {
        let per = self.cfg.in_channels * self.cfg.size * self.cfg.size;
        let align = ctx.view_alignment();
        let (mut a, mut b) = (per, align);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        let step = align / a; // align / gcd(per, align)
        (want / step).max(1) * step
    }

    /// (features `[N * hidden]`, logits `[N * classes]`), both row-major, of images
    /// `[N, C, H, W]` on the device from one eval-mode pass, run in chunks of about 500
    /// images (views of `images`, no copies).
    pub fn image_features_and_logits(&self, images: &Tensor) -> NnResult<(Vec<f32>, Vec<f32>)> {
        let d = images.dims().to_vec();
        self.check_images(&d)?;
        let chunk = self.chunk_len(images.context(), 500);
        let per = d[1] * d[2] * d[3];
        let (mut features, mut logits) = (Vec::new(), Vec::new());
        no_grad(|| {
            let mut start = 0;
            while start < d[0] {
                let n = chunk.min(d[0] - start);
                let x = images.view(start * per, &[n, d[1], d[2], d[3]])?;
                let (f, l) = self.forward_with_features(&Var::constant(x), false)?;
                features.extend(f.value().to_vec()?);
                logits.extend(l.value().to_vec()?);
                start += n;
            }
            Ok((features, logits))
        })
    }

    /// Features `[N * hidden]` (row-major) of images `[N, C, H, W]`, in eval mode.
    pub fn image_features(&self, images: &Tensor) -> NnResult<Vec<f32>> {
        Ok(self.image_features_and_logits(images)?.0)
    }

    /// Logits `[N * classes]` (row-major) of images `[N, C, H, W]`, in eval mode.
    pub fn image_logits(&self, images: &Tensor) -> NnResult<Vec<f32>> {
        Ok(self.image_features_and_logits(images)?.1)
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

    fn forward(&self, x: &Var, train: bool) -> NnResult<Var> {
        Ok(self.forward_with_features(x, train)?.1)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        for (i, (conv, bn)) in self.convs.iter().zip(&self.bns).enumerate() {
            conv.visit(&child_name(prefix, &format!("conv{}", i + 1)), f);
            bn.visit(&child_name(prefix, &format!("bn{}", i + 1)), f);
        }
        self.fc.visit(&child_name(prefix, "fc"), f);
        self.classifier.visit(&child_name(prefix, "classifier"), f);
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
