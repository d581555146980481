//! CIFAR-10 binary batches written by the test.

mod common;

use common::write;
use gan_data::cifar::{load_batches, CIFAR10_CLASSES};
use gan_data::{load_cifar10, DataError, Split};

/// `n` records; record i has label (i + first) % 10 and red = i, green = 100, blue = 200.
fn batch(n: usize, first: u8) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push((i as u8 + first) % 10);
        out.extend(std::iter::repeat_n(i as u8, 1024));
        out.extend(std::iter::repeat_n(100u8, 1024));
        out.extend(std::iter::repeat_n(200u8, 1024));
    }
    out
}

#[test]
fn loads_train_batches_in_order_and_the_test_batch() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("cifar-10-batches-bin");
    write(&sub, "data_batch_2.bin", &batch(2, 5));
    write(&sub, "data_batch_1.bin", &batch(3, 0));
    write(&sub, "test_batch.bin", &batch(4, 1));
    write(&sub, "batches.meta.txt", b"airplane\n");
    let train = load_cifar10(dir.path(), Split::Train).unwrap();
    assert_eq!(train.nchw(), [5, 3, 32, 32]);
    assert_eq!(train.labels().unwrap(), &[0, 1, 2, 5, 6]);
    assert_eq!(train.class_names()[9], CIFAR10_CLASSES[9]);
    let img = train.image(2);
    assert_eq!(img[0], 2.0 / 127.5 - 1.0);
    assert_eq!(img[1024], 100.0 / 127.5 - 1.0);
    assert_eq!(img[3071], 200.0 / 127.5 - 1.0);
    let test = load_cifar10(&sub, Split::Test).unwrap();
    assert_eq!(test.labels().unwrap(), &[1, 2, 3, 4]);
}

#[test]
fn partial_record_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = batch(2, 0);
    bytes.truncate(3073 + 100);
    let p = write(dir.path(), "data_batch_1.bin", &bytes);
    let err = load_batches(&[p]).unwrap_err();
    assert!(matches!(err, DataError::SizeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("data_batch_1.bin"));
}

#[test]
fn label_out_of_range_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = batch(1, 0);
    bytes[0] = 57;
    let p = write(dir.path(), "test_batch.bin", &bytes);
    let msg = load_batches(&[p]).unwrap_err().to_string();
    assert!(
        msg.contains("test_batch.bin") && msg.contains("label 57"),
        "{msg}"
    );
}

#[test]
fn missing_batches_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let msg = load_cifar10(dir.path(), Split::Train)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("data_batch_1.bin"), "{msg}");
    let msg = load_cifar10(dir.path(), Split::Test)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("test_batch.bin"), "{msg}");
    let err = load_cifar10(&dir.path().join("absent"), Split::Test).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
}
