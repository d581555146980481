//! The im2col layout ops against plain loops, on large grids, and the im2col algorithm in
//! batch chunks (including its fallback to the direct kernels) against the reference.

mod common;
mod conv_cases;
use common::{ctx, rand_tensor};
use conv_cases::{check_conv2d, check_transpose, sq, tol, AWKWARD_CASES};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo};
use gan_tensor::reference::conv as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

/// Calls `f(x index or None in the padding)` for every entry of the im2col matrix
/// `[n oh ow, cin kh kw]` of an input `[n, cin, h, w]`, in row-major order.
fn each_col_entry(
    [n, cin, h, w]: [usize; 4],
    k: (usize, usize),
    p: Conv2dParams,
    mut f: impl FnMut(Option<usize>),
) {
    let (oh, ow) = p.output_hw((h, w), k).unwrap();
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ci in 0..cin {
                    for a in 0..k.0 {
                        for c in 0..k.1 {
                            let ih = (i * p.stride.0 + a) as isize - p.padding.0 as isize;
                            let iw = (j * p.stride.1 + c) as isize - p.padding.1 as isize;
                            let inside =
                                (0..h as isize).contains(&ih) && (0..w as isize).contains(&iw);
                            f(
                                inside
                                    .then(|| ((b * cin + ci) * h + ih as usize) * w + iw as usize),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// im2col by plain loops: [n oh ow, cin kh kw], 0 in the padding.
fn im2col_cpu(x: &[f32], dims: [usize; 4], k: (usize, usize), p: Conv2dParams) -> Vec<f32> {
    let mut cols = vec![];
    each_col_entry(dims, k, p, |xi| cols.push(xi.map_or(0.0, |i| x[i])));
    cols
}

/// col2im by plain loops: scatter-add every entry back onto the pixel it came from.
fn col2im_cpu(cols: &[f32], dims: [usize; 4], k: (usize, usize), p: Conv2dParams) -> Vec<f32> {
    let mut x = vec![0.0f64; dims.iter().product()];
    let mut e = 0..;
    each_col_entry(dims, k, p, |xi| {
        let v = cols[e.next().unwrap()] as f64;
        if let Some(i) = xi {
            x[i] += v;
        }
    });
    x.into_iter().map(|v| v as f32).collect()
}

#[test]
fn im2col_and_col2im_match_plain_loops() {
    for (i, c) in AWKWARD_CASES.iter().enumerate() {
        let p = c.conv();
        let (x, xs) = rand_tensor(900 + i as u64, &c.x_dims(), -1.0, 1.0);
        let cols = conv::im2col(&x, c.k, p).unwrap();
        let want = im2col_cpu(&xs, c.x_dims(), c.k, p);
        assert_eq!(cols.numel(), want.len(), "{c:?}");
        assert_eq!(cols.to_vec().unwrap(), want, "im2col {c:?}");
        let (d, ds) = rand_tensor(950 + i as u64, cols.dims(), -1.0, 1.0);
        let back = conv::col2im(&d, c.cin, c.hw, c.k, p).unwrap();
        assert_eq!(back.dims(), c.x_dims());
        let want = col2im_cpu(&ds, c.x_dims(), c.k, p);
        let (rt, at) = tol(c.k.0 * c.k.1);
        assert_close(
            &format!("col2im {c:?}"),
            &back.to_vec().unwrap(),
            &want,
            rt,
            at,
        );
    }
    let bad = Tensor::zeros(&ctx(), &[7, 9]).unwrap();
    assert!(conv::col2im(&bad, 1, (5, 5), (3, 3), Conv2dParams::new(1, 1)).is_err());
    // Absurd padding: an error naming the padding, not an overflow panic.
    let e = conv::col2im(&bad, 1, (5, 5), (3, 3), Conv2dParams::new(1, 1 << 40))
        .unwrap_err()
        .to_string();
    assert!(e.contains("padding"), "{e}");
}

#[test]
fn im2col_over_65535_workgroups_is_fully_written() {
    // 1100 x 1100 input, 2x2 taps: 1099^2 * 4 = 4.8M entries, 75_492 workgroups of 64.
    let dims = [1, 1, 1100, 1100];
    let (x, xs) = rand_tensor(81, &dims, -1.0, 1.0);
    let p = Conv2dParams::default();
    let cols = conv::im2col(&x, (2, 2), p).unwrap();
    assert_eq!(cols.to_vec().unwrap(), im2col_cpu(&xs, dims, (2, 2), p));
    // The same through conv2d's im2col path (one chunk of 1.2M matmul rows).
    let (w, ws) = rand_tensor(82, &[1, 1, 2, 2], -1.0, 1.0);
    let y = conv::conv2d_with(&x, &w, None, p, ConvAlgo::IM2COL).unwrap();
    let (want, _) = reference::conv2d_forward(&xs, dims, &ws, [1, 1, 2, 2], None, p);
    assert_close(
        "folded im2col conv2d",
        &y.to_vec().unwrap(),
        &want,
        1e-5,
        4e-6,
    );
}

#[test]
fn im2col_in_batch_chunks_matches_reference() {
    // Budgets of a few images split the batch (into aligned chunks: 5x5 images of one
    // channel need chunk starts at multiples of the view alignment); a budget below one
    // image falls back to the direct kernels. Every gradient goes through the same plan.
    let tiny = |images: u64, bytes_per_image: u64| ConvAlgo::Im2col {
        max_bytes: images * bytes_per_image,
    };
    // conv2d: rows per image oh*ow, width max(kp, cp).
    let c = sq(9, 1, 3, 5, 3, 1, 1); // 25 rows of width 12 per image
                                     // With lavapipe's alignment of 8 elements: 2 images fall back, 8 give chunks 8 + 1.
    for algo in [tiny(2, 25 * 12 * 4), tiny(8, 25 * 12 * 4), tiny(1, 10)] {
        check_conv2d(c, 1200, algo);
    }
    let c = sq(7, 2, 3, 8, 4, 2, 1); // 16 rows of width 32 per image
    for algo in [tiny(1, 16 * 32 * 4), tiny(3, 16 * 32 * 4)] {
        check_conv2d(c, 1300, algo);
    }
    // conv_transpose2d 8x8 -> 16x16 is a conv2d 16x16 -> 8x8 of 3 channels: 64 rows of
    // width 48 per image.
    for algo in [tiny(1, 64 * 48 * 4), tiny(3, 64 * 48 * 4)] {
        check_transpose(c, 1400, algo);
    }
}
