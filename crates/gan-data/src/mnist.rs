//! MNIST: the vendored copy in the workspace's `data/mnist/`, checked against its
//! known sizes and published checksums.

use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::{fileio, idx};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Environment variable that overrides the data directory (it holds `mnist/`).
pub const DATA_DIR_ENV: &str = "GAN_DATA_DIR";

/// Number of MNIST classes.
pub const MNIST_CLASSES: usize = 10;

/// Label counts of the MNIST training set, digit 0 to 9.
pub const MNIST_TRAIN_LABEL_COUNTS: [usize; 10] =
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

/// Label counts of the MNIST test set, digit 0 to 9.
pub const MNIST_TEST_LABEL_COUNTS: [usize; 10] =
    [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

/// One of the four published MNIST files.
#[derive(Clone, Copy, Debug)]
pub struct MnistFile {
    /// File name without `.gz`.
    pub name: &'static str,
    /// The IDX dimensions it must have.
    pub dims: &'static [usize],
    /// sha256 of the `.gz` file.
    pub sha256_gz: &'static str,
    /// md5 of the uncompressed file.
    pub md5_raw: &'static str,
}

/// The four MNIST files, as listed in `data/mnist/README.md`.
pub const MNIST_FILES: [MnistFile; 4] = [
    MnistFile {
        name: "train-images-idx3-ubyte",
        dims: &[60000, 28, 28],
        sha256_gz: "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
        md5_raw: "6bbc9ace898e44ae57da46a324031adb",
    },
    MnistFile {
        name: "train-labels-idx1-ubyte",
        dims: &[60000],
        sha256_gz: "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
        md5_raw: "a25bea736e30d166cdddb491f175f624",
    },
    MnistFile {
        name: "t10k-images-idx3-ubyte",
        dims: &[10000, 28, 28],
        sha256_gz: "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
        md5_raw: "2646ac647ad5339dbf082846283269ea",
    },
    MnistFile {
        name: "t10k-labels-idx1-ubyte",
        dims: &[10000],
        sha256_gz: "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
        md5_raw: "27ae3e4e09519cfbb04c329615203637",
    },
];

/// The data directory: `$GAN_DATA_DIR` when set, else the workspace's `data/` (the
/// source tree the binary was built from), else the first `data/` holding `mnist/` in the
/// current directory or one of its parents (a binary copied to another machine and run
/// from a checkout of the repository).
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let built = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"));
    if let Ok(dir) = built.canonicalize() {
        return dir;
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(dir) = cwd
            .ancestors()
            .map(|a| a.join("data"))
            .find(|d| d.join("mnist").is_dir())
        {
            return dir;
        }
    }
    // Gone: keep the path for the error message (which names GAN_DATA_DIR).
    built.to_path_buf()
}

/// The vendored MNIST directory: `data_dir()/mnist`.
pub fn mnist_dir() -> PathBuf {
    data_dir().join("mnist")
}

/// Whether to check the published checksums while loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Check dimensions and checksums (sha256 of `.gz`, md5 of raw files).
    Checksums,
    /// Check dimensions only.
    SizesOnly,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Read one MNIST file (raw preferred, else `.gz`), check its checksum and dimensions.
fn read_checked(dir: &Path, file: &MnistFile, verify: Verify) -> Result<(PathBuf, idx::IdxArray)> {
    let raw = dir.join(file.name);
    let gz = dir.join(format!("{}.gz", file.name));
    let path = if raw.is_file() { raw } else { gz };
    if !path.is_file() {
        return Err(DataError::NotFound {
            path,
            expected: format!(
                "the MNIST file {}.gz (copy data/mnist/ from the repository, or set {} to a \
                 directory holding mnist/)",
                file.name, DATA_DIR_ENV
            ),
        });
    }
    let bytes = fileio::read_file(&path)?;
    if verify == Verify::Checksums {
        let (algorithm, found, expected) = if fileio::is_gzip(&bytes) {
            ("sha256", hex(&Sha256::digest(&bytes)), file.sha256_gz)
        } else {
            ("md5", hex(&Md5::digest(&bytes)), file.md5_raw)
        };
        if found != expected {
            return Err(DataError::Checksum {
                path,
                algorithm,
                found,
                expected: expected.into(),
                hint: "the file is corrupt or not the published MNIST; copy it again, or load \
                       another IDX dataset with idx::load_dir"
                    .into(),
            });
        }
    }
    let arr = idx::parse_idx(&path, &bytes)?;
    if arr.dims != file.dims {
        return Err(DataError::format(
            &path,
            format!("dimensions {:?}", arr.dims),
            format!("MNIST dimensions {:?}", file.dims),
        ));
    }
    Ok((path, arr))
}

/// Load a split of MNIST from `dir`, checking the known dimensions and (with
/// [`Verify::Checksums`]) the published checksums. Labels are 0..10.
pub fn load_mnist_with(dir: &Path, split: Split, verify: Verify) -> Result<Dataset> {
    fileio::require_dir(dir, "the MNIST files (train-images-idx3-ubyte.gz ...)")?;
    let (images, labels) = match split {
        Split::Train => (&MNIST_FILES[0], &MNIST_FILES[1]),
        Split::Test => (&MNIST_FILES[2], &MNIST_FILES[3]),
    };
    // The two files are independent: read, hash and inflate them side by side.
    let (img, lab) = rayon::join(
        || read_checked(dir, images, verify),
        || read_checked(dir, labels, verify),
    );
    let (images_path, images) = img?;
    let (labels_path, labels) = lab?;
    if let Some(bad) = labels.data.iter().find(|&&l| l as usize >= MNIST_CLASSES) {
        return Err(DataError::format(
            &labels_path,
            format!("label {bad}"),
            "MNIST labels 0 to 9",
        ));
    }
    let ds = idx::dataset_from(&images_path, images, Some((&labels_path, labels)))?;
    let (images, shape, labels, _) = ds.into_parts();
    Dataset::new(images, shape, labels, MNIST_CLASSES)
        .map(|d| d.with_class_names((0..MNIST_CLASSES).map(|i| i.to_string()).collect()))
}

/// Load a split of MNIST from `dir`, verifying sizes and checksums.
pub fn load_mnist(dir: &Path, split: Split) -> Result<Dataset> {
    load_mnist_with(dir, split, Verify::Checksums)
}

/// Load a split of the vendored MNIST ([`mnist_dir`]), verifying sizes and checksums.
pub fn load_vendored_mnist(split: Split) -> Result<Dataset> {
    let dir = mnist_dir();
    if !dir.is_dir() {
        return Err(DataError::NotFound {
            path: dir,
            expected: format!(
                "the vendored MNIST (data/mnist/ of the repository); run from a checkout of \
                 the repository or set {DATA_DIR_ENV}=/path/to/repo/data"
            ),
        });
    }
    load_mnist(&dir, split)
}
