//! Helpers shared by the integration tests: small files written into temp dirs.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::path::{Path, PathBuf};

/// IDX bytes of u8 data with the given dimensions.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Gzip-compress `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Write `bytes` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `n` images of `h` x `w` whose pixels are (item * 31 + pixel) mod 256, and labels
/// item mod 10.
pub fn tiny_idx(n: u32, h: u32, w: u32) -> (Vec<u8>, Vec<u8>) {
    let px = (n * h * w) as usize;
    let images: Vec<u8> = (0..px)
        .map(|i| ((i / (h * w) as usize) * 31 + i) as u8)
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    (idx_bytes(&[n, h, w], &images), idx_bytes(&[n], &labels))
}

/// Write an MNIST-layout split (gzip) to `dir` with the given file-name prefix.
pub fn write_idx_split(dir: &Path, prefix: &str, split: &str, n: u32, gz: bool) {
    let (images, labels) = tiny_idx(n, 4, 3);
    let ext = if gz { ".gz" } else { "" };
    let (images, labels) = if gz {
        (gzip(&images), gzip(&labels))
    } else {
        (images, labels)
    };
    write(
        dir,
        &format!("{prefix}{split}-images-idx3-ubyte{ext}"),
        &images,
    );
    write(
        dir,
        &format!("{prefix}{split}-labels-idx1-ubyte{ext}"),
        &labels,
    );
}

/// The message of an error, for asserting that it names the file.
pub fn message<T: std::fmt::Debug>(r: gan_data::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}
