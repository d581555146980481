//! Reading whole files and gzip streams with errors that name the file, and with
//! allocations bounded by what the file can really hold.

use crate::error::{DataError, Result};
use std::io::Read;
use std::path::Path;

/// DEFLATE cannot expand data by more than about 1032:1, so a gzip file of `n` bytes
/// decodes to at most this many bytes (plus slack for tiny files).
pub(crate) fn max_gunzipped_len(compressed_len: usize) -> u64 {
    compressed_len as u64 * 1032 + 4096
}

/// The most bytes of pixels a PNG or JPEG file of `n` bytes can decode to. PNG pixels
/// are DEFLATE data (at most about 1032:1); a JPEG needs at least one bit per 8x8 block
/// and component, which with the largest chroma subsampling is below 1400:1. Twice the
/// DEFLATE ratio covers both, plus slack for tiny files.
pub(crate) fn max_decoded_image_len(n: usize) -> u64 {
    n as u64 * 2048 + 65536
}

/// Read a whole file, with "not found" and other I/O errors naming it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    if !path.exists() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
            expected: "an existing file".into(),
        });
    }
    std::fs::read(path).map_err(|e| DataError::io(path, "reading", e))
}

/// Check that `dir` is an existing directory.
pub(crate) fn require_dir(dir: &Path, expected: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(DataError::NotFound {
            path: dir.to_path_buf(),
            expected: format!("a directory holding {expected}"),
        })
    }
}

/// True when `bytes` start with the gzip magic number.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Map an error of the gzip decoder to [`DataError::Gzip`].
pub(crate) fn gzip_error(path: &Path, e: std::io::Error) -> DataError {
    DataError::Gzip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Read exactly `buf.len()` bytes from a gzip stream; a stream that ends early is a
/// truncated file.
pub(crate) fn read_exact_gz(path: &Path, r: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    r.read_exact(buf).map_err(|e| gzip_error(path, e))
}

/// Write `bytes` to `path`, gzip-compressed when the name ends in `.gz`.
pub(crate) fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| DataError::io(path, "creating", e))?;
    let mut w = std::io::BufWriter::new(file);
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let res = if gz {
        let mut enc = flate2::write::GzEncoder::new(&mut w, flate2::Compression::default());
        enc.write_all(bytes).and_then(|_| enc.finish().map(|_| ()))
    } else {
        w.write_all(bytes)
    };
    res.and_then(|_| w.flush())
        .map_err(|e| DataError::io(path, "writing", e))
}
