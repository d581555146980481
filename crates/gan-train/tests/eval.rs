//! Evaluation metrics: the Frechet distance against closed forms, the mode and class
//! scores against hand computations, the classifier on real MNIST, and `evaluate_run`
//! on tiny runs.

mod common;

use gan_data::{load_vendored_mnist, Split, ToyDistribution};
use gan_tensor::Context;
use gan_train::eval::classes::{class_scores, kl_to_uniform, MnistClassifier};
use gan_train::eval::frechet::{frechet_distance, sqrtm_psd, trace_sqrt_product, GaussianStats};
use gan_train::eval::mixture::{mode_scores, modes_png};
use gan_train::eval::stacked::stacked_scores;
use gan_train::eval::{
    append_history, classes::default_classifier_path, eval_kind, evaluate_gan, evaluate_run,
    history_table, write_metrics, EvalAt, EvalKind, EvalOptions, Evaluator,
};
use gan_train::{Generated, Trainer};

fn ctx() -> &'static Context {
    gan_tensor::testing::shared_context()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// A deterministic pseudo-random stream in [-1, 1) (xorshift).
fn noise(n: usize, mut s: u64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// A random symmetric positive definite n x n matrix, row-major: A A^T + 0.1 I.
fn spd(n: usize, seed: u64) -> Vec<f64> {
    let a = noise(n * n, seed);
    let mut m = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            m[i * n + j] = (0..n).map(|k| a[i * n + k] * a[j * n + k]).sum::<f64>()
                + if i == j { 0.1 } else { 0.0 };
        }
    }
    m
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            c[i * n + j] = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
        }
    }
    c
}

fn stats(mean: Vec<f64>, cov: Vec<f64>) -> GaussianStats {
    GaussianStats {
        dim: mean.len(),
        count: 100,
        mean,
        cov,
    }
}

#[test]
fn gaussian_stats_of_four_points() {
    // (0,0), (2,0), (0,2), (2,2): mean (1,1), var 4/3 each (n - 1 = 3), cov 0.
    let s = GaussianStats::of(&[0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0], 2);
    assert_eq!(s.count, 4);
    assert_eq!(s.mean, vec![1.0, 1.0]);
    let want = [4.0 / 3.0, 0.0, 0.0, 4.0 / 3.0];
    for (a, b) in s.cov.iter().zip(want) {
        assert!(close(*a, b, 1e-12), "{:?}", s.cov);
    }
    // Correlated: (0,0), (1,2), (2,4): cov [[1, 2], [2, 4]].
    let s = GaussianStats::of(&[0.0, 0.0, 1.0, 2.0, 2.0, 4.0], 2);
    for (a, b) in s.cov.iter().zip([1.0, 2.0, 2.0, 4.0]) {
        assert!(close(*a, b, 1e-12), "{:?}", s.cov);
    }
}

#[test]
fn sqrtm_squares_back() {
    let n = 12;
    let a = spd(n, 3);
    let r = sqrtm_psd(&a, n);
    let back = matmul(&r, &r, n);
    for (x, y) in back.iter().zip(&a) {
        assert!(close(*x, *y, 1e-10), "{x} vs {y}");
    }
    // The root is symmetric.
    for i in 0..n {
        for j in 0..n {
            assert!(close(r[i * n + j], r[j * n + i], 1e-12));
        }
    }
    // diag(4, 9) -> diag(2, 3); a tiny negative eigenvalue from rounding is clamped.
    assert_eq!(
        sqrtm_psd(&[4.0, 0.0, 0.0, 9.0], 2),
        vec![2.0, 0.0, 0.0, 3.0]
    );
    assert_eq!(
        sqrtm_psd(&[-1e-18, 0.0, 0.0, 1.0], 2),
        vec![0.0, 0.0, 0.0, 1.0]
    );
}

#[test]
fn trace_sqrt_product_of_non_commuting_2x2() {
    // For a 2x2 matrix M with non-negative eigenvalues, Tr(M^{1/2}) =
    // sqrt(Tr M + 2 sqrt(det M)); here M = S1 S2 with det M = det S1 det S2.
    let s1 = [2.0, 1.0, 1.0, 3.0];
    let s2 = [1.0, -0.5, -0.5, 2.0];
    let m = matmul(&s1, &s2, 2);
    let det1: f64 = 2.0 * 3.0 - 1.0;
    let det2 = 2.0 - 0.25;
    let want = (m[0] + m[3] + 2.0 * (det1 * det2).sqrt()).sqrt();
    let got = trace_sqrt_product(&s1, &s2, 2);
    assert!(close(got, want, 1e-12), "{got} vs {want}");
}

#[test]
fn frechet_of_identical_sets_is_zero_and_of_a_shift_is_its_square() {
    let dim = 16;
    let f: Vec<f32> = noise(500 * dim, 9).iter().map(|&v| v as f32).collect();
    let a = GaussianStats::of(&f, dim);
    assert!(frechet_distance(&a, &a).abs() < 1e-9);
    // Shifting every vector by d moves the mean by d and keeps the covariance.
    let d: Vec<f32> = (0..dim).map(|i| 0.1 * i as f32).collect();
    let shifted: Vec<f32> = f.iter().enumerate().map(|(i, v)| v + d[i % dim]).collect();
    let b = GaussianStats::of(&shifted, dim);
    let want: f64 = d.iter().map(|&v| (v as f64).powi(2)).sum();
    let got = frechet_distance(&a, &b);
    assert!(close(got, want, 1e-5), "{got} vs {want}");
}

#[test]
fn frechet_of_diagonal_gaussians_matches_the_closed_form() {
    // Diagonal covariances commute: d^2 = |mu1 - mu2|^2 + sum (sqrt a_i - sqrt b_i)^2.
    let a = [1.0, 4.0, 0.25];
    let b = [9.0, 1.0, 0.25];
    let diag = |v: &[f64]| {
        let mut m = vec![0.0; 9];
        for i in 0..3 {
            m[i * 4] = v[i];
        }
        m
    };
    let s1 = stats(vec![0.0, 1.0, 2.0], diag(&a));
    let s2 = stats(vec![1.0, 1.0, 0.0], diag(&b));
    let want = 1.0 + 4.0 + (1.0f64 - 3.0).powi(2) + (2.0f64 - 1.0).powi(2);
    let got = frechet_distance(&s1, &s2);
    assert!(close(got, want, 1e-12), "{got} vs {want}");
}

#[test]
fn frechet_of_scaled_full_covariance_matches_the_closed_form() {
    // S2 = c S1: Tr(S1 + S2 - 2 sqrt(c) S1) = (1 - sqrt c)^2 Tr S1.
    let n = 10;
    let s1 = spd(n, 5);
    let c = 2.25;
    let s2: Vec<f64> = s1.iter().map(|v| c * v).collect();
    let tr: f64 = (0..n).map(|i| s1[i * n + i]).sum();
    let want = (1.0 - c.sqrt()).powi(2) * tr;
    let got = frechet_distance(&stats(vec![0.0; n], s1), &stats(vec![0.0; n], s2));
    assert!(close(got, want, 1e-9), "{got} vs {want}");
}

#[test]
fn kl_to_uniform_by_hand() {
    assert_eq!(kl_to_uniform(&[5, 5, 5, 5]), Some(0.0));
    let one = kl_to_uniform(&[4, 0, 0, 0]).unwrap();
    assert!(close(one, 4f64.ln(), 1e-12));
    // p = (3/4, 1/4) against (1/2, 1/2).
    let want = 0.75 * 1.5f64.ln() + 0.25 * 0.5f64.ln();
    assert!(close(kl_to_uniform(&[3, 1]).unwrap(), want, 1e-12));
    // Empty bins add nothing: 3 of 8 modes evenly -> ln(8/3).
    let three = kl_to_uniform(&[2, 0, 2, 0, 0, 2, 0, 0]).unwrap();
    assert!(close(three, (8.0f64 / 3.0).ln(), 1e-12));
    assert_eq!(kl_to_uniform(&[0, 0, 0]), None);
}

#[test]
fn class_scores_by_hand() {
    // Row 1: class 2, softmax max 1 / (1 + 2 e^-2). Row 2: class 0 with logits all
    // equal, max prob 1/3 (the first of equal logits wins). Row 3: class 2, certain.
    let logits = [0.0, 0.0, 2.0, 1.0, 1.0, 1.0, -50.0, -50.0, 50.0];
    let s = class_scores(&logits, 3);
    assert_eq!(s.count, 3);
    assert_eq!(s.histogram, vec![1, 0, 2]);
    assert_eq!(s.classes_covered, 2);
    let conf = (1.0 / (1.0 + 2.0 * (-2.0f64).exp()) + 1.0 / 3.0 + 1.0) / 3.0;
    assert!(
        close(s.mean_confidence, conf, 1e-6),
        "{}",
        s.mean_confidence
    );
    let kl = (1.0f64 / 3.0) * 1.0f64.ln() + (2.0 / 3.0) * 2.0f64.ln();
    assert!(close(s.kl_to_uniform, kl, 1e-12));
}

fn on_modes(dist: &ToyDistribution, modes: &[usize], per: usize, offset: f32) -> Vec<f32> {
    let mut pts = Vec::new();
    for &m in modes {
        let c = dist.modes()[m];
        for _ in 0..per {
            pts.extend([c[0] + offset, c[1]]);
        }
    }
    pts
}

#[test]
fn mode_scores_on_synthetic_points() {
    let ring = ToyDistribution::ring8();
    let s = mode_scores(&ring, &on_modes(&ring, &[0, 1, 2, 3, 4, 5, 6, 7], 10, 0.0));
    assert_eq!((s.modes_captured, s.samples, s.modes), (8, 80, 8));
    assert_eq!(s.high_quality_percent, 100.0);
    assert!(s.reverse_kl.unwrap().abs() < 1e-12);

    // Three modes, 2.9 sigma off centre: still high quality.
    let s = mode_scores(&ring, &on_modes(&ring, &[1, 4, 6], 5, 0.029));
    assert_eq!(s.modes_captured, 3);
    assert_eq!(s.counts, vec![0, 5, 0, 0, 5, 0, 5, 0]);
    assert_eq!(s.high_quality_percent, 100.0);
    assert!(close(s.reverse_kl.unwrap(), (8.0f64 / 3.0).ln(), 1e-12));

    // 3.1 sigma off: no high-quality point, nothing captured, no KL.
    let s = mode_scores(&ring, &on_modes(&ring, &[1, 4, 6], 5, 0.031));
    assert_eq!((s.modes_captured, s.high_quality_percent), (0, 0.0));
    assert_eq!(s.reverse_kl, None);

    // Half the points far away, the other half on one grid mode.
    let grid = ToyDistribution::grid25();
    let mut pts = on_modes(&grid, &[12], 10, 0.0);
    pts.extend([10.0f32, 10.0].repeat(10));
    let s = mode_scores(&grid, &pts);
    assert_eq!((s.modes_captured, s.modes, s.samples), (1, 25, 20));
    assert_eq!(s.high_quality_percent, 50.0);
    assert!(close(s.reverse_kl.unwrap(), 25f64.ln(), 1e-12));
}

#[test]
fn modes_plot_is_a_png_with_the_points() {
    let ring = ToyDistribution::ring8();
    let draw = |pts: &[f32]| {
        image::load_from_memory(&modes_png(&ring, pts).unwrap())
            .unwrap()
            .to_rgb8()
    };
    let img = draw(&on_modes(&ring, &[0], 3, 0.0));
    let empty = draw(&[]);
    assert_eq!(img.dimensions(), (640, 640));
    let red = |im: &image::RgbImage| {
        im.pixels()
            .filter(|p| p.0 == gan_train::eval::mixture::POINT)
            .count()
    };
    // Three points on one spot: one 2x2 square over the legend's marker.
    let extra = red(&img) - red(&empty);
    assert!(
        (1..=16).contains(&extra),
        "{extra} red pixels for the points"
    );
    let circles = img
        .pixels()
        .filter(|p| p.0 == gan_train::eval::mixture::CIRCLE)
        .count();
    assert!(circles > 8 * 10, "mode circles: {circles} pixels");
}

#[test]
fn stacked_scores_by_hand() {
    // Modes 123 (twice), 900 and 7.
    let s = stacked_scores(&[1, 2, 3, 1, 2, 3, 9, 0, 0, 0, 0, 7]);
    assert_eq!((s.samples, s.modes_captured), (4, 3));
    assert_eq!(s.top_modes, vec![(123, 2), (7, 1), (900, 1)]);
    let want = 0.5 * (0.5f64 * 1000.0).ln() + 2.0 * 0.25 * (0.25f64 * 1000.0).ln();
    assert!(close(s.kl_to_uniform, want, 1e-12));
}

#[test]
fn unsupported_data_is_a_clear_error() {
    let e = EvalKind::for_dataset("cifar10:/data/cifar", [3, 32, 32]).unwrap_err();
    assert!(e.to_string().contains("1x28x28"), "{e}");
    assert!(matches!(
        EvalKind::for_dataset("ring8", [2, 1, 1]).unwrap(),
        EvalKind::Toy(_)
    ));
    assert!(matches!(
        EvalKind::for_dataset("mnist", [1, 28, 28]).unwrap(),
        EvalKind::Mnist(_)
    ));
    assert!(matches!(
        EvalKind::for_dataset("stacked-mnist", [3, 28, 28]).unwrap(),
        EvalKind::StackedMnist
    ));
}

#[test]
fn missing_classifier_is_a_clear_error() {
    let Err(e) = MnistClassifier::load(ctx(), std::path::Path::new("/nonexistent/lenet.st")) else {
        panic!("loaded a missing file");
    };
    let msg = e.to_string();
    assert!(
        msg.contains("cargo xtask classifier") && msg.contains("--classifier"),
        "{msg}"
    );
}

/// The classifier on real test images: every class, confident; FD-LeNet between two
/// disjoint real sets is far below FD-LeNet against noise and against one digit.
#[test]
fn classifier_scores_on_real_mnist() {
    let ctx = ctx();
    let clf = MnistClassifier::load(ctx, &default_classifier_path()).unwrap();
    let test = load_vendored_mnist(Split::Test).unwrap();
    let n = 300;
    let (a, b) = test.images().split_at(n * 784);
    let b = &b[..n * 784];
    let la = clf.logits(ctx, a).unwrap();
    let s = class_scores(&la, 10);
    assert_eq!(s.classes_covered, 10, "{:?}", s.histogram);
    assert!(s.mean_confidence > 0.9, "{}", s.mean_confidence);
    assert!(s.kl_to_uniform < 0.05, "{}", s.kl_to_uniform);

    let stats = |x: &[f32]| GaussianStats::of(&clf.features(ctx, x).unwrap(), 128);
    let (sa, sb) = (stats(a), stats(b));
    let real = frechet_distance(&sa, &sb);
    let noise_imgs: Vec<f32> = noise(n * 784, 4).iter().map(|&v| v as f32).collect();
    let vs_noise = frechet_distance(&sa, &stats(&noise_imgs));
    // One class only: the 300 images labelled like the first one, repeated.
    let labels = test.labels().unwrap();
    let ones: Vec<f32> = (0..test.len())
        .filter(|&i| labels[i] == 1)
        .take(n)
        .flat_map(|i| test.image(i).to_vec())
        .collect();
    let vs_ones = frechet_distance(&sa, &stats(&ones));
    eprintln!(
        "FD-LeNet n={n}: real/real {real:.3}, real/noise {vs_noise:.3}, real/ones {vs_ones:.3}"
    );
    assert!(
        real < 0.2 * vs_ones && real < 0.2 * vs_noise,
        "{real} {vs_ones} {vs_noise}"
    );

    // The Evaluator scores real images as generated ones the same way.
    let ev = Evaluator::new(
        ctx,
        EvalKind::Mnist(gan_data::Source::Mnist(None)),
        n,
        &EvalOptions {
            floor: false,
            ..EvalOptions::default()
        },
    )
    .unwrap();
    let gen = Generated {
        values: b.to_vec(),
        shape: gan_data::ImageShape::new(1, 28, 28),
        count: n,
    };
    let m = ev.evaluate(ctx, &gen).unwrap().mnist.unwrap();
    assert_eq!((m.generated, m.real, m.fd_lenet_floor), (n, n, None));
    assert_eq!(m.classes.classes_covered, 10);
    assert!(m.fd_lenet < 0.2 * vs_ones, "{}", m.fd_lenet);
}

#[test]
fn evaluate_run_on_tiny_runs() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ring");
    let mut trainer = Trainer::new(ctx, common::ring8(&dir, 4)).unwrap();
    trainer.train().unwrap();
    let opts = EvalOptions {
        count: Some(500),
        ..EvalOptions::default()
    };
    let r = evaluate_run(ctx, &dir, &opts).unwrap();
    assert_eq!((r.kind.as_str(), r.step, r.count), ("toy", 4, 500));
    let m = r.scores.modes.as_ref().unwrap();
    assert_eq!((m.samples, m.modes), (500, 8));
    assert!(dir.join("eval/modes.png").is_file());
    let path = write_metrics(&dir, &r).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(json["modes"]["samples"], 500);
    assert!(r.to_markdown().contains("modes captured"));
    // Same seed, same scores; also from an Evaluator built once (what training uses).
    assert_eq!(evaluate_run(ctx, &dir, &opts).unwrap().scores, r.scores);
    // The trainer's in-memory players score as their checkpoint does.
    let (kind, count) = eval_kind("ring8", [2, 1, 1], &opts).unwrap();
    let ev = Evaluator::new(ctx, kind, count, &opts).unwrap();
    let step_opts = EvalOptions {
        plot_name: "modes-step-4.png".into(),
        ..opts.clone()
    };
    let at = EvalAt {
        run_dir: &dir,
        dataset: "ring8",
        step: trainer.step(),
        epoch: 0.0,
    };
    let again = evaluate_gan(&ev, trainer.gan(), &at, &step_opts).unwrap();
    assert_eq!(again.scores, r.scores);
    assert!(dir.join("eval/modes-step-4.png").is_file());
    let cols = r.scores.columns();
    assert_eq!(cols[0], ("modes_captured", m.modes_captured as f64));
    assert!(
        history_table(&dir).is_none(),
        "no history before the first row"
    );
    append_history(&dir, &r).unwrap();
    append_history(&dir, &again).unwrap();
    let table = history_table(&dir).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "| step | epoch | modes_captured | high_quality_percent | reverse_kl |",
            "|---|---|---|---|---|"
        ],
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[2].starts_with("| 4 | "), "{table}");

    let dir = tmp.path().join("mnist");
    Trainer::new(ctx, common::mnist_tiny(&dir, 2))
        .unwrap()
        .train()
        .unwrap();
    let r = evaluate_run(
        ctx,
        &dir,
        &EvalOptions {
            count: Some(200),
            ..EvalOptions::default()
        },
    )
    .unwrap();
    let m = r.scores.mnist.as_ref().unwrap();
    assert_eq!((m.generated, m.real), (200, 200));
    let floor = m.fd_lenet_floor.unwrap();
    // An untrained generator is far from MNIST; train vs test is close.
    assert!(m.fd_lenet > 5.0 * floor, "{} vs floor {floor}", m.fd_lenet);
    let md = r.to_markdown();
    assert!(
        md.contains("FD-LeNet") && md.contains("classes covered"),
        "{md}"
    );
}

#[test]
fn evaluate_run_on_a_tiny_stacked_mnist_run() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stacked");
    let mut cfg = common::mnist_tiny(&dir, 2);
    cfg.dataset = "stacked-mnist".into();
    cfg.limit = 128;
    Trainer::new(ctx, cfg).unwrap().train().unwrap();
    let r = evaluate_run(
        ctx,
        &dir,
        &EvalOptions {
            count: Some(100),
            ..EvalOptions::default()
        },
    )
    .unwrap();
    assert_eq!(r.kind, "stacked-mnist");
    let s = r.scores.stacked.as_ref().unwrap();
    assert_eq!(s.samples, 100);
    assert!((1..=100).contains(&s.modes_captured), "{s:?}");
    let top: usize = s.top_modes.iter().map(|m| m.1).sum();
    assert!(top <= 100 && s.top_modes[0].1 >= 1);
    assert!(r.to_markdown().contains("PacGAN 1000"));
}

/// Real Stacked MNIST images: the classifier finds (nearly) the modes of their labels.
#[test]
fn stacked_scores_of_real_stacked_mnist() {
    let ctx = ctx();
    let test = load_vendored_mnist(Split::Test).unwrap();
    let data = gan_data::stacked_mnist(&test, 200, 11).unwrap();
    let mut truth: Vec<u32> = data.labels().unwrap().to_vec();
    let label_kl = stacked_scores(
        &truth
            .iter()
            .flat_map(|&l| gan_data::stacked::label_digits(l))
            .collect::<Vec<_>>(),
    )
    .kl_to_uniform;
    truth.sort_unstable();
    truth.dedup();
    let ev = Evaluator::new(ctx, EvalKind::StackedMnist, 0, &EvalOptions::default()).unwrap();
    let gen = Generated {
        values: data.images().to_vec(),
        shape: data.shape(),
        count: data.len(),
    };
    let s = ev.evaluate(ctx, &gen).unwrap().stacked.unwrap();
    eprintln!(
        "stacked: {} modes from labels, {} found; KL {:.3} vs {:.3}",
        truth.len(),
        s.modes_captured,
        label_kl,
        s.kl_to_uniform
    );
    assert_eq!(s.samples, 200);
    assert!(
        s.modes_captured.abs_diff(truth.len()) <= 6,
        "{}",
        s.modes_captured
    );
    assert!((s.kl_to_uniform - label_kl).abs() < 0.1);
}
