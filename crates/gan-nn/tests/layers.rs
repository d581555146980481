//! Layers: PyTorch names, forward outputs against gan-tensor's CPU reference, BatchNorm
//! running statistics, train vs eval, dropout. The parameter store (initialisers,
//! layout, errors, no_grad, freezing) is tested in layers_store.rs.

use gan_nn::{
    Activation, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Flatten, InitScheme,
    LeakyReLU, Linear, Module, Named, ParamStore, ReLU, Sequential, Sigmoid, StoreConfig, Tanh,
    Var,
};
use gan_tensor::conv::{Conv2dParams, ConvTranspose2dParams};
use gan_tensor::reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

mod common;
use common::ctx;
mod layers_common;
use layers_common::{build, host, input, mlp};

#[test]
fn mlp_names_match_pytorch_state_dict() {
    let model = mlp();
    let store = build(&model, 1);
    // print(list(mlp.state_dict().keys())) for the nn.Sequential above:
    let expected = [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "3.weight",
        "3.bias",
        "3.running_mean",
        "3.running_var",
        "3.num_batches_tracked",
        "6.weight",
        "6.bias",
    ];
    assert_eq!(store.names(), expected);
    // [n for n, _ in mlp.named_parameters()]:
    let params = [
        "0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias", "6.weight", "6.bias",
    ];
    assert_eq!(store.parameter_names(), params);
    assert_eq!(store.get("0.weight").unwrap().dims(), &[8, 2]);
    assert_eq!(store.get("6.weight").unwrap().dims(), &[1, 8]);
    assert_eq!(
        store.get("3.num_batches_tracked").unwrap().dims(),
        &[] as &[usize]
    );
    assert_eq!(store.num_parameters(), 16 + 8 + 64 + 8 + 8 + 8 + 8 + 1);

    // Nested like a GAN module with attributes `gen` holding `layers`:
    // class G(nn.Module): self.layers = nn.Sequential(...); class GAN: self.gen = G()
    let gan = Named::new().add("gen", Named::new().add("layers", mlp()));
    let store = build(&gan, 1);
    assert_eq!(store.names()[0], "gen.layers.0.weight");
    assert_eq!(store.names()[8], "gen.layers.3.num_batches_tracked");
    // A prefix does the same without wrapper modules.
    let m = mlp();
    let s = ParamStore::build(&ctx(), &m, &StoreConfig::seed(1).prefix("gen.layers")).unwrap();
    assert_eq!(s.names()[10], "gen.layers.6.bias");
}

/// A small DCGAN pair (nz = 16, 16x16 single-channel images), as in PyTorch's DCGAN
/// tutorial with `self.main = nn.Sequential(...)`.
fn dcgan_generator() -> Named {
    let main = Sequential::new()
        .add(ConvTranspose2d::new(16, 32, 4).no_bias()) // 1x1 -> 4x4
        .add(BatchNorm2d::new(32))
        .add(ReLU)
        .add(
            ConvTranspose2d::new(32, 16, 4)
                .stride(2)
                .padding(1)
                .no_bias(),
        ) // -> 8x8
        .add(BatchNorm2d::new(16))
        .add(ReLU)
        .add(
            ConvTranspose2d::new(16, 1, 4)
                .stride(2)
                .padding(1)
                .no_bias(),
        ) // -> 16x16
        .add(Tanh);
    Named::new().add("main", main)
}

fn dcgan_discriminator() -> Named {
    let main = Sequential::new()
        .add(Conv2d::new(1, 16, 4).stride(2).padding(1).no_bias()) // -> 8x8
        .add(LeakyReLU::new(0.2))
        .add(Conv2d::new(16, 32, 4).stride(2).padding(1).no_bias()) // -> 4x4
        .add(BatchNorm2d::new(32))
        .add(LeakyReLU::new(0.2))
        .add(Conv2d::new(32, 1, 4).no_bias()) // -> 1x1
        .add(Flatten);
    Named::new().add("main", main)
}

#[test]
fn dcgan_names_shapes_and_forward() {
    let g = dcgan_generator();
    let gs = ParamStore::build(&ctx(), &g, &StoreConfig::seed(3).init(InitScheme::Dcgan)).unwrap();
    // list(netG.state_dict().keys()):
    let expected_g = [
        "main.0.weight",
        "main.1.weight",
        "main.1.bias",
        "main.1.running_mean",
        "main.1.running_var",
        "main.1.num_batches_tracked",
        "main.3.weight",
        "main.4.weight",
        "main.4.bias",
        "main.4.running_mean",
        "main.4.running_var",
        "main.4.num_batches_tracked",
        "main.6.weight",
    ];
    assert_eq!(gs.names(), expected_g);
    // ConvTranspose2d keeps PyTorch's [in, out, kh, kw].
    assert_eq!(gs.get("main.0.weight").unwrap().dims(), &[16, 32, 4, 4]);
    assert_eq!(gs.get("main.6.weight").unwrap().dims(), &[16, 1, 4, 4]);

    let d = dcgan_discriminator();
    let ds = ParamStore::build(&ctx(), &d, &StoreConfig::seed(4).init(InitScheme::Dcgan)).unwrap();
    // list(netD.state_dict().keys()):
    let expected_d = [
        "main.0.weight",
        "main.2.weight",
        "main.3.weight",
        "main.3.bias",
        "main.3.running_mean",
        "main.3.running_var",
        "main.3.num_batches_tracked",
        "main.5.weight",
    ];
    assert_eq!(ds.names(), expected_d);
    assert_eq!(ds.get("main.2.weight").unwrap().dims(), &[32, 16, 4, 4]);

    let (z, _) = input(1, &[2, 16, 1, 1]);
    let img = g.forward(&z, true).unwrap();
    assert_eq!(img.dims(), &[2, 1, 16, 16]);
    let v = img.value().to_vec().unwrap();
    assert!(v.iter().all(|x| x.abs() <= 1.0));
    let logits = d.forward(&img, true).unwrap();
    assert_eq!(logits.dims(), &[2, 1]);
    // Gradients reach both models' flat gradient buffers.
    logits.sum_all().unwrap().backward().unwrap();
    for s in [&gs, &ds] {
        let g = s.grads().to_vec().unwrap();
        assert!(g.iter().any(|x| *x != 0.0));
        assert!(g.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn linear_forward_matches_reference_with_and_without_fusion() {
    let lin = Linear::new(5, 3);
    let store = build(&lin, 7);
    let (x, xs) = input(2, &[4, 5]);
    let (w, b) = (host(lin.weight()), host(lin.bias().unwrap()));
    let y = lin.forward(&x, true).unwrap().value().to_vec().unwrap();
    let want = reference::matmul::matmul(&xs, &w, Some(&b), 4, 5, 3, false, true, Activation::None);
    assert_close("linear", &y, &want, 1e-5, 1e-5);
    drop(store);

    // Linear + Tanh in a Sequential runs fused; same result as unfused.
    for fuse in [true, false] {
        let seq = Sequential::new()
            .add(Linear::new(5, 3))
            .add(Tanh)
            .add(Linear::new(3, 2))
            .add(Sigmoid)
            .fuse(fuse);
        let _s = build(&seq, 8);
        let y = seq.forward(&x, true).unwrap().value().to_vec().unwrap();
        let p = |n: &str| host(_s.get(n).unwrap());
        let h = reference::matmul::matmul(
            &xs,
            &p("0.weight"),
            Some(&p("0.bias")),
            4,
            5,
            3,
            false,
            true,
            Activation::Tanh,
        );
        let want = reference::matmul::matmul(
            &h,
            &p("2.weight"),
            Some(&p("2.bias")),
            4,
            3,
            2,
            false,
            true,
            Activation::Sigmoid,
        );
        assert_close(&format!("mlp fuse={fuse}"), &y, &want, 1e-5, 1e-5);
    }
}

#[test]
fn convolutions_match_reference() {
    let conv = Conv2d::new(3, 4, 3).stride(2).padding(1);
    let _s = build(&conv, 9);
    let (x, xs) = input(3, &[2, 3, 7, 6]);
    let y = conv.forward(&x, true).unwrap();
    let (want, dims) = reference::conv::conv2d_forward(
        &xs,
        [2, 3, 7, 6],
        &host(conv.weight()),
        [4, 3, 3, 3],
        Some(&host(conv.bias().unwrap())),
        Conv2dParams::new(2, 1),
    );
    assert_eq!(y.dims(), dims);
    assert_close("conv2d", &y.value().to_vec().unwrap(), &want, 1e-5, 1e-5);

    let up = ConvTranspose2d::new(3, 2, 4)
        .stride(2)
        .padding(1)
        .output_padding(1);
    let _s = build(&up, 10);
    let y = up.forward(&x, true).unwrap();
    let p = ConvTranspose2dParams {
        output_padding: (1, 1),
        ..ConvTranspose2dParams::new(2, 1)
    };
    let (want, dims) = reference::conv::conv_transpose2d_forward(
        &xs,
        [2, 3, 7, 6],
        &host(up.weight()),
        [3, 2, 4, 4],
        Some(&host(up.bias().unwrap())),
        p,
    );
    assert_eq!(y.dims(), dims);
    assert_close(
        "conv_transpose2d",
        &y.value().to_vec().unwrap(),
        &want,
        1e-5,
        1e-5,
    );
}

#[test]
fn conv_describe_matches_pytorch_repr() {
    // No device needed: describe() reads only the configuration.
    let conv = Conv2d::new(3, 4, 3).stride(2).padding(1);
    assert_eq!(
        conv.describe(),
        "Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=True)"
    );
    let conv = Conv2d::new_hw(1, 2, (5, 3)).no_bias();
    assert_eq!(
        conv.describe(),
        "Conv2d(1, 2, kernel_size=(5, 3), stride=(1, 1), padding=(0, 0), bias=False)"
    );
    let up = ConvTranspose2d::new(3, 2, 4)
        .stride(2)
        .padding(1)
        .output_padding(1)
        .no_bias();
    assert_eq!(
        up.describe(),
        "ConvTranspose2d(3, 2, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), \
         output_padding=(1, 1), bias=False)"
    );
}

#[test]
fn batchnorm_train_eval_and_running_stats_follow_pytorch() {
    let bn = BatchNorm2d::new(3);
    let _s = ParamStore::build(&ctx(), &bn, &StoreConfig::seed(5).init(InitScheme::Dcgan)).unwrap();
    let (gamma, beta) = (host(bn.weight()), host(bn.bias()));
    assert_eq!(host(bn.running_mean()), vec![0.0; 3]);
    assert_eq!(host(bn.running_var()), vec![1.0; 3]);
    let dims = [4, 3, 2, 5];
    let (mut rm, mut rv) = (vec![0.0f32; 3], vec![1.0f32; 3]);
    for step in 0..3u64 {
        let (x, xs) = input(20 + step, &dims);
        let y = bn.forward(&x, true).unwrap().value().to_vec().unwrap();
        // running = (1 - 0.1) running + 0.1 batch (unbiased variance), as PyTorch.
        let (want, _, _) = reference::batchnorm::batch_norm_train(
            &xs, &dims, &gamma, &beta, &mut rm, &mut rv, 0.1, 1e-5,
        );
        assert_close("bn train", &y, &want, 1e-4, 1e-5);
        assert_close("running_mean", &host(bn.running_mean()), &rm, 1e-5, 1e-6);
        assert_close("running_var", &host(bn.running_var()), &rv, 1e-5, 1e-6);
    }
    assert_eq!(bn.num_batches_tracked(), 3);

    // Eval uses the running statistics and leaves them (and the counter) alone.
    let (x, xs) = input(40, &dims);
    let y_eval = bn.forward(&x, false).unwrap().value().to_vec().unwrap();
    let want = reference::batchnorm::batch_norm_eval(&xs, &dims, &gamma, &beta, &rm, &rv, 1e-5);
    assert_close("bn eval", &y_eval, &want, 1e-5, 1e-5);
    assert_eq!(bn.num_batches_tracked(), 3);
    assert_close("rm unchanged", &host(bn.running_mean()), &rm, 1e-5, 1e-6);
    let y_train = bn.forward(&x, true).unwrap().value().to_vec().unwrap();
    assert!(y_train
        .iter()
        .zip(&y_eval)
        .any(|(a, b)| (a - b).abs() > 1e-3));

    // BatchNorm1d on [N, C], checking the formula by hand for one channel.
    let bn1 = BatchNorm1d::new(2);
    let _s1 = build(&bn1, 6);
    let x = Tensor::from_slice(
        &ctx(),
        &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 6.0, 40.0],
        &[4, 2],
    )
    .unwrap();
    bn1.forward(&Var::constant(x), true).unwrap();
    // channel 0: mean 3, unbiased var ((4 + 1 + 0 + 9) / 3) = 14/3
    let rm = host(bn1.running_mean());
    let rv = host(bn1.running_var());
    assert!((rm[0] - 0.3).abs() < 1e-6, "{rm:?}");
    assert!((rv[0] - (0.9 + 0.1 * 14.0 / 3.0)).abs() < 1e-5, "{rv:?}");
}

/// A batch split into pieces (processes or micro-batches) drops exactly the elements the
/// whole batch drops: piece p of P draws elements p * numel.. of the step's stream, and
/// rewinding the counter (set_steps) redraws the same step.
#[test]
fn dropout_of_a_shard_is_that_part_of_the_whole_batch_mask() {
    let (p, rows, cols) = (0.3, 12, 7);
    let values: Vec<f32> = (0..rows * cols).map(|i| 1.0 + i as f32).collect();
    let whole_model = Sequential::new().add(Dropout::new(p).seed(5));
    let x = Var::constant(Tensor::from_slice(&ctx(), &values, &[rows, cols]).unwrap());
    let whole = whole_model
        .forward(&x, true)
        .unwrap()
        .value()
        .to_vec()
        .unwrap();
    let model = Sequential::new().add(Dropout::new(p).seed(5));
    let rng = |f: &mut dyn FnMut(&gan_nn::RngState)| {
        model.visit("", &mut |_, slot| {
            if let gan_nn::Slot::Rng(r) = slot {
                f(r)
            }
        })
    };
    let pieces = 3;
    let per = rows / pieces;
    let mut joined = Vec::new();
    for piece in 0..pieces {
        rng(&mut |r| {
            r.set_steps(0);
            r.set_shard(piece, pieces);
        });
        let part = &values[piece * per * cols..(piece + 1) * per * cols];
        let xp = Var::constant(Tensor::from_slice(&ctx(), part, &[per, cols]).unwrap());
        joined.extend(model.forward(&xp, true).unwrap().value().to_vec().unwrap());
    }
    assert_eq!(joined, whole);
    let mut steps = 0;
    rng(&mut |r| steps = r.steps());
    assert_eq!(steps, 1, "each piece rewound to the step's stream");
}

#[test]
fn dropout_differs_per_step_and_is_identity_in_eval() {
    let p = 0.25;
    let model = Sequential::new().add(Dropout::new(p));
    let _s = build(&model, 11);
    let x = Var::constant(Tensor::full(&ctx(), &[64, 64], 1.0).unwrap());
    let a = model.forward(&x, true).unwrap().value().to_vec().unwrap();
    let b = model.forward(&x, true).unwrap().value().to_vec().unwrap();
    assert_ne!(a, b, "a new mask every step");
    let scale = 1.0 / (1.0 - p);
    assert!(a.iter().all(|v| *v == 0.0 || (v - scale).abs() < 1e-6));
    let dropped = a.iter().filter(|v| **v == 0.0).count() as f32 / a.len() as f32;
    assert!((dropped - p).abs() < 0.03, "dropped fraction {dropped}");
    let e = model.forward(&x, false).unwrap().value().to_vec().unwrap();
    assert!(e.iter().all(|v| *v == 1.0), "eval is the identity");

    // Same store seed: the same masks in the same order; another seed: others.
    let again = Sequential::new().add(Dropout::new(p));
    let _s2 = build(&again, 11);
    assert_eq!(
        again.forward(&x, true).unwrap().value().to_vec().unwrap(),
        a
    );
    let other = Sequential::new().add(Dropout::new(p));
    let _s3 = build(&other, 12);
    assert_ne!(
        other.forward(&x, true).unwrap().value().to_vec().unwrap(),
        a
    );
}

/// BatchNorm followed by ReLU or LeakyReLU runs as one kernel each way in training: the
/// output, every gradient and the running statistics are the bits of the separate layers,
/// with two launches fewer per pair and pass; eval mode runs them apart.
#[test]
fn batch_norm_with_a_following_activation_runs_fused_with_the_same_bits() {
    let run = |fuse: bool| {
        let seq = Sequential::new()
            .add(Conv2d::new(3, 4, 3).padding(1))
            .add(BatchNorm2d::new(4))
            .add(ReLU)
            .add(Conv2d::new(4, 2, 3))
            .add(BatchNorm2d::new(2))
            .add(LeakyReLU::new(0.2))
            .add(Flatten)
            .add(Linear::new(2 * 3 * 4, 6))
            .add(BatchNorm1d::new(6))
            .add(ReLU)
            .add(Linear::new(6, 1))
            .fuse(fuse);
        // A context of its own: the launch count must not see other tests' launches.
        let c = gan_tensor::Context::new().unwrap();
        let store = ParamStore::build(&c, &seq, &StoreConfig::seed(12)).unwrap();
        let xs = gan_tensor::testing::random(13, 5 * 3 * 5 * 6, -1.0, 1.0);
        let x = Var::constant(Tensor::from_slice(&c, &xs, &[5, 3, 5, 6]).unwrap());
        c.sync().unwrap();
        let before = c.stats().dispatches;
        let y = seq.forward(&x, true).unwrap();
        y.mul(&y).unwrap().sum_all().unwrap().backward().unwrap();
        c.sync().unwrap();
        let launches = c.stats().dispatches - before;
        let eval = seq.forward(&x, false).unwrap().value().to_vec().unwrap();
        let bits = |t: &Tensor| {
            t.to_vec()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        let out = (
            bits(y.value()),
            bits(store.grads()),
            bits(store.values()),
            eval,
        );
        (out, launches)
    };
    let (fused, n_fused) = run(true);
    let (apart, n_apart) = run(false);
    assert_eq!(fused.0, apart.0, "output");
    assert_eq!(fused.1, apart.1, "gradients");
    assert_eq!(fused.2, apart.2, "parameters and running statistics");
    assert_eq!(fused.3, apart.3, "eval output");
    // Three BatchNorm + activation pairs, one launch fewer each forward and backward.
    assert_eq!(
        n_apart - n_fused,
        6,
        "launches {n_apart} apart, {n_fused} fused"
    );
}
