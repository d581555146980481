//! G_ema, the moving average of G's weights: the recurrence, the copied buffers, its own
//! BatchNorm statistics, the checkpoint file, an exact resume, and what samples use.

mod common;

use common::{ctx, mnist_tiny, ring8};
use gan_nn::Role;
use gan_train::feed::DataFeed;
use gan_train::{load_dataset, load_gan, train_step, Arch, Config, Gan, ItemShape, Optimizers};
use gan_train::{TrainError, Trainer};

/// A tiny DCGAN (BatchNorm in G: running statistics and num_batches_tracked) with G_ema.
fn dcgan_ema(dir: &std::path::Path, steps: u64) -> Config {
    Config {
        arch: Arch::Dcgan,
        ngf: 4,
        ndf: 4,
        batch_size: 8,
        limit: 32,
        samples: 4,
        ema_decay: 0.9,
        ema_warmup: 10.0,
        ..mnist_tiny(dir, steps)
    }
}

fn host(t: &gan_tensor::Tensor) -> Vec<f32> {
    t.to_vec().unwrap()
}

/// After each of 5 steps G_ema equals the host recurrence over G's values read back after
/// that step, with decay_t = min(0.9, (1 + t) / (10 + t)) (0.18, 0.25, 0.31, 0.36, 0.4):
/// the GPU computes each update in f32 (products and sum rounded once each, maybe fused),
/// the host in f64 with f32 storage; values of ~0.1 differ by a few ulp per update, so
/// rtol 1e-5 and atol 1e-7 over 5 updates. The buffers are G's, bit for bit.
#[test]
fn ema_follows_the_recurrence_and_copies_buffers() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = dcgan_ema(tmp.path(), 5).resolved().unwrap();
    let data = load_dataset(&cfg).unwrap();
    let item = ItemShape::for_config(&cfg, data.shape());
    let gan = Gan::new(&ctx, &cfg, item).unwrap();
    let ema = gan.ema.as_ref().expect("ema_decay > 0 builds G_ema");
    let (gs, es) = (&gan.generator.store, &ema.player.store);
    assert_eq!(host(es.values()), host(gs.values()), "G_ema starts as G");
    let names = es.names();
    assert_eq!(names[0], "gen_ema.1.weight");
    assert!(names.contains(&"gen_ema.2.num_batches_tracked".to_string()));

    let mut opt = Optimizers::new(&gan, &cfg).unwrap();
    let mut feed = DataFeed::new(data, item, cfg.batch_size, cfg.seed).unwrap();
    let mut want = host(gs.values());
    for t in 1..=5u64 {
        train_step(&gan, &mut opt, 1, t - 1, |b| feed.batch(&ctx, b)).unwrap();
        let decay = 0.9f64.min((1.0 + t as f64) / (10.0 + t as f64));
        assert_eq!(ema.decay_at(t), decay);
        gan_tensor::reference::optim::ema_update(&mut want, &host(gs.values()), decay);
        let got = host(es.values());
        gan_tensor::testing::assert_close(
            &format!("G_ema after step {t}"),
            &got,
            &want,
            1e-5,
            1e-7,
        );
    }
    assert_ne!(host(es.values()), host(gs.values()), "G_ema is not G");
    let mut buffers = 0;
    for (g, e) in gs.entries().iter().zip(es.entries()) {
        match (g.offset, g.param.role()) {
            (Some(_), _) => {}
            (None, Role::Counter) => {
                assert_eq!(g.param.counter(), 5, "{}", g.name);
                assert_eq!(e.param.counter(), 5, "{}", e.name);
                buffers += 1;
            }
            (None, _) => {
                let (a, b) = (
                    host(&g.param.tensor().unwrap()),
                    host(&e.param.tensor().unwrap()),
                );
                assert_eq!(a, b, "{} is copied, not averaged", e.name);
                buffers += 1;
            }
        }
    }
    assert!(buffers >= 3, "the DCGAN generator has BatchNorm buffers");
    // Samples come from G_ema; the raw G's differ.
    let (a, b) = (
        gan.sample(4, 1, None).unwrap(),
        gan.sample_raw(4, 1, None).unwrap(),
    );
    assert_ne!(a.values, b.values);
}

/// Without ema_decay there is no G_ema and `sample` is the raw G's.
#[test]
fn no_ema_by_default() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = ring8(tmp.path(), 1);
    let gan = Gan::new(&ctx, &cfg, ItemShape::Points(2)).unwrap();
    assert!(gan.ema.is_none());
    assert_eq!(
        gan.sample(8, 3, None).unwrap(),
        gan.sample_raw(8, 3, None).unwrap()
    );
    let bad = Config {
        ema_decay: 1.0,
        ..cfg.clone()
    };
    let e = Gan::new(&ctx, &bad, ItemShape::Points(2)).err().unwrap();
    assert!(e.to_string().contains("ema_decay"), "{e}");
    let bad = Config {
        ema_warmup: f64::NAN,
        ..cfg
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("ema_warmup"));
}

/// A run with G_ema saves gen_ema.safetensors, loads it for inference, and a resumed run
/// ends with the very G_ema (and samples) of an uninterrupted one.
#[test]
fn ema_checkpoint_round_trip_and_exact_resume() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let straight_dir = tmp.path().join("straight");
    let mut t = Trainer::new(&ctx, dcgan_ema(&straight_dir, 6)).unwrap();
    t.train().unwrap();
    let straight = host(t.gan().ema.as_ref().unwrap().player.store.values());
    let straight_samples = t.fixed_samples().unwrap();
    drop(t);

    let dir = tmp.path().join("resumed");
    let cfg = dcgan_ema(&dir, 6);
    let mut t = Trainer::new(&ctx, cfg.clone()).unwrap();
    t.train_until(3).unwrap();
    let at3 = host(t.gan().ema.as_ref().unwrap().player.store.values());
    drop(t);
    let ckpt = dir.join(gan_train::read_latest(&dir).unwrap().checkpoint);
    assert!(ckpt.join("gen_ema.safetensors").is_file());
    let loaded = load_gan(&ctx, &dir, None).unwrap();
    assert_eq!(
        host(loaded.ema.as_ref().unwrap().player.store.values()),
        at3
    );
    drop(loaded);

    let mut t = Trainer::resume(&ctx, &dir, Some(&cfg)).unwrap();
    t.train().unwrap();
    let resumed = host(t.gan().ema.as_ref().unwrap().player.store.values());
    assert_eq!(
        resumed, straight,
        "resumed G_ema differs from the uninterrupted one"
    );
    assert_eq!(t.fixed_samples().unwrap(), straight_samples);
    drop(t);
    // G_ema's own BatchNorm statistics too: the final checkpoints' files are the same bytes.
    let ema_file = |d: &std::path::Path| {
        let c = d.join(gan_train::read_latest(d).unwrap().checkpoint);
        std::fs::read(c.join("gen_ema.safetensors")).unwrap()
    };
    assert_eq!(ema_file(&dir), ema_file(&straight_dir));

    // A missing or corrupt gen_ema file is the same clear error as a missing G.
    let ckpt = dir.join(gan_train::read_latest(&dir).unwrap().checkpoint);
    let file = ckpt.join("gen_ema.safetensors");
    std::fs::write(&file, b"junk").unwrap();
    let e = load_gan(&ctx, &dir, None).err().unwrap();
    assert!(matches!(e, TrainError::CorruptCheckpoint { .. }), "{e}");
    assert!(e.to_string().contains("gen_ema.safetensors"), "{e}");
    std::fs::remove_file(&file).unwrap();
    let e = load_gan(&ctx, &dir, None).err().unwrap();
    assert!(
        e.to_string().contains("gen_ema.safetensors") && e.to_string().contains("missing"),
        "{e}"
    );
}

/// A checkpoint written without G_ema loads with no G_ema (the file is not needed).
#[test]
fn checkpoint_without_ema_still_loads() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(&ctx, ring8(tmp.path(), 2)).unwrap();
    t.train().unwrap();
    drop(t);
    let gan = load_gan(&ctx, tmp.path(), None).unwrap();
    assert!(gan.ema.is_none());
}

/// The EMA fields change a run's numbers: they enter the hash and the resume check once
/// set, but leave the hash of a config at their defaults as it was before they existed.
#[test]
fn ema_fields_are_numeric() {
    let tmp = tempfile::tempdir().unwrap();
    let base = ring8(tmp.path(), 1);
    let mut table = base.to_table();
    table.remove("ema_decay");
    table.remove("ema_warmup");
    let old = Config::from_table(table).unwrap();
    assert_eq!(old.numeric_hash(), base.numeric_hash());
    for other in [
        Config {
            ema_decay: 0.999,
            ..base.clone()
        },
        Config {
            ema_warmup: 5.0,
            ..base.clone()
        },
    ] {
        assert_ne!(other.numeric_hash(), base.numeric_hash());
        let diffs = base.numeric_diffs(&other).join(", ");
        assert!(diffs.contains("ema_"), "{diffs}");
    }
}

/// G_ema's BatchNorm statistics are its own: after `refresh_ema_statistics` the first
/// BatchNorm's running mean and variance are the momentum-0.1 recurrence, from 0 and 1,
/// over the batch means and unbiased variances of z W^T for the 100 latent batches of
/// `ema::STAT_SEED` (computed here on the host from G_ema's first weight); the counters
/// stay G's, G's own statistics are untouched, and a second refresh gives the same bits.
#[test]
fn ema_statistics_are_its_own_and_reproducible() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        g_batchnorm: true,
        ema_decay: 0.99,
        ..ring8(tmp.path(), 1)
    }
    .resolved()
    .unwrap();
    let gan = Gan::new(&ctx, &cfg, ItemShape::Points(2)).unwrap();
    let ema = gan.ema.as_ref().unwrap();
    assert!(ema.has_statistics());
    let batch = 32;
    assert!(gan.refresh_ema_statistics(batch).unwrap());
    let es = &ema.player.store;
    let first = |role: Role| {
        es.entries()
            .iter()
            .find(|e| e.offset.is_none() && e.param.role() == role)
            .unwrap()
    };
    let (rm, rv) = (first(Role::BufferZeros), first(Role::BufferOnes));
    assert!(rm.name.ends_with("running_mean"), "{}", rm.name);
    let w = es
        .entries()
        .iter()
        .find(|e| e.param.role() == Role::Weight)
        .unwrap();
    let (out, inp) = (w.param.dims()[0], w.param.dims()[1]);
    assert_eq!(inp, cfg.latent_dim);
    let wv = host(&w.param.tensor().unwrap());
    let (mut mean_want, mut var_want) = (vec![0f64; out], vec![1f64; out]);
    for i in 0..gan_train::ema::STAT_BATCHES {
        let z = gan_train::sample_prior(&ctx, cfg.prior, batch, inp, gan_train::ema::STAT_SEED, i)
            .unwrap();
        let z = host(&z);
        for j in 0..out {
            let h: Vec<f64> = (0..batch)
                .map(|b| {
                    (0..inp)
                        .map(|k| z[b * inp + k] as f64 * wv[j * inp + k] as f64)
                        .sum()
                })
                .collect();
            let mean = h.iter().sum::<f64>() / batch as f64;
            let var = h.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (batch - 1) as f64;
            mean_want[j] = 0.9 * mean_want[j] + 0.1 * mean;
            var_want[j] = 0.9 * var_want[j] + 0.1 * var;
        }
    }
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
    let (got_mean, got_var) = (
        host(&rm.param.tensor().unwrap()),
        host(&rv.param.tensor().unwrap()),
    );
    gan_tensor::testing::assert_close("running_mean", &got_mean, &f32s(&mean_want), 1e-4, 1e-6);
    gan_tensor::testing::assert_close("running_var", &got_var, &f32s(&var_want), 1e-4, 1e-6);
    // G's statistics are untouched (still the initial zeros), its counters are kept.
    for (g, e) in gan.generator.store.entries().iter().zip(es.entries()) {
        match (g.offset, g.param.role()) {
            (None, Role::BufferZeros) => {
                assert!(host(&g.param.tensor().unwrap()).iter().all(|&x| x == 0.0))
            }
            (None, Role::Counter) => assert_eq!(e.param.counter(), g.param.counter()),
            _ => {}
        }
    }
    gan.refresh_ema_statistics(batch).unwrap();
    assert_eq!(host(&rm.param.tensor().unwrap()), got_mean);
    assert_eq!(host(&rv.param.tensor().unwrap()), got_var);
    // Without BatchNorm there is nothing to refresh.
    let plain = Gan::new(
        &ctx,
        &Config {
            g_batchnorm: false,
            ..cfg
        },
        ItemShape::Points(2),
    )
    .unwrap();
    assert!(!plain.refresh_ema_statistics(batch).unwrap());
}
