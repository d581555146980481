//! `simultaneous`: G's gradient is taken against the D of the same forward pass, before
//! D's update (ALI's and PacGAN's order), instead of against the updated D.

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
