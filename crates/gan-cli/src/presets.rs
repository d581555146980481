//! Presets: the recipe files of the workspace's `recipes/` folder, embedded in the binary,
//! each setting every parameter of a protocol in one word (`gan train ring8 --preset
//! pacgan --pack 2`). A recipe is a bare table of [`gan_train::Config`] keys plus an
//! optional `[preset]` table read here and never written to a run:
//!
//! - `about`: one line for `gan train --preset list`;
//! - `batch_packs = B`: batch_size becomes B x pack unless `--batch-size` is given (a
//!   paper's batch of B packs);
//! - `datasets = [...]`: the datasets the protocol is for; others are refused.
//!
//! `--config FILE` reads the same format, so `--config recipes/pacgan.toml` and
//! `--preset pacgan` start the same run.

use anyhow::{bail, Context as _, Result};
use gan_train::Config;

/// A recipe shipped in the binary.
#[derive(Debug)]
pub struct Preset {
    /// The word given to `--preset`.
    pub name: &'static str,
    /// The recipe's text (TOML).
    pub text: &'static str,
}

/// The presets, in the order `--preset list` prints them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "default",
        text: include_str!("../../../recipes/default.toml"),
    },
    Preset {
        name: "pacgan",
        text: include_str!("../../../recipes/pacgan.toml"),
    },
    Preset {
        name: "pacgan-stacked",
        text: include_str!("../../../recipes/pacgan-stacked.toml"),
    },
];

/// The `[preset]` table of a recipe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    /// One line on what the recipe is.
    pub about: String,
    /// batch_size = batch_packs x pack unless given.
    pub batch_packs: Option<usize>,
    /// The datasets the recipe is for (empty: any).
    pub datasets: Vec<String>,
}

/// A recipe read: its Config keys (a bare table, or a run's `[config]` table) and its meta.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The parameters over [`Config::default`].
    pub config: Config,
    /// Whether the recipe sets `out_dir`.
    pub sets_out: bool,
    /// Its `[preset]` table (default when absent).
    pub meta: Meta,
}

/// Reads recipe text (`origin` names it in errors).
pub fn parse(text: &str, origin: &str) -> Result<Recipe> {
    let mut table: toml::Table = toml::from_str(text).with_context(|| origin.to_string())?;
    let meta = match table.remove("preset") {
        None => Meta::default(),
        Some(toml::Value::Table(t)) => meta(&t).with_context(|| origin.to_string())?,
        Some(_) => bail!("{origin}: `preset` must be a table ([preset])"),
    };
    let sets_out = match table.get("config") {
        Some(toml::Value::Table(t)) => t.contains_key("out_dir"),
        _ => table.contains_key("out_dir"),
    };
    let text = toml::to_string(&table).expect("a TOML table serializes");
    let config = Config::from_toml(&text).with_context(|| origin.to_string())?;
    Ok(Recipe {
        config,
        sets_out,
        meta,
    })
}

fn meta(t: &toml::Table) -> Result<Meta> {
    let mut m = Meta::default();
    for (k, v) in t {
        match (k.as_str(), v) {
            ("about", toml::Value::String(s)) => m.about = s.clone(),
            ("batch_packs", toml::Value::Integer(n)) if *n > 0 => m.batch_packs = Some(*n as usize),
            ("datasets", toml::Value::Array(a)) => {
                for d in a {
                    match d.as_str() {
                        Some(s) => m.datasets.push(s.to_string()),
                        None => bail!("[preset] datasets must be a list of names"),
                    }
                }
            }
            _ => bail!(
                "[preset] {k} = {v}: expected about = \"text\", batch_packs = N (N >= 1) or \
                 datasets = [\"name\", ...]"
            ),
        }
    }
    Ok(m)
}

/// The preset called `name`, or an error listing them.
pub fn find(name: &str) -> Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown preset `{name}`; the presets are:\n{}",
            list().trim_end()
        )
    })
}

/// The recipe of a shipped preset.
pub fn load(name: &str) -> Result<Recipe> {
    let p = find(name)?;
    parse(p.text, &format!("preset {name} (recipes/{name}.toml)"))
}

/// One line per preset: name and about.
pub fn list() -> String {
    PRESETS
        .iter()
        .map(|p| {
            let about = parse(p.text, p.name)
                .map(|r| r.meta.about)
                .unwrap_or_default();
            format!("  {:<16} {about}\n", p.name)
        })
        .collect()
}

impl Meta {
    /// Applies the meta to `cfg` built with the flags `given` (Config keys given on the
    /// command line), with a note for each value it sets.
    pub fn apply(&self, cfg: &mut Config, given: &toml::Table) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        if !self.datasets.is_empty() && !self.datasets.contains(&cfg.dataset) {
            bail!(
                "this preset is for the datasets {} (got `{}`); name one of them, e.g. \
                 `gan train {} --preset ...`",
                self.datasets.join(", "),
                cfg.dataset,
                self.datasets[0]
            );
        }
        if let Some(b) = self.batch_packs {
            if !given.contains_key("batch_size") {
                cfg.batch_size = b * cfg.pack;
                notes.push(format!(
                    "batch_size = {} ({b} packs of {} items, as the preset's protocol)",
                    cfg.batch_size, cfg.pack
                ));
            }
        }
        Ok(notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_lists() {
        for p in PRESETS {
            let r = load(p.name).unwrap();
            assert!(!r.sets_out, "{}", p.name);
        }
        let l = list();
        assert!(l.contains("pacgan") && l.contains("PacGAN"), "{l}");
        let e = find("nope").unwrap_err().to_string();
        assert!(
            e.contains("unknown preset `nope`") && e.contains("default"),
            "{e}"
        );
    }

    #[test]
    fn pacgan_sets_the_papers_players() {
        let r = load("pacgan").unwrap();
        let c = &r.config;
        assert_eq!(c.g_hidden, vec![400; 4]);
        assert_eq!(c.d_hidden, vec![200; 3]);
        assert_eq!((c.d_maxout, c.g_batchnorm, c.latent_dim), (5, true, 2));
        assert_eq!((c.lr_g, c.lr_d, c.beta1), (Some(1e-4), Some(1e-4), 0.8));
        assert_eq!((c.limit, c.steps), (100_000, 400_000));
        assert_eq!(r.meta.batch_packs, Some(100));
    }

    #[test]
    fn pacgan_stacked_sets_carpedm20s_dcgan_and_schedule() {
        let r = load("pacgan-stacked").unwrap();
        let c = &r.config;
        assert_eq!(c.arch, gan_train::Arch::DcganTf);
        assert_eq!((c.ngf, c.ndf, c.latent_dim, c.g_steps), (64, 64, 100, 2));
        assert_eq!((c.limit, c.steps, c.eval_count), (128_000, 100_000, 26_000));
        assert_eq!(r.meta.datasets, vec!["stacked-mnist".to_string()]);
        c.resolved().unwrap();
    }

    #[test]
    fn batch_packs_scales_the_batch_unless_given() {
        let r = load("pacgan").unwrap();
        let mut c = r.config.clone();
        c.dataset = "grid25".into();
        c.pack = 3;
        r.meta.apply(&mut c, &toml::Table::new()).unwrap();
        assert_eq!(c.batch_size, 300);
        let mut given = toml::Table::new();
        given.insert("batch_size".into(), 60.into());
        c.batch_size = 60;
        r.meta.apply(&mut c, &given).unwrap();
        assert_eq!(c.batch_size, 60);
        c.dataset = "mnist".into();
        let e = r.meta.apply(&mut c, &given).unwrap_err().to_string();
        assert!(e.contains("ring8, grid25"), "{e}");
    }

    #[test]
    fn bad_preset_tables_are_refused() {
        let e = parse("steps = 3\n[preset]\nbatch_packs = 0\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml"), "{e}");
        assert!(parse("preset = 3\n", "y").is_err());
        assert!(parse("stepz = 3\n", "z").is_err());
    }
}
