//! The shapes of a convolution: the algorithm choice, the public stride/padding parameters
//! with their output sizes, and [`Geometry`], the one conv2d every kernel of conv.wgsl is
//! phrased in, with the checks that keep its sizes within the shader's u32 arithmetic.

use crate::{Error, Result};

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
    pub(super) fn conv(&self) -> Conv2dParams {
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

/// Every extent the shader adds up stays below this, so its u32 arithmetic is exact.
const MAX_EXTENT: u128 = 1 << 31;

/// The geometry of one conv2d: input `[n, cin, h, w]`, weight `[cout, cin, kh, kw]`,
/// output `[n, cout, oh, ow]`. Every kernel of conv.wgsl is phrased in it; a transposed
/// convolution is the conv2d whose input gradient it is ([`Geometry::transposed`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub(super) n: usize,
    pub(super) cin: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) cout: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    pub(super) kh: usize,
    pub(super) kw: usize,
    pub(super) p: Conv2dParams,
}

impl Geometry {
    /// The conv2d of an input `[n, cin, h, w]` by a kernel (kh, kw) into `cout` channels,
    /// or an error naming `shapes` when the kernel is larger than the padded input.
    pub(super) fn conv2d(
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
    pub(super) fn transposed(
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

    pub(super) fn input(&self) -> [usize; 4] {
        [self.n, self.cin, self.h, self.w]
    }

    pub(super) fn weight(&self) -> [usize; 4] {
        [self.cout, self.cin, self.kh, self.kw]
    }

    pub(super) fn output(&self) -> [usize; 4] {
        [self.n, self.cout, self.oh, self.ow]
    }

    /// Refuses geometries whose padded extents or strides would overflow the shader's u32
    /// index arithmetic (far beyond any tensor an adapter can hold).
    pub(super) fn check(self, op: &'static str) -> Result<Geometry> {
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
    pub(super) fn k(&self) -> usize {
        self.cin * self.kh * self.kw
    }

    /// Row length of the im2col matrix: `k` rounded up to a multiple of 4, so matmul reads
    /// it (and the weight padded alike) as vec4s.
    pub(super) fn kp(&self) -> usize {
        self.k().next_multiple_of(4)
    }
}

/// Output size of a conv2d of `input` (H, W) by `kernel` (KH, KW), or an error naming
/// both shapes when the kernel is larger than the padded input.
pub(super) fn conv_out(
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

/// The output size of a transposed convolution, or an error naming both shapes.
pub(super) fn transpose_out(
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
