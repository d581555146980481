//! Optimizers over the flat parameter buffer: equal to gan-tensor's per-parameter
//! reference, one dispatch per step, independent per model, and they actually fit.

use gan_nn::loss::{bce_with_logits, check_finite};
use gan_nn::{
    Adam, AdamConfig, Labels, Linear, Module, NnError, Optimizer, ParamStore, ReLU, Sequential,
    Sgd, SgdConfig, StoreConfig, Tanh, Var,
};
use gan_tensor::reference::optim as reference;
use gan_tensor::testing::{assert_close, random};
use gan_tensor::{Context, Tensor};

mod common;
use common::ctx;

fn mlp() -> Sequential {
    Sequential::new()
        .add(Linear::new(3, 7))
        .add(ReLU)
        .add(Linear::new(7, 5))
        .add(Tanh)
        .add(Linear::new(5, 1))
}

/// Host copies of every trainable parameter, by entry.
fn host_params(store: &ParamStore) -> Vec<Vec<f32>> {
    store
        .entries()
        .iter()
        .filter(|e| e.offset.is_some())
        .map(|e| e.param.tensor().unwrap().to_vec().unwrap())
        .collect()
}

/// Writes `grads[i]` into parameter i's gradient view.
fn set_grads(store: &ParamStore, grads: &[Vec<f32>]) {
    let trainable = store.entries().iter().filter(|e| e.offset.is_some());
    for (e, g) in trainable.zip(grads) {
        let view = e.param.grad().unwrap();
        view.assign(&Tensor::from_slice(&ctx(), g, view.dims()).unwrap())
            .unwrap();
    }
}

enum Which {
    Adam(AdamConfig),
    Sgd(SgdConfig),
}

fn run_against_reference(case: &str, which: Which, steps: u64) {
    let model = mlp();
    let store = ParamStore::build(&ctx(), &model, &StoreConfig::seed(1)).unwrap();
    let mut opt: Box<dyn Optimizer> = match &which {
        Which::Adam(c) => Box::new(Adam::new(&store, *c).unwrap()),
        Which::Sgd(c) => Box::new(Sgd::new(&store, *c).unwrap()),
    };
    let mut ps = host_params(&store);
    let mut s1: Vec<Vec<f32>> = ps.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut s2 = s1.clone();
    for t in 1..=steps {
        let grads: Vec<Vec<f32>> = ps
            .iter()
            .enumerate()
            .map(|(i, p)| random(t * 1000 + i as u64, p.len(), -1.0, 1.0))
            .collect();
        set_grads(&store, &grads);
        opt.step().unwrap();
        for i in 0..ps.len() {
            match &which {
                Which::Adam(c) => {
                    reference::adam_step(&mut ps[i], &grads[i], &mut s1[i], &mut s2[i], c, t)
                }
                Which::Sgd(c) => {
                    let vel = (c.momentum != 0.0).then_some(s1[i].as_mut_slice());
                    reference::sgd_step(&mut ps[i], &grads[i], vel, c, t)
                }
            }
        }
        for (i, got) in host_params(&store).iter().enumerate() {
            assert_close(
                &format!("{case} step {t} param {i}"),
                got,
                &ps[i],
                1e-5,
                1e-6,
            );
        }
    }
    assert_eq!(opt.steps(), steps);
    // Padding stays zero in values and state.
    let used: Vec<bool> = {
        let mut u = vec![false; store.values().numel()];
        for e in store.entries() {
            if let Some(off) = e.offset {
                u[off..off + e.param.numel()]
                    .iter_mut()
                    .for_each(|x| *x = true);
            }
        }
        u
    };
    let mut bufs = vec![store.values().clone()];
    bufs.extend(opt.state().into_iter().map(|(_, t)| t.clone()));
    for b in bufs {
        let v = b.to_vec().unwrap();
        assert!(
            v.iter().zip(&used).all(|(x, u)| *u || *x == 0.0),
            "{case}: padding"
        );
    }
}

#[test]
fn adam_on_flat_buffer_equals_per_parameter_reference() {
    run_against_reference("adam", Which::Adam(AdamConfig::adam(1e-2)), 5);
    let dcgan = AdamConfig {
        beta1: 0.5,
        weight_decay: 0.01,
        ..AdamConfig::adam(2e-3)
    };
    run_against_reference("adam dcgan + L2", Which::Adam(dcgan), 5);
    run_against_reference("adamw", Which::Adam(AdamConfig::adamw(1e-2, 0.1)), 5);
}

#[test]
fn sgd_on_flat_buffer_equals_per_parameter_reference() {
    let plain = SgdConfig {
        lr: 0.05,
        ..Default::default()
    };
    run_against_reference("sgd", Which::Sgd(plain), 4);
    let momentum = SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-3,
        nesterov: true,
        ..Default::default()
    };
    run_against_reference("sgd nesterov", Which::Sgd(momentum), 4);
}

#[test]
fn each_step_is_one_dispatch_over_the_whole_model() {
    // A device of its own: the shared one counts other tests' dispatches too.
    let ctx = Context::new().unwrap();
    let model = mlp();
    let store = ParamStore::build(&ctx, &model, &StoreConfig::seed(1)).unwrap();
    store.grads().fill_(0.5).unwrap();
    let mut adam = Adam::new(&store, AdamConfig::adam(1e-3)).unwrap();
    let sgd_cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    };
    let mut sgd = Sgd::new(&store, sgd_cfg).unwrap();
    let opts: [&mut dyn Optimizer; 2] = [&mut adam, &mut sgd];
    for opt in opts {
        for _ in 0..3 {
            let before = ctx.stats().dispatches;
            opt.step().unwrap();
            assert_eq!(ctx.stats().dispatches - before, 1, "{}", opt.kind());
        }
        let before = ctx.stats().dispatches;
        opt.zero_grad().unwrap();
        assert_eq!(ctx.stats().dispatches - before, 1, "zero_grad is one fill");
        store.grads().fill_(0.5).unwrap();
    }
}

#[test]
fn two_models_have_independent_optimizers() {
    let (g, d) = (mlp(), mlp());
    let gs = ParamStore::build(&ctx(), &g, &StoreConfig::seed(1).prefix("gen")).unwrap();
    let ds = ParamStore::build(&ctx(), &d, &StoreConfig::seed(2).prefix("disc")).unwrap();
    let mut og = Adam::new(&gs, AdamConfig::adam(1e-2)).unwrap();
    let mut od = Adam::new(&ds, AdamConfig::adam(1e-3)).unwrap();
    let d_before = ds.values().to_vec().unwrap();
    let g_before = gs.values().to_vec().unwrap();

    // A loss through both models; only G steps.
    let x = Var::constant(Tensor::from_slice(&ctx(), &random(1, 12, -1.0, 1.0), &[4, 3]).unwrap());
    let fake = g.forward(&x, true).unwrap();
    // G gives [4, 1]; D takes [4, 3]: widen by a constant matmul.
    let widen = Var::constant(Tensor::full(&ctx(), &[1, 3], 1.0).unwrap());
    let logits = d.forward(&fake.matmul(&widen).unwrap(), true).unwrap();
    bce_with_logits(&logits, Labels::Const(1.0))
        .unwrap()
        .backward()
        .unwrap();
    assert!(ds.grads().to_vec().unwrap().iter().any(|v| *v != 0.0));
    og.step().unwrap();
    assert_eq!((og.steps(), od.steps()), (1, 0));
    assert_ne!(gs.values().to_vec().unwrap(), g_before);
    assert_eq!(
        ds.values().to_vec().unwrap(),
        d_before,
        "D untouched by G's step"
    );
    assert!(od.m().to_vec().unwrap().iter().all(|v| *v == 0.0));

    // D's zero_grad leaves G's gradients.
    od.zero_grad().unwrap();
    assert!(ds.grads().to_vec().unwrap().iter().all(|v| *v == 0.0));
    assert!(gs.grads().to_vec().unwrap().iter().any(|v| *v != 0.0));
    od.step().unwrap();
    assert_eq!((og.steps(), od.steps()), (1, 1));
}

/// Mean squared error as Var ops.
fn mse(pred: &Var, target: &Var) -> Var {
    let d = pred.sub(target).unwrap();
    d.mul(&d).unwrap().mean_all().unwrap()
}

#[test]
fn linear_regression_fits_3x_plus_1() {
    let model = Linear::new(1, 1);
    let store = ParamStore::build(&ctx(), &model, &StoreConfig::seed(3)).unwrap();
    let mut opt = Sgd::new(
        &store,
        SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        },
    )
    .unwrap();
    let xs = random(9, 64, -2.0, 2.0);
    let ys: Vec<f32> = xs.iter().map(|x| 3.0 * x + 1.0).collect();
    let x = Var::constant(Tensor::from_slice(&ctx(), &xs, &[64, 1]).unwrap());
    let y = Var::constant(Tensor::from_slice(&ctx(), &ys, &[64, 1]).unwrap());
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..150 {
        opt.zero_grad().unwrap();
        let loss = mse(&model.forward(&x, true).unwrap(), &y);
        loss.backward().unwrap();
        opt.step().unwrap();
        last = check_finite("mse", &loss).unwrap();
        first.get_or_insert(last);
    }
    let first = first.unwrap();
    assert!(last < 1e-4 * first, "loss {first} -> {last}");
    let w = model.weight().tensor().unwrap().to_vec().unwrap()[0];
    let b = model.bias().unwrap().tensor().unwrap().to_vec().unwrap()[0];
    assert!(
        (w - 3.0).abs() < 1e-2 && (b - 1.0).abs() < 1e-2,
        "w {w} b {b}"
    );
}

#[test]
fn mlp_learns_xor_with_adam_and_bce() {
    let model = Sequential::new()
        .add(Linear::new(2, 8))
        .add(Tanh)
        .add(Linear::new(8, 1));
    let store = ParamStore::build(&ctx(), &model, &StoreConfig::seed(4)).unwrap();
    let mut opt = Adam::new(&store, AdamConfig::adam(0.05)).unwrap();
    let x = Var::constant(
        Tensor::from_slice(&ctx(), &[0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2]).unwrap(),
    );
    let y = Tensor::from_slice(&ctx(), &[0., 1., 1., 0.], &[4, 1]).unwrap();
    let mut losses = Vec::new();
    for step in 0..300 {
        opt.zero_grad().unwrap();
        let loss =
            bce_with_logits(&model.forward(&x, true).unwrap(), Labels::Tensor(y.clone())).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
        if step % 50 == 0 || step == 299 {
            losses.push(check_finite("xor loss", &loss).unwrap());
        }
    }
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < 0.05 * first, "xor loss {losses:?}");
    let logits = model.forward(&x, false).unwrap().value().to_vec().unwrap();
    let pred: Vec<bool> = logits.iter().map(|l| *l > 0.0).collect();
    assert_eq!(pred, [false, true, true, false], "logits {logits:?}");
}

#[test]
fn nan_loss_is_an_error_naming_the_loss() {
    let t = Tensor::from_slice(&ctx(), &[-1.0], &[1]).unwrap();
    let nan = Var::constant(t).log().unwrap();
    let err = check_finite("loss_d", &nan).unwrap_err();
    assert!(matches!(err, NnError::NonFinite { .. }));
    assert!(err.to_string().contains("loss_d"), "{err}");
    let ok = Var::constant(Tensor::from_slice(&ctx(), &[0.5], &[1]).unwrap());
    assert_eq!(check_finite("loss_g", &ok).unwrap(), 0.5);
}
