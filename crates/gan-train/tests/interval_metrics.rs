//! Each metrics row is the mean over the steps since the previous row, summed on the GPU:
//! equal to the host mean of the per-step rows of the same run logged every step; a
//! checkpoint between two log steps carries the open interval into a resumed run; a
//! non-finite step anywhere in an interval still stops training.

mod common;

use common::{numbers, ring8};
use gan_tensor::Tensor;
use gan_train::metrics::MetricsBuffer;
use gan_train::{read_latest, read_metrics, Config, Metrics, TrainError, Trainer};

fn values(r: &Metrics) -> [f32; 5] {
    [r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value]
}

#[test]
fn the_buffer_returns_means_since_the_last_read() {
    let ctx = common::ctx();
    let mut m = MetricsBuffer::new(&ctx).unwrap();
    let steps = [[1.0f32, 2.0, 0.25, 0.5, -1.0], [3.0, 4.0, 0.75, 0.0, -2.0]];
    for s in steps {
        let t: Vec<Tensor> = s
            .iter()
            .map(|&v| Tensor::from_slice(&ctx, &[v], &[1]).unwrap())
            .collect();
        m.record([&t[0], &t[1], &t[2], &t[3], &t[4]]).unwrap();
    }
    assert_eq!(m.pending_steps(), 2);
    assert_eq!(m.sums().unwrap(), [4.0, 6.0, 1.0, 0.5, -3.0]);
    assert_eq!(m.read().unwrap(), [2.0, 3.0, 0.5, 0.25, -1.5]);
    // A new interval starts empty; reading an empty one is an error, not zeros.
    assert_eq!(m.pending_steps(), 0);
    assert!(m.read().is_err());
    let one = Tensor::from_slice(&ctx, &[7.0], &[1]).unwrap();
    let nan = Tensor::from_slice(&ctx, &[f32::NAN], &[1]).unwrap();
    m.record([&one, &one, &one, &one, &one]).unwrap();
    m.record([&one, &nan, &one, &one, &one]).unwrap();
    m.record([&one, &one, &one, &one, &one]).unwrap();
    let v = m.read().unwrap();
    assert_eq!(v[0], 7.0);
    assert_eq!(
        MetricsBuffer::first_non_finite(&v).map(|x| x.0),
        Some("g_loss"),
        "a NaN in the middle of an interval must show in its mean: {v:?}"
    );
}

fn cfg(dir: &std::path::Path, steps: u64, log_every: u64) -> Config {
    Config {
        log_every,
        ..ring8(dir, steps)
    }
}

#[test]
fn a_row_is_the_mean_of_the_per_step_rows_since_the_previous_row() {
    let ctx = common::ctx();
    let tmp = tempfile::tempdir().unwrap();
    let mut every = Trainer::new(&ctx, cfg(&tmp.path().join("a"), 7, 1)).unwrap();
    every.train().unwrap();
    let per_step = every.metrics().to_vec();
    assert_eq!(per_step.len(), 7);
    let mut third = Trainer::new(&ctx, cfg(&tmp.path().join("b"), 7, 3)).unwrap();
    third.train().unwrap();
    let rows = third.metrics().to_vec();
    // Step 1 always logs; then every 3rd step and the last.
    let steps: Vec<u64> = rows.iter().map(|r| r.step).collect();
    assert_eq!(steps, [1, 3, 6, 7]);
    let mut prev = 0;
    for r in &rows {
        let span = &per_step[prev as usize..r.step as usize];
        for k in 0..5 {
            let want = span.iter().map(|s| values(s)[k] as f64).sum::<f64>() / span.len() as f64;
            let got = values(r)[k] as f64;
            assert!(
                (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                "row at step {}, metric {k}: {got} vs host mean {want} of steps {}..={}",
                r.step,
                prev + 1,
                r.step
            );
        }
        prev = r.step;
    }
    // Means of several steps differ from the single step they end at.
    assert_ne!(values(&rows[2]), values(&per_step[5]));
}

#[test]
fn a_checkpoint_between_log_steps_resumes_the_interval_exactly() {
    let ctx = common::ctx();
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    let mut t = Trainer::new(&ctx, cfg(&straight, 9, 4)).unwrap();
    t.train().unwrap();
    let want = numbers(t.metrics());
    drop(t);
    let dir = tmp.path().join("split");
    let c = cfg(&dir, 9, 4);
    let mut t = Trainer::new(&ctx, c.clone()).unwrap();
    t.train_until(6).unwrap();
    drop(t);
    let latest = read_latest(&dir).unwrap();
    assert_eq!(latest.step, 6);
    let pending = latest
        .pending_metrics
        .expect("steps 5 and 6 are not logged yet");
    assert_eq!(pending.steps, 2);
    let mut t = Trainer::resume(&ctx, &dir, Some(&c)).unwrap();
    t.train().unwrap();
    assert_eq!(numbers(&read_metrics(&dir).unwrap()), want);
}

#[test]
fn a_divergence_inside_an_interval_stops_at_its_log_step_or_checkpoint() {
    let ctx = common::ctx();
    let tmp = tempfile::tempdir().unwrap();
    // Diverges at step 2; the next log step is 5.
    let mut t = Trainer::new(&ctx, cfg(&tmp.path().join("a"), 30, 5)).unwrap();
    t.train_until(1).unwrap();
    t.set_learning_rates(1e30, 1e30);
    let e = t.train().unwrap_err();
    assert!(matches!(e, TrainError::NonFinite { step: 5, .. }), "{e}");
    // A checkpoint at step 3, between log steps, is refused.
    let dir = tmp.path().join("b");
    let mut t = Trainer::new(&ctx, cfg(&dir, 30, 5)).unwrap();
    t.train_until(1).unwrap();
    t.set_learning_rates(1e30, 1e30);
    let e = t.train_until(3).unwrap_err();
    assert!(matches!(e, TrainError::NonFinite { step: 3, .. }), "{e}");
    assert_eq!(
        read_latest(&dir).unwrap().step,
        1,
        "the diverged model was saved"
    );
}
