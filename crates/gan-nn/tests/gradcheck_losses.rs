//! Gradient checks of gan-nn's losses: BCE with logits (including extreme logits) and
//! cross entropy of class labels, against f64 finite differences of the CPU reference.
//!
//! Method and default tolerances: see `gradcheck_common` and `common::gradcheck`.

mod common;
mod gradcheck_common;

use common::*;
use gan_nn::{Labels, Var};
use gan_tensor::reference::bce as bce_ref;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;
use gradcheck_common::{grad_of, input};

// ---------------------------------------------------------------- BCE with logits

#[test]
fn bce_with_logits() {
    let shapes: &[&[usize]] = &[&[1], &[8], &[4, 1], &[2, 3, 4, 5]];
    for (i, dims) in shapes.iter().enumerate() {
        let x = input(2100 + i as u64, dims, -5.0, 5.0);
        let n = x.0.len();
        for c in [0.0f32, 1.0, 0.9] {
            gradcheck(
                &format!("bce_with_logits {dims:?} Const({c})"),
                std::slice::from_ref(&x),
                |v| v[0].bce_with_logits(Labels::Const(c)),
                |x| vec![bce_ref::loss_f64(&x[0], &vec![c as f64; n])],
                Tol::DEFAULT,
            );
        }
        // hard 0/1 labels, then soft labels in [0, 1]
        let hard: Vec<f32> = rand(2200 + i as u64, n, 0.0, 1.0)
            .iter()
            .map(|&u| if u < 0.5 { 0.0 } else { 1.0 })
            .collect();
        let soft = rand(2300 + i as u64, n, 0.0, 1.0);
        for (kind, labels) in [("hard", hard), ("soft", soft)] {
            let t = tensor(&labels, dims);
            let y64 = f64s(&labels);
            gradcheck(
                &format!("bce_with_logits {dims:?} Tensor({kind})"),
                std::slice::from_ref(&x),
                |v| v[0].bce_with_logits(Labels::Tensor(t.clone())),
                |x| vec![bce_ref::loss_f64(&x[0], &y64)],
                Tol::DEFAULT,
            );
        }
    }
}

#[test]
fn bce_with_logits_extreme_logits_stay_finite() {
    // Logits of +-100 and +-30: loss and gradient finite and equal to the f64 reference
    // (sigmoid(x) - y) / n, within rtol 1e-5 and atol 1e-7.
    let xs = [-100.0f32, 100.0, -30.0, 30.0, 0.0, 5.0];
    let ys = [1.0f32, 0.0, 0.9, 0.1, 1.0, 0.0];
    let x = Var::leaf(tensor(&xs, &[6]));
    let loss = x
        .bce_with_logits(Labels::Tensor(tensor(&ys, &[6])))
        .unwrap();
    let l = loss.item().unwrap();
    assert!(l.is_finite());
    assert_close(
        "bce +-100 loss",
        &[l],
        &[bce_ref::bce_with_logits(&xs, &ys)],
        1e-5,
        0.0,
    );
    loss.backward().unwrap();
    let want = bce_ref::bce_with_logits_backward(&xs, &ys, 1.0);
    assert_close("bce +-100 gradient", &grad_of(&x), &want, 1e-5, 1e-7);
}

// ---------------------------------------------------------------- cross entropy

#[test]
fn cross_entropy_of_class_labels() {
    use gan_tensor::reference::softmax as sm_ref;
    for (i, &(rows, classes)) in [(1usize, 2usize), (5, 10), (17, 3)].iter().enumerate() {
        let labels: Vec<usize> = (0..rows).map(|r| (r * 7 + i) % classes).collect();
        let lt = Tensor::from_slice(
            &ctx(),
            &labels.iter().map(|&l| l as f32).collect::<Vec<_>>(),
            &[rows],
        )
        .unwrap();
        let x = input(900 + i as u64, &[rows, classes], -4.0, 4.0);
        let l2 = labels.clone();
        gradcheck(
            &format!("cross_entropy rows={rows} classes={classes}"),
            &[x],
            |v| v[0].cross_entropy(&lt),
            move |x| vec![sm_ref::cross_entropy(&x[0], &l2, classes)],
            Tol::DEFAULT,
        );
    }
}
