//! float32 arrays as NumPy `.npy` files (numpy's `doc/neps/nep-0001-npy-format.rst`,
//! `numpy/lib/format.py`), read and written through the npyz crate: latents for
//! `gan generate --latents`, raw generated values for `--format npy`.

use std::path::Path;

use npyz::{TypeChar, WriterBuilder};

use crate::error::{DataError, Result};
use crate::fileio::read_file;

/// A float32 array: values in C (row-major) order and its shape.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The values, last axis fastest.
    pub values: Vec<f32>,
    /// The dims.
    pub shape: Vec<usize>,
}

fn format_error(path: &Path, found: String, expected: &str) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        found,
        expected: expected.into(),
    }
}

/// Reads a float32 `.npy` file; refuses another dtype, Fortran order or a truncated
/// file, saying how to write one that fits (`np.save(path, a.astype(np.float32))`).
pub fn read_npy_f32(path: &Path) -> Result<NpyArray> {
    const EXPECTED: &str = "a float32 .npy array in C order, as \
         `np.save(path, np.ascontiguousarray(a, dtype=np.float32))` writes";
    let bytes = read_file(path)?;
    let file = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| format_error(path, format!("not a .npy file ({e})"), EXPECTED))?;
    let dtype = file.dtype();
    let is_f32 = matches!(&dtype, npyz::DType::Plain(t)
        if t.type_char() == TypeChar::Float && t.size_field() == 4);
    if !is_f32 {
        return Err(format_error(
            path,
            format!("dtype {}", dtype.descr()),
            EXPECTED,
        ));
    }
    if file.order() != npyz::Order::C {
        let found = "Fortran (column-major) order".to_string();
        return Err(format_error(path, found, EXPECTED));
    }
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let values = file
        .into_vec::<f32>()
        .map_err(|e| format_error(path, format!("unreadable data ({e})"), EXPECTED))?;
    Ok(NpyArray { values, shape })
}

/// Writes `values` as a little-endian float32 `.npy` array of `shape` (C order).
///
/// # Panics
/// When `values` does not hold `shape`'s product of elements.
pub fn write_npy_f32(path: &Path, values: &[f32], shape: &[usize]) -> Result<()> {
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "write_npy_f32: {} values for shape {shape:?}",
        values.len()
    );
    let mut buf = Vec::with_capacity(128 + 4 * values.len());
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let io = |e| DataError::io(path, "encoding", e);
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&dims)
        .writer(&mut buf)
        .begin_nd()
        .map_err(io)?;
    w.extend(values.iter().copied()).map_err(io)?;
    w.finish().map_err(io)?;
    std::fs::write(path, buf).map_err(|e| DataError::io(path, "writing", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_dtypes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let v: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        write_npy_f32(&p, &v, &[2, 3]).unwrap();
        // numpy's header: magic, version 1.0, the dict's length, the dict padded so
        // that the data start at a multiple of 64 bytes, then 6 little-endian f32.
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let start = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(start % 64, 0);
        let header = String::from_utf8_lossy(&bytes[10..start]);
        assert!(header.contains("'descr': '<f4'"), "{header}");
        assert!(header.contains("'shape': (2, 3, )"), "{header}");
        assert_eq!(bytes.len(), start + 24);
        assert_eq!(bytes[start + 4..start + 8], (-0.5f32).to_le_bytes());
        let back = read_npy_f32(&p).unwrap();
        assert_eq!(back.values, v);
        assert_eq!(back.shape, vec![2, 3]);

        let q = dir.path().join("d.npy");
        npyz::to_file_1d(&q, [1.0f64, 2.0]).unwrap();
        let e = read_npy_f32(&q).unwrap_err().to_string();
        assert!(e.contains("<f8") && e.contains("float32"), "{e}");
        std::fs::write(&q, b"not numpy").unwrap();
        let e = read_npy_f32(&q).unwrap_err().to_string();
        assert!(e.contains("not a .npy file"), "{e}");
    }
}
