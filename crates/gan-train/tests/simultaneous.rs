//! The update schedule: `simultaneous` (G's gradient taken against the D of the same
//! forward pass, before D's update: ALI's and PacGAN's order) and `g_steps` (G stepped
//! again on the same latents: carpedm20's DCGAN-tensorflow).

mod common;

use common::{ctx, ring8};
use gan_train::feed::DataFeed;
use gan_train::{load_dataset, train_step, Config, Gan, ItemShape, Optimizers};

/// G's and D's weights after `steps` steps of `cfg` (k = 2: the first D step of each
/// iteration is always applied before G's).
fn after(cfg: &Config, steps: u64, k: usize) -> (Vec<u32>, Vec<u32>) {
    let ctx = ctx();
    let cfg = cfg.resolved().unwrap();
    let data = load_dataset(&cfg).unwrap();
    let item = ItemShape::for_config(&cfg, data.shape());
    let gan = Gan::new(&ctx, &cfg, item).unwrap();
    let mut opt = Optimizers::new(&gan, &cfg).unwrap();
    let mut feed = DataFeed::new(data, item, cfg.batch_size, cfg.seed).unwrap();
    for s in 0..steps {
        train_step(&gan, &mut opt, k, s * k as u64, |b| feed.batch(&ctx, b)).unwrap();
    }
    let bits = |t: &gan_tensor::Tensor| t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect();
    (
        bits(gan.generator.store.values()),
        bits(gan.discriminator.store.values()),
    )
}

#[test]
fn g_plays_the_d_before_its_update_when_simultaneous() {
    let tmp = tempfile::tempdir().unwrap();
    let base = Config {
        simultaneous: true,
        lr_d: Some(1e-3),
        ..ring8(tmp.path(), 1)
    };
    let big_d_step = Config {
        lr_d: Some(0.5),
        ..base.clone()
    };
    // One step, k = 1: G's update cannot depend on how far D moved in the same step.
    let (g_small, d_small) = after(&base, 1, 1);
    let (g_big, d_big) = after(&big_d_step, 1, 1);
    assert_eq!(g_small, g_big, "simultaneous: G's first update ignores D's");
    assert_ne!(d_small, d_big);
    // Alternating (the default): it does.
    let alt = |c: &Config| Config {
        simultaneous: false,
        ..c.clone()
    };
    let (ga_small, da_small) = after(&alt(&base), 1, 1);
    let (ga_big, _) = after(&alt(&big_d_step), 1, 1);
    assert_ne!(ga_small, ga_big, "alternating: G plays the updated D");
    // D's own step is the same computation in both orders.
    assert_eq!(da_small, d_small);
    // With k = 2 the first D step lands before G's gradient in both orders.
    let (g2_small, _) = after(&base, 1, 2);
    let (g2_big, _) = after(&big_d_step, 1, 2);
    assert_ne!(g2_small, g2_big);
}

#[test]
fn the_flag_is_written_only_when_on() {
    let tmp = tempfile::tempdir().unwrap();
    let off = ring8(tmp.path(), 1);
    assert!(!off.to_table().contains_key("simultaneous"));
    let on = Config {
        simultaneous: true,
        ..off.clone()
    };
    assert_eq!(on.to_table()["simultaneous"].as_bool(), Some(true));
    assert_ne!(on.numeric_hash(), off.numeric_hash());
}

/// `g_steps = 2`: two Adam steps of G per iteration on the same latents; D's step is
/// untouched; the flag is written only when not 1 and 0 is refused.
#[test]
fn g_steps_steps_g_again_on_the_same_latents() {
    let tmp = tempfile::tempdir().unwrap();
    let one = ring8(tmp.path(), 1);
    let two = Config {
        g_steps: 2,
        ..one.clone()
    };
    let (g1, d1) = after(&one, 1, 1);
    let (g2, d2) = after(&two, 1, 1);
    assert_eq!(d1, d2, "D steps before G's steps");
    assert_ne!(g1, g2);
    // Two iterations of g_steps = 1 are not two G steps on the same latents.
    let (g11, _) = after(&one, 2, 1);
    assert_ne!(g11, g2);
    assert!(!one.to_table().contains_key("g_steps"));
    assert_eq!(two.to_table()["g_steps"].as_integer(), Some(2));
    let zero = Config {
        g_steps: 0,
        ..one.clone()
    };
    assert!(zero.validate().unwrap_err().to_string().contains("g_steps"));
}

/// A run with both schedule options resumes bit for bit (G's Adam step count and G_ema's
/// t run ahead of the iteration count).
#[test]
fn a_run_with_both_options_resumes_exactly() {
    use gan_train::{read_latest, Trainer};
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = |dir: &std::path::Path| Config {
        simultaneous: true,
        g_steps: 2,
        ema_decay: 0.9,
        checkpoint_every: 3,
        ..ring8(dir, 6)
    };
    let straight = tmp.path().join("straight");
    Trainer::new(&ctx, cfg(&straight)).unwrap().train().unwrap();
    let cut = tmp.path().join("cut");
    let mut t = Trainer::new(&ctx, cfg(&cut)).unwrap();
    t.train_until(3).unwrap();
    drop(t);
    assert_eq!(read_latest(&cut).unwrap().step, 3);
    let c = cfg(&cut);
    Trainer::resume(&ctx, &cut, Some(&c))
        .unwrap()
        .train()
        .unwrap();
    let dir_of = |d: &std::path::Path| d.join(read_latest(d).unwrap().checkpoint);
    let (a, b) = (dir_of(&straight), dir_of(&cut));
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert!(
        names.iter().any(|n| n.contains("ema")),
        "G_ema saved: {names:?}"
    );
    for f in &names {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs after the resume");
    }
}
