//! Convolution weight and bias gradients written into a given tensor or added to it (a
//! parameter's gradient in place): the bits of the plain gradient copied there or added
//! by a separate pass, for every algorithm (direct kernels, im2col in one chunk, in
//! several, with padded columns), into a view of a flat buffer whose neighbours stay.

mod common;
use common::{ctx, rand_tensor};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::elementwise::accumulate;
use gan_tensor::Tensor;

const FILL: f32 = -9.0;

/// A view of `len` elements inside a flat buffer filled with FILL, holding `old`.
fn slot(c: &gan_tensor::Context, old: &Tensor) -> (Tensor, Tensor, usize) {
    let off = c.view_alignment() * 3;
    let flat = Tensor::full(c, &[off + old.numel() + 6], FILL).unwrap();
    let view = flat.view(off, &[old.numel()]).unwrap();
    view.assign(&old.reshape(&[old.numel()]).unwrap()).unwrap();
    (flat, view, off)
}

/// `into(out, accumulate)` against `plain` copied over `old` or added to it.
fn check(case: &str, plain: &Tensor, into: &dyn Fn(&Tensor, bool)) {
    let c = plain.context().clone();
    let n = plain.numel();
    let (old, old_v) = rand_tensor(77, &[n], -1.0, 1.0);
    let flat_plain = plain.reshape(&[n]).unwrap();
    for add in [false, true] {
        let want = if add {
            let w = old.copy().unwrap();
            accumulate(&w, &flat_plain, 1.0).unwrap();
            w.to_vec().unwrap()
        } else {
            flat_plain.to_vec().unwrap()
        };
        assert_ne!(want, old_v, "{case}: a gradient to add");
        let (flat, view, off) = slot(&c, &old);
        into(&view, add);
        let all = flat.to_vec().unwrap();
        assert_eq!(&all[off..off + n], &want[..], "{case} add={add}");
        assert!(
            all[..off].iter().chain(&all[off + n..]).all(|v| *v == FILL),
            "{case} add={add}: neighbours untouched"
        );
    }
}

fn algos() -> Vec<(&'static str, ConvAlgo)> {
    vec![
        ("default", ConvAlgo::default()),
        ("direct", ConvAlgo::Direct),
        ("im2col", ConvAlgo::IM2COL),
        // Small enough to split a batch of 17 images of these sizes into chunks.
        ("im2col chunks", ConvAlgo::Im2col { max_bytes: 40_000 }),
    ]
}

#[test]
fn conv_weight_and_bias_gradients_into_a_view() {
    let c = ctx();
    // (n, cin, size, cout, k, stride, pad): cin * k * k = 27 and 9 are not multiples of 4
    // (padded columns), 64 is.
    for &(n, cin, hw, cout, k, s, pd) in &[
        (17, 3, 9, 5, 3, 2, 1),
        (1, 1, 7, 3, 3, 1, 0),
        (17, 4, 8, 6, 4, 2, 1),
    ] {
        let p = Conv2dParams::new(s, pd);
        let (x, _) = rand_tensor(1, &[n, cin, hw, hw], -1.0, 1.0);
        let oh = (hw + 2 * pd - k) / s + 1;
        let (dy, _) = rand_tensor(2, &[n, cout, oh, oh], -1.0, 1.0);
        for (name, algo) in algos() {
            let case = format!("conv2d n={n} cin={cin} {hw}x{hw} cout={cout} k={k} {name}");
            let plain = conv::conv2d_backward_weight_with(&x, &dy, (k, k), p, algo).unwrap();
            check(&case, &plain, &|out, add| {
                conv::conv2d_backward_weight_into(&x, &dy, (k, k), p, algo, out, add).unwrap()
            });
        }
        // conv_transpose2d from dy's size back to x's: x and dy exchange roles.
        let tp = ConvTranspose2dParams::new(s, pd);
        let (tx, _) = rand_tensor(3, &[n, cout, oh, oh], -1.0, 1.0);
        let th = (oh - 1) * s + k - 2 * pd;
        let (tdy, _) = rand_tensor(4, &[n, cin, th, th], -1.0, 1.0);
        for (name, algo) in algos() {
            let case = format!("conv_transpose2d n={n} {oh}x{oh} -> {th}x{th} k={k} {name}");
            let plain =
                conv::conv_transpose2d_backward_weight_with(&tx, &tdy, (k, k), tp, algo).unwrap();
            check(&case, &plain, &|out, add| {
                conv::conv_transpose2d_backward_weight_into(&tx, &tdy, (k, k), tp, algo, out, add)
                    .unwrap()
            });
        }
        let plain = conv::conv_bias_backward(&dy).unwrap();
        check(&format!("bias n={n} cout={cout}"), &plain, &|out, add| {
            conv::conv_bias_backward_into(&dy, out, add).unwrap()
        });
    }
    // An output of the wrong size is refused, naming the weight's shape.
    let (x, _) = rand_tensor(5, &[2, 3, 6, 6], -1.0, 1.0);
    let (dy, _) = rand_tensor(6, &[2, 4, 4, 4], -1.0, 1.0);
    let small = Tensor::zeros(&c, &[4 * 3 * 9 - 1]).unwrap();
    let p = Conv2dParams::new(1, 0);
    let err = conv::conv2d_backward_weight_into(&x, &dy, (3, 3), p, ConvAlgo::Direct, &small, true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[4, 3, 3, 3]"), "{err}");
    let err = conv::conv_bias_backward_into(&dy, &small, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("gradient's elements"), "{err}");
}
