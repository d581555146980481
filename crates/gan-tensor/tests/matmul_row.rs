//! A one-row product (M = 1: the weight gradient of a one-output layer, dy^T x X) runs as
//! the column C^T = op(B)^T x op(A)^T on the narrow kernel: the same fmas in the same order
//! as the adapter's wide kernel, so the same bits, for every transpose, with activations,
//! written into a view and added to it; with a bias it keeps the wide kernel.

mod common;
use common::rand_tensor;
use gan_tensor::matmul::{matmul_with, Activation, MatmulKernel, MatmulOptions};
use gan_tensor::reference::matmul as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn one_row_products_give_the_wide_kernels_bits() {
    let mut seed = 9000;
    for (k, n) in [(64, 3136), (13, 257), (1, 9), (400, 5), (7, 1030)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for act in [Activation::None, Activation::LeakyRelu(0.2)] {
                seed += 10;
                let (a, av) = rand_tensor(seed, &if ta { [k, 1] } else { [1, k] }, -1.0, 1.0);
                let (b, bv) = rand_tensor(seed + 1, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
                let o = |kernel| MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    activation: act,
                    kernel,
                    ..Default::default()
                };
                let case = format!("k={k} n={n} ta={ta} tb={tb} {act:?}");
                let row = matmul_with(&a, &b, o(None)).unwrap();
                assert_eq!(row.dims(), &[1, n], "{case}");
                let wide = matmul_with(&a, &b, o(Some(MatmulKernel::for_adapter(a.context()))));
                assert_eq!(bits(&row), bits(&wide.unwrap()), "{case}");
                let want = reference::matmul(&av, &bv, None, 1, k, n, ta, tb, act);
                let tol = 1e-5 * (k as f32).max(16.0);
                assert_close(&case, &row.to_vec().unwrap(), &want, 1e-4, tol);

                // Into a view of a flat buffer, overwritten and added to.
                if act != Activation::None {
                    continue;
                }
                let c = a.context();
                let off = c.view_alignment();
                let (old, _) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
                for add in [false, true] {
                    let run = |kernel| {
                        let flat = Tensor::full(c, &[off + n + 2], 5.0).unwrap();
                        let view = flat.view(off, &[n]).unwrap();
                        view.assign(&old).unwrap();
                        let got = matmul_with(
                            &a,
                            &b,
                            MatmulOptions {
                                out: Some(&view),
                                accumulate: add,
                                ..o(kernel)
                            },
                        )
                        .unwrap();
                        assert_eq!(got.dims(), &[1, n], "{case} add={add}");
                        bits(&flat)
                    };
                    let (row, wide) = (run(None), run(Some(MatmulKernel::for_adapter(c))));
                    assert_eq!(row, wide, "{case} add={add}");
                    assert!(row[..off]
                        .iter()
                        .chain(&row[off + n..])
                        .all(|v| *v == 5f32.to_bits()));
                }
            }
        }
    }
}

#[test]
fn a_one_row_product_with_a_bias_is_right() {
    let (k, n) = (33, 300);
    let (a, av) = rand_tensor(1, &[1, k], -1.0, 1.0);
    let (b, bv) = rand_tensor(2, &[k, n], -1.0, 1.0);
    let (bias, biasv) = rand_tensor(3, &[n], -1.0, 1.0);
    let o = MatmulOptions {
        bias: Some(&bias),
        activation: Activation::Tanh,
        ..Default::default()
    };
    let c = matmul_with(&a, &b, o).unwrap();
    let want = reference::matmul(
        &av,
        &bv,
        Some(&biasv),
        1,
        k,
        n,
        false,
        false,
        Activation::Tanh,
    );
    assert_close("bias", &c.to_vec().unwrap(), &want, 1e-4, 1e-4);
}
