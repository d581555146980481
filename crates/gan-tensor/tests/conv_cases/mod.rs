//! Shared by the conv test binaries: the layer sizes they run (`Case`), the awkward and
//! per-algorithm lists, and `check_conv2d` / `check_transpose`, which compare every GPU
//! output and gradient with the CPU reference.
//!
//! Tolerances: inputs are uniform in [-1, 1], so an output summing `terms` products is
//! O(sqrt(terms)); f32 accumulation on the GPU is allowed rtol 1e-4 plus atol 1e-6 * terms
//! (see `tol`), against a reference summed in f64.
#![allow(dead_code)]

use crate::common::rand_tensor;
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::reference::conv as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

/// (rtol, atol) for outputs that each sum `terms` products of values in [-1, 1].
pub fn tol(terms: usize) -> (f32, f32) {
    (1e-4, 1e-6 * terms.max(1) as f32)
}

pub fn dims4(t: &Tensor) -> [usize; 4] {
    t.dims().try_into().unwrap()
}

/// Asserts that the GPU result `got` matches the reference `want` within `(rtol, atol)`.
#[track_caller]
pub fn check(name: &str, got: &Tensor, want: &[f32], (rt, at): (f32, f32)) {
    assert_close(name, &got.to_vec().unwrap(), want, rt, at);
}

/// One convolution layer's sizes. For conv2d `cin -> cout` maps x [n, cin, h, w] with
/// weight [cout, cin, k]; for conv_transpose2d the weight is [cin, cout, k].
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub n: usize,
    pub cin: usize,
    pub cout: usize,
    pub hw: (usize, usize),
    pub k: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub output_padding: (usize, usize),
}

#[allow(clippy::too_many_arguments)]
pub const fn case(
    n: usize,
    cin: usize,
    cout: usize,
    hw: (usize, usize),
    k: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
) -> Case {
    Case {
        n,
        cin,
        cout,
        hw,
        k,
        stride,
        padding,
        output_padding,
    }
}

/// Square sizes, no output padding.
pub const fn sq(
    n: usize,
    cin: usize,
    cout: usize,
    hw: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Case {
    case(n, cin, cout, (hw, hw), (k, k), (s, s), (p, p), (0, 0))
}

impl Case {
    pub fn conv(&self) -> Conv2dParams {
        Conv2dParams {
            stride: self.stride,
            padding: self.padding,
        }
    }

    pub fn transpose(&self) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
        }
    }

    pub fn x_dims(&self) -> [usize; 4] {
        [self.n, self.cin, self.hw.0, self.hw.1]
    }
}

/// conv2d forward (with and without bias), input, weight and bias gradients vs reference.
pub fn check_conv2d(c: Case, seed: u64, algo: ConvAlgo) {
    let p = c.conv();
    let (x_dims, w_dims) = (c.x_dims(), [c.cout, c.cin, c.k.0, c.k.1]);
    let (x, xs) = rand_tensor(seed, &x_dims, -1.0, 1.0);
    let (w, ws) = rand_tensor(seed + 1, &w_dims, -1.0, 1.0);
    let (b, bs) = rand_tensor(seed + 2, &[c.cout], -1.0, 1.0);

    let (want, y_dims) = reference::conv2d_forward(&xs, x_dims, &ws, w_dims, Some(&bs), p);
    let y = conv::conv2d_with(&x, &w, Some(&b), p, algo).unwrap();
    assert_eq!(dims4(&y), y_dims, "{algo:?} {c:?}");
    let t = tol(c.cin * c.k.0 * c.k.1);
    check(&format!("conv2d {algo:?} {c:?}"), &y, &want, t);
    let (want, _) = reference::conv2d_forward(&xs, x_dims, &ws, w_dims, None, p);
    let y = conv::conv2d_with(&x, &w, None, p, algo).unwrap();
    check(&format!("conv2d no bias {algo:?} {c:?}"), &y, &want, t);

    let (dy, dys) = rand_tensor(seed + 3, &y_dims, -1.0, 1.0);
    let dx = conv::conv2d_backward_input_with(&dy, &w, c.hw, p, algo).unwrap();
    assert_eq!(dims4(&dx), x_dims);
    let want = reference::conv2d_backward_input(&dys, y_dims, &ws, w_dims, c.hw, p);
    let t = tol(c.cout * c.k.0 * c.k.1);
    check(&format!("conv2d dx {algo:?} {c:?}"), &dx, &want, t);

    let dw = conv::conv2d_backward_weight_with(&x, &dy, c.k, p, algo).unwrap();
    assert_eq!(dims4(&dw), w_dims);
    let want = reference::conv2d_backward_weight(&xs, x_dims, &dys, y_dims, c.k, p);
    let t = tol(c.n * y_dims[2] * y_dims[3]);
    check(&format!("conv2d dw {algo:?} {c:?}"), &dw, &want, t);

    let db = conv::conv_bias_backward(&dy).unwrap();
    let want = reference::conv_bias_backward(&dys, y_dims);
    check(&format!("conv2d db {algo:?} {c:?}"), &db, &want, t);
}

/// conv_transpose2d forward (with and without bias), input, weight and bias gradients.
pub fn check_transpose(c: Case, seed: u64, algo: ConvAlgo) {
    let p = c.transpose();
    let (x_dims, w_dims) = (c.x_dims(), [c.cin, c.cout, c.k.0, c.k.1]);
    let (x, xs) = rand_tensor(seed, &x_dims, -1.0, 1.0);
    let (w, ws) = rand_tensor(seed + 1, &w_dims, -1.0, 1.0);
    let (b, bs) = rand_tensor(seed + 2, &[c.cout], -1.0, 1.0);

    let (want, y_dims) =
        reference::conv_transpose2d_forward(&xs, x_dims, &ws, w_dims, Some(&bs), p);
    let y = conv::conv_transpose2d_with(&x, &w, Some(&b), p, algo).unwrap();
    assert_eq!(dims4(&y), y_dims, "{algo:?} {c:?}");
    let t = tol(c.cin * c.k.0 * c.k.1);
    check(&format!("conv_transpose2d {algo:?} {c:?}"), &y, &want, t);
    let (want, _) = reference::conv_transpose2d_forward(&xs, x_dims, &ws, w_dims, None, p);
    let y = conv::conv_transpose2d_with(&x, &w, None, p, algo).unwrap();
    check(
        &format!("conv_transpose2d no bias {algo:?} {c:?}"),
        &y,
        &want,
        t,
    );

    let (dy, dys) = rand_tensor(seed + 3, &y_dims, -1.0, 1.0);
    let dx = conv::conv_transpose2d_backward_input_with(&dy, &w, p, algo).unwrap();
    assert_eq!(dims4(&dx), x_dims);
    let want = reference::conv_transpose2d_backward_input(&dys, y_dims, &ws, w_dims, c.hw, p);
    let t = tol(c.cout * c.k.0 * c.k.1);
    check(
        &format!("conv_transpose2d dx {algo:?} {c:?}"),
        &dx,
        &want,
        t,
    );

    let dw = conv::conv_transpose2d_backward_weight_with(&x, &dy, c.k, p, algo).unwrap();
    assert_eq!(dims4(&dw), w_dims);
    let want = reference::conv_transpose2d_backward_weight(&xs, x_dims, &dys, y_dims, c.k, p);
    let t = tol(c.n * c.hw.0 * c.hw.1);
    check(
        &format!("conv_transpose2d dw {algo:?} {c:?}"),
        &dw,
        &want,
        t,
    );

    let db = conv::conv_bias_backward(&dy).unwrap();
    let want = reference::conv_bias_backward(&dys, y_dims);
    let t = tol(c.n * y_dims[2] * y_dims[3]);
    check(
        &format!("conv_transpose2d db {algo:?} {c:?}"),
        &db,
        &want,
        t,
    );
}

/// Both algorithms, each compared with the reference on its own.
pub const ALGOS: [ConvAlgo; 2] = [ConvAlgo::Direct, ConvAlgo::IM2COL];

/// Odd sizes, 1x1 to 5x5 kernels, strides 1 to 3, padding 0 to 2, rectangular geometry.
pub const AWKWARD_CASES: &[Case] = &[
    sq(1, 1, 1, 1, 1, 1, 0),
    sq(1, 3, 5, 1, 3, 1, 1),
    sq(2, 3, 5, 5, 3, 1, 1),
    sq(3, 5, 3, 7, 3, 2, 1),
    sq(3, 3, 3, 5, 1, 2, 0),
    sq(1, 1, 3, 3, 5, 1, 2),
    sq(1, 17, 5, 13, 5, 2, 2),
    sq(2, 3, 17, 17, 4, 2, 1),
    sq(2, 5, 1, 13, 4, 1, 0),
    case(2, 5, 3, (13, 7), (3, 5), (2, 1), (0, 2), (1, 0)),
    case(1, 3, 2, (4, 5), (4, 2), (3, 2), (1, 0), (2, 1)),
];
