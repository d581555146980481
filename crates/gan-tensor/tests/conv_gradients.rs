//! Convolution gradients as identities: the CPU reference gradients against f64 finite
//! differences, and the GPU's backward kernels as adjoints of its forward kernels.

mod common;
mod conv_cases;
use common::rand_tensor;
use conv_cases::{case, sq};
use gan_tensor::conv;
use gan_tensor::reference::conv as reference;
use gan_tensor::testing::Rng;

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
