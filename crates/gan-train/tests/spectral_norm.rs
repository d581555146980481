//! `spectral_norm = "d"` (Miyato et al. 2018) end to end: a short ring8 run trains with
//! finite losses, its discriminator checkpoint holds PyTorch's `weight_orig`, `weight_u`,
//! `weight_v`, and an interrupted run resumes to exactly the uninterrupted numbers (u and
//! v come back from the checkpoint).

mod common;

use std::path::Path;

use common::{numbers, ring8};
use gan_tensor::Context;
use gan_train::rundir::checkpoint_dir;
use gan_train::{read_metrics, Arch, Config, SpectralNorm, Trainer};

/// The tensor names in a safetensors file's header.
fn checkpoint_keys(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    String::from_utf8(bytes[8..8 + n].to_vec()).unwrap()
}

#[test]
fn spectral_norm_d_trains_saves_u_v_and_resumes_exactly() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = |dir: &Path| Config {
        spectral_norm: SpectralNorm::D,
        ..ring8(dir, 12)
    };

    let straight_dir = tmp.path().join("straight");
    let mut t = Trainer::new(&ctx, cfg(&straight_dir)).unwrap();
    t.train().unwrap();
    let straight = numbers(t.metrics());
    assert_eq!(straight.len(), 12);
    assert!(t
        .metrics()
        .iter()
        .all(|r| r.d_loss.is_finite() && r.g_loss.is_finite()));
    let d = &t.gan().discriminator.store;
    // d_hidden [16, 16]: Linear 0, 2, 4 (LeakyReLU between), the last included.
    for i in [0, 2, 4] {
        for e in ["bias", "weight_orig", "weight_u", "weight_v"] {
            let name = format!("disc.{i}.{e}");
            assert!(d.get(&name).is_some(), "{name} missing: {:?}", d.names());
        }
        assert!(d.get(&format!("disc.{i}.weight")).is_none());
    }
    assert_eq!(d.get("disc.0.weight_v").unwrap().dims(), &[2]);
    assert_eq!(d.get("disc.4.weight_u").unwrap().dims(), &[1]);
    // G is untouched.
    assert!(t.gan().generator.store.get("gen.0.weight").is_some());
    drop(t);
    let d_file = checkpoint_dir(&straight_dir, None)
        .unwrap()
        .join("d.safetensors");
    let keys = checkpoint_keys(&d_file);
    for k in ["disc.4.weight_orig", "disc.4.weight_u", "disc.4.weight_v"] {
        assert!(keys.contains(&format!("\"{k}\"")), "{k} not in {keys}");
    }

    let dir = tmp.path().join("resumed");
    let mut t = Trainer::new(&ctx, cfg(&dir)).unwrap();
    t.train_until(5).unwrap();
    drop(t);
    let mut t = Trainer::resume(&ctx, &dir, Some(&cfg(&dir))).unwrap();
    t.train().unwrap();
    let resumed = numbers(&read_metrics(&dir).unwrap());
    assert_eq!(
        resumed, straight,
        "a resumed spectral-norm run differs from the uninterrupted one"
    );

    // Without spectral norm the numbers differ (the option does something).
    let plain_dir = tmp.path().join("plain");
    let mut t = Trainer::new(&ctx, ring8(&plain_dir, 12)).unwrap();
    t.train().unwrap();
    assert_ne!(numbers(t.metrics()), straight);
}

#[test]
fn spectral_norm_config_key_flag_and_hash() {
    let c = Config::from_toml("spectral_norm = \"both\"").unwrap();
    assert_eq!(c.spectral_norm, SpectralNorm::Both);
    assert!(c.spectral_norm.on_d() && c.spectral_norm.on_g());
    assert_eq!(Config::default().spectral_norm, SpectralNorm::None);
    let e = Config::from_toml("spectral_norm = \"x\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("spectral_norm") || e.contains("none"), "{e}");

    // A numeric field: changing it changes the hash and is named on resume; off, it
    // leaves the hash of runs recorded before it existed alone.
    let d = Config {
        spectral_norm: SpectralNorm::D,
        ..Config::default()
    };
    assert_ne!(d.numeric_hash(), Config::default().numeric_hash());
    assert_eq!(
        Config::default().numeric_diffs(&d),
        vec!["spectral_norm: \"none\" -> \"d\"".to_string()]
    );

    let m = Config::command_args(clap::Command::new("t"))
        .try_get_matches_from(["t", "--spectral-norm", "d"])
        .unwrap();
    let given = Config::given_flags(&m).unwrap();
    assert_eq!(
        Config::default().overridden(&given).unwrap().spectral_norm,
        SpectralNorm::D
    );

    // DCGAN's generator has only transposed convolutions: refused, with the way out.
    let g = Config {
        arch: Arch::Dcgan,
        spectral_norm: SpectralNorm::G,
        ..Config::default()
    };
    let e = g.validate().unwrap_err().to_string();
    assert!(
        e.contains("spectral_norm = \"g\"") && e.contains("\"d\""),
        "{e}"
    );
}

#[test]
fn dcgan_discriminator_is_normalized_to_its_last_layer() {
    use gan_data::ImageShape;
    use gan_nn::{ParamStore, StoreConfig};
    use gan_train::models::{discriminator, ItemShape};
    let ctx = Context::new().unwrap();
    let cfg = Config {
        arch: Arch::Dcgan,
        ndf: 2,
        spectral_norm: SpectralNorm::D,
        ..Config::default()
    };
    let item = ItemShape::Image(ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    });
    let d = discriminator(&cfg, item).unwrap();
    let s = ParamStore::build(&ctx, &d, &StoreConfig::seed(1).prefix("disc")).unwrap();
    let names = s.names();
    for n in [
        "disc.0.weight_orig",
        "disc.2.weight_orig",
        "disc.5.weight_orig",
    ] {
        assert!(names.contains(&n.to_string()), "{n} missing: {names:?}");
    }
    assert_eq!(s.get("disc.5.weight_v").unwrap().dims(), &[4 * 7 * 7]);
    assert!(names.contains(&"disc.3.running_mean".to_string()));
}
