//! The texture matmul (operands copied into rgba32float textures, read by texel fetches)
//! against its buffer twin: the same bits.

mod common;

use common::{ctx, rand_tensor};
use gan_tensor::matmul::{matmul_with, Activation, MatmulKernel, MatmulOptions};
use gan_tensor::Tensor;

/// The texture kernel reads the same vec4s in the same order as the subgroup kernel: the
/// same bits, on operands of less than one texture row and of several rows with a partial
/// last one, views inside larger buffers, every transpose, the vec4 and general paths,
/// split K, and products recorded back to back (one texture per operand slot, grown
/// between them) before anything is read. A steady loop creates no more textures.
#[test]
fn texture_and_subgroup_kernels_agree_bit_for_bit() {
    let c = ctx();
    if !MatmulKernel::Texture.supported(&c) {
        return;
    }
    let mut seed = 9000;
    let mut pending = Vec::new();
    for (m, k, n, split) in [
        (7, 8, 64, 1),
        (100, 300, 70, 1),
        (65, 1100, 129, 1),
        (33, 13, 40, 1),
        (64, 2048, 36, 3),
        (5, 9, 6, 1),
        // K % 4 != 0 with M, N % 4 == 0: A^T x B reads past K (the buffer twin runs).
        (64, 98, 128, 1),
        (8, 1026, 36, 2),
    ] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            seed += 10;
            let (a_dims, b_dims) = (
                if ta { [k, m] } else { [m, k] },
                if tb { [n, k] } else { [k, n] },
            );
            // B as a view at an aligned offset inside a larger tensor.
            let at = c.view_alignment().max(4);
            let (whole, _) = rand_tensor(seed, &[at + k * n + 3], -1.0, 1.0);
            let b = whole.view(at, &b_dims).unwrap();
            let (a, _) = rand_tensor(seed + 1, &a_dims, -1.0, 1.0);
            let (bias, _) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
            let run = |kernel| {
                let o = MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    bias: Some(&bias),
                    activation: Activation::Tanh,
                    kernel: Some(kernel),
                    split_k: Some(split),
                    out: None,
                    accumulate: false,
                };
                matmul_with(&a, &b, o).unwrap()
            };
            // Recorded now, read after every product of the loop is recorded.
            pending.push((
                run(MatmulKernel::Texture),
                run(MatmulKernel::Subgroup),
                (m, k, n, ta, tb),
            ));
        }
    }
    let bits = |t: &Tensor| {
        t.to_vec()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect::<Vec<_>>()
    };
    for (tex, sub, shape) in &pending {
        assert!(bits(tex) == bits(sub), "{shape:?}");
    }
    let before = c.stats().buffers_created;
    let (a, _) = rand_tensor(1, &[100, 300], -1.0, 1.0);
    let (b, _) = rand_tensor(2, &[300, 70], -1.0, 1.0);
    for _ in 0..3 {
        let o = MatmulOptions {
            kernel: Some(MatmulKernel::Texture),
            ..Default::default()
        };
        drop(matmul_with(&a, &b, o).unwrap().to_vec().unwrap());
    }
    let after_first = c.stats().buffers_created;
    for _ in 0..3 {
        let o = MatmulOptions {
            kernel: Some(MatmulKernel::Texture),
            ..Default::default()
        };
        drop(matmul_with(&a, &b, o).unwrap().to_vec().unwrap());
    }
    assert!(after_first >= before);
    assert_eq!(
        c.stats().buffers_created,
        after_first,
        "no texture or buffer made in a steady loop"
    );
}

/// Outputs of at most 4 columns run the narrow kernel; on adapters whose wide kernel reads
/// textures, its texture twin (chosen when no kernel is forced) gives the bits of the
/// buffer kernel (forced) on every column count, transpose, K with and without a vec4 tail,
/// row counts off the workgroup's 8, and B as a view inside a larger tensor.
#[test]
fn narrow_texture_twin_agrees_bit_for_bit() {
    let c = ctx();
    if !MatmulKernel::Texture.supported(&c) {
        return;
    }
    let mut seed = 9500;
    for (m, k) in [(1, 4), (7, 100), (64, 98), (65, 1100), (100, 2)] {
        for n in 1..=4 {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 10;
                let (a_dims, b_dims) = (
                    if ta { [k, m] } else { [m, k] },
                    if tb { [n, k] } else { [k, n] },
                );
                let at = c.view_alignment().max(4);
                let (whole, _) = rand_tensor(seed, &[at + k * n + 3], -1.0, 1.0);
                let b = whole.view(at, &b_dims).unwrap();
                let (a, _) = rand_tensor(seed + 1, &a_dims, -1.0, 1.0);
                let (bias, _) = rand_tensor(seed + 2, &[n], -1.0, 1.0);
                let run = |kernel| {
                    let o = MatmulOptions {
                        trans_a: ta,
                        trans_b: tb,
                        bias: Some(&bias),
                        activation: Activation::LeakyRelu(0.2),
                        kernel,
                        ..Default::default()
                    };
                    let out = matmul_with(&a, &b, o).unwrap().to_vec().unwrap();
                    out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                };
                assert!(
                    run(None) == run(Some(MatmulKernel::Narrow)),
                    "m {m} k {k} n {n} trans {ta} {tb}"
                );
            }
        }
    }
}
