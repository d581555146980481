//! The parameter store: initialiser statistics, layout, seeding, padding and zero_grad,
//! errors naming the layer, no_grad inference, and frozen stores.

use gan_nn::{
    no_grad, BatchNorm2d, Conv2d, Flatten, Init, InitScheme, LeakyReLU, Linear, Module, Named,
    NnError, ParamStore, ReLU, Reshape, Sequential, StoreConfig, Var,
};
use gan_tensor::testing::{assert_close, random};
use gan_tensor::Tensor;

mod common;
use common::ctx;
mod layers_common;
use layers_common::{build, host, input, mlp};

fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / n;
    let var = v.iter().map(|x| (*x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[track_caller]
fn check_stats(case: &str, v: &[f32], mean: f64, std: f64) {
    assert!(v.len() >= 100_000, "{case}: {} draws", v.len());
    let (m, s) = mean_std(v);
    // 1e5 draws: the sample mean is within ~4 standard errors, the std within 1.5 %.
    let se = std / (v.len() as f64).sqrt();
    assert!(
        (m - mean).abs() < 5.0 * se + 1e-7,
        "{case}: mean {m}, want {mean}"
    );
    assert!((s - std).abs() < 0.015 * std, "{case}: std {s}, want {std}");
}

#[test]
fn initialiser_statistics() {
    // PyTorch default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
    let lin = Linear::new(400, 250);
    let _s = build(&lin, 21);
    let w = host(lin.weight());
    let bound = 1.0 / 400f32.sqrt();
    assert!(w.iter().all(|x| x.abs() <= bound));
    check_stats("default weight", &w, 0.0, bound as f64 / 3f64.sqrt());
    let b = host(lin.bias().unwrap());
    assert!(b.iter().all(|x| x.abs() <= bound) && b.iter().any(|x| *x != 0.0));

    // DCGAN: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), bias 0.
    let model = Sequential::new()
        .add(Conv2d::new(64, 64, 5))
        .add(BatchNorm2d::new(100_000));
    let s = ParamStore::build(
        &ctx(),
        &model,
        &StoreConfig::seed(22).init(InitScheme::Dcgan),
    )
    .unwrap();
    check_stats("dcgan conv", &host(s.get("0.weight").unwrap()), 0.0, 0.02);
    assert!(host(s.get("0.bias").unwrap()).iter().all(|x| *x == 0.0));
    check_stats(
        "dcgan bn weight",
        &host(s.get("1.weight").unwrap()),
        1.0,
        0.02,
    );
    assert!(host(s.get("1.bias").unwrap()).iter().all(|x| *x == 0.0));

    // Xavier and He on a [250, 400] weight (fan_in 400, fan_out 250).
    let cases = [
        (
            InitScheme::XavierUniform { gain: 1.0 },
            (6.0f64 / 650.0).sqrt() / 3f64.sqrt(),
        ),
        (
            InitScheme::XavierNormal { gain: 2.0 },
            2.0 * (2.0f64 / 650.0).sqrt(),
        ),
        (
            InitScheme::KaimingNormal { a: 0.0 },
            (2.0f64 / 400.0).sqrt(),
        ),
    ];
    for (scheme, std) in cases {
        let lin = Linear::new(400, 250);
        let _s = ParamStore::build(&ctx(), &lin, &StoreConfig::seed(23).init(scheme)).unwrap();
        check_stats(&format!("{scheme:?}"), &host(lin.weight()), 0.0, std);
        assert!(host(lin.bias().unwrap()).iter().all(|x| *x == 0.0));
    }

    // A per-layer override wins over the scheme.
    let lin = Linear::new(400, 250).weight_init(Init::Const(0.5));
    let _s = build(&lin, 24);
    assert!(host(lin.weight()).iter().all(|x| *x == 0.5));
}

#[test]
fn store_layout_seeding_padding_and_zero_grad() {
    let a = mlp();
    let sa = build(&a, 31);
    let align = ctx().view_alignment();
    let flat = sa.values().to_vec().unwrap();
    let mut used = vec![false; flat.len()];
    for e in sa.entries() {
        if let Some(off) = e.offset {
            assert_eq!(off % align, 0, "{} at {off}", e.name);
            used[off..off + e.param.numel()]
                .iter_mut()
                .for_each(|u| *u = true);
        }
    }
    assert!(
        flat.iter().zip(&used).all(|(v, u)| *u || *v == 0.0),
        "padding is zero"
    );
    // Same seed, same values; another seed, other values.
    let b = mlp();
    assert_eq!(build(&b, 31).values().to_vec().unwrap(), flat);
    let c = mlp();
    assert_ne!(build(&c, 32).values().to_vec().unwrap(), flat);

    // Gradients accumulate into the flat buffer until zero_grad (one fill).
    let (x, _) = input(5, &[6, 2]);
    for _ in 0..2 {
        a.forward(&x, true)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
    }
    let g = sa.grads().to_vec().unwrap();
    assert!(g.iter().any(|v| *v != 0.0));
    assert!(
        g.iter().zip(&used).all(|(v, u)| *u || *v == 0.0),
        "padding grads stay 0"
    );
    sa.zero_grad().unwrap();
    assert!(sa.grads().to_vec().unwrap().iter().all(|v| *v == 0.0));
}

#[test]
fn shape_errors_name_the_layer() {
    let model = Named::new().add(
        "gen",
        Named::new().add(
            "layers",
            Sequential::new()
                .add(Linear::new(2, 8))
                .add(ReLU)
                .add(Linear::new(4, 1)),
        ),
    );
    let _s = build(&model, 41);
    let (x, _) = input(1, &[3, 2]);
    let err = model.forward(&x, true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("`gen.layers.2`"), "{msg}");
    assert!(
        msg.contains("Linear(in_features=4, out_features=1"),
        "{msg}"
    );
    assert!(msg.contains("[3, 8]"), "{msg}");
    assert!(matches!(err.root(), NnError::InputShape { .. }), "{err:?}");

    let conv = Sequential::new()
        .add(Conv2d::new(3, 4, 3))
        .add(Reshape::new(&[4]));
    let _s = build(&conv, 42);
    let (x, _) = input(1, &[1, 2, 5, 5]);
    let msg = conv.forward(&x, true).unwrap_err().to_string();
    assert!(msg.contains("`0`") && msg.contains("Conv2d(3, 4"), "{msg}");
    let (x, _) = input(1, &[1, 3, 5, 5]);
    let msg = conv.forward(&x, true).unwrap_err().to_string();
    assert!(msg.contains("`1`") && msg.contains("Reshape"), "{msg}");

    // Using a layer before its store exists, or in two stores, is an error.
    let lone = Linear::new(2, 2);
    let (x, _) = input(1, &[1, 2]);
    assert!(matches!(
        lone.forward(&x, false).unwrap_err(),
        NnError::NotBuilt { .. }
    ));
    let _s = build(&lone, 1);
    let again = ParamStore::build(&ctx(), &lone, &StoreConfig::seed(1));
    assert!(matches!(again.unwrap_err(), NnError::AlreadyBuilt { .. }));
}

#[test]
fn no_grad_inference_records_nothing() {
    let model = mlp();
    let s = build(&model, 51);
    let (x, _) = input(1, &[4, 2]);
    let y = no_grad(|| model.forward(&x, false)).unwrap();
    assert!(!y.requires_grad());
    assert!(s.grads().to_vec().unwrap().iter().all(|v| *v == 0.0));
}

/// A frozen store takes no weight gradient while the gradient of the input is the same as
/// unfrozen (what a GAN's generator step through the discriminator needs); thawed, the
/// weights take their gradient again.
#[test]
fn frozen_store_passes_input_gradients_but_takes_none() {
    let model = Sequential::new()
        .add(Conv2d::new(2, 3, 3).padding(1))
        .add(LeakyReLU::new(0.2))
        .add(Flatten)
        .add(Linear::new(3 * 5 * 5, 1));
    let store = build(&model, 21);
    let data = random(22, 2 * 2 * 5 * 5, -1.0, 1.0);
    let run = |frozen: bool| {
        let x = Var::leaf(Tensor::from_slice(&ctx(), &data, &[2, 2, 5, 5]).unwrap());
        store.zero_grad().unwrap();
        store.set_frozen(frozen).unwrap();
        let y = model.forward(&x, true).unwrap();
        y.sum_all().unwrap().backward().unwrap();
        store.set_frozen(false).unwrap();
        (
            x.grad().unwrap().to_vec().unwrap(),
            store.grads().to_vec().unwrap(),
        )
    };
    let (dx_frozen, dw_frozen) = run(true);
    let (dx, dw) = run(false);
    assert_close("input gradient, frozen vs not", &dx_frozen, &dx, 1e-6, 1e-7);
    assert!(
        dw_frozen.iter().all(|&g| g == 0.0),
        "frozen weights took a gradient"
    );
    assert!(
        dw.iter().any(|&g| g != 0.0),
        "thawed weights take their gradient"
    );
}
