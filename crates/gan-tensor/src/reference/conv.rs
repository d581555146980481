//! Reference convolutions, accumulated in f64. Shapes are `[N, C, H, W]` arrays and are
//! assumed valid; the checks live in [`crate::conv`].
//!
//! One loop nest, `Conv::each_tap`, visits every (output, input, weight) triple of a
//! conv2d straight from its definition; each op is one line of arithmetic over it. A
//! transposed convolution is the same nest with the roles of input and output exchanged:
//! its input x `[N, Cin, H, W]` with weight `[Cin, Cout, KH, KW]` scatters to the output
//! `[N, Cout, OH, OW]` exactly as a conv2d's output gradient scatters to its input
//! (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep learning", sec. 4).

use crate::conv::{Conv2dParams, ConvTranspose2dParams};

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| a as f64).collect()
}

fn narrow(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

/// Input index of output position `o` and kernel tap `k`, if inside [0, len).
fn tap(o: usize, k: usize, stride: usize, pad: usize, len: usize) -> Option<usize> {
    (o * stride + k).checked_sub(pad).filter(|&i| i < len)
}

/// One conv2d: x `[n, cin, h, w]` (*) wt `[cout, cin, kh, kw]` -> y `[n, cout, oh, ow]`.
struct Conv {
    x: [usize; 4],
    wt: [usize; 4],
    y: [usize; 4],
    p: Conv2dParams,
}

impl Conv {
    /// The conv2d of input `x_dims` by weight `w_dims` `[Cout, Cin, KH, KW]`.
    fn forward(x_dims: [usize; 4], w_dims: [usize; 4], p: Conv2dParams) -> Conv {
        let [n, _, h, w] = x_dims;
        let [cout, _, kh, kw] = w_dims;
        let oh = (h + 2 * p.padding.0 - kh) / p.stride.0 + 1;
        let ow = (w + 2 * p.padding.1 - kw) / p.stride.1 + 1;
        Conv {
            x: x_dims,
            wt: w_dims,
            y: [n, cout, oh, ow],
            p,
        }
    }

    /// The conv2d whose input gradient is the transposed convolution of input `x_dims` by
    /// weight `w_dims` `[Cin, Cout, KH, KW]`: its input is the transposed output, and the
    /// transposed weight read as `[Cout', Cin', KH, KW]` is the conv2d weight.
    fn transposed(x_dims: [usize; 4], w_dims: [usize; 4], p: ConvTranspose2dParams) -> Conv {
        let [n, cin, h, w] = x_dims;
        let [_, cout, kh, kw] = w_dims;
        let oh = (h - 1) * p.stride.0 + kh + p.output_padding.0 - 2 * p.padding.0;
        let ow = (w - 1) * p.stride.1 + kw + p.output_padding.1 - 2 * p.padding.1;
        Conv {
            x: [n, cout, oh, ow],
            wt: w_dims,
            y: [n, cin, h, w],
            p: Conv2dParams {
                stride: p.stride,
                padding: p.padding,
            },
        }
    }

    /// Calls `f(x index, weight index, y index)` for every product of the conv2d sum
    /// `y[n, co, oh, ow] = sum over (ci, kh, kw) of x[n, ci, oh sh + kh - ph,
    /// ow sw + kw - pw] wt[co, ci, kh, kw]`, skipping taps that fall in the padding.
    fn each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let [n, cin, h, wd] = self.x;
        let [cout, _, kh, kw] = self.wt;
        let [_, _, oh, ow] = self.y;
        let (st, pad) = (self.p.stride, self.p.padding);
        for b in 0..n {
            for co in 0..cout {
                for i in 0..oh {
                    for j in 0..ow {
                        let yi = ((b * cout + co) * oh + i) * ow + j;
                        for ci in 0..cin {
                            for r in 0..kh {
                                let Some(ih) = tap(i, r, st.0, pad.0, h) else {
                                    continue;
                                };
                                for s in 0..kw {
                                    let Some(iw) = tap(j, s, st.1, pad.1, wd) else {
                                        continue;
                                    };
                                    let xi = ((b * cin + ci) * h + ih) * wd + iw;
                                    f(xi, ((co * cin + ci) * kh + r) * kw + s, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// y = x (*) wt, plus `bias[channel of y]`.
    fn output(&self, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
        let mut y = vec![0f64; self.y.iter().product()];
        self.each_tap(|xi, wi, yi| y[yi] += x[xi] * w[wi]);
        add_bias(&mut y, self.y, bias);
        y
    }

    /// The input gradient: dy scattered back through wt (+ `bias[channel of x]`).
    fn input_grad(&self, dy: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
        let mut dx = vec![0f64; self.x.iter().product()];
        self.each_tap(|xi, wi, yi| dx[xi] += dy[yi] * w[wi]);
        add_bias(&mut dx, self.x, bias);
        dx
    }

    /// The weight gradient: the sum of dy * x over every product each weight takes part in.
    fn weight_grad(&self, x: &[f32], dy: &[f32]) -> Vec<f32> {
        let mut dw = vec![0f64; self.wt.iter().product()];
        self.each_tap(|xi, wi, yi| dw[wi] += dy[yi] as f64 * x[xi] as f64);
        narrow(&dw)
    }
}

/// Adds `bias[c]` to every element of channel c of `t` (dims `[N, C, H, W]`).
fn add_bias(t: &mut [f64], [_, c, h, w]: [usize; 4], bias: Option<&[f64]>) {
    if let Some(bv) = bias {
        for (k, v) in t.iter_mut().enumerate() {
            *v += bv[(k / (h * w)) % c];
        }
    }
}

/// The output dims of [`conv2d_forward`].
pub fn conv2d_output_dims(x_dims: [usize; 4], w_dims: [usize; 4], p: Conv2dParams) -> [usize; 4] {
    Conv::forward(x_dims, w_dims, p).y
}

/// The output dims of [`conv_transpose2d_forward`].
pub fn conv_transpose2d_output_dims(
    x_dims: [usize; 4],
    w_dims: [usize; 4],
    p: ConvTranspose2dParams,
) -> [usize; 4] {
    Conv::transposed(x_dims, w_dims, p).x
}

/// conv2d in f64: `y[n, co, oh, ow] = b[co] + sum over (ci, kh, kw) of
/// x[n, ci, oh sh + kh - ph, ow sw + kw - pw] w[co, ci, kh, kw]`, taps outside x being zero.
pub fn conv2d_forward_f64(
    x: &[f64],
    x_dims: [usize; 4],
    w: &[f64],
    w_dims: [usize; 4],
    bias: Option<&[f64]>,
    p: Conv2dParams,
) -> Vec<f64> {
    Conv::forward(x_dims, w_dims, p).output(x, w, bias)
}

/// conv2d (f32 in and out, f64 sums); returns the output and its dims.
pub fn conv2d_forward(
    x: &[f32],
    x_dims: [usize; 4],
    w: &[f32],
    w_dims: [usize; 4],
    bias: Option<&[f32]>,
    p: Conv2dParams,
) -> (Vec<f32>, [usize; 4]) {
    let b = bias.map(widen);
    let y = conv2d_forward_f64(&widen(x), x_dims, &widen(w), w_dims, b.as_deref(), p);
    (narrow(&y), conv2d_output_dims(x_dims, w_dims, p))
}

/// Gradient of conv2d with respect to x `[N, Cin, input_hw]`: each dy element scatters
/// dy * w back onto the input positions it was computed from.
pub fn conv2d_backward_input(
    dy: &[f32],
    dy_dims: [usize; 4],
    w: &[f32],
    w_dims: [usize; 4],
    input_hw: (usize, usize),
    p: Conv2dParams,
) -> Vec<f32> {
    let [n, _, _, _] = dy_dims;
    let x_dims = [n, w_dims[1], input_hw.0, input_hw.1];
    let dx = Conv::forward(x_dims, w_dims, p).input_grad(&widen(dy), &widen(w), None);
    narrow(&dx)
}

/// Gradient of conv2d with respect to w `[Cout, Cin, kernel_hw]`.
pub fn conv2d_backward_weight(
    x: &[f32],
    x_dims: [usize; 4],
    dy: &[f32],
    dy_dims: [usize; 4],
    kernel_hw: (usize, usize),
    p: Conv2dParams,
) -> Vec<f32> {
    let w_dims = [dy_dims[1], x_dims[1], kernel_hw.0, kernel_hw.1];
    Conv::forward(x_dims, w_dims, p).weight_grad(x, dy)
}

/// conv_transpose2d in f64, from its definition: each `x[n, ci, i, j]` scatters
/// `x * w[ci, co, kh, kw]` to `y[n, co, i sh + kh - ph, j sw + kw - pw]` (dropped where
/// that falls outside y), then `b[co]` is added. This is the input gradient of the conv2d
/// from y's shape to x's.
pub fn conv_transpose2d_forward_f64(
    x: &[f64],
    x_dims: [usize; 4],
    w: &[f64],
    w_dims: [usize; 4],
    bias: Option<&[f64]>,
    p: ConvTranspose2dParams,
) -> Vec<f64> {
    Conv::transposed(x_dims, w_dims, p).input_grad(x, w, bias)
}

/// conv_transpose2d (f32 in and out, f64 sums); returns the output and its dims.
pub fn conv_transpose2d_forward(
    x: &[f32],
    x_dims: [usize; 4],
    w: &[f32],
    w_dims: [usize; 4],
    bias: Option<&[f32]>,
    p: ConvTranspose2dParams,
) -> (Vec<f32>, [usize; 4]) {
    let b = bias.map(widen);
    let y = conv_transpose2d_forward_f64(&widen(x), x_dims, &widen(w), w_dims, b.as_deref(), p);
    (narrow(&y), conv_transpose2d_output_dims(x_dims, w_dims, p))
}

/// Gradient of conv_transpose2d with respect to x `[N, Cin, H, W]`: dx[n, ci, i, j] sums
/// dy * w over every output position that x[n, ci, i, j] reached (the forward of the
/// conv2d whose input gradient conv_transpose2d is).
pub fn conv_transpose2d_backward_input(
    dy: &[f32],
    dy_dims: [usize; 4],
    w: &[f32],
    w_dims: [usize; 4],
    input_hw: (usize, usize),
    p: ConvTranspose2dParams,
) -> Vec<f32> {
    let x_dims = [dy_dims[0], w_dims[0], input_hw.0, input_hw.1];
    let dx = Conv::transposed(x_dims, w_dims, p).output(&widen(dy), &widen(w), None);
    narrow(&dx)
}

/// Gradient of conv_transpose2d with respect to w `[Cin, Cout, kernel_hw]`.
pub fn conv_transpose2d_backward_weight(
    x: &[f32],
    x_dims: [usize; 4],
    dy: &[f32],
    dy_dims: [usize; 4],
    kernel_hw: (usize, usize),
    p: ConvTranspose2dParams,
) -> Vec<f32> {
    let w_dims = [x_dims[1], dy_dims[1], kernel_hw.0, kernel_hw.1];
    // The conv2d's input is dy and its output is x.
    Conv::transposed(x_dims, w_dims, p).weight_grad(dy, x)
}

/// Gradient of a convolution's bias: dy `[N, C, OH, OW]` summed over N, OH and OW.
pub fn conv_bias_backward(dy: &[f32], dy_dims: [usize; 4]) -> Vec<f32> {
    let [n, c, oh, ow] = dy_dims;
    let plane = oh * ow;
    (0..c)
        .map(|ch| {
            let mut acc = 0f64;
            for b in 0..n {
                let start = (b * c + ch) * plane;
                acc += dy[start..start + plane]
                    .iter()
                    .map(|&v| v as f64)
                    .sum::<f64>();
            }
            acc as f32
        })
        .collect()
}
