//! Gradients written in place: after `ParamStore::zero_grad`, a Linear's weight and bias
//! gradients go straight into the flat gradient buffer (no temporary, no pass adding them
//! to the zeros). The sums must be the ones the plain accumulation gives, bit for bit:
//! one use, a parameter used twice in one graph, two backward passes, a frozen store.

use gan_nn::{LeakyReLU, Linear, Module, ParamStore, Sequential, Var};

mod common;
mod layers_common;
use layers_common::{build, input};

fn model() -> Sequential {
    Sequential::new()
        .add(Linear::new(13, 33))
        .add(LeakyReLU::new(0.2))
        .add(Linear::new(33, 17).no_bias())
        .add(LeakyReLU::new(0.2))
        .add(Linear::new(17, 1))
}

/// The flat gradients after `backward` runs once per call of `losses` (each call builds a
/// fresh graph), starting from zeros: with `in_place` through `zero_grad` (which lets the
/// first gradient of each parameter be written in place), else through a raw fill of the
/// buffer, which leaves every gradient to the plain accumulation.
fn grads(store: &ParamStore, in_place: bool, losses: &dyn Fn() -> Vec<Var>) -> Vec<f32> {
    if in_place {
        store.zero_grad().unwrap();
    } else {
        // Clear the in-place state first (a backward after zero_grad), then fill raw.
        store.zero_grad().unwrap();
        for l in losses() {
            l.backward().unwrap();
        }
        store.grads().fill_(0.0).unwrap();
    }
    for l in losses() {
        l.backward().unwrap();
    }
    store.grads().to_vec().unwrap()
}

fn same_both_ways(case: &str, store: &ParamStore, losses: &dyn Fn() -> Vec<Var>) {
    let plain = grads(store, false, losses);
    let direct = grads(store, true, losses);
    assert!(
        plain.iter().filter(|v| **v != 0.0).count() > 100,
        "{case}: gradients flow"
    );
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&direct), bits(&plain), "{case}");
}

#[test]
fn in_place_gradients_equal_the_accumulated_ones() {
    let m = model();
    let store = build(&m, 5);
    let (x1, _) = input(1, &[65, 13]);
    let (x2, _) = input(2, &[65, 13]);
    let once = || vec![m.forward(&x1, true).unwrap().sum_all().unwrap()];
    same_both_ways("one use", &store, &once);
    // Each parameter takes two gradients in one graph (D on real and generated data).
    let twice = || {
        let a = m.forward(&x1, true).unwrap().sum_all().unwrap();
        let b = m.forward(&x2, true).unwrap().mean_all().unwrap();
        vec![a.add(&b).unwrap()]
    };
    same_both_ways("used twice in one graph", &store, &twice);
    // Two backward passes after one zero_grad (micro-batches): the second adds.
    let two_passes = || {
        vec![
            m.forward(&x1, true).unwrap().sum_all().unwrap(),
            m.forward(&x2, true).unwrap().sum_all().unwrap(),
        ]
    };
    same_both_ways("two backward passes", &store, &two_passes);
    // And the in-place gradient is the gradient: twice the input gives twice the
    // first layer's bias gradient of a linear model.
    let lin = Linear::new(4, 3);
    let s = build(&lin, 9);
    let (x, _) = input(3, &[8, 4]);
    s.zero_grad().unwrap();
    lin.forward(&x, true)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = s.grads().to_vec().unwrap();
    let names = s.parameter_names();
    assert_eq!(names, ["weight", "bias"]);
    let bias_at = s.entries().iter().find(|e| e.name == "bias").unwrap();
    let off = bias_at.offset.unwrap();
    assert_eq!(&g[off..off + 3], &[8.0, 8.0, 8.0], "d(sum)/d(bias) = batch");
}

#[test]
fn frozen_parameters_take_nothing_in_place() {
    let m = model();
    let store = build(&m, 6);
    let (x, _) = input(4, &[9, 13]);
    store.zero_grad().unwrap();
    store.set_frozen(true).unwrap();
    let x = Var::leaf(x.value().clone());
    m.forward(&x, true)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    store.set_frozen(false).unwrap();
    assert!(store.grads().to_vec().unwrap().iter().all(|v| *v == 0.0));
    assert!(x
        .grad()
        .unwrap()
        .to_vec()
        .unwrap()
        .iter()
        .any(|v| *v != 0.0));
    // Thawed, the zeroed state still lets the next backward write in place.
    let g = grads(&store, true, &|| {
        vec![m.forward(&x, true).unwrap().sum_all().unwrap()]
    });
    assert!(g.iter().any(|v| *v != 0.0));
}
