//! 2-D convolution and transposed convolution (NCHW, PyTorch weight layouts).

use gan_tensor::conv::{Conv2dParams, ConvTranspose2dParams};

use super::{visit_weight_bias, weight_and_bias};
use crate::error::{Error, Result};
use crate::init::Init;
use crate::module::{Module, Slot};
use crate::params::Param;
use crate::Var;

fn bias_str(b: &Option<Param>) -> &'static str {
    if b.is_some() {
        "True"
    } else {
        "False"
    }
}

fn check_input(layer: &dyn Module, x: &Var, channels: usize) -> Result<()> {
    let d = x.dims();
    if d.len() != 4 || d[1] != channels {
        return Err(Error::InputShape {
            layer: layer.describe(),
            expected: format!("[N, {channels}, H, W]"),
            got: d.to_vec(),
        });
    }
    Ok(())
}

/// `nn.Conv2d(in, out, kernel_size, stride, padding, bias)`: weight [out, in, kh, kw],
/// bias `[out]`.
pub struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    params: Conv2dParams,
    weight: Param,
    bias: Option<Param>,
}

impl Conv2d {
    /// A square `kernel`, stride 1, no padding, with bias (PyTorch's defaults).
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Conv2d::new_hw(in_channels, out_channels, (kernel, kernel))
    }

    /// A (kh, kw) kernel.
    pub fn new_hw(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        let dims = [out_channels, in_channels, kernel.0, kernel.1];
        let (weight, bias) = weight_and_bias(&dims, Some(out_channels));
        Conv2d {
            in_channels,
            out_channels,
            kernel,
            params: Conv2dParams::default(),
            weight,
            bias,
        }
    }

    /// Sets the stride.
    pub fn stride(mut self, s: usize) -> Self {
        self.params.stride = (s, s);
        self
    }

    /// Sets the zero padding.
    pub fn padding(mut self, p: usize) -> Self {
        self.params.padding = (p, p);
        self
    }

    /// Without bias (`bias=False`).
    pub fn no_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// Overrides the weight's initialiser.
    pub fn weight_init(self, init: Init) -> Self {
        self.weight.set_init(init);
        self
    }

    /// The weight [out, in, kh, kw].
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[out]`.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }
}

impl Module for Conv2d {
    fn describe(&self) -> String {
        let p = self.params;
        format!(
            "Conv2d({}, {}, kernel_size={:?}, stride={:?}, padding={:?}, bias={})",
            self.in_channels,
            self.out_channels,
            self.kernel,
            p.stride,
            p.padding,
            bias_str(&self.bias)
        )
    }

    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        check_input(self, x, self.in_channels)?;
        let w = self.weight.var()?;
        let b = self.bias.as_ref().map(|b| b.var()).transpose()?;
        Ok(Var::conv2d(x, &w, b.as_ref(), self.params)?)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f);
    }
}

/// `nn.ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding, bias)`:
/// weight [in, out, kh, kw] (PyTorch's layout), bias `[out]`.
pub struct ConvTranspose2d {
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    params: ConvTranspose2dParams,
    weight: Param,
    bias: Option<Param>,
}

impl ConvTranspose2d {
    /// A square `kernel`, stride 1, no padding, with bias (PyTorch's defaults).
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        ConvTranspose2d::new_hw(in_channels, out_channels, (kernel, kernel))
    }

    /// A (kh, kw) kernel.
    pub fn new_hw(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        let dims = [in_channels, out_channels, kernel.0, kernel.1];
        let (weight, bias) = weight_and_bias(&dims, Some(out_channels));
        ConvTranspose2d {
            in_channels,
            out_channels,
            kernel,
            params: ConvTranspose2dParams::new(1, 0),
            weight,
            bias,
        }
    }

    /// Sets the stride.
    pub fn stride(mut self, s: usize) -> Self {
        self.params.stride = (s, s);
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, p: usize) -> Self {
        self.params.padding = (p, p);
        self
    }

    /// Sets the output padding.
    pub fn output_padding(mut self, p: usize) -> Self {
        self.params.output_padding = (p, p);
        self
    }

    /// Without bias (`bias=False`).
    pub fn no_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// Overrides the weight's initialiser.
    pub fn weight_init(self, init: Init) -> Self {
        self.weight.set_init(init);
        self
    }

    /// The weight [in, out, kh, kw].
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// The bias `[out]`.
    pub fn bias(&self) -> Option<&Param> {
        self.bias.as_ref()
    }
}

impl Module for ConvTranspose2d {
    fn describe(&self) -> String {
        let p = self.params;
        format!(
            "ConvTranspose2d({}, {}, kernel_size={:?}, stride={:?}, padding={:?}, \
             output_padding={:?}, bias={})",
            self.in_channels,
            self.out_channels,
            self.kernel,
            p.stride,
            p.padding,
            p.output_padding,
            bias_str(&self.bias)
        )
    }

    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        check_input(self, x, self.in_channels)?;
        let w = self.weight.var()?;
        let b = self.bias.as_ref().map(|b| b.var()).transpose()?;
        Ok(Var::conv_transpose2d(x, &w, b.as_ref(), self.params)?)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), f);
    }
}
