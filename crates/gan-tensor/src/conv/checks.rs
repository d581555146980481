//! Operand checks of the public convolution ops: ranks, devices, strides, non-zero sizes
//! and biases, each failing with an error that names the op and the shapes.

use super::geometry::ConvTranspose2dParams;
use crate::{Error, Result, Tensor};

/// The dims of a rank-4 tensor, or an error naming the layout it should have.
pub(super) fn nchw(op: &'static str, t: &Tensor, layout: &str) -> Result<[usize; 4]> {
    match *t.dims() {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(Error::InvalidShape {
            op,
            msg: format!("expected a 4-D {layout} tensor, got {:?}", t.dims()),
        }),
    }
}

/// The dims of the two 4-D operands `a` and `b` of an op, which must share a device.
pub(super) fn operands(
    op: &'static str,
    (a, a_layout): (&Tensor, &str),
    (b, b_layout): (&Tensor, &str),
) -> Result<([usize; 4], [usize; 4])> {
    a.same_device(b, op)?;
    Ok((nchw(op, a, a_layout)?, nchw(op, b, b_layout)?))
}

pub(super) const INPUT: &str = "input [N, Cin, H, W]";
pub(super) const OUTPUT_GRAD: &str = "output gradient [N, Cout, OH, OW]";
pub(super) const CONV_WEIGHT: &str = "weight [Cout, Cin, KH, KW]";
pub(super) const TRANSPOSE_WEIGHT: &str = "weight [Cin, Cout, KH, KW]";

/// An error naming both shapes, saying `msg`, unless `ok`.
pub(super) fn ensure(
    op: &'static str,
    ok: bool,
    a: &[usize],
    b: &[usize],
    msg: &str,
) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::shape(op, a, b, msg))
    }
}

pub(super) fn check_stride(op: &'static str, stride: (usize, usize)) -> Result<()> {
    if stride.0 == 0 || stride.1 == 0 {
        return Err(Error::Invalid {
            op,
            msg: format!("stride must be at least 1 in each dimension, got {stride:?}"),
        });
    }
    Ok(())
}

/// Channels, spatial sizes and kernel sizes must be non-zero (the batch may be empty).
pub(super) fn check_nonzero(
    op: &'static str,
    a: &[usize],
    b: &[usize],
    which: &[usize],
) -> Result<()> {
    let msg = "channels, heights, widths and kernel sizes must be non-zero";
    ensure(op, !which.contains(&0), a, b, msg)
}

/// The bias of a layer with `channels` output channels: shape `[channels]`.
pub(super) fn check_bias(
    op: &'static str,
    bias: Option<&Tensor>,
    x: &Tensor,
    weight: &[usize],
    channels: usize,
) -> Result<()> {
    let Some(bias) = bias else { return Ok(()) };
    x.same_device(bias, op)?;
    let msg = format!("bias must be [{channels}], one value per output channel of the weight");
    ensure(op, bias.dims() == [channels], weight, bias.dims(), &msg)
}

/// Checks stride and output padding (each output padding smaller than its stride, as
/// PyTorch requires without dilation).
pub(super) fn check_transpose_params(op: &'static str, p: ConvTranspose2dParams) -> Result<()> {
    check_stride(op, p.stride)?;
    let (sh, sw) = p.stride;
    let (oph, opw) = p.output_padding;
    if oph >= sh || opw >= sw {
        return Err(Error::Invalid {
            op,
            msg: format!(
                "output padding {:?} must be smaller than the stride {:?} in each dimension",
                p.output_padding, p.stride
            ),
        });
    }
    Ok(())
}
