//! `cargo xtask train [gan train flags]`: the default job, `recipes/default.toml` (the
//! DCGAN on the vendored MNIST, batch 64, 1000 steps) into `runs/mnist-dcgan-<seed>` of
//! the workspace. Arguments go to the same parser and code as `gan train`
//! (gan_cli::train) after `--config recipes/default.toml`, so a flag overrides a line of
//! the recipe; with `--config FILE`, `--preset NAME` or `--resume DIR` the recipe is not
//! read.

use std::path::Path;

use anyhow::{Context, Result};

pub fn run(args: &[String]) -> Result<()> {
    // Run directories (runs/...) and relative paths are taken from the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::env::set_current_dir(root).with_context(|| format!("entering {}", root.display()))?;
    let start = std::time::Instant::now();
    gan_cli::train::run_from_args(&with_recipe(args))?;
    println!(
        "cargo xtask train: {:.1} s wall",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The recipe file of the default job, relative to the workspace root.
pub const DEFAULT_RECIPE: &str = "recipes/default.toml";

/// `args` after `--config recipes/default.toml`, unless they name a config or a run to
/// resume.
pub fn with_recipe(args: &[String]) -> Vec<String> {
    let own = args.iter().any(|a| {
        a == "--config"
            || a.starts_with("--config=")
            || a == "--resume"
            || a.starts_with("--resume=")
            || a == "--preset"
            || a.starts_with("--preset=")
    });
    let mut out = Vec::new();
    if !own {
        out.push("--config".to_string());
        out.push(DEFAULT_RECIPE.to_string());
    }
    out.extend(args.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn the_recipe_comes_first_unless_a_config_or_a_run_is_named() {
        assert_eq!(with_recipe(&[]), s(&["--config", DEFAULT_RECIPE]));
        assert_eq!(
            with_recipe(&s(&["--steps", "5"])),
            s(&["--config", DEFAULT_RECIPE, "--steps", "5"])
        );
        for own in [
            &["--config", "x.toml"][..],
            &["--resume", "runs/a"],
            &["--config=x.toml"],
            &["--preset", "pacgan"],
        ] {
            assert_eq!(with_recipe(&s(own)), s(own));
        }
    }

    #[test]
    fn the_recipe_is_a_valid_dcgan_config() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let text = std::fs::read_to_string(root.join(DEFAULT_RECIPE)).unwrap();
        let cfg = gan_cli::presets::parse(&text, DEFAULT_RECIPE)
            .unwrap()
            .config;
        assert_eq!(cfg.arch, gan_train::Arch::Dcgan);
        assert_eq!(
            (cfg.dataset.as_str(), cfg.batch_size, cfg.steps),
            ("mnist", 64, 1000)
        );
        cfg.resolved().unwrap();
    }
}
