#![allow(dead_code)]
//! Shared helpers: one device per test binary, tiny configurations that run in seconds
//! on lavapipe.

use gan_tensor::Context;
use gan_train::{Config, Metrics};
use std::path::Path;

/// The device shared by the tests of one binary ([`gan_tensor::testing::shared_context`]).
pub fn ctx() -> Context {
    gan_tensor::testing::shared_context().clone()
}

/// A tiny 2-D MLP GAN on ring8.
pub fn ring8(dir: &Path, steps: u64) -> Config {
    Config {
        dataset: "ring8".into(),
        limit: 512,
        latent_dim: 4,
        g_hidden: vec![16, 16],
        d_hidden: vec![16, 16],
        batch_size: 32,
        steps,
        log_every: 1,
        samples: 64,
        seed: 7,
        out_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// A tiny MLP GAN on the first 256 MNIST images (8 batches of 32 per epoch), with
/// dropout in D.
pub fn mnist_tiny(dir: &Path, steps: u64) -> Config {
    Config {
        dataset: "mnist".into(),
        limit: 256,
        latent_dim: 8,
        g_hidden: vec![32],
        d_hidden: vec![32],
        batch_size: 32,
        steps,
        log_every: 1,
        samples: 16,
        seed: 3,
        out_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// The numeric columns (elapsed differs between runs).
pub fn numbers(rows: &[Metrics]) -> Vec<(u64, [u32; 5])> {
    rows.iter()
        .map(|r| {
            (
                r.step,
                [r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value].map(f32::to_bits),
            )
        })
        .collect()
}
