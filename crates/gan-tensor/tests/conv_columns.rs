//! Column matrices kept from one product for the next (conv::Columns): the forward and the
//! transposed convolution's input gradient return the same bits as without keeping, and
//! the weight gradients from the kept columns are the bits of the recomputing ones, plain,
//! written into a view or added to it; mismatched operands are refused.

mod common;
use common::{ctx, rand_tensor};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::elementwise::accumulate;
use gan_tensor::Tensor;

/// (n, cin, h, w, cout, k, stride, pad): channels 1, 3 and 17, odd sizes, strides 1-3,
/// padding 0-2, batches 1 and 65; cin k k = 9, 27, 68, 153 and 16 (padded and unpadded
/// column counts).
type Case = (usize, usize, usize, usize, usize, usize, usize, usize);
const CASES: &[Case] = &[
    (1, 1, 7, 5, 3, 3, 1, 0),
    (65, 3, 9, 7, 5, 3, 2, 1),
    (3, 17, 6, 5, 4, 2, 1, 2),
    (2, 17, 11, 9, 2, 3, 3, 1),
    (5, 1, 28, 28, 32, 4, 2, 1),
];

/// Where a weight gradient goes: a tensor to write (false) or add (true) to.
type Target<'a> = Option<(&'a Tensor, bool)>;

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()
}

/// `from(into)` gives `plain`'s bits returned, written over a view, and added to one.
fn same_weight_grads(case: &str, plain: &Tensor, from: &dyn Fn(Target) -> Tensor) {
    let c = plain.context();
    assert_eq!(bits(&from(None)), bits(plain), "{case}: returned");
    let n = plain.numel();
    let (old, _) = rand_tensor(9, &[n], -1.0, 1.0);
    let off = c.view_alignment() * 2;
    for add in [false, true] {
        let flat = Tensor::full(c, &[off + n + 3], -7.0).unwrap();
        let view = flat.view(off, &[n]).unwrap();
        view.assign(&old).unwrap();
        let want = if add {
            let w = old.copy().unwrap();
            accumulate(&w, &plain.reshape(&[n]).unwrap(), 1.0).unwrap();
            w
        } else {
            plain.reshape(&[n]).unwrap()
        };
        let out = from(Some((&view, add)));
        assert_eq!(
            out.dims(),
            plain.dims(),
            "{case} add={add}: the handle's shape"
        );
        let all = flat.to_vec().unwrap();
        let got: Vec<u32> = all[off..off + n].iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, bits(&want), "{case} add={add}");
        assert!(
            all[..off].iter().chain(&all[off + n..]).all(|v| *v == -7.0),
            "{case}: neighbours"
        );
    }
}

#[test]
fn kept_columns_give_the_bits_of_recomputed_ones() {
    let algo = ConvAlgo::IM2COL;
    for (i, &(n, cin, h, w, cout, k, s, pd)) in CASES.iter().enumerate() {
        let seed = 10 * i as u64;
        let p = Conv2dParams::new(s, pd);
        let (x, _) = rand_tensor(seed, &[n, cin, h, w], -1.0, 1.0);
        let (wt, _) = rand_tensor(seed + 1, &[cout, cin, k, k], -1.0, 1.0);
        let (b, _) = rand_tensor(seed + 2, &[cout], -1.0, 1.0);
        let case = format!("conv2d {:?}", CASES[i]);
        let plain_y = conv::conv2d_with(&x, &wt, Some(&b), p, algo).unwrap();
        let (y, cols) = conv::conv2d_keeping_columns(&x, &wt, Some(&b), p, algo).unwrap();
        assert_eq!(bits(&y), bits(&plain_y), "{case}: forward");
        let cols = cols.unwrap_or_else(|| panic!("{case}: one chunk keeps its columns"));
        let (oh, ow) = p.output_hw((h, w), (k, k)).unwrap();
        assert_eq!(
            cols.tensor().dims(),
            &[n * oh * ow, (cin * k * k).next_multiple_of(4)]
        );
        let (dy, _) = rand_tensor(seed + 3, &[n, cout, oh, ow], -1.0, 1.0);
        let plain = conv::conv2d_backward_weight_with(&x, &dy, (k, k), p, algo).unwrap();
        same_weight_grads(&case, &plain, &|into| {
            conv::conv2d_backward_weight_from(&cols, &dy, into).unwrap()
        });

        // The transposed convolution from dy's size back to x's: its input gradient is
        // the conv2d of a gradient of x's shape.
        let tp = ConvTranspose2dParams {
            output_padding: ((h + 2 * pd - k) % s, (w + 2 * pd - k) % s),
            ..ConvTranspose2dParams::new(s, pd)
        };
        let (tw, _) = rand_tensor(seed + 4, &[cout, cin, k, k], -1.0, 1.0);
        let case = format!("conv_transpose2d {:?}", CASES[i]);
        let plain_dx = conv::conv_transpose2d_backward_input_with(&x, &tw, tp, algo).unwrap();
        let (dx, cols) =
            conv::conv_transpose2d_backward_input_keeping_columns(&x, &tw, tp, algo).unwrap();
        assert_eq!(bits(&dx), bits(&plain_dx), "{case}: input gradient");
        let cols = cols.unwrap_or_else(|| panic!("{case}: one chunk keeps its columns"));
        let plain = conv::conv_transpose2d_backward_weight_with(&dy, &x, (k, k), tp, algo).unwrap();
        same_weight_grads(&case, &plain, &|into| {
            conv::conv_transpose2d_backward_weight_from(&cols, &dy, into).unwrap()
        });
    }
}

#[test]
fn columns_are_kept_only_for_a_whole_batch_on_the_im2col_path() {
    let p = Conv2dParams::new(1, 1);
    let (x, _) = rand_tensor(1, &[17, 3, 9, 9], -1.0, 1.0);
    let (wt, _) = rand_tensor(2, &[5, 3, 3, 3], -1.0, 1.0);
    let want = conv::conv2d_with(&x, &wt, None, p, ConvAlgo::IM2COL).unwrap();
    // Direct kernels make no matrix; a batch in chunks keeps none of its partial ones.
    for algo in [ConvAlgo::Direct, ConvAlgo::Im2col { max_bytes: 40_000 }] {
        let (y, cols) = conv::conv2d_keeping_columns(&x, &wt, None, p, algo).unwrap();
        assert!(cols.is_none(), "{algo:?}");
        let (got, want) = (y.to_vec().unwrap(), want.to_vec().unwrap());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{algo:?}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn mismatched_operands_of_kept_columns_are_refused() {
    let c = ctx();
    let p = Conv2dParams::new(2, 1);
    let (x, _) = rand_tensor(1, &[2, 3, 8, 8], -1.0, 1.0);
    let (wt, _) = rand_tensor(2, &[4, 3, 3, 3], -1.0, 1.0);
    let (_, cols) = conv::conv2d_keeping_columns(&x, &wt, None, p, ConvAlgo::IM2COL).unwrap();
    let cols = cols.unwrap();
    // The output is 2 x 4 x 4 x 4; a gradient of another shape is not one of it.
    let dy = Tensor::zeros(&c, &[2, 4, 3, 4]).unwrap();
    let err = conv::conv2d_backward_weight_from(&cols, &dy, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[2, 4, 4, 4]") && err.contains("columns were made for"),
        "{err}"
    );
    let flat = Tensor::zeros(&c, &[2, 4, 4]).unwrap();
    let err = conv::conv2d_backward_weight_from(&cols, &flat, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("4-D"), "{err}");
    let dy = Tensor::zeros(&c, &[2, 4, 4, 4]).unwrap();
    let small = Tensor::zeros(&c, &[4 * 3 * 9 - 1]).unwrap();
    let err = conv::conv2d_backward_weight_from(&cols, &dy, Some((&small, false)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[4, 3, 3, 3]"), "{err}");
}
