//! `cargo xtask <task>`: orchestration only; the work lives in the library crates.
//!
//! - `bench [--quick] [FILTER]`: runs the criterion benchmarks of `benches/`, prints one
//!   table with the adapter name and writes the same rows to `target/bench/summary.json`.

mod bench;

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
        None => {
            println!("{USAGE}");
            Ok(())
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
tasks:
  bench [--quick] [FILTER]   run the kernel benchmarks, print a table, write target/bench/summary.json";
