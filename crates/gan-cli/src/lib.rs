//! The `gan` command's subcommands as a library, so that `cargo xtask train` runs the very
//! same code as `gan train` (one parser, one implementation).
//!
//! - [`train`]: `gan train` (flags and/or `--config FILE.toml`, `--resume RUN_DIR`).
//! - [`generate`]: `gan generate` (PNGs, IDX, sample sheet, interpolation, manifest).
//! - [`discriminate`]: `gan discriminate` (D(x) of real vs generated images).
//! - [`gif`]: `gan generate --interpolate N --gif` and `gan timelapse`.
//! - [`presets`]: the recipes of `recipes/` shipped in the binary (`gan train --preset`).
//! - [`pretrained`]: the generators shipped in `pretrained/` (`--pretrained NAME`).
//! - [`eval`]: `gan eval` (metrics of a run's generator, table or JSON).
//! - [`serve`]: `gan serve` (a local web page and JSON API over a run's generator).
//! - [`export`]: `gan export` (the generator as ONNX).
//! - [`dataset`]: dataset names of `gan data`.
//! - [`distributed`]: `gan train --distributed` under MPI (feature `distributed`).

pub mod dataset;
pub mod discriminate;
pub mod distributed;
pub mod eval;
pub mod export;
pub mod generate;
pub mod gif;
pub mod presets;
pub mod pretrained;
pub mod serve;
pub mod train;
