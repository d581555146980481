//! The three convolutions of a [`Geometry`] (forward, input gradient, weight gradient),
//! each run by the im2col path when [`ConvAlgo`] and the sizes allow it, else by the
//! direct gather kernels of conv.wgsl.

use super::geometry::{ConvAlgo, Geometry};
use super::im2col;
use crate::{Result, Tensor};

impl Geometry {
    /// y = x (*) wt (+ bias[cout]).
    pub(super) fn forward(
        &self,
        x: &Tensor,
        wt: &Tensor,
        bias: Option<&Tensor>,
        algo: ConvAlgo,
    ) -> Result<Tensor> {
        Ok(self.forward_keep(x, wt, bias, algo)?.0)
    }

    /// [`Geometry::forward`], and x's column matrix when the im2col path made it for the
    /// whole batch at once.
    pub(super) fn forward_keep(
        &self,
        x: &Tensor,
        wt: &Tensor,
        bias: Option<&Tensor>,
        algo: ConvAlgo,
    ) -> Result<(Tensor, Option<Tensor>)> {
        if let Some(chunk) = im2col::plan(self, x.context(), algo) {
            return im2col::forward(self, x, wt, bias, chunk);
        }
        let out = Tensor::uninit(x.context(), &self.output())?;
        let entries = ("conv2d_forward", "conv2d_forward_bias");
        self.launch_bias(entries, &[x, wt], bias, &out)?;
        Ok((out, None))
    }

    /// dx from dy and wt (+ bias[cin], for conv_transpose2d).
    pub(super) fn backward_input(
        &self,
        dy: &Tensor,
        wt: &Tensor,
        bias: Option<&Tensor>,
        algo: ConvAlgo,
    ) -> Result<Tensor> {
        if let Some(chunk) = im2col::plan(self, dy.context(), algo) {
            return im2col::backward_input(self, dy, wt, bias, chunk);
        }
        let dx = Tensor::uninit(dy.context(), &self.input())?;
        let entries = ("conv2d_backward_input", "conv2d_backward_input_bias");
        self.launch_bias(entries, &[dy, wt], bias, &dx)?;
        Ok(dx)
    }

    /// dw from x and dy; with `into`, written into that tensor (false) or added to it
    /// (true) and returned as a handle to it.
    pub(super) fn backward_weight(
        &self,
        x: &Tensor,
        dy: &Tensor,
        algo: ConvAlgo,
        into: Option<(&Tensor, bool)>,
    ) -> Result<Tensor> {
        if let Some(chunk) = im2col::plan(self, x.context(), algo) {
            return im2col::backward_weight(self, x, dy, chunk, into, None);
        }
        let target = match into {
            Some((out, false)) => out.reshape(&self.weight())?,
            _ => Tensor::uninit(x.context(), &self.weight())?,
        };
        self.launch("conv2d_backward_weight", &[x.arg(), dy.arg()], &target)?;
        match into {
            Some((out, true)) => im2col::put(target, Some((out, true)), &self.weight()),
            _ => Ok(target),
        }
    }
}

impl Geometry {
    /// dw from dy and `cols`, the column matrix of the whole batch's input that
    /// [`Geometry::forward_keep`] made: the im2col path's product without its im2col.
    pub(super) fn backward_weight_kept(
        &self,
        cols: &Tensor,
        dy: &Tensor,
        into: Option<(&Tensor, bool)>,
    ) -> Result<Tensor> {
        im2col::backward_weight(self, cols, dy, self.n, into, Some(cols))
    }
}
