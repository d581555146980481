//! `arch = "dcgan-tf"`: carpedm20/DCGAN-tensorflow's players (the network of VEEGAN's and
//! PacGAN's Stacked MNIST experiments), checked against that code's shapes and parameter
//! counts, and trained a few steps with its schedule (G stepped twice).

mod common;

use common::mnist_tiny;
use gan_data::ImageShape;
use gan_nn::{Module, ParamStore, StoreConfig, Var};
use gan_tensor::Context;
use gan_train::models::{discriminator, generator, tf_sides, ItemShape};
use gan_train::{Arch, Config, Trainer};

fn image(c: usize, side: usize) -> ItemShape {
    ItemShape::Image(ImageShape {
        channels: c,
        height: side,
        width: side,
    })
}

#[test]
fn sides_halve_rounding_up_as_same_convolutions() {
    assert_eq!(
        tf_sides(ImageShape::new(3, 28, 28)).unwrap(),
        [28, 14, 7, 4, 2]
    );
    assert_eq!(
        tf_sides(ImageShape::new(3, 32, 32)).unwrap(),
        [32, 16, 8, 4, 2]
    );
    assert_eq!(
        tf_sides(ImageShape::new(1, 64, 64)).unwrap(),
        [64, 32, 16, 8, 4]
    );
    let e = tf_sides(ImageShape::new(1, 28, 30))
        .unwrap_err()
        .to_string();
    assert!(e.contains("square"), "{e}");
}

/// Stacked MNIST's players (3x28x28, ngf = ndf = 64, z 100): the trainable parameters of
/// model.py's TF graph, counted by hand from its layers (kernels, biases, BN beta/gamma):
/// G 100x2048 + 2048, BN 512 (2 x 512), 5x5 deconvs 512->256->128->64->3 with biases and
/// BN on the first three: 4,514,819; D 5x5 convs 3->64->128->256->512 with biases, BN on
/// the last three, Linear 2048 -> 1: 4,310,401.
#[test]
fn stacked_mnist_players_match_the_tf_code() {
    let ctx = Context::new().unwrap();
    let cfg = Config {
        arch: Arch::DcganTf,
        ngf: 64,
        ndf: 64,
        latent_dim: 100,
        ..Config::default()
    };
    let item = image(3, 28);
    let (g, d) = (
        generator(&cfg, item).unwrap(),
        discriminator(&cfg, item).unwrap(),
    );
    let gs = ParamStore::build(&ctx, &g, &StoreConfig::seed(1)).unwrap();
    let ds = ParamStore::build(&ctx, &d, &StoreConfig::seed(2)).unwrap();
    assert_eq!(gs.num_parameters(), 4_514_819);
    assert_eq!(ds.num_parameters(), 4_310_401);
    assert_eq!(gs.get("0.weight").unwrap().dims(), &[2048, 100]);
    let z = Var::constant(gan_tensor::Tensor::rand_uniform(&ctx, &[2, 100], -1.0, 1.0, 0).unwrap());
    let x = g.forward(&z, true).unwrap();
    assert_eq!(x.dims(), &[2, 3, 28, 28]);
    assert_eq!(d.forward(&x, true).unwrap().dims(), &[2, 1]);
    // 32x32 and packing: D takes m images side by side in its channels.
    let packed = Config {
        pack: 2,
        ngf: 2,
        ndf: 2,
        ..cfg.clone()
    };
    let item = image(3, 32);
    let g = generator(&packed, item).unwrap();
    let d = discriminator(&packed, item).unwrap();
    let _gs = ParamStore::build(&ctx, &g, &StoreConfig::seed(1)).unwrap();
    let ds = ParamStore::build(&ctx, &d, &StoreConfig::seed(2)).unwrap();
    assert_eq!(ds.get("0.weight").unwrap().dims(), &[2, 6, 5, 5]);
    let x = g.forward(&z, true).unwrap();
    assert_eq!(x.dims(), &[2, 3, 32, 32]);
    let pair = x.reshape(&[1, 6, 32, 32]).unwrap();
    assert_eq!(d.forward(&pair, true).unwrap().dims(), &[1, 1]);
}

#[test]
fn it_trains_with_g_stepped_twice_and_refuses_what_it_lacks() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        arch: Arch::DcganTf,
        ngf: 4,
        ndf: 4,
        batch_size: 8,
        limit: 32,
        samples: 4,
        g_steps: 2,
        ..mnist_tiny(tmp.path(), 2)
    };
    let mut t = Trainer::new(&ctx, cfg.clone()).unwrap();
    t.train().unwrap();
    assert!(t
        .metrics()
        .iter()
        .all(|r| r.d_loss.is_finite() && r.g_loss.is_finite()));
    assert!(std::fs::read_to_string(tmp.path().join("config.toml"))
        .unwrap()
        .contains("arch = \"dcgan-tf\""));
    let cond = Config {
        conditional: true,
        ..cfg.clone()
    };
    assert!(cond
        .validate()
        .unwrap_err()
        .to_string()
        .contains("dcgan-tf"));
    let toy = Config {
        dataset: "ring8".into(),
        ..cfg
    };
    assert!(toy.validate().is_err());
}
