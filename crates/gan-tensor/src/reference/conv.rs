//! Reference convolutions: each op written straight from its definition (the transposed
//! convolution and the input gradients scatter, as their definitions do; the GPU gathers),
//! accumulated in f64. Shapes are `[N, C, H, W]` arrays and are assumed valid; the checks
//! live in [`crate::conv`].

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

/// The output dims of [`conv2d_forward`].
pub fn conv2d_output_dims(x_dims: [usize; 4], w_dims: [usize; 4], p: Conv2dParams) -> [usize; 4] {
    let [n, _, h, w] = x_dims;
    let [cout, _, kh, kw] = w_dims;
    let oh = (h + 2 * p.padding.0 - kh) / p.stride.0 + 1;
    let ow = (w + 2 * p.padding.1 - kw) / p.stride.1 + 1;
    [n, cout, oh, ow]
}

/// The output dims of [`conv_transpose2d_forward`].
pub fn conv_transpose2d_output_dims(
    x_dims: [usize; 4],
    w_dims: [usize; 4],
    p: ConvTranspose2dParams,
) -> [usize; 4] {
    let [n, _, h, w] = x_dims;
    let [_, cout, kh, kw] = w_dims;
    let oh = (h - 1) * p.stride.0 + kh + p.output_padding.0 - 2 * p.padding.0;
    let ow = (w - 1) * p.stride.1 + kw + p.output_padding.1 - 2 * p.padding.1;
    [n, cout, oh, ow]
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
    let [n, cin, h, wd] = x_dims;
    let [cout, _, kh, kw] = w_dims;
    let [_, _, oh, ow] = conv2d_output_dims(x_dims, w_dims, p);
    let mut y = vec![0f64; n * cout * oh * ow];
    for b in 0..n {
        for co in 0..cout {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias.map_or(0.0, |bv| bv[co]);
                    for ci in 0..cin {
                        for r in 0..kh {
                            let Some(ih) = tap(i, r, p.stride.0, p.padding.0, h) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(iw) = tap(j, s, p.stride.1, p.padding.1, wd) else {
                                    continue;
                                };
                                acc += x[((b * cin + ci) * h + ih) * wd + iw]
                                    * w[((co * cin + ci) * kh + r) * kw + s];
                            }
                        }
                    }
                    y[((b * cout + co) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    y
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
    let [n, cout, oh, ow] = dy_dims;
    let [_, cin, kh, kw] = w_dims;
    let (h, wd) = input_hw;
    let mut dx = vec![0f64; n * cin * h * wd];
    for b in 0..n {
        for co in 0..cout {
            for i in 0..oh {
                for j in 0..ow {
                    let g = dy[((b * cout + co) * oh + i) * ow + j] as f64;
                    for ci in 0..cin {
                        for r in 0..kh {
                            let Some(ih) = tap(i, r, p.stride.0, p.padding.0, h) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(iw) = tap(j, s, p.stride.1, p.padding.1, wd) else {
                                    continue;
                                };
                                dx[((b * cin + ci) * h + ih) * wd + iw] +=
                                    g * w[((co * cin + ci) * kh + r) * kw + s] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
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
    let [n, cin, h, wd] = x_dims;
    let [_, cout, oh, ow] = dy_dims;
    let (kh, kw) = kernel_hw;
    let mut dw = vec![0f64; cout * cin * kh * kw];
    for b in 0..n {
        for co in 0..cout {
            for i in 0..oh {
                for j in 0..ow {
                    let g = dy[((b * cout + co) * oh + i) * ow + j] as f64;
                    for ci in 0..cin {
                        for r in 0..kh {
                            let Some(ih) = tap(i, r, p.stride.0, p.padding.0, h) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(iw) = tap(j, s, p.stride.1, p.padding.1, wd) else {
                                    continue;
                                };
                                dw[((co * cin + ci) * kh + r) * kw + s] +=
                                    g * x[((b * cin + ci) * h + ih) * wd + iw] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    narrow(&dw)
}

/// conv_transpose2d in f64, from its definition: each `x[n, ci, i, j]` scatters
/// `x * w[ci, co, kh, kw]` to `y[n, co, i sh + kh - ph, j sw + kw - pw]` (dropped where
/// that falls outside y), then `b[co]` is added.
pub fn conv_transpose2d_forward_f64(
    x: &[f64],
    x_dims: [usize; 4],
    w: &[f64],
    w_dims: [usize; 4],
    bias: Option<&[f64]>,
    p: ConvTranspose2dParams,
) -> Vec<f64> {
    let [n, cin, h, wd] = x_dims;
    let [_, cout, kh, kw] = w_dims;
    let [_, _, oh, ow] = conv_transpose2d_output_dims(x_dims, w_dims, p);
    let mut y = vec![0f64; n * cout * oh * ow];
    for b in 0..n {
        for ci in 0..cin {
            for i in 0..h {
                for j in 0..wd {
                    let v = x[((b * cin + ci) * h + i) * wd + j];
                    for co in 0..cout {
                        for r in 0..kh {
                            let Some(yi) = tap(i, r, p.stride.0, p.padding.0, oh) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(yj) = tap(j, s, p.stride.1, p.padding.1, ow) else {
                                    continue;
                                };
                                y[((b * cout + co) * oh + yi) * ow + yj] +=
                                    v * w[((ci * cout + co) * kh + r) * kw + s];
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(bv) = bias {
        for (k, v) in y.iter_mut().enumerate() {
            *v += bv[(k / (oh * ow)) % cout];
        }
    }
    y
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
/// dy * w over every output position that x[n, ci, i, j] reached.
pub fn conv_transpose2d_backward_input(
    dy: &[f32],
    dy_dims: [usize; 4],
    w: &[f32],
    w_dims: [usize; 4],
    input_hw: (usize, usize),
    p: ConvTranspose2dParams,
) -> Vec<f32> {
    let [n, cout, oh, ow] = dy_dims;
    let [cin, _, kh, kw] = w_dims;
    let (h, wd) = input_hw;
    let mut dx = vec![0f32; n * cin * h * wd];
    for b in 0..n {
        for ci in 0..cin {
            for i in 0..h {
                for j in 0..wd {
                    let mut acc = 0f64;
                    for co in 0..cout {
                        for r in 0..kh {
                            let Some(yi) = tap(i, r, p.stride.0, p.padding.0, oh) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(yj) = tap(j, s, p.stride.1, p.padding.1, ow) else {
                                    continue;
                                };
                                acc += dy[((b * cout + co) * oh + yi) * ow + yj] as f64
                                    * w[((ci * cout + co) * kh + r) * kw + s] as f64;
                            }
                        }
                    }
                    dx[((b * cin + ci) * h + i) * wd + j] = acc as f32;
                }
            }
        }
    }
    dx
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
    let [n, cin, h, wd] = x_dims;
    let [_, cout, oh, ow] = dy_dims;
    let (kh, kw) = kernel_hw;
    let mut dw = vec![0f64; cin * cout * kh * kw];
    for b in 0..n {
        for ci in 0..cin {
            for i in 0..h {
                for j in 0..wd {
                    let v = x[((b * cin + ci) * h + i) * wd + j] as f64;
                    for co in 0..cout {
                        for r in 0..kh {
                            let Some(yi) = tap(i, r, p.stride.0, p.padding.0, oh) else {
                                continue;
                            };
                            for s in 0..kw {
                                let Some(yj) = tap(j, s, p.stride.1, p.padding.1, ow) else {
                                    continue;
                                };
                                dw[((ci * cout + co) * kh + r) * kw + s] +=
                                    v * dy[((b * cout + co) * oh + yi) * ow + yj] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    narrow(&dw)
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
