//! Class-conditional GANs: the players' forward passes against host computations, the
//! checkpoint names, the refusals and `judge_for` (the trained run whose classes the
//! classifier sees is in conditional_trained.rs).

mod common;

use common::{ctx, mnist_tiny, ring8};
use gan_data::ImageShape;
use gan_nn::Var;
use gan_train::{conditional, Config, Gan, ItemShape, Trainer};

const SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: 4,
    width: 4,
};

fn small(dir: &std::path::Path) -> Config {
    Config {
        conditional: true,
        latent_dim: 3,
        g_hidden: vec![5],
        d_hidden: vec![6],
        dropout: Some(0.0),
        ..mnist_tiny(dir, 1)
    }
}

fn get(gan: &Gan, name: &str) -> Vec<f32> {
    let (g, d) = (&gan.generator.store, &gan.discriminator.store);
    let p = g.get(name).or_else(|| d.get(name)).unwrap();
    p.tensor().unwrap().to_vec().unwrap()
}

/// act(W x + b) for W [out, in] row-major.
fn linear(w: &[f32], b: &[f32], x: &[f32]) -> Vec<f64> {
    let n = x.len();
    b.iter()
        .enumerate()
        .map(|(o, &bo)| bo as f64 + (0..n).map(|i| (w[o * n + i] * x[i]) as f64).sum::<f64>())
        .collect()
}

fn leaky(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        0.2 * v
    }
}

#[test]
fn names_and_shapes_are_those_of_the_pytorch_module() {
    let tmp = tempfile::tempdir().unwrap();
    let gan = Gan::with_classes(&ctx(), &small(tmp.path()), ItemShape::Image(SHAPE), 3).unwrap();
    let g = gan.generator.store.names();
    let d = gan.discriminator.store.names();
    assert_eq!(
        g,
        [
            "gen.0.weight",
            "gen.0.bias",
            "gen.2.weight",
            "gen.2.bias",
            "gen_embed.weight"
        ]
    );
    assert_eq!(
        d,
        [
            "disc.1.weight",
            "disc.1.bias",
            "disc.3.weight",
            "disc.3.bias",
            "disc_embed.weight"
        ]
    );
    assert_eq!(
        gan.generator.store.get("gen_embed.weight").unwrap().dims(),
        &[3, 5]
    );
    assert_eq!(
        gan.discriminator
            .store
            .get("disc_embed.weight")
            .unwrap()
            .dims(),
        &[3, 6]
    );
    assert_eq!(gan.classes(), Some(3));
}

/// logit = psi(phi(x)) + <E_D[y], phi(x)> (Miyato & Koyama 2018, eq. 3) and
/// G(z, y) = tanh(W2 leaky(W1 z + b1 + E_G[y]) + b2), computed on the host.
#[test]
fn projection_logit_and_generator_shift_match_host() {
    let tmp = tempfile::tempdir().unwrap();
    let gan = Gan::with_classes(&ctx(), &small(tmp.path()), ItemShape::Image(SHAPE), 3).unwrap();
    let labels = [2u32, 0, 1, 2];
    let y = gan.upload_labels(&labels).unwrap();
    let xs = gan_tensor::testing::random(11, 4 * 16, -1.0, 1.0);
    let x = gan_tensor::Tensor::from_slice(&ctx(), &xs, &[4, 1, 4, 4]).unwrap();
    let logits = gan
        .discriminate_for(&Var::constant(x), Some(&y), false)
        .unwrap()
        .value()
        .to_vec()
        .unwrap();
    let (w1, b1, w2, b2, e) = (
        get(&gan, "disc.1.weight"),
        get(&gan, "disc.1.bias"),
        get(&gan, "disc.3.weight"),
        get(&gan, "disc.3.bias"),
        get(&gan, "disc_embed.weight"),
    );
    for (i, &c) in labels.iter().enumerate() {
        let phi: Vec<f64> = linear(&w1, &b1, &xs[i * 16..(i + 1) * 16])
            .into_iter()
            .map(leaky)
            .collect();
        let phi32: Vec<f32> = phi.iter().map(|&v| v as f32).collect();
        let psi = linear(&w2, &b2, &phi32)[0];
        let proj: f64 = (0..6).map(|k| e[c as usize * 6 + k] as f64 * phi[k]).sum();
        let want = psi + proj;
        assert!(
            (logits[i] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "item {i}: {} vs {want}",
            logits[i]
        );
    }
    // The projection term is there: another class changes the logit.
    let y2 = gan.upload_labels(&[0, 1, 2, 0]).unwrap();
    let x = gan_tensor::Tensor::from_slice(&ctx(), &xs, &[4, 1, 4, 4]).unwrap();
    let other = gan
        .discriminate_for(&Var::constant(x), Some(&y2), false)
        .unwrap();
    assert_ne!(other.value().to_vec().unwrap(), logits);

    let zs = gan_tensor::testing::random(12, 4 * 3, -1.0, 1.0);
    let z = gan_tensor::Tensor::from_slice(&ctx(), &zs, &[4, 3]).unwrap();
    let out = gan.sample_at_for(z, Some(&labels)).unwrap();
    let (w1, b1, w2, b2, e) = (
        get(&gan, "gen.0.weight"),
        get(&gan, "gen.0.bias"),
        get(&gan, "gen.2.weight"),
        get(&gan, "gen.2.bias"),
        get(&gan, "gen_embed.weight"),
    );
    for (i, &c) in labels.iter().enumerate() {
        let h: Vec<f32> = linear(&w1, &b1, &zs[i * 3..(i + 1) * 3])
            .iter()
            .enumerate()
            .map(|(k, &v)| leaky(v + e[c as usize * 5 + k] as f64) as f32)
            .collect();
        let want: Vec<f64> = linear(&w2, &b2, &h).into_iter().map(f64::tanh).collect();
        for (k, w) in want.iter().enumerate() {
            let got = out[i * 16 + k] as f64;
            assert!((got - w).abs() < 1e-4, "item {i} value {k}: {got} vs {w}");
        }
    }
}

#[test]
fn refusals_say_why_and_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let c = ctx();
    // Unlabelled 2-D mixtures.
    let cfg = Config {
        conditional: true,
        ..ring8(tmp.path(), 1)
    };
    let err = Trainer::new(&c, cfg).err().unwrap().to_string();
    assert!(
        err.contains("class-labelled") && err.contains("drop --conditional"),
        "{err}"
    );
    // Packing.
    let cfg = Config {
        pack: 2,
        ..small(tmp.path())
    };
    let err = Trainer::new(&c, cfg).err().unwrap().to_string();
    assert!(
        err.contains("pack = 2") && err.contains("pack = 1"),
        "{err}"
    );
    // A dataset without labels (e.g. a folder without class subfolders).
    let data = gan_data::Dataset::new(vec![0.0; 32], SHAPE, None, 0).unwrap();
    let err = conditional::conditional_classes(&small(tmp.path()), &data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no class labels"), "{err}");
    // Gan::new cannot build conditional players (no class count).
    let err = Gan::new(&c, &small(tmp.path()), ItemShape::Image(SHAPE))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("with_classes"), "{err}");
    // Out-of-range classes, and labels given to or withheld from the wrong game.
    let gan = Gan::with_classes(&c, &small(tmp.path()), ItemShape::Image(SHAPE), 3).unwrap();
    let err = gan.upload_labels(&[0, 3]).unwrap_err().to_string();
    assert!(err.contains("class 3") && err.contains("below 3"), "{err}");
    let z = gan.latents(2, 0).unwrap();
    let err = gan.generate(&z, false).unwrap_err().to_string();
    assert!(err.contains("class-conditional"), "{err}");
    let plain = Gan::new(
        &c,
        &Config {
            conditional: false,
            ..small(tmp.path())
        },
        ItemShape::Image(SHAPE),
    )
    .unwrap();
    let err = plain.upload_labels(&[0]).unwrap_err().to_string();
    assert!(err.contains("unconditional"), "{err}");
}

#[test]
fn fake_classes_are_seeded_and_uniform() {
    let a = gan_train::seeds::uniform_classes(1, 5, 3000, 3);
    assert_eq!(a, gan_train::seeds::uniform_classes(1, 5, 3000, 3));
    assert_ne!(a, gan_train::seeds::uniform_classes(1, 6, 3000, 3));
    for c in 0..3 {
        let n = a.iter().filter(|&&v| v == c).count();
        assert!((900..1100).contains(&n), "class {c}: {n} of 3000");
    }
}

/// `judge_for` is sigmoid(D(x, y)) item by item, across its chunks of 256; a conditional
/// D refuses to judge without classes, and the label count must match.
#[test]
fn judge_for_is_the_projection_discriminator_with_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let c = ctx();
    let gan = Gan::with_classes(&c, &small(tmp.path()), ItemShape::Image(SHAPE), 3).unwrap();
    let n = 300; // two chunks
    let xs = gan_tensor::testing::random(21, n * 16, -1.0, 1.0);
    let labels: Vec<u32> = (0..n as u32).map(|i| (i * 7 + 1) % 3).collect();
    let got = gan.judge_for(&xs, Some(&labels)).unwrap();
    assert_eq!(got.len(), n);
    let x = gan_tensor::Tensor::from_slice(&c, &xs, &[n, 1, 4, 4]).unwrap();
    let y = gan.upload_labels(&labels).unwrap();
    let logits = gan
        .discriminate_for(&Var::constant(x), Some(&y), false)
        .unwrap()
        .value()
        .to_vec()
        .unwrap();
    for (i, (&g, &l)) in got.iter().zip(&logits).enumerate() {
        let want = 1.0 / (1.0 + (-l as f64).exp());
        assert!((g as f64 - want).abs() < 1e-5, "item {i}: {g} vs {want}");
    }
    // The class matters: every item judged as class 0 instead.
    let zeros = vec![0u32; n];
    assert_ne!(gan.judge_for(&xs, Some(&zeros)).unwrap(), got);

    let err = gan.judge(&xs).unwrap_err().to_string();
    assert!(
        err.contains("class-conditional (3 classes)") && err.contains("one class per item"),
        "{err}"
    );
    let err = gan
        .judge_for(&xs, Some(&labels[..5]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("300 items came with 5 class labels"), "{err}");
    let mut bad = labels.clone();
    bad[299] = 3;
    let err = gan.judge_for(&xs, Some(&bad)).unwrap_err().to_string();
    assert!(err.contains("class 3"), "{err}");
    let plain = Gan::new(
        &c,
        &Config {
            conditional: false,
            ..small(tmp.path())
        },
        ItemShape::Image(SHAPE),
    )
    .unwrap();
    let err = plain.judge_for(&xs, Some(&labels)).unwrap_err().to_string();
    assert!(err.contains("unconditional"), "{err}");
    assert_eq!(plain.judge(&xs).unwrap().len(), n);
}
