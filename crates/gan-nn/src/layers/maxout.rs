//! Maxout layer (Goodfellow et al. 2013, "Maxout Networks").

use super::linear::Linear;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::{child_name, Module, Slot};
use crate::spec::LayerSpec;
use crate::Var;

/// A linear map to `out_features * pieces` values, then the max over each unit's pieces
/// (Goodfellow et al. 2013, eq. 1: h_j(x) = max_k (x W^T + b)_{j, k}), on x `[N, in]`.
///
/// Layout: unit j takes the max of pre-activations `j * pieces .. j * pieces + pieces - 1`
/// (rows of `lin.weight`), as Blocks' `LinearMaxout` does (mila-iqia/blocks
/// `blocks/bricks/simple.py` at 1f6a261, `Maxout.apply`: reshape to `[N, out, pieces]`,
/// max over the last axis), which PacGAN's 2-D discriminators use (fjxmlzn/PacGAN at
/// 190853e, `synthetic_data_experiments/2DRing_GAN&PacGAN/pacgan_task.py`, lines 61-90:
/// three `LinearMaxout` layers, 63-83, then a `Linear` to 1). The
/// parameters are those of a PyTorch module holding `self.lin = nn.Linear(in,
/// out * pieces)`: `lin.weight` `[out * pieces, in]` and `lin.bias` `[out * pieces]`,
/// whose forward is `self.lin(x).view(-1, out, pieces).max(-1).values`.
pub struct Maxout {
    lin: Linear,
    out_features: usize,
    pieces: usize,
}

impl Maxout {
    /// A layer from `in_features` to `out_features` units of `pieces` linear pieces each,
    /// with PyTorch's default init of the inner `nn.Linear`.
    ///
    /// # Panics
    /// When `pieces` is 0 (a unit needs at least one piece).
    pub fn new(in_features: usize, out_features: usize, pieces: usize) -> Self {
        assert!(pieces >= 1, "Maxout needs at least 1 piece per unit, got 0");
        Maxout {
            lin: Linear::new(in_features, out_features * pieces),
            out_features,
            pieces,
        }
    }

    /// Overrides the weight's initialiser.
    pub fn weight_init(mut self, init: Init) -> Self {
        self.lin = self.lin.weight_init(init);
        self
    }

    /// Overrides the bias's initialiser.
    pub fn bias_init(mut self, init: Init) -> Self {
        self.lin = self.lin.bias_init(init);
        self
    }

    /// The inner linear map (`lin`), `[out * pieces, in]`.
    pub fn linear(&self) -> &Linear {
        &self.lin
    }

    /// Pieces per unit.
    pub fn pieces(&self) -> usize {
        self.pieces
    }
}

impl Module for Maxout {
    fn describe(&self) -> String {
        let w = self.lin.weight().dims();
        format!(
            "Maxout(in_features={}, out_features={}, pieces={})",
            w[1], self.out_features, self.pieces
        )
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        let pre = self.lin.forward(x, train).map_err(|e| match e {
            Error::InputShape { expected, got, .. } => Error::InputShape {
                layer: self.describe(),
                expected,
                got,
            },
            e => e,
        })?;
        Ok(pre.maxout(self.pieces)?)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        self.lin.visit(&child_name(prefix, "lin"), f);
    }

    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Maxout {
            weight: self.lin.weight_spec(),
            bias: self.lin.bias(),
            pieces: self.pieces,
        })
    }
}
