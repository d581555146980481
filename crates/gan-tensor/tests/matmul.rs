//! Matmul kernels (every variant, every transpose combination, fused epilogues) against the
//! f64 CPU reference on shapes that are not multiples of any tile.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::matmul::{matmul_with, Activation, MatmulKernel, MatmulOptions};
use gan_tensor::reference::matmul as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

/// f32 sums of k products of values in [-1, 1]: allow a k-proportional absolute error.
fn tol(k: usize) -> f32 {
    1e-5 * (k as f32).max(16.0)
}

#[allow(clippy::too_many_arguments)]
fn check(
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    bias: bool,
    act: Activation,
    kernel: MatmulKernel,
    seed: u64,
) {
    check_split(m, k, n, ta, tb, bias, act, kernel, 1, seed);
}

/// [`check`] with K split into `split` slices (1: not split).
#[allow(clippy::too_many_arguments)]
fn check_split(
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    bias: bool,
    act: Activation,
    kernel: MatmulKernel,
    split: usize,
    seed: u64,
) {
    let (a, av) = rand_tensor(seed, &if ta { [k, m] } else { [m, k] }, -1.0, 1.0);
    let (b, bv) = rand_tensor(seed + 1, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
    let (bias_t, bias_v) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
    let opts = MatmulOptions {
        trans_a: ta,
        trans_b: tb,
        bias: bias.then_some(&bias_t),
        activation: act,
        kernel: Some(kernel),
        split_k: Some(split),
        out: None,
        accumulate: false,
    };
    let c = matmul_with(&a, &b, opts).unwrap();
    assert_eq!(c.dims(), &[m, n]);
    let want = reference::matmul(&av, &bv, bias.then_some(&bias_v[..]), m, k, n, ta, tb, act);
    let case =
        format!("{kernel:?} split {split} m={m} k={k} n={n} ta={ta} tb={tb} bias={bias} {act:?}");
    assert_close(&case, &c.to_vec().unwrap(), &want, 1e-4, tol(k));
}

#[test]
fn awkward_shapes_all_variants_and_transposes() {
    let mut seed = 0;
    for kernel in MatmulKernel::available(&ctx()) {
        for (i, &m) in AWKWARD.iter().enumerate() {
            let k = AWKWARD[(i + 3) % AWKWARD.len()];
            let n = AWKWARD[(i + 5) % AWKWARD.len()];
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 10;
                check(m, k, n, ta, tb, false, Activation::None, kernel, seed);
            }
        }
    }
}

#[test]
fn fused_bias_and_activations() {
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Tanh,
        Activation::Sigmoid,
    ];
    for kernel in MatmulKernel::available(&ctx()) {
        for (i, act) in acts.iter().enumerate() {
            check(
                65,
                33,
                129,
                false,
                false,
                true,
                *act,
                kernel,
                1000 + i as u64,
            );
            check(17, 63, 7, true, true, true, *act, kernel, 2000 + i as u64);
            // N % 4 == 0: the _c4 twins' vec4 epilogue (68 = a full tile and a part).
            check(33, 20, 68, false, true, true, *act, kernel, 3000 + i as u64);
            check(9, 64, 4, true, false, true, *act, kernel, 4000 + i as u64);
        }
    }
}

#[test]
fn gan_layer_shapes() {
    // Generator 100-256-512-1024-784 at batch 64: forward, and the two gradients.
    for kernel in MatmulKernel::available(&ctx()) {
        for &(k, n) in &[(100, 256), (1024, 784)] {
            check(
                64,
                k,
                n,
                false,
                false,
                true,
                Activation::LeakyRelu(0.2),
                kernel,
                3000,
            );
            check(k, 64, n, true, false, false, Activation::None, kernel, 3100); // dW = X^T dY
            check(64, n, k, false, true, false, Activation::None, kernel, 3200);
            // dX = dY W^T
        }
    }
}

#[test]
fn large_square() {
    let kernel = MatmulKernel::for_adapter(&ctx());
    check(
        257,
        513,
        255,
        false,
        false,
        false,
        Activation::None,
        kernel,
        4000,
    );
}

#[test]
fn tiny_and_degenerate_shapes() {
    for kernel in MatmulKernel::available(&ctx()) {
        check(1, 1, 1, false, false, true, Activation::None, kernel, 5000);
        check(
            1,
            257,
            1,
            false,
            false,
            false,
            Activation::None,
            kernel,
            5001,
        );
        check(
            3,
            1,
            129,
            true,
            false,
            false,
            Activation::Relu,
            kernel,
            5002,
        );
    }
    // K = 0: an empty sum gives act(bias).
    let c = ctx();
    let a = Tensor::zeros(&c, &[2, 0]).unwrap();
    let b = Tensor::zeros(&c, &[0, 3]).unwrap();
    let bias = Tensor::from_slice(&c, &[1.0, -2.0, 3.0], &[3]).unwrap();
    let o = MatmulOptions {
        bias: Some(&bias),
        activation: Activation::Relu,
        ..Default::default()
    };
    assert_eq!(
        matmul_with(&a, &b, o).unwrap().to_vec().unwrap(),
        vec![1.0, 0.0, 3.0, 1.0, 0.0, 3.0]
    );
}

#[test]
fn split_k_slices_sum_to_the_product() {
    // Split into slices of K summed by a second pass that applies bias and activation: the
    // general path (K % 4 != 0), the vec4 path, the vec4 stores (N % 4 == 0), a last slice
    // shorter than the others, and more slices asked for than 16-aligned chunks allow.
    let mut seed = 9000;
    for kernel in MatmulKernel::available(&ctx())
        .into_iter()
        .filter(|k| *k != MatmulKernel::Narrow)
    {
        for &(m, k, n, split) in &[
            (5, 1037, 7, 3),
            (33, 2048, 64, 2),
            (40, 1600, 20, 7),
            (17, 999, 12, 5),
            (3, 40, 9, 8),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 10;
                let act = Activation::LeakyRelu(0.2);
                check_split(m, k, n, ta, tb, true, act, kernel, split, seed);
            }
        }
    }
}

#[test]
fn split_k_is_chosen_for_small_grids_with_long_k() {
    use gan_tensor::matmul::split_k_for;
    let c = ctx();
    if std::env::var_os("GAN_MATMUL_SPLIT_K").is_some() {
        return;
    }
    let kernel = MatmulKernel::for_adapter(&c);
    let target = if c.adapter().is_cpu() { 8 } else { 256 };
    // DCGAN's first layer's weight gradient: one workgroup, K = 64 x 14 x 14.
    assert_eq!(split_k_for(&c, kernel, 1, 12544), target.min(12544 / 512));
    assert_eq!(split_k_for(&c, kernel, 1, 1000), 1, "K too short to halve");
    assert_eq!(
        split_k_for(&c, kernel, target, 1 << 20),
        1,
        "the grid is full"
    );
    assert_eq!(split_k_for(&c, MatmulKernel::Narrow, 1, 1 << 20), 1);
    // Split or not, the same product (the split one in another order of sums).
    let (a, _) = rand_tensor(77, &[12544, 32], -1.0, 1.0);
    let (b, _) = rand_tensor(78, &[12544, 16], -1.0, 1.0);
    let run = |split| {
        let o = MatmulOptions {
            trans_a: true,
            split_k: split,
            ..Default::default()
        };
        matmul_with(&a, &b, o).unwrap().to_vec().unwrap()
    };
    let (auto, whole) = (run(None), run(Some(1)));
    assert_close("auto split vs whole K", &auto, &whole, 1e-4, tol(12544));
    assert_eq!(auto, run(None), "a split product is deterministic");
}

#[test]
fn shape_errors_name_both_operands() {
    let c = ctx();
    let a = Tensor::zeros(&c, &[4, 5]).unwrap();
    let b = Tensor::zeros(&c, &[6, 7]).unwrap();
    let err = a.matmul(&b).unwrap_err().to_string();
    assert!(err.contains("[4, 5]") && err.contains("[6, 7]"), "{err}");
    let v = Tensor::zeros(&c, &[5]).unwrap();
    assert!(a.matmul(&v).is_err());
    let bias = Tensor::zeros(&c, &[3]).unwrap();
    let w = Tensor::zeros(&c, &[5, 7]).unwrap();
    let o = MatmulOptions {
        bias: Some(&bias),
        ..Default::default()
    };
    let err = matmul_with(&a, &w, o).unwrap_err().to_string();
    assert!(err.contains("bias"), "{err}");
}

/// C written into a view of a larger buffer (a parameter's slot in a flat gradient
/// buffer) is the product a new tensor gets, bit for bit, for every kernel, split and
/// transpose; the elements around it stay as they were; a wrong size is an error.
#[test]
fn output_into_a_view_of_a_flat_buffer() {
    let c = ctx();
    let align = c.view_alignment();
    for &(m, k, n) in &[
        (5, 12, 8),
        (17, 3, 65),
        (64, 1030, 1),
        (33, 64, 129),
        (4, 0, 4),
    ] {
        for kernel in MatmulKernel::available(&c) {
            for (ta, tb, split) in [(false, false, 1), (true, false, 3), (false, true, 2)] {
                let (a, _) = rand_tensor(7, &if ta { [k, m] } else { [m, k] }, -1.0, 1.0);
                let (b, _) = rand_tensor(8, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
                let opts = MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    kernel: Some(kernel),
                    split_k: Some(split),
                    ..Default::default()
                };
                let want = matmul_with(&a, &b, opts).unwrap().to_vec().unwrap();
                let off = align * 3;
                let total = off + m * n + 7;
                let flat = Tensor::full(&c, &[total], -9.0).unwrap();
                let slot = flat.view(off, &[m * n]).unwrap();
                let into = MatmulOptions {
                    out: Some(&slot),
                    ..opts
                };
                let got = matmul_with(&a, &b, into).unwrap();
                let case = format!("{kernel:?} m={m} k={k} n={n} ta={ta} tb={tb} split {split}");
                assert_eq!(got.dims(), &[m, n], "{case}");
                assert_eq!(got.to_vec().unwrap(), want, "{case}: result");
                let all = flat.to_vec().unwrap();
                assert_eq!(&all[off..off + m * n], &want[..], "{case}: slot");
                assert!(
                    all[..off]
                        .iter()
                        .chain(&all[off + m * n..])
                        .all(|v| *v == -9.0),
                    "{case}: neighbours untouched"
                );
            }
        }
    }
    let (a, _) = rand_tensor(1, &[3, 4], -1.0, 1.0);
    let (b, _) = rand_tensor(2, &[4, 5], -1.0, 1.0);
    let small = Tensor::zeros(&c, &[14]).unwrap();
    let err = matmul_with(
        &a,
        &b,
        MatmulOptions {
            out: Some(&small),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("M x N"), "{err}");
}

/// accumulate: out = out + C in the product's store, the bits of the separate add pass
/// (elementwise::accumulate with alpha 1) that it replaces, in every kernel, layout and
/// split (the sum pass adds), with a bias and activation too, into a view; neighbours
/// untouched.
#[test]
fn accumulate_into_a_view_matches_the_separate_add() {
    let c = ctx();
    let align = c.view_alignment();
    for &(m, k, n) in &[
        (5, 12, 8),
        (17, 3, 65),
        (64, 1030, 1),
        (33, 64, 129),
        (4, 0, 4),
    ] {
        for kernel in MatmulKernel::available(&c) {
            for (ta, tb, split) in [(false, false, 1), (true, false, 3), (false, true, 2)] {
                let (a, _) = rand_tensor(7, &if ta { [k, m] } else { [m, k] }, -1.0, 1.0);
                let (b, _) = rand_tensor(8, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
                let (bias, _) = rand_tensor(9, &[n], -1.0, 1.0);
                let (old, old_v) = rand_tensor(10, &[m * n], -2.0, 2.0);
                // A bias and activation on one layout (each case compiles its own pipelines).
                for fused in [false, !ta && !tb] {
                    let opts = MatmulOptions {
                        trans_a: ta,
                        trans_b: tb,
                        kernel: Some(kernel),
                        split_k: Some(split),
                        bias: fused.then_some(&bias),
                        activation: if fused {
                            Activation::Tanh
                        } else {
                            Activation::None
                        },
                        ..Default::default()
                    };
                    let product = matmul_with(&a, &b, opts).unwrap();
                    let want = old.copy().unwrap();
                    gan_tensor::elementwise::accumulate(
                        &want,
                        &product.reshape(&[m * n]).unwrap(),
                        1.0,
                    )
                    .unwrap();
                    let want = want.to_vec().unwrap();
                    let off = align * 2;
                    let flat = Tensor::full(&c, &[off + m * n + 5], -9.0).unwrap();
                    let slot = flat.view(off, &[m * n]).unwrap();
                    slot.assign(&old).unwrap();
                    let into = MatmulOptions {
                        out: Some(&slot),
                        accumulate: true,
                        ..opts
                    };
                    let got = matmul_with(&a, &b, into).unwrap();
                    let case = format!(
                        "{kernel:?} m={m} k={k} n={n} ta={ta} tb={tb} split {split} fused {fused}"
                    );
                    assert_eq!(got.to_vec().unwrap(), want, "{case}");
                    if k > 0 {
                        assert_ne!(want, old_v, "{case}: the product added something");
                    }
                    let all = flat.to_vec().unwrap();
                    assert!(
                        all[..off]
                            .iter()
                            .chain(&all[off + m * n..])
                            .all(|v| *v == -9.0),
                        "{case}: neighbours untouched"
                    );
                }
            }
        }
    }
    let (a, _) = rand_tensor(1, &[3, 4], -1.0, 1.0);
    let (b, _) = rand_tensor(2, &[4, 5], -1.0, 1.0);
    let err = matmul_with(
        &a,
        &b,
        MatmulOptions {
            accumulate: true,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("out"), "{err}");
}

#[test]
fn operands_may_be_views_into_a_flat_buffer() {
    // Parameters live in one flat buffer; the vec4 bindings must respect view offsets.
    let c = ctx();
    let align = c.view_alignment();
    let (m, k, n): (usize, usize, usize) = (5, 12, 8);
    let w_off = (m * k).next_multiple_of(align);
    let mut flat = vec![0f32; w_off + k * n];
    let av = gan_tensor::testing::random(1, m * k, -1.0, 1.0);
    let bv = gan_tensor::testing::random(2, k * n, -1.0, 1.0);
    flat[..m * k].copy_from_slice(&av);
    flat[w_off..].copy_from_slice(&bv);
    let t = Tensor::from_slice(&c, &flat, &[flat.len()]).unwrap();
    let (a, b) = (t.view(0, &[m, k]).unwrap(), t.view(w_off, &[k, n]).unwrap());
    for kernel in MatmulKernel::available(&c) {
        let o = MatmulOptions {
            kernel: Some(kernel),
            ..Default::default()
        };
        let got = matmul_with(&a, &b, o).unwrap().to_vec().unwrap();
        let want = reference::matmul(&av, &bv, None, m, k, n, false, false, Activation::None);
        assert_close(&format!("{kernel:?} on views"), &got, &want, 1e-4, 1e-4);
    }
}

#[test]
fn the_default_kernel_is_supported_and_unsupported_ones_are_refused() {
    let c = ctx();
    let chosen = MatmulKernel::for_adapter(&c);
    assert!(chosen.supported(&c));
    eprintln!(
        "adapter {} uses {chosen:?}; available {:?}",
        c.adapter(),
        MatmulKernel::available(&c)
    );
    let a = Tensor::zeros(&c, &[2, 2]).unwrap();
    for kernel in MatmulKernel::ALL.into_iter().filter(|k| !k.supported(&c)) {
        let o = MatmulOptions {
            kernel: Some(kernel),
            ..Default::default()
        };
        let err = matmul_with(&a, &a, o).unwrap_err().to_string();
        assert!(err.contains("subgroup"), "{err}");
    }
}

#[test]
fn narrow_outputs_take_the_narrow_kernel_bit_identical_to_the_register_blocks() {
    let c = ctx();
    assert_eq!(MatmulKernel::for_shape(&c, 100, 1), MatmulKernel::Narrow);
    assert_eq!(MatmulKernel::for_shape(&c, 1000, 4), MatmulKernel::Narrow);
    if std::env::var_os("GAN_MATMUL_KERNEL").is_none() {
        assert_eq!(
            MatmulKernel::for_shape(&c, 100, 5),
            MatmulKernel::for_adapter(&c)
        );
    }
    // The same fmas in the same order: equal bits, with the fused bias and activation.
    let mut seed = 7000;
    for (m, k, n) in [
        (100, 400, 1),
        (97, 13, 2),
        (3, 200, 3),
        (1000, 8, 4),
        (65, 2, 1),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            seed += 10;
            let (a, _) = rand_tensor(seed, &if ta { [k, m] } else { [m, k] }, -1.0, 1.0);
            let (b, _) = rand_tensor(seed + 1, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
            let (bias, _) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
            let run = |kernel| {
                let o = MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    bias: Some(&bias),
                    activation: Activation::LeakyRelu(0.2),
                    kernel: Some(kernel),
                    split_k: None,
                    out: None,
                    accumulate: false,
                };
                matmul_with(&a, &b, o).unwrap().to_vec().unwrap()
            };
            let narrow = run(MatmulKernel::Narrow);
            let blocks = run(MatmulKernel::RegBlock);
            let case = format!("m={m} k={k} n={n} ta={ta} tb={tb}");
            assert_eq!(
                narrow.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                blocks.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{case}"
            );
        }
    }
}

/// The subgroup kernel (32 x 4 blocks) and the register blocks (16 x 8) sum each element of C
/// with the same fmas in the same order: the same bits, with the fused bias and activation,
/// on both paths (vec4 and general), stores (scalar and vec4) and every transpose.
#[test]
fn subgroup_and_register_blocks_agree_bit_for_bit() {
    let c = ctx();
    if !MatmulKernel::Subgroup.supported(&c) {
        return;
    }
    let mut seed = 8000;
    for (m, k, n) in [
        (100, 300, 70),
        (65, 64, 129),
        (33, 13, 40),
        (130, 257, 5),
        (7, 8, 64),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            seed += 10;
            let (a, _) = rand_tensor(seed, &if ta { [k, m] } else { [m, k] }, -1.0, 1.0);
            let (b, _) = rand_tensor(seed + 1, &if tb { [n, k] } else { [k, n] }, -1.0, 1.0);
            let (bias, _) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
            let run = |kernel| {
                let o = MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    bias: Some(&bias),
                    activation: Activation::LeakyRelu(0.2),
                    kernel: Some(kernel),
                    split_k: Some(1),
                    out: None,
                    accumulate: false,
                };
                let v = matmul_with(&a, &b, o).unwrap().to_vec().unwrap();
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            };
            assert!(
                run(MatmulKernel::Subgroup) == run(MatmulKernel::RegBlock),
                "m={m} k={k} n={n} ta={ta} tb={tb}"
            );
        }
    }
}
