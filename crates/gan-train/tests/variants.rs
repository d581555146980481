//! Objective variants, architectures, PacGAN, and divergence handling.

mod common;

use common::{mnist_tiny, ring8};
use gan_tensor::Context;
use gan_train::{read_latest, Arch, Config, GLoss, Prior, TrainError, Trainer};

#[test]
fn minimax_uniform_k2_smoothing_pack() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        loss: GLoss::Minimax,
        prior: Prior::Uniform,
        k: 2,
        label_smoothing: 0.1,
        pack: 2,
        steps: 3,
        ..ring8(tmp.path(), 3)
    };
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train().unwrap();
    let last = *t.metrics().last().unwrap();
    // Minimax: G minimises -BCE(fake, 0) <= 0.
    assert!(last.g_loss < 0.0, "{last:?}");
    // Smoothing changes D's loss but not the value estimate: V != -d_loss.
    assert!((last.value + last.d_loss).abs() > 1e-4, "{last:?}");
    assert!((0.0..=1.0).contains(&last.d_real) && (0.0..=1.0).contains(&last.d_fake));
    // The value is the unsmoothed V: V = log D(x) + log(1 - D(G(z))) <= 0.
    assert!(last.value < 0.0);
    // pack 2: D sees 2 points at once (4 inputs).
    let d_in = t
        .gan()
        .discriminator
        .store
        .get("disc.0.weight")
        .unwrap()
        .dims()
        .to_vec();
    assert_eq!(d_in, vec![16, 4]);
}

#[test]
fn dcgan_28_trains_with_pytorch_names() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        arch: Arch::Dcgan,
        ngf: 4,
        ndf: 4,
        batch_size: 8,
        limit: 32,
        samples: 4,
        ..mnist_tiny(tmp.path(), 2)
    };
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train().unwrap();
    let (g, d) = (&t.gan().generator.store, &t.gan().discriminator.store);
    let names = g.names();
    assert_eq!(names[0], "gen.1.weight"); // 0 is the Unflatten of z
    assert_eq!(g.get("gen.1.weight").unwrap().dims(), &[8, 8, 7, 7]);
    assert!(names.contains(&"gen.2.running_mean".to_string()));
    assert_eq!(d.get("disc.0.weight").unwrap().dims(), &[4, 1, 4, 4]);
    assert!(t.metrics().iter().all(|r| r.d_loss.is_finite()));
}

#[test]
fn dcgan_32_players_have_the_right_shapes() {
    use gan_data::ImageShape;
    use gan_nn::{Module, ParamStore, StoreConfig, Var};
    use gan_train::models::{discriminator, generator, ItemShape};
    let ctx = Context::new().unwrap();
    let cfg = Config {
        arch: Arch::Dcgan,
        ngf: 2,
        ndf: 2,
        latent_dim: 3,
        ..Config::default()
    };
    let item = ItemShape::Image(ImageShape {
        channels: 3,
        height: 32,
        width: 32,
    });
    let g = generator(&cfg, item).unwrap();
    let d = discriminator(&cfg, item).unwrap();
    let _gs = ParamStore::build(&ctx, &g, &StoreConfig::seed(1)).unwrap();
    let _ds = ParamStore::build(&ctx, &d, &StoreConfig::seed(2)).unwrap();
    let z = Var::constant(gan_tensor::Tensor::rand_normal(&ctx, &[2, 3], 0.0, 1.0, 0).unwrap());
    let x = g.forward(&z, true).unwrap();
    assert_eq!(x.dims(), &[2, 3, 32, 32]);
    assert_eq!(d.forward(&x, true).unwrap().dims(), &[2, 1]);
    let bad = ItemShape::Image(ImageShape {
        channels: 1,
        height: 20,
        width: 20,
    });
    assert!(generator(&cfg, bad)
        .err()
        .unwrap()
        .to_string()
        .contains("28x28 or 32x32"));
}

#[test]
fn divergence_stops_naming_the_step_and_keeps_the_last_good_checkpoint() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nan");
    let cfg = Config {
        checkpoint_every: 1,
        ..mnist_tiny(&dir, 30)
    };
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train_until(3).unwrap();
    // Absurd learning rates blow the weights up to inf on the next step.
    t.set_learning_rates(1e30, 1e30);
    let e = t.train().unwrap_err();
    let TrainError::NonFinite {
        step,
        last_checkpoint,
        ..
    } = &e
    else {
        panic!("expected NonFinite, got {e}");
    };
    assert_eq!((*step, *last_checkpoint), (4, 3), "{e}");
    assert!(e.to_string().contains("step 4"), "{e}");
    let latest = read_latest(&dir).unwrap();
    assert_eq!(latest.step, 3);
    assert!(dir.join(&latest.checkpoint).join("g.safetensors").is_file());
    // The kept checkpoint is usable.
    assert!(gan_train::generate(&ctx, &dir, 2, 0, None)
        .unwrap()
        .values
        .iter()
        .all(|v| v.is_finite()));
}

/// PacGAN's 2-D players (Lin et al. 2018): G 2-400-400-400-400-2 with BatchNorm + ReLU,
/// D three maxout layers of 200 units x 5 pieces, from the flags of `gan train`; a short
/// ring8 run trains with finite losses and PyTorch's state_dict names in the checkpoint.
#[test]
fn pacgan_2d_players_train_from_the_flags() {
    let flags = [
        "ring8",
        "--g-hidden",
        "400,400,400,400",
        "--g-batchnorm",
        "--d-hidden",
        "200,200,200",
        "--d-maxout",
        "5",
        "--lr-g",
        "1e-4",
        "--lr-d",
        "1e-4",
        "--beta1",
        "0.8",
        "--batch-size",
        "100",
    ];
    let m = Config::command_args(clap::Command::new("t"))
        .try_get_matches_from(std::iter::once("t").chain(flags))
        .unwrap();
    let given = Config::given_flags(&m).unwrap();
    assert_eq!(given["g_batchnorm"].as_bool(), Some(true));
    assert_eq!(given["d_maxout"].as_integer(), Some(5));
    let tmp = tempfile::tempdir().unwrap();
    let base = Config {
        latent_dim: 2,
        limit: 500,
        steps: 3,
        log_every: 1,
        samples: 16,
        checkpoint_every: 3,
        out_dir: tmp.path().to_path_buf(),
        ..Config::default()
    };
    let cfg = base.overridden(&given).unwrap();
    assert!(cfg.g_batchnorm && cfg.d_maxout == 5 && cfg.batch_size == 100);
    let ctx = Context::new().unwrap();
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    t.train().unwrap();
    assert_eq!(t.metrics().len(), 3);
    for r in t.metrics() {
        assert!(r.d_loss.is_finite() && r.g_loss.is_finite(), "{r:?}");
    }
    let (g, d) = (&t.gan().generator.store, &t.gan().discriminator.store);
    // gen: Linear(2, 400, bias=False), BatchNorm1d(400), ReLU, ... x 4, Linear(400, 2).
    let gn = g.names();
    assert_eq!(
        gn[..6],
        [
            "gen.0.weight",
            "gen.1.weight",
            "gen.1.bias",
            "gen.1.running_mean",
            "gen.1.running_var",
            "gen.1.num_batches_tracked"
        ]
    );
    assert_eq!(g.get("gen.9.weight").unwrap().dims(), &[400, 400]);
    assert_eq!(g.get("gen.12.weight").unwrap().dims(), &[2, 400]);
    assert!(g.get("gen.12.bias").is_some() && g.get("gen.0.bias").is_none());
    // disc: Maxout(2, 200, 5) x 3 (`self.lin = nn.Linear(in, 1000)`), Linear(200, 1).
    assert_eq!(
        d.names(),
        [
            "disc.0.lin.weight",
            "disc.0.lin.bias",
            "disc.1.lin.weight",
            "disc.1.lin.bias",
            "disc.2.lin.weight",
            "disc.2.lin.bias",
            "disc.3.weight",
            "disc.3.bias"
        ]
    );
    assert_eq!(d.get("disc.0.lin.weight").unwrap().dims(), &[1000, 2]);
    assert_eq!(d.get("disc.1.lin.weight").unwrap().dims(), &[1000, 200]);
    assert_eq!(d.get("disc.3.weight").unwrap().dims(), &[1, 200]);
    // The files carry the same names (safetensors: u64 header length, JSON header).
    let ck = gan_train::rundir::checkpoint_dir(tmp.path(), None).unwrap();
    for (file, name) in [
        ("g.safetensors", "gen.4.running_var"),
        ("d.safetensors", "disc.2.lin.bias"),
    ] {
        let bytes = std::fs::read(ck.join(file)).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8_lossy(&bytes[8..8 + n]);
        assert!(header.contains(&format!("\"{name}\"")), "{file}: {header}");
    }
    // Sampling uses the running statistics (eval mode) and stays finite.
    assert!(t.fixed_samples().unwrap().iter().all(|v| v.is_finite()));
}
