//! The `gan` command's subcommands as a library, so that `cargo xtask train` runs the very
//! same code as `gan train` (one parser, one implementation).
//!
//! - [`train`]: `gan train` (flags and/or `--config FILE.toml`, `--resume RUN_DIR`).
//! - [`generate`]: `gan generate` (PNGs, IDX, sample sheet, interpolation, manifest).
//! - [`discriminate`]: `gan discriminate` (D(x) of real vs generated images).
//! - [`eval`]: `gan eval` (metrics of a run's generator, table or JSON).
//! - [`export`]: `gan export` (the generator as ONNX).
//! - [`dataset`]: dataset names of `gan data`.
//! - [`distributed`]: `gan train --distributed` under MPI (feature `distributed`).

pub mod dataset;
pub mod discriminate;
pub mod distributed;
pub mod eval;
pub mod export;
pub mod generate;
pub mod train;
