//! Configuration: defaults, TOML round trip, validation errors (no GPU).

use gan_train::{Arch, Config, GLoss, Prior};

#[test]
fn defaults_round_trip_through_toml() {
    let c = Config::default();
    assert_eq!((c.lr_g, c.lr_d, c.beta1, c.beta2), (2e-4, 2e-4, 0.5, 0.999));
    assert_eq!(
        (c.arch, c.prior, c.loss, c.k),
        (Arch::Mlp, Prior::Normal, GLoss::NonSaturating, 1)
    );
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("loss = \"non-saturating\""), "{text}");
    assert!(text.contains("lr_g = 0.0002"), "{text}");
    assert_eq!(Config::from_toml(&text).unwrap(), c);
    // A partial file takes defaults; a [config] table (config.toml) works too.
    let p = Config::from_toml("arch = \"dcgan\"\nk = 2").unwrap();
    assert_eq!((p.arch, p.k, p.batch_size), (Arch::Dcgan, 2, 128));
    let q = Config::from_toml("[config]\nprior = \"uniform\"\n[run]\nadapter = \"x\"").unwrap();
    assert_eq!(q.prior, Prior::Uniform);
}

#[test]
fn resolved_fills_widths_per_data_kind() {
    let c = Config::default().resolved().unwrap();
    assert_eq!(c.g_hidden, vec![256, 512, 1024]);
    assert_eq!(c.d_hidden, vec![512, 256]);
    let t = Config {
        dataset: "grid25".into(),
        ..Config::default()
    }
    .resolved()
    .unwrap();
    assert_eq!(t.g_hidden, vec![128, 128]);
}

#[test]
fn bad_values_are_named() {
    let err = |c: Config| c.validate().unwrap_err().to_string();
    assert!(err(Config {
        pack: 3,
        ..Config::default()
    })
    .contains("pack"));
    assert!(err(Config {
        k: 0,
        ..Config::default()
    })
    .contains("k "));
    assert!(err(Config {
        label_smoothing: 0.7,
        ..Config::default()
    })
    .contains("label_smoothing"));
    assert!(err(Config {
        dataset: "nope".into(),
        ..Config::default()
    })
    .contains("unknown dataset"));
    assert!(err(Config {
        dataset: "ring8".into(),
        arch: Arch::Dcgan,
        ..Config::default()
    })
    .contains("mlp"));
    assert!(err(Config {
        steps: 0,
        epochs: 0,
        ..Config::default()
    })
    .contains("steps"));
    let e = Config::from_toml("learning_rate = 1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("learning_rate"), "{e}");
}

#[test]
fn numeric_hash_ignores_bookkeeping_fields() {
    let a = Config::default();
    let b = Config {
        steps: 5,
        log_every: 7,
        out_dir: "elsewhere".into(),
        ..Config::default()
    };
    assert_eq!(a.numeric_hash(), b.numeric_hash());
    assert!(a.numeric_diffs(&b).is_empty());
    let c = Config {
        seed: 2,
        ..Config::default()
    };
    assert_ne!(a.numeric_hash(), c.numeric_hash());
    assert_eq!(a.numeric_diffs(&c), vec!["seed: 1 -> 2".to_string()]);
}
