//! Column matrices kept between two products of a training step. On the im2col path the
//! same matrix is multiplied twice:
//! - conv2d: the forward is im2col(x) x W^T and the weight gradient rows(dy)^T x im2col(x);
//! - conv_transpose2d: its input gradient is im2col(dy) x W^T (a conv2d of dy) and its
//!   weight gradient rows(x)^T x im2col(dy).
//!
//! Keeping the matrix from the first product for the second saves an im2col, which on
//! lavapipe is a gather of scalar loads as slow as a product: on the DCGAN step three of
//! the seven im2cols over the largest layer. The second product multiplies the same
//! values as a recomputed matrix would, so the results are the same bits.
//!
//! ```no_run
//! use gan_tensor::conv::{self, Conv2dParams, ConvAlgo};
//! use gan_tensor::{Context, Tensor};
//! let ctx = Context::new()?;
//! let x = Tensor::zeros(&ctx, &[8, 32, 14, 14])?;
//! let w = Tensor::zeros(&ctx, &[64, 32, 4, 4])?;
//! let p = Conv2dParams::new(2, 1);
//! let (y, cols) = conv::conv2d_keeping_columns(&x, &w, None, p, ConvAlgo::default())?;
//! let dy = Tensor::zeros(&ctx, y.dims())?;
//! let dw = match &cols {
//!     Some(cols) => conv::conv2d_backward_weight_from(cols, &dy, None)?,
//!     None => conv::conv2d_backward_weight(&x, &dy, (4, 4), p)?,
//! };
//! assert_eq!(dw.dims(), w.dims());
//! # Ok::<(), gan_tensor::Error>(())
//! ```

use super::checks::{ensure, nchw, INPUT, OUTPUT_GRAD};
use super::geometry::{Conv2dParams, ConvAlgo, ConvTranspose2dParams, Geometry};
use crate::{Result, Tensor};

/// The im2col column matrix of a whole batch, with the convolution it belongs to: made by
/// [`conv2d_keeping_columns`] or [`conv_transpose2d_backward_input_keeping_columns`],
/// used by [`conv2d_backward_weight_from`] or [`conv_transpose2d_backward_weight_from`].
#[derive(Clone, Debug)]
pub struct Columns {
    cols: Tensor,
    g: Geometry,
}

impl Columns {
    /// The matrix: `[N * OH * OW, Cin * KH * KW]`, its row length rounded up to a
    /// multiple of 4 with zero columns.
    pub fn tensor(&self) -> &Tensor {
        &self.cols
    }
}

/// [`super::conv2d_with`], and x's column matrix when the im2col path made one for the
/// whole batch (None for the direct kernels or a batch split into chunks).
pub fn conv2d_keeping_columns(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: Conv2dParams,
    algo: ConvAlgo,
) -> Result<(Tensor, Option<Columns>)> {
    let g = super::conv2d_geometry(x, weight, bias, p)?;
    let (y, cols) = g.forward_keep(x, weight, bias, algo)?;
    Ok((y, cols.map(|cols| Columns { cols, g })))
}

/// [`super::conv2d_backward_weight`] from the forward's columns: dy `[N, Cout, OH, OW]`
/// gives dw `[Cout, Cin, KH, KW]`, returned, or written into `into`'s tensor (false) or
/// added to it (true) and returned as a handle to it, as
/// [`super::conv2d_backward_weight_into`].
pub fn conv2d_backward_weight_from(
    cols: &Columns,
    dy: &Tensor,
    into: Option<(&Tensor, bool)>,
) -> Result<Tensor> {
    weight_from("conv2d_backward_weight", cols, (dy, OUTPUT_GRAD), into)
}

/// [`super::conv_transpose2d_backward_input_with`], and dy's column matrix when the im2col
/// path made one for the whole batch.
pub fn conv_transpose2d_backward_input_keeping_columns(
    dy: &Tensor,
    weight: &Tensor,
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
) -> Result<(Tensor, Option<Columns>)> {
    let g = super::transpose_input_geometry(dy, weight, p)?;
    let (dx, cols) = g.forward_keep(dy, weight, None, algo)?;
    Ok((dx, cols.map(|cols| Columns { cols, g })))
}

/// [`super::conv_transpose2d_backward_weight`] from the columns of dy that the input
/// gradient made: the transposed convolution's input x `[N, Cin, H, W]` gives dw
/// `[Cin, Cout, KH, KW]`; `into` as in [`conv2d_backward_weight_from`].
pub fn conv_transpose2d_backward_weight_from(
    cols: &Columns,
    x: &Tensor,
    into: Option<(&Tensor, bool)>,
) -> Result<Tensor> {
    weight_from("conv_transpose2d_backward_weight", cols, (x, INPUT), into)
}

/// rows(t)^T x cols, where t has the shape of the conv2d output the columns were made for.
fn weight_from(
    op: &'static str,
    cols: &Columns,
    (t, layout): (&Tensor, &str),
    into: Option<(&Tensor, bool)>,
) -> Result<Tensor> {
    let g = &cols.g;
    cols.cols.same_device(t, op)?;
    let dims = nchw(op, t, layout)?;
    let msg = "the tensor must have the shape of the output the columns were made for";
    ensure(op, dims == g.output(), &dims, &g.output(), msg)?;
    super::check_into(op, t, into, g.weight())?;
    g.backward_weight_kept(&cols.cols, t, into)
}
