//! What a layer computes at inference, as data: [`Module::layer_spec`] describes a layer
//! by its kind, hyper-parameters and parameter handles, so that code outside gan-nn (an
//! ONNX writer, a reference implementation) can rebuild the eval-mode forward pass
//! without knowing the layer types. gan-nn itself knows no file format.
//!
//! [`Module::layer_spec`]: crate::Module::layer_spec

use gan_tensor::matmul::Activation;

use crate::error::Result;
use crate::param::Param;

/// A layer's weight as the eval-mode forward pass uses it: the stored parameter, or
/// W / sigma(W) with spectral normalization (sigma from the stored power-iteration
/// vectors, no iteration: what `forward(x, false)` divides by).
#[derive(Clone, Copy)]
pub struct WeightSpec<'a> {
    param: &'a Param,
    /// With spectral normalization: (`weight_u`, `weight_v`).
    spectral: Option<(&'a Param, &'a Param)>,
}

/// sigma(W) = u^T W v for a weight `w` of any rank seen as the matrix
/// [d0, d1 * d2 * ...] (PyTorch's `spectral_norm`, dim = 0), from the stored `u` [d0]
/// and `v` [d1 * ...], computed on the GPU and read back.
pub(crate) fn spectral_sigma(w: &Param, u: &Param, v: &Param) -> Result<f32> {
    let w = w.tensor()?;
    let rows = w.dims().first().copied().unwrap_or(1);
    let cols = w.numel() / rows.max(1);
    let s = u
        .tensor()?
        .reshape(&[1, rows])?
        .matmul(&w.reshape(&[rows, cols])?)?
        .matmul(&v.tensor()?.reshape(&[cols, 1])?)?;
    Ok(s.to_vec()?[0])
}

impl<'a> WeightSpec<'a> {
    pub(crate) fn new(param: &'a Param, spectral: Option<(&'a Param, &'a Param)>) -> Self {
        WeightSpec { param, spectral }
    }

    /// The stored parameter (`weight`, or `weight_orig` with spectral normalization).
    pub fn param(&self) -> &'a Param {
        self.param
    }

    /// True when the forward pass divides the weight by sigma(W).
    pub fn is_spectral_norm(&self) -> bool {
        self.spectral.is_some()
    }

    /// The shape (PyTorch's layout for the layer).
    pub fn dims(&self) -> &'a [usize] {
        self.param.dims()
    }

    /// The effective values, read back to the host: the weight, divided by sigma(W) =
    /// u^T W v (computed on the GPU as the forward pass computes it) with spectral
    /// normalization.
    pub fn values(&self) -> Result<Vec<f32>> {
        let w = self.param.tensor()?.to_vec()?;
        match self.spectral {
            None => Ok(w),
            Some((u, v)) => {
                let sigma = spectral_sigma(self.param, u, v)?;
                Ok(w.into_iter().map(|x| x / sigma).collect())
            }
        }
    }
}

/// BatchNorm's eval-mode parameters: y = (x - running_mean) / sqrt(running_var + eps)
/// * weight + bias, per channel (axis 1).
#[derive(Clone, Copy)]
pub struct NormSpec<'a> {
    /// gamma `[C]`.
    pub weight: &'a Param,
    /// beta `[C]`.
    pub bias: &'a Param,
    /// `[C]`.
    pub running_mean: &'a Param,
    /// `[C]`.
    pub running_var: &'a Param,
    /// Added to the variance.
    pub eps: f32,
}

/// One layer's eval-mode computation (PyTorch's semantics and layouts).
#[derive(Clone)]
pub enum LayerSpec<'a> {
    /// y = act(x W^T + b), W `[out, in]`, on x `[N, in]`.
    Linear {
        /// W `[out, in]`.
        weight: WeightSpec<'a>,
        /// b `[out]`.
        bias: Option<&'a Param>,
        /// An activation fused into the layer itself (`Linear::activation`); a
        /// following activation module is a layer of its own.
        activation: Activation,
    },
    /// `nn.Conv2d`: weight `[out, in, kh, kw]`, on NCHW.
    Conv2d {
        /// The weight.
        weight: WeightSpec<'a>,
        /// `[out]`.
        bias: Option<&'a Param>,
        /// (height, width).
        stride: (usize, usize),
        /// Zeros added to each side, (height, width).
        padding: (usize, usize),
    },
    /// `nn.ConvTranspose2d`: weight `[in, out, kh, kw]`, on NCHW.
    ConvTranspose2d {
        /// The weight.
        weight: WeightSpec<'a>,
        /// `[out]`.
        bias: Option<&'a Param>,
        /// (height, width).
        stride: (usize, usize),
        /// Rows and columns cropped from each side of the output, (height, width).
        padding: (usize, usize),
        /// Rows and columns added at the bottom and right, (height, width).
        output_padding: (usize, usize),
    },
    /// BatchNorm1d (`[N, C]`, `[N, C, L]`) or BatchNorm2d (`[N, C, H, W]`) in eval mode.
    BatchNorm(NormSpec<'a>),
    /// An elementwise activation (never `Activation::None`).
    Activation(Activation),
    /// Identity at inference (Dropout).
    Identity,
    /// `[N, d1, d2, ...]` -> `[N, d1 * d2 * ...]`.
    Flatten,
    /// `[N, ...]` -> `[N, dims...]`.
    Reshape(Vec<usize>),
    /// `max_k (x W^T + b)[:, j * pieces + k]` over unit j's `pieces` rows of W
    /// `[out * pieces, in]`.
    Maxout {
        /// W `[out * pieces, in]` (`lin.weight`).
        weight: WeightSpec<'a>,
        /// `[out * pieces]` (`lin.bias`).
        bias: Option<&'a Param>,
        /// Pieces per unit.
        pieces: usize,
    },
}
