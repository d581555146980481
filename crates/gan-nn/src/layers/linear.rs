//! Fully connected layer.

use gan_tensor::matmul::Activation;

use super::spectral::{visit_weight_bias_sn, SpectralNorm};
use super::weight_bias::weight_and_bias;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::{Module, Slot};
use crate::param::Param;
use crate::spec::{LayerSpec, WeightSpec};
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
    spectral: Option<SpectralNorm>,
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
            spectral: None,
        }
    }

    /// Spectral normalization of the weight (`torch.nn.utils.spectral_norm(layer)`;
    /// Miyato et al. 2018): the layer uses W / sigma(W), with one power iteration per
    /// training-mode forward. The entries become `bias`, `weight_orig`, `weight_u`
    /// `[out]`, `weight_v` `[in]`. Call before the store is built.
    pub fn spectral_norm(mut self) -> Self {
        self.spectral = Some(SpectralNorm::new(self.weight.dims()));
        self
    }

    /// True when the weight is spectrally normalized.
    pub fn is_spectral_norm(&self) -> bool {
        self.spectral.is_some()
    }

    /// sigma(W) = u^T W v from the stored power-iteration vectors (None without
    /// spectral normalization); read back to the host.
    pub fn spectral_sigma(&self) -> Result<Option<f32>> {
        self.spectral
            .as_ref()
            .map(|sn| sn.sigma(&self.weight))
            .transpose()
    }

    /// The power-iteration vectors (`weight_u` `[out]`, `weight_v` `[in]`) with spectral
    /// normalization.
    pub fn spectral_uv(&self) -> Option<(&Param, &Param)> {
        self.spectral.as_ref().map(|sn| (sn.u(), sn.v()))
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

    /// The weight [out, in] (`weight_orig` with spectral normalization).
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[out]`.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }

    /// The weight as the eval-mode forward pass uses it.
    pub fn weight_spec(&self) -> WeightSpec<'_> {
        match &self.spectral {
            Some(sn) => sn.weight_spec(&self.weight),
            None => WeightSpec::new(&self.weight, None),
        }
    }

    fn run(&self, x: &Var, train: bool, act: Activation) -> Result<Var> {
        let d = x.dims();
        if d.len() != 2 || d[1] != self.in_features {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("[N, {}]", self.in_features),
                got: d.to_vec(),
            });
        }
        let w = match &self.spectral {
            Some(sn) => sn.weight(&self.weight, train)?,
            None => self.weight.var()?,
        };
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

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        self.run(x, train, self.act)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        let sn = self.spectral.as_ref();
        visit_weight_bias_sn(prefix, &self.weight, self.bias.as_ref(), sn, f);
    }

    fn forward_fused(&self, x: &Var, train: bool, act: Activation) -> Option<Result<Var>> {
        if self.act != Activation::None {
            return None;
        }
        Some(self.run(x, train, act))
    }

    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        Some(LayerSpec::Linear {
            weight: self.weight_spec(),
            bias: self.bias.as_ref(),
            activation: self.act,
        })
    }
}
