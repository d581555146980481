//! A trained class-conditional run whose classes the MNIST classifier recognises: a small
//! MLP cGAN with a projection discriminator, trained for a few hundred steps on the
//! digits 0, 1 and 2 of the vendored MNIST, then asked for each class in turn. The
//! classifier (`data/classifier/mnist_lenet.safetensors`) must label far more of the
//! generated images with their requested class than chance (1/3) would.

mod common;

use std::time::Instant;

use common::ctx;
use gan_data::{Dataset, Split};
use gan_train::eval::classes::{default_classifier_path, MnistClassifier};
use gan_train::eval::conditional::{conditional_scores, ConditionalScores};
use gan_train::feed::DataFeed;
use gan_train::{train_step_labelled, Config, Gan, ItemShape, Optimizers};

/// Classes trained: the digits 0 .. CLASSES-1, whose labels are the digits themselves, so
/// the classifier's 10-way argmax compares with the requested class directly.
const CLASSES: usize = 3;
/// Training images per class.
const PER_CLASS: usize = 512;
/// Training steps.
const STEPS: u64 = 300;
/// Images generated per class for the score.
const PER_CLASS_GENERATED: usize = 100;

/// The first `per_class` training images of each digit below `classes`, labelled with
/// their digit.
fn digits(classes: usize, per_class: usize) -> Dataset {
    let mnist = gan_data::load_vendored_mnist(Split::Train).unwrap();
    let labels = mnist.labels().unwrap();
    let mut taken = vec![0; classes];
    let idx: Vec<usize> = (0..mnist.len())
        .filter(|&i| {
            let l = labels[i] as usize;
            let keep = l < classes && taken[l] < per_class;
            if keep {
                taken[l] += 1;
            }
            keep
        })
        .collect();
    assert_eq!(taken, vec![per_class; classes], "MNIST has enough of each");
    let sub = mnist.subset(&idx).unwrap();
    let (images, shape, labels, _) = sub.into_parts();
    Dataset::new(images, shape, labels, classes).unwrap()
}

/// The game trained: latent 32, G 32-256-784, D 784-256-1 (no dropout), batch 64,
/// Adam 2e-4 / beta1 0.5 (the config's defaults).
fn config(seed: u64) -> Config {
    Config {
        conditional: true,
        latent_dim: 32,
        g_hidden: vec![256],
        d_hidden: vec![256],
        dropout: Some(0.0),
        batch_size: 64,
        seed,
        ..Config::default()
    }
}

/// Trains a conditional run of `seed` for `steps` steps and scores `per_class` images of
/// each class with the classifier.
fn train_and_score(cfg: &Config, steps: u64, per_class: usize) -> ConditionalScores {
    let ctx = ctx();
    let seed = cfg.seed;
    let data = digits(CLASSES, PER_CLASS);
    let item = ItemShape::Image(data.shape());
    let gan = Gan::with_classes(&ctx, &cfg, item, CLASSES).unwrap();
    let mut opt = Optimizers::new(&gan, &cfg.resolved().unwrap()).unwrap();
    let mut feed = DataFeed::new(data, item, cfg.batch_size, seed).unwrap();
    let mut last = (f32::NAN, f32::NAN);
    for step in 0..steps {
        let out = train_step_labelled(&gan, &mut opt, 1, step, |b| {
            let (x, labels) = feed.batch_with_labels(&ctx, b)?;
            let y = gan.upload_labels(&labels.expect("labelled digits"))?;
            Ok((x, Some(y)))
        })
        .unwrap();
        if step + 1 == steps {
            let d = out.d_loss.total.value().to_vec().unwrap()[0];
            let g = out.g_loss.value().to_vec().unwrap()[0];
            last = (d, g);
        }
    }
    assert!(
        last.0.is_finite() && last.1.is_finite(),
        "losses {last:?}"
    );
    // Rows of classes: image i is class i / per_class.
    let requested: Vec<u32> = (0..CLASSES * per_class)
        .map(|i| (i / per_class) as u32)
        .collect();
    let generated = gan
        .sample_for(requested.len(), 99, None, Some(&requested))
        .unwrap();
    let classifier = MnistClassifier::load(&ctx, &default_classifier_path()).unwrap();
    let (features, logits) = classifier
        .features_and_logits(&ctx, &generated.values)
        .unwrap();
    let predicted = gan_train::eval::classes::argmax(&logits, 10);
    let mut hist = [0usize; 10];
    for p in &predicted {
        hist[*p as usize] += 1;
    }
    eprintln!("predicted classes: {hist:?}, last losses {last:?}");
    if let Ok(path) = std::env::var("GRID") {
        let path = format!("{path}-{seed}.png");
        let opts = gan_data::GridOptions {
            columns: per_class,
            ..Default::default()
        };
        let n = 10.min(per_class);
        let few: Vec<f32> = (0..CLASSES)
            .flat_map(|c| {
                generated.values[c * per_class * 784..(c * per_class + n) * 784].to_vec()
            })
            .collect();
        gan_data::write_grid(
            std::path::Path::new(&path),
            &few,
            generated.shape,
            gan_data::GridOptions { columns: n, ..opts },
        )
        .unwrap();
    }
    conditional_scores(
        &features,
        &logits,
        &requested,
        &[],
        classifier.feature_dim(),
        CLASSES,
    )
}

/// Agreement with the requested class after 300 steps. Measured (debug build,
/// lavapipe, 2 cores) over seeds 1..=5: see THRESHOLD's comment. An untrained or
/// class-blind generator scores about 1/3 (one class per latent whatever the label),
/// so the test fails if the class stops reaching G or D.
#[test]
fn classifier_recognises_the_requested_classes_after_training() {
    let start = Instant::now();
    let scores = train_and_score(&config(1), STEPS, PER_CLASS_GENERATED);
    eprintln!(
        "agreement {:.3} (chance {:.3}), per class {:?}, {:.1} s",
        scores.agreement,
        scores.chance,
        scores
            .per_class
            .iter()
            .map(|r| r.agreement)
            .collect::<Vec<_>>(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        scores.agreement >= THRESHOLD,
        "the classifier labels {:.3} of the generated images with their requested class \
         (chance {:.3}, threshold {THRESHOLD}): {:?}",
        scores.agreement,
        scores.chance,
        scores.per_class
    );
    for row in &scores.per_class {
        assert!(
            row.agreement > scores.chance,
            "class {} is recognised no better than chance: {row:?}",
            row.class
        );
    }
}

/// Measured agreement of seeds 1..=5 (see the test above); chance is 1/3.
const THRESHOLD: f64 = 0.7;

/// The sweep behind THRESHOLD: `cargo test -p gan-train --test conditional_trained --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn sweep_seeds() {
    let env = |k: &str| std::env::var(k).ok();
    let steps = env("STEPS").map_or(STEPS, |v| v.parse().unwrap());
    let seeds = env("SEEDS").map_or(5, |v| v.parse().unwrap());
    for seed in 1..=seeds {
        let start = Instant::now();
        let mut cfg = config(seed);
        if let Some(lr) = env("LRG") {
            cfg.lr_g = Some(lr.parse().unwrap());
        }
        if let Some(lr) = env("LRD") {
            cfg.lr_d = Some(lr.parse().unwrap());
        }
        if let Some(v) = env("DROPOUT") {
            cfg.dropout = Some(v.parse().unwrap());
        }
        if let Some(v) = env("LATENT") {
            cfg.latent_dim = v.parse().unwrap();
        }
        if let Some(v) = env("GH") {
            cfg.g_hidden = v.split('x').map(|x| x.parse().unwrap()).collect();
        }
        if let Some(h) = env("HIDDEN") {
            cfg.g_hidden = vec![h.parse().unwrap()];
            cfg.d_hidden = cfg.g_hidden.clone();
        }
        if let Some(b) = env("BATCH") {
            cfg.batch_size = b.parse().unwrap();
        }
        let s = train_and_score(&cfg, steps, PER_CLASS_GENERATED);
        eprintln!(
            "seed {seed}: agreement {:.3}, per class {:?}, {:.1} s",
            s.agreement,
            s.per_class.iter().map(|r| r.agreement).collect::<Vec<_>>(),
            start.elapsed().as_secs_f64()
        );
    }
}
