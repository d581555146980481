//! Configuration: defaults, TOML round trip, validation errors (no GPU).

use gan_train::{Arch, Config, GLoss, Prior, IMAGE_DEFAULTS, TOY_DEFAULTS};

#[test]
fn defaults_round_trip_through_toml() {
    let c = Config::default();
    assert_eq!(
        (c.lr_g(), c.lr_d(), c.dropout(), c.beta1, c.beta2),
        (2e-4, 2e-4, 0.3, 0.5, 0.999)
    );
    assert_eq!(
        (c.arch, c.prior, c.loss, c.k),
        (Arch::Mlp, Prior::Normal, GLoss::NonSaturating, 1)
    );
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("loss = \"non-saturating\""), "{text}");
    assert_eq!(Config::from_toml(&text).unwrap(), c);
    // The data-dependent fields are written once resolved.
    let text = toml::to_string(&c.resolved().unwrap()).unwrap();
    assert!(text.contains("lr_g = 0.0002"), "{text}");
    assert!(text.contains("dropout = 0.3"), "{text}");
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

/// The toy rule lives in the library: 2-D data get lr 1e-3 and no dropout unless set.
#[test]
fn toy_data_defaults_through_the_library() {
    let ring = Config {
        dataset: "ring8".into(),
        ..Config::default()
    };
    assert_eq!(
        (ring.lr_g(), ring.lr_d(), ring.dropout()),
        (1e-3, 1e-3, 0.0)
    );
    let r = ring.resolved().unwrap();
    assert_eq!(
        (r.lr_g, r.lr_d, r.dropout),
        (Some(1e-3), Some(1e-3), Some(0.0))
    );
    assert_eq!(
        (TOY_DEFAULTS.lr_g, TOY_DEFAULTS.dropout),
        (1e-3, 0.0),
        "the documented toy defaults"
    );
    // An explicit value is kept; only the unset ones are reported and filled in.
    let set = Config {
        lr_g: Some(5e-4),
        ..ring.clone()
    };
    assert_eq!(
        set.unset_data_defaults(),
        vec![("lr_d", 1e-3), ("dropout", 0.0)]
    );
    let r = set.resolved().unwrap();
    assert_eq!(
        (r.lr_g, r.lr_d, r.dropout),
        (Some(5e-4), Some(1e-3), Some(0.0))
    );
    assert!(r.unset_data_defaults().is_empty());
    // Images keep the image defaults; so does a bare file naming no rates.
    let img = Config::from_toml("dataset = \"mnist\"").unwrap();
    assert_eq!(img.lr_g, None);
    let r = img.resolved().unwrap();
    assert_eq!(
        (r.lr_g, r.lr_d, r.dropout),
        (
            Some(IMAGE_DEFAULTS.lr_g),
            Some(IMAGE_DEFAULTS.lr_d),
            Some(IMAGE_DEFAULTS.dropout)
        )
    );
    let toy_file = Config::from_toml("dataset = \"grid25\"\ndropout = 0.1").unwrap();
    assert_eq!((toy_file.lr_d(), toy_file.dropout()), (1e-3, 0.1));
    // Out-of-range values are still refused, set or not.
    let bad = Config {
        dropout: Some(1.0),
        ..ring
    };
    assert!(bad.validate().unwrap_err().to_string().contains("dropout"));
}

/// A run's config.toml from before the data-dependent defaults (explicit `lr_g = 0.0002`
/// etc.) still loads, and its numeric hash is the `config_hash` it was recorded with, so
/// the run still resumes.
#[test]
fn committed_run_config_keeps_its_hash() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/runs/mnist-mlp-default/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let recorded = table["run"]["config_hash"].as_str().unwrap();
    let cfg = Config::load(&path).unwrap();
    assert_eq!(
        (cfg.lr_g, cfg.lr_d, cfg.dropout),
        (Some(2e-4), Some(2e-4), Some(0.3))
    );
    assert_eq!(cfg.numeric_hash(), recorded);
    let resolved = cfg.resolved().unwrap();
    assert_eq!(resolved, cfg, "an explicit config resolves to itself");
    assert_eq!(resolved.numeric_hash(), recorded);
    // The default job, resolved, is that run's numbers.
    let default = Config {
        out_dir: cfg.out_dir.clone(),
        log_every: cfg.log_every,
        ..Config::default()
    };
    assert_eq!(default.resolved().unwrap().numeric_hash(), recorded);
}

/// A run's `[config]` table written before EMA and spectral norm existed reads them as
/// off, whatever today's default is, and keeps its hash; a bare config file (what a user
/// passes with --config) takes today's defaults for the keys it lacks.
#[test]
fn run_files_read_later_features_as_off() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/runs/mnist-mlp-default/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("ema_decay") && !text.contains("spectral_norm"));
    let cfg = Config::from_toml(&text).unwrap();
    assert_eq!(cfg.ema_decay, 0.0);
    assert_eq!(cfg.ema_warmup, 10.0);
    assert_eq!(cfg.spectral_norm, gan_train::SpectralNorm::None);
    // The same keys set in the file win, and change the hash.
    let on = text.replace("[config]\n", "[config]\nema_decay = 0.99\n");
    let on = Config::from_toml(&on).unwrap();
    assert_eq!(on.ema_decay, 0.99);
    assert_ne!(on.numeric_hash(), cfg.numeric_hash());
    // A bare table lacking them takes today's defaults.
    let bare = Config::from_toml("steps = 10").unwrap();
    assert_eq!(bare.ema_decay, Config::default().ema_decay);
    assert_eq!(bare.spectral_norm, Config::default().spectral_norm);
}

fn parse(args: &[&str]) -> clap::ArgMatches {
    Config::command_args(clap::Command::new("t"))
        .try_get_matches_from(std::iter::once("t").chain(args.iter().copied()))
        .unwrap()
}

/// The flags come from the struct: defaults from `Config::default()`, and only the flags
/// given are reported (a flag equal to the default still counts as given).
#[test]
fn flags_are_the_config_fields() {
    let mut cmd = Config::command_args(clap::Command::new("t"));
    let help = cmd.render_long_help().to_string();
    let d = Config::default();
    let after = |flag: &str| {
        let i = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} missing:\n{help}"));
        let rest = &help[i + flag.len()..];
        rest[..rest.find("\n      --").unwrap_or(rest.len())].to_string()
    };
    let batch = after("--batch-size");
    assert!(
        batch.contains(&format!("[default: {}]", d.batch_size)),
        "{batch}"
    );
    assert!(after("--arch").contains("[default: mlp]"));
    assert!(after("--loss").contains("[default: non-saturating]"));
    let lr = after("--lr-g");
    assert!(
        lr.contains(&format!(
            "[default: {}; 2-D toy data: {}]",
            IMAGE_DEFAULTS.lr_g, TOY_DEFAULTS.lr_g
        )),
        "{lr}"
    );

    let m = parse(&[]);
    assert!(Config::given_flags(&m).unwrap().is_empty());
    let m = parse(&[
        "ring8",
        "--batch-size",
        "128",
        "--g-hidden",
        "64,32",
        "--arch",
        "mlp",
        "--loss",
        "minimax",
        "--lr-d",
        "0.01",
        "--keep-checkpoints",
        "--out",
        "x",
    ]);
    let given = Config::given_flags(&m).unwrap();
    let keys: Vec<&str> = given.keys().map(|k| k.as_str()).collect();
    let mut want = vec![
        "dataset",
        "batch_size",
        "g_hidden",
        "arch",
        "loss",
        "lr_d",
        "keep_checkpoints",
        "out_dir",
    ];
    want.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, want);
    let base = Config {
        batch_size: 64,
        seed: 5,
        ..Config::default()
    };
    let c = base.overridden(&given).unwrap();
    assert_eq!(c.batch_size, 128, "the flag wins over the base");
    assert_eq!(c.seed, 5, "the base wins over the default");
    assert_eq!(
        (
            c.dataset.as_str(),
            c.g_hidden.clone(),
            c.loss,
            c.lr_d,
            c.lr_g
        ),
        ("ring8", vec![64, 32], GLoss::Minimax, Some(0.01), None)
    );
    assert!(c.keep_checkpoints);
    assert_eq!(c.out_dir, std::path::PathBuf::from("x"));
    let e = Config::command_args(clap::Command::new("t"))
        .try_get_matches_from(["t", "--prior", "cauchy"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cauchy") && e.contains("uniform"), "{e}");
}

/// g_batchnorm and d_maxout: left out of config.toml while off (old runs keep their
/// hash), read back when on, refused with arch = dcgan, and a resume that turns one on
/// is a difference even though the saved table lacks the key.
#[test]
fn layer_options_round_trip_and_differ() {
    let off = Config::default();
    let t = off.to_table();
    assert!(!t.contains_key("g_batchnorm") && !t.contains_key("d_maxout"));
    let on = Config {
        g_batchnorm: true,
        d_maxout: 5,
        ..Config::default()
    };
    let text = toml::to_string(&on.to_table()).unwrap();
    assert!(text.contains("g_batchnorm = true") && text.contains("d_maxout = 5"));
    assert_eq!(Config::from_toml(&text).unwrap(), on);
    assert_ne!(off.numeric_hash(), on.numeric_hash());
    let diffs = off.numeric_diffs(&on).join(", ");
    assert!(diffs.contains("d_maxout: (missing) -> 5"), "{diffs}");
    assert!(diffs.contains("g_batchnorm: (missing) -> true"), "{diffs}");
    assert!(!on.numeric_diffs(&off).is_empty());
    let dcgan = Config {
        arch: Arch::Dcgan,
        ..on.clone()
    };
    let e = dcgan.validate().unwrap_err().to_string();
    assert!(
        e.contains("g_batchnorm and d_maxout") && e.contains("mlp"),
        "{e}"
    );
    let m = parse(&["--d-maxout", "3", "--g-batchnorm"]);
    let given = Config::given_flags(&m).unwrap();
    let cfg = Config::default().overridden(&given).unwrap();
    assert!(cfg.g_batchnorm && cfg.d_maxout == 3);
    let m = parse(&[]);
    assert!(Config::given_flags(&m).unwrap().is_empty());
}
