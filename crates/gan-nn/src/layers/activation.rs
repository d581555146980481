//! Parameter-free layers: activations, dropout, flatten and reshape.

use gan_tensor::matmul::Activation;

use crate::error::{Error, Result};
use crate::module::{Module, Slot};
use crate::param::RngState;
use crate::spec::LayerSpec;
use crate::Var;

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, $torch:literal, $act:expr, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl Module for $name {
            fn describe(&self) -> String {
                $torch.to_string()
            }
            fn forward(&self, $x: &Var, _train: bool) -> Result<Var> {
                Ok($body?)
            }
            fn fusable_activation(&self) -> Option<Activation> {
                Some($act)
            }
            fn layer_spec(&self) -> Option<LayerSpec<'_>> {
                Some(LayerSpec::Activation($act))
            }
        }
    };
}

activation!(
    /// `nn.ReLU()`: max(x, 0).
    ReLU, "ReLU()", Activation::Relu, |x| x.relu()
);
activation!(
    /// `nn.Tanh()`.
    Tanh, "Tanh()", Activation::Tanh, |x| x.tanh()
);
activation!(
    /// `nn.Sigmoid()`.
    Sigmoid, "Sigmoid()", Activation::Sigmoid, |x| x.sigmoid()
);

/// `nn.LeakyReLU(negative_slope)`: x if x > 0 else slope x (PyTorch's default slope
/// 0.01; DCGAN's discriminator uses 0.2).
#[derive(Clone, Copy, Debug)]
pub struct LeakyReLU {
    /// The negative slope.
    pub slope: f32,
}

impl LeakyReLU {
    /// A leaky ReLU with `slope`.
    pub fn new(slope: f32) -> Self {
        LeakyReLU { slope }
    }
}

impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}

impl Module for LeakyReLU {
    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.slope)
    }
    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        Ok(x.leaky_relu(self.slope)?)
    }
    fn fusable_activation(&self) -> Option<Activation> {
        // The fused backward recovers the sign of x from y, which needs slope > 0.
        (self.slope > 0.0).then_some(Activation::LeakyRelu(self.slope))
    }
    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Activation(Activation::LeakyRelu(self.slope)))
    }
}

/// `nn.Dropout(p)`: in training, zeroes each element with probability p and scales the
/// rest by 1/(1-p); identity in eval mode. The mask is drawn on the GPU from the
/// layer's seed (set by the [`crate::ParamStore`] from its seed and the layer's name,
/// or fixed with [`Dropout::seed`]) and a step counter, so every training forward pass
/// draws a different mask and a rerun from the same seed draws the same ones.
#[derive(Debug)]
pub struct Dropout {
    p: f32,
    rng: RngState,
}

impl Dropout {
    /// Dropout with probability `p` in [0, 1).
    pub fn new(p: f32) -> Self {
        Dropout {
            p,
            rng: RngState::new(),
        }
    }

    /// Fixes the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = RngState::with_seed(seed);
        self
    }

    /// The random state (seed and steps taken).
    pub fn rng(&self) -> &RngState {
        &self.rng
    }
}

impl Module for Dropout {
    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        if !train || self.p == 0.0 {
            return Ok(x.clone());
        }
        let (seed, stream) = self.rng.next();
        // Piece p of P equal pieces of a batch: elements p * numel.. of the whole draw.
        let (piece, _) = self.rng.shard();
        Ok(x.dropout_at(self.p, seed, stream, piece * x.value().numel())?)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        f(prefix, Slot::Rng(&self.rng));
    }

    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Identity)
    }
}

/// `nn.Flatten()`: [N, d1, d2, ...] -> [N, d1 * d2 * ...].
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl Module for Flatten {
    fn describe(&self) -> String {
        "Flatten()".into()
    }

    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        let d = x.dims();
        let n = d.first().copied().unwrap_or(1);
        Ok(x.reshape(&[n, d.iter().skip(1).product()])?)
    }

    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Flatten)
    }
}

/// Reshapes each sample, keeping the batch dimension: [N, ...] -> [N, dims...]
/// (`x.view(-1, *dims)`; `nn.Unflatten(1, dims)` after a flat layer).
#[derive(Clone, Debug)]
pub struct Reshape {
    dims: Vec<usize>,
}

impl Reshape {
    /// Per-sample target shape (at most 3 dimensions: tensors have 4 at most).
    pub fn new(dims: &[usize]) -> Self {
        Reshape {
            dims: dims.to_vec(),
        }
    }
}

impl Module for Reshape {
    fn describe(&self) -> String {
        format!("Reshape{:?}", self.dims)
    }

    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        let d = x.dims();
        let n = d.first().copied().unwrap_or(1);
        let per: usize = self.dims.iter().product();
        if d.iter().skip(1).product::<usize>() != per {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("[N, ...] with {per} values per sample"),
                got: d.to_vec(),
            });
        }
        let mut to = vec![n];
        to.extend_from_slice(&self.dims);
        Ok(x.reshape(&to)?)
    }

    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Reshape(self.dims.clone()))
    }
}
