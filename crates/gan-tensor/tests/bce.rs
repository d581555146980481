//! Binary cross-entropy on logits against the CPU reference, which is itself checked
//! against finite differences.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::bce::{self, GradScale, Targets};
use gan_tensor::reference::bce as reference;
use gan_tensor::testing::{assert_close, random};
use gan_tensor::Tensor;

/// Loss: f32 per-element terms (a few ulps) summed by a tree: rtol 1e-5.
const LOSS_RTOL: f32 = 1e-5;

/// Compares loss and gradient (upstream `g`) with the reference for one case.
fn check(case: &str, x: &Tensor, xs: &[f32], targets: Targets, ys: &[f32], g: f32) {
    let loss = bce::bce_with_logits_loss(x, targets).unwrap();
    assert_eq!(loss.dims(), &[1]);
    let got = loss.to_vec().unwrap();
    assert!(got[0].is_finite(), "{case}: loss {got:?}");
    assert_close(
        &format!("{case} loss"),
        &got,
        &[reference::bce_with_logits(xs, ys)],
        LOSS_RTOL,
        1e-6,
    );
    let dx = bce::bce_with_logits_backward(x, targets, GradScale::Host(g)).unwrap();
    assert_eq!(dx.dims(), x.dims());
    let got = dx.to_vec().unwrap();
    assert!(
        got.iter().all(|v| v.is_finite()),
        "{case}: gradient not finite"
    );
    // sigmoid in f32 is good to ~1e-7 absolute, and (sigmoid - y) may cancel: compare
    // absolutely at the gradient's scale g / n, relatively 1e-5.
    let n = xs.len() as f32;
    assert_close(
        &format!("{case} grad"),
        &got,
        &reference::bce_with_logits_backward(xs, ys, g),
        1e-5,
        3e-7 * g.abs() / n,
    );
}

#[test]
fn loss_and_gradient_match_reference_on_awkward_sizes() {
    for (s, &n) in AWKWARD.iter().enumerate() {
        let (x, xs) = rand_tensor(s as u64, &[n, 1], -8.0, 8.0);
        let (y, ys) = rand_tensor(50 + s as u64, &[n, 1], 0.0, 1.0);
        check(
            &format!("n={n} tensor targets"),
            &x,
            &xs,
            Targets::Tensor(&y),
            &ys,
            1.0,
        );
        for label in [0.0, 1.0, 0.9] {
            let ys = vec![label; n];
            check(
                &format!("n={n} const {label}"),
                &x,
                &xs,
                Targets::Const(label),
                &ys,
                0.5,
            );
        }
    }
}

#[test]
fn extreme_logits_give_finite_loss_and_gradient() {
    let xs = [-100.0f32, -30.0, -17.0, -1e-3, 0.0, 1e-3, 17.0, 30.0, 100.0];
    let c = ctx();
    let x = Tensor::from_slice(&c, &xs, &[9]).unwrap();
    for label in [0.0f32, 1.0, 0.9] {
        let ys = vec![label; xs.len()];
        let y = Tensor::from_slice(&c, &ys, &[9]).unwrap();
        check(
            &format!("extremes tensor {label}"),
            &x,
            &xs,
            Targets::Tensor(&y),
            &ys,
            1.0,
        );
        check(
            &format!("extremes const {label}"),
            &x,
            &xs,
            Targets::Const(label),
            &ys,
            1.0,
        );
    }
    // Each logit alone: the confident-and-right cases have tiny losses that must not
    // round to garbage, the confident-and-wrong ones have loss |x|.
    for &v in &xs {
        for label in [0.0f32, 1.0] {
            let x = Tensor::from_slice(&c, &[v], &[1]).unwrap();
            let got = bce::bce_with_logits_const(&x, label)
                .unwrap()
                .to_vec()
                .unwrap();
            let want = reference::bce_with_logits(&[v], &[label]);
            assert_close(&format!("x={v} y={label}"), &got, &[want], 1e-5, 1e-30);
        }
    }
}

#[test]
fn upstream_gradient_as_a_tensor() {
    let c = ctx();
    let (x, xs) = rand_tensor(7, &[129, 3], -5.0, 5.0);
    let (y, ys) = rand_tensor(8, &[129, 3], 0.0, 1.0);
    let g = Tensor::from_slice(&c, &[-2.5], &[1]).unwrap();
    let n = xs.len() as f32;
    let want = reference::bce_with_logits_backward(&xs, &ys, -2.5);
    let got = bce::bce_with_logits_backward(&x, Targets::Tensor(&y), GradScale::Tensor(&g))
        .unwrap()
        .to_vec()
        .unwrap();
    assert_close(
        "tensor targets, tensor grad",
        &got,
        &want,
        1e-5,
        3e-7 * 2.5 / n,
    );
    let want = reference::bce_with_logits_backward(&xs, &vec![0.9; xs.len()], -2.5);
    let got = bce::bce_with_logits_backward(&x, 0.9.into(), (&g).into())
        .unwrap()
        .to_vec()
        .unwrap();
    assert_close(
        "const target, tensor grad",
        &got,
        &want,
        1e-5,
        3e-7 * 2.5 / n,
    );
}

#[test]
fn method_form_and_large_folded_dispatch() {
    // 65535 * 256 + 9 elements need more than 65535 workgroups.
    let n = 65535 * 256 + 9;
    let (x, xs) = rand_tensor(21, &[n], -10.0, 10.0);
    let got = x.bce_with_logits(1.0).unwrap().to_vec().unwrap();
    let want = reference::bce_with_logits(&xs, &vec![1.0; n]);
    // A tree sum of 1.7e7 pre-scaled terms: rtol 1e-4.
    assert_close("folded loss", &got, &[want], 1e-4, 0.0);
}

/// The reference gradient is the derivative of the reference loss: a central finite
/// difference in f64 along a random direction agrees to 1e-7 relative.
#[test]
fn reference_gradient_matches_finite_differences() {
    for (s, n) in [1usize, 3, 17, 64].into_iter().enumerate() {
        let mut xs = random(s as u64, n, -6.0, 6.0);
        if n > 3 {
            xs[0] = 100.0;
            xs[1] = -100.0;
        }
        let ys = random(100 + s as u64, n, 0.0, 1.0);
        let d: Vec<f64> = random(200 + s as u64, n, -1.0, 1.0)
            .iter()
            .map(|&v| v as f64)
            .collect();
        let x64: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
        let y64: Vec<f64> = ys.iter().map(|&v| v as f64).collect();
        let h = 1e-5;
        let shifted =
            |sign: f64| -> Vec<f64> { x64.iter().zip(&d).map(|(x, d)| x + sign * h * d).collect() };
        let fd = (reference::loss_f64(&shifted(1.0), &y64)
            - reference::loss_f64(&shifted(-1.0), &y64))
            / (2.0 * h);
        let grad = reference::bce_with_logits_backward(&xs, &ys, 1.0);
        let analytic: f64 = grad.iter().zip(&d).map(|(&g, d)| g as f64 * d).sum();
        // The f32 gradient carries 6e-8 relative rounding per element.
        let tol = 1e-7 * analytic.abs().max(fd.abs()) + 1e-9;
        assert!(
            (fd - analytic).abs() <= tol,
            "n={n}: fd {fd} vs analytic {analytic}"
        );
    }
}

#[test]
fn bad_arguments_are_errors() {
    let c = ctx();
    let (x, _) = rand_tensor(1, &[4, 2], -1.0, 1.0);
    let (y, _) = rand_tensor(2, &[2, 4], 0.0, 1.0);
    let err = bce::bce_with_logits(&x, &y).unwrap_err().to_string();
    assert!(err.contains("[4, 2]") && err.contains("[2, 4]"), "{err}");
    assert!(bce::bce_with_logits_const(&x, 1.5).is_err());
    assert!(bce::bce_with_logits_const(&x, f32::NAN).is_err());
    let empty = Tensor::from_slice(&c, &[], &[0]).unwrap();
    assert!(bce::bce_with_logits_const(&empty, 1.0).is_err());
    let two = Tensor::from_slice(&c, &[1.0, 2.0], &[2]).unwrap();
    assert!(
        bce::bce_with_logits_backward(&x, Targets::Const(1.0), GradScale::Tensor(&two)).is_err()
    );
}
