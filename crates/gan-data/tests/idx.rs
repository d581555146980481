//! IDX loading (MNIST layout, raw and gzip) and its bad inputs.

mod common;

use common::*;
use gan_data::idx::{load_dir, load_files, read_idx};
use gan_data::{DataError, Split};

#[test]
fn loads_gzip_and_raw_splits_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_split(dir.path(), "", "train", 12, true);
    write_idx_split(dir.path(), "", "t10k", 5, false);
    let train = load_dir(dir.path(), Split::Train).unwrap();
    assert_eq!(train.nchw(), [12, 1, 4, 3]);
    assert_eq!(train.num_classes(), 10);
    assert_eq!(train.labels().unwrap()[..3], [0, 1, 2]);
    // Pixel 0 of item 1 is 31 + 12 = 43.
    assert_eq!(train.image(1)[0], 43.0 / 127.5 - 1.0);
    assert!(train.images().iter().all(|v| (-1.0..=1.0).contains(v)));
    let test = load_dir(dir.path(), Split::Test).unwrap();
    assert_eq!(test.len(), 5);
}

#[test]
fn finds_emnist_style_names_and_works_without_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = tiny_idx(7, 4, 3);
    write(
        dir.path(),
        "emnist-letters-test-images-idx3-ubyte.gz",
        &gzip(&images),
    );
    let ds = load_dir(dir.path(), Split::Test).unwrap();
    assert_eq!(ds.len(), 7);
    assert!(ds.labels().is_none());
    assert_eq!(ds.num_classes(), 0);
}

#[test]
fn four_dimensional_idx_is_multichannel() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..2 * 3 * 2 * 2).map(|i| i as u8).collect();
    let p = write(dir.path(), "x", &idx_bytes(&[2, 3, 2, 2], &data));
    let ds = load_files(&p, None).unwrap();
    assert_eq!(ds.nchw(), [2, 3, 2, 2]);
}

#[test]
fn missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = load_dir(&missing, Split::Train).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn missing_images_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_split(dir.path(), "", "t10k", 3, true);
    let msg = message(load_dir(dir.path(), Split::Train));
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    let msg = message(read_idx(&dir.path().join("absent.gz")));
    assert!(
        msg.contains("absent.gz") && msg.contains("not found"),
        "{msg}"
    );
}

#[test]
fn wrong_magic_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = idx_bytes(&[1, 2, 2], &[0; 4]);
    bytes[2] = 0x0d; // float data: not u8
    let p = write(dir.path(), "floats-idx3", &bytes);
    let err = read_idx(&p).unwrap_err();
    assert!(matches!(err, DataError::Format { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("floats-idx3") && msg.contains("0x00000d03"),
        "{msg}"
    );
    assert!(msg.contains("0x00000803"), "{msg}");
    // A PNG is not IDX either, gzip or not.
    let p = write(dir.path(), "png.gz", &gzip(b"\x89PNG\r\n\x1a\n...."));
    assert!(matches!(read_idx(&p), Err(DataError::Format { .. })));
}

#[test]
fn header_promising_more_than_the_raw_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "short", &idx_bytes(&[10, 28, 28], &[0; 100]));
    let err = read_idx(&p).unwrap_err();
    match &err {
        DataError::SizeMismatch {
            expected, found, ..
        } => assert_eq!((*expected, *found), (7840, 100)),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("short"));
}

#[test]
fn huge_header_fails_before_allocating() {
    // 4 billion 28x28 images would be 3.4 TB: must be refused from the file size.
    let dir = tempfile::tempdir().unwrap();
    let header = idx_bytes(&[u32::MAX, 28, 28], &[0; 16]);
    let raw = write(dir.path(), "huge", &header);
    assert!(matches!(
        read_idx(&raw),
        Err(DataError::SizeMismatch { .. })
    ));
    let gz = write(dir.path(), "huge.gz", &gzip(&header));
    let err = read_idx(&gz).unwrap_err();
    assert!(matches!(err, DataError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("huge.gz"));
}

#[test]
fn gzip_header_promising_more_than_the_stream_holds() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "x.gz", &gzip(&idx_bytes(&[10, 4, 4], &[1; 50])));
    let err = read_idx(&p).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::SizeMismatch {
                expected: 160,
                found: 50,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trailing_bytes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "long", &idx_bytes(&[1, 2, 2], &[0; 5]));
    assert!(matches!(read_idx(&p), Err(DataError::SizeMismatch { .. })));
}

#[test]
fn truncated_gzip_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = tiny_idx(50, 28, 28);
    let gz = gzip(&images);
    for cut in [5, 12, gz.len() / 2, gz.len() - 4] {
        let p = write(dir.path(), "cut-images-idx3-ubyte.gz", &gz[..cut]);
        let err = read_idx(&p).unwrap_err();
        assert!(
            matches!(err, DataError::Gzip { .. } | DataError::SizeMismatch { .. }),
            "cut at {cut}: {err}"
        );
        assert!(
            err.to_string().contains("cut-images-idx3-ubyte.gz"),
            "{err}"
        );
    }
}

#[test]
fn image_and_label_counts_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = tiny_idx(6, 2, 2);
    let (_, labels) = tiny_idx(5, 2, 2);
    write(dir.path(), "train-images-idx3-ubyte", &images);
    write(dir.path(), "train-labels-idx1-ubyte", &labels);
    let err = load_dir(dir.path(), Split::Train).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 6,
                labels: 5,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("train-images-idx3-ubyte") && msg.contains("train-labels-idx1-ubyte"));
}

#[test]
fn labels_file_with_image_dimensions_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = tiny_idx(2, 2, 2);
    let i = write(dir.path(), "i", &images);
    let l = write(dir.path(), "l", &images);
    let msg = message(load_files(&i, Some(&l)));
    assert!(msg.contains("labels"), "{msg}");
}
