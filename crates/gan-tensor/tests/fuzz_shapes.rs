//! Fuzzes the shape arguments of every public tensor op: seeded shapes mixing small
//! sizes with 0, 2^16, 2^31, 2^32 and usize::MAX, ranks 0 to 6, mismatched operands,
//! conv parameters of 0 or huge. Every call must return `Ok` with a consistent result or
//! an `Error` naming the op; a panic, or an accepted call that should have been refused,
//! fails naming the op, its arguments, the case and the seed.
//! `GAN_FUZZ_CASES=n` sets the cases per op, `GAN_FUZZ_SEED` the seed.

mod fuzz_shapes_ops;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fuzz_shapes_ops::{Gen, OPS};
use gan_tensor::testing::shared_context;
use gan_tensor::{Tensor, MAX_DIM};

/// Runs every op `cases` times from `seed`; returns (accepted, refused) summed over ops.
fn campaign(cases: usize, seed: u64) -> (usize, usize) {
    // One campaign at a time: each swaps the process-wide panic hook.
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let ctx = shared_context();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (mut ok, mut refused) = (0, 0);
    let mut failure = None;
    let mut slowest = (Duration::ZERO, String::new());
    'ops: for (o, &(name, op)) in OPS.iter().enumerate() {
        let mut gen = Gen::new(seed ^ (o as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for case in 0..cases {
            let mut args = String::new();
            let t0 = Instant::now();
            let res = catch_unwind(AssertUnwindSafe(|| op(&mut gen, ctx, &mut args)));
            let took = t0.elapsed();
            if took > slowest.0 {
                slowest = (took, format!("{name}({args})"));
            }
            let problem = match res {
                Err(p) => Some(format!(
                    "panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
                Ok(Err(wrong)) => Some(wrong),
                Ok(Ok(true)) => {
                    ok += 1;
                    None
                }
                Ok(Ok(false)) => {
                    refused += 1;
                    None
                }
            };
            if let Some(p) = problem {
                failure = Some(format!(
                    "{name}({args}), case {case}, seed {seed} (GAN_FUZZ_SEED): {p}"
                ));
                break 'ops;
            }
        }
    }
    std::panic::set_hook(quiet);
    if let Some(f) = failure {
        panic!("{f}");
    }
    eprintln!(
        "fuzz_shapes: {} ops x {cases} cases, seed {seed}: {ok} accepted, {refused} refused; \
         slowest case {:?}: {}",
        OPS.len(),
        slowest.0,
        slowest.1
    );
    (ok, refused)
}

#[test]
fn every_op_refuses_bad_shapes_without_panicking() {
    let cases = gan_fuzz::case_count(200);
    let (ok, refused) = campaign(cases, gan_fuzz::seed());
    assert_eq!(ok + refused, cases * OPS.len());
    // The generator must reach both sides of every check, not only refusals.
    assert!(ok > 0 && refused > ok, "{ok} accepted, {refused} refused");
}

#[test]
fn fuzz_campaign_is_repeatable_from_its_seed() {
    assert_eq!(campaign(3, 7), campaign(3, 7));
}

fn err_of(r: gan_tensor::Result<Tensor>) -> String {
    r.map(|t| format!("accepted as {t:?}"))
        .unwrap_or_else(|e| e.to_string())
}

// Regressions found by the campaign above: each panicked (or was accepted) before its fix.

#[test]
fn a_shape_whose_product_overflows_usize_is_an_error() {
    let ctx = shared_context();
    for dims in [
        &[65536, 65536, 65536, 65536][..],
        &[MAX_DIM; 3],
        &[3, MAX_DIM, 7, MAX_DIM],
    ] {
        let e = err_of(Tensor::zeros(ctx, dims));
        assert!(
            e.contains("overflows") && e.contains("zeros"),
            "{dims:?}: {e}"
        );
        let e = err_of(Tensor::rand_uniform(ctx, dims, 0.0, 1.0, 1));
        assert!(e.contains("overflows") && e.contains("rand_uniform"), "{e}");
        let e = err_of(Tensor::from_slice(ctx, &[1.0], dims));
        assert!(e.contains("overflows") && e.contains("from_slice"), "{e}");
    }
}

#[test]
fn a_shape_whose_byte_size_overflows_u64_is_an_error() {
    // 2^63 elements fit usize, their 2^65 bytes do not fit u64.
    let e = err_of(Tensor::full(
        shared_context(),
        &[1 << 21, 1 << 21, 1 << 21],
        1.0,
    ));
    assert!(e.contains("full") && e.contains("byte size"), "{e}");
}

#[test]
fn a_dimension_above_2_pow_31_is_an_error_even_with_zero_elements() {
    let ctx = shared_context();
    for dims in [&[0, 1 << 31][..], &[usize::MAX, 0], &[1 << 32]] {
        let e = err_of(Tensor::zeros(ctx, dims));
        assert!(
            e.contains("zeros") && e.contains("dimension"),
            "{dims:?}: {e}"
        );
    }
    // Zero elements with large (in-range) dims are a valid empty tensor.
    assert_eq!(
        Tensor::zeros(ctx, &[0, MAX_DIM, MAX_DIM]).unwrap().numel(),
        0
    );
}

#[test]
fn reshape_to_a_shape_whose_product_overflows_is_an_error() {
    let t = Tensor::from_slice(shared_context(), &[1.0; 6], &[2, 3]).unwrap();
    let e = err_of(t.reshape(&[MAX_DIM, 2, MAX_DIM, 3]));
    assert!(e.contains("reshape") && e.contains("overflows"), "{e}");
    let e = err_of(t.reshape(&[usize::MAX, 2, 3]));
    assert!(e.contains("reshape") && e.contains("dimension 0"), "{e}");
}

#[test]
fn a_view_whose_end_overflows_is_an_error() {
    let t = Tensor::from_slice(shared_context(), &[1.0; 6], &[6]).unwrap();
    let e = err_of(t.view(usize::MAX, &[2]));
    assert!(e.contains("view") && e.contains("offset"), "{e}");
    let e = err_of(t.view(1 << 33, &[usize::MAX / 2]));
    assert!(e.contains("view"), "{e}");
}

#[test]
fn sum_to_a_shape_whose_product_overflows_is_an_error() {
    let t = Tensor::from_slice(shared_context(), &[1.0; 6], &[2, 3]).unwrap();
    let e = err_of(t.sum_to(&[usize::MAX, 2, 3]));
    assert!(e.contains("sum_to"), "{e}");
}

#[test]
fn col2im_with_channels_times_kernel_overflowing_is_an_error() {
    let cols = Tensor::from_slice(shared_context(), &[1.0; 3], &[3]).unwrap();
    let p = gan_tensor::conv::Conv2dParams::new(1, 1);
    let e = err_of(gan_tensor::conv::col2im(
        &cols,
        usize::MAX,
        (4, 4),
        (1, 4),
        p,
    ));
    assert!(e.contains("col2im") && e.contains("overflows"), "{e}");
}

#[test]
fn sum_to_a_broadcast_shape_whose_product_overflows_names_sum_to() {
    let t = Tensor::from_slice(shared_context(), &[1.0; 2], &[2]).unwrap();
    let e = err_of(t.sum_to(&[MAX_DIM, 0, MAX_DIM, 1]));
    assert!(e.contains("sum_to") && e.contains("overflows"), "{e}");
}

#[test]
fn im2col_with_a_column_count_above_2_pow_31_names_im2col() {
    let x = Tensor::from_slice(shared_context(), &[1.0; 6], &[2, 1, 1, 3]).unwrap();
    let p = gan_tensor::conv::Conv2dParams {
        stride: (4, 1),
        padding: (65535, 65536),
    };
    let e = err_of(gan_tensor::conv::im2col(&x, (1, 3), p));
    assert!(e.contains("im2col") && e.contains("dimension 0"), "{e}");
}
