//! Files of a run directory; every write is atomic (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gan_nn::{checkpoint, Adam, ParamStore};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Result, TrainError};

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
    /// Classes of a conditional run (`conditional = true`; absent, 0, otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub classes: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// The metrics interval the checkpoint was taken in, when that was not at a log step
    /// (a resumed run continues it, so its rows equal the uninterrupted run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_metrics: Option<PendingMetrics>,
}

/// Sums of the step metrics since the last `metrics.csv` row, saved with a checkpoint
/// taken between two log steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingMetrics {
    /// Steps in the interval so far.
    pub steps: u32,
    /// The sums (in `metrics::METRIC_NAMES` order: five, which `metrics` asserts; named
    /// here as a number so that this module does not import that one) as f32 bit
    /// patterns, so that they read back exactly.
    pub sum_bits: [u32; 5],
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

/// The averaged generator's file in a checkpoint directory (names `gen_ema.*`).
pub const EMA_FILE: &str = "gen_ema.safetensors";

/// Saves G, D and their optimizers, and G_ema when given (as [`EMA_FILE`]).
pub(crate) fn save_checkpoint(
    dir: &Path,
    gs: &ParamStore,
    ds: &ParamStore,
    opt_g: &Adam,
    opt_d: &Adam,
    ema: Option<&ParamStore>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let [og, od, g, d] = ckpt_files(dir);
    checkpoint::save(&g, gs)?;
    checkpoint::save(&d, ds)?;
    checkpoint::save_optimizer(&og, opt_g)?;
    checkpoint::save_optimizer(&od, opt_d)?;
    if let Some(es) = ema {
        checkpoint::save(dir.join(EMA_FILE), es)?;
    }
    Ok(())
}

fn corrupt(path: &Path, e: gan_nn::NnError) -> TrainError {
    TrainError::CorruptCheckpoint {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Loads G and D (the optimizers, and G_ema from [`EMA_FILE`], when given) from a
/// checkpoint directory. Without `ema` an EMA file there is ignored.
pub(crate) fn load_checkpoint(
    dir: &Path,
    gs: &ParamStore,
    ds: &ParamStore,
    opts: Option<(&mut Adam, &mut Adam)>,
    ema: Option<&ParamStore>,
) -> Result<()> {
    let [og, od, g, d] = ckpt_files(dir);
    let e = dir.join(EMA_FILE);
    for p in [&g, &d].into_iter().chain(ema.map(|_| &e)) {
        if !p.exists() {
            return Err(TrainError::CorruptCheckpoint {
                path: p.clone(),
                msg: "file missing".into(),
            });
        }
    }
    checkpoint::load(&g, gs).map_err(|e| corrupt(&g, e))?;
    checkpoint::load(&d, ds).map_err(|e| corrupt(&d, e))?;
    if let Some(es) = ema {
        checkpoint::load(&e, es).map_err(|err| corrupt(&e, err))?;
    }
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

/// The steps of the checkpoints a run directory holds, ascending (only the latest unless
/// the run was trained with `keep_checkpoints`).
pub fn checkpoint_steps(run_dir: &Path) -> Result<Vec<u64>> {
    let root = run_dir.join("checkpoints");
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NoCheckpoint(run_dir.to_path_buf()))
        }
        Err(e) => return Err(TrainError::io(&root, e)),
    };
    let mut steps: Vec<u64> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("step-")?.parse().ok()
        })
        .collect();
    steps.sort_unstable();
    Ok(steps)
}

/// The checkpoint directory of `step` in `run_dir`, relative to it.
pub fn checkpoint_name(step: u64) -> String {
    format!("checkpoints/step-{step:08}")
}

/// The checkpoint directory of `step` (None: the latest, from `latest.toml`).
pub fn checkpoint_dir(run_dir: &Path, step: Option<u64>) -> Result<PathBuf> {
    match step {
        None => Ok(run_dir.join(read_latest(run_dir)?.checkpoint)),
        Some(s) => {
            let dir = run_dir.join(checkpoint_name(s));
            if dir.is_dir() {
                return Ok(dir);
            }
            let have = checkpoint_steps(run_dir)?;
            Err(TrainError::Config(format!(
                "{} has no checkpoint of step {s}; it has steps {have:?} (train with \
                 keep_checkpoints = true / --keep-checkpoints to keep every checkpoint)",
                run_dir.display()
            )))
        }
    }
}
