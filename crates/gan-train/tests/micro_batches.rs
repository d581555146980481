//! `micro_batches`: a batch split into equal micro-batches, each forward and backward on
//! its own with the gradients summed, computes the whole batch's step (the rows, latents,
//! fake classes and dropout masks of each piece are the whole batch's), up to summation
//! order; BatchNorm normalises each micro-batch alone. The same split is what N MPI ranks
//! compute (crates/gan-cli/tests/distributed.rs).
//!
//! Tolerance 1e-5 on the weights after 3 Adam steps of lr 2e-4: a wrong piece moves
//! weights by O(lr) per step (checked below: batch 16 vs 8 differs by more than 1e-4);
//! rounding from the summation order moves them by ~1e-7.

mod common;

use common::{ctx, mnist_tiny};
use gan_train::{Arch, Config, TrainError, Trainer};

fn trained(cfg: Config) -> (Vec<f32>, Vec<f32>) {
    let mut t = Trainer::new(&ctx(), cfg).unwrap();
    t.train().unwrap();
    let g = t.gan().generator.store.values().to_vec().unwrap();
    let d = t.gan().discriminator.store.values().to_vec().unwrap();
    (g, d)
}

fn max_diff(a: &(Vec<f32>, Vec<f32>), b: &(Vec<f32>, Vec<f32>)) -> f32 {
    let d = |x: &[f32], y: &[f32]| {
        assert_eq!(x.len(), y.len());
        x.iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max)
    };
    d(&a.0, &b.0).max(d(&a.1, &b.1))
}

fn tiny(dir: &std::path::Path, micro: usize) -> Config {
    Config {
        batch_size: 16,
        micro_batches: micro,
        ..mnist_tiny(dir, 3)
    }
}

#[test]
fn micro_batches_compute_the_whole_batch_step_with_dropout() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = trained(tiny(&tmp.path().join("whole"), 1));
    for micro in [2, 4] {
        let split = trained(tiny(&tmp.path().join(format!("m{micro}")), micro));
        let d = max_diff(&whole, &split);
        assert!(d <= 1e-5, "{micro} micro-batches: max |diff| {d}");
    }
    let eight = trained(Config {
        batch_size: 8,
        ..tiny(&tmp.path().join("eight"), 1)
    });
    assert!(max_diff(&whole, &eight) > 1e-4, "the comparison can fail");
}

#[test]
fn micro_batches_of_a_conditional_game_keep_each_items_class() {
    let tmp = tempfile::tempdir().unwrap();
    let cond = |name: &str, micro| Config {
        conditional: true,
        ..tiny(&tmp.path().join(name), micro)
    };
    let whole = trained(cond("whole", 1));
    let split = trained(cond("split", 2));
    let d = max_diff(&whole, &split);
    assert!(d <= 1e-5, "max |diff| {d}");
}

#[test]
fn batchnorm_normalises_each_micro_batch_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dcgan = |name: &str, micro| Config {
        arch: Arch::Dcgan,
        ngf: 4,
        ndf: 4,
        ..tiny(&tmp.path().join(name), micro)
    };
    let whole = trained(dcgan("whole", 1));
    let split = trained(dcgan("split", 2));
    let again = trained(dcgan("again", 2));
    assert_eq!(split, again, "micro-batched runs repeat exactly");
    assert!(
        max_diff(&whole, &split) > 1e-5,
        "BatchNorm statistics of 8 items differ from those of 16"
    );
}

#[test]
fn micro_batches_that_do_not_split_the_batch_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (batch, micro, pack) in [(16, 3, 1), (16, 0, 1), (16, 4, 8)] {
        let cfg = Config {
            pack,
            batch_size: batch,
            ..tiny(tmp.path(), micro)
        };
        let e = Trainer::new(&ctx(), cfg).err().expect("refused");
        assert!(matches!(e, TrainError::Config(_)), "{e}");
        assert!(e.to_string().contains("micro_batches"), "{e}");
    }
}
