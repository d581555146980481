//! Embedding lookup and its gradient against the f64 reference on awkward shapes; the
//! reference gradient against central differences.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::embedding::{embedding, embedding_backward};
use gan_tensor::reference::embedding as reference;
use gan_tensor::testing::{assert_close, Rng};
use gan_tensor::Tensor;

fn labels(seed: u64, items: usize, num: usize) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    (0..items)
        .map(|_| (rng.next_u64() % num as u64) as usize)
        .collect()
}

fn upload(l: &[usize]) -> Tensor {
    let v: Vec<f32> = l.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(&ctx(), &v, &[l.len()]).unwrap()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[test]
fn gather_and_backward_match_reference() {
    for (i, &items) in AWKWARD.iter().enumerate() {
        for (num, dim) in [(1, 1), (3, 17), (10, 65), (1000, 3)] {
            let seed = i as u64 * 97 + num as u64 * 7 + dim as u64;
            let (w, wv) = rand_tensor(seed, &[num, dim], -2.0, 2.0);
            let l = labels(seed + 1, items, num);
            let lt = upload(&l);
            let case = format!("items={items} num={num} dim={dim}");
            let got = embedding(&w, &lt).unwrap();
            assert_eq!(got.dims(), &[items, dim], "{case}");
            let want = f32s(&reference::embedding(&f64s(&wv), dim, &l));
            assert_close(&case, &got.to_vec().unwrap(), &want, 0.0, 0.0);
            let (g, gv) = rand_tensor(seed + 2, &[items, dim], -1.0, 1.0);
            let dw = embedding_backward(&g, &lt, num).unwrap();
            assert_eq!(dw.dims(), &[num, dim], "{case}");
            let want = f32s(&reference::embedding_backward(&f64s(&gv), dim, &l, num));
            assert_close(&case, &dw.to_vec().unwrap(), &want, 1e-5, 1e-6);
        }
    }
}

/// Every item in one class: the backward loops over the whole batch for that row.
#[test]
fn one_class_takes_every_row() {
    let items = 129;
    let (g, gv) = rand_tensor(5, &[items, 4], -1.0, 1.0);
    let l = vec![2; items];
    let dw = embedding_backward(&g, &upload(&l), 3)
        .unwrap()
        .to_vec()
        .unwrap();
    let want = f32s(&reference::embedding_backward(&f64s(&gv), 4, &l, 3));
    assert_close("one class", &dw, &want, 1e-5, 1e-6);
    assert!(
        dw[..8].iter().all(|&v| v == 0.0),
        "rows 0 and 1 have no items"
    );
}

/// More than 65535 workgroups of 64 outputs: the grid folds into 2-D.
#[test]
fn outputs_over_65535_workgroups() {
    let (items, dim) = (65535 * 64 / 2 + 5, 2);
    let (w, wv) = rand_tensor(8, &[7, dim], -1.0, 1.0);
    let l = labels(9, items, 7);
    let got = embedding(&w, &upload(&l)).unwrap().to_vec().unwrap();
    let want = f32s(&reference::embedding(&f64s(&wv), dim, &l));
    assert_close("folded gather", &got, &want, 0.0, 0.0);
}

#[test]
fn out_of_range_labels_gather_zeros_and_add_nowhere() {
    let w = Tensor::from_slice(&ctx(), &[1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let lt = Tensor::from_slice(&ctx(), &[1.0, 5.0, -1.0], &[3]).unwrap();
    let got = embedding(&w, &lt).unwrap().to_vec().unwrap();
    assert_eq!(got, vec![3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
    let g = Tensor::from_slice(&ctx(), &[1.0; 6], &[3, 2]).unwrap();
    let dw = embedding_backward(&g, &lt, 2).unwrap().to_vec().unwrap();
    assert_eq!(dw, vec![0.0, 0.0, 1.0, 1.0]);
}

#[test]
fn empty_batch_and_bad_shapes() {
    let c = ctx();
    let w = Tensor::zeros(&c, &[3, 4]).unwrap();
    let none = Tensor::zeros(&c, &[0]).unwrap();
    assert_eq!(embedding(&w, &none).unwrap().dims(), &[0, 4]);
    let g0 = Tensor::zeros(&c, &[0, 4]).unwrap();
    let dw = embedding_backward(&g0, &none, 3).unwrap();
    assert_eq!(dw.to_vec().unwrap(), vec![0.0; 12]);
    let err = embedding(&Tensor::zeros(&c, &[12]).unwrap(), &none)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[num, dim]"), "{err}");
    let err = embedding(&w, &Tensor::zeros(&c, &[2, 2]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("[items]"), "{err}");
    let g = Tensor::zeros(&c, &[4, 4]).unwrap();
    let err = embedding_backward(&g, &Tensor::zeros(&c, &[3]).unwrap(), 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[4, 4]") && err.contains("[3]"), "{err}");
    assert!(embedding_backward(&g, &Tensor::zeros(&c, &[4]).unwrap(), 0).is_err());
}

#[test]
fn reference_gradient_matches_central_differences() {
    let (num, dim) = (4, 3);
    let w = f64s(&gan_tensor::testing::random(3, num * dim, -1.0, 1.0));
    let l = labels(4, 9, num);
    let g = f64s(&gan_tensor::testing::random(5, l.len() * dim, -1.0, 1.0));
    let f = |w: &[f64]| -> f64 {
        reference::embedding(w, dim, &l)
            .iter()
            .zip(&g)
            .map(|(a, b)| a * b)
            .sum()
    };
    let dw = reference::embedding_backward(&g, dim, &l, num);
    let h = 1e-6;
    for i in 0..w.len() {
        let (mut wp, mut wm) = (w.clone(), w.clone());
        wp[i] += h;
        wm[i] -= h;
        let num_g = (f(&wp) - f(&wm)) / (2.0 * h);
        assert!(
            (num_g - dw[i]).abs() < 1e-8,
            "element {i}: {num_g} vs {}",
            dw[i]
        );
    }
}
