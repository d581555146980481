//! Convolutions against the CPU reference: conv2d and conv_transpose2d forward, input,
//! weight and bias gradients on awkward and DCGAN shapes; the reference gradients against
//! f64 finite differences; the adjoint identities on the GPU; and shape errors.
//!
//! Tolerances: inputs are uniform in [-1, 1], so an output summing `terms` products is
//! O(sqrt(terms)); f32 accumulation on the GPU is allowed rtol 1e-4 plus atol 1e-6 * terms
//! (see `tol`), against a reference summed in f64.

mod common;
use common::{ctx, rand_tensor};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::reference::conv as reference;
use gan_tensor::testing::{assert_close, Rng};
use gan_tensor::{Error, Tensor};

/// (rtol, atol) for outputs that each sum `terms` products of values in [-1, 1].
fn tol(terms: usize) -> (f32, f32) {
    (1e-4, 1e-6 * terms.max(1) as f32)
}

fn dims4(t: &Tensor) -> [usize; 4] {
    t.dims().try_into().unwrap()
}

/// Asserts that the GPU result `got` matches the reference `want` within `(rtol, atol)`.
#[track_caller]
fn check(name: &str, got: &Tensor, want: &[f32], (rt, at): (f32, f32)) {
    assert_close(name, &got.to_vec().unwrap(), want, rt, at);
}

/// One convolution layer's sizes. For conv2d `cin -> cout` maps x [n, cin, h, w] with
/// weight [cout, cin, k]; for conv_transpose2d the weight is [cin, cout, k].
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    cin: usize,
    cout: usize,
    hw: (usize, usize),
    k: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
}

#[allow(clippy::too_many_arguments)]
const fn case(
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
const fn sq(n: usize, cin: usize, cout: usize, hw: usize, k: usize, s: usize, p: usize) -> Case {
    case(n, cin, cout, (hw, hw), (k, k), (s, s), (p, p), (0, 0))
}

impl Case {
    fn conv(&self) -> Conv2dParams {
        Conv2dParams {
            stride: self.stride,
            padding: self.padding,
        }
    }

    fn transpose(&self) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            stride: self.stride,
            padding: self.padding,
            output_padding: self.output_padding,
        }
    }

    fn x_dims(&self) -> [usize; 4] {
        [self.n, self.cin, self.hw.0, self.hw.1]
    }
}

/// conv2d forward (with and without bias), input, weight and bias gradients vs reference.
fn check_conv2d(c: Case, seed: u64, algo: ConvAlgo) {
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
fn check_transpose(c: Case, seed: u64, algo: ConvAlgo) {
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
const ALGOS: [ConvAlgo; 2] = [ConvAlgo::Direct, ConvAlgo::IM2COL];

/// Odd sizes, 1x1 to 5x5 kernels, strides 1 to 3, padding 0 to 2, rectangular geometry.
const AWKWARD_CASES: &[Case] = &[
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

#[test]
fn conv2d_matches_reference_on_awkward_shapes() {
    for algo in ALGOS {
        for (i, &c) in AWKWARD_CASES.iter().enumerate() {
            check_conv2d(c, 100 * i as u64, algo);
        }
    }
}

#[test]
fn conv_transpose2d_matches_reference_on_awkward_shapes() {
    for algo in ALGOS {
        for (i, &c) in AWKWARD_CASES.iter().enumerate() {
            check_transpose(c, 100 * i as u64 + 7, algo);
        }
    }
}

#[test]
fn conv2d_dcgan_discriminator_shapes() {
    for algo in ALGOS {
        // 28x28 -> 14x14 -> 7x7 with 4x4 kernels, stride 2, padding 1.
        check_conv2d(sq(3, 1, 64, 28, 4, 2, 1), 1, algo);
        check_conv2d(sq(2, 64, 128, 14, 4, 2, 1), 2, algo);
        // The final 7x7 valid convolution to one logit.
        check_conv2d(sq(2, 128, 1, 7, 7, 1, 0), 3, algo);
    }
}

#[test]
fn conv_transpose2d_dcgan_generator_shapes() {
    // The latent projection 1x1 -> 7x7, then 7x7 -> 14x14 -> 28x28 (4x4, stride 2, pad 1).
    for algo in ALGOS {
        check_transpose(sq(2, 100, 128, 1, 7, 1, 0), 4, algo);
        check_transpose(sq(2, 128, 64, 7, 4, 2, 1), 5, algo);
        check_transpose(sq(3, 64, 1, 14, 4, 2, 1), 6, algo);
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dot32(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Sum of |a_i b_i|: the scale against which a rounded dot product is judged.
fn abs_dot32(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 * y as f64).abs())
        .sum()
}

/// x + e * d, elementwise, in f64.
fn step(x: &[f32], d: &[f32], e: f64) -> Vec<f64> {
    x.iter()
        .zip(d)
        .map(|(&a, &b)| a as f64 + e * b as f64)
        .collect()
}

/// The directional derivative of L(x, w, b) = <forward(x, w, b), r> along (dx, dw, db),
/// as a central difference in f64, against the reference gradients dotted with the same
/// direction. L is bilinear, so the difference is exact up to f64 rounding; what is left
/// is the f32 rounding of the reference gradients.
#[test]
fn reference_gradients_match_finite_differences() {
    const EPS: f64 = 1e-3;
    let cases = [
        sq(2, 3, 4, 5, 3, 1, 1),
        sq(1, 2, 3, 7, 4, 2, 1),
        case(2, 3, 2, (6, 5), (3, 2), (2, 3), (2, 0), (1, 2)),
        sq(1, 1, 2, 1, 3, 1, 1),
    ];
    for (i, c) in cases.iter().enumerate() {
        let mut rng = Rng::new(900 + i as u64);
        let x_dims = c.x_dims();
        let xs = rng.vec(x_dims.iter().product(), -1.0, 1.0);
        let bs = rng.vec(c.cout, -1.0, 1.0);
        let (xd, bd) = (rng.vec(xs.len(), -1.0, 1.0), rng.vec(c.cout, -1.0, 1.0));
        for transposed in [false, true] {
            let w_dims = if transposed {
                [c.cin, c.cout, c.k.0, c.k.1]
            } else {
                [c.cout, c.cin, c.k.0, c.k.1]
            };
            let ws = rng.vec(w_dims.iter().product(), -1.0, 1.0);
            let wd = rng.vec(ws.len(), -1.0, 1.0);
            let forward = |e: f64| -> Vec<f64> {
                let (x, w, b) = (step(&xs, &xd, e), step(&ws, &wd, e), step(&bs, &bd, e));
                if transposed {
                    let p = c.transpose();
                    reference::conv_transpose2d_forward_f64(&x, x_dims, &w, w_dims, Some(&b), p)
                } else {
                    reference::conv2d_forward_f64(&x, x_dims, &w, w_dims, Some(&b), c.conv())
                }
            };
            let y_dims = if transposed {
                reference::conv_transpose2d_output_dims(x_dims, w_dims, c.transpose())
            } else {
                reference::conv2d_output_dims(x_dims, w_dims, c.conv())
            };
            let r = rng.vec(y_dims.iter().product(), -1.0, 1.0);
            let r64: Vec<f64> = r.iter().map(|&v| v as f64).collect();
            let fd = (dot(&forward(EPS), &r64) - dot(&forward(-EPS), &r64)) / (2.0 * EPS);

            let (gx, gw) = if transposed {
                let p = c.transpose();
                (
                    reference::conv_transpose2d_backward_input(&r, y_dims, &ws, w_dims, c.hw, p),
                    reference::conv_transpose2d_backward_weight(&xs, x_dims, &r, y_dims, c.k, p),
                )
            } else {
                let p = c.conv();
                (
                    reference::conv2d_backward_input(&r, y_dims, &ws, w_dims, c.hw, p),
                    reference::conv2d_backward_weight(&xs, x_dims, &r, y_dims, c.k, p),
                )
            };
            let gb = reference::conv_bias_backward(&r, y_dims);
            let analytic = dot32(&gx, &xd) + dot32(&gw, &wd) + dot32(&gb, &bd);
            let scale = abs_dot32(&gx, &xd) + abs_dot32(&gw, &wd) + abs_dot32(&gb, &bd);
            assert!(
                (fd - analytic).abs() <= 1e-6 * scale + 1e-9,
                "{c:?} transposed={transposed}: finite difference {fd}, gradients {analytic}"
            );
        }
    }
}

/// <conv(x), dy> = <x, dx(dy)> = <w, dw(x, dy)> with the GPU's three kernels, for both
/// operations: each backward is the adjoint of the forward in its argument.
#[test]
fn gpu_gradients_satisfy_the_adjoint_identity() {
    let cases = [
        sq(2, 3, 5, 9, 3, 2, 1),
        sq(3, 4, 2, 6, 4, 2, 1),
        case(1, 2, 3, (5, 8), (5, 3), (1, 3), (2, 1), (0, 2)),
    ];
    for (i, c) in cases.iter().enumerate() {
        let seed = 500 + 10 * i as u64;
        let (x, xs) = rand_tensor(seed, &c.x_dims(), -1.0, 1.0);
        for transposed in [false, true] {
            let (w, ws, y) = if transposed {
                let (w, ws) = rand_tensor(seed + 1, &[c.cin, c.cout, c.k.0, c.k.1], -1.0, 1.0);
                let y = conv::conv_transpose2d(&x, &w, None, c.transpose()).unwrap();
                (w, ws, y)
            } else {
                let (w, ws) = rand_tensor(seed + 1, &[c.cout, c.cin, c.k.0, c.k.1], -1.0, 1.0);
                let y = conv::conv2d(&x, &w, None, c.conv()).unwrap();
                (w, ws, y)
            };
            let (dy, dys) = rand_tensor(seed + 2, y.dims(), -1.0, 1.0);
            let (dx, dw) = if transposed {
                let p = c.transpose();
                (
                    conv::conv_transpose2d_backward_input(&dy, &w, p).unwrap(),
                    conv::conv_transpose2d_backward_weight(&x, &dy, c.k, p).unwrap(),
                )
            } else {
                let p = c.conv();
                (
                    conv::conv2d_backward_input(&dy, &w, c.hw, p).unwrap(),
                    conv::conv2d_backward_weight(&x, &dy, c.k, p).unwrap(),
                )
            };
            let ys = y.to_vec().unwrap();
            let (dxs, dws) = (dx.to_vec().unwrap(), dw.to_vec().unwrap());
            let lhs = dot32(&ys, &dys);
            let scale = abs_dot32(&ys, &dys);
            for (what, rhs) in [("input", dot32(&xs, &dxs)), ("weight", dot32(&ws, &dws))] {
                assert!(
                    (lhs - rhs).abs() <= 1e-5 * scale,
                    "{c:?} transposed={transposed}: <y, dy> = {lhs} but <{what}, grad> = {rhs}"
                );
            }
        }
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    let p = Conv2dParams::new(2, 1);
    assert_eq!(p.output_hw((28, 28), (4, 4)), Some((14, 14)));
    assert_eq!(p.output_hw((7, 7), (4, 4)), Some((3, 3)));
    assert_eq!(Conv2dParams::default().output_hw((3, 3), (4, 4)), None);
    let t = ConvTranspose2dParams::new(2, 1);
    assert_eq!(t.output_hw((7, 7), (4, 4)), Some((14, 14)));
    let t = ConvTranspose2dParams {
        output_padding: (1, 0),
        ..ConvTranspose2dParams::new(2, 1)
    };
    assert_eq!(t.output_hw((7, 7), (3, 3)), Some((14, 13)));
}

#[test]
fn empty_batch_gives_empty_output_and_zero_bias_gradient() {
    let x = Tensor::from_slice(&ctx(), &[], &[0, 3, 5, 5]).unwrap();
    let (w, _) = rand_tensor(1, &[4, 3, 3, 3], -1.0, 1.0);
    let y = conv::conv2d(&x, &w, None, Conv2dParams::new(1, 1)).unwrap();
    assert_eq!(y.dims(), &[0, 4, 5, 5]);
    assert!(y.to_vec().unwrap().is_empty());
    let dw = conv::conv2d_backward_weight(&x, &y, (3, 3), Conv2dParams::new(1, 1)).unwrap();
    assert_eq!(dw.to_vec().unwrap(), vec![0.0; 4 * 3 * 9]);
    assert_eq!(
        conv::conv_bias_backward(&y).unwrap().to_vec().unwrap(),
        vec![0.0; 4]
    );
}

#[test]
fn output_over_65535_workgroups_is_fully_written() {
    // 2 * 1 * 1450 * 1450 = 4.2M outputs need 65_703 workgroups of 64.
    let c = sq(2, 1, 1, 1450, 1, 1, 0);
    let (x, xs) = rand_tensor(77, &c.x_dims(), -1.0, 1.0);
    let (w, ws) = rand_tensor(78, &[1, 1, 1, 1], -1.0, 1.0);
    let (b, bs) = rand_tensor(79, &[1], -1.0, 1.0);
    let y = conv::conv2d(&x, &w, Some(&b), c.conv()).unwrap();
    let (want, _) =
        reference::conv2d_forward(&xs, c.x_dims(), &ws, [1, 1, 1, 1], Some(&bs), c.conv());
    assert_close("folded conv2d", &y.to_vec().unwrap(), &want, 1e-6, 1e-6);
}

/// Calls `f(x index or None in the padding)` for every entry of the im2col matrix
/// `[n oh ow, cin kh kw]` of an input `[n, cin, h, w]`, in row-major order.
fn each_col_entry(
    [n, cin, h, w]: [usize; 4],
    k: (usize, usize),
    p: Conv2dParams,
    mut f: impl FnMut(Option<usize>),
) {
    let (oh, ow) = p.output_hw((h, w), k).unwrap();
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ci in 0..cin {
                    for a in 0..k.0 {
                        for c in 0..k.1 {
                            let ih = (i * p.stride.0 + a) as isize - p.padding.0 as isize;
                            let iw = (j * p.stride.1 + c) as isize - p.padding.1 as isize;
                            let inside =
                                (0..h as isize).contains(&ih) && (0..w as isize).contains(&iw);
                            f(
                                inside
                                    .then(|| ((b * cin + ci) * h + ih as usize) * w + iw as usize),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// im2col by plain loops: [n oh ow, cin kh kw], 0 in the padding.
fn im2col_cpu(x: &[f32], dims: [usize; 4], k: (usize, usize), p: Conv2dParams) -> Vec<f32> {
    let mut cols = vec![];
    each_col_entry(dims, k, p, |xi| cols.push(xi.map_or(0.0, |i| x[i])));
    cols
}

/// col2im by plain loops: scatter-add every entry back onto the pixel it came from.
fn col2im_cpu(cols: &[f32], dims: [usize; 4], k: (usize, usize), p: Conv2dParams) -> Vec<f32> {
    let mut x = vec![0.0f64; dims.iter().product()];
    let mut e = 0..;
    each_col_entry(dims, k, p, |xi| {
        let v = cols[e.next().unwrap()] as f64;
        if let Some(i) = xi {
            x[i] += v;
        }
    });
    x.into_iter().map(|v| v as f32).collect()
}

#[test]
fn im2col_and_col2im_match_plain_loops() {
    for (i, c) in AWKWARD_CASES.iter().enumerate() {
        let p = c.conv();
        let (x, xs) = rand_tensor(900 + i as u64, &c.x_dims(), -1.0, 1.0);
        let cols = conv::im2col(&x, c.k, p).unwrap();
        let want = im2col_cpu(&xs, c.x_dims(), c.k, p);
        assert_eq!(cols.numel(), want.len(), "{c:?}");
        assert_eq!(cols.to_vec().unwrap(), want, "im2col {c:?}");
        let (d, ds) = rand_tensor(950 + i as u64, cols.dims(), -1.0, 1.0);
        let back = conv::col2im(&d, c.cin, c.hw, c.k, p).unwrap();
        assert_eq!(back.dims(), c.x_dims());
        let want = col2im_cpu(&ds, c.x_dims(), c.k, p);
        let (rt, at) = tol(c.k.0 * c.k.1);
        assert_close(
            &format!("col2im {c:?}"),
            &back.to_vec().unwrap(),
            &want,
            rt,
            at,
        );
    }
    let bad = Tensor::zeros(&ctx(), &[7, 9]).unwrap();
    assert!(conv::col2im(&bad, 1, (5, 5), (3, 3), Conv2dParams::new(1, 1)).is_err());
    // Absurd padding: an error naming the padding, not an overflow panic.
    let e = conv::col2im(&bad, 1, (5, 5), (3, 3), Conv2dParams::new(1, 1 << 40))
        .unwrap_err()
        .to_string();
    assert!(e.contains("padding"), "{e}");
}

#[test]
fn im2col_over_65535_workgroups_is_fully_written() {
    // 1100 x 1100 input, 2x2 taps: 1099^2 * 4 = 4.8M entries, 75_492 workgroups of 64.
    let dims = [1, 1, 1100, 1100];
    let (x, xs) = rand_tensor(81, &dims, -1.0, 1.0);
    let p = Conv2dParams::default();
    let cols = conv::im2col(&x, (2, 2), p).unwrap();
    assert_eq!(cols.to_vec().unwrap(), im2col_cpu(&xs, dims, (2, 2), p));
    // The same through conv2d's im2col path (one chunk of 1.2M matmul rows).
    let (w, ws) = rand_tensor(82, &[1, 1, 2, 2], -1.0, 1.0);
    let y = conv::conv2d_with(&x, &w, None, p, ConvAlgo::IM2COL).unwrap();
    let (want, _) = reference::conv2d_forward(&xs, dims, &ws, [1, 1, 2, 2], None, p);
    assert_close(
        "folded im2col conv2d",
        &y.to_vec().unwrap(),
        &want,
        1e-5,
        4e-6,
    );
}

#[test]
fn im2col_in_batch_chunks_matches_reference() {
    // Budgets of a few images split the batch (into aligned chunks: 5x5 images of one
    // channel need chunk starts at multiples of the view alignment); a budget below one
    // image falls back to the direct kernels. Every gradient goes through the same plan.
    let tiny = |images: u64, bytes_per_image: u64| ConvAlgo::Im2col {
        max_bytes: images * bytes_per_image,
    };
    // conv2d: rows per image oh*ow, width max(kp, cp).
    let c = sq(9, 1, 3, 5, 3, 1, 1); // 25 rows of width 12 per image
                                     // With lavapipe's alignment of 8 elements: 2 images fall back, 8 give chunks 8 + 1.
    for algo in [tiny(2, 25 * 12 * 4), tiny(8, 25 * 12 * 4), tiny(1, 10)] {
        check_conv2d(c, 1200, algo);
    }
    let c = sq(7, 2, 3, 8, 4, 2, 1); // 16 rows of width 32 per image
    for algo in [tiny(1, 16 * 32 * 4), tiny(3, 16 * 32 * 4)] {
        check_conv2d(c, 1300, algo);
    }
    // conv_transpose2d 8x8 -> 16x16 is a conv2d 16x16 -> 8x8 of 3 channels: 64 rows of
    // width 48 per image.
    for algo in [tiny(1, 64 * 48 * 4), tiny(3, 64 * 48 * 4)] {
        check_transpose(c, 1400, algo);
    }
}

/// The error's message, checked to name every given shape.
#[track_caller]
fn error_naming(err: Error, shapes: &[&[usize]]) -> String {
    let msg = err.to_string();
    for s in shapes {
        assert!(
            msg.contains(&format!("{s:?}")),
            "{msg:?} does not name {s:?}"
        );
    }
    msg
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let t = |dims: &[usize]| rand_tensor(3, dims, -1.0, 1.0).0;
    let p = Conv2dParams::new(1, 0);
    let tp = ConvTranspose2dParams::new(2, 1);
    let x = t(&[2, 3, 5, 5]);

    // Rank.
    let e = conv::conv2d(&t(&[3, 5, 5]), &t(&[4, 3, 3, 3]), None, p).unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }));
    error_naming(e, &[&[3, 5, 5]]);
    let e = conv::conv2d(&x, &t(&[4, 3, 9]), None, p).unwrap_err();
    error_naming(e, &[&[4, 3, 9]]);
    // Channels.
    let e = conv::conv2d(&x, &t(&[4, 2, 3, 3]), None, p).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }));
    error_naming(e, &[&[2, 3, 5, 5], &[4, 2, 3, 3]]);
    // Kernel larger than the padded input; padding makes it fit.
    let e = conv::conv2d(&x, &t(&[4, 3, 6, 3]), None, p).unwrap_err();
    let msg = error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 6, 3]]);
    assert!(msg.contains("larger"), "{msg}");
    assert!(conv::conv2d(&x, &t(&[4, 3, 6, 3]), None, Conv2dParams::new(1, 1)).is_ok());
    // Zero stride, zero-sized kernel, absurd padding.
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, Conv2dParams::new(0, 0)).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let e = conv::conv2d(&x, &t(&[4, 3, 0, 3]), None, p).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 0, 3]]);
    let huge = Conv2dParams::new(1, 1 << 40);
    assert!(conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, huge).is_err());
    let huge = Conv2dParams::new(1, usize::MAX / 2 + 1);
    assert!(conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, huge).is_err());
    // Bias.
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), Some(&t(&[3])), p).unwrap_err();
    error_naming(e, &[&[4, 3, 3, 3], &[3]]);
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), Some(&t(&[1, 4])), p).unwrap_err();
    error_naming(e, &[&[4, 3, 3, 3], &[1, 4]]);

    // conv2d gradients: dy must be the output of an input of input_hw.
    let (w, dy) = (t(&[4, 3, 3, 3]), t(&[2, 4, 3, 3]));
    assert!(conv::conv2d_backward_input(&dy, &w, (5, 5), p).is_ok());
    let e = conv::conv2d_backward_input(&dy, &w, (6, 5), p).unwrap_err();
    error_naming(e, &[&[2, 4, 3, 3], &[2, 3, 6, 5]]);
    let e = conv::conv2d_backward_input(&t(&[2, 5, 3, 3]), &w, (5, 5), p).unwrap_err();
    error_naming(e, &[&[2, 5, 3, 3], &[4, 3, 3, 3]]);
    let e = conv::conv2d_backward_weight(&t(&[3, 3, 5, 5]), &dy, (3, 3), p).unwrap_err();
    error_naming(e, &[&[3, 3, 5, 5], &[2, 4, 3, 3]]);
    let e = conv::conv2d_backward_weight(&x, &dy, (2, 3), p).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[2, 4, 3, 3]]);

    // Transposed: weight is [Cin, Cout, KH, KW].
    let wt = t(&[3, 4, 4, 4]);
    assert_eq!(
        conv::conv_transpose2d(&x, &wt, None, tp).unwrap().dims(),
        &[2, 4, 10, 10]
    );
    let e = conv::conv_transpose2d(&x, &t(&[4, 3, 4, 4]), None, tp).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 4, 4]]);
    let e = conv::conv_transpose2d(&x, &wt, Some(&t(&[3])), tp).unwrap_err();
    error_naming(e, &[&[3, 4, 4, 4], &[3]]);
    let bad_op = ConvTranspose2dParams {
        output_padding: (2, 0),
        ..tp
    };
    let e = conv::conv_transpose2d(&x, &wt, None, bad_op).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    // Output size not positive: (1 - 1) * 1 - 2 * 1 + 1 < 1.
    let e = conv::conv_transpose2d(&t(&[1, 3, 1, 1]), &t(&[3, 2, 1, 1]), None, {
        ConvTranspose2dParams::new(1, 1)
    })
    .unwrap_err();
    error_naming(e, &[&[1, 3, 1, 1], &[3, 2, 1, 1]]);
    let dyt = t(&[2, 4, 10, 10]);
    assert!(conv::conv_transpose2d_backward_input(&dyt, &wt, tp).is_ok());
    let e = conv::conv_transpose2d_backward_input(&t(&[2, 3, 10, 10]), &wt, tp).unwrap_err();
    error_naming(e, &[&[2, 3, 10, 10], &[3, 4, 4, 4]]);
    // An odd output is not reachable with stride 2 and no output padding.
    let e = conv::conv_transpose2d_backward_input(&t(&[2, 4, 11, 10]), &wt, tp).unwrap_err();
    error_naming(e, &[&[2, 4, 11, 10], &[3, 4, 4, 4]]);
    let e = conv::conv_transpose2d_backward_weight(&x, &t(&[2, 4, 9, 10]), (4, 4), tp);
    error_naming(e.unwrap_err(), &[&[2, 3, 5, 5], &[2, 4, 9, 10]]);
    let e = conv::conv_transpose2d_backward_weight(&t(&[1, 3, 5, 5]), &dyt, (4, 4), tp);
    error_naming(e.unwrap_err(), &[&[1, 3, 5, 5], &[2, 4, 10, 10]]);
    let e = conv::conv_bias_backward(&t(&[2, 4, 10])).unwrap_err();
    error_naming(e, &[&[2, 4, 10]]);
}
