//! Gradient checks of gan-nn's elementwise ops (unary and broadcasting binary),
//! reductions, reshape, matmul and the fused linear: autograd's GPU gradient against
//! central finite differences of an f64 CPU forward, on several shapes.
//!
//! Method and default tolerances: see `gradcheck_common` and `common::gradcheck`.

mod common;
mod gradcheck_common;

use common::*;
use gan_nn::Var;
use gan_tensor::matmul::Activation;
use gan_tensor::reference::bce as bce_ref;
use gradcheck_common::{input, input_away};

const SHAPES: &[&[usize]] = &[&[1], &[7], &[3, 4], &[2, 3, 5], &[2, 3, 4, 5]];

// ---------------------------------------------------------------- elementwise, unary

type UnaryGpu = fn(&Var) -> gan_tensor::Result<Var>;

/// A unary op checked on every shape in SHAPES with inputs from `gen`.
fn check_unary(
    name: &str,
    gen: impl Fn(u64, &[usize]) -> (Vec<f32>, Vec<usize>),
    gpu: UnaryGpu,
    cpu: fn(f64) -> f64,
    tol: Tol,
) {
    for (i, dims) in SHAPES.iter().enumerate() {
        gradcheck(
            &format!("{name} {dims:?}"),
            &[gen(100 + i as u64, dims)],
            |x| gpu(&x[0]),
            |x| x[0].iter().map(|&v| cpu(v)).collect(),
            tol,
        );
    }
}

#[test]
fn relu() {
    // |x| in [0.1, 2], h = 1e-3, |d| <= 1: no difference crosses 0.
    check_unary(
        "relu",
        |s, d| input_away(s, d, 0.1, 2.0),
        |x| x.relu(),
        |v| v.max(0.0),
        Tol::DEFAULT,
    );
}

#[test]
fn leaky_relu() {
    // |x| in [0.1, 2] as for relu; alpha = 0.2 (DCGAN) and 0.01 (PyTorch's default).
    check_unary(
        "leaky_relu(0.2)",
        |s, d| input_away(s, d, 0.1, 2.0),
        |x| x.leaky_relu(0.2),
        |v| leaky_f64(v, 0.2f32 as f64),
        Tol::DEFAULT,
    );
    check_unary(
        "leaky_relu(0.01)",
        |s, d| input_away(s, d, 0.1, 2.0),
        |x| x.leaky_relu(0.01),
        |v| leaky_f64(v, 0.01f32 as f64),
        Tol::DEFAULT,
    );
}

#[test]
fn tanh_sigmoid_exp_log() {
    check_unary(
        "tanh",
        |s, d| input(s, d, -3.0, 3.0),
        |x| x.tanh(),
        f64::tanh,
        Tol::DEFAULT,
    );
    check_unary(
        "sigmoid",
        |s, d| input(s, d, -6.0, 6.0),
        |x| x.sigmoid(),
        bce_ref::sigmoid,
        Tol::DEFAULT,
    );
    // exp up to e^3 ~ 20: forward atol scaled accordingly.
    check_unary(
        "exp",
        |s, d| input(s, d, -3.0, 3.0),
        |x| x.exp(),
        f64::exp,
        Tol::DEFAULT.fwd(1e-4, 1e-4),
    );
    // log on [0.2, 4]; h = 1e-3 is well inside the domain.
    check_unary(
        "log",
        |s, d| input(s, d, 0.2, 4.0),
        |x| x.log(),
        f64::ln,
        Tol::DEFAULT,
    );
}

#[test]
fn affine_and_scalar_ops() {
    let g = |s, d: &[usize]| input(s, d, -2.0, 2.0);
    check_unary(
        "affine(-1.7, 0.3)",
        g,
        |x| x.affine(-1.7, 0.3),
        |v| v * (-1.7f32) as f64 + 0.3f32 as f64,
        Tol::DEFAULT,
    );
    check_unary(
        "add_scalar(2.5)",
        g,
        |x| x.add_scalar(2.5),
        |v| v + 2.5,
        Tol::DEFAULT,
    );
    check_unary(
        "mul_scalar(-0.4)",
        g,
        |x| x.mul_scalar(-0.4),
        |v| v * (-0.4f32) as f64,
        Tol::DEFAULT,
    );
    check_unary("neg", g, |x| x.neg(), |v| -v, Tol::DEFAULT);
}

// ---------------------------------------------------------------- elementwise, binary

/// (a dims, b dims): equal shapes, b broadcast along rows/columns/leading axes, both
/// broadcast at once, and a one-element operand.
const PAIRS: &[(&[usize], &[usize])] = &[
    (&[3, 4], &[3, 4]),
    (&[3, 4], &[4]),
    (&[3, 4], &[3, 1]),
    (&[3, 1], &[1, 4]),
    (&[4], &[3, 4]),
    (&[2, 3, 4], &[3, 1]),
    (&[5], &[1]),
    (&[2, 3, 4, 5], &[3, 1, 1]),
    (&[1, 3, 1, 5], &[2, 1, 4, 1]),
];

type BinaryGpu = fn(&Var, &Var) -> gan_tensor::Result<Var>;

fn check_binary(name: &str, gpu: BinaryGpu, cpu: fn(f64, f64) -> f64, b_away_from_zero: bool) {
    for (i, (ad, bd)) in PAIRS.iter().enumerate() {
        let a = input(200 + i as u64, ad, -2.0, 2.0);
        let b = if b_away_from_zero {
            input_away(300 + i as u64, bd, 0.5, 2.0)
        } else {
            input(300 + i as u64, bd, -2.0, 2.0)
        };
        let (ad, bd) = (ad.to_vec(), bd.to_vec());
        gradcheck(
            &format!("{name} {ad:?} {bd:?}"),
            &[a, b],
            |x| gpu(&x[0], &x[1]),
            |x| broadcast_f64(&x[0], &ad, &x[1], &bd, cpu),
            // Broadcast gradients sum up to 40 terms: forward/backward rounding stays far
            // below these bounds.
            Tol::DEFAULT.fwd(1e-4, 1e-5),
        );
    }
}

#[test]
fn add_broadcasting() {
    check_binary("add", |a, b| a.add(b), |a, b| a + b, false);
}

#[test]
fn sub_broadcasting() {
    check_binary("sub", |a, b| a.sub(b), |a, b| a - b, false);
}

#[test]
fn mul_broadcasting() {
    check_binary("mul", |a, b| a.mul(b), |a, b| a * b, false);
}

#[test]
fn div_broadcasting() {
    // |b| in [0.5, 2]: h = 1e-3 keeps b + h d far from 0.
    check_binary("div", |a, b| a.div(b), |a, b| a / b, true);
}

#[test]
fn same_var_on_both_sides() {
    // x*x, x/x... gradients from both operands accumulate into one leaf.
    let x = input_away(1, &[3, 4], 0.5, 2.0);
    gradcheck(
        "x * x",
        std::slice::from_ref(&x),
        |v| v[0].mul(&v[0]),
        |x| x[0].iter().map(|v| v * v).collect(),
        Tol::DEFAULT,
    );
    gradcheck(
        "x * x + x",
        std::slice::from_ref(&x),
        |v| v[0].mul(&v[0])?.add(&v[0]),
        |x| x[0].iter().map(|v| v * v + v).collect(),
        Tol::DEFAULT,
    );
    gradcheck(
        "x / (x + 3) - x",
        std::slice::from_ref(&x),
        |v| v[0].div(&v[0].add_scalar(3.0)?)?.sub(&v[0]),
        |x| x[0].iter().map(|v| v / (v + 3.0) - v).collect(),
        Tol::DEFAULT,
    );
}

// ---------------------------------------------------------------- reductions, reshape

#[test]
fn sum_all_mean_all() {
    for (i, dims) in SHAPES.iter().enumerate() {
        let x = input(400 + i as u64, dims, -2.0, 2.0);
        gradcheck(
            &format!("sum_all {dims:?}"),
            std::slice::from_ref(&x),
            |v| v[0].sum_all(),
            |x| vec![x[0].iter().sum()],
            Tol::DEFAULT.fwd(1e-4, 1e-4),
        );
        gradcheck(
            &format!("mean_all {dims:?}"),
            &[x],
            |v| v[0].mean_all(),
            |x| vec![x[0].iter().sum::<f64>() / x[0].len() as f64],
            Tol::DEFAULT,
        );
    }
}

#[test]
fn sum_axis_mean_axis() {
    let shapes: &[&[usize]] = &[&[6], &[4, 5], &[2, 3, 4], &[2, 3, 4, 5]];
    for (i, dims) in shapes.iter().enumerate() {
        let x = input(500 + i as u64, dims, -2.0, 2.0);
        for axis in 0..dims.len() {
            for keepdim in [false, true] {
                if dims.len() == 1 && !keepdim {
                    continue; // a 1-D sum without keepdim has no dimensions left
                }
                let dd = dims.to_vec();
                gradcheck(
                    &format!("sum_axis({axis}, {keepdim}) {dims:?}"),
                    std::slice::from_ref(&x),
                    |v| v[0].sum_axis(axis, keepdim),
                    |x| sum_axis_f64(&x[0], &dd, axis),
                    Tol::DEFAULT.fwd(1e-4, 1e-5),
                );
                gradcheck(
                    &format!("mean_axis({axis}, {keepdim}) {dims:?}"),
                    std::slice::from_ref(&x),
                    |v| v[0].mean_axis(axis, keepdim),
                    |x| {
                        let s = sum_axis_f64(&x[0], &dd, axis);
                        s.iter().map(|v| v / dd[axis] as f64).collect()
                    },
                    Tol::DEFAULT,
                );
            }
        }
    }
}

#[test]
fn sum_axis_output_shapes() {
    let x = Var::leaf(tensor(&rand(1, 24, -1.0, 1.0), &[2, 3, 4]));
    assert_eq!(x.sum_axis(1, false).unwrap().dims(), &[2, 4]);
    assert_eq!(x.sum_axis(1, true).unwrap().dims(), &[2, 1, 4]);
    assert_eq!(x.mean_axis(2, false).unwrap().dims(), &[2, 3]);
}

#[test]
fn reshape() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4], &[6, 4]),
        (&[3, 4], &[12]),
        (&[12], &[2, 2, 3]),
        (&[2, 8, 2, 2], &[2, 32]),
    ];
    for (i, (from, to)) in cases.iter().enumerate() {
        let x = input(600 + i as u64, from, -2.0, 2.0);
        // Through a tanh so the gradient is not simply the cotangent.
        gradcheck(
            &format!("reshape {from:?} -> {to:?}"),
            &[x],
            |v| v[0].reshape(to)?.tanh(),
            |x| x[0].iter().map(|v| v.tanh()).collect(),
            Tol::DEFAULT,
        );
    }
}

// ---------------------------------------------------------------- matmul, linear

#[test]
fn matmul() {
    let cases: &[(usize, usize, usize)] = &[(3, 4, 5), (1, 6, 1), (7, 1, 3), (20, 17, 9)];
    for (i, &(m, k, n)) in cases.iter().enumerate() {
        let a = input(700 + i as u64, &[m, k], -1.0, 1.0);
        let b = input(800 + i as u64, &[k, n], -1.0, 1.0);
        gradcheck(
            &format!("matmul [{m},{k}] x [{k},{n}]"),
            &[a, b],
            |v| v[0].matmul(&v[1]),
            |x| matmul_f64(&x[0], &x[1], m, k, n),
            Tol::DEFAULT.fwd(1e-4, 1e-5),
        );
    }
}

#[test]
fn linear_with_fused_bias_and_activation() {
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Tanh,
        Activation::Sigmoid,
    ];
    // (batch, in, out)
    let shapes: &[(usize, usize, usize)] = &[(1, 3, 2), (5, 7, 4), (16, 33, 10)];
    for act in acts {
        for &(bsz, inp, out) in shapes {
            for with_bias in [true, false] {
                let kinked = matches!(act, Activation::Relu | Activation::LeakyRelu(_));
                let h = if kinked { 1e-4 } else { 1e-3 };
                // Perturbing one input by h d (|d| <= 1, entries of the others <= 1) moves
                // a pre-activation by at most h * max(in, 1): keep every one further away.
                let margin = 2.0 * h * inp as f64;
                let mut seed = 900;
                let (x, w, b) = loop {
                    let x = input(seed, &[bsz, inp], -1.0, 1.0);
                    let w = input(seed + 1, &[out, inp], -1.0, 1.0);
                    let b = input(seed + 2, &[out], -1.0, 1.0);
                    let (pre, _) = linear_f64(
                        &f64s(&x.0),
                        &f64s(&w.0),
                        with_bias.then(|| f64s(&b.0)).as_deref(),
                        bsz,
                        inp,
                        out,
                        act,
                    );
                    if !kinked || min_abs(&pre) > margin {
                        break (x, w, b);
                    }
                    seed += 3;
                    assert!(seed < 1200, "no seed keeps pre-activations off the kink");
                };
                let mut inputs = vec![x, w];
                if with_bias {
                    inputs.push(b);
                }
                gradcheck(
                    &format!("linear {act:?} bias={with_bias} [{bsz},{inp}] -> {out}"),
                    &inputs,
                    |v| Var::linear(&v[0], &v[1], v.get(2), act),
                    |x| linear_f64(&x[0], &x[1], x.get(2).map(|b| &b[..]), bsz, inp, out, act).1,
                    Tol::DEFAULT.h(h).fwd(1e-4, 1e-5),
                );
            }
        }
    }
}
