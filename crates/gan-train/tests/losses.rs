//! The game's losses ([`Objective`]) for every [`GLoss`]: values against a host (f64)
//! computation, gradients of both players' losses with respect to D's outputs against
//! central finite differences of that computation, the value metric, the label-smoothing
//! rules, and a few training steps with `--loss hinge` and `--loss least-squares`.

mod common;

use common::{ctx, ring8};
use gan_nn::Var;
use gan_tensor::testing::random;
use gan_tensor::Tensor;
use gan_train::{read_metrics, Config, GLoss, Objective, TrainError, Trainer};

const ALL: [GLoss; 4] = [
    GLoss::Minimax,
    GLoss::NonSaturating,
    GLoss::Hinge,
    GLoss::LeastSquares,
];

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// Mean BCE of logits against label y, the stable form max(l, 0) - l y + ln(1 + e^-|l|).
fn bce(l: &[f64], y: f64) -> f64 {
    mean(
        l.iter()
            .map(|&l| l.max(0.0) - l * y + (-l.abs()).exp().ln_1p()),
    )
}

fn relu(x: f64) -> f64 {
    x.max(0.0)
}

/// The host reference: (D's real half with real target `b`, D's fake half, G's loss).
fn host(loss: GLoss, b: f64, lr: &[f64], lf: &[f64]) -> (f64, f64, f64) {
    match loss {
        GLoss::Minimax => (bce(lr, b), bce(lf, 0.0), -bce(lf, 0.0)),
        GLoss::NonSaturating => (bce(lr, b), bce(lf, 0.0), bce(lf, 1.0)),
        GLoss::Hinge => (
            mean(lr.iter().map(|&l| relu(1.0 - l))),
            mean(lf.iter().map(|&l| relu(1.0 + l))),
            -mean(lf.iter().copied()),
        ),
        GLoss::LeastSquares => (
            0.5 * mean(lr.iter().map(|&l| (l - b) * (l - b))),
            0.5 * mean(lf.iter().map(|&l| l * l)),
            0.5 * mean(lf.iter().map(|&l| (l - 1.0) * (l - 1.0))),
        ),
    }
}

fn leaf(v: &[f32]) -> Var {
    Var::leaf(Tensor::from_slice(&ctx(), v, &[v.len(), 1]).unwrap())
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Logits on every side of the hinge kinks at +-1 (beyond -1, between, beyond 1), then
/// seeded ones in [-3, 3], all kept 0.05 away from the kinks (the finite differences use
/// h = 1e-3 and must not straddle one).
fn logits(seed: u64, n: usize) -> Vec<f32> {
    [-2.5f32, 1.5, -0.4, 0.6, -1.7]
        .into_iter()
        .chain(random(seed, n, -3.0, 3.0))
        .take(n)
        .map(|l| {
            if (l.abs() - 1.0).abs() < 0.05 {
                l * 1.1
            } else {
                l
            }
        })
        .collect()
}

/// Central differences of `f` at `x`, element by element.
fn finite_diff(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-3;
    (0..x.len())
        .map(|i| {
            let (mut a, mut b) = (x.to_vec(), x.to_vec());
            a[i] += h;
            b[i] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        })
        .collect()
}

fn assert_near(case: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{case}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let g = g as f64;
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{case}: element {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn losses_match_the_host_computation() {
    for loss in ALL {
        for smoothing in [0.0f32, 0.2] {
            if loss == GLoss::Hinge && smoothing != 0.0 {
                continue; // refused by Config::validate
            }
            let obj = Objective {
                g_loss: loss,
                label_smoothing: smoothing,
            };
            let (lr, lf) = (logits(11, 7), logits(12, 5));
            let (r64, f64_) = (f64s(&lr), f64s(&lf));
            let b = 1.0 - smoothing as f64;
            let (real, fake, g) = host(loss, b, &r64, &f64_);
            let d = obj.d_loss(&leaf(&lr), &leaf(&lf)).unwrap();
            let case = format!("{loss} smoothing {smoothing}");
            let item = |v: &Var| v.item().unwrap();
            assert_near(
                &format!("{case}: D real"),
                &[item(&d.real)],
                &[real],
                1e-5,
                1e-6,
            );
            assert_near(
                &format!("{case}: D fake"),
                &[item(&d.fake)],
                &[fake],
                1e-5,
                1e-6,
            );
            assert_near(
                &format!("{case}: D total"),
                &[item(&d.total)],
                &[real + fake],
                1e-5,
                1e-6,
            );
            let gl = obj.g_loss(&leaf(&lf)).unwrap().item().unwrap();
            assert_near(&format!("{case}: G"), &[gl], &[g], 1e-5, 1e-6);
            // The value: minus D's loss with the unsmoothed real target.
            let (real1, _, _) = host(loss, 1.0, &r64, &f64_);
            let want_v = -(real1 + fake);
            let lr_t = leaf(&lr).value().clone();
            let v = obj.value(&lr_t, &d).unwrap().to_vec().unwrap();
            assert_near(&format!("{case}: value"), &v, &[want_v], 1e-5, 1e-6);
            let lf_t = leaf(&lf).value().clone();
            let v2 = obj.value_of_logits(&lr_t, &lf_t).unwrap().to_vec().unwrap();
            assert_near(
                &format!("{case}: value_of_logits"),
                &v2,
                &[want_v],
                1e-5,
                1e-6,
            );
        }
    }
}

#[test]
fn gradients_of_both_players_match_finite_differences() {
    for loss in ALL {
        for (n_real, n_fake) in [(1, 1), (7, 5), (33, 33)] {
            let obj = Objective {
                g_loss: loss,
                label_smoothing: if loss == GLoss::Hinge { 0.0 } else { 0.1 },
            };
            let b = obj.real_label() as f64;
            let (lr, lf) = (
                logits(100 + n_real as u64, n_real),
                logits(200 + n_fake as u64, n_fake),
            );
            let (r64, f64_) = (f64s(&lr), f64s(&lf));
            let case = format!("{loss} {n_real}/{n_fake}");
            // D's loss: gradient w.r.t. its outputs on real and on generated items.
            let (vr, vf) = (leaf(&lr), leaf(&lf));
            obj.d_loss(&vr, &vf).unwrap().total.backward().unwrap();
            let total = |r: &[f64], f: &[f64]| {
                let (a, b2, _) = host(loss, b, r, f);
                a + b2
            };
            let want_r = finite_diff(&r64, |r| total(r, &f64_));
            let want_f = finite_diff(&f64_, |f| total(&r64, f));
            let got_r = vr.grad().unwrap().to_vec().unwrap();
            let got_f = vf.grad().unwrap().to_vec().unwrap();
            assert_near(&format!("{case}: dD/dreal"), &got_r, &want_r, 1e-3, 1e-6);
            assert_near(&format!("{case}: dD/dfake"), &got_f, &want_f, 1e-3, 1e-6);
            // G's loss: gradient w.r.t. D's outputs on generated items.
            let vf = leaf(&lf);
            obj.g_loss(&vf).unwrap().backward().unwrap();
            let want_g = finite_diff(&f64_, |f| host(loss, b, &r64, f).2);
            let got_g = vf.grad().unwrap().to_vec().unwrap();
            assert_near(&format!("{case}: dG/dfake"), &got_g, &want_g, 1e-3, 1e-6);
        }
    }
}

#[test]
fn extreme_outputs_give_finite_losses() {
    let big = [-100.0f32, 100.0, -30.0, 30.0, 0.0];
    for loss in ALL {
        let obj = Objective::plain(loss);
        let (vr, vf) = (leaf(&big), leaf(&big));
        let d = obj.d_loss(&vr, &vf).unwrap();
        let g = obj.g_loss(&vf).unwrap();
        d.total.backward().unwrap();
        for (what, v) in [("D", d.total.item().unwrap()), ("G", g.item().unwrap())] {
            assert!(v.is_finite(), "{loss}: {what} loss {v}");
        }
        let grads = vr.grad().unwrap().to_vec().unwrap();
        assert!(grads.iter().all(|g| g.is_finite()), "{loss}: {grads:?}");
    }
}

#[test]
fn label_smoothing_is_refused_for_hinge_and_kept_for_least_squares() {
    let hinge = Config {
        loss: GLoss::Hinge,
        label_smoothing: 0.1,
        ..Config::default()
    };
    let e = hinge.validate().unwrap_err().to_string();
    assert!(
        e.contains("label_smoothing") && e.contains("hinge") && e.contains("label_smoothing = 0"),
        "{e}"
    );
    let ls = Config {
        loss: GLoss::LeastSquares,
        label_smoothing: 0.1,
        ..Config::default()
    };
    ls.validate().unwrap();
    assert_eq!(Objective::of(&ls).real_label(), 0.9);
    // Both names parse from config.toml, kebab-case.
    for (name, loss) in [
        ("hinge", GLoss::Hinge),
        ("least-squares", GLoss::LeastSquares),
    ] {
        let c = Config::from_toml(&format!("loss = \"{name}\"")).unwrap();
        assert_eq!(c.loss, loss);
        assert_eq!(loss.to_string(), name);
    }
}

/// A few steps on ring8 with the loss given as a `gan train` flag.
fn train_with_flag(loss: &str) -> (Vec<gan_train::Metrics>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = Config::command_args(clap::Command::new("gan train"));
    let m = cmd
        .try_get_matches_from(["gan train", "ring8", "--loss", loss])
        .unwrap();
    let flags = Config::given_flags(&m).unwrap();
    let cfg = ring8(tmp.path(), 4).overridden(&flags).unwrap();
    assert_eq!(cfg.loss.to_string(), loss);
    let mut t = Trainer::new(&ctx(), cfg).unwrap();
    t.train().unwrap();
    (read_metrics(tmp.path()).unwrap(), tmp)
}

#[test]
fn hinge_and_least_squares_train_end_to_end() {
    for (loss, v_max) in [("hinge", 0.0f32), ("least-squares", 0.0)] {
        let (rows, dir) = train_with_flag(loss);
        assert_eq!(rows.len(), 4, "{loss}: one metrics.csv row per step");
        for r in &rows {
            for v in [r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value] {
                assert!(v.is_finite(), "{loss}: {r:?}");
            }
            // value = -(D's loss) here (no smoothing), and D's losses are >= 0.
            assert!((r.value + r.d_loss).abs() < 1e-5, "{loss}: {r:?}");
            assert!(r.value <= v_max, "{loss}: {r:?}");
        }
        let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(
            report.contains("-(D's"),
            "{loss}: report says what V means:\n{report}"
        );
        assert!(report.contains("not a probability"), "{report}");
        assert!(dir.path().join("plots/losses.png").exists());
    }
}

#[test]
fn hinge_with_smoothing_is_a_config_error_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        loss: GLoss::Hinge,
        label_smoothing: 0.1,
        ..ring8(tmp.path(), 1)
    };
    match Trainer::new(&ctx(), cfg) {
        Err(TrainError::Config(m)) => assert!(m.contains("hinge"), "{m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("hinge with label smoothing trained"),
    }
}
