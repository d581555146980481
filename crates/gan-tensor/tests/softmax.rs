//! Softmax and cross-entropy against the f64 reference; the reference gradient against
//! central differences.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::reference::softmax as reference;
use gan_tensor::softmax::{cross_entropy, cross_entropy_backward, softmax};
use gan_tensor::testing::{assert_close, Rng};
use gan_tensor::Tensor;

fn labels(seed: u64, rows: usize, classes: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    (0..rows)
        .map(|_| (rng.next_u64() % classes as u64) as usize)
        .collect()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

#[test]
fn softmax_and_cross_entropy_match_reference() {
    for (i, &rows) in AWKWARD.iter().enumerate() {
        for classes in [1, 2, 10, 17] {
            let (x, xv) = rand_tensor(i as u64 * 31 + classes as u64, &[rows, classes], -6.0, 6.0);
            let l = labels(i as u64, rows, classes);
            let lt = Tensor::from_slice(
                &ctx(),
                &l.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                &[rows],
            )
            .unwrap();
            let case = format!("rows={rows} classes={classes}");
            let want: Vec<f32> = reference::softmax(&f64s(&xv), classes)
                .iter()
                .map(|&v| v as f32)
                .collect();
            assert_close(
                &case,
                &softmax(&x).unwrap().to_vec().unwrap(),
                &want,
                1e-5,
                1e-7,
            );
            let loss = cross_entropy(&x, &lt).unwrap().to_vec().unwrap();
            let want = reference::cross_entropy(&f64s(&xv), &l, classes) as f32;
            assert_close(&case, &loss, &[want], 1e-5, 1e-6);
            let up = Tensor::from_slice(&ctx(), &[0.5], &[1]).unwrap();
            let g = cross_entropy_backward(&x, &lt, &up)
                .unwrap()
                .to_vec()
                .unwrap();
            let want: Vec<f32> = reference::cross_entropy_backward(&f64s(&xv), &l, classes)
                .iter()
                .map(|&v| (v * 0.5) as f32)
                .collect();
            assert_close(&case, &g, &want, 1e-5, 1e-8);
        }
    }
}

#[test]
fn extreme_logits_stay_finite() {
    let xs = [1000.0f32, -1000.0, 0.0, -80.0, 80.0, 0.0];
    let x = Tensor::from_slice(&ctx(), &xs, &[2, 3]).unwrap();
    let lt = Tensor::from_slice(&ctx(), &[1.0, 0.0], &[2]).unwrap();
    let loss = cross_entropy(&x, &lt).unwrap().to_vec().unwrap()[0];
    let want = reference::cross_entropy(&f64s(&xs), &[1, 0], 3) as f32;
    assert!(loss.is_finite());
    assert_close("extreme", &[loss], &[want], 1e-5, 1e-3);
    let up = Tensor::from_slice(&ctx(), &[1.0], &[1]).unwrap();
    let g = cross_entropy_backward(&x, &lt, &up)
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
}

#[test]
fn reference_gradient_matches_central_differences() {
    let (rows, classes) = (5, 7);
    let x = f64s(&gan_tensor::testing::random(3, rows * classes, -3.0, 3.0));
    let l = labels(4, rows, classes);
    let g = reference::cross_entropy_backward(&x, &l, classes);
    let h = 1e-6;
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += h;
        xm[i] -= h;
        let num = (reference::cross_entropy(&xp, &l, classes)
            - reference::cross_entropy(&xm, &l, classes))
            / (2.0 * h);
        assert!(
            (num - g[i]).abs() < 1e-8,
            "element {i}: numeric {num}, analytic {}",
            g[i]
        );
    }
}

#[test]
fn bad_shapes_are_errors() {
    let c = ctx();
    let x = Tensor::zeros(&c, &[4, 3]).unwrap();
    let err = cross_entropy(&x, &Tensor::zeros(&c, &[3]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("[4, 3]") && err.contains("[3]"), "{err}");
    assert!(softmax(&Tensor::zeros(&c, &[12]).unwrap()).is_err());
    assert!(cross_entropy(
        &Tensor::zeros(&c, &[0, 3]).unwrap(),
        &Tensor::zeros(&c, &[0]).unwrap()
    )
    .is_err());
}

/// 65535 * 64 + 3 rows need 65536 workgroups of 64: the grid folds into 2-D.
#[test]
fn rows_over_65535_workgroups() {
    let rows = 65535 * 64 + 3;
    let (x, xv) = rand_tensor(8, &[rows, 2], -3.0, 3.0);
    let y = softmax(&x).unwrap().to_vec().unwrap();
    let want: Vec<f32> = reference::softmax(&f64s(&xv), 2)
        .iter()
        .map(|&v| v as f32)
        .collect();
    assert_close("folded softmax", &y, &want, 1e-5, 1e-7);
}
