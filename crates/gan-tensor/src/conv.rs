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

use bytemuck::{Pod, Zeroable};

use crate::context::{Arg, Launch};
use crate::shaders::CONV;
use crate::{Error, Result, Tensor};

mod im2col;

/// How a convolution is computed. Both give the same results up to f32 rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvAlgo {
    /// The direct gather kernels of conv.wgsl: one invocation per output element.
    Direct,
    /// Lowered to one matmul per batch chunk: an im2col column matrix
    /// [N * OH * OW, Cin * KH * KW] times the weight. The batch is split so that each
    /// chunk's matrices hold at most `max_bytes` (and fit one storage binding); when not
    /// even one image fits, or chunk boundaries would break view alignment, it falls
    /// back to `Direct`.
    Im2col {
        /// Byte budget of one chunk's column (or channel-last) matrix.
        max_bytes: u64,
    },
}

impl ConvAlgo {
    /// im2col with the default chunk budget, 64 MiB.
    pub const IM2COL: ConvAlgo = ConvAlgo::Im2col {
        max_bytes: 64 << 20,
    };
}

impl Default for ConvAlgo {
    /// [`ConvAlgo::IM2COL`], or what `GAN_CONV_ALGO=direct|im2col` asks for.
    fn default() -> Self {
        match std::env::var("GAN_CONV_ALGO").as_deref() {
            Ok("direct") => ConvAlgo::Direct,
            _ => ConvAlgo::IM2COL,
        }
    }
}

/// Stride and zero padding of a 2-D convolution, as (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dParams {
    /// Step between receptive fields, (sh, sw); each at least 1.
    pub stride: (usize, usize),
    /// Zeros added on each side of the input, (ph, pw).
    pub padding: (usize, usize),
}

impl Conv2dParams {
    /// The same stride and padding along height and width.
    pub fn new(stride: usize, padding: usize) -> Self {
        Conv2dParams {
            stride: (stride, stride),
            padding: (padding, padding),
        }
    }

    /// The output (OH, OW) for an input (H, W) and kernel (KH, KW):
    /// OH = (H + 2 ph - KH) / sh + 1. None when the kernel is larger than the padded
    /// input or a stride is zero.
    pub fn output_hw(
        &self,
        input_hw: (usize, usize),
        kernel_hw: (usize, usize),
    ) -> Option<(usize, usize)> {
        let oh = conv_len(input_hw.0, kernel_hw.0, self.stride.0, self.padding.0)?;
        let ow = conv_len(input_hw.1, kernel_hw.1, self.stride.1, self.padding.1)?;
        Some((oh, ow))
    }
}

impl Default for Conv2dParams {
    /// Stride 1, no padding (PyTorch's defaults).
    fn default() -> Self {
        Conv2dParams::new(1, 0)
    }
}

/// Stride, padding and output padding of a 2-D transposed convolution, as (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvTranspose2dParams {
    /// Stride of the convolution this transposes, (sh, sw); each at least 1.
    pub stride: (usize, usize),
    /// Padding of the convolution this transposes: rows and columns cropped from each
    /// side of the full output.
    pub padding: (usize, usize),
    /// Extra rows and columns added at the bottom and right of the output, each smaller
    /// than the stride; they pick one of the input sizes that a strided conv2d maps to
    /// the same output size.
    pub output_padding: (usize, usize),
}

impl ConvTranspose2dParams {
    /// The same stride and padding along height and width, no output padding.
    pub fn new(stride: usize, padding: usize) -> Self {
        ConvTranspose2dParams {
            stride: (stride, stride),
            padding: (padding, padding),
            output_padding: (0, 0),
        }
    }

    /// The output (OH, OW) for an input (H, W) and kernel (KH, KW):
    /// OH = (H - 1) sh - 2 ph + KH + output_padding. None when that is not positive.
    pub fn output_hw(
        &self,
        input_hw: (usize, usize),
        kernel_hw: (usize, usize),
    ) -> Option<(usize, usize)> {
        let oh = transpose_len(
            input_hw.0,
            kernel_hw.0,
            self.stride.0,
            self.padding.0,
            self.output_padding.0,
        )?;
        let ow = transpose_len(
            input_hw.1,
            kernel_hw.1,
            self.stride.1,
            self.padding.1,
            self.output_padding.1,
        )?;
        Some((oh, ow))
    }

    /// The conv2d whose input gradient this is.
    fn conv(&self) -> Conv2dParams {
        Conv2dParams {
            stride: self.stride,
            padding: self.padding,
        }
    }
}

impl Default for ConvTranspose2dParams {
    /// Stride 1, no padding, no output padding (PyTorch's defaults).
    fn default() -> Self {
        ConvTranspose2dParams::new(1, 0)
    }
}

fn conv_len(input: usize, kernel: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = input.checked_add(pad.checked_mul(2)?)?;
    if stride == 0 || padded < kernel {
        return None;
    }
    Some((padded - kernel) / stride + 1)
}

fn transpose_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    out_pad: usize,
) -> Option<usize> {
    let full = input
        .checked_sub(1)?
        .checked_mul(stride)?
        .checked_add(kernel)?
        .checked_add(out_pad)?;
    full.checked_sub(pad.checked_mul(2)?).filter(|&n| n > 0)
}

/// The uniform of conv.wgsl (64 bytes, all u32).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    oh: u32,
    ow: u32,
    total: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    kp: u32,
    cp: u32,
}

/// Every extent the shader adds up stays below this, so its u32 arithmetic is exact.
const MAX_EXTENT: u128 = 1 << 31;

/// The geometry of one conv2d: input `[n, cin, h, w]`, weight `[cout, cin, kh, kw]`,
/// output `[n, cout, oh, ow]`. Every kernel of conv.wgsl is phrased in it; a transposed
/// convolution is the conv2d whose input gradient it is ([`Geometry::transposed`]).
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    p: Conv2dParams,
}

impl Geometry {
    /// The conv2d of an input `[n, cin, h, w]` by a kernel (kh, kw) into `cout` channels,
    /// or an error naming `shapes` when the kernel is larger than the padded input.
    fn conv2d(
        op: &'static str,
        shapes: (&[usize], &[usize]),
        [n, cin, h, w]: [usize; 4],
        cout: usize,
        (kh, kw): (usize, usize),
        p: Conv2dParams,
    ) -> Result<Geometry> {
        let (oh, ow) = conv_out(op, shapes, (h, w), (kh, kw), p)?;
        Ok(Geometry {
            n,
            cin,
            h,
            w,
            cout,
            oh,
            ow,
            kh,
            kw,
            p,
        })
    }

    /// The conv2d whose input gradient is the transposed convolution of an input
    /// `[n, cin, h, w]` by a kernel (kh, kw) into `cout` channels: it maps the transposed
    /// output `[n, cout, oh, ow]` to the input's shape. Errors name `shapes`.
    fn transposed(
        op: &'static str,
        shapes: (&[usize], &[usize]),
        [n, cin, h, w]: [usize; 4],
        cout: usize,
        (kh, kw): (usize, usize),
        p: ConvTranspose2dParams,
    ) -> Result<Geometry> {
        let (oh, ow) = transpose_out(op, shapes, (h, w), (kh, kw), p)?;
        Ok(Geometry {
            n,
            cin: cout,
            h: oh,
            w: ow,
            cout: cin,
            oh: h,
            ow: w,
            kh,
            kw,
            p: p.conv(),
        })
    }

    fn input(&self) -> [usize; 4] {
        [self.n, self.cin, self.h, self.w]
    }

    fn weight(&self) -> [usize; 4] {
        [self.cout, self.cin, self.kh, self.kw]
    }

    fn output(&self) -> [usize; 4] {
        [self.n, self.cout, self.oh, self.ow]
    }

    /// Refuses geometries whose padded extents or strides would overflow the shader's u32
    /// index arithmetic (far beyond any tensor an adapter can hold).
    fn check(self, op: &'static str) -> Result<Geometry> {
        let (sh, sw) = self.p.stride;
        let (ph, pw) = self.p.padding;
        let extents = [
            self.h as u128 + 2 * ph as u128 + self.kh as u128,
            self.w as u128 + 2 * pw as u128 + self.kw as u128,
            sh as u128,
            sw as u128,
        ];
        if extents.iter().any(|&e| e >= MAX_EXTENT) {
            return Err(Error::Invalid {
                op,
                msg: format!(
                    "input {:?}, kernel {}x{}, stride {:?}, padding {:?}: padded sizes and \
                     strides must stay below 2^31",
                    self.input(),
                    self.kh,
                    self.kw,
                    self.p.stride,
                    self.p.padding
                ),
            });
        }
        Ok(self)
    }

    /// Columns of the im2col matrix that hold taps: cin * kh * kw.
    fn k(&self) -> usize {
        self.cin * self.kh * self.kw
    }

    /// Row length of the im2col matrix: `k` rounded up to a multiple of 4, so matmul reads
    /// it (and the weight padded alike) as vec4s.
    fn kp(&self) -> usize {
        self.k().next_multiple_of(4)
    }

    /// Records one kernel of conv.wgsl writing all of `out` (`total` = its elements).
    fn launch(&self, entry: &'static str, inputs: &[Arg], out: &Tensor) -> Result<()> {
        self.launch_layout(entry, inputs, out, self.kp(), self.cout)
    }

    /// [`Geometry::launch`] of `entry` over `inputs`, or of `entry_bias` over `inputs` and
    /// `bias` when there is one.
    fn launch_bias(
        &self,
        (entry, entry_bias): (&'static str, &'static str),
        inputs: &[&Tensor],
        bias: Option<&Tensor>,
        out: &Tensor,
    ) -> Result<()> {
        let args: Vec<Arg> = inputs
            .iter()
            .chain(bias.as_ref())
            .map(|t| t.arg())
            .collect();
        self.launch(if bias.is_some() { entry_bias } else { entry }, &args, out)
    }

    /// [`Geometry::launch`] with the row lengths of the column matrix (`kp`) and of the
    /// channel-last matrix (`cp`) that the im2col layout kernels use.
    fn launch_layout(
        &self,
        entry: &'static str,
        inputs: &[Arg],
        out: &Tensor,
        kp: usize,
        cp: usize,
    ) -> Result<()> {
        let u = |v: usize| v as u32; // every value was bounded by `check` or a tensor size
        let total = out.numel();
        let params = Params {
            n: u(self.n),
            cin: u(self.cin),
            h: u(self.h),
            w: u(self.w),
            cout: u(self.cout),
            oh: u(self.oh),
            ow: u(self.ow),
            total: u(total),
            kh: u(self.kh),
            kw: u(self.kw),
            sh: u(self.p.stride.0),
            sw: u(self.p.stride.1),
            ph: u(self.p.padding.0),
            pw: u(self.p.padding.1),
            kp: u(kp),
            cp: u(cp),
        };
        let ctx = out.context();
        ctx.dispatch(Launch {
            family: CONV,
            entry,
            constants: &[],
            params: bytemuck::bytes_of(&params),
            inputs,
            outputs: &[out.arg()],
            groups: ctx.grid(total.div_ceil(64) as u64),
        })
    }

    /// y = x (*) wt (+ bias[cout]).
    fn forward(
        &self,
        x: &Tensor,
        wt: &Tensor,
        bias: Option<&Tensor>,
        algo: ConvAlgo,
    ) -> Result<Tensor> {
        if let Some(chunk) = im2col::plan(self, x.context(), algo) {
            return im2col::forward(self, x, wt, bias, chunk);
        }
        let out = Tensor::uninit(x.context(), &self.output())?;
        let entries = ("conv2d_forward", "conv2d_forward_bias");
        self.launch_bias(entries, &[x, wt], bias, &out)?;
        Ok(out)
    }

    /// dx from dy and wt (+ bias[cin], for conv_transpose2d).
    fn backward_input(
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

    /// dw from x and dy.
    fn backward_weight(&self, x: &Tensor, dy: &Tensor, algo: ConvAlgo) -> Result<Tensor> {
        if let Some(chunk) = im2col::plan(self, x.context(), algo) {
            return im2col::backward_weight(self, x, dy, chunk);
        }
        let dw = Tensor::uninit(x.context(), &self.weight())?;
        self.launch("conv2d_backward_weight", &[x.arg(), dy.arg()], &dw)?;
        Ok(dw)
    }
}

/// The dims of a rank-4 tensor, or an error naming the layout it should have.
fn nchw(op: &'static str, t: &Tensor, layout: &str) -> Result<[usize; 4]> {
    match *t.dims() {
        [a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(Error::InvalidShape {
            op,
            msg: format!("expected a 4-D {layout} tensor, got {:?}", t.dims()),
        }),
    }
}

/// The dims of the two 4-D operands `a` and `b` of an op, which must share a device.
fn operands(
    op: &'static str,
    (a, a_layout): (&Tensor, &str),
    (b, b_layout): (&Tensor, &str),
) -> Result<([usize; 4], [usize; 4])> {
    a.same_device(b, op)?;
    Ok((nchw(op, a, a_layout)?, nchw(op, b, b_layout)?))
}

const INPUT: &str = "input [N, Cin, H, W]";
const OUTPUT_GRAD: &str = "output gradient [N, Cout, OH, OW]";
const CONV_WEIGHT: &str = "weight [Cout, Cin, KH, KW]";
const TRANSPOSE_WEIGHT: &str = "weight [Cin, Cout, KH, KW]";

/// An error naming both shapes, saying `msg`, unless `ok`.
fn ensure(op: &'static str, ok: bool, a: &[usize], b: &[usize], msg: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::shape(op, a, b, msg))
    }
}

fn check_stride(op: &'static str, stride: (usize, usize)) -> Result<()> {
    if stride.0 == 0 || stride.1 == 0 {
        return Err(Error::Invalid {
            op,
            msg: format!("stride must be at least 1 in each dimension, got {stride:?}"),
        });
    }
    Ok(())
}

/// Channels, spatial sizes and kernel sizes must be non-zero (the batch may be empty).
fn check_nonzero(op: &'static str, a: &[usize], b: &[usize], which: &[usize]) -> Result<()> {
    let msg = "channels, heights, widths and kernel sizes must be non-zero";
    ensure(op, !which.contains(&0), a, b, msg)
}

/// Output size of a conv2d of `input` (H, W) by `kernel` (KH, KW), or an error naming
/// both shapes when the kernel is larger than the padded input.
fn conv_out(
    op: &'static str,
    shapes: (&[usize], &[usize]),
    input: (usize, usize),
    kernel: (usize, usize),
    p: Conv2dParams,
) -> Result<(usize, usize)> {
    p.output_hw(input, kernel).ok_or_else(|| {
        Error::shape(
            op,
            shapes.0,
            shapes.1,
            &format!(
                "kernel {}x{} is larger than the padded input {}x{} (padding {:?})",
                kernel.0,
                kernel.1,
                input.0.saturating_add(p.padding.0.saturating_mul(2)),
                input.1.saturating_add(p.padding.1.saturating_mul(2)),
                p.padding
            ),
        )
    })
}

/// The bias of a layer with `channels` output channels: shape `[channels]`.
fn check_bias(
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
    const OP: &str = "conv2d";
    let (xd, wd) = operands(OP, (x, INPUT), (weight, CONV_WEIGHT))?;
    let ([_, cin, h, w], [cout, wcin, kh, kw]) = (xd, wd);
    check_stride(OP, p.stride)?;
    let msg = "the input's channels (dim 1) must equal the weight's input channels (dim 1)";
    ensure(OP, wcin == cin, &xd, &wd, msg)?;
    check_nonzero(OP, &xd, &wd, &[cin, h, w, cout, kh, kw])?;
    let g = Geometry::conv2d(OP, (&xd, &wd), xd, cout, (kh, kw), p)?.check(OP)?;
    check_bias(OP, bias, x, &wd, cout)?;
    g.forward(x, weight, bias, algo)
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
    g.check(OP)?.backward_weight(x, dy, algo)
}

/// Checks stride and output padding (each output padding smaller than its stride, as
/// PyTorch requires without dilation).
fn check_transpose_params(op: &'static str, p: ConvTranspose2dParams) -> Result<()> {
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

/// The output size of a transposed convolution, or an error naming both shapes.
fn transpose_out(
    op: &'static str,
    shapes: (&[usize], &[usize]),
    input: (usize, usize),
    kernel: (usize, usize),
    p: ConvTranspose2dParams,
) -> Result<(usize, usize)> {
    p.output_hw(input, kernel).ok_or_else(|| {
        Error::shape(
            op,
            shapes.0,
            shapes.1,
            &format!(
                "the output (H - 1) * stride - 2 * padding + K + output_padding is not \
                 positive with stride {:?}, padding {:?}, output padding {:?}",
                p.stride, p.padding, p.output_padding
            ),
        )
    })
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
    const OP: &str = "conv_transpose2d_backward_input";
    let (dyd, wd) = operands(OP, (dy, OUTPUT_GRAD), (weight, TRANSPOSE_WEIGHT))?;
    let ([_, cout, oh, ow], [cin, wcout, kh, kw]) = (dyd, wd);
    check_transpose_params(OP, p)?;
    let msg = "the gradient's channels (dim 1) must equal the weight's output channels (dim 1)";
    ensure(OP, wcout == cout, &dyd, &wd, msg)?;
    check_nonzero(OP, &dyd, &wd, &[cout, oh, ow, cin, kh, kw])?;
    // The conv2d of dy by the weight, whose output is this gradient's [n, cin, h, w].
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
    g.check(OP)?.forward(dy, weight, None, algo)
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
    // conv2d's weight gradient with the conv2d input = dy and its output gradient = x.
    g.check(OP)?.backward_weight(dy, x, algo)
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
    let cols = Tensor::uninit(x.context(), &[n * g.oh * g.ow, g.k()])?;
    g.launch_layout("im2col", &[x.arg()], &cols, g.k(), 1)?;
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
    let k = g.k();
    let msg = format!(
        "cols must be [N * {} * {}, {k}] for these channels, sizes and kernel",
        g.oh, g.ow
    );
    let ok = matches!(*cols.dims(), [r, c] if c == k && r % rows == 0);
    ensure(OP, ok, cols.dims(), &want, &msg)?;
    g.n = cols.dims()[0] / rows;
    let g = g.check(OP)?;
    let x = Tensor::uninit(cols.context(), &g.input())?;
    g.launch_layout("col2im", &[cols.arg()], &x, k, 1)?;
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
