//! Fully connected layer.

use gan_tensor::matmul::Activation;

use super::weight_bias::{visit_weight_bias, weight_and_bias};
use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::{Module, Slot};
use crate::param::Param;
use crate::Var;

/// `nn.Linear(in_features, out_features, bias)`: y = x W^T + b with W [out, in] and b
/// `[out]`, on x `[N, in]`. An activation may be fused into the kernel
/// ([`Linear::activation`], or automatically by [`crate::Sequential`]).
pub struct Linear {
    in_features: usize,
    out_features: usize,
    weight: Param,
    bias: Option<Param>,
    act: Activation,
}

impl Linear {
    /// A layer with bias and PyTorch's default init.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        let (weight, bias) = weight_and_bias(&[out_features, in_features], Some(out_features));
        Linear {
            in_features,
            out_features,
            weight,
            bias,
            act: Activation::None,
        }
    }

    /// Without bias (`bias=False`).
    pub fn no_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// Fuses `act` into the output.
    pub fn activation(mut self, act: Activation) -> Self {
        self.act = act;
        self
    }

    /// Overrides the weight's initialiser.
    pub fn weight_init(self, init: Init) -> Self {
        self.weight.set_init(init);
        self
    }

    /// Overrides the bias's initialiser.
    pub fn bias_init(self, init: Init) -> Self {
        if let Some(b) = &self.bias {
            b.set_init(init);
        }
        self
    }

    /// The weight [out, in].
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[out]`.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    fn run(&self, x: &Var, act: Activation) -> Result<Var> {
        let d = x.dims();
        if d.len() != 2 || d[1] != self.in_features {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("[N, {}]", self.in_features),
                got: d.to_vec(),
            });
        }
        let w = self.weight.var()?;
        let b = self.bias.as_ref().map(|b| b.var()).transpose()?;
        Ok(Var::linear(x, &w, b.as_ref(), act)?)
    }
}

impl Module for Linear {
    fn describe(&self) -> String {
        format!(
            "Linear(in_features={}, out_features={}, bias={})",
            self.in_features,
            self.out_features,
            if self.bias.is_some() { "True" } else { "False" }
        )
    }

    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        self.run(x, self.act)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f);
    }

    fn forward_fused(&self, x: &Var, _train: bool, act: Activation) -> Option<Result<Var>> {
        if self.act != Activation::None {
            return None;
        }
        Some(self.run(x, act))
    }
}
