//! Dataset names on the command line: `mnist`, `idx:DIR`, `cifar10:DIR`, `folder:DIR`,
//! `ring8`, `grid25`, `stacked-mnist`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use gan_data::{FolderOptions, Source, ToyDistribution};

/// Points drawn for a toy mixture, and images for Stacked MNIST.
const TOY_POINTS: usize = 100_000;
const STACKED_IMAGES: usize = 60_000;

/// Parses a dataset name; `size` is the side images of a folder are resized to.
pub fn parse(spec: &str, size: u32) -> Result<Source> {
    let (kind, arg) = match spec.split_once(':') {
        Some((k, a)) => (k, Some(a)),
        None => (spec, None),
    };
    let dir = |what: &str| -> Result<PathBuf> {
        match arg {
            Some(a) if !a.is_empty() => Ok(PathBuf::from(a)),
            _ => bail!("{what} needs a directory: {what}:DIR"),
        }
    };
    Ok(match kind {
        "mnist" => Source::Mnist(arg.map(PathBuf::from)),
        "idx" => Source::Idx(dir("idx")?),
        "cifar10" => Source::Cifar10(dir("cifar10")?),
        "folder" => Source::Folder(dir("folder")?, FolderOptions::new(size)),
        "ring8" => Source::Toy {
            distribution: ToyDistribution::ring8(),
            n: TOY_POINTS,
            seed: 0,
        },
        "grid25" => Source::Toy {
            distribution: ToyDistribution::grid25(),
            n: TOY_POINTS,
            seed: 0,
        },
        "stacked-mnist" => Source::StackedMnist {
            n: STACKED_IMAGES,
            seed: 0,
        },
        other => bail!(
            "unknown dataset {other:?}; expected mnist, idx:DIR, cifar10:DIR, folder:DIR, \
             ring8, grid25 or stacked-mnist"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn names_parse_and_bad_names_explain() {
        assert!(matches!(
            parse("mnist", 64).unwrap(),
            gan_data::Source::Mnist(None)
        ));
        assert!(matches!(
            parse("idx:/d", 64).unwrap(),
            gan_data::Source::Idx(_)
        ));
        assert!(parse("idx", 64)
            .unwrap_err()
            .to_string()
            .contains("idx:DIR"));
        assert!(parse("celeba", 64)
            .unwrap_err()
            .to_string()
            .contains("expected mnist"));
    }
}
