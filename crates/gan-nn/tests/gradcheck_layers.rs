//! Gradient checks of gan-nn's layer ops: conv2d, conv_transpose2d, batch norm (train and
//! eval, and BatchNorm1d's [N, C] on awkward shapes), maxout (alone and after a linear
//! map, as the Maxout layer), dropout, and composite DCGAN discriminator and generator blocks: autograd's GPU
//! gradient against central finite differences of an f64 CPU forward.
//!
//! Method and default tolerances: see `gradcheck_common` and `common::gradcheck`.

mod common;
mod gradcheck_common;

use common::*;
use gan_nn::{Labels, Var};
use gan_tensor::conv::{Conv2dParams, ConvTranspose2dParams};
use gan_tensor::matmul::Activation;
use gan_tensor::reference::maxout as maxout_ref;
use gan_tensor::reference::{batchnorm as bn_ref, bce as bce_ref, conv as conv_ref};
use gradcheck_common::{input, input_away};

// ---------------------------------------------------------------- convolutions

struct ConvCase {
    x: [usize; 4],
    w: [usize; 4],
    bias: bool,
    stride: (usize, usize),
    padding: (usize, usize),
    output_padding: (usize, usize),
}

fn conv_case_inputs(i: usize, c: &ConvCase, bias_len: usize) -> Vec<(Vec<f32>, Vec<usize>)> {
    let mut inputs = vec![
        input(1000 + i as u64, &c.x, -1.0, 1.0),
        input(1100 + i as u64, &c.w, -0.5, 0.5),
    ];
    if c.bias {
        inputs.push(input(1200 + i as u64, &[bias_len], -0.5, 0.5));
    }
    inputs
}

#[test]
fn conv2d() {
    let cases = [
        // 3x3, stride 1, padding 1 ("same")
        ConvCase {
            x: [2, 3, 5, 5],
            w: [4, 3, 3, 3],
            bias: true,
            stride: (1, 1),
            padding: (1, 1),
            output_padding: (0, 0),
        },
        // DCGAN discriminator downsampling: 4x4, stride 2, padding 1
        ConvCase {
            x: [2, 3, 8, 8],
            w: [5, 3, 4, 4],
            bias: false,
            stride: (2, 2),
            padding: (1, 1),
            output_padding: (0, 0),
        },
        // odd size, stride 2 with padding (a dropped last row/column)
        ConvCase {
            x: [1, 2, 7, 7],
            w: [3, 2, 3, 3],
            bias: true,
            stride: (2, 2),
            padding: (1, 1),
            output_padding: (0, 0),
        },
        // non-square everything
        ConvCase {
            x: [1, 2, 7, 6],
            w: [3, 2, 3, 2],
            bias: true,
            stride: (2, 1),
            padding: (0, 1),
            output_padding: (0, 0),
        },
        // DCGAN discriminator head: 4x4 down to 1x1, one output channel
        ConvCase {
            x: [3, 4, 4, 4],
            w: [1, 4, 4, 4],
            bias: false,
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let p = Conv2dParams {
            stride: c.stride,
            padding: c.padding,
        };
        let (xd, wd) = (c.x, c.w);
        gradcheck(
            &format!(
                "conv2d x{:?} w{:?} bias={} stride {:?} pad {:?}",
                c.x, c.w, c.bias, c.stride, c.padding
            ),
            &conv_case_inputs(i, c, c.w[0]),
            |v| Var::conv2d(&v[0], &v[1], v.get(2), p),
            |x| conv_ref::conv2d_forward_f64(&x[0], xd, &x[1], wd, x.get(2).map(|b| &b[..]), p),
            Tol::DEFAULT.fwd(1e-4, 1e-5),
        );
    }
}

#[test]
fn conv_transpose2d() {
    let cases = [
        // DCGAN generator input: [N, nz, 1, 1] -> 4x4, stride 1, no padding
        ConvCase {
            x: [2, 5, 1, 1],
            w: [5, 4, 4, 4],
            bias: false,
            stride: (1, 1),
            padding: (0, 0),
            output_padding: (0, 0),
        },
        // DCGAN generator upsampling: 4x4 kernel, stride 2, padding 1 (4x4 -> 8x8)
        ConvCase {
            x: [2, 4, 4, 4],
            w: [4, 3, 4, 4],
            bias: true,
            stride: (2, 2),
            padding: (1, 1),
            output_padding: (0, 0),
        },
        // 3x3, stride 2, padding 1, output padding 1 (3x3 -> 6x6)
        ConvCase {
            x: [1, 3, 3, 3],
            w: [3, 2, 3, 3],
            bias: false,
            stride: (2, 2),
            padding: (1, 1),
            output_padding: (1, 1),
        },
        // stride 1, padding 1, non-square input and stride
        ConvCase {
            x: [2, 2, 5, 4],
            w: [2, 3, 3, 3],
            bias: true,
            stride: (1, 2),
            padding: (1, 1),
            output_padding: (0, 1),
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let p = ConvTranspose2dParams {
            stride: c.stride,
            padding: c.padding,
            output_padding: c.output_padding,
        };
        let (xd, wd) = (c.x, c.w);
        gradcheck(
            &format!(
                "conv_transpose2d x{:?} w{:?} bias={} stride {:?} pad {:?} out_pad {:?}",
                c.x, c.w, c.bias, c.stride, c.padding, c.output_padding
            ),
            &conv_case_inputs(10 + i, c, c.w[1]),
            |v| Var::conv_transpose2d(&v[0], &v[1], v.get(2), p),
            |x| {
                conv_ref::conv_transpose2d_forward_f64(
                    &x[0],
                    xd,
                    &x[1],
                    wd,
                    x.get(2).map(|b| &b[..]),
                    p,
                )
            },
            Tol::DEFAULT.fwd(1e-4, 1e-5),
        );
    }
}

// ---------------------------------------------------------------- batch norm

const BN_SHAPES: &[&[usize]] = &[&[4, 3, 5, 5], &[6, 5], &[2, 3, 7], &[3, 2, 4, 4]];
const EPS: f32 = 1e-5;

#[test]
fn batch_norm_train() {
    for (i, dims) in BN_SHAPES.iter().enumerate() {
        let c = dims[1];
        // Off-centre, non-unit-variance inputs; gamma of both signs.
        let x = input(1300 + i as u64, dims, -2.0, 3.0);
        let gamma = input_away(1400 + i as u64, &[c], 0.5, 1.5);
        let beta = input(1500 + i as u64, &[c], -0.5, 0.5);
        let running_mean = tensor(&vec![0.0; c], &[c]);
        let running_var = tensor(&vec![1.0; c], &[c]);
        let dd = dims.to_vec();
        gradcheck(
            &format!("batch_norm_train {dims:?}"),
            &[x, gamma, beta],
            |v| Var::batch_norm_train(&v[0], &v[1], &v[2], &running_mean, &running_var, 0.1, EPS),
            |x| bn_ref::train_forward_f64(&x[0], &dd, &x[1], &x[2], EPS as f64),
            // Normalised outputs are O(1): the f32 statistics put ~1e-6 on them.
            Tol::DEFAULT.fwd(1e-4, 1e-4),
        );
    }
}

#[test]
fn batch_norm_eval() {
    // Eval mode is differentiable through x only (gamma, beta and the running statistics
    // are fixed), so they are captured as constants here.
    for (i, dims) in BN_SHAPES.iter().enumerate() {
        let c = dims[1];
        let x = input(1600 + i as u64, dims, -2.0, 3.0);
        let gamma = rand_away_from_zero(1700 + i as u64, c, 0.5, 1.5);
        let beta = rand(1800 + i as u64, c, -0.5, 0.5);
        let mean = rand(1900 + i as u64, c, -0.5, 0.5);
        let var = rand(2000 + i as u64, c, 0.3, 2.0);
        let t = |v: &[f32]| tensor(v, &[c]);
        let (tg, tb) = (Var::constant(t(&gamma)), Var::constant(t(&beta)));
        let (tm, tv) = (t(&mean), t(&var));
        let dd = dims.to_vec();
        gradcheck(
            &format!("batch_norm_eval {dims:?}"),
            &[x],
            |v| Var::batch_norm_eval(&v[0], &tg, &tb, &tm, &tv, EPS),
            |x| {
                bn_ref::normalize_f64(
                    &x[0],
                    &dd,
                    &f64s(&gamma),
                    &f64s(&beta),
                    &f64s(&mean),
                    &f64s(&var),
                    EPS as f64,
                )
            },
            Tol::DEFAULT.fwd(1e-4, 1e-4),
        );
    }
}

/// BatchNorm1d's input [N, C]: one channel, odd channel counts, the smallest batch a
/// training step accepts (2) and one past a workgroup of 64.
#[test]
fn batch_norm1d_train() {
    for (i, &(n, c)) in [(2, 1), (2, 3), (2, 17), (65, 1), (65, 3), (65, 17)]
        .iter()
        .enumerate()
    {
        let dims = [n, c];
        // With two rows, xhat = +-|d| / sqrt(d^2 + eps) is +-1 up to eps / d^2, so dx is
        // only as large as that: rows within ~sqrt(eps) of each other keep it measurable.
        // The function bends on that scale too: a smaller step for them.
        let (lo, hi, h) = if n == 2 {
            (-3e-3, 4e-3, 1e-6)
        } else {
            (-2.0, 3.0, 1e-3)
        };
        let x = input(3100 + i as u64, &dims, lo, hi);
        let gamma = input_away(3200 + i as u64, &[c], 0.5, 1.5);
        let beta = input(3300 + i as u64, &[c], -0.5, 0.5);
        let running_mean = tensor(&vec![0.0; c], &[c]);
        let running_var = tensor(&vec![1.0; c], &[c]);
        gradcheck(
            &format!("batch_norm1d_train [{n}, {c}]"),
            &[x, gamma, beta],
            |v| Var::batch_norm_train(&v[0], &v[1], &v[2], &running_mean, &running_var, 0.1, EPS),
            |x| bn_ref::train_forward_f64(&x[0], &dims, &x[1], &x[2], EPS as f64),
            Tol::DEFAULT.h(h).fwd(1e-4, 1e-4),
        );
    }
}

// ---------------------------------------------------------------- maxout

/// Smallest gap between the largest and second-largest piece of any group: a finite
/// difference of step h moving values by at most `h * move` must not reorder them.
fn min_top_gap(pre: &[f64], pieces: usize) -> f64 {
    if pieces == 1 {
        return f64::INFINITY;
    }
    pre.chunks(pieces)
        .map(|g| {
            let mut s = g.to_vec();
            s.sort_by(|a, b| b.partial_cmp(a).unwrap());
            s[0] - s[1]
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn maxout() {
    for (i, &(rows, units, pieces)) in [(3, 4, 1), (5, 3, 2), (2, 17, 5), (4, 1, 5)]
        .iter()
        .enumerate()
    {
        let x = input(3400 + i as u64, &[rows, units * pieces], -2.0, 2.0);
        // Each finite difference moves a value by at most h = 1e-3.
        let gap = min_top_gap(&f64s(&x.0), pieces);
        assert!(gap > 4e-3, "seed {i}: pieces within {gap} of a tie");
        gradcheck(
            &format!("maxout [{rows}, {}] / {pieces}", units * pieces),
            &[x],
            |v| v[0].maxout(pieces),
            |x| maxout_ref::maxout(&x[0], pieces),
            Tol::DEFAULT,
        );
    }
}

/// The Maxout layer's computation: maxout(x W^T + b, pieces), W [units * pieces, in].
#[test]
fn maxout_after_linear() {
    for (i, &(batch, inp, units, pieces)) in [(4, 2, 3, 5), (3, 5, 4, 2), (6, 3, 2, 1)]
        .iter()
        .enumerate()
    {
        let outp = units * pieces;
        let x = input(3500 + i as u64, &[batch, inp], -1.0, 1.0);
        let w = input(3600 + i as u64, &[outp, inp], -1.0, 1.0);
        let b = input(3700 + i as u64, &[outp], -0.5, 0.5);
        let (pre, _) = linear_f64(
            &f64s(&x.0),
            &f64s(&w.0),
            Some(&f64s(&b.0)),
            batch,
            inp,
            outp,
            Activation::None,
        );
        // One input moves at a time, so a pre-activation moves by at most h * inp (x or a
        // row of W, |entries| <= 1) or h (b); h = 1e-4 keeps these seeds clear of ties.
        let tol = Tol::DEFAULT.h(1e-4);
        let gap = min_top_gap(&pre, pieces);
        assert!(gap > 2.0 * tol.h * inp as f64, "case {i}: gap {gap}");
        gradcheck(
            &format!("maxout(linear) x [{batch}, {inp}], {units} units of {pieces}"),
            &[x, w, b],
            |v| Var::linear(&v[0], &v[1], Some(&v[2]), Activation::None)?.maxout(pieces),
            |v| {
                let (pre, _) = linear_f64(
                    &v[0],
                    &v[1],
                    Some(&v[2]),
                    batch,
                    inp,
                    outp,
                    Activation::None,
                );
                maxout_ref::maxout(&pre, pieces)
            },
            tol,
        );
    }
}

// ---------------------------------------------------------------- dropout

#[test]
fn dropout() {
    let shapes: &[&[usize]] = &[&[4, 5], &[2, 3, 8, 8]];
    for (i, dims) in shapes.iter().enumerate() {
        for (p, seed, stream) in [(0.3f32, 7u64, 0u64), (0.5, 8, 3)] {
            let x = input(2400 + i as u64, dims, -2.0, 2.0);
            let n = x.0.len();
            // The mask from the documented generator: kept where u > p, scaled by 1/(1-p).
            let u = gan_tensor::reference::rng::uniform(n, 0.0, 1.0, seed, stream);
            let keep = (1.0 / (1.0 - p)) as f64;
            let mask: Vec<f64> = u.iter().map(|&u| if u > p { keep } else { 0.0 }).collect();
            let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / n as f64;
            assert!(
                (kept - (1.0 - p as f64)).abs() < 0.25,
                "dropout {p}: kept fraction {kept}"
            );
            gradcheck(
                &format!("dropout({p}, seed {seed}, stream {stream}) {dims:?}"),
                &[x],
                |v| v[0].dropout(p, seed, stream),
                |x| x[0].iter().zip(&mask).map(|(a, m)| a * m).collect(),
                Tol::DEFAULT,
            );
        }
    }
    // p = 0 is the identity (the same Var).
    let x = Var::leaf(tensor(&[1.0, -2.0, 3.0], &[3]));
    let y = x.dropout(0.0, 1, 0).unwrap();
    assert!(y.same_node(&x));
    y.mul_scalar(2.0)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec().unwrap(), vec![2.0; 3]);
    assert!(x.dropout(1.0, 1, 0).is_err());
    assert!(x.dropout(-0.1, 1, 0).is_err());
}

// ---------------------------------------------------------------- composite DCGAN blocks

/// conv -> bias, in f64, DCGAN-style helper for the composite checks.
fn conv_f64(
    x: &[f64],
    xd: [usize; 4],
    w: &[f64],
    wd: [usize; 4],
    b: Option<&[f64]>,
    p: Conv2dParams,
) -> (Vec<f64>, [usize; 4]) {
    let y = conv_ref::conv2d_forward_f64(x, xd, w, wd, b, p);
    (y, conv_ref::conv2d_output_dims(xd, wd, p))
}

#[test]
fn dcgan_discriminator_block() {
    // x [2,3,8,8] -> conv 4x4/2/1 (+b) -> leaky 0.2 -> conv 4x4/2/1 -> batchnorm(train)
    // -> leaky 0.2 -> reshape [2, 32] -> linear 32 -> 1 (+b) -> BCE with label 0.9.
    // The leaky kinks are crossed only if some pre-activation lies within ~h of 0:
    // h = 1e-5 (harmless in f64), and the fixed seeds were checked to keep clear.
    let xd = [2, 3, 8, 8];
    let w1d = [4, 3, 4, 4];
    let w2d = [8, 4, 4, 4];
    let p = Conv2dParams::new(2, 1);
    let inputs = vec![
        input(3000, &xd, -1.0, 1.0),
        input(3001, &w1d, -0.3, 0.3),
        input(3002, &[4], -0.2, 0.2),
        input(3003, &w2d, -0.3, 0.3),
        input_away(3004, &[8], 0.5, 1.5),
        input(3005, &[8], -0.3, 0.3),
        input(3006, &[1, 32], -0.5, 0.5),
        input(3007, &[1], -0.2, 0.2),
    ];
    let rm = tensor(&[0.0; 8], &[8]);
    let rv = tensor(&[1.0; 8], &[8]);
    gradcheck(
        "dcgan discriminator block",
        &inputs,
        |v| {
            let h = Var::conv2d(&v[0], &v[1], Some(&v[2]), p)?.leaky_relu(0.2)?;
            let h = Var::conv2d(&h, &v[3], None, p)?;
            let h = Var::batch_norm_train(&h, &v[4], &v[5], &rm, &rv, 0.1, EPS)?;
            let h = h.leaky_relu(0.2)?.reshape(&[2, 32])?;
            let logit = Var::linear(&h, &v[6], Some(&v[7]), Activation::None)?;
            logit.bce_with_logits(Labels::Const(0.9))
        },
        |x| {
            let a = 0.2f32 as f64;
            let (h, hd) = conv_f64(&x[0], xd, &x[1], w1d, Some(&x[2]), p);
            assert!(
                min_abs(&h) > 1e-3,
                "a pre-activation is too close to the kink"
            );
            let h: Vec<f64> = h.iter().map(|&v| leaky_f64(v, a)).collect();
            let (h, hd) = conv_f64(&h, hd, &x[3], w2d, None, p);
            let h = bn_ref::train_forward_f64(&h, &hd, &x[4], &x[5], EPS as f64);
            assert!(
                min_abs(&h) > 1e-3,
                "a pre-activation is too close to the kink"
            );
            let h: Vec<f64> = h.iter().map(|&v| leaky_f64(v, a)).collect();
            let (_, logit) = linear_f64(&h, &x[6], Some(&x[7]), 2, 32, 1, Activation::None);
            vec![bce_ref::loss_f64(&logit, &[0.9f32 as f64; 2])]
        },
        Tol::DEFAULT.h(1e-5),
    );
}

#[test]
fn dcgan_generator_block() {
    // z [2,6,1,1] -> convT 4x4/1/0 -> batchnorm(train) -> relu -> convT 4x4/2/1 (+b)
    // -> tanh: [2,3,8,8].
    let zd = [2, 6, 1, 1];
    let w1d = [6, 5, 4, 4];
    let w2d = [5, 3, 4, 4];
    let p1 = ConvTranspose2dParams::new(1, 0);
    let p2 = ConvTranspose2dParams::new(2, 1);
    let inputs = vec![
        input(3100, &zd, -1.0, 1.0),
        input(3101, &w1d, -0.3, 0.3),
        input_away(3102, &[5], 0.5, 1.5),
        input(3103, &[5], -0.3, 0.3),
        input(3104, &w2d, -0.3, 0.3),
        input(3105, &[3], -0.2, 0.2),
    ];
    let rm = tensor(&[0.0; 5], &[5]);
    let rv = tensor(&[1.0; 5], &[5]);
    gradcheck(
        "dcgan generator block",
        &inputs,
        |v| {
            let h = Var::conv_transpose2d(&v[0], &v[1], None, p1)?;
            let h = Var::batch_norm_train(&h, &v[2], &v[3], &rm, &rv, 0.1, EPS)?.relu()?;
            Var::conv_transpose2d(&h, &v[4], Some(&v[5]), p2)?.tanh()
        },
        |x| {
            let h = conv_ref::conv_transpose2d_forward_f64(&x[0], zd, &x[1], w1d, None, p1);
            let hd = conv_ref::conv_transpose2d_output_dims(zd, w1d, p1);
            let h = bn_ref::train_forward_f64(&h, &hd, &x[2], &x[3], EPS as f64);
            assert!(
                min_abs(&h) > 1e-3,
                "a pre-activation is too close to the kink"
            );
            let h: Vec<f64> = h.iter().map(|&v| v.max(0.0)).collect();
            let y = conv_ref::conv_transpose2d_forward_f64(&h, hd, &x[4], w2d, Some(&x[5]), p2);
            y.iter().map(|v| v.tanh()).collect()
        },
        Tol::DEFAULT.h(1e-5).fwd(1e-4, 1e-4),
    );
}
