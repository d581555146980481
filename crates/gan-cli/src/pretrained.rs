//! Pretrained generators shipped in the repository (`pretrained/NAME/`): trimmed run
//! directories (config.toml, latest.toml, the latest checkpoint's players without their
//! optimizer state, the final samples and a README with the run's facts and scores), so
//! that `gan generate --pretrained mnist` works right after `git clone`, with no training
//! and no dataset.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Overrides where pretrained generators are looked for.
pub const PRETRAINED_DIR_ENV: &str = "GAN_PRETRAINED_DIR";

/// The folder of pretrained generators: `$GAN_PRETRAINED_DIR` when set, else the
/// repository's `pretrained/` (the source tree the binary was built from), else the first
/// `pretrained/` in the current directory or one of its parents.
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os(PRETRAINED_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let built = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../pretrained"));
    if let Ok(dir) = built.canonicalize() {
        return dir;
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(dir) = cwd
            .ancestors()
            .map(|a| a.join("pretrained"))
            .find(|d| d.is_dir())
        {
            return dir;
        }
    }
    built.to_path_buf()
}

/// One pretrained generator.
#[derive(Clone, Debug)]
pub struct Pretrained {
    /// Its name (`--pretrained NAME`).
    pub name: String,
    /// Its run directory.
    pub dir: PathBuf,
    /// The first line of its README (what it is and how good).
    pub summary: String,
}

/// Every pretrained generator under [`root`], by name.
pub fn list() -> Result<Vec<Pretrained>> {
    let root = root();
    let entries = std::fs::read_dir(&root).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}; pretrained generators live in the repository's pretrained/ folder \
             (run from a checkout, or set {PRETRAINED_DIR_ENV})",
            root.display()
        )
    })?;
    let mut out: Vec<Pretrained> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("config.toml").is_file())
        .map(|dir| {
            let summary = std::fs::read_to_string(dir.join("README.md"))
                .ok()
                .and_then(|t| {
                    t.lines()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| l.trim_start_matches('#').trim().to_string())
                })
                .unwrap_or_default();
            Pretrained {
                name: dir
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                dir,
                summary,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The run directory of pretrained generator `name`; an unknown name lists the others.
pub fn resolve(name: &str) -> Result<PathBuf> {
    let all = list()?;
    match all.iter().find(|p| p.name == name) {
        Some(p) => Ok(p.dir.clone()),
        None => bail!(
            "no pretrained generator named {name:?}; available: {} (`gan list-pretrained`)",
            all.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The run directory a subcommand works on: `--run DIR` or `--pretrained NAME`.
pub fn run_dir(run: Option<&Path>, pretrained: Option<&str>) -> Result<PathBuf> {
    match (run, pretrained) {
        (Some(r), None) => Ok(r.to_path_buf()),
        (None, Some(n)) => resolve(n),
        (Some(_), Some(_)) => bail!("give --run or --pretrained, not both"),
        (None, None) => {
            bail!("give --run RUN_DIR (a `gan train` run) or --pretrained NAME (`gan list-pretrained`)")
        }
    }
}

/// `gan list-pretrained`: one line per generator.
pub fn print_list() -> Result<()> {
    let all = list()?;
    if all.is_empty() {
        bail!("{}: no pretrained generators", root().display());
    }
    println!("pretrained generators in {}:", root().display());
    for p in all {
        println!("  {:<20} {}", p.name, p.summary);
    }
    println!("use: gan generate --pretrained NAME --out DIR --count 64 --grid");
    Ok(())
}
