//! GAN_DATA_DIR overrides the vendored data directory (its own test binary: it sets an
//! environment variable).

use gan_data::{data_dir, load_vendored_mnist, mnist_dir, DataError, Split};

#[test]
fn env_var_overrides_the_data_dir() {
    let default = mnist_dir();
    assert!(
        default.join("train-images-idx3-ubyte.gz").is_file(),
        "{default:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("GAN_DATA_DIR", dir.path());
    assert_eq!(data_dir(), dir.path());
    assert_eq!(mnist_dir(), dir.path().join("mnist"));
    let err = load_vendored_mnist(Split::Test).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }), "{err}");
    std::env::remove_var("GAN_DATA_DIR");
    assert_eq!(mnist_dir(), default);
}
