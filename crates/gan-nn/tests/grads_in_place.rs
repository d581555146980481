//! Gradients in place: after `ParamStore::zero_grad`, a Linear's weight and bias gradients
//! go straight into the flat gradient buffer (no temporary, no pass adding them to the
//! zeros), and a last term is added there by the product's store. The sums must be the
//! ones the plain accumulation (in-place gradients off) gives, bit for bit: one use, a
//! parameter used twice and three times in one graph, two backward passes of one and of
//! two uses, a frozen store; and the in-place path must launch fewer kernels.

use gan_nn::{
    set_grads_in_place, BatchNorm2d, Conv2d, ConvTranspose2d, LeakyReLU, Linear, Module,
    ParamStore, Sequential, Var,
};

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

/// The flat gradients after `zero_grad` and `backward` once per loss of `losses` (each
/// call builds fresh graphs), with in-place gradients on or off, and the kernels launched.
fn grads(store: &ParamStore, in_place: bool, losses: &dyn Fn() -> Vec<Var>) -> (Vec<f32>, u64) {
    let was = set_grads_in_place(in_place);
    store.zero_grad().unwrap();
    let ls = losses();
    let ctx = store.grads().context().clone();
    let before = ctx.stats().dispatches;
    for l in ls {
        l.backward().unwrap();
    }
    let launched = ctx.stats().dispatches - before;
    set_grads_in_place(was);
    (store.grads().to_vec().unwrap(), launched)
}

/// The in-place sums equal the plain ones; returns the kernels (plain, in place) launched.
fn same_both_ways(case: &str, store: &ParamStore, losses: &dyn Fn() -> Vec<Var>) -> (u64, u64) {
    let (plain, plain_n) = grads(store, false, losses);
    let (direct, direct_n) = grads(store, true, losses);
    assert!(
        plain.iter().filter(|v| **v != 0.0).count() > 100,
        "{case}: gradients flow"
    );
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&direct), bits(&plain), "{case}");
    (plain_n, direct_n)
}

#[test]
fn in_place_gradients_equal_the_accumulated_ones() {
    let m = model();
    let store = build(&m, 5);
    let (x1, _) = input(1, &[65, 13]);
    let (x2, _) = input(2, &[65, 13]);
    let once = || vec![m.forward(&x1, true).unwrap().sum_all().unwrap()];
    let (plain, direct) = same_both_ways("one use", &store, &once);
    // Three weights and two biases written over the zeros: no temporary added to them.
    assert_eq!(plain - direct, 5, "one use: launches saved");
    // Each parameter takes two gradients in one graph (D on real and generated data):
    // the first written over the zeros, the second added by its product's store.
    let twice = || {
        let a = m.forward(&x1, true).unwrap().sum_all().unwrap();
        let b = m.forward(&x2, true).unwrap().mean_all().unwrap();
        vec![a.add(&b).unwrap()]
    };
    let (plain, direct) = same_both_ways("used twice in one graph", &store, &twice);
    assert_eq!(plain - direct, 10, "used twice: launches saved");
    // Three uses: only the plain order of sums gives the plain bits; nothing in place.
    let thrice = || {
        let a = m.forward(&x1, true).unwrap().sum_all().unwrap();
        let b = m.forward(&x2, true).unwrap().mean_all().unwrap();
        let c = m.forward(&x1, true).unwrap().mean_all().unwrap();
        vec![a.add(&b).unwrap().add(&c).unwrap()]
    };
    let (plain, direct) = same_both_ways("used three times in one graph", &store, &thrice);
    assert_eq!(plain, direct, "used three times: all plain");
    // Two backward passes after one zero_grad (micro-batches): the second adds in place.
    let two_passes = || {
        vec![
            m.forward(&x1, true).unwrap().sum_all().unwrap(),
            m.forward(&x2, true).unwrap().sum_all().unwrap(),
        ]
    };
    let (plain, direct) = same_both_ways("two backward passes", &store, &two_passes);
    assert_eq!(plain - direct, 10, "two passes: launches saved");
    // Two passes of two uses: the second pass sums its two terms before adding them.
    let two_of_two = || vec![twice().remove(0), twice().remove(0)];
    same_both_ways("two passes of two uses", &store, &two_of_two);
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
    frozen_parameters_take_nothing_in_place();
    conv_gradients_in_place();
}

/// A convolutional model (DCGAN's layers): its weight, bias and BatchNorm gradients go in
/// place too.
fn conv_model() -> Sequential {
    Sequential::new()
        .add(ConvTranspose2d::new(3, 5, 4).stride(2).padding(1))
        .add(LeakyReLU::new(0.2))
        .add(Conv2d::new(5, 4, 3).stride(2).padding(1).no_bias())
        .add(BatchNorm2d::new(4))
        .add(LeakyReLU::new(0.2))
        .add(Conv2d::new(4, 2, 3))
}

fn conv_gradients_in_place() {
    let m = conv_model();
    let store = build(&m, 7);
    let (x1, _) = input(5, &[9, 3, 6, 6]);
    let (x2, _) = input(6, &[9, 3, 6, 6]);
    let once = || vec![m.forward(&x1, true).unwrap().sum_all().unwrap()];
    let (plain, direct) = same_both_ways("conv: one use", &store, &once);
    // Three weights, two biases and BatchNorm's gamma and beta.
    assert_eq!(plain - direct, 7, "conv: one use: launches saved");
    let twice = || {
        let a = m.forward(&x1, true).unwrap().sum_all().unwrap();
        let b = m.forward(&x2, true).unwrap().mean_all().unwrap();
        vec![a.add(&b).unwrap()]
    };
    let (plain, direct) = same_both_ways("conv: used twice", &store, &twice);
    assert_eq!(plain - direct, 14, "conv: used twice: launches saved");
    let two_passes = || {
        vec![
            m.forward(&x1, true).unwrap().sum_all().unwrap(),
            m.forward(&x2, true).unwrap().sum_all().unwrap(),
        ]
    };
    same_both_ways("conv: two passes", &store, &two_passes);
}

/// Frozen parameters take nothing, in place or not (run by the test above: the launch
/// counts there read the process's one device, which a parallel test would disturb).
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
    let (g, _) = grads(&store, true, &|| {
        vec![m.forward(&x, true).unwrap().sum_all().unwrap()]
    });
    assert!(g.iter().any(|v| *v != 0.0));
}
