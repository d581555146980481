//! Gradient check of the embedding lookup (`Var::embedding`, the `Embedding` layer), and
//! the layer's names, range checks and module behaviour. Method: gradcheck_common.rs.

mod common;
mod gradcheck_common;

use common::*;
use gan_nn::{Embedding, Module, ParamStore, StoreConfig, Var};
use gan_tensor::reference::embedding as emb_ref;
use gradcheck_common::input;

/// (items, num, dim) with repeated, missing and single classes.
const CASES: &[(usize, usize, usize)] = &[(1, 1, 1), (7, 3, 5), (17, 10, 3), (65, 4, 9)];

#[test]
fn embedding_gradient() {
    for (i, &(items, num, dim)) in CASES.iter().enumerate() {
        let labels: Vec<usize> = (0..items).map(|j| (j * 7 + i) % num).collect();
        let lf: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        let lt = tensor(&lf, &[items]);
        let w = input(2100 + i as u64, &[num, dim], -1.5, 1.5);
        gradcheck(
            &format!("embedding items={items} num={num} dim={dim}"),
            &[w],
            |v| Var::embedding(&v[0], &lt),
            |x| emb_ref::embedding(&x[0], dim, &labels),
            Tol::DEFAULT,
        );
    }
}

#[test]
fn layer_is_named_weight_and_checks_labels() {
    let e = Embedding::new(3, 4);
    let store = ParamStore::build(&ctx(), &e, &StoreConfig::seed(1).prefix("gen_embed")).unwrap();
    let names: Vec<String> = store.entries().iter().map(|en| en.name.clone()).collect();
    assert_eq!(names, vec!["gen_embed.weight".to_string()]);
    let table = e.weight().tensor().unwrap().to_vec().unwrap();
    let lt = e.upload(&ctx(), &[2, 0, 2]).unwrap();
    let rows = e.forward(&Var::constant(lt), true).unwrap();
    assert_eq!(rows.dims(), &[3, 4]);
    let got = rows.value().to_vec().unwrap();
    assert_eq!(&got[..4], &table[8..12]);
    assert_eq!(&got[4..8], &table[..4]);
    let err = e.upload(&ctx(), &[1, 3]).unwrap_err().to_string();
    assert!(err.contains("class 3") && err.contains("below 3"), "{err}");
    // N(0, 1) as PyTorch: not the DCGAN N(0, 0.02) of the weights around it.
    let sd = (table.iter().map(|v| v * v).sum::<f32>() / 12.0).sqrt();
    assert!(sd > 0.3, "std {sd}");
}
