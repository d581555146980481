//! Shared by gan-nn's integration tests: one device per test binary, and a gradient
//! checker that compares autograd with central finite differences of an f64 CPU forward.
#![allow(dead_code)]

use gan_nn::Var;
use gan_tensor::testing::{assert_close, Rng};
use gan_tensor::Result;
use gan_tensor::{Context, Tensor};

/// The device shared by the tests of one binary ([`gan_tensor::testing::shared_context`]).
pub fn ctx() -> Context {
    gan_tensor::testing::shared_context().clone()
}

/// Uploads `data` with shape `dims`.
pub fn tensor(data: &[f32], dims: &[usize]) -> Tensor {
    Tensor::from_slice(&ctx(), data, dims).unwrap()
}

/// Seeded uniform values in [lo, hi).
pub fn rand(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    gan_tensor::testing::random(seed, n, lo, hi)
}

/// Seeded values with lo <= |v| < hi and a random sign (inputs kept away from a kink at 0).
pub fn rand_away_from_zero(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let m = rng.uniform(lo, hi);
            if rng.next_u64() & 1 == 0 {
                m
            } else {
                -m
            }
        })
        .collect()
}

pub fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

pub fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// FNV-1a of the case name: every case draws its own cotangent and directions.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Tolerances of one gradient check.
///
/// Directional check, per input k and random direction d (entries uniform in [-1, 1]):
/// `numeric = (L(x + h d) - L(x - h d)) / 2h` in f64 on the CPU forward,
/// `analytic = <grad_k, d>` in f64 from the GPU gradient, and the check is
/// `|numeric - analytic| <= rtol * max(|numeric|, |analytic|) + floor * sum_i |grad_i d_i|`
/// (the `floor` term is the f32 rounding of the GPU gradient elements, which can cancel in
/// the inner product). Inputs of at most [`ELEMENTWISE_MAX`] elements are also checked
/// element by element: `|numeric_i - grad_i| <= rtol * max(|numeric_i|, |grad_i|) +
/// floor * max_j |grad_j|`.
/// Forward: the GPU output matches the f64 CPU forward within
/// `fwd_atol + fwd_rtol * |want|` elementwise.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub h: f64,
    pub rtol: f64,
    pub floor: f64,
    pub fwd_rtol: f32,
    pub fwd_atol: f32,
}

impl Tol {
    /// h = 1e-3, rtol = 1e-3, floor = 1e-4; forward rtol 1e-4, atol 1e-5.
    pub const DEFAULT: Tol = Tol {
        h: 1e-3,
        rtol: 1e-3,
        floor: 1e-4,
        fwd_rtol: 1e-4,
        fwd_atol: 1e-5,
    };

    pub fn h(self, h: f64) -> Tol {
        Tol { h, ..self }
    }

    pub fn fwd(self, fwd_rtol: f32, fwd_atol: f32) -> Tol {
        Tol {
            fwd_rtol,
            fwd_atol,
            ..self
        }
    }
}

/// Inputs with at most this many elements are also checked element by element.
pub const ELEMENTWISE_MAX: usize = 512;

/// Random directions per input in the directional check.
pub const DIRECTIONS: usize = 3;

/// Checks the gradients of `gpu` (a differentiable function of leaves built from
/// `inputs`, given as (values, dims)) against central finite differences of `cpu` (the
/// same function in f64 on the host), through the scalar `L = sum(y * r)` for a fixed
/// random cotangent r with entries in [-1, 1]. See [`Tol`] for what is compared.
pub fn gradcheck<G, C>(name: &str, inputs: &[(Vec<f32>, Vec<usize>)], gpu: G, cpu: C, tol: Tol)
where
    G: Fn(&[Var]) -> Result<Var>,
    C: Fn(&[Vec<f64>]) -> Vec<f64>,
{
    let leaves: Vec<Var> = inputs
        .iter()
        .map(|(data, dims)| Var::leaf(tensor(data, dims)))
        .collect();
    let x64: Vec<Vec<f64>> = inputs.iter().map(|(data, _)| f64s(data)).collect();

    // (1) forward
    let y = gpu(&leaves).unwrap_or_else(|e| panic!("{name}: GPU forward failed: {e}"));
    assert!(y.requires_grad(), "{name}: output is not on the tape");
    let got = y.value().to_vec().unwrap();
    let want = cpu(&x64);
    assert_close(
        &format!("{name}: forward"),
        &got,
        &f32s(&want),
        tol.fwd_rtol,
        tol.fwd_atol,
    );

    // (2) L = sum(y * r), backward
    let mut rng = Rng::new(seed_of(name));
    let r = rng.vec(got.len(), -1.0, 1.0);
    let r64 = f64s(&r);
    let loss = y
        .mul(&Var::constant(tensor(&r, y.dims())))
        .and_then(|p| p.sum_all())
        .unwrap_or_else(|e| panic!("{name}: loss: {e}"));
    loss.backward()
        .unwrap_or_else(|e| panic!("{name}: backward failed: {e}"));
    let loss_at = |xs: &[Vec<f64>]| dot(&cpu(xs), &r64);
    let central = |k: usize, d: &[f64], h: f64| {
        let mut xs = x64.clone();
        let shifted = |sign: f64, xs: &mut Vec<Vec<f64>>| {
            for (v, (x0, di)) in xs[k].iter_mut().zip(x64[k].iter().zip(d)) {
                *v = x0 + sign * h * di;
            }
        };
        shifted(1.0, &mut xs);
        let plus = loss_at(&xs);
        shifted(-1.0, &mut xs);
        let minus = loss_at(&xs);
        (plus - minus) / (2.0 * h)
    };

    // (3) each input separately; `worst` is the largest |diff| / bound seen (reported
    // with GRADCHECK_VERBOSE=1, to see how much room the tolerances leave).
    let mut worst = 0f64;
    let mut checks = 0usize;
    for (k, leaf) in leaves.iter().enumerate() {
        let n = inputs[k].0.len();
        let g = leaf
            .grad()
            .unwrap_or_else(|| panic!("{name}: input {k} received no gradient"));
        assert_eq!(
            g.dims(),
            &inputs[k].1[..],
            "{name}: input {k} gradient shape"
        );
        let g = f64s(&g.to_vec().unwrap());
        assert!(
            g.iter().all(|v| v.is_finite()),
            "{name}: input {k} gradient is not finite"
        );
        for trial in 0..DIRECTIONS {
            let d = f64s(&rng.vec(n, -1.0, 1.0));
            let numeric = central(k, &d, tol.h);
            let analytic = dot(&g, &d);
            let scale: f64 = g.iter().zip(&d).map(|(a, b)| (a * b).abs()).sum();
            let bound = tol.rtol * numeric.abs().max(analytic.abs()) + tol.floor * scale;
            let err = (numeric - analytic).abs();
            worst = worst.max(err / bound);
            checks += 1;
            assert!(
                err <= bound,
                "{name}: input {k} {:?}, direction {trial}: finite difference {numeric:.9e}, \
                 autograd {analytic:.9e}, |diff| {err:.3e} > {bound:.3e} \
                 (h {}, rtol {}, floor {})",
                inputs[k].1,
                tol.h,
                tol.rtol,
                tol.floor
            );
        }
        if n <= ELEMENTWISE_MAX {
            let gmax = g.iter().fold(0f64, |m, v| m.max(v.abs()));
            let mut e = vec![0f64; n];
            for i in 0..n {
                e[i] = 1.0;
                let numeric = central(k, &e, tol.h);
                e[i] = 0.0;
                let bound = tol.rtol * numeric.abs().max(g[i].abs()) + tol.floor * gmax;
                let err = (numeric - g[i]).abs();
                worst = worst.max(err / bound);
                checks += 1;
                assert!(
                    err <= bound,
                    "{name}: input {k} {:?}, element {i}: finite difference {numeric:.9e}, \
                     autograd {:.9e}, |diff| {err:.3e} > {bound:.3e} (h {}, rtol {}, floor {})",
                    inputs[k].1,
                    g[i],
                    tol.h,
                    tol.rtol,
                    tol.floor
                );
            }
        }
    }
    if std::env::var_os("GRADCHECK_VERBOSE").is_some() {
        eprintln!("{name}: {checks} checks, worst |diff| / bound {worst:.3}");
    }
}

// ---- f64 CPU forwards ----

/// numpy broadcasting of `f` over a (dims `ad`) and b (dims `bd`).
pub fn broadcast_f64(
    a: &[f64],
    ad: &[usize],
    b: &[f64],
    bd: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> Vec<f64> {
    let shape = gan_tensor::reference::elementwise::broadcast_shape(ad, bd).expect("broadcast");
    let n: usize = shape.iter().product();
    let index = |idx: &[usize], dims: &[usize]| {
        let off = idx.len() - dims.len();
        dims.iter().enumerate().fold(0, |flat, (k, &d)| {
            flat * d + if d == 1 { 0 } else { idx[off + k] }
        })
    };
    let mut idx = vec![0usize; shape.len()];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(f(a[index(&idx, ad)], b[index(&idx, bd)]));
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// Sum along `axis` of a row-major tensor of `dims` (the axis removed).
pub fn sum_axis_f64(x: &[f64], dims: &[usize], axis: usize) -> Vec<f64> {
    let outer: usize = dims[..axis].iter().product();
    let len = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut y = vec![0f64; outer * inner];
    for o in 0..outer {
        for a in 0..len {
            for i in 0..inner {
                y[o * inner + i] += x[(o * len + a) * inner + i];
            }
        }
    }
    y
}

/// [m, k] x [k, n].
pub fn matmul_f64(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0f64; m * n];
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p];
            for j in 0..n {
                c[i * n + j] += av * b[p * n + j];
            }
        }
    }
    c
}

/// act(x W^T + b), x [batch, in], W [out, in], b [out]: the pre-activations and outputs.
pub fn linear_f64(
    x: &[f64],
    w: &[f64],
    b: Option<&[f64]>,
    batch: usize,
    inp: usize,
    out: usize,
    act: gan_tensor::matmul::Activation,
) -> (Vec<f64>, Vec<f64>) {
    let mut pre = vec![0f64; batch * out];
    for i in 0..batch {
        for j in 0..out {
            let mut acc = b.map_or(0.0, |b| b[j]);
            for p in 0..inp {
                acc += x[i * inp + p] * w[j * inp + p];
            }
            pre[i * out + j] = acc;
        }
    }
    let y = pre
        .iter()
        .map(|&v| gan_tensor::reference::matmul::activate(v, act))
        .collect();
    (pre, y)
}

pub fn leaky_f64(x: f64, alpha: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        alpha * x
    }
}

/// Smallest |v|: how far pre-activations are from a ReLU kink.
pub fn min_abs(v: &[f64]) -> f64 {
    v.iter().fold(f64::INFINITY, |m, x| m.min(x.abs()))
}
