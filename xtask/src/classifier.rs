//! `cargo xtask classifier`: trains the LeNet-style MNIST classifier of
//! `gan_train::eval::lenet` (gan-nn's Conv2d / BatchNorm2d / Linear layers on the GPU) on the
//! vendored MNIST, evaluates test accuracy after every
//! epoch and saves the weights (PyTorch state_dict names) as safetensors.
//!
//! Options: `--epochs N` (6), `--batch N` (64), `--lr X` (1e-3, cosine-decayed per
//! epoch to 5% of it), `--limit N` (training images, all by default), `--test-limit N`
//! (test images, all by default), `--steps N` (at most N steps per epoch: timing runs),
//! `--seed N` (0), `--channels C1,C2,..` (32,64), `--stride S` (conv1's, 2), `--hidden N` (128),
//! `--out PATH` (data/classifier/mnist_lenet.safetensors), `--no-save`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use gan_data::{load_vendored_mnist, Dataset, Loader, LoaderOptions, Split};
use gan_nn::{checkpoint, Adam, AdamConfig, Module, ParamStore, StoreConfig};
use gan_tensor::{Context, Tensor};
use gan_train::eval::lenet::{LeNet, LeNetConfig, DEFAULT_CLASSIFIER_PATH};
use gan_train::eval::lenet_train::{evaluate, train_epoch, ClassBatch, TrainOptions};

struct Options {
    epochs: usize,
    batch: usize,
    lr: f32,
    limit: Option<usize>,
    test_limit: Option<usize>,
    steps: Option<usize>,
    seed: u64,
    cfg: LeNetConfig,
    out: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut o = Options {
        epochs: 6,
        batch: 64,
        lr: 1e-3,
        limit: None,
        test_limit: None,
        steps: None,
        seed: 0,
        cfg: LeNetConfig::default(),
        out: Some(root.join(DEFAULT_CLASSIFIER_PATH)),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .with_context(|| format!("{a} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--epochs" => o.epochs = val()?.parse()?,
            "--batch" => o.batch = val()?.parse()?,
            "--lr" => o.lr = val()?.parse()?,
            "--limit" => o.limit = Some(val()?.parse()?),
            "--test-limit" => o.test_limit = Some(val()?.parse()?),
            "--steps" => o.steps = Some(val()?.parse()?),
            "--seed" => o.seed = val()?.parse()?,
            "--hidden" => o.cfg.hidden = val()?.parse()?,
            "--stride" => o.cfg.stride = val()?.parse()?,
            "--channels" => {
                let v = val()?;
                let c: Vec<usize> = v
                    .split(',')
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()
                    .with_context(|| format!("--channels {v}"))?;
                if c.is_empty() {
                    bail!("--channels takes a list, e.g. 32,64");
                }
                o.cfg.channels = c;
            }
            "--out" => o.out = Some(PathBuf::from(val()?)),
            "--no-save" => o.out = None,
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

const USAGE: &str = "usage: cargo xtask classifier [--epochs N] [--batch N] [--lr X] \
[--limit N] [--test-limit N] [--steps N] [--seed N] [--channels C1,C2,..] [--stride S] [--hidden N] \
[--out PATH | --no-save]";

fn first(ds: Dataset, n: Option<usize>) -> Result<Dataset> {
    match n {
        Some(n) if n < ds.len() => Ok(ds.subset(&(0..n).collect::<Vec<_>>())?),
        _ => Ok(ds),
    }
}

/// Uploads the batches of one epoch (images `[N, 1, 28, 28]`) as they are consumed.
fn batches<'a>(
    ctx: &'a Context,
    loader: &'a Loader<'a>,
    epoch: u64,
) -> impl Iterator<Item = gan_nn::NnResult<ClassBatch>> + 'a {
    loader.epoch(epoch).map(move |b| {
        let labels = b.labels.as_deref().unwrap_or(&[]);
        ClassBatch::new(Tensor::from_slice(ctx, &b.images, &b.nchw())?, labels)
    })
}

pub fn run(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let started = Instant::now();
    let ctx = Context::new().context("opening a wgpu adapter")?;
    println!("adapter: {}", ctx.adapter());

    let train = first(load_vendored_mnist(Split::Train)?, o.limit)?;
    let test = first(load_vendored_mnist(Split::Test)?, o.test_limit)?;
    println!("train {} images, test {} images", train.len(), test.len());

    let model = LeNet::new(o.cfg.clone());
    let store = ParamStore::build(&ctx, &model, &StoreConfig::seed(o.seed))?;
    println!(
        "{} ({} trainable parameters)",
        model.describe(),
        store.num_parameters()
    );
    let mut opt = Adam::new(&store, AdamConfig::adam(o.lr))?;
    let train_loader = Loader::new(
        &train,
        LoaderOptions {
            seed: o.seed,
            ..LoaderOptions::new(o.batch)
        },
    )?;
    let test_loader = Loader::new(
        &test,
        LoaderOptions {
            batch_size: 500,
            shuffle: false,
            drop_last: false,
            seed: 0,
        },
    )?;
    println!(
        "batch {}, {} steps per epoch{}, {} epochs, Adam lr {} (cosine per epoch)",
        o.batch,
        train_loader.batches_per_epoch(),
        o.steps
            .map(|s| format!(" (limited to {s})"))
            .unwrap_or_default(),
        o.epochs,
        o.lr
    );

    let mut last_acc = 0.0;
    for epoch in 0..o.epochs {
        // Cosine from lr down to 5% of it over the epochs.
        let t = epoch as f32 / o.epochs.max(1) as f32;
        opt.cfg.lr = o.lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f32::consts::PI * t).cos()));
        let t0 = Instant::now();
        let stats = train_epoch(
            &model,
            &mut opt,
            batches(&ctx, &train_loader, epoch as u64),
            TrainOptions {
                sample_every: 10,
                max_steps: o.steps,
            },
        )?;
        let train_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let eval = evaluate(&model, batches(&ctx, &test_loader, 0))?;
        let eval_s = t1.elapsed().as_secs_f64();
        last_acc = eval.accuracy();
        println!(
            "epoch {:>2}  lr {:.2e}  loss {:.4}  train acc {:.2}% (sampled)  test loss {:.4}  \
             test acc {:.2}%  ({} steps in {:.1} s = {:.0} ms/step, eval {:.1} s, elapsed {:.0} s)",
            epoch + 1,
            opt.cfg.lr,
            stats.loss,
            100.0 * stats.sampled_accuracy.unwrap_or(0.0),
            eval.loss,
            100.0 * eval.accuracy(),
            stats.steps,
            train_s,
            1000.0 * train_s / stats.steps.max(1) as f64,
            eval_s,
            started.elapsed().as_secs_f64()
        );
        if let Some(out) = &o.out {
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            checkpoint::save(out, &store)?;
        }
    }
    if let Some(out) = &o.out {
        println!("saved {}", out.display());
    }
    println!(
        "final test accuracy {:.2}% after {} epochs, {:.0} s in all, on {}",
        100.0 * last_acc,
        o.epochs,
        started.elapsed().as_secs_f64(),
        ctx.adapter()
    );
    Ok(())
}
