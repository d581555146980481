//! The vendored MNIST: sizes, checksums, label histograms against data/mnist/README.md.

mod common;

use common::*;
use gan_data::mnist::{
    load_mnist_with, mnist_dir, Verify, MNIST_TEST_LABEL_COUNTS, MNIST_TRAIN_LABEL_COUNTS,
};
use gan_data::{load_mnist, load_vendored_mnist, stacked_mnist, DataError, Split, Summary};

#[test]
fn train_label_histogram_matches_the_readme() {
    let train = load_vendored_mnist(Split::Train).unwrap();
    assert_eq!(train.nchw(), [60000, 1, 28, 28]);
    let s = Summary::of(&train);
    assert_eq!(s.label_histogram.unwrap(), MNIST_TRAIN_LABEL_COUNTS);
    assert!(s.min >= -1.0 && s.max <= 1.0);
    assert_eq!((s.min, s.max), (-1.0, 1.0));
    // MNIST is mostly background: mean pixel 0.1307 in [0, 1] is -0.739 in [-1, 1].
    assert!(
        (s.mean - (2.0 * 0.1307 - 1.0)).abs() < 1e-3,
        "mean {}",
        s.mean
    );
}

#[test]
fn test_label_histogram_matches_the_readme() {
    let test = load_vendored_mnist(Split::Test).unwrap();
    assert_eq!(test.nchw(), [10000, 1, 28, 28]);
    let s = Summary::of(&test);
    assert_eq!(
        s.label_histogram.as_deref(),
        Some(&MNIST_TEST_LABEL_COUNTS[..])
    );
    assert!(s.to_string().contains("items:    10000"));
}

#[test]
fn readme_counts_are_the_constants() {
    let readme = std::fs::read_to_string(mnist_dir().join("README.md")).unwrap();
    let line = |prefix: &str| -> Vec<usize> {
        let l = readme.lines().find(|l| l.starts_with(prefix)).unwrap();
        l[prefix.len()..]
            .trim()
            .trim_end_matches('.')
            .split_whitespace()
            .map(|kv| kv.split(':').nth(1).unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(line("Label counts (train):"), MNIST_TRAIN_LABEL_COUNTS);
    assert_eq!(line("Label counts (test):"), MNIST_TEST_LABEL_COUNTS);
}

#[test]
fn tampered_copy_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(mnist_dir().join(name), dir.path().join(name)).unwrap();
    }
    // Same content, recompressed: a valid file whose sha256 is not the published one.
    let path = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let raw = gan_data::idx::read_idx(&path).unwrap();
    let bytes = gzip(&idx_bytes(&[10000], &raw.data));
    std::fs::write(&path, bytes).unwrap();
    let err = load_mnist(dir.path(), Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "sha256",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("t10k-labels-idx1-ubyte.gz"));
    // Sizes-only verification accepts it.
    let ds = load_mnist_with(dir.path(), Split::Test, Verify::SizesOnly).unwrap();
    assert_eq!(ds.len(), 10000);
}

#[test]
fn uncompressed_copy_is_checked_with_md5() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        let arr = gan_data::idx::read_idx(&mnist_dir().join(format!("{name}.gz"))).unwrap();
        let dims: Vec<u32> = arr.dims.iter().map(|&d| d as u32).collect();
        write(dir.path(), name, &idx_bytes(&dims, &arr.data));
    }
    assert_eq!(load_mnist(dir.path(), Split::Test).unwrap().len(), 10000);
    // Flip one label: the md5 no longer matches.
    let p = dir.path().join("t10k-labels-idx1-ubyte");
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[8] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    let err = load_mnist(dir.path(), Split::Test).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Checksum {
                algorithm: "md5",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn wrong_dimensions_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_split(dir.path(), "", "t10k", 3, true);
    let err = load_mnist_with(dir.path(), Split::Test, Verify::SizesOnly).unwrap_err();
    assert!(err.to_string().contains("MNIST dimensions"), "{err}");
}

#[test]
fn missing_files_say_how_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let msg = message(load_mnist(dir.path(), Split::Train));
    assert!(msg.contains("train-"), "{msg}");
    assert!(msg.contains("GAN_DATA_DIR"), "{msg}");
    let msg = message(load_mnist(&dir.path().join("gone"), Split::Train));
    assert!(msg.contains("gone") && msg.contains("not found"), "{msg}");
}

#[test]
fn stacked_mnist_from_the_real_digits() {
    let test = load_vendored_mnist(Split::Test).unwrap();
    let stacked = stacked_mnist(&test, 2000, 11).unwrap();
    assert_eq!(stacked.nchw(), [2000, 3, 28, 28]);
    let hist = Summary::of(&stacked).label_histogram.unwrap();
    assert_eq!(hist.len(), 1000);
    assert!(hist.iter().filter(|&&c| c > 0).count() > 800);
}
