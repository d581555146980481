//! A trained class-conditional run whose classes the MNIST classifier recognises: a small
//! MLP cGAN with a projection discriminator, trained for 1500 steps on the digits 0, 1
//! and 2 of the vendored MNIST, then asked for each class in turn. The classifier
//! (`data/classifier/mnist_lenet.safetensors`) must label far more of the generated
//! images with their requested class than chance (1/3) would.

mod common;

use std::time::Instant;

use common::ctx;
use gan_data::{Dataset, Split};
use gan_train::eval::classes::{
    argmax, default_classifier_path, MnistClassifier, CLASSES as DIGITS,
};
use gan_train::eval::conditional::{conditional_scores, ConditionalScores};
use gan_train::feed::DataFeed;
use gan_train::{train_step_labelled, Config, Gan, ItemShape, Optimizers};

/// Classes trained: the digits 0 .. CLASSES-1, whose labels are the digits themselves, so
/// the classifier's 10-way argmax compares with the requested class directly.
const CLASSES: usize = 3;
/// Training images per class.
const PER_CLASS: usize = 512;
/// Training steps: the fewest that gave recognisable digits. Measured on seed 1 (debug
/// build, lavapipe, 2 cores): 300 steps of G/D 256 wide at lr 2e-4 or 1e-3 gave speckled
/// class-shaped blobs the classifier calls 8 (agreement 0.00); 1000 steps at the config
/// below 0.20; 1500 steps 0.47 (class embeddings then started at N(0, 1); 0.91 since
/// they start at N(0, 0.02)).
const STEPS: u64 = 1500;
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

/// The game trained: latent 16, G 16-128-784, D 784-128-1 with dropout 0.3, batch 64,
/// Adam 1e-3 / beta1 0.5 for both players.
fn config(seed: u64) -> Config {
    Config {
        conditional: true,
        latent_dim: 16,
        g_hidden: vec![128],
        d_hidden: vec![128],
        dropout: Some(0.3),
        batch_size: 64,
        lr_g: Some(1e-3),
        lr_d: Some(1e-3),
        seed,
        ..Config::default()
    }
}

/// What a trained run's generated images were asked for and what the classifier saw.
struct Trained {
    scores: ConditionalScores,
    requested: Vec<u32>,
    predicted: Vec<u32>,
}

/// Trains a conditional run of `seed` for `steps` steps and scores `per_class` images of
/// each class with the classifier.
fn train_and_score(seed: u64, steps: u64, per_class: usize) -> Trained {
    let ctx = ctx();
    let cfg = config(seed);
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
            let d = out.whole().d_loss.total.value().to_vec().unwrap()[0];
            let g = out.whole().g_loss.value().to_vec().unwrap()[0];
            last = (d, g);
        }
    }
    assert!(last.0.is_finite() && last.1.is_finite(), "losses {last:?}");
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
    if let Ok(path) = std::env::var("GRID") {
        // The first 10 images of each class, one row per class, to look at.
        let n = 10.min(per_class);
        let few: Vec<f32> = (0..CLASSES)
            .flat_map(|c| {
                let row = c * per_class * 784;
                generated.values[row..row + n * 784].to_vec()
            })
            .collect();
        let opts = gan_data::GridOptions {
            columns: n,
            ..Default::default()
        };
        let path = format!("{path}-{seed}.png");
        gan_data::write_grid(std::path::Path::new(&path), &few, generated.shape, opts).unwrap();
    }
    let scores = conditional_scores(
        &features,
        &logits,
        &requested,
        &[],
        classifier.feature_dim(),
        CLASSES,
    );
    let predicted = argmax(&logits, DIGITS);
    Trained {
        scores,
        requested,
        predicted,
    }
}

/// The fraction of the images requested as class `c` (`of_c`) or as another class
/// (`!of_c`) that the classifier labels `c`.
fn labelled_c(t: &Trained, c: u32, of_c: bool) -> f64 {
    let idx: Vec<usize> = (0..t.requested.len())
        .filter(|&i| (t.requested[i] == c) == of_c)
        .collect();
    let hits = idx.iter().filter(|&&i| t.predicted[i] == c).count();
    hits as f64 / idx.len().max(1) as f64
}

/// Overall agreement at least THRESHOLD, and for every class c the images asked to be c
/// are labelled c more often than the images asked to be another class: the class
/// reaches G. A class-blind generator makes the same images whatever the label, so both
/// fractions would match and the agreement would sit near 1/3 or below.
#[test]
fn classifier_recognises_the_requested_classes_after_training() {
    let start = Instant::now();
    let t = train_and_score(1, STEPS, PER_CLASS_GENERATED);
    let scores = &t.scores;
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
    for c in 0..CLASSES as u32 {
        let (own, other) = (labelled_c(&t, c, true), labelled_c(&t, c, false));
        assert!(
            own > other + 0.1,
            "images asked to be {c} are labelled {c} {own:.2} of the time, those asked to be \
             another class {other:.2}: the class does not steer the generator"
        );
    }
}

/// Measured agreement after 1500 steps (debug build, lavapipe, 2 cores shared with other
/// builds, 133-244 s): seed 1 0.910, seed 2 0.957, seed 3 0.900, seed 4 0.923 (per class
/// 0.78-1.00), with the class embeddings starting at N(0, 0.02); with PyTorch's N(0, 1)
/// start they were 0.470, 0.653, 0.510, 0.607. The threshold sits 0.05 below the lowest
/// seed; chance is 1/3, and with 300 images a class-blind generator's agreement has a
/// standard deviation of ~0.03.
const THRESHOLD: f64 = 0.85;

/// The sweep behind THRESHOLD: `SEEDS=4 cargo test -p gan-train --test
/// conditional_trained -- --ignored --nocapture` (also `STEPS`, and `GRID=/tmp/g` to
/// write each seed's first 10 images per class as `/tmp/g-SEED.png`).
#[test]
#[ignore]
fn sweep_seeds() {
    let env = |k: &str| std::env::var(k).ok();
    let steps = env("STEPS").map_or(STEPS, |v| v.parse().unwrap());
    let seeds = env("SEEDS").map_or(4, |v| v.parse().unwrap());
    for seed in 1..=seeds {
        let start = Instant::now();
        let t = train_and_score(seed, steps, PER_CLASS_GENERATED);
        eprintln!(
            "seed {seed}: agreement {:.3}, per class {:?}, {:.1} s",
            t.scores.agreement,
            t.scores
                .per_class
                .iter()
                .map(|r| r.agreement)
                .collect::<Vec<_>>(),
            start.elapsed().as_secs_f64()
        );
    }
}
