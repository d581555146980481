//! Spectral normalization (Miyato et al. 2018, "Spectral Normalization for Generative
//! Adversarial Networks", Algorithm 1), as PyTorch's `torch.nn.utils.spectral_norm`
//! does it.
//!
//! The weight W (viewed as a matrix [out, in * kh * kw]) is divided by an estimate of
//! its largest singular value sigma(W) = u^T W v. In training mode every forward pass
//! first runs one power iteration, without gradient, and stores the result in place:
//! v <- normalize(W^T u), u <- normalize(W v), with normalize(x) = x / max(||x||, eps).
//! In eval mode the stored u, v are used as they are. Either way the gradient flows
//! through sigma(W) with u and v held constant: d sigma / dW = u v^T.
//!
//! Names follow PyTorch's state_dict after `spectral_norm`: the trainable `weight_orig`
//! (after the bias, since PyTorch re-registers it) and the buffers `weight_u` [out] and
//! `weight_v` [in * kh * kw], which checkpoints save and restore.

use gan_tensor::matmul::{matmul_with, MatmulOptions};
use gan_tensor::Tensor;

use crate::error::Result;
use crate::init::{l2_normalize, Init, Role};
use crate::module::{child_name, Slot};
use crate::param::Param;
use crate::spec::WeightSpec;
use crate::var::{no_grad, Var};

/// PyTorch's default `eps` of `spectral_norm`.
pub const SPECTRAL_EPS: f32 = 1e-12;

/// W / (u^T W v) for a weight `w` of any rank, seen as the matrix [d0, d1 * d2 * ...];
/// `u` has d0 elements and `v` the rest (any shape). The gradient flows into `w` through
/// both the numerator and sigma; u and v are constants.
pub fn spectral_normalize(w: &Var, u: &Tensor, v: &Tensor) -> Result<Var> {
    let (rows, cols) = matrix_dims(w.dims());
    let wm = w.reshape(&[rows, cols])?;
    let u = Var::constant(u.reshape(&[1, rows])?);
    let v = Var::constant(v.reshape(&[cols, 1])?);
    let sigma = u.matmul(&wm)?.matmul(&v)?.reshape(&[1])?;
    Ok(w.div(&sigma)?)
}

/// The [rows, cols] matrix PyTorch normalizes for a weight of `dims` (dim = 0).
fn matrix_dims(dims: &[usize]) -> (usize, usize) {
    let rows = dims.first().copied().unwrap_or(1);
    (rows, dims.iter().skip(1).product())
}

/// The power-iteration state of one spectrally normalized weight: u [out], v [in * k].
pub(crate) struct SpectralNorm {
    u: Param,
    v: Param,
}

impl SpectralNorm {
    /// The state for a weight of `dims`; u and v start as unit-norm N(0, 1) draws from
    /// the store's seed.
    pub(crate) fn new(dims: &[usize]) -> Self {
        let (rows, cols) = matrix_dims(dims);
        let u = Param::new(&[rows], Role::Buffer);
        let v = Param::new(&[cols], Role::Buffer);
        u.set_init(Init::UnitNormal);
        v.set_init(Init::UnitNormal);
        SpectralNorm { u, v }
    }

    /// `weight_u` [out].
    pub(crate) fn u(&self) -> &Param {
        &self.u
    }

    /// `weight_v` [in * kh * kw].
    pub(crate) fn v(&self) -> &Param {
        &self.v
    }

    /// W / sigma(W) for the trainable `weight`; in training mode one power iteration
    /// first updates u and v in place.
    pub(crate) fn weight(&self, weight: &Param, train: bool) -> Result<Var> {
        let w = weight.var()?;
        let (u, v) = if train {
            no_grad(|| self.power_iteration(w.value()))?
        } else {
            // Copies, so a later update in place cannot change what this graph saved.
            (self.u.tensor()?.copy()?, self.v.tensor()?.copy()?)
        };
        spectral_normalize(&w, &u, &v)
    }

    /// sigma(W) = u^T W v from the stored u and v, read back to the host.
    pub(crate) fn sigma(&self, weight: &Param) -> Result<f32> {
        crate::spec::spectral_sigma(weight, &self.u, &self.v)
    }

    /// `weight` as the eval-mode forward pass uses it: W / sigma(W).
    pub(crate) fn weight_spec<'a>(&'a self, weight: &'a Param) -> WeightSpec<'a> {
        WeightSpec::new(weight, Some((&self.u, &self.v)))
    }

    /// One step of Algorithm 1: v = normalize(W^T u), u = normalize(W v), stored in
    /// place; returns fresh copies of the new u and v for the forward pass (as PyTorch
    /// clones them, so autograd keeps the values it used).
    fn power_iteration(&self, w: &Tensor) -> Result<(Tensor, Tensor)> {
        let (rows, cols) = matrix_dims(w.dims());
        let wm = w.reshape(&[rows, cols])?;
        let (ub, vb) = (self.u.tensor()?, self.v.tensor()?);
        // [1, rows] x [rows, cols] = (W^T u)^T
        let v = l2_normalize(&ub.reshape(&[1, rows])?.matmul(&wm)?, SPECTRAL_EPS)?;
        // [1, cols] x [rows, cols]^T = (W v)^T
        let wv = matmul_with(
            &v,
            &wm,
            MatmulOptions {
                trans_b: true,
                ..Default::default()
            },
        )?;
        let u = l2_normalize(&wv, SPECTRAL_EPS)?.reshape(&[rows])?;
        let v = v.reshape(&[cols])?;
        ub.assign(&u)?;
        vb.assign(&v)?;
        Ok((u, v))
    }

    /// Reports `weight_orig`, `weight_u`, `weight_v` under `prefix`.
    pub(crate) fn visit(&self, prefix: &str, weight: &Param, f: &mut dyn FnMut(&str, Slot<'_>)) {
        f(&child_name(prefix, "weight_orig"), Slot::Param(weight));
        f(&child_name(prefix, "weight_u"), Slot::Param(&self.u));
        f(&child_name(prefix, "weight_v"), Slot::Param(&self.v));
    }
}

/// Reports a layer's weight and bias in PyTorch's state_dict order: `weight`, `bias`
/// for a plain layer; `bias`, `weight_orig`, `weight_u`, `weight_v` after
/// `spectral_norm`.
pub(crate) fn visit_weight_bias_sn(
    prefix: &str,
    weight: &Param,
    bias: Option<&Param>,
    sn: Option<&SpectralNorm>,
    f: &mut dyn FnMut(&str, Slot<'_>),
) {
    match sn {
        None => super::weight_bias::visit_weight_bias(prefix, weight, bias, f),
        Some(sn) => {
            if let Some(b) = bias {
                f(&child_name(prefix, "bias"), Slot::Param(b));
            }
            sn.visit(prefix, weight, f);
        }
    }
}
