//! Safetensors checkpoints: PyTorch names, dtypes and layouts; bit-identical round
//! trips of model and optimizer; errors for missing, extra, mis-shaped, corrupt and
//! truncated files; atomic writes that survive a crash mid-write.

use std::fs;
use std::path::PathBuf;

use gan_nn::checkpoint::{self, optimizer_path};
use gan_nn::loss::bce_with_logits;
use gan_nn::{
    Adam, AdamConfig, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Labels, LeakyReLU, Linear,
    Module, Named, NnError, Optimizer, ParamStore, ReLU, Sequential, Sgd, SgdConfig, StoreConfig,
    Tanh, Var,
};
use gan_tensor::testing::random;
use gan_tensor::Tensor;
use safetensors::{Dtype, SafeTensors};

mod common;
use common::ctx;

/// A fresh directory for one test.
fn tmp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gan-nn-ckpt-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn var(seed: u64, dims: &[usize]) -> Var {
    let data = random(seed, dims.iter().product(), -1.0, 1.0);
    Var::constant(Tensor::from_slice(&ctx(), &data, dims).unwrap())
}

/// A small conv generator with BatchNorm (buffers and counters) and a bias.
fn generator() -> Named {
    Named::new().add(
        "main",
        Sequential::new()
            .add(ConvTranspose2d::new(4, 6, 4).no_bias())
            .add(BatchNorm2d::new(6))
            .add(ReLU)
            .add(ConvTranspose2d::new(6, 1, 4).stride(2).padding(1))
            .add(Tanh),
    )
}

fn mlp(hidden: usize, extra_layer: bool) -> Sequential {
    let s = Sequential::new()
        .add(Linear::new(2, hidden))
        .add(BatchNorm1d::new(hidden))
        .add(LeakyReLU::new(0.2))
        .add(Linear::new(hidden, 1));
    if extra_layer {
        s.add(Linear::new(1, 1))
    } else {
        s
    }
}

fn build(m: &dyn Module, seed: u64) -> ParamStore {
    ParamStore::build(&ctx(), m, &StoreConfig::seed(seed)).unwrap()
}

/// Everything a model holds, bitwise: flat values, buffers, counters.
fn snapshot(store: &ParamStore) -> (Vec<u32>, Vec<Vec<u32>>, Vec<i64>) {
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
    let flat = bits(store.values().to_vec().unwrap());
    let mut bufs = Vec::new();
    let mut counters = Vec::new();
    for e in store.entries() {
        match e.param.role() {
            gan_nn::Role::Counter => counters.push(e.param.counter()),
            _ if e.offset.is_none() => bufs.push(bits(e.param.tensor().unwrap().to_vec().unwrap())),
            _ => {}
        }
    }
    (flat, bufs, counters)
}

/// A few training steps so that moments, running stats and counters are non-trivial.
fn train(model: &dyn Module, opt: &mut dyn Optimizer, steps: u64) {
    for s in 0..steps {
        opt.zero_grad().unwrap();
        let y = model.forward(&var(100 + s, &[3, 4, 1, 1]), true).unwrap();
        y.mean_all().unwrap().backward().unwrap();
        opt.step().unwrap();
    }
}

#[test]
fn round_trip_is_bit_identical_and_pytorch_shaped() {
    let dir = tmp_dir("roundtrip");
    let path = dir.join("g.safetensors");
    let g = generator();
    let gs = build(&g, 1);
    let mut opt = Adam::new(&gs, AdamConfig::adam(1e-2)).unwrap();
    train(&g, &mut opt, 3);
    checkpoint::save(&path, &gs).unwrap();
    let opath = optimizer_path(&path);
    assert_eq!(opath, dir.join("g.optim.safetensors"));
    checkpoint::save_optimizer(&opath, &opt).unwrap();

    // The file as safetensors.torch.load_file sees it.
    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<&str> = st.names();
    names.sort();
    let mut want = gs.names();
    want.sort();
    assert_eq!(names, want);
    let w = st.tensor("main.0.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F32, &[4usize, 6, 4, 4][..]));
    let n = st.tensor("main.1.num_batches_tracked").unwrap();
    assert_eq!((n.dtype(), n.shape()), (Dtype::I64, &[][..]));
    assert_eq!(i64::from_le_bytes(n.data().try_into().unwrap()), 3);
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["format"], "pt");
    let obytes = fs::read(&opath).unwrap();
    let ost = SafeTensors::deserialize(&obytes).unwrap();
    assert!(ost.tensor("optim.m.main.0.weight").is_ok());
    assert!(ost.tensor("optim.v.main.3.bias").is_ok());
    assert_eq!(ost.tensor("optim.step").unwrap().dtype(), Dtype::I64);

    // Load into a differently seeded model: identical bits, identical file on resave.
    let g2 = generator();
    let gs2 = build(&g2, 99);
    let mut opt2 = Adam::new(&gs2, AdamConfig::adam(1e-2)).unwrap();
    assert_ne!(snapshot(&gs2), snapshot(&gs));
    checkpoint::load(&path, &gs2).unwrap();
    checkpoint::load_optimizer(&opath, &mut opt2).unwrap();
    assert_eq!(snapshot(&gs2), snapshot(&gs));
    assert_eq!(opt2.steps(), 3);
    for ((_, a), (_, b)) in opt.state().iter().zip(opt2.state()) {
        assert_eq!(a.to_vec().unwrap(), b.to_vec().unwrap());
    }
    let path2 = dir.join("g2.safetensors");
    checkpoint::save(&path2, &gs2).unwrap();
    assert_eq!(
        fs::read(&path2).unwrap(),
        bytes,
        "resaved file is byte-identical"
    );
    checkpoint::save_optimizer(optimizer_path(&path2), &opt2).unwrap();
    assert_eq!(fs::read(optimizer_path(&path2)).unwrap(), obytes);

    // Training resumes identically.
    train(&g, &mut opt, 2);
    train(&g2, &mut opt2, 2);
    assert_eq!(snapshot(&gs2), snapshot(&gs));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sgd_state_round_trips() {
    let dir = tmp_dir("sgd");
    let path = dir.join("m.optim.safetensors");
    let m = mlp(4, false);
    let s = build(&m, 1);
    let cfg = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    };
    let mut opt = Sgd::new(&s, cfg).unwrap();
    // Gradients through the parameters' views (the padding between them stays 0).
    for e in s.entries().iter().filter(|e| e.offset.is_some()) {
        e.param.grad().unwrap().fill_(0.25).unwrap();
    }
    opt.step().unwrap();
    checkpoint::save_optimizer(&path, &opt).unwrap();
    let mut opt2 = Sgd::new(&s, cfg).unwrap();
    checkpoint::load_optimizer(&path, &mut opt2).unwrap();
    assert_eq!(opt2.steps(), 1);
    assert_eq!(
        opt.velocity().unwrap().to_vec().unwrap(),
        opt2.velocity().unwrap().to_vec().unwrap()
    );
    // An Adam cannot take SGD's state.
    let mut adam = Adam::new(&s, AdamConfig::adam(1e-3)).unwrap();
    let err = checkpoint::load_optimizer(&path, &mut adam).unwrap_err();
    assert!(err.to_string().contains("optim.m.0.weight"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_extra_and_misshapen_tensors_are_named() {
    let dir = tmp_dir("mismatch");
    let path = dir.join("mlp.safetensors");
    let m = mlp(8, false);
    let s = build(&m, 1);
    checkpoint::save(&path, &s).unwrap();

    // The model has a layer the file lacks.
    let bigger = mlp(8, true);
    let bs = build(&bigger, 2);
    let before = snapshot(&bs);
    let err = checkpoint::load(&path, &bs).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, NnError::MissingTensor { .. }), "{err:?}");
    assert!(
        msg.contains("`4.weight`") && msg.contains("[1, 1]"),
        "{msg}"
    );
    assert!(
        msg.contains("mlp.safetensors") && msg.contains("1 more"),
        "{msg}"
    );
    assert_eq!(snapshot(&bs), before, "a failed load changes nothing");

    // The file has tensors the model lacks.
    let path_big = dir.join("big.safetensors");
    checkpoint::save(&path_big, &bs).unwrap();
    let small = mlp(8, false);
    let ss = build(&small, 3);
    let err = checkpoint::load(&path_big, &ss).unwrap_err();
    assert!(matches!(err, NnError::UnexpectedTensor { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("`4.bias`") && msg.contains("[1]"), "{msg}");

    // Same names, other widths.
    let wide = mlp(9, false);
    let ws = build(&wide, 4);
    let err = checkpoint::load(&path, &ws).unwrap_err();
    assert!(matches!(err, NnError::TensorMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("`0.weight`") && msg.contains("F32 [8, 2]") && msg.contains("F32 [9, 2]"),
        "{msg}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_truncated_and_absent_files_are_named() {
    let dir = tmp_dir("corrupt");
    let m = mlp(4, false);
    let s = build(&m, 1);
    let good = dir.join("good.safetensors");
    checkpoint::save(&good, &s).unwrap();
    let bytes = fs::read(&good).unwrap();

    let truncated = dir.join("truncated.safetensors");
    fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let garbage = dir.join("garbage.safetensors");
    fs::write(&garbage, b"this is not a checkpoint at all").unwrap();
    let header_only = dir.join("header.safetensors");
    fs::write(&header_only, &bytes[..20]).unwrap();
    for p in [&truncated, &garbage, &header_only] {
        let err = checkpoint::load(p, &s).unwrap_err();
        assert!(matches!(err, NnError::Corrupt { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&*p.to_string_lossy()), "{msg}");
    }
    let absent = dir.join("absent.safetensors");
    let err = checkpoint::load(&absent, &s).unwrap_err();
    assert!(matches!(err, NnError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crash_mid_write_keeps_the_previous_checkpoint() {
    let dir = tmp_dir("crash");
    let path = dir.join("d.safetensors");
    let m = mlp(4, false);
    let s = build(&m, 1);
    checkpoint::save(&path, &s).unwrap();
    let saved = fs::read(&path).unwrap();
    let state = snapshot(&s);

    // Change the model, then fail 100 bytes into the next write.
    s.values().fill_(7.0).unwrap();
    checkpoint::inject_write_failure(100);
    let err = checkpoint::save(&path, &s).unwrap_err();
    assert!(matches!(err, NnError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(".d.safetensors.tmp"), "{err}");
    assert_eq!(
        fs::read(&path).unwrap(),
        saved,
        "previous checkpoint intact"
    );
    let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "the partial temporary file is removed");

    // A stray half-written temporary file from a killed process changes nothing.
    let stray = dir.join(format!(".d.safetensors.tmp-{}-0", std::process::id()));
    fs::write(&stray, &saved[..saved.len() / 2]).unwrap();
    checkpoint::load(&path, &s).unwrap();
    assert_eq!(snapshot(&s), state);
    checkpoint::save(&path, &s).unwrap();
    assert_eq!(fs::read(&path).unwrap(), saved);

    // A directory we may not write to: the save fails, the old file stays.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.join("ro");
        fs::create_dir(&ro).unwrap();
        let ro_path = ro.join("d.safetensors");
        fs::write(&ro_path, &saved).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        // root ignores permissions: only check when the directory really is read-only.
        if fs::write(ro.join("probe"), b"x").is_err() {
            let err = checkpoint::save(&ro_path, &s).unwrap_err();
            assert!(err.to_string().contains("ro"), "{err}");
            assert_eq!(fs::read(&ro_path).unwrap(), saved);
        }
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gan_pair_checkpoints_independently() {
    // G and D of a GAN with their own stores, optimizers and files.
    let dir = tmp_dir("pair");
    let (g, d) = (
        generator(),
        Sequential::new()
            .add(Conv2d::new(1, 2, 4))
            .add(gan_nn::Flatten),
    );
    let gs = ParamStore::build(&ctx(), &g, &StoreConfig::seed(1)).unwrap();
    let ds = ParamStore::build(&ctx(), &d, &StoreConfig::seed(2)).unwrap();
    let mut og = Adam::new(&gs, AdamConfig::adam(1e-3)).unwrap();
    let mut od = Adam::new(&ds, AdamConfig::adam(1e-3)).unwrap();
    let fake = g.forward(&var(1, &[2, 4, 1, 1]), true).unwrap();
    let logits = d.forward(&fake, true).unwrap();
    let loss = bce_with_logits(&logits, Labels::Const(1.0)).unwrap();
    loss.backward().unwrap();
    og.step().unwrap();
    od.step().unwrap();
    checkpoint::save(dir.join("g.safetensors"), &gs).unwrap();
    checkpoint::save(dir.join("d.safetensors"), &ds).unwrap();
    checkpoint::save_optimizer(dir.join("g.optim.safetensors"), &og).unwrap();
    checkpoint::save_optimizer(dir.join("d.optim.safetensors"), &od).unwrap();
    // D's file does not fit G.
    assert!(checkpoint::load(dir.join("d.safetensors"), &gs).is_err());
    checkpoint::load(dir.join("g.safetensors"), &gs).unwrap();
    checkpoint::load_optimizer(dir.join("d.optim.safetensors"), &mut od).unwrap();
    fs::remove_dir_all(&dir).unwrap();
}
