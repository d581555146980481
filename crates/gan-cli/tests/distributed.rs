//! `gan train --distributed` under OpenMPI's `mpirun` (feature `distributed`; `.ci/run`
//! installs OpenMPI and runs `cargo test -p gan-cli --features distributed --test
//! distributed`): 2 ranks compute the step of one process, resume exactly, and a rank
//! that dies or fails stops the job instead of hanging it.
//!
//! Tolerances. Adam moves a weight by at most about lr (2e-4 here) per step, whatever
//! its gradient's size. A wrong split (a shard missing, gradients not averaged, other
//! latents or dropout masks) changes most updates by O(lr): after 3 steps weights differ
//! by 1e-4 or more (the tests check that a run with another batch does). Summing the
//! gradient in another order (two halves, then their mean) changes it by float rounding,
//! ~1e-7 relative, and the weights by far less than lr: measured 7.8e-8 (MLP with dropout)
//! after 3 steps. 1e-5, a twentieth of one step's move, separates the two.
#![cfg(feature = "distributed")]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const GAN: &str = env!("CARGO_BIN_EXE_gan");
const TOL: f32 = 1e-5;

fn mpirun(ranks: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--bind-to",
        "none",
    ])
    .args(["-n", &ranks.to_string(), GAN]);
    c
}

/// Runs `cmd`, killing it after `limit`; (output, timed out).
fn run_limited(mut cmd: Command, limit: Duration) -> (Output, bool) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun or gan starts (is OpenMPI installed?)");
    let start = Instant::now();
    let mut timed_out = false;
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let output = Output {
        status,
        stdout: out,
        stderr: err,
    };
    (output, timed_out)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(cmd: Command) -> String {
    let (o, timed_out) = run_limited(cmd, Duration::from_secs(300));
    let t = text(&o);
    assert!(!timed_out && o.status.success(), "failed:\n{t}");
    t
}

const MLP: &[&str] = &[
    "train",
    "mnist",
    "--limit",
    "512",
    "--g-hidden",
    "32",
    "--d-hidden",
    "32",
    "--log-every",
    "1",
    "--no-progress",
];
const DCGAN: &[&str] = &[
    "train",
    "mnist",
    "--arch",
    "dcgan",
    "--ngf",
    "8",
    "--ndf",
    "8",
    "--limit",
    "512",
    "--log-every",
    "1",
    "--no-progress",
];

/// Trains with `base` + `extra` into `out`, on `ranks` MPI ranks (0: one plain process).
fn train(ranks: usize, base: &[&str], extra: &[&str], out: &Path) -> String {
    let mut cmd = if ranks == 0 {
        Command::new(GAN)
    } else {
        mpirun(ranks)
    };
    cmd.args(base).args(extra).arg("--out").arg(out);
    if !extra.contains(&"--batch-size") {
        cmd.args(["--batch-size", "16"]);
    }
    if ranks > 0 {
        cmd.arg("--distributed");
    }
    ok(cmd)
}

/// The trained tensors (weights, biases, optimizer moments) of a checkpoint file, by
/// name: BatchNorm running statistics and counters are left out (they stay per rank).
fn tensors(path: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = BTreeMap::new();
    for (name, v) in header.as_object().unwrap() {
        if name == "__metadata__" || v["dtype"] != "F32" || name.contains("running_") {
            continue;
        }
        let (a, b) = (
            v["data_offsets"][0].as_u64().unwrap() as usize,
            v["data_offsets"][1].as_u64().unwrap() as usize,
        );
        let values = data[a..b]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        out.insert(name.clone(), values);
    }
    out
}

fn checkpoint(run: &Path, step: u64) -> PathBuf {
    run.join(format!("checkpoints/step-{step:08}"))
}

/// Largest |a - b| over both players and both optimizers' files of two checkpoints.
fn max_diff(a: &Path, b: &Path) -> f32 {
    let mut m = 0f32;
    for f in ["g", "d", "g.optim", "d.optim"] {
        let (ta, tb) = (
            tensors(&a.join(format!("{f}.safetensors"))),
            tensors(&b.join(format!("{f}.safetensors"))),
        );
        assert_eq!(
            ta.keys().collect::<Vec<_>>(),
            tb.keys().collect::<Vec<_>>(),
            "{f}"
        );
        for (k, va) in &ta {
            for (x, y) in va.iter().zip(&tb[k]) {
                m = m.max((x - y).abs());
            }
        }
    }
    m
}

fn metrics(run: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            v[..v.len() - 1].to_vec() // without elapsed
        })
        .collect()
}

fn config_table(run: &Path) -> toml::Value {
    let t: toml::Table =
        toml::from_str(&std::fs::read_to_string(run.join("config.toml")).unwrap()).unwrap();
    let mut c = t["config"].clone();
    c.as_table_mut().unwrap().remove("out_dir");
    c
}

/// The MLP (dropout 0.3 in D) on 2 ranks of 8 items computes the step of one process
/// on the batch of 16: weights, optimizer state, metrics.csv and config.toml agree.
#[test]
fn two_ranks_compute_the_mlp_step_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two, half) = (
        dir.path().join("one"),
        dir.path().join("two"),
        dir.path().join("half"),
    );
    let steps = ["--steps", "3"];
    let log = train(2, MLP, &steps, &two);
    assert!(
        log.contains("each rank takes 8 of every batch of 16"),
        "{log}"
    );
    train(0, MLP, &steps, &one);
    let d = max_diff(&checkpoint(&one, 3), &checkpoint(&two, 3));
    assert!(d <= TOL, "2 ranks vs 1 process: max |diff| {d}");
    for (a, b) in metrics(&one).iter().zip(metrics(&two)) {
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() <= 1e-5, "metrics {a:?} vs {b:?}");
        }
    }
    assert_eq!(metrics(&one).len(), 3);
    assert_eq!(config_table(&one), config_table(&two));
    // The test can fail: each rank training on its own 8 items without averaging would
    // resemble a run of batch 8, which lands far outside the tolerance.
    train(0, MLP, &["--steps", "3", "--batch-size", "8"], &half);
    let d8 = max_diff(&checkpoint(&half, 3), &checkpoint(&two, 3));
    assert!(d8 > 10.0 * TOL, "batch 8 vs 2 ranks of 8: max |diff| {d8}");
}

/// With BatchNorm (the DCGAN) each rank normalises its own 8 items: 2 ranks compute
/// exactly what one process computes with --micro-batches 2, and differ from one
/// process normalising all 16 at once.
#[test]
fn two_ranks_compute_the_dcgan_step_of_one_process_with_two_micro_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (two, micro, whole) = (
        dir.path().join("two"),
        dir.path().join("micro"),
        dir.path().join("whole"),
    );
    let steps = ["--steps", "3"];
    train(2, DCGAN, &steps, &two);
    train(0, DCGAN, &["--steps", "3", "--micro-batches", "2"], &micro);
    train(0, DCGAN, &steps, &whole);
    let d = max_diff(&checkpoint(&micro, 3), &checkpoint(&two, 3));
    assert!(d <= TOL, "2 ranks vs 2 micro-batches: max |diff| {d}");
    let dw = max_diff(&checkpoint(&whole, 3), &checkpoint(&two, 3));
    assert!(
        dw > 10.0 * TOL,
        "BatchNorm over 16 vs 2 x 8 should differ: max |diff| {dw}"
    );
}

/// A 2-rank run stopped at step 4 and resumed under MPI to step 8 ends bit for bit where
/// an uninterrupted 2-rank run ends.
#[test]
fn a_distributed_run_resumes_exactly_under_mpi() {
    let dir = tempfile::tempdir().unwrap();
    let (straight, split) = (dir.path().join("straight"), dir.path().join("split"));
    train(2, DCGAN, &["--steps", "8"], &straight);
    train(2, DCGAN, &["--steps", "4"], &split);
    let mut cmd = mpirun(2);
    cmd.args(["train", "--resume"]).arg(&split).args([
        "--steps",
        "8",
        "--no-progress",
        "--distributed",
    ]);
    let log = ok(cmd);
    assert!(log.contains("resuming"), "{log}");
    let d = max_diff(&checkpoint(&straight, 8), &checkpoint(&split, 8));
    assert_eq!(d, 0.0, "resumed vs uninterrupted: max |diff| {d}");
    assert_eq!(metrics(&straight), metrics(&split));
}

/// Every process of the job whose command line holds `token`, except mpirun.
fn ranks_of(token: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(token) && cmd.contains("--distributed") && !cmd.contains("mpirun") {
            pids.push(pid);
        }
    }
    pids
}

/// A rank killed mid-run (SIGKILL, as the OOM killer or a node failure would) ends the
/// whole job within seconds instead of leaving the other rank waiting in its all-reduce;
/// the checkpoint already saved is intact and the run resumes from it.
#[test]
fn a_dead_rank_stops_the_job_and_the_saved_checkpoint_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("victim");
    let mut cmd = mpirun(2);
    cmd.args(MLP)
        .args([
            "--steps",
            "100000",
            "--checkpoint-every",
            "2",
            "--distributed",
        ])
        .arg("--out")
        .arg(&run);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !run.join("latest.toml").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint yet"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let token = run.to_string_lossy().to_string();
    let pids = ranks_of(&token);
    assert_eq!(pids.len(), 2, "two ranks running: {pids:?}");
    let victim = *pids.iter().max().unwrap();
    assert!(Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap()
        .success());
    let killed = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "the job must fail");
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(60),
            "the surviving rank hangs after its peer died"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("signal 9") || err.contains("Killed"), "{err}");
    assert!(ranks_of(&token).is_empty(), "no rank left running");
    // What was saved is whole: the run resumes from it (on 2 ranks) for 2 more steps.
    let latest: toml::Table =
        toml::from_str(&std::fs::read_to_string(run.join("latest.toml")).unwrap()).unwrap();
    let step = latest["step"].as_integer().unwrap() as u64;
    assert!(step >= 2 && step.is_multiple_of(2), "{latest:?}");
    let mut resume = mpirun(2);
    resume.args(["train", "--resume"]).arg(&run).args([
        "--steps",
        &(step + 2).to_string(),
        "--no-progress",
        "--distributed",
    ]);
    ok(resume);
    assert!(checkpoint(&run, step + 2).join("g.safetensors").exists());
}

/// A batch that does not split among the ranks is refused on every rank with the fix,
/// and nothing hangs or is written.
#[test]
fn a_batch_that_does_not_split_is_a_clear_error_on_every_rank() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("odd");
    let mut cmd = mpirun(2);
    cmd.args(MLP)
        .args([
            "--batch-size",
            "15",
            "--steps",
            "2",
            "--distributed",
            "--out",
        ])
        .arg(&run);
    let (o, timed_out) = run_limited(cmd, Duration::from_secs(120));
    let t = text(&o);
    assert!(!timed_out && !o.status.success(), "{t}");
    assert!(
        t.contains("batch_size = 15 does not split into 2 ranks") && t.contains("multiple of 2"),
        "{t}"
    );
}
