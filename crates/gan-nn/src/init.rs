//! Parameter initialisers, drawn on the GPU from gan-tensor's Philox generator.
//!
//! [`Init`] is one tensor's distribution; [`InitScheme`] picks one per parameter role
//! for a whole model (PyTorch's defaults, DCGAN's, Xavier, He).

use gan_tensor::{rng, Tensor};

use crate::error::Result;

/// PyTorch's `_calculate_fan_in_and_fan_out`: for a weight of shape [d0, d1, k...],
/// fan_in = d1 * prod(k), fan_out = d0 * prod(k). (So a ConvTranspose2d weight
/// [in, out, kh, kw] has fan_in = out * kh * kw, as in PyTorch.) A 1-D shape counts as
/// [d0, 1].
pub fn fans(dims: &[usize]) -> (usize, usize) {
    let receptive: usize = dims.iter().skip(2).product();
    let d0 = dims.first().copied().unwrap_or(1);
    let d1 = dims.get(1).copied().unwrap_or(1);
    (d1 * receptive, d0 * receptive)
}

/// `torch.nn.init.calculate_gain('leaky_relu', a)` = sqrt(2 / (1 + a^2)); a = 0 gives
/// ReLU's sqrt(2).
pub fn leaky_relu_gain(a: f32) -> f32 {
    (2.0 / (1.0 + a * a)).sqrt()
}

/// How one tensor is initialised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every element `v`.
    Const(f32),
    /// N(mean, std^2).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// U(lo, hi).
    Uniform {
        /// Lower bound.
        lo: f32,
        /// Upper bound.
        hi: f32,
    },
    /// Glorot uniform: U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)).
    XavierUniform {
        /// Gain (1 for linear/sigmoid).
        gain: f32,
    },
    /// Glorot normal: N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out)).
    XavierNormal {
        /// Gain.
        gain: f32,
    },
    /// He normal (fan_in mode): N(0, s^2), s = leaky_relu_gain(a) / sqrt(fan_in).
    KaimingNormal {
        /// Negative slope of the following leaky ReLU (0 for ReLU).
        a: f32,
    },
    /// He uniform (fan_in mode): U(-b, b), b = leaky_relu_gain(a) sqrt(3 / fan_in).
    /// PyTorch's default Linear/Conv weight init is `KaimingUniform { a: sqrt(5) }`,
    /// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    KaimingUniform {
        /// Negative slope.
        a: f32,
    },
    /// N(0, 1) draws scaled to unit L2 norm over the whole tensor: the starting vectors
    /// u and v of spectral normalization's power iteration (Miyato et al. 2018;
    /// PyTorch's `normalize(W.new_empty(h).normal_(0, 1), dim=0, eps=1e-12)`).
    UnitNormal,
}

impl Init {
    /// PyTorch's default Linear/Conv weight init: kaiming_uniform with a = sqrt(5).
    pub fn pytorch_default() -> Init {
        Init::KaimingUniform { a: 5f32.sqrt() }
    }

    /// Fills `t` (any view) from (`seed`, `stream`) on the GPU.
    pub fn fill(&self, t: &Tensor, seed: u64, stream: u64) -> Result<()> {
        let (fan_in, fan_out) = fans(t.dims());
        let (fi, fo) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        let uniform = |b: f32| rng::fill_uniform(t, -b, b, seed, stream);
        let normal = |m: f32, s: f32| rng::fill_normal(t, m, s, seed, stream);
        match *self {
            Init::Const(v) => t.fill_(v)?,
            Init::Normal { mean, std } => normal(mean, std)?,
            Init::Uniform { lo, hi } => rng::fill_uniform(t, lo, hi, seed, stream)?,
            Init::XavierUniform { gain } => uniform(gain * (6.0 / (fi + fo)).sqrt())?,
            Init::XavierNormal { gain } => normal(0.0, gain * (2.0 / (fi + fo)).sqrt())?,
            Init::KaimingNormal { a } => normal(0.0, leaky_relu_gain(a) / fi.sqrt())?,
            Init::KaimingUniform { a } => uniform(leaky_relu_gain(a) * (3.0 / fi).sqrt())?,
            Init::UnitNormal => {
                normal(0.0, 1.0)?;
                t.assign(&l2_normalize(t, 1e-12)?)?;
            }
        }
        Ok(())
    }
}

/// `x / max(||x||_2, eps)` over all elements, on the GPU (PyTorch's `F.normalize` of a
/// vector).
pub fn l2_normalize(x: &Tensor, eps: f32) -> Result<Tensor> {
    let norm = x.square()?.sum_all()?.sqrt()?;
    let norm = norm.maximum(&Tensor::full(x.context(), &[1], eps)?)?;
    Ok(x.div(&norm)?)
}

/// What a parameter is for; an [`InitScheme`] maps roles to initialisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A Linear or convolution weight (fans from its shape, PyTorch's way).
    Weight,
    /// A Linear or convolution bias; `fan_in` is its weight's.
    Bias {
        /// The weight's fan_in.
        fan_in: usize,
    },
    /// A normalisation layer's scale (gamma).
    NormWeight,
    /// A normalisation layer's shift (beta).
    NormBias,
    /// Any other trainable parameter (give it an explicit [`Init`]).
    Other,
    /// Non-trainable buffer, initialised to zeros (BatchNorm running_mean).
    BufferZeros,
    /// Non-trainable buffer, initialised to ones (BatchNorm running_var).
    BufferOnes,
    /// Non-trainable int64 counter on the host (BatchNorm num_batches_tracked).
    Counter,
    /// Non-trainable buffer with an explicit [`Init`] (spectral normalization's u and v);
    /// zeros if it has none.
    Buffer,
}

impl Role {
    /// True for parameters the optimizer updates.
    pub fn is_trainable(self) -> bool {
        matches!(
            self,
            Role::Weight | Role::Bias { .. } | Role::NormWeight | Role::NormBias | Role::Other
        )
    }
}

/// A model-wide initialisation recipe; layers may override single parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum InitScheme {
    /// PyTorch's defaults: weights kaiming_uniform(a = sqrt 5) = U(+-1/sqrt(fan_in)),
    /// biases U(+-1/sqrt(fan_in)), norm scale 1 and shift 0.
    #[default]
    PyTorch,
    /// DCGAN (Radford et al.): weights N(0, 0.02), biases 0, norm scale N(1, 0.02),
    /// shift 0.
    Dcgan,
    /// Glorot uniform weights with `gain`, zero biases, norm 1 / 0.
    XavierUniform {
        /// Gain.
        gain: f32,
    },
    /// Glorot normal weights with `gain`, zero biases, norm 1 / 0.
    XavierNormal {
        /// Gain.
        gain: f32,
    },
    /// He normal (fan_in) weights for a following leaky ReLU of slope `a` (0: ReLU),
    /// zero biases, norm 1 / 0.
    KaimingNormal {
        /// Negative slope.
        a: f32,
    },
}

impl InitScheme {
    /// The initialiser for a parameter of `role`.
    pub fn init_for(self, role: Role) -> Init {
        let zero = Init::Const(0.0);
        let one = Init::Const(1.0);
        match role {
            Role::BufferZeros | Role::Counter | Role::Buffer => return zero,
            Role::BufferOnes => return one,
            _ => {}
        }
        match (self, role) {
            (InitScheme::PyTorch, Role::Weight | Role::Other) => Init::pytorch_default(),
            (InitScheme::PyTorch, Role::Bias { fan_in }) => {
                let b = 1.0 / (fan_in.max(1) as f32).sqrt();
                Init::Uniform { lo: -b, hi: b }
            }
            (InitScheme::Dcgan, Role::Weight | Role::Other) => Init::Normal {
                mean: 0.0,
                std: 0.02,
            },
            (InitScheme::Dcgan, Role::NormWeight) => Init::Normal {
                mean: 1.0,
                std: 0.02,
            },
            (InitScheme::XavierUniform { gain }, Role::Weight | Role::Other) => {
                Init::XavierUniform { gain }
            }
            (InitScheme::XavierNormal { gain }, Role::Weight | Role::Other) => {
                Init::XavierNormal { gain }
            }
            (InitScheme::KaimingNormal { a }, Role::Weight | Role::Other) => {
                Init::KaimingNormal { a }
            }
            (_, Role::NormWeight) => one,
            _ => zero,
        }
    }
}
