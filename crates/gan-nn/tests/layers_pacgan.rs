//! The layers of PacGAN's 2-D players: BatchNorm1d on [N, C] (values, running
//! statistics, eval mode, PyTorch names) on awkward shapes, and Maxout (names and shapes
//! of a PyTorch module holding `self.lin = nn.Linear(in, out * pieces)`, the pieces
//! layout, forward against a CPU reference). Gradient checks: gradcheck_layers.rs.

use gan_nn::{BatchNorm1d, InitScheme, Maxout, Module, ParamStore, Sequential, StoreConfig, Var};
use gan_tensor::reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

mod common;
use common::ctx;
mod layers_common;
use layers_common::{build, host, input};

#[test]
fn batchnorm1d_follows_pytorch_on_awkward_shapes() {
    for c in [1, 3, 17] {
        for n in [2, 65] {
            let bn = BatchNorm1d::new(c);
            let s = ParamStore::build(
                &ctx(),
                &bn,
                &StoreConfig::seed(c as u64).init(InitScheme::Dcgan),
            )
            .unwrap();
            assert_eq!(
                s.names(),
                [
                    "weight",
                    "bias",
                    "running_mean",
                    "running_var",
                    "num_batches_tracked"
                ]
            );
            // Dcgan init: gamma ~ N(1, 0.02), so a wrong gamma index shows.
            let (gamma, beta) = (host(bn.weight()), host(bn.bias()));
            let dims = [n, c];
            let (mut rm, mut rv) = (vec![0.0f32; c], vec![1.0f32; c]);
            for step in 0..2u64 {
                let (x, xs) = input(100 * c as u64 + n as u64 + step, &dims);
                // Off-centre, wider than unit variance, so the statistics matter.
                let xs: Vec<f32> = xs.iter().map(|v| 3.0 * v + 0.5).collect();
                let x = Var::constant(x.value().mul_scalar(3.0).unwrap().add_scalar(0.5).unwrap());
                let y = bn.forward(&x, true).unwrap().value().to_vec().unwrap();
                let (want, _, _) = reference::batchnorm::batch_norm_train(
                    &xs, &dims, &gamma, &beta, &mut rm, &mut rv, 0.1, 1e-5,
                );
                let case = format!("BatchNorm1d({c}) on [{n}, {c}], step {step}");
                assert_close(&case, &y, &want, 1e-4, 1e-4);
                assert_close(&case, &host(bn.running_mean()), &rm, 1e-5, 1e-6);
                assert_close(&case, &host(bn.running_var()), &rv, 1e-5, 1e-6);
            }
            assert_eq!(bn.num_batches_tracked(), 2);
            let (x, xs) = input(7 + c as u64, &dims);
            let y = bn.forward(&x, false).unwrap().value().to_vec().unwrap();
            let want =
                reference::batchnorm::batch_norm_eval(&xs, &dims, &gamma, &beta, &rm, &rv, 1e-5);
            assert_close("BatchNorm1d eval", &y, &want, 1e-5, 1e-5);
            assert_eq!(bn.num_batches_tracked(), 2, "eval does not count");
        }
    }
    // One value per channel cannot be normalised in training (PyTorch refuses too).
    let bn = BatchNorm1d::new(3);
    let _s = build(&bn, 1);
    let (x, _) = input(1, &[1, 3]);
    let e = bn.forward(&x, true).unwrap_err().to_string();
    assert!(e.contains("more than 1"), "{e}");
    assert!(bn.forward(&x, false).is_ok());
}

#[test]
fn maxout_has_pytorch_names_and_the_blocks_layout() {
    // nn.Sequential(Maxout(3, 4, 5), Maxout(4, 2, 2)) with `self.lin` inside each.
    let m = Sequential::new()
        .add(Maxout::new(3, 4, 5))
        .add(Maxout::new(4, 2, 2));
    let s = build(&m, 3);
    assert_eq!(
        s.names(),
        ["0.lin.weight", "0.lin.bias", "1.lin.weight", "1.lin.bias"]
    );
    assert_eq!(s.get("0.lin.weight").unwrap().dims(), &[20, 3]);
    assert_eq!(s.get("0.lin.bias").unwrap().dims(), &[20]);
    assert_eq!(s.get("1.lin.weight").unwrap().dims(), &[4, 4]);
    assert_eq!(
        m.get(0).unwrap().describe(),
        "Maxout(in_features=3, out_features=4, pieces=5)"
    );

    // Unit j owns pre-activations j * pieces .. j * pieces + pieces - 1: with
    // pre = [1, 2, 3, 4, 5, 6] and 3 pieces, units are max(1, 2, 3) and max(4, 5, 6);
    // the strided layout (unit j: j, j + 2, j + 4) would give 5 and 6.
    let one = Maxout::new(1, 2, 3);
    let _s = build(&one, 4);
    let w = Tensor::from_slice(&ctx(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[6, 1]).unwrap();
    one.linear().weight().tensor().unwrap().assign(&w).unwrap();
    let zeros = Tensor::zeros(&ctx(), &[6]).unwrap();
    one.linear()
        .bias()
        .unwrap()
        .tensor()
        .unwrap()
        .assign(&zeros)
        .unwrap();
    let x = Var::constant(Tensor::from_slice(&ctx(), &[1.0, -1.0], &[2, 1]).unwrap());
    let y = one.forward(&x, true).unwrap().value().to_vec().unwrap();
    assert_eq!(y, vec![3.0, 6.0, -1.0, -4.0]);
}

#[test]
fn maxout_forward_matches_a_cpu_reference() {
    for (i, (batch, inp, out, pieces)) in [(4, 3, 5, 5), (65, 2, 17, 2), (3, 7, 3, 1)]
        .into_iter()
        .enumerate()
    {
        let m = Maxout::new(inp, out, pieces);
        let _s = build(&m, 10 + i as u64);
        let (x, xs) = input(20 + i as u64, &[batch, inp]);
        let y = m.forward(&x, true).unwrap();
        assert_eq!(y.dims(), &[batch, out]);
        let w = host(m.linear().weight());
        let b = host(m.linear().bias().unwrap());
        let mut pre = vec![0f32; batch * out * pieces];
        for r in 0..batch {
            for o in 0..out * pieces {
                pre[r * out * pieces + o] = b[o]
                    + (0..inp)
                        .map(|k| xs[r * inp + k] * w[o * inp + k])
                        .sum::<f32>();
            }
        }
        let want = reference::maxout::maxout(&pre, pieces);
        let case = format!("Maxout({inp}, {out}, {pieces}) on [{batch}, {inp}]");
        assert_close(&case, &y.value().to_vec().unwrap(), &want, 1e-5, 1e-6);
    }
    // A wrong input width names the layer.
    let m = Maxout::new(3, 4, 5);
    let _s = build(&m, 1);
    let (x, _) = input(1, &[2, 4]);
    let e = m.forward(&x, true).unwrap_err().to_string();
    assert!(
        e.contains("Maxout(in_features=3") && e.contains("[N, 3]"),
        "{e}"
    );
}
