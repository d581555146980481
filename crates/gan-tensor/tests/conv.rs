//! Convolutions against the CPU reference: conv2d and conv_transpose2d forward, input,
//! weight and bias gradients on awkward and DCGAN shapes with both algorithms, output
//! sizes, empty batches and grids over 65535 workgroups. The cases, the comparison and its
//! tolerances are in `conv_cases`; gradient identities, im2col and shape errors have their
//! own files (conv_gradients.rs, conv_im2col.rs, conv_errors.rs).

mod common;
mod conv_cases;
use common::{ctx, rand_tensor};
use conv_cases::{check_conv2d, check_transpose, sq, ALGOS, AWKWARD_CASES};
use gan_tensor::conv::{self, Conv2dParams, ConvTranspose2dParams};
use gan_tensor::reference::conv as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

#[test]
fn conv2d_matches_reference_on_awkward_shapes() {
    for algo in ALGOS {
        for (i, &c) in AWKWARD_CASES.iter().enumerate() {
            check_conv2d(c, 100 * i as u64, algo);
        }
    }
}

#[test]
fn conv_transpose2d_matches_reference_on_awkward_shapes() {
    for algo in ALGOS {
        for (i, &c) in AWKWARD_CASES.iter().enumerate() {
            check_transpose(c, 100 * i as u64 + 7, algo);
        }
    }
}

#[test]
fn conv2d_dcgan_discriminator_shapes() {
    for algo in ALGOS {
        // 28x28 -> 14x14 -> 7x7 with 4x4 kernels, stride 2, padding 1.
        check_conv2d(sq(3, 1, 64, 28, 4, 2, 1), 1, algo);
        check_conv2d(sq(2, 64, 128, 14, 4, 2, 1), 2, algo);
        // The final 7x7 valid convolution to one logit.
        check_conv2d(sq(2, 128, 1, 7, 7, 1, 0), 3, algo);
    }
}

#[test]
fn conv_transpose2d_dcgan_generator_shapes() {
    // The latent projection 1x1 -> 7x7, then 7x7 -> 14x14 -> 28x28 (4x4, stride 2, pad 1).
    for algo in ALGOS {
        check_transpose(sq(2, 100, 128, 1, 7, 1, 0), 4, algo);
        check_transpose(sq(2, 128, 64, 7, 4, 2, 1), 5, algo);
        check_transpose(sq(3, 64, 1, 14, 4, 2, 1), 6, algo);
    }
}

#[test]
fn output_sizes_follow_pytorch() {
    let p = Conv2dParams::new(2, 1);
    assert_eq!(p.output_hw((28, 28), (4, 4)), Some((14, 14)));
    assert_eq!(p.output_hw((7, 7), (4, 4)), Some((3, 3)));
    assert_eq!(Conv2dParams::default().output_hw((3, 3), (4, 4)), None);
    let t = ConvTranspose2dParams::new(2, 1);
    assert_eq!(t.output_hw((7, 7), (4, 4)), Some((14, 14)));
    let t = ConvTranspose2dParams {
        output_padding: (1, 0),
        ..ConvTranspose2dParams::new(2, 1)
    };
    assert_eq!(t.output_hw((7, 7), (3, 3)), Some((14, 13)));
}

#[test]
fn empty_batch_gives_empty_output_and_zero_bias_gradient() {
    let x = Tensor::from_slice(&ctx(), &[], &[0, 3, 5, 5]).unwrap();
    let (w, _) = rand_tensor(1, &[4, 3, 3, 3], -1.0, 1.0);
    let y = conv::conv2d(&x, &w, None, Conv2dParams::new(1, 1)).unwrap();
    assert_eq!(y.dims(), &[0, 4, 5, 5]);
    assert!(y.to_vec().unwrap().is_empty());
    let dw = conv::conv2d_backward_weight(&x, &y, (3, 3), Conv2dParams::new(1, 1)).unwrap();
    assert_eq!(dw.to_vec().unwrap(), vec![0.0; 4 * 3 * 9]);
    assert_eq!(
        conv::conv_bias_backward(&y).unwrap().to_vec().unwrap(),
        vec![0.0; 4]
    );
}

#[test]
fn output_over_65535_workgroups_is_fully_written() {
    // 2 * 1 * 1450 * 1450 = 4.2M outputs need 65_703 workgroups of 64.
    let c = sq(2, 1, 1, 1450, 1, 1, 0);
    let (x, xs) = rand_tensor(77, &c.x_dims(), -1.0, 1.0);
    let (w, ws) = rand_tensor(78, &[1, 1, 1, 1], -1.0, 1.0);
    let (b, bs) = rand_tensor(79, &[1], -1.0, 1.0);
    let y = conv::conv2d(&x, &w, Some(&b), c.conv()).unwrap();
    let (want, _) =
        reference::conv2d_forward(&xs, c.x_dims(), &ws, [1, 1, 1, 1], Some(&bs), c.conv());
    assert_close("folded conv2d", &y.to_vec().unwrap(), &want, 1e-6, 1e-6);
}
