//! Same seed, same numbers; resume continues exactly; a steady loop allocates nothing
//! and submits once per step.

mod common;

use common::{mnist_tiny, numbers, ring8};
use gan_tensor::Context;
use gan_train::{read_latest, read_metrics, TrainError, Trainer};

#[test]
fn same_seed_gives_identical_losses() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: u64| {
        let mut cfg = ring8(&tmp.path().join(name), 12);
        cfg.seed = seed;
        let mut t = Trainer::new(&ctx, cfg).unwrap();
        t.train().unwrap();
        numbers(t.metrics())
    };
    let a = run("a", 7);
    let b = run("b", 7);
    let c = run("c", 8);
    assert_eq!(a.len(), 12);
    assert_eq!(a, b, "two runs with the same seed differ");
    assert_ne!(a, c, "another seed gives the same losses");
}

#[test]
fn resume_continues_exactly_where_it_stopped() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Uninterrupted: 20 steps (2.5 epochs of 8 batches, so epoch-end checkpoints happen).
    let straight_dir = tmp.path().join("straight");
    let mut t = Trainer::new(&ctx, mnist_tiny(&straight_dir, 20)).unwrap();
    t.train().unwrap();
    let straight = numbers(t.metrics());
    drop(t);

    // Interrupted after 10 steps, then resumed in a new trainer.
    let dir = tmp.path().join("resumed");
    let cfg = mnist_tiny(&dir, 20);
    let mut t = Trainer::new(&ctx, cfg.clone()).unwrap();
    let s = t.train_until(10).unwrap();
    assert_eq!(s.steps, 10);
    drop(t);
    assert_eq!(read_latest(&dir).unwrap().step, 10);
    let mut t = Trainer::resume(&ctx, &dir, Some(&cfg)).unwrap();
    assert_eq!(t.step(), 10);
    t.train().unwrap();
    let resumed = numbers(&read_metrics(&dir).unwrap());
    assert_eq!(resumed.len(), 20);
    assert_eq!(
        resumed, straight,
        "resumed run differs from the uninterrupted one"
    );

    // A fresh start in a directory that holds a run is refused.
    let e = Trainer::new(&ctx, cfg.clone()).err().expect("must refuse");
    assert!(matches!(e, TrainError::RunExists(_)), "{e}");

    // Resuming with other numbers is a clear error naming the field.
    let mut other = cfg.clone();
    other.lr_d = Some(1e-3);
    other.batch_size = 16;
    let e = Trainer::resume(&ctx, &dir, Some(&other))
        .err()
        .expect("must refuse");
    let msg = e.to_string();
    assert!(matches!(e, TrainError::ConfigMismatch { .. }), "{msg}");
    assert!(msg.contains("lr_d") && msg.contains("batch_size"), "{msg}");

    // Training longer is allowed (steps is not a numeric field).
    let mut longer = cfg;
    longer.steps = 22;
    let mut t = Trainer::resume(&ctx, &dir, Some(&longer)).unwrap();
    t.train().unwrap();
    assert_eq!(read_metrics(&dir).unwrap().last().unwrap().step, 22);
}

#[test]
fn steady_steps_create_no_buffers_and_submit_once() {
    let ctx = Context::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = mnist_tiny(tmp.path(), 1000);
    cfg.log_every = 4;
    cfg.sample_every = 1000;
    cfg.checkpoint_every = 1000;
    cfg.k = 2;
    let mut t = Trainer::new(&ctx, cfg).unwrap();
    // Step 1 logs (readback); steps 2..=3 record only.
    for _ in 0..3 {
        t.step_once().unwrap();
    }
    let before = ctx.stats();
    let steps = 8;
    let mut logged = 0;
    for _ in 0..steps {
        if t.step_once().unwrap().is_some() {
            logged += 1;
        }
    }
    let after = ctx.stats();
    assert_eq!(logged, 2, "log_every = 4 reads back on steps 4 and 8");
    assert_eq!(
        after.buffers_created, before.buffers_created,
        "a steady step allocated GPU buffers"
    );
    // k = 2: two uploads of a real batch per step (each submits what was recorded
    // before it), plus one submission per readback.
    let subs = after.submissions - before.submissions;
    assert!(
        subs <= 2 * steps + logged,
        "{subs} submissions for {steps} steps"
    );
    assert_eq!(t.metrics().len(), 3);
}

/// The trainer's step is `train_step` over its `Gan`: the same game built by hand, with
/// no run directory (as the benches do), computes the very same metrics.
#[test]
fn train_step_over_a_gan_matches_the_trainer() {
    use gan_train::feed::DataFeed;
    use gan_train::{load_dataset, train_step, Gan, ItemShape, Optimizers};
    let ctx = common::ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = gan_train::Config {
        k: 2,
        ..mnist_tiny(&tmp.path().join("t"), 4)
    };
    let mut t = Trainer::new(&ctx, cfg.clone()).unwrap();
    t.train().unwrap();
    let want: Vec<[u32; 5]> = numbers(t.metrics()).into_iter().map(|r| r.1).collect();

    // An unresolved config: Gan::new and Optimizers resolve it as the trainer does.
    let data = load_dataset(&cfg).unwrap();
    let item = ItemShape::for_config(&cfg, data.shape());
    let gan = Gan::new(&ctx, &cfg, item).unwrap();
    let mut opt = Optimizers::new(&gan, &cfg.resolved().unwrap()).unwrap();
    let mut feed = DataFeed::new(data, item, cfg.batch_size, cfg.seed).unwrap();
    let mut got = Vec::new();
    for step in 0..4u64 {
        let out = train_step(&gan, &mut opt, 2, step * 2, |b| feed.batch(&ctx, b)).unwrap();
        let m = out.metric_tensors(&gan).unwrap();
        got.push(m.map(|x| x.to_vec().unwrap()[0].to_bits()));
    }
    assert_eq!(got, want);
    assert!(Gan::new(&ctx, &gan_train::Config { k: 0, ..cfg }, item).is_err());
}
