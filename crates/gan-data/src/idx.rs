//! The IDX format of MNIST and its kin (Fashion-MNIST, KMNIST, EMNIST), raw or
//! gzip-compressed: a big-endian magic `00 00 08 <ndims>`, one big-endian u32 per
//! dimension, then u8 data in row-major order.

use crate::dataset::{Dataset, ImageShape, Split};
use crate::error::{DataError, Result};
use crate::fileio;
use std::io::Read;
use std::path::{Path, PathBuf};

/// IDX type code of unsigned bytes, the only one these datasets use.
const UBYTE: u8 = 0x08;

/// An n-dimensional u8 array read from an IDX file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of the dimensions, outermost first.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Read an IDX file (gzip detected from its first bytes, not its name).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let bytes = fileio::read_file(path)?;
    parse_idx(path, &bytes)
}

/// Parse the bytes of an IDX file; `path` only names the file in errors.
///
/// The header is checked against the file size before the data is allocated, so a
/// header that promises more than the file can hold fails without a huge allocation.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    if fileio::is_gzip(bytes) {
        parse_gz(path, bytes)
    } else {
        parse_raw(path, bytes)
    }
}

/// Check the 4-byte magic and return the number of dimensions.
fn check_magic(path: &Path, magic: [u8; 4]) -> Result<usize> {
    let ndims = magic[3] as usize;
    if magic[0] != 0 || magic[1] != 0 || magic[2] != UBYTE || !(1..=4).contains(&ndims) {
        return Err(DataError::format(
            path,
            format!("IDX magic 0x{:08x}", u32::from_be_bytes(magic)),
            "0x00000801 (labels) or 0x00000803 (images): u8 data, 1 to 4 dimensions",
        ));
    }
    Ok(ndims)
}

/// Decode the dimensions and their product (the data length), without overflow.
fn dims_and_len(path: &Path, raw: &[u8]) -> Result<(Vec<usize>, u64)> {
    let dims: Vec<usize> = raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let len = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| {
            DataError::format(path, format!("dimensions {dims:?}"), "a size below 2^64")
        })?;
    Ok((dims, len))
}

fn parse_raw(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    let too_short = |needed: usize| DataError::SizeMismatch {
        path: path.to_path_buf(),
        what: "the IDX header".into(),
        expected: needed as u64,
        found: bytes.len() as u64,
    };
    let magic: [u8; 4] = bytes
        .get(..4)
        .ok_or_else(|| too_short(4))?
        .try_into()
        .expect("4 bytes");
    let ndims = check_magic(path, magic)?;
    let header = 4 + 4 * ndims;
    let raw_dims = bytes.get(4..header).ok_or_else(|| too_short(header))?;
    let (dims, len) = dims_and_len(path, raw_dims)?;
    let found = (bytes.len() - header) as u64;
    if found != len {
        return Err(DataError::SizeMismatch {
            path: path.to_path_buf(),
            what: format!("IDX data of dimensions {dims:?}"),
            expected: len,
            found,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

fn parse_gz(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    let mut gz = flate2::read::MultiGzDecoder::new(bytes);
    let mut magic = [0u8; 4];
    fileio::read_exact_gz(path, &mut gz, &mut magic)?;
    let ndims = check_magic(path, magic)?;
    let mut raw_dims = vec![0u8; 4 * ndims];
    fileio::read_exact_gz(path, &mut gz, &mut raw_dims)?;
    let (dims, len) = dims_and_len(path, &raw_dims)?;
    // No gzip file can hold more than this: refuse before allocating.
    let most = fileio::max_gunzipped_len(bytes.len());
    if len > most {
        return Err(DataError::SizeMismatch {
            path: path.to_path_buf(),
            what: format!("IDX data of dimensions {dims:?}"),
            expected: len,
            found: most,
        });
    }
    let mut data = Vec::with_capacity(len as usize);
    gz.take(len + 1)
        .read_to_end(&mut data)
        .map_err(|e| fileio::gzip_error(path, e))?;
    if data.len() as u64 != len {
        return Err(DataError::SizeMismatch {
            path: path.to_path_buf(),
            what: format!("IDX data of dimensions {dims:?} (uncompressed)"),
            expected: len,
            found: data.len() as u64,
        });
    }
    Ok(IdxArray { dims, data })
}

/// The item shape of an images array: (N, H, W) is grayscale, (N, C, H, W) has C channels.
fn image_shape(path: &Path, dims: &[usize]) -> Result<ImageShape> {
    match *dims {
        [_, h, w] if h > 0 && w > 0 => Ok(ImageShape::new(1, h, w)),
        [_, c, h, w] if c > 0 && h > 0 && w > 0 => Ok(ImageShape::new(c, h, w)),
        _ => Err(DataError::format(
            path,
            format!("dimensions {dims:?}"),
            "images as (N, H, W) or (N, C, H, W) with nonzero sizes",
        )),
    }
}

/// Read an IDX labels file into one u32 per item.
pub fn read_labels(path: &Path) -> Result<Vec<u32>> {
    let arr = read_idx(path)?;
    labels_from(path, arr)
}

fn labels_from(path: &Path, arr: IdxArray) -> Result<Vec<u32>> {
    if arr.dims.len() != 1 {
        return Err(DataError::format(
            path,
            format!("dimensions {:?}", arr.dims),
            "labels as one dimension (magic 0x00000801)",
        ));
    }
    Ok(arr.data.into_iter().map(u32::from).collect())
}

/// Build a dataset from the parsed arrays of an images and an optional labels file.
pub(crate) fn dataset_from(
    images_path: &Path,
    images: IdxArray,
    labels: Option<(&Path, IdxArray)>,
) -> Result<Dataset> {
    let shape = image_shape(images_path, &images.dims)?;
    let n = images.dims[0];
    let labels = match labels {
        None => None,
        Some((labels_path, arr)) => {
            let l = labels_from(labels_path, arr)?;
            if l.len() != n {
                return Err(DataError::CountMismatch {
                    images_path: images_path.to_path_buf(),
                    images: n,
                    labels_path: labels_path.to_path_buf(),
                    labels: l.len(),
                });
            }
            Some(l)
        }
    };
    let num_classes = labels
        .as_ref()
        .and_then(|l| l.iter().max())
        .map_or(0, |&m| m as usize + 1);
    Dataset::from_u8(&images.data, shape, labels, num_classes)
}

/// Load an images file and, optionally, its labels file.
pub fn load_files(images_path: &Path, labels_path: Option<&Path>) -> Result<Dataset> {
    let images = read_idx(images_path)?;
    let labels = match labels_path {
        Some(p) => Some((p, read_idx(p)?)),
        None => None,
    };
    dataset_from(images_path, images, labels)
}

/// The images file and (when present) labels file of `split` in an IDX dataset folder.
///
/// Matches the usual names of MNIST, Fashion-MNIST, KMNIST and EMNIST:
/// `[prefix-]{train|t10k|test}-{images-idx3|labels-idx1}-ubyte[.gz]` (a `.` in place
/// of the second `-` is accepted too). When both a raw and a `.gz` copy exist, the raw
/// one is used.
pub fn find_split_files(dir: &Path, split: Split) -> Result<(PathBuf, Option<PathBuf>)> {
    fileio::require_dir(dir, "IDX files (train-images-idx3-ubyte.gz ...)")?;
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "listing", e))?;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(dir, "listing", e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let stem = name.to_ascii_lowercase().replace('.', "-");
        let stem = stem.strip_suffix("-gz").unwrap_or(&stem);
        let in_split = match split {
            Split::Train => stem.contains("train"),
            Split::Test => stem.contains("t10k") || stem.contains("test"),
        };
        if !in_split || !path.is_file() {
            continue;
        }
        if stem.ends_with("images-idx3-ubyte") || stem.ends_with("images-idx4-ubyte") {
            images.push(path);
        } else if stem.ends_with("labels-idx1-ubyte") {
            labels.push(path);
        }
    }
    let pick = |mut v: Vec<PathBuf>, what: &str| -> Result<Option<PathBuf>> {
        // Prefer the raw copy: sorting puts "x" before "x.gz".
        v.sort();
        v.dedup_by(|b, a| b.with_extension("") == *a);
        match v.len() {
            0 | 1 => Ok(v.pop()),
            _ => Err(DataError::format(
                dir,
                format!("several {split} {what} files: {v:?}"),
                format!("one {split} {what} file; move the others away"),
            )),
        }
    };
    let images = pick(images, "images")?.ok_or_else(|| DataError::NotFound {
        path: dir.join(format!(
            "{}-images-idx3-ubyte.gz",
            if split == Split::Train {
                "train"
            } else {
                "t10k"
            }
        )),
        expected: format!("a {split} images file in IDX format"),
    })?;
    Ok((images, pick(labels, "labels")?))
}

/// Load the `split` of an IDX dataset folder (MNIST layout); labels are optional.
pub fn load_dir(dir: &Path, split: Split) -> Result<Dataset> {
    let (images, labels) = find_split_files(dir, split)?;
    load_files(&images, labels.as_deref())
}

/// Encode an array as IDX bytes (u8 data).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Result<Vec<u8>> {
    let len: usize = dims.iter().product();
    if dims.is_empty() || dims.len() > 4 || len != data.len() {
        return Err(DataError::InvalidArgument(format!(
            "IDX dimensions {dims:?} for {} bytes; expected 1 to 4 dimensions whose product \
             is the data length",
            data.len()
        )));
    }
    if let Some(d) = dims.iter().find(|&&d| d > u32::MAX as usize) {
        return Err(DataError::InvalidArgument(format!(
            "IDX dimension {d} does not fit in a u32"
        )));
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&[0, 0, UBYTE, dims.len() as u8]);
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    Ok(out)
}

/// Write an array as an IDX file, gzip-compressed when the name ends in `.gz`.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<()> {
    fileio::write_maybe_gz(path, &encode_idx(dims, data)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips() {
        let data: Vec<u8> = (0..24).collect();
        let bytes = encode_idx(&[2, 3, 4], &data).unwrap();
        assert_eq!(&bytes[..4], &[0, 0, 8, 3]);
        let arr = parse_idx(Path::new("x"), &bytes).unwrap();
        assert_eq!(arr.dims, vec![2, 3, 4]);
        assert_eq!(arr.data, data);
    }

    #[test]
    fn header_overflow_is_an_error() {
        let mut bytes = vec![0, 0, 8, 4];
        for _ in 0..4 {
            bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        assert!(matches!(
            parse_idx(Path::new("x"), &bytes),
            Err(DataError::Format { .. })
        ));
    }

    #[test]
    fn short_header_is_an_error() {
        let err = parse_idx(Path::new("x"), &[0, 0, 8, 3, 0]).unwrap_err();
        assert!(matches!(err, DataError::SizeMismatch { .. }), "{err}");
    }
}
