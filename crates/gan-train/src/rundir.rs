//! Files of a run directory; every write is atomic (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gan_nn::{checkpoint, Adam, ParamStore};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::trainer::{Metrics, Trainer};

/// The state file that points at the latest complete checkpoint.
pub const LATEST: &str = "latest.toml";
/// The configuration file.
pub const CONFIG: &str = "config.toml";
/// The metrics file.
pub const METRICS: &str = "metrics.csv";

/// Writes `bytes` to `path` atomically (gan-nn's temp + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(checkpoint::write_atomic(path, bytes)?)
}

/// What `config.toml` records besides the config.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    /// The adapter's name.
    pub adapter: String,
    /// wgpu backend.
    pub backend: String,
    /// gan-train's version.
    pub crate_version: String,
    /// [`Config::numeric_hash`].
    pub config_hash: String,
    /// Generator steps the config asks for.
    pub total_steps: u64,
    /// Real batches per epoch.
    pub batches_per_epoch: u64,
    /// Trainable scalars of G.
    pub g_parameters: u64,
    /// Trainable scalars of D.
    pub d_parameters: u64,
    /// Shape of one item (C, H, W); 2-D points are (2, 1, 1).
    pub item_shape: [usize; 3],
    /// gan-data's summary of the training data.
    pub dataset_summary: String,
}

#[derive(Deserialize)]
struct RunInfoFile {
    run: RunInfo,
}

/// Reads the `[run]` table of a run directory's `config.toml`.
pub fn read_run_info(dir: &Path) -> Result<RunInfo> {
    let path = dir.join(CONFIG);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NoCheckpoint(dir.to_path_buf()))
        }
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    let f: RunInfoFile = toml::from_str(&text).map_err(|e| TrainError::CorruptCheckpoint {
        path,
        msg: e.to_string(),
    })?;
    Ok(f.run)
}

#[derive(Serialize)]
struct ConfigFile<'a> {
    config: &'a Config,
    run: &'a RunInfo,
}

pub(crate) fn write_config(dir: &Path, cfg: &Config, info: &RunInfo) -> Result<()> {
    let text = toml::to_string(&ConfigFile {
        config: cfg,
        run: info,
    })
    .map_err(|e| TrainError::Config(e.to_string()))?;
    let text = format!(
        "# gan-train {}: every parameter of this run ([config]) and where it ran ([run]).\n{text}",
        info.crate_version
    );
    write_atomic(&dir.join(CONFIG), text.as_bytes())
}

/// Reads the `[config]` of a run directory's `config.toml`.
pub fn read_config(dir: &Path) -> Result<Config> {
    let path = dir.join(CONFIG);
    if !path.exists() {
        return Err(TrainError::NoCheckpoint(dir.to_path_buf()));
    }
    Config::load(&path)
}

/// The contents of `latest.toml`: the training state at the latest checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatestState {
    /// Generator steps done.
    pub step: u64,
    /// Epochs of real data consumed.
    pub epoch: f64,
    /// The checkpoint directory, relative to the run directory.
    pub checkpoint: String,
    /// [`Config::numeric_hash`] of the run.
    pub config_hash: String,
    /// Seconds of training so far.
    pub elapsed_s: f64,
    /// Adapter that wrote it.
    pub adapter: String,
    /// Steps taken by each dropout layer's random stream (data order and latents are
    /// functions of `step` and the seed, so they need no state).
    pub dropout: BTreeMap<String, u64>,
}

pub(crate) fn write_latest(dir: &Path, state: &LatestState) -> Result<()> {
    let text = toml::to_string(state).map_err(|e| TrainError::Config(e.to_string()))?;
    write_atomic(&dir.join(LATEST), text.as_bytes())
}

/// Reads `latest.toml` of a run directory.
pub fn read_latest(dir: &Path) -> Result<LatestState> {
    let path = dir.join(LATEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NoCheckpoint(dir.to_path_buf()))
        }
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    toml::from_str(&text).map_err(|e| TrainError::CorruptCheckpoint {
        path,
        msg: e.to_string(),
    })
}

/// File names inside a checkpoint directory.
pub(crate) fn ckpt_files(dir: &Path) -> [PathBuf; 4] {
    let g = dir.join("g.safetensors");
    let d = dir.join("d.safetensors");
    [
        checkpoint::optimizer_path(&g),
        checkpoint::optimizer_path(&d),
        g,
        d,
    ]
}

pub(crate) fn save_checkpoint(
    dir: &Path,
    gs: &ParamStore,
    ds: &ParamStore,
    opt_g: &Adam,
    opt_d: &Adam,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let [og, od, g, d] = ckpt_files(dir);
    checkpoint::save(&g, gs)?;
    checkpoint::save(&d, ds)?;
    checkpoint::save_optimizer(&og, opt_g)?;
    checkpoint::save_optimizer(&od, opt_d)?;
    Ok(())
}

fn corrupt(path: &Path, e: gan_nn::NnError) -> TrainError {
    TrainError::CorruptCheckpoint {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Loads G and D (and the optimizers, when given) from a checkpoint directory.
pub(crate) fn load_checkpoint(
    dir: &Path,
    gs: &ParamStore,
    ds: &ParamStore,
    opts: Option<(&mut Adam, &mut Adam)>,
) -> Result<()> {
    let [og, od, g, d] = ckpt_files(dir);
    for p in [&g, &d] {
        if !p.exists() {
            return Err(TrainError::CorruptCheckpoint {
                path: p.clone(),
                msg: "file missing".into(),
            });
        }
    }
    checkpoint::load(&g, gs).map_err(|e| corrupt(&g, e))?;
    checkpoint::load(&d, ds).map_err(|e| corrupt(&d, e))?;
    if let Some((opt_g, opt_d)) = opts {
        checkpoint::load_optimizer(&og, opt_g).map_err(|e| corrupt(&og, e))?;
        checkpoint::load_optimizer(&od, opt_d).map_err(|e| corrupt(&od, e))?;
    }
    Ok(())
}

/// Removes every checkpoint directory but `keep` (best effort).
pub(crate) fn prune_checkpoints(dir: &Path, keep: &str) {
    let root = dir.join("checkpoints");
    let keep = dir.join(keep);
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let p = e.path();
            if p != keep && p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            }
        }
    }
}

/// One row of `metrics.csv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricsRow {
    /// Generator steps done.
    pub step: u64,
    /// Epochs of real data consumed.
    pub epoch: f64,
    /// Discriminator loss.
    pub d_loss: f32,
    /// Generator loss.
    pub g_loss: f32,
    /// Mean D(x).
    pub d_real: f32,
    /// Mean D(G(z)).
    pub d_fake: f32,
    /// Batch estimate of V(D, G).
    pub value: f32,
    /// Seconds of training.
    pub elapsed: f64,
}

impl From<&Metrics> for MetricsRow {
    fn from(m: &Metrics) -> Self {
        MetricsRow {
            step: m.step,
            epoch: m.epoch,
            d_loss: m.d_loss,
            g_loss: m.g_loss,
            d_real: m.d_real,
            d_fake: m.d_fake,
            value: m.value,
            elapsed: m.elapsed,
        }
    }
}

impl MetricsRow {
    /// As [`Metrics`].
    pub fn metrics(&self) -> Metrics {
        Metrics {
            step: self.step,
            epoch: self.epoch,
            d_loss: self.d_loss,
            g_loss: self.g_loss,
            d_real: self.d_real,
            d_fake: self.d_fake,
            value: self.value,
            elapsed: self.elapsed,
        }
    }
}

const HEADER: &str = "step,epoch,d_loss,g_loss,d_real,d_fake,value,elapsed";

pub(crate) fn write_metrics(dir: &Path, rows: &[MetricsRow]) -> Result<()> {
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        // f32 Display is the shortest representation that reads back bit-exact.
        s.push_str(&format!(
            "{},{:.4},{},{},{},{},{},{:.3}\n",
            r.step, r.epoch, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value, r.elapsed
        ));
    }
    write_atomic(&dir.join(METRICS), s.as_bytes())
}

/// Reads a run directory's `metrics.csv` (empty when there is none).
pub fn read_metrics(dir: &Path) -> Result<Vec<MetricsRow>> {
    let path = dir.join(METRICS);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    let bad = |line: usize| TrainError::CorruptCheckpoint {
        path: path.clone(),
        msg: format!("line {line} is not a metrics row"),
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 8 {
            return Err(bad(i + 1));
        }
        let p32 = |s: &str| s.parse::<f32>().map_err(|_| bad(i + 1));
        let p64 = |s: &str| s.parse::<f64>().map_err(|_| bad(i + 1));
        rows.push(MetricsRow {
            step: f[0].parse().map_err(|_| bad(i + 1))?,
            epoch: p64(f[1])?,
            d_loss: p32(f[2])?,
            g_loss: p32(f[3])?,
            d_real: p32(f[4])?,
            d_fake: p32(f[5])?,
            value: p32(f[6])?,
            elapsed: p64(f[7])?,
        });
    }
    Ok(rows)
}

pub(crate) fn write_report(t: &Trainer) -> Result<()> {
    write_atomic(&t.run_dir().join("report.md"), t.report_text().as_bytes())
}
