//! The training configuration: every parameter of a run with its default, read from and
//! written to `config.toml`.

use std::path::{Path, PathBuf};

use gan_data::Dataset;
use serde::{Deserialize, Serialize};

use crate::data::DataSpec;
use crate::error::{Result, TrainError};

mod kinds;
mod validate;

pub use kinds::{Arch, GLoss, Prior, SpectralNorm};

/// Every parameter of a training run. `Config::default()` is what `gan train` starts from:
/// the MLP GAN (100-256-512-1024-784 / 784-512-256-1) on the vendored MNIST, batch 128,
/// 4000 steps (8.5 epochs; about 10 minutes at ~150 ms/step on 2-core lavapipe, recognisable
/// but speckled digits); the default job (`cargo xtask train`) reads the workspace's
/// `recipes/default.toml` over it (DCGAN, batch 64, 1000 steps). Serialized as the
/// `[config]` table of `config.toml`.
///
/// `lr_g`, `lr_d` and `dropout` left at `None` take the data's default ([`IMAGE_DEFAULTS`],
/// or [`TOY_DEFAULTS`] for the 2-D toy sets); read them through [`Config::lr_g`] etc., and
/// [`Config::resolved`] writes them out as numbers.
///
/// The fields are also the flags of `gan train` (`#[derive(clap::Args)]`: each doc comment
/// is the flag's help); [`Config::command_args`] adds them to a command with the defaults
/// of `Config::default()` and [`Config::given_flags`] reads back the ones given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The training data: mnist (vendored), mnist:DIR, idx:DIR, cifar10:DIR, folder:DIR
    /// (32x32 RGB), ring8, ring8_wide, grid25 (2-D points), stacked-mnist (3x28x28, 1000
    /// modes).
    #[arg(value_name = "DATASET")]
    pub dataset: String,
    /// Use only the first N training items (0: all; toy data: 0 means 10000 points;
    /// stacked-mnist: the number of images drawn, 0 means 60000).
    #[arg(long, value_name = "N")]
    pub limit: usize,
    /// Network family of both players.
    #[arg(long)]
    pub arch: Arch,
    /// Dimension of z.
    #[arg(long)]
    pub latent_dim: usize,
    /// The prior P(z).
    #[arg(long)]
    pub prior: Prior,
    /// Hidden widths of the MLP generator, comma separated (empty: 256,512,1024 for
    /// images, 128,128 for 2-D).
    #[arg(long, value_delimiter = ',', value_name = "WIDTHS")]
    pub g_hidden: Vec<usize>,
    /// Hidden widths of the MLP discriminator, comma separated (empty: 512,256 for images,
    /// 128,128 for 2-D).
    #[arg(long, value_delimiter = ',', value_name = "WIDTHS")]
    pub d_hidden: Vec<usize>,
    /// Dropout probability after each hidden layer of the MLP discriminator (unset: the
    /// data's default).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropout: Option<f64>,
    /// Negative slope of the LeakyReLUs.
    #[arg(long)]
    pub leaky_slope: f64,
    /// DCGAN generator width (channels of the last hidden layer; doubled per layer up).
    #[arg(long)]
    pub ngf: usize,
    /// DCGAN discriminator width (channels of the first layer; doubled per layer down).
    #[arg(long)]
    pub ndf: usize,
    /// The game's loss, both players: minimax and non-saturating (D: binary
    /// cross-entropy), hinge (Miyato et al. 2018), least-squares (LSGAN, Mao et al. 2017).
    #[arg(long)]
    pub loss: GLoss,
    /// Discriminator steps per generator step.
    #[arg(long)]
    pub k: usize,
    /// Generator steps per iteration, after the k D steps, each on the same latents
    /// (carpedm20's DCGAN-tensorflow, which VEEGAN's and PacGAN's Stacked MNIST runs use,
    /// steps G twice); `steps` counts iterations. Written to config.toml only when not 1.
    #[arg(long, value_name = "N", default_value_t = 1)]
    #[serde(skip_serializing_if = "is_one")]
    pub g_steps: usize,
    /// One-sided label smoothing: real label = 1 - label_smoothing (0.1 gives 0.9); with
    /// least-squares D's target for real items; hinge has no label and refuses it.
    #[arg(long)]
    pub label_smoothing: f64,
    /// PacGAN packing: the discriminator judges this many items at once (1: off).
    #[arg(long)]
    pub pack: usize,
    /// Class-conditional players (needs labelled data): G gets a learned class embedding
    /// at its input (cGAN, Mirza & Osindero 2014), D is a projection discriminator
    /// (Miyato & Koyama 2018). Written to config.toml only when on.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub conditional: bool,
    /// Real (and generated) items per discriminator step.
    #[arg(long)]
    pub batch_size: usize,
    /// Adam learning rate of G (unset: the data's default).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_g: Option<f64>,
    /// Adam learning rate of D (unset: the data's default).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_d: Option<f64>,
    /// Adam beta1 (both players).
    #[arg(long)]
    pub beta1: f64,
    /// Adam beta2 (both players).
    #[arg(long)]
    pub beta2: f64,
    /// Training length in epochs of real data; used when steps is 0.
    #[arg(long)]
    pub epochs: u64,
    /// Training length in generator steps (each with k discriminator steps); wins over
    /// epochs when not 0.
    #[arg(long)]
    pub steps: u64,
    /// Drives initialisation, data order, latent draws and dropout.
    #[arg(long)]
    pub seed: u64,
    /// Read metrics back every this many steps: a metrics.csv row of the means over the
    /// steps since the previous row.
    #[arg(long, value_name = "N")]
    pub log_every: u64,
    /// Write a sample grid every this many steps (0: at the end of every epoch).
    #[arg(long, value_name = "N")]
    pub sample_every: u64,
    /// Write a checkpoint every this many steps (0: at the end of every epoch).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: u64,
    /// Number of fixed latents drawn for the sample grids (toy data: points plotted).
    #[arg(long, value_name = "N")]
    pub samples: usize,
    /// Evaluate the generator (`gan eval`'s metrics for the dataset) every this many
    /// epochs and at the end, into eval/history.csv and report.md (0: off).
    #[arg(long, value_name = "N")]
    pub eval_every: u64,
    /// Items generated per evaluation during training (0: the protocol's count, 10000
    /// MNIST images, 2500 2-D points, 26000 Stacked MNIST images).
    #[arg(long, value_name = "N")]
    pub eval_count: usize,
    /// Keep every checkpoint (to judge the game at several points with
    /// `gan discriminate --step`); false keeps only the latest.
    #[arg(long)]
    pub keep_checkpoints: bool,
    /// The run directory.
    #[arg(long = "out", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// MLP generator: BatchNorm1d + ReLU after each hidden Linear (which then has no
    /// bias), instead of LeakyReLU (PacGAN's 2-D generator, Lin et al. 2018).
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub g_batchnorm: bool,
    /// MLP discriminator: hidden layers are Maxout units of this many pieces (Goodfellow
    /// et al. 2013) instead of Linear + LeakyReLU; dropout, when above 0, still follows
    /// them (0: off; PacGAN's 2-D discriminator uses 5).
    #[arg(long, value_name = "PIECES", default_value_t = 0)]
    #[serde(skip_serializing_if = "is_zero")]
    pub d_maxout: usize,
    /// Decay of the exponential moving average of G's weights (StyleGAN's G_ema, e.g.
    /// 0.999), which then makes the samples, the evaluations and `gan generate`'s
    /// images; 0: off.
    #[arg(long, value_name = "DECAY")]
    pub ema_decay: f64,
    /// Warm-up of that average: after t generator steps it uses decay
    /// min(ema_decay, (1 + t) / (ema_warmup + t)) (TensorFlow's ExponentialMovingAverage
    /// with num_updates uses 10), so early weights fade fast; 0: no warm-up.
    #[arg(long, value_name = "W")]
    pub ema_warmup: f64,
    /// Spectral normalization of the players' Linear and Conv2d weights: none, d, g or
    /// both (one power iteration per training forward, PyTorch's `spectral_norm`).
    #[arg(long)]
    pub spectral_norm: SpectralNorm,
    /// Split each batch into this many micro-batches, forward and backward one at a time
    /// with the gradients summed (gradient accumulation: less memory, the same step up
    /// to summation order, except that BatchNorm normalises each micro-batch on its
    /// own); a run of N MPI ranks computes what one process computes with N. 1: off.
    #[arg(long, value_name = "M", default_value_t = 1)]
    #[serde(skip_serializing_if = "is_one")]
    pub micro_batches: usize,
    /// Update D and G at once: G's gradient is taken against the D of the same forward
    /// pass, before D's update (simultaneous gradient descent-ascent, as ALI's and
    /// PacGAN's code do); off: D steps first and G plays the updated D. Written to
    /// config.toml only when on.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub simultaneous: bool,
}

// Off-by-default layer options are left out of config.toml, so the numeric hash of a run
// recorded before they existed is unchanged.
fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// The parameters whose default depends on the kind of data: `None` in a [`Config`]
/// means the value here for its dataset ([`Config::data_defaults`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataDefaults {
    /// Adam learning rate of G.
    pub lr_g: f64,
    /// Adam learning rate of D.
    pub lr_d: f64,
    /// Dropout after each hidden layer of the MLP discriminator.
    pub dropout: f64,
}

/// Image data: Adam 2e-4 for both players (Radford et al. 2015) and dropout 0.3 in the
/// MLP discriminator.
pub const IMAGE_DEFAULTS: DataDefaults = DataDefaults {
    lr_g: 2e-4,
    lr_d: 2e-4,
    dropout: 0.3,
};

/// 2-D toy data (ring8, ring8_wide, grid25): lr 1e-3 and no dropout learn ring8 in ~2000
/// steps (at 2e-4 the small players barely move from the N(0, 0.02) init in that time).
pub const TOY_DEFAULTS: DataDefaults = DataDefaults {
    lr_g: 1e-3,
    lr_d: 1e-3,
    dropout: 0.0,
};

impl DataDefaults {
    /// The fields as `(Config key, value)`.
    pub fn entries(&self) -> [(&'static str, f64); 3] {
        [
            ("lr_g", self.lr_g),
            ("lr_d", self.lr_d),
            ("dropout", self.dropout),
        ]
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dataset: "mnist".into(),
            limit: 0,
            arch: Arch::Mlp,
            latent_dim: 100,
            prior: Prior::Normal,
            g_hidden: Vec::new(),
            d_hidden: Vec::new(),
            dropout: None,
            leaky_slope: 0.2,
            ngf: 32,
            ndf: 32,
            loss: GLoss::NonSaturating,
            k: 1,
            label_smoothing: 0.0,
            pack: 1,
            conditional: false,
            batch_size: 128,
            lr_g: None,
            lr_d: None,
            beta1: 0.5,
            beta2: 0.999,
            epochs: 0,
            steps: 4000,
            seed: 1,
            log_every: 50,
            sample_every: 0,
            checkpoint_every: 0,
            samples: 64,
            eval_every: 0,
            eval_count: 2000,
            keep_checkpoints: false,
            out_dir: PathBuf::from("runs/gan"),
            g_batchnorm: false,
            d_maxout: 0,
            ema_decay: 0.0,
            ema_warmup: 10.0,
            spectral_norm: SpectralNorm::None,
            micro_batches: 1,
            simultaneous: false,
            g_steps: 1,
        }
    }
}

/// Fields that do not change the numbers a run computes: a resumed run may change them.
const NON_NUMERIC: &[&str] = &[
    "out_dir",
    "log_every",
    "sample_every",
    "checkpoint_every",
    "steps",
    "epochs",
    "samples",
    "keep_checkpoints",
    "eval_every",
    "eval_count",
];

/// Numeric fields added after runs were recorded, with the value a run written before
/// they existed had (the feature off). A run's `config.toml` without one of them reads
/// as that value, not as today's default, and [`Config::numeric_hash`] leaves them out
/// while they hold it, so such a run keeps its meaning and its hash (and resumes).
fn added_later() -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("ema_decay".into(), toml::Value::Float(0.0));
    t.insert("ema_warmup".into(), toml::Value::Float(10.0));
    t.insert("spectral_norm".into(), toml::Value::String("none".into()));
    t.insert("micro_batches".into(), toml::Value::Integer(1));
    t.insert("simultaneous".into(), toml::Value::Boolean(false));
    t.insert("g_steps".into(), toml::Value::Integer(1));
    t
}

/// Loads the training data a config names (first `limit` items when `limit` is set).
pub fn load_dataset(cfg: &Config) -> Result<Dataset> {
    DataSpec::parse(&cfg.dataset)?.load(cfg.limit, cfg.seed)
}

impl Config {
    /// Reads a config from TOML text: either a bare table of fields or the `[config]`
    /// table of a run's `config.toml`. Missing fields take their defaults, except that in a
    /// run's `[config]` table the fields added after it was written read as off (EMA,
    /// spectral norm), as that run trained.
    pub fn from_toml(text: &str) -> Result<Config> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| TrainError::Config(e.to_string()))?;
        let table = match value.get("config") {
            Some(toml::Value::Table(t)) => {
                // A run's file: a field it lacks was added later and was off in that run.
                let mut t = t.clone();
                for (k, v) in added_later() {
                    t.entry(k).or_insert(v);
                }
                t
            }
            _ => value,
        };
        Config::from_table(table)
    }

    /// Reads a config from a table of fields (missing fields take their defaults).
    pub fn from_table(table: toml::Table) -> Result<Config> {
        table
            .try_into()
            .map_err(|e: toml::de::Error| TrainError::Config(e.to_string()))
    }

    /// The config with the fields of `overrides` (a table of Config keys, as
    /// [`Config::to_table`] writes them) replaced.
    pub fn overridden(&self, overrides: &toml::Table) -> Result<Config> {
        let mut t = self.to_table();
        t.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Config::from_table(t)
    }

    /// True for the 2-D toy datasets (false for names that do not parse).
    pub fn is_toy(&self) -> bool {
        DataSpec::parse(&self.dataset).is_ok_and(|s| s.is_toy())
    }

    /// The defaults of `lr_g`, `lr_d` and `dropout` for this config's data:
    /// [`TOY_DEFAULTS`] for 2-D toy data, else [`IMAGE_DEFAULTS`].
    pub fn data_defaults(&self) -> DataDefaults {
        if self.is_toy() {
            TOY_DEFAULTS
        } else {
            IMAGE_DEFAULTS
        }
    }

    /// Adam learning rate of G: `lr_g`, or the data's default when unset.
    pub fn lr_g(&self) -> f64 {
        self.lr_g.unwrap_or(self.data_defaults().lr_g)
    }

    /// Adam learning rate of D: `lr_d`, or the data's default when unset.
    pub fn lr_d(&self) -> f64 {
        self.lr_d.unwrap_or(self.data_defaults().lr_d)
    }

    /// Dropout of the MLP discriminator: `dropout`, or the data's default when unset.
    pub fn dropout(&self) -> f64 {
        self.dropout.unwrap_or(self.data_defaults().dropout)
    }

    /// The data-dependent fields left unset, with the values they take (what
    /// [`Config::resolved`] will fill in), as `(key, value)`.
    pub fn unset_data_defaults(&self) -> Vec<(&'static str, f64)> {
        let set = [self.lr_g, self.lr_d, self.dropout];
        self.data_defaults()
            .entries()
            .into_iter()
            .zip(set)
            .filter(|(_, v)| v.is_none())
            .map(|(e, _)| e)
            .collect()
    }

    /// `cmd` with a flag for every field (`#[derive(clap::Args)]`), each showing its
    /// default from `Config::default()`; `lr_g`, `lr_d` and `dropout` show the image and
    /// the toy data defaults. Parse with [`Config::given_flags`] to tell given flags from
    /// defaults.
    pub fn command_args(cmd: clap::Command) -> clap::Command {
        let mut cmd = <Config as clap::Args>::augment_args(cmd);
        for (key, value) in Config::default().to_table() {
            let shown = match value {
                toml::Value::String(s) => s,
                toml::Value::Array(a) => {
                    let items: Vec<String> = a.iter().map(|v| v.to_string()).collect();
                    items.join(",")
                }
                v => v.to_string(),
            };
            if shown.is_empty() {
                continue; // an empty list: the help says what it means
            }
            cmd = cmd.mut_arg(key, |a| {
                if a.get_action().takes_values() {
                    a.default_value(shown).required(false)
                } else {
                    a
                }
            });
        }
        for ((key, image), (_, toy)) in IMAGE_DEFAULTS
            .entries()
            .into_iter()
            .zip(TOY_DEFAULTS.entries())
        {
            cmd = cmd.mut_arg(key, |a| {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.help(format!("{help} [default: {image}; 2-D toy data: {toy}]"))
            });
        }
        cmd
    }

    /// The fields given on the command line (not taken from the defaults) in matches of
    /// a command built with [`Config::command_args`], as a table of Config keys for
    /// [`Config::overridden`].
    pub fn given_flags(
        matches: &clap::ArgMatches,
    ) -> std::result::Result<toml::Table, clap::Error> {
        let all = <Config as clap::FromArgMatches>::from_arg_matches(matches)?;
        let mut t = all.to_table();
        t.retain(|k, _| matches.value_source(k) == Some(clap::parser::ValueSource::CommandLine));
        Ok(t)
    }

    /// Reads a config file (see [`Config::from_toml`]).
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Config::from_toml(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
    }

    /// The config as a TOML table.
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("a Config always serializes")
    }

    /// The config with every automatic value made explicit (hidden widths, and the data's
    /// learning rates and dropout when unset), as written to `config.toml`.
    pub fn resolved(&self) -> Result<Config> {
        self.validate()?;
        let toy = DataSpec::parse(&self.dataset)?.is_toy();
        let mut c = self.clone();
        c.lr_g = Some(self.lr_g());
        c.lr_d = Some(self.lr_d());
        c.dropout = Some(self.dropout());
        if c.g_hidden.is_empty() {
            c.g_hidden = if toy {
                vec![128, 128]
            } else {
                vec![256, 512, 1024]
            };
        }
        if c.d_hidden.is_empty() {
            c.d_hidden = if toy { vec![128, 128] } else { vec![512, 256] };
        }
        Ok(c)
    }

    /// Differences in the fields that change a run's numbers, as `key: a -> b`.
    pub fn numeric_diffs(&self, other: &Config) -> Vec<String> {
        let (a, b) = (self.to_table(), other.to_table());
        let mut out = Vec::new();
        let shown = |v: Option<&toml::Value>| {
            v.map(|v| v.to_string())
                .unwrap_or_else(|| "(missing)".into())
        };
        // Keys of either side: an option left out of one table (at its default) differs
        // from the same option set in the other.
        for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
            if NON_NUMERIC.contains(&key.as_str()) {
                continue;
            }
            let (va, vb) = (a.get(key), b.get(key));
            if va != vb {
                out.push(format!("{key}: {} -> {}", shown(va), shown(vb)));
            }
        }
        out
    }

    /// A stable 64-bit hash (FNV-1a) of the fields that change a run's numbers, in hex.
    pub fn numeric_hash(&self) -> String {
        let mut t = self.to_table();
        for k in NON_NUMERIC {
            t.remove(*k);
        }
        for (k, off) in added_later() {
            if t.get(&k) == Some(&off) {
                t.remove(&k);
            }
        }
        let text = toml::to_string(&t).expect("a table serializes");
        let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        });
        format!("{h:016x}")
    }
}
