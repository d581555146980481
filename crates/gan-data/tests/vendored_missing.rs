//! A missing vendored MNIST says where it looked and how to point at the data.
//! (Its own test binary: it sets GAN_DATA_DIR for the whole process.)

use gan_data::{load_vendored_mnist, Split};

#[test]
fn missing_vendored_mnist_names_the_variable() {
    let empty = tempfile::tempdir().unwrap();
    // SAFETY: this test binary runs this one test; nothing else reads the environment.
    unsafe { std::env::set_var("GAN_DATA_DIR", empty.path()) };
    let e = load_vendored_mnist(Split::Test).unwrap_err().to_string();
    assert!(e.contains("GAN_DATA_DIR") && e.contains("mnist"), "{e}");
}
