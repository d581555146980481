//! 2-D convolution and transposed convolution (NCHW, PyTorch weight layouts).
//!
//! Both layers wrap one `ConvSpec`: channels, kernel, the op's hyper-parameters,
//! weight and bias. What differs between them (weight layout, op, extra
//! hyper-parameters) lives in `ConvOp`, implemented by gan-tensor's parameter structs;
//! `conv_layer!` writes the shared builder methods and the `Module` impl once.

use gan_tensor::conv::{Conv2dParams, ConvTranspose2dParams};

use super::spectral::{visit_weight_bias_sn, SpectralNorm};
use super::weight_bias::weight_and_bias;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::{Module, Slot};
use crate::param::Param;
use crate::spec::{LayerSpec, WeightSpec};
use crate::Var;

/// The parts of a convolution layer that depend on which op it runs.
trait ConvOp: Copy + Default {
    /// PyTorch's class name, the head of `describe()`.
    const NAME: &'static str;
    /// The weight's dims in PyTorch's layout for this op.
    fn weight_dims(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> [usize; 4];
    /// Sets the stride along height and width.
    fn set_stride(&mut self, s: (usize, usize));
    /// Sets the padding along height and width.
    fn set_padding(&mut self, p: (usize, usize));
    /// The hyper-parameters as PyTorch prints them: `stride=.., padding=..`.
    fn describe_params(&self) -> String;
    /// Runs the op.
    fn apply(self, x: &Var, w: &Var, b: Option<&Var>) -> Result<Var>;
    /// The layer as data ([`Module::layer_spec`]).
    fn spec<'a>(self, weight: WeightSpec<'a>, bias: Option<&'a Param>) -> LayerSpec<'a>;
}

impl ConvOp for Conv2dParams {
    const NAME: &'static str = "Conv2d";

    fn weight_dims(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> [usize; 4] {
        [out_channels, in_channels, kernel.0, kernel.1]
    }

    fn set_stride(&mut self, s: (usize, usize)) {
        self.stride = s;
    }

    fn set_padding(&mut self, p: (usize, usize)) {
        self.padding = p;
    }

    fn describe_params(&self) -> String {
        format!("stride={:?}, padding={:?}", self.stride, self.padding)
    }

    fn apply(self, x: &Var, w: &Var, b: Option<&Var>) -> Result<Var> {
        Ok(Var::conv2d(x, w, b, self)?)
    }

    fn spec<'a>(self, weight: WeightSpec<'a>, bias: Option<&'a Param>) -> LayerSpec<'a> {
        LayerSpec::Conv2d {
            weight,
            bias,
            stride: self.stride,
            padding: self.padding,
        }
    }
}

impl ConvOp for ConvTranspose2dParams {
    const NAME: &'static str = "ConvTranspose2d";

    fn weight_dims(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> [usize; 4] {
        [in_channels, out_channels, kernel.0, kernel.1]
    }

    fn set_stride(&mut self, s: (usize, usize)) {
        self.stride = s;
    }

    fn set_padding(&mut self, p: (usize, usize)) {
        self.padding = p;
    }

    fn describe_params(&self) -> String {
        format!(
            "stride={:?}, padding={:?}, output_padding={:?}",
            self.stride, self.padding, self.output_padding
        )
    }

    fn apply(self, x: &Var, w: &Var, b: Option<&Var>) -> Result<Var> {
        Ok(Var::conv_transpose2d(x, w, b, self)?)
    }

    fn spec<'a>(self, weight: WeightSpec<'a>, bias: Option<&'a Param>) -> LayerSpec<'a> {
        LayerSpec::ConvTranspose2d {
            weight,
            bias,
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
        }
    }
}

/// Channels, kernel, hyper-parameters, weight and bias of a convolution layer, and the
/// spectral normalization of its weight (Conv2d only).
struct ConvSpec<P> {
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    params: P,
    weight: Param,
    bias: Option<Param>,
    spectral: Option<SpectralNorm>,
}

impl<P: ConvOp> ConvSpec<P> {
    /// Stride 1, no padding, with bias (PyTorch's defaults).
    fn new(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        let dims = P::weight_dims(in_channels, out_channels, kernel);
        let (weight, bias) = weight_and_bias(&dims, Some(out_channels));
        ConvSpec {
            in_channels,
            out_channels,
            kernel,
            params: P::default(),
            weight,
            bias,
            spectral: None,
        }
    }

    fn describe(&self) -> String {
        let bias = if self.bias.is_some() { "True" } else { "False" };
        format!(
            "{}({}, {}, kernel_size={:?}, {}, bias={bias})",
            P::NAME,
            self.in_channels,
            self.out_channels,
            self.kernel,
            self.params.describe_params()
        )
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        let d = x.dims();
        if d.len() != 4 || d[1] != self.in_channels {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: format!("[N, {}, H, W]", self.in_channels),
                got: d.to_vec(),
            });
        }
        let w = match &self.spectral {
            Some(sn) => sn.weight(&self.weight, train)?,
            None => self.weight.var()?,
        };
        let b = self.bias.as_ref().map(|b| b.var()).transpose()?;
        self.params.apply(x, &w, b.as_ref())
    }
}

/// The builder methods, accessors and `Module` impl shared by both layers; `$weight_doc`
/// documents `weight()` with the layer's layout.
macro_rules! conv_layer {
    ($layer:ident, $weight_doc:literal) => {
        impl $layer {
            /// A square `kernel`, stride 1, no padding, with bias (PyTorch's defaults).
            pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
                $layer::new_hw(in_channels, out_channels, (kernel, kernel))
            }

            /// A (kh, kw) kernel.
            pub fn new_hw(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
                $layer {
                    spec: ConvSpec::new(in_channels, out_channels, kernel),
                }
            }

            /// Sets the stride.
            pub fn stride(mut self, s: usize) -> Self {
                self.spec.params.set_stride((s, s));
                self
            }

            /// Sets the padding (Conv2d: zeros added to each side of the input;
            /// ConvTranspose2d: rows and columns cropped from each side of the output).
            pub fn padding(mut self, p: usize) -> Self {
                self.spec.params.set_padding((p, p));
                self
            }

            /// Without bias (`bias=False`).
            pub fn no_bias(mut self) -> Self {
                self.spec.bias = None;
                self
            }

            /// Overrides the weight's initialiser.
            pub fn weight_init(self, init: Init) -> Self {
                self.spec.weight.set_init(init);
                self
            }

            #[doc = $weight_doc]
            pub fn weight(&self) -> &Param {
                &self.spec.weight
            }

            /// The bias `[out]`.
            pub fn bias(&self) -> Option<&Param> {
                self.spec.bias.as_ref()
            }
        }

        impl Module for $layer {
            fn describe(&self) -> String {
                self.spec.describe()
            }

            fn forward(&self, x: &Var, train: bool) -> Result<Var> {
                self.spec.forward(x, train)
            }

            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
                let (w, b) = (&self.spec.weight, self.spec.bias.as_ref());
                visit_weight_bias_sn(prefix, w, b, self.spec.spectral.as_ref(), f);
            }

            fn layer_spec(&self) -> Option<LayerSpec<'_>> {
                let s = &self.spec;
                let weight = match &s.spectral {
                    Some(sn) => sn.weight_spec(&s.weight),
                    None => WeightSpec::new(&s.weight, None),
                };
                Some(s.params.spec(weight, s.bias.as_ref()))
            }
        }
    };
}

/// `nn.Conv2d(in, out, kernel_size, stride, padding, bias)`: weight [out, in, kh, kw],
/// bias `[out]`.
pub struct Conv2d {
    spec: ConvSpec<Conv2dParams>,
}

conv_layer!(
    Conv2d,
    "The weight [out, in, kh, kw] (`weight_orig` with spectral normalization)."
);

impl Conv2d {
    /// Spectral normalization of the weight (`torch.nn.utils.spectral_norm(layer)`;
    /// Miyato et al. 2018): the layer uses W / sigma(W), W seen as the matrix
    /// [out, in * kh * kw], with one power iteration per training-mode forward. The
    /// entries become `bias`, `weight_orig`, `weight_u` `[out]`, `weight_v`
    /// [in * kh * kw]. Call before the store is built.
    pub fn spectral_norm(mut self) -> Self {
        self.spec.spectral = Some(SpectralNorm::new(self.spec.weight.dims()));
        self
    }

    /// True when the weight is spectrally normalized.
    pub fn is_spectral_norm(&self) -> bool {
        self.spec.spectral.is_some()
    }

    /// sigma(W) = u^T W v from the stored power-iteration vectors (None without
    /// spectral normalization); read back to the host.
    pub fn spectral_sigma(&self) -> Result<Option<f32>> {
        self.spec
            .spectral
            .as_ref()
            .map(|sn| sn.sigma(&self.spec.weight))
            .transpose()
    }

    /// The power-iteration vectors (`weight_u` `[out]`, `weight_v` `[in * kh * kw]`) with
    /// spectral normalization.
    pub fn spectral_uv(&self) -> Option<(&Param, &Param)> {
        self.spec.spectral.as_ref().map(|sn| (sn.u(), sn.v()))
    }
}

/// `nn.ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding, bias)`:
/// weight [in, out, kh, kw] (PyTorch's layout), bias `[out]`.
pub struct ConvTranspose2d {
    spec: ConvSpec<ConvTranspose2dParams>,
}

conv_layer!(ConvTranspose2d, "The weight [in, out, kh, kw].");

impl ConvTranspose2d {
    /// Sets the output padding.
    pub fn output_padding(mut self, p: usize) -> Self {
        self.spec.params.output_padding = (p, p);
        self
    }
}
