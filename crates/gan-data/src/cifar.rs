//! CIFAR-10 binary batches: records of one label byte and 3072 pixel bytes (the red,
//! green and blue 32x32 planes), in `data_batch_1..5.bin` and `test_batch.bin`.

use crate::dataset::{pixels_to_unit, Dataset, ImageShape, Split};
use crate::error::{DataError, Result};
use crate::fileio;
use std::path::{Path, PathBuf};

/// The CIFAR-10 class names, index = label.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Shape of one CIFAR-10 image.
pub const CIFAR10_SHAPE: ImageShape = ImageShape::new(3, 32, 32);

const RECORD: usize = 1 + 3 * 32 * 32;

/// The batch files of `split` in `dir` (or in its `cifar-10-batches-bin/` subfolder):
/// the `data_batch_*.bin` present, in order, for training; `test_batch.bin` for test.
pub fn find_batches(dir: &Path, split: Split) -> Result<Vec<PathBuf>> {
    fileio::require_dir(dir, "the CIFAR-10 binary batches (data_batch_1.bin ...)")?;
    let nested = dir.join("cifar-10-batches-bin");
    let dir = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    let files = match split {
        Split::Test => vec![dir.join("test_batch.bin")],
        Split::Train => {
            let entries = std::fs::read_dir(&dir).map_err(|e| DataError::io(&dir, "listing", e))?;
            let mut v = Vec::new();
            for e in entries {
                let p = e.map_err(|e| DataError::io(&dir, "listing", e))?.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("data_batch_") && name.ends_with(".bin") {
                    v.push(p);
                }
            }
            v.sort();
            v
        }
    };
    match files.first() {
        Some(f) if f.is_file() => Ok(files),
        _ => Err(DataError::NotFound {
            path: dir.join(if split == Split::Train {
                "data_batch_1.bin"
            } else {
                "test_batch.bin"
            }),
            expected: format!("the CIFAR-10 {split} batches (the binary version)"),
        }),
    }
}

/// Load CIFAR-10 batch files into one dataset (3x32x32, labels 0..10).
pub fn load_batches(files: &[PathBuf]) -> Result<Dataset> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in files {
        let bytes = fileio::read_file(path)?;
        if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
            return Err(DataError::SizeMismatch {
                path: path.clone(),
                what: format!("whole records of {RECORD} bytes"),
                expected: (bytes.len() / RECORD + 1) as u64 * RECORD as u64,
                found: bytes.len() as u64,
            });
        }
        for rec in bytes.chunks_exact(RECORD) {
            if rec[0] as usize >= CIFAR10_CLASSES.len() {
                return Err(DataError::format(
                    path,
                    format!("label {}", rec[0]),
                    "CIFAR-10 labels 0 to 9 (is this CIFAR-100? it has two label bytes)",
                ));
            }
            labels.push(rec[0] as u32);
            pixels.extend_from_slice(&rec[1..]);
        }
    }
    let names = CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect();
    Dataset::new(pixels_to_unit(&pixels), CIFAR10_SHAPE, Some(labels), 10)
        .map(|d| d.with_class_names(names))
}

/// Load the `split` of CIFAR-10 from `dir`.
pub fn load_cifar10(dir: &Path, split: Split) -> Result<Dataset> {
    load_batches(&find_batches(dir, split)?)
}
