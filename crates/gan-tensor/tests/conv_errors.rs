//! Bad convolution shapes and parameters are errors that name the shapes involved.

mod common;
use common::rand_tensor;
use gan_tensor::conv::{self, Conv2dParams, ConvTranspose2dParams};
use gan_tensor::Error;

/// The error's message, checked to name every given shape.
#[track_caller]
fn error_naming(err: Error, shapes: &[&[usize]]) -> String {
    let msg = err.to_string();
    for s in shapes {
        assert!(
            msg.contains(&format!("{s:?}")),
            "{msg:?} does not name {s:?}"
        );
    }
    msg
}

#[test]
fn bad_shapes_are_errors_naming_the_shapes() {
    let t = |dims: &[usize]| rand_tensor(3, dims, -1.0, 1.0).0;
    let p = Conv2dParams::new(1, 0);
    let tp = ConvTranspose2dParams::new(2, 1);
    let x = t(&[2, 3, 5, 5]);

    // Rank.
    let e = conv::conv2d(&t(&[3, 5, 5]), &t(&[4, 3, 3, 3]), None, p).unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }));
    error_naming(e, &[&[3, 5, 5]]);
    let e = conv::conv2d(&x, &t(&[4, 3, 9]), None, p).unwrap_err();
    error_naming(e, &[&[4, 3, 9]]);
    // Channels.
    let e = conv::conv2d(&x, &t(&[4, 2, 3, 3]), None, p).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }));
    error_naming(e, &[&[2, 3, 5, 5], &[4, 2, 3, 3]]);
    // Kernel larger than the padded input; padding makes it fit.
    let e = conv::conv2d(&x, &t(&[4, 3, 6, 3]), None, p).unwrap_err();
    let msg = error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 6, 3]]);
    assert!(msg.contains("larger"), "{msg}");
    assert!(conv::conv2d(&x, &t(&[4, 3, 6, 3]), None, Conv2dParams::new(1, 1)).is_ok());
    // Zero stride, zero-sized kernel, absurd padding.
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, Conv2dParams::new(0, 0)).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let e = conv::conv2d(&x, &t(&[4, 3, 0, 3]), None, p).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 0, 3]]);
    let huge = Conv2dParams::new(1, 1 << 40);
    assert!(conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, huge).is_err());
    let huge = Conv2dParams::new(1, usize::MAX / 2 + 1);
    assert!(conv::conv2d(&x, &t(&[4, 3, 3, 3]), None, huge).is_err());
    // Bias.
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), Some(&t(&[3])), p).unwrap_err();
    error_naming(e, &[&[4, 3, 3, 3], &[3]]);
    let e = conv::conv2d(&x, &t(&[4, 3, 3, 3]), Some(&t(&[1, 4])), p).unwrap_err();
    error_naming(e, &[&[4, 3, 3, 3], &[1, 4]]);

    // conv2d gradients: dy must be the output of an input of input_hw.
    let (w, dy) = (t(&[4, 3, 3, 3]), t(&[2, 4, 3, 3]));
    assert!(conv::conv2d_backward_input(&dy, &w, (5, 5), p).is_ok());
    let e = conv::conv2d_backward_input(&dy, &w, (6, 5), p).unwrap_err();
    error_naming(e, &[&[2, 4, 3, 3], &[2, 3, 6, 5]]);
    let e = conv::conv2d_backward_input(&t(&[2, 5, 3, 3]), &w, (5, 5), p).unwrap_err();
    error_naming(e, &[&[2, 5, 3, 3], &[4, 3, 3, 3]]);
    let e = conv::conv2d_backward_weight(&t(&[3, 3, 5, 5]), &dy, (3, 3), p).unwrap_err();
    error_naming(e, &[&[3, 3, 5, 5], &[2, 4, 3, 3]]);
    let e = conv::conv2d_backward_weight(&x, &dy, (2, 3), p).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[2, 4, 3, 3]]);

    // Transposed: weight is [Cin, Cout, KH, KW].
    let wt = t(&[3, 4, 4, 4]);
    assert_eq!(
        conv::conv_transpose2d(&x, &wt, None, tp).unwrap().dims(),
        &[2, 4, 10, 10]
    );
    let e = conv::conv_transpose2d(&x, &t(&[4, 3, 4, 4]), None, tp).unwrap_err();
    error_naming(e, &[&[2, 3, 5, 5], &[4, 3, 4, 4]]);
    let e = conv::conv_transpose2d(&x, &wt, Some(&t(&[3])), tp).unwrap_err();
    error_naming(e, &[&[3, 4, 4, 4], &[3]]);
    let bad_op = ConvTranspose2dParams {
        output_padding: (2, 0),
        ..tp
    };
    let e = conv::conv_transpose2d(&x, &wt, None, bad_op).unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    // Output size not positive: (1 - 1) * 1 - 2 * 1 + 1 < 1.
    let e = conv::conv_transpose2d(&t(&[1, 3, 1, 1]), &t(&[3, 2, 1, 1]), None, {
        ConvTranspose2dParams::new(1, 1)
    })
    .unwrap_err();
    error_naming(e, &[&[1, 3, 1, 1], &[3, 2, 1, 1]]);
    let dyt = t(&[2, 4, 10, 10]);
    assert!(conv::conv_transpose2d_backward_input(&dyt, &wt, tp).is_ok());
    let e = conv::conv_transpose2d_backward_input(&t(&[2, 3, 10, 10]), &wt, tp).unwrap_err();
    error_naming(e, &[&[2, 3, 10, 10], &[3, 4, 4, 4]]);
    // An odd output is not reachable with stride 2 and no output padding.
    let e = conv::conv_transpose2d_backward_input(&t(&[2, 4, 11, 10]), &wt, tp).unwrap_err();
    error_naming(e, &[&[2, 4, 11, 10], &[3, 4, 4, 4]]);
    let e = conv::conv_transpose2d_backward_weight(&x, &t(&[2, 4, 9, 10]), (4, 4), tp);
    error_naming(e.unwrap_err(), &[&[2, 3, 5, 5], &[2, 4, 9, 10]]);
    let e = conv::conv_transpose2d_backward_weight(&t(&[1, 3, 5, 5]), &dyt, (4, 4), tp);
    error_naming(e.unwrap_err(), &[&[1, 3, 5, 5], &[2, 4, 10, 10]]);
    let e = conv::conv_bias_backward(&t(&[2, 4, 10])).unwrap_err();
    error_naming(e, &[&[2, 4, 10]]);
}
