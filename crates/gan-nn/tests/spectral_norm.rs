//! Spectral normalization (Miyato et al. 2018; PyTorch's `torch.nn.utils.spectral_norm`)
//! of Linear and Conv2d: gradients through sigma(W) against f64 finite differences,
//! the GPU power iteration against a host one, convergence of sigma to the largest
//! singular value, PyTorch's state_dict names, and checkpoints restoring u and v.

mod common;
mod gradcheck_common;

use std::fs;

use common::*;
use gan_nn::checkpoint;
use gan_nn::{spectral_normalize, Conv2d, LeakyReLU, Linear, Module, ParamStore, Sequential};
use gan_nn::{StoreConfig, Var};
use gan_tensor::conv::Conv2dParams;
use gan_tensor::matmul::Activation;
use gan_tensor::reference::conv as conv_ref;
use gan_tensor::testing::assert_close;
use gradcheck_common::input;

// ---------------------------------------------------------------- host references

/// x / max(||x||, 1e-12).
fn normalize(x: &[f64]) -> Vec<f64> {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    x.iter().map(|v| v / n).collect()
}

/// W^T u for W [rows, cols].
fn wt_u(w: &[f64], u: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..cols)
        .map(|j| (0..rows).map(|i| w[i * cols + j] * u[i]).sum())
        .collect()
}

/// W v for W [rows, cols].
fn w_v(w: &[f64], v: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..rows)
        .map(|i| (0..cols).map(|j| w[i * cols + j] * v[j]).sum())
        .collect()
}

/// One power iteration as PyTorch runs it: (u, v) after the step.
fn power_step(w: &[f64], u: &[f64], rows: usize, cols: usize) -> (Vec<f64>, Vec<f64>) {
    let v = normalize(&wt_u(w, u, rows, cols));
    let u = normalize(&w_v(w, &v, rows, cols));
    (u, v)
}

/// W / (u^T W v).
fn spectral_normalize_f64(w: &[f64], u: &[f64], v: &[f64]) -> Vec<f64> {
    let (rows, cols) = (u.len(), v.len());
    let sigma: f64 = w_v(w, v, rows, cols)
        .iter()
        .zip(u)
        .map(|(a, b)| a * b)
        .sum();
    w.iter().map(|x| x / sigma).collect()
}

/// The largest singular value of W [rows, cols]: 5000 power iterations in f64.
fn largest_singular_value(w: &[f64], rows: usize, cols: usize) -> f64 {
    let mut u = normalize(&vec![1.0; rows]);
    for _ in 0..5000 {
        u = power_step(w, &u, rows, cols).0;
    }
    let v = normalize(&wt_u(w, &u, rows, cols));
    w_v(w, &v, rows, cols)
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
}

fn host(p: &gan_nn::Param) -> Vec<f32> {
    p.tensor().unwrap().to_vec().unwrap()
}

fn build(model: &dyn Module, seed: u64) -> ParamStore {
    ParamStore::build(&ctx(), model, &StoreConfig::seed(seed)).unwrap()
}

// ---------------------------------------------------------------- the op: W / sigma(W)

/// u, v of W after one host power iteration from u = 1 (sigma well away from 0).
fn uv_for(w: &[f32], rows: usize, cols: usize) -> (Vec<f32>, Vec<f32>) {
    let (u, v) = power_step(&f64s(w), &vec![1.0; rows], rows, cols);
    (f32s(&u), f32s(&v))
}

#[test]
fn spectral_normalize_gradcheck() {
    for (i, dims) in [&[4usize, 5][..], &[1, 7], &[6, 1], &[3, 2, 3, 3]]
        .iter()
        .enumerate()
    {
        let w = input(300 + i as u64, dims, -1.0, 1.0);
        let (rows, cols) = (dims[0], dims[1..].iter().product());
        let (u, v) = uv_for(&w.0, rows, cols);
        let (ut, vt) = (tensor(&u, &[rows]), tensor(&v, &[cols]));
        let (u64s, v64s) = (f64s(&u), f64s(&v));
        gradcheck(
            &format!("spectral_normalize {dims:?}"),
            &[w],
            |x| Ok(spectral_normalize(&x[0], &ut, &vt).unwrap()),
            |x| spectral_normalize_f64(&x[0], &u64s, &v64s),
            Tol::DEFAULT,
        );
    }
}

#[test]
fn linear_through_sigma_gradcheck() {
    // act(x (W / sigma)^T + b): x [3, 5], W [4, 5], tanh (smooth).
    let (b, i, o) = (3, 5, 4);
    let inputs = [
        input(310, &[b, i], -1.0, 1.0),
        input(311, &[o, i], -1.0, 1.0),
        input(312, &[o], -0.5, 0.5),
    ];
    let (u, v) = uv_for(&inputs[1].0, o, i);
    let (ut, vt) = (tensor(&u, &[o]), tensor(&v, &[i]));
    let (u64s, v64s) = (f64s(&u), f64s(&v));
    gradcheck(
        "linear(x, W / sigma(W), b), tanh",
        &inputs,
        |x| {
            let w = spectral_normalize(&x[1], &ut, &vt).unwrap();
            Var::linear(&x[0], &w, Some(&x[2]), Activation::Tanh)
        },
        |x| {
            let w = spectral_normalize_f64(&x[1], &u64s, &v64s);
            linear_f64(&x[0], &w, Some(&x[2]), b, i, o, Activation::Tanh).1
        },
        Tol::DEFAULT,
    );
}

#[test]
fn conv2d_through_sigma_gradcheck() {
    // DCGAN discriminator block shape: 4x4 kernel, stride 2, padding 1, odd input.
    let (xd, wd) = ([2, 3, 7, 7], [4, 3, 4, 4]);
    let p = Conv2dParams {
        stride: (2, 2),
        padding: (1, 1),
    };
    let inputs = [
        input(320, &xd, -1.0, 1.0),
        input(321, &wd, -0.5, 0.5),
        input(322, &[4], -0.5, 0.5),
    ];
    let (rows, cols) = (wd[0], wd[1] * wd[2] * wd[3]);
    let (u, v) = uv_for(&inputs[1].0, rows, cols);
    let (ut, vt) = (tensor(&u, &[rows]), tensor(&v, &[cols]));
    let (u64s, v64s) = (f64s(&u), f64s(&v));
    gradcheck(
        "conv2d(x, W / sigma(W), b)",
        &inputs,
        |x| {
            let w = spectral_normalize(&x[1], &ut, &vt).unwrap();
            Var::conv2d(&x[0], &w, Some(&x[2]), p)
        },
        |x| {
            let w = spectral_normalize_f64(&x[1], &u64s, &v64s);
            conv_ref::conv2d_forward_f64(&x[0], xd, &w, wd, Some(&x[2]), p)
        },
        Tol::DEFAULT,
    );
}

// ---------------------------------------------------------------- the layers

/// y = f(x, W_sn, b) in f64.
type ForwardF64 = Box<dyn Fn(&[f64], &[f64], &[f64]) -> Vec<f64>>;

/// A spectrally normalized layer under test: the layer, its f64 forward given
/// (x, W_sn, b), and shapes.
struct LayerCase {
    name: &'static str,
    layer: Box<dyn Module>,
    weight: gan_nn::Param,
    bias: gan_nn::Param,
    u: gan_nn::Param,
    v: gan_nn::Param,
    x_dims: Vec<usize>,
    rows: usize,
    cols: usize,
    forward_f64: ForwardF64,
}

fn linear_case() -> LayerCase {
    let (b, i, o) = (3, 6, 5);
    let l = Linear::new(i, o).spectral_norm();
    let (u, v) = l.spectral_uv().unwrap();
    LayerCase {
        name: "Linear(6, 5)",
        weight: l.weight().clone(),
        bias: l.bias().unwrap().clone(),
        u: u.clone(),
        v: v.clone(),
        layer: Box::new(l),
        x_dims: vec![b, i],
        rows: o,
        cols: i,
        forward_f64: Box::new(move |x, w, bias| {
            linear_f64(x, w, Some(bias), b, i, o, Activation::None).1
        }),
    }
}

fn conv_case() -> LayerCase {
    let (xd, wd) = ([2, 3, 6, 5], [4, 3, 3, 3]);
    let p = Conv2dParams {
        stride: (2, 2),
        padding: (1, 1),
    };
    let l = Conv2d::new(3, 4, 3).stride(2).padding(1).spectral_norm();
    let (u, v) = l.spectral_uv().unwrap();
    LayerCase {
        name: "Conv2d(3, 4, 3, stride 2, padding 1)",
        weight: l.weight().clone(),
        bias: l.bias().unwrap().clone(),
        u: u.clone(),
        v: v.clone(),
        layer: Box::new(l),
        x_dims: xd.to_vec(),
        rows: wd[0],
        cols: wd[1] * wd[2] * wd[3],
        forward_f64: Box::new(move |x, w, bias| {
            conv_ref::conv2d_forward_f64(x, xd, w, wd, Some(bias), p)
        }),
    }
}

/// A training-mode forward runs one power iteration (checked against the host's) and
/// the gradient of L = sum(y r) with respect to weight_orig, with u and v held at their
/// new values, matches central finite differences of the f64 forward. An eval-mode
/// forward leaves u and v alone.
fn check_layer_gradient(c: LayerCase) {
    let store = build(c.layer.as_ref(), 7);
    let n: usize = c.x_dims.iter().product();
    let xh = rand(330, n, -1.0, 1.0);
    let x = Var::constant(tensor(&xh, &c.x_dims));
    let (u0, w0, b0) = (host(&c.u), host(&c.weight), host(&c.bias));

    // eval: no power iteration
    c.layer.forward(&x, false).unwrap();
    assert_eq!(host(&c.u), u0, "{}: an eval forward changed u", c.name);

    // train: one power iteration, then the gradient through sigma
    let y = c.layer.forward(&x, true).unwrap();
    let (u1, v1) = (host(&c.u), host(&c.v));
    let (uw, vw) = power_step(&f64s(&w0), &f64s(&u0), c.rows, c.cols);
    assert_close(
        &format!("{}: u after one step", c.name),
        &u1,
        &f32s(&uw),
        1e-4,
        1e-5,
    );
    assert_close(
        &format!("{}: v after one step", c.name),
        &v1,
        &f32s(&vw),
        1e-4,
        1e-5,
    );

    let r = rand(331, y.value().numel(), -1.0, 1.0);
    store.zero_grad().unwrap();
    let loss = y
        .mul(&Var::constant(tensor(&r, y.dims())))
        .unwrap()
        .sum_all()
        .unwrap();
    loss.backward().unwrap();
    let g = f64s(&c.weight.grad().unwrap().to_vec().unwrap());

    let (x64, b64, r64) = (f64s(&xh), f64s(&b0), f64s(&r));
    let (u64s, v64s) = (f64s(&u1), f64s(&v1));
    let loss_at = |w: &[f64]| {
        let wsn = spectral_normalize_f64(w, &u64s, &v64s);
        let y = (c.forward_f64)(&x64, &wsn, &b64);
        y.iter().zip(&r64).map(|(a, b)| a * b).sum::<f64>()
    };
    // The forward itself: y from the GPU against the f64 forward.
    let y_want = (c.forward_f64)(
        &x64,
        &spectral_normalize_f64(&f64s(&w0), &u64s, &v64s),
        &b64,
    );
    assert_close(
        &format!("{}: forward", c.name),
        &y.value().to_vec().unwrap(),
        &f32s(&y_want),
        1e-4,
        1e-5,
    );
    let w64 = f64s(&w0);
    let h = 1e-3;
    let gmax = g.iter().fold(0f64, |m, v| m.max(v.abs()));
    for i in 0..w64.len() {
        let mut wp = w64.clone();
        wp[i] += h;
        let plus = loss_at(&wp);
        wp[i] -= 2.0 * h;
        let minus = loss_at(&wp);
        let numeric = (plus - minus) / (2.0 * h);
        let bound = 1e-3 * numeric.abs().max(g[i].abs()) + 1e-4 * gmax;
        assert!(
            (numeric - g[i]).abs() <= bound,
            "{}: weight_orig element {i}: finite difference {numeric:.9e}, autograd {:.9e}",
            c.name,
            g[i]
        );
    }
    // The same gradient without the sigma term would be g' = dL/dW_sn / sigma; make sure
    // the check can tell them apart (the term u v^T <dL/dW_sn, W> / sigma^2 is not small).
    let sigma: f64 = w_v(&w64, &v64s, c.rows, c.cols)
        .iter()
        .zip(&u64s)
        .map(|(a, b)| a * b)
        .sum();
    let numeric_no_sigma: Vec<f64> = (0..w64.len())
        .map(|i| {
            let mut wp = w64.clone();
            wp[i] += h;
            let y = (c.forward_f64)(
                &x64,
                &wp.iter().map(|w| w / sigma).collect::<Vec<_>>(),
                &b64,
            );
            let plus: f64 = y.iter().zip(&r64).map(|(a, b)| a * b).sum();
            wp[i] -= 2.0 * h;
            let y = (c.forward_f64)(
                &x64,
                &wp.iter().map(|w| w / sigma).collect::<Vec<_>>(),
                &b64,
            );
            let minus: f64 = y.iter().zip(&r64).map(|(a, b)| a * b).sum();
            (plus - minus) / (2.0 * h)
        })
        .collect();
    let diff = g
        .iter()
        .zip(&numeric_no_sigma)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff > 1e-2 * gmax,
        "{}: the sigma term is too small for this check to see ({diff:.3e})",
        c.name
    );
}

#[test]
fn linear_layer_gradient_through_sigma() {
    check_layer_gradient(linear_case());
}

#[test]
fn conv2d_layer_gradient_through_sigma() {
    check_layer_gradient(conv_case());
}

/// sigma = u^T W v on the GPU, from the stored u and v.
fn sigma_gpu(w: &gan_nn::Param, u: &gan_nn::Param, v: &gan_nn::Param) -> f64 {
    let (rows, cols) = (u.dims()[0], v.dims()[0]);
    let wm = w.tensor().unwrap().reshape(&[rows, cols]).unwrap();
    let wv = wm
        .matmul(&v.tensor().unwrap().reshape(&[cols, 1]).unwrap())
        .unwrap();
    let u = u.tensor().unwrap().reshape(&[1, rows]).unwrap();
    u.matmul(&wv).unwrap().to_vec().unwrap()[0] as f64
}

/// After many training-mode forwards sigma = u^T W v converges to the largest singular
/// value of W, and W / sigma has spectral norm 1.
fn check_convergence(c: LayerCase) {
    let _store = build(c.layer.as_ref(), 11);
    let n: usize = c.x_dims.iter().product();
    let x = Var::constant(tensor(&rand(340, n, -1.0, 1.0), &c.x_dims));
    let w64 = f64s(&host(&c.weight));
    let want = largest_singular_value(&w64, c.rows, c.cols);
    let first = sigma_gpu(&c.weight, &c.u, &c.v);
    for _ in 0..100 {
        c.layer.forward(&x, true).unwrap();
    }
    let got = sigma_gpu(&c.weight, &c.u, &c.v);
    assert!(
        (got - want).abs() <= 1e-4 * want,
        "{}: sigma {got} after 100 steps (at init {first}), largest singular value {want}",
        c.name
    );
    // the starting u, v are random: the test would fail without the iteration
    assert!(
        (first - want).abs() > 1e-2 * want,
        "{}: sigma at init {first}",
        c.name
    );
    let w_sn = spectral_normalize(
        &Var::constant(c.weight.tensor().unwrap()),
        &c.u.tensor().unwrap(),
        &c.v.tensor().unwrap(),
    )
    .unwrap();
    let norm = largest_singular_value(&f64s(&w_sn.value().to_vec().unwrap()), c.rows, c.cols);
    assert!(
        (norm - 1.0).abs() <= 1e-4,
        "{}: W_sn has spectral norm {norm}",
        c.name
    );
}

#[test]
fn sigma_converges_to_the_largest_singular_value() {
    check_convergence(linear_case());
    check_convergence(conv_case());
}

#[test]
fn spectral_sigma_accessor_matches_the_host() {
    let l = Linear::new(4, 3).spectral_norm();
    let _store = build(&l, 5);
    let (u, v) = l.spectral_uv().unwrap();
    let (u, v, w) = (f64s(&host(u)), f64s(&host(v)), f64s(&host(l.weight())));
    let want: f64 = w_v(&w, &v, 3, 4).iter().zip(&u).map(|(a, b)| a * b).sum();
    let got = l.spectral_sigma().unwrap().unwrap() as f64;
    assert!((got - want).abs() <= 1e-5, "sigma {got}, host {want}");
    assert_eq!(Linear::new(4, 3).spectral_sigma().unwrap(), None);
    assert!(Conv2d::new(2, 3, 3).spectral_norm().is_spectral_norm());
    assert!(!Conv2d::new(2, 3, 3).is_spectral_norm());
}

// ---------------------------------------------------------------- names and checkpoints

fn model() -> Sequential {
    Sequential::new()
        .add(Conv2d::new(2, 3, 3).spectral_norm())
        .add(LeakyReLU::new(0.2))
        .add(gan_nn::Flatten)
        .add(Linear::new(3 * 2 * 2, 4).spectral_norm())
        .add(LeakyReLU::new(0.2))
        .add(Linear::new(4, 1))
}

#[test]
fn names_follow_pytorch_and_u_v_start_unit_norm() {
    let m = model();
    let store = build(&m, 3);
    assert_eq!(
        store.names(),
        [
            "0.bias",
            "0.weight_orig",
            "0.weight_u",
            "0.weight_v",
            "3.bias",
            "3.weight_orig",
            "3.weight_u",
            "3.weight_v",
            "5.weight",
            "5.bias"
        ]
    );
    assert_eq!(
        store.parameter_names(),
        [
            "0.bias",
            "0.weight_orig",
            "3.bias",
            "3.weight_orig",
            "5.weight",
            "5.bias"
        ]
    );
    let dims = |n: &str| store.get(n).unwrap().dims().to_vec();
    assert_eq!(dims("0.weight_orig"), [3, 2, 3, 3]);
    assert_eq!(dims("0.weight_u"), [3]);
    assert_eq!(dims("0.weight_v"), [18]);
    assert_eq!(dims("3.weight_u"), [4]);
    assert_eq!(dims("3.weight_v"), [12]);
    for n in ["0.weight_u", "0.weight_v", "3.weight_u", "3.weight_v"] {
        let v = host(store.get(n).unwrap());
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{n}: norm {norm}");
        // N(0, 1) draws, not a constant vector
        assert!(v.iter().any(|&x| (x - v[0]).abs() > 1e-3), "{n}: {v:?}");
    }
    // seeded: the same seed draws the same u
    let again = build(&model(), 3);
    assert_eq!(
        host(again.get("3.weight_u").unwrap()),
        host(store.get("3.weight_u").unwrap())
    );
}

#[test]
fn checkpoint_saves_and_restores_u_and_v() {
    let dir = std::env::temp_dir().join(format!("gan-nn-specnorm-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    let x = Var::constant(tensor(&rand(350, 2 * 2 * 4 * 4, -1.0, 1.0), &[2, 2, 4, 4]));

    let m = model();
    let store = build(&m, 3);
    m.forward(&x, true).unwrap();
    checkpoint::save(&path, &store).unwrap();
    let saved: Vec<Vec<f32>> = ["0.weight_u", "0.weight_v", "3.weight_u", "3.weight_v"]
        .iter()
        .map(|n| host(store.get(n).unwrap()))
        .collect();
    let y_eval = m.forward(&x, false).unwrap().value().to_vec().unwrap();

    // another model, another seed: different u and v until it loads the file
    let m2 = model();
    let store2 = build(&m2, 4);
    assert_ne!(host(store2.get("3.weight_u").unwrap()), saved[2]);
    checkpoint::load(&path, &store2).unwrap();
    for (n, want) in ["0.weight_u", "0.weight_v", "3.weight_u", "3.weight_v"]
        .iter()
        .zip(&saved)
    {
        assert_eq!(&host(store2.get(n).unwrap()), want, "{n} after load");
    }
    let y2 = m2.forward(&x, false).unwrap().value().to_vec().unwrap();
    assert_eq!(y2, y_eval, "eval output after load");
    let _ = fs::remove_dir_all(&dir);
}
