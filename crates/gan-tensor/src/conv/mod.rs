//! Launches `shaders/conv.wgsl`: conv2d and conv_transpose2d over NCHW tensors with
//! PyTorch's weight layouts, and their input, weight and bias gradients.
//!
//! Three kernels serve all six operations, because the input gradient of a convolution is
//! a transposed convolution and vice versa: `conv_transpose2d` is conv2d's input gradient
//! with the roles of input and output exchanged, its input gradient is conv2d's forward,
//! and its weight gradient is conv2d's weight gradient with x and dy exchanged.
//!
//! ```no_run
//! use gan_tensor::conv::{self, Conv2dParams, ConvTranspose2dParams};
//! use gan_tensor::{Context, Tensor};
//! let ctx = Context::new()?;
//! let z = Tensor::zeros(&ctx, &[8, 128, 7, 7])?;
//! let w = Tensor::zeros(&ctx, &[128, 64, 4, 4])?; // [Cin, Cout, KH, KW]
//! let up = conv::conv_transpose2d(&z, &w, None, ConvTranspose2dParams::new(2, 1))?;
//! assert_eq!(up.dims(), &[8, 64, 14, 14]);
//! let k = Tensor::zeros(&ctx, &[32, 64, 4, 4])?; // [Cout, Cin, KH, KW]
//! let down = conv::conv2d(&up, &k, None, Conv2dParams::new(2, 1))?;
//! assert_eq!(down.dims(), &[8, 32, 7, 7]);
//! # Ok::<(), gan_tensor::Error>(())
//! ```

mod checks;
mod columns;
mod geometry;
mod im2col;
mod launch;
mod run;

use crate::{Error, Result, Tensor};
use checks::{
    check_bias, check_nonzero, check_stride, check_transpose_params, ensure, nchw, operands,
    CONV_WEIGHT, INPUT, OUTPUT_GRAD, TRANSPOSE_WEIGHT,
};
use geometry::Geometry;

pub use columns::{
    conv2d_backward_weight_from, conv2d_keeping_columns,
    conv_transpose2d_backward_input_keeping_columns, conv_transpose2d_backward_weight_from,
    Columns,
};
pub use geometry::{Conv2dParams, ConvAlgo, ConvTranspose2dParams};

/// 2-D convolution (cross-correlation, as in PyTorch): x `[N, Cin, H, W]` with weight
/// `[Cout, Cin, KH, KW]` and an optional bias `[Cout]` gives `[N, Cout, OH, OW]` with
/// OH = (H + 2 ph - KH) / sh + 1.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: Conv2dParams,
) -> Result<Tensor> {
    conv2d_with(x, weight, bias, p, ConvAlgo::default())
}

/// [`conv2d`] computed by `algo`.
pub fn conv2d_with(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: Conv2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    conv2d_geometry(x, weight, bias, p)?.forward(x, weight, bias, algo)
}

/// The checked geometry of [`conv2d`] of these operands.
fn conv2d_geometry(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: Conv2dParams,
) -> Result<Geometry> {
    const OP: &str = "conv2d";
    let (xd, wd) = operands(OP, (x, INPUT), (weight, CONV_WEIGHT))?;
    let ([_, cin, h, w], [cout, wcin, kh, kw]) = (xd, wd);
    check_stride(OP, p.stride)?;
    let msg = "the input's channels (dim 1) must equal the weight's input channels (dim 1)";
    ensure(OP, wcin == cin, &xd, &wd, msg)?;
    check_nonzero(OP, &xd, &wd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::conv2d(OP, (&xd, &wd), xd, cout, (kh, kw), p)?.check(OP)?;
    check_bias(OP, bias, x, &wd, cout)?;
    Ok(g)
}

/// Gradient of [`conv2d`] with respect to its input: dy `[N, Cout, OH, OW]` and weight
/// `[Cout, Cin, KH, KW]` give dx `[N, Cin, H, W]`. `input_hw` is the forward input's (H, W),
/// which a strided convolution does not determine from OH alone.
pub fn conv2d_backward_input(
    dy: &Tensor,
    weight: &Tensor,
    input_hw: (usize, usize),
    p: Conv2dParams,
) -> Result<Tensor> {
    conv2d_backward_input_with(dy, weight, input_hw, p, ConvAlgo::default())
}

/// [`conv2d_backward_input`] computed by `algo`.
pub fn conv2d_backward_input_with(
    dy: &Tensor,
    weight: &Tensor,
    input_hw: (usize, usize),
    p: Conv2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_input";
    let (dyd, wd) = operands(OP, (dy, OUTPUT_GRAD), (weight, CONV_WEIGHT))?;
    let ([n, cout, oh, ow], [wcout, cin, kh, kw]) = (dyd, wd);
    check_stride(OP, p.stride)?;
    let msg = "the gradient's channels (dim 1) must equal the weight's output channels (dim 0)";
    ensure(OP, wcout == cout, &dyd, &wd, msg)?;
    let (h, w) = input_hw;
    let input = [n, cin, h, w];
    check_nonzero(OP, &input, &wd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::conv2d(OP, (&input, &wd), input, cout, (kh, kw), p)?;
    let msg = format!(
        "an input of {h}x{w} gives a conv2d output of {}x{}, not {oh}x{ow}",
        g.oh, g.ow
    );
    ensure(OP, (g.oh, g.ow) == (oh, ow), &dyd, &input, &msg)?;
    g.check(OP)?.backward_input(dy, weight, None, algo)
}

/// Gradient of [`conv2d`] with respect to its weight: x `[N, Cin, H, W]` and dy
/// `[N, Cout, OH, OW]` give dw `[Cout, Cin, KH, KW]` for the kernel size `kernel_hw`.
pub fn conv2d_backward_weight(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: Conv2dParams,
) -> Result<Tensor> {
    conv2d_backward_weight_with(x, dy, kernel_hw, p, ConvAlgo::default())
}

/// [`conv2d_backward_weight`] computed by `algo`.
pub fn conv2d_backward_weight_with(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: Conv2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    conv2d_dw(x, dy, kernel_hw, p, algo, None)
}

/// [`conv2d_backward_weight_with`] written into `out` (any shape of as many elements, e.g.
/// a view of a model's flat gradient buffer), or added to what it holds with `accumulate`
/// (out + dw, the bits of a separate add): a parameter's gradient in place. With im2col and
/// the batch in one chunk the product itself stores (or adds) there.
pub fn conv2d_backward_weight_into(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: Conv2dParams,
    algo: ConvAlgo,
    out: &Tensor,
    accumulate: bool,
) -> Result<()> {
    conv2d_dw(x, dy, kernel_hw, p, algo, Some((out, accumulate))).map(|_| ())
}

fn conv2d_dw(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: Conv2dParams,
    algo: ConvAlgo,
    into: Option<(&Tensor, bool)>,
) -> Result<Tensor> {
    const OP: &str = "conv2d_backward_weight";
    let (xd, dyd) = operands(OP, (x, INPUT), (dy, OUTPUT_GRAD))?;
    let ([n, cin, h, w], [dn, cout, oh, ow]) = (xd, dyd);
    check_stride(OP, p.stride)?;
    let msg = "the input and the gradient must have the same batch size (dim 0)";
    ensure(OP, dn == n, &xd, &dyd, msg)?;
    let (kh, kw) = kernel_hw;
    check_nonzero(OP, &xd, &dyd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::conv2d(OP, (&xd, &[cout, cin, kh, kw]), xd, cout, kernel_hw, p)?;
    let msg = format!(
        "a {kh}x{kw} kernel gives a conv2d output of {}x{} for this input, not {oh}x{ow}",
        g.oh, g.ow
    );
    ensure(OP, (g.oh, g.ow) == (oh, ow), &xd, &dyd, &msg)?;
    check_into(OP, x, into, [cout, cin, kh, kw])?;
    g.check(OP)?.backward_weight(x, dy, algo, into)
}

/// 2-D transposed convolution (the DCGAN generator's upsampling layer): x `[N, Cin, H, W]`
/// with weight `[Cin, Cout, KH, KW]` (PyTorch's ConvTranspose2d layout) and an optional bias
/// `[Cout]` gives `[N, Cout, OH, OW]` with OH = (H - 1) sh - 2 ph + KH + output_padding.
pub fn conv_transpose2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: ConvTranspose2dParams,
) -> Result<Tensor> {
    conv_transpose2d_with(x, weight, bias, p, ConvAlgo::default())
}

/// [`conv_transpose2d`] computed by `algo`.
pub fn conv_transpose2d_with(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    const OP: &str = "conv_transpose2d";
    let (xd, wd) = operands(OP, (x, INPUT), (weight, TRANSPOSE_WEIGHT))?;
    let ([_, cin, h, w], [wcin, cout, kh, kw]) = (xd, wd);
    check_transpose_params(OP, p)?;
    let msg = "the input's channels (dim 1) must equal the weight's input channels (dim 0)";
    ensure(OP, wcin == cin, &xd, &wd, msg)?;
    check_nonzero(OP, &xd, &wd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::transposed(OP, (&xd, &wd), xd, cout, (kh, kw), p)?.check(OP)?;
    check_bias(OP, bias, x, &wd, cout)?;
    g.backward_input(x, weight, bias, algo)
}

/// Gradient of [`conv_transpose2d`] with respect to its input: dy `[N, Cout, OH, OW]` and
/// weight `[Cin, Cout, KH, KW]` give dx `[N, Cin, H, W]` (a conv2d of dy by the weight).
pub fn conv_transpose2d_backward_input(
    dy: &Tensor,
    weight: &Tensor,
    p: ConvTranspose2dParams,
) -> Result<Tensor> {
    conv_transpose2d_backward_input_with(dy, weight, p, ConvAlgo::default())
}

/// [`conv_transpose2d_backward_input`] computed by `algo`.
pub fn conv_transpose2d_backward_input_with(
    dy: &Tensor,
    weight: &Tensor,
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    transpose_input_geometry(dy, weight, p)?.forward(dy, weight, None, algo)
}

/// The checked geometry of [`conv_transpose2d_backward_input`]: the conv2d of dy by the
/// weight, whose output is the gradient's [n, cin, h, w].
fn transpose_input_geometry(
    dy: &Tensor,
    weight: &Tensor,
    p: ConvTranspose2dParams,
) -> Result<Geometry> {
    const OP: &str = "conv_transpose2d_backward_input";
    let (dyd, wd) = operands(OP, (dy, OUTPUT_GRAD), (weight, TRANSPOSE_WEIGHT))?;
    let ([_, cout, oh, ow], [cin, wcout, kh, kw]) = (dyd, wd);
    check_transpose_params(OP, p)?;
    let msg = "the gradient's channels (dim 1) must equal the weight's output channels (dim 1)";
    ensure(OP, wcout == cout, &dyd, &wd, msg)?;
    check_nonzero(OP, &dyd, &wd, &[cout, oh, ow, cin, kh, kw])?;
    let g = Geometry::conv2d(OP, (&dyd, &wd), dyd, cin, (kh, kw), p.conv())?;
    // With output padding below the stride, a forward input of h x w is the only one
    // whose output is oh x ow; anything else is not the gradient of a forward output.
    let msg = format!(
        "no input size gives a transposed-convolution output of {oh}x{ow} with \
         stride {:?}, padding {:?}, output padding {:?}",
        p.stride, p.padding, p.output_padding
    );
    let reached = p.output_hw((g.oh, g.ow), (kh, kw)) == Some((oh, ow));
    ensure(OP, reached, &dyd, &wd, &msg)?;
    g.check(OP)
}

/// Gradient of [`conv_transpose2d`] with respect to its weight: x `[N, Cin, H, W]` and dy
/// `[N, Cout, OH, OW]` give dw `[Cin, Cout, KH, KW]` for the kernel size `kernel_hw`.
pub fn conv_transpose2d_backward_weight(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: ConvTranspose2dParams,
) -> Result<Tensor> {
    conv_transpose2d_backward_weight_with(x, dy, kernel_hw, p, ConvAlgo::default())
}

/// [`conv_transpose2d_backward_weight`] computed by `algo`.
pub fn conv_transpose2d_backward_weight_with(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
) -> Result<Tensor> {
    conv_transpose2d_dw(x, dy, kernel_hw, p, algo, None)
}

/// [`conv_transpose2d_backward_weight_with`] written into `out` or added to it with
/// `accumulate`, as [`conv2d_backward_weight_into`].
pub fn conv_transpose2d_backward_weight_into(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
    out: &Tensor,
    accumulate: bool,
) -> Result<()> {
    conv_transpose2d_dw(x, dy, kernel_hw, p, algo, Some((out, accumulate))).map(|_| ())
}

fn conv_transpose2d_dw(
    x: &Tensor,
    dy: &Tensor,
    kernel_hw: (usize, usize),
    p: ConvTranspose2dParams,
    algo: ConvAlgo,
    into: Option<(&Tensor, bool)>,
) -> Result<Tensor> {
    const OP: &str = "conv_transpose2d_backward_weight";
    let (xd, dyd) = operands(OP, (x, INPUT), (dy, OUTPUT_GRAD))?;
    let ([n, cin, h, w], [dn, cout, oh, ow]) = (xd, dyd);
    check_transpose_params(OP, p)?;
    let msg = "the input and the gradient must have the same batch size (dim 0)";
    ensure(OP, dn == n, &xd, &dyd, msg)?;
    let (kh, kw) = kernel_hw;
    check_nonzero(OP, &xd, &dyd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::transposed(OP, (&xd, &dyd), xd, cout, kernel_hw, p)?;
    let msg = format!(
        "a {kh}x{kw} kernel gives a transposed-convolution output of {}x{} for this \
         input, not {oh}x{ow}",
        g.h, g.w
    );
    ensure(OP, (g.h, g.w) == (oh, ow), &xd, &dyd, &msg)?;
    check_into(OP, x, into, [cin, cout, kh, kw])?;
    // conv2d's weight gradient with the conv2d input = dy and its output gradient = x.
    g.check(OP)?.backward_weight(dy, x, algo, into)
}

/// The im2col matrix of x `[N, Cin, H, W]` for a conv2d with kernel `kernel_hw`:
/// `[N * OH * OW, Cin * KH * KW]`, row (n, oh, ow) and column (ci, kh, kw) holding the
/// input under that tap, 0 where it falls in the padding. conv2d is this matrix times the
/// weight `[Cout, Cin * KH * KW]` transposed (the Im2col algorithm pads its columns to a
/// multiple of 4 internally).
pub fn im2col(x: &Tensor, kernel_hw: (usize, usize), p: Conv2dParams) -> Result<Tensor> {
    const OP: &str = "im2col";
    let xd = nchw(OP, x, INPUT)?;
    let [n, cin, h, w] = xd;
    let (kh, kw) = kernel_hw;
    check_stride(OP, p.stride)?;
    check_nonzero(OP, &xd, &[kh, kw], &[cin, h, w, kh, kw])?;
    let g = Geometry::conv2d(OP, (&xd, &[kh, kw]), xd, 1, kernel_hw, p)?.check(OP)?;
    // n, oh and ow are each below 2^31 (the tensor and g.check), so the product fits.
    let cols = Tensor::uninit_for(OP, x.context(), &[n * g.oh * g.ow, g.k()])?;
    im2col::write_cols(&g, x, &cols)?;
    Ok(cols)
}

/// The adjoint of [`im2col`]: cols `[N * OH * OW, Cin * KH * KW]` summed back onto the
/// input pixels each entry was copied from, giving `[N, Cin, H, W]` for the input size
/// `input_hw` (the input gradient of a conv2d is col2im of dy times the weight).
pub fn col2im(
    cols: &Tensor,
    channels: usize,
    input_hw: (usize, usize),
    kernel_hw: (usize, usize),
    p: Conv2dParams,
) -> Result<Tensor> {
    const OP: &str = "col2im";
    let (h, w) = input_hw;
    let (kh, kw) = kernel_hw;
    let want = [channels, h, w, kh, kw];
    check_stride(OP, p.stride)?;
    check_nonzero(OP, cols.dims(), &want, &want)?;
    let image = [0, channels, h, w]; // the batch size follows from cols
    let mut g = Geometry::conv2d(OP, (cols.dims(), &want), image, 1, kernel_hw, p)?;
    let rows =
        g.oh.checked_mul(g.ow)
            .filter(|&r| r > 0)
            .ok_or_else(|| Error::Invalid {
                op: OP,
                msg: format!(
            "input {h}x{w}, kernel {kh}x{kw}, padding {:?}: the {}x{} output grid does not fit \
             in memory indices",
            p.padding, g.oh, g.ow
        ),
            })?;
    // The column count cin * kh * kw, checked: `channels` is the caller's, not a tensor's.
    let k = channels
        .checked_mul(kh)
        .and_then(|ck| ck.checked_mul(kw))
        .ok_or_else(|| Error::Invalid {
            op: OP,
            msg: format!("channels {channels} times kernel {kh}x{kw} overflows usize"),
        })?;
    let msg = format!(
        "cols must be [N * {} * {}, {k}] for these channels, sizes and kernel",
        g.oh, g.ow
    );
    let ok = matches!(*cols.dims(), [r, c] if c == k && r % rows == 0);
    ensure(OP, ok, cols.dims(), &want, &msg)?;
    g.n = cols.dims()[0] / rows;
    let g = g.check(OP)?;
    let x = Tensor::uninit(cols.context(), &g.input())?;
    im2col::write_col2im(&g, cols, None, &x)?;
    Ok(x)
}

/// Gradient of the bias of [`conv2d`] or [`conv_transpose2d`]: dy `[N, C, OH, OW]` summed
/// over N, OH and OW gives `[C]`.
pub fn conv_bias_backward(dy: &Tensor) -> Result<Tensor> {
    let [n, c, oh, ow] = nchw("conv_bias_backward", dy, "output gradient [N, C, OH, OW]")?;
    dy.reshape(&[n, c, oh * ow])?
        .sum_axis(2, false)?
        .sum_axis(0, false)
}

/// [`conv_bias_backward`] written into `out` `[C]` (any shape of C elements), or added to
/// it with `accumulate` (the last sum's own store adds: out + db, the bits of a separate add).
pub fn conv_bias_backward_into(dy: &Tensor, out: &Tensor, accumulate: bool) -> Result<()> {
    const OP: &str = "conv_bias_backward";
    let [n, c, oh, ow] = nchw(OP, dy, "output gradient [N, C, OH, OW]")?;
    check_into(OP, dy, Some((out, accumulate)), [c, 1, 1, 1])?;
    let per_image = dy.reshape(&[n, c, oh * ow])?.sum_axis(2, false)?;
    if accumulate {
        per_image.sum_axis_add_into(0, out)
    } else {
        per_image.sum_axis_into(0, out)
    }
}

/// `into`'s tensor is on x's device and holds the gradient's elements.
fn check_into(
    op: &'static str,
    x: &Tensor,
    into: Option<(&Tensor, bool)>,
    dims: [usize; 4],
) -> Result<()> {
    let Some((out, _)) = into else { return Ok(()) };
    x.same_device(out, op)?;
    let want: usize = dims.iter().product();
    let msg = "the output must hold the gradient's elements";
    ensure(op, out.numel() == want, out.dims(), &dims, msg)
}
