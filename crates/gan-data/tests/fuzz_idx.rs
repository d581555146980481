//! Fuzz tests of the IDX reader (raw and gzip) and the CIFAR-10 reader: seeded
//! mutations of small valid files (truncations, header fields set to 0/1/2^31-1/2^32-1,
//! bit flips, byte runs, duplicated or swapped sections, trailing garbage) go through
//! the public loading API. Every input must be loaded or refused with an error naming
//! the file, never panic, and never make the reader allocate more than the file could
//! justify. `GAN_FUZZ_CASES=20000` runs a long campaign, `GAN_FUZZ_SEED` moves the seed.

use gan_data::cifar::load_batches;
use gan_data::idx::{encode_idx, load_files};
use gan_data::{load_cifar10, DataError, Split};
use gan_fuzz::{case_count, check_cases, mutations, seed, Field};
use std::io::Write;
use std::path::Path;

#[global_allocator]
static A: gan_fuzz::CountingAlloc = gan_fuzz::CountingAlloc;

/// Random cases per target in a plain `cargo test`.
const DEFAULT_CASES: usize = 1500;

/// DEFLATE expands by at most about 1032:1 (the reader's own bound, plus slack).
fn max_gunzipped(n: usize) -> usize {
    n * 1032 + 4096
}

/// What a raw file of `n` bytes can justify: the file read (n), the data copied out of it
/// (n), the f32 dataset (4n), the valid labels file beside it and headroom for growth of
/// vectors: 8 bytes per input byte, plus 1 MiB.
fn raw_bound(n: usize) -> usize {
    8 * n + (1 << 20)
}

/// What a gzip file of `n` bytes can justify: the most it can decode to, held as u8
/// (a buffer of the length the header claims, refused when above that most) and as f32,
/// with headroom: 8 bytes per decodable byte, plus 1 MiB.
fn gz_bound(n: usize) -> usize {
    8 * max_gunzipped(n) + (1 << 20)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn be(name: &'static str, offset: usize) -> Field {
    Field {
        name,
        offset,
        width: 4,
        big_endian: true,
    }
}

/// 3 images of 28x28 (a pattern, so gzip shrinks it) and their 3 labels.
fn valid_idx() -> (Vec<u8>, Vec<u8>) {
    let data: Vec<u8> = (0..3 * 28 * 28).map(|i| ((i * 7) % 251) as u8).collect();
    (
        encode_idx(&[3, 28, 28], &data).unwrap(),
        encode_idx(&[3], &[3, 1, 4]).unwrap(),
    )
}

const IMAGES_FIELDS: [Field; 4] = [
    Field {
        name: "magic",
        offset: 0,
        width: 4,
        big_endian: true,
    },
    Field {
        name: "dims[0] (count)",
        offset: 4,
        width: 4,
        big_endian: true,
    },
    Field {
        name: "dims[1] (rows)",
        offset: 8,
        width: 4,
        big_endian: true,
    },
    Field {
        name: "dims[2] (cols)",
        offset: 12,
        width: 4,
        big_endian: true,
    },
];

/// The gzip header: magic + method + flags, then mtime; the IDX header sits inside the
/// compressed stream, so field mutations of the gzip fuzz act on the container.
fn gzip_fields() -> [Field; 3] {
    [
        be("gzip magic, method, flags", 0),
        be("gzip mtime", 4),
        be("gzip xfl, os, first deflate bytes", 8),
    ]
}

/// The error of `r`, checked to name `file` (its file name).
fn refusal<T>(r: Result<T, DataError>, file: &Path) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(e) => {
            let m = e.to_string();
            let name = file.file_name().unwrap().to_str().unwrap();
            assert!(m.contains(name), "error does not name {name}: {m}");
            Err(m)
        }
    }
}

/// Fuzz one of the two files of an images + labels pair through `load_files`.
fn fuzz_pair(target: &str, gz: bool, mutate_labels: bool, bound: fn(usize) -> usize) {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = valid_idx();
    let (img, lab) = if gz {
        (gzip(&img), gzip(&lab))
    } else {
        (img, lab)
    };
    let (ip, lp) = (
        dir.path().join("train-images-idx3-ubyte"),
        dir.path().join("train-labels-idx1-ubyte"),
    );
    std::fs::write(&ip, &img).unwrap();
    std::fs::write(&lp, &lab).unwrap();
    let (valid, fields, path): (&[u8], Vec<Field>, &Path) = match (gz, mutate_labels) {
        (true, _) => (
            if mutate_labels { &lab } else { &img },
            gzip_fields().to_vec(),
            if mutate_labels { &lp } else { &ip },
        ),
        (false, false) => (&img, IMAGES_FIELDS.to_vec(), &ip),
        (false, true) => (&lab, vec![be("magic", 0), be("dims[0] (count)", 4)], &lp),
    };
    let valid = valid.to_vec();
    let cases = mutations(&valid, &fields, case_count(DEFAULT_CASES), seed());
    let (ok, refused) = check_cases(target, &cases, bound, |bytes| {
        std::fs::write(path, bytes).unwrap();
        refusal(load_files(&ip, Some(&lp)), path)
    });
    eprintln!(
        "{target}: {} cases, {ok} loaded, {refused} refused",
        cases.len()
    );
}

#[test]
fn fuzz_idx_raw_images() {
    fuzz_pair("idx-raw-images", false, false, raw_bound);
}

#[test]
fn fuzz_idx_raw_labels() {
    fuzz_pair("idx-raw-labels", false, true, raw_bound);
}

#[test]
fn fuzz_idx_gzip_images() {
    fuzz_pair("idx-gz-images", true, false, gz_bound);
}

#[test]
fn fuzz_idx_gzip_labels() {
    fuzz_pair("idx-gz-labels", true, true, gz_bound);
}

/// The IDX header fields mutated inside a valid gzip stream: the container is fine, the
/// content lies (the reader must check the claimed size against what gzip can hold).
#[test]
fn fuzz_idx_gzip_inner_images() {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = valid_idx();
    let (ip, lp) = (dir.path().join("images.gz"), dir.path().join("labels.gz"));
    std::fs::write(&lp, gzip(&lab)).unwrap();
    let mut cases = mutations(&img, &IMAGES_FIELDS, case_count(DEFAULT_CASES), seed());
    for c in &mut cases {
        c.bytes = gzip(&c.bytes);
    }
    let (ok, refused) = check_cases("idx-gz-inner-images", &cases, gz_bound, |bytes| {
        std::fs::write(&ip, bytes).unwrap();
        refusal(load_files(&ip, Some(&lp)), &ip)
    });
    eprintln!(
        "idx-gz-inner-images: {} cases, {ok} loaded, {refused} refused",
        cases.len()
    );
}

/// The IDX bytes of `valid` with the images count set to `count`.
fn with_count(valid: &[u8], count: u32) -> Vec<u8> {
    let mut b = valid.to_vec();
    b[4..8].copy_from_slice(&count.to_be_bytes());
    b
}

#[test]
fn idx_header_promising_2g_images_names_the_count_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = valid_idx();
    for (name, bytes) in [
        ("big-images-idx3-ubyte", with_count(&img, 1 << 31)),
        ("big-images-idx3-ubyte.gz", gzip(&with_count(&img, 1 << 31))),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (r, peak) = gan_fuzz::peak_alloc(|| load_files(&p, None));
        let m = r.unwrap_err().to_string();
        assert!(m.contains(name), "{m}");
        assert!(m.contains("[2147483648, 28, 28]"), "{m}");
        assert!(peak < 8 << 20, "{name}: allocated {peak} bytes");
    }
}

#[test]
fn idx_bad_magic_and_short_header_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = valid_idx();
    let p = dir.path().join("x-images-idx3-ubyte");
    let mut bad = img.clone();
    bad[2] = 0x0D; // float data
    std::fs::write(&p, &bad).unwrap();
    let m = load_files(&p, None).unwrap_err().to_string();
    assert!(
        m.contains("x-images-idx3-ubyte") && m.contains("IDX magic 0x00000d03"),
        "{m}"
    );
    std::fs::write(&p, &img[..10]).unwrap();
    let m = load_files(&p, None).unwrap_err().to_string();
    assert!(
        m.contains("x-images-idx3-ubyte") && m.contains("IDX header needs 16"),
        "{m}"
    );
    // A gzip stream cut short names the file too.
    let gz = gzip(&img);
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    let m = load_files(&p, None).unwrap_err().to_string();
    assert!(
        m.contains("x-images-idx3-ubyte") && m.contains("gzip"),
        "{m}"
    );
}

// ---- CIFAR-10 ----

const RECORD: usize = 1 + 3 * 32 * 32;

/// 3 records: labels 0, 5, 9 and a pixel pattern.
fn valid_cifar() -> Vec<u8> {
    let mut b = Vec::new();
    for (k, label) in [0u8, 5, 9].into_iter().enumerate() {
        b.push(label);
        b.extend((0..RECORD - 1).map(|i| ((i * 3 + k) % 256) as u8));
    }
    b
}

#[test]
fn fuzz_cifar10_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch.bin");
    let valid = valid_cifar();
    // No header: the fields are the first bytes of each record (label + first pixels).
    let fields = [
        be("record 0 label+pixels", 0),
        be("record 1 label+pixels", RECORD),
        be("record 2 label+pixels", 2 * RECORD),
    ];
    let cases = mutations(&valid, &fields, case_count(DEFAULT_CASES), seed());
    let (ok, refused) = check_cases("cifar10", &cases, raw_bound, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        refusal(load_cifar10(dir.path(), Split::Test), &path)
    });
    eprintln!(
        "cifar10: {} cases, {ok} loaded, {refused} refused",
        cases.len()
    );
}

#[test]
fn cifar10_partial_record_and_bad_label_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1.bin");
    let valid = valid_cifar();
    std::fs::write(&path, &valid[..RECORD + 7]).unwrap();
    let m = load_batches(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("data_batch_1.bin") && m.contains("whole records of 3073 bytes"),
        "{m}"
    );
    let mut bad = valid.clone();
    bad[RECORD] = 10;
    std::fs::write(&path, &bad).unwrap();
    let m = load_batches(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("data_batch_1.bin") && m.contains("label 10"),
        "{m}"
    );
    std::fs::write(&path, b"").unwrap();
    let m = load_batches(std::slice::from_ref(&path))
        .unwrap_err()
        .to_string();
    assert!(m.contains("data_batch_1.bin"), "{m}");
}
