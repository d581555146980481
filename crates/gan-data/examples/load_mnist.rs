//! Times loading the vendored MNIST and prints its summary (timing belongs here, not in
//! a test). Run with `cargo run --release -p gan-data --example load_mnist`.

use gan_data::mnist::{load_mnist_with, mnist_dir, Verify};
use gan_data::{Split, Summary};
use std::time::Instant;

fn main() -> Result<(), gan_data::DataError> {
    let dir = mnist_dir();
    for (verify, what) in [
        (Verify::Checksums, "sizes + sha256"),
        (Verify::SizesOnly, "sizes only"),
    ] {
        for run in 0..3 {
            let t = Instant::now();
            let train = load_mnist_with(&dir, Split::Train, verify)?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "run {run}: {} MNIST train images into memory in {ms:.1} ms ({what})",
                train.len()
            );
        }
    }
    let train = load_mnist_with(&dir, Split::Train, Verify::Checksums)?;
    let t = Instant::now();
    let summary = Summary::of(&train);
    println!(
        "summary in {:.1} ms:\n{summary}",
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
