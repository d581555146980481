//! Batch normalization with a fused ReLU / LeakyReLU: the forward gives the bits of
//! batch_norm_train followed by the activation's own kernel, and the backward those of
//! the activation's backward kernel followed by batch_norm_backward (parameter gradients
//! returned, written into a view or added to it), on both kernels (workgroup and serial);
//! activations it cannot fuse are refused.

mod common;
use common::{ctx, rand_tensor};
use gan_tensor::batchnorm::{
    batch_norm_backward_act_into_with, batch_norm_backward_into_with, batch_norm_train_act,
    batch_norm_train_act_with, batch_norm_train_with, BatchNormKernel, GradInto,
};
use gan_tensor::matmul::Activation;
use gan_tensor::Tensor;

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()
}

fn act_fwd(y: &Tensor, act: Activation) -> Tensor {
    match act {
        Activation::Relu => y.relu().unwrap(),
        Activation::LeakyRelu(a) => y.leaky_relu(a).unwrap(),
        _ => unreachable!(),
    }
}

fn act_bwd(out: &Tensor, g: &Tensor, act: Activation) -> Tensor {
    match act {
        Activation::Relu => out.relu_backward(g).unwrap(),
        Activation::LeakyRelu(a) => out.leaky_relu_backward(g, a).unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn fused_activations_give_the_bits_of_separate_kernels() {
    let c0 = ctx();
    let shapes: [&[usize]; 4] = [&[7, 3], &[5, 17, 3], &[4, 6, 5, 7], &[65, 2, 3, 1]];
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::LeakyRelu(0.0),
    ];
    let mut seed = 100;
    for kernel in [BatchNormKernel::Workgroup, BatchNormKernel::Serial] {
        for dims in shapes {
            for act in acts {
                seed += 10;
                let c = dims[1];
                let case = format!("{kernel:?} {dims:?} {act:?}");
                let (x, _) = rand_tensor(seed, dims, -2.0, 2.0);
                let (gamma, _) = rand_tensor(seed + 1, &[c], 0.5, 1.5);
                let (beta, _) = rand_tensor(seed + 2, &[c], -1.0, 1.0);
                let stats = || {
                    (
                        Tensor::zeros(&c0, &[c]).unwrap(),
                        Tensor::full(&c0, &[c], 1.0).unwrap(),
                    )
                };
                let (rm1, rv1) = stats();
                let (rm2, rv2) = stats();
                let plain = batch_norm_train_with(&x, &gamma, &beta, &rm1, &rv1, 0.1, 1e-5, kernel)
                    .unwrap();
                let out = act_fwd(&plain.y, act);
                let fused = batch_norm_train_act_with(
                    &x, &gamma, &beta, &rm2, &rv2, 0.1, 1e-5, act, kernel,
                )
                .unwrap();
                assert_eq!(bits(&fused.y), bits(&out), "{case}: y");
                assert_eq!(bits(&fused.mean), bits(&plain.mean), "{case}: mean");
                assert_eq!(bits(&fused.invstd), bits(&plain.invstd), "{case}: invstd");
                assert_eq!(bits(&rm2), bits(&rm1), "{case}: running mean");
                assert_eq!(bits(&rv2), bits(&rv1), "{case}: running var");
                let vals = out.to_vec().unwrap();
                assert!(vals.iter().any(|v| *v > 0.0) && vals.iter().any(|v| *v <= 0.0));

                // Backward: returned, then written into a view and added to one.
                let (dy, _) = rand_tensor(seed + 3, dims, -1.0, 1.0);
                let dz = act_bwd(&out, &dy, act);
                let (m, s) = (&plain.mean, &plain.invstd);
                let want = batch_norm_backward_into_with(&dz, &x, &gamma, m, s, None, None, kernel)
                    .unwrap();
                let got = batch_norm_backward_act_into_with(
                    &dy, &x, &gamma, &beta, m, s, act, None, None, kernel,
                )
                .unwrap();
                assert_eq!(bits(&got.0), bits(&want.0), "{case}: dx");
                assert_eq!(
                    bits(got.1.as_ref().unwrap()),
                    bits(want.1.as_ref().unwrap()),
                    "{case}: dgamma"
                );
                assert_eq!(
                    bits(got.2.as_ref().unwrap()),
                    bits(want.2.as_ref().unwrap()),
                    "{case}: dbeta"
                );
                // dgamma and dbeta as disjoint views of one buffer (overlapping views would
                // race: channel c's dbeta and channel c + off's dgamma in one element).
                let off = c.next_multiple_of(c0.view_alignment());
                let (old, _) = rand_tensor(seed + 4, &[off + c], -1.0, 1.0);
                let run = |fused: bool| {
                    let buf = old.copy().unwrap();
                    let (g, b) = (buf.view(0, &[c]).unwrap(), buf.view(off, &[c]).unwrap());
                    let gi = Some(GradInto {
                        out: &g,
                        accumulate: true,
                    });
                    let bi = Some(GradInto {
                        out: &b,
                        accumulate: false,
                    });
                    let r = if fused {
                        batch_norm_backward_act_into_with(
                            &dy, &x, &gamma, &beta, m, s, act, gi, bi, kernel,
                        )
                    } else {
                        batch_norm_backward_into_with(&dz, &x, &gamma, m, s, gi, bi, kernel)
                    };
                    let (dx, none_g, none_b) = r.unwrap();
                    assert!(none_g.is_none() && none_b.is_none());
                    (bits(&dx), bits(&buf))
                };
                assert_eq!(run(true), run(false), "{case}: into");
            }
        }
    }
}

#[test]
fn activations_batch_norm_cannot_fuse_are_refused() {
    let c = ctx();
    let x = Tensor::full(&c, &[4, 2], 1.0).unwrap();
    let ch = || Tensor::full(&c, &[2], 1.0).unwrap();
    for act in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::LeakyRelu(-0.1),
    ] {
        let err = batch_norm_train_act(&x, &ch(), &ch(), &ch(), &ch(), 0.1, 1e-5, act)
            .unwrap_err()
            .to_string();
        assert!(err.contains("fuses ReLU or LeakyReLU"), "{act:?}: {err}");
    }
}
