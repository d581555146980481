//! Maxout forward and backward against the CPU reference: pieces 1, 2, 5, odd widths,
//! rank 1 to 3, exact ties (the first piece wins), and the errors.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::maxout::{maxout, maxout_backward};
use gan_tensor::reference::maxout as reference;
use gan_tensor::Tensor;

/// Runs x (dims `dims`) through the GPU forward and backward and compares both with the
/// reference bit for bit (a max and a copy round nothing).
fn check(seed: u64, dims: &[usize], pieces: usize) {
    let (x, xs) = rand_tensor(seed, dims, -3.0, 3.0);
    let y = maxout(&x, pieces).unwrap();
    let mut want_dims = dims.to_vec();
    *want_dims.last_mut().unwrap() /= pieces;
    assert_eq!(y.dims(), want_dims.as_slice(), "{dims:?} / {pieces}");
    let case = format!("x {dims:?}, pieces {pieces}");
    assert_eq!(
        y.to_vec().unwrap(),
        reference::maxout(&xs, pieces),
        "forward {case}"
    );
    let (dy, dys) = rand_tensor(seed + 1, &want_dims, -1.0, 1.0);
    let dx = maxout_backward(&x, &dy, pieces).unwrap();
    assert_eq!(dx.dims(), dims);
    assert_eq!(
        dx.to_vec().unwrap(),
        reference::maxout_backward(&xs, &dys, pieces),
        "backward {case}"
    );
}

#[test]
fn forward_and_backward_match_the_reference() {
    for (i, &rows) in AWKWARD.iter().take(6).enumerate() {
        for pieces in [1, 2, 5] {
            for units in [1, 3, 17] {
                check(
                    (i * 100 + pieces * 10 + units) as u64,
                    &[rows, units * pieces],
                    pieces,
                );
            }
        }
    }
    // One row of 129 units of 5: more than one workgroup of 256 groups when rows grow.
    check(7, &[3, 129 * 5], 5);
    check(8, &[1000, 5], 5);
    // Other ranks: the groups run along the last dimension.
    check(9, &[15], 3);
    check(10, &[2, 3, 14], 7);
}

#[test]
fn ties_send_the_gradient_to_the_first_piece() {
    // Units of 3 pieces: [2, 2, 1], [0, 5, 5], [-1, -1, -1], [4, 1, 4].
    let xs = [
        2.0, 2.0, 1.0, 0.0, 5.0, 5.0, -1.0, -1.0, -1.0, 4.0, 1.0, 4.0,
    ];
    let x = Tensor::from_slice(&ctx(), &xs, &[2, 6]).unwrap();
    let y = maxout(&x, 3).unwrap();
    assert_eq!(y.to_vec().unwrap(), vec![2.0, 5.0, -1.0, 4.0]);
    let dy = Tensor::from_slice(&ctx(), &[1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let dx = maxout_backward(&x, &dy, 3).unwrap().to_vec().unwrap();
    let want = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 3.0, 0.0, 0.0, 4.0, 0.0, 0.0];
    assert_eq!(dx, want);
    assert_eq!(
        reference::maxout_backward(&xs, &[1.0, 2.0, 3.0, 4.0], 3),
        want
    );
}

#[test]
fn infinities_are_maxima_too() {
    let xs = [f32::NEG_INFINITY, -1e30, f32::INFINITY, 3.0];
    let x = Tensor::from_slice(&ctx(), &xs, &[2, 2]).unwrap();
    assert_eq!(
        maxout(&x, 2).unwrap().to_vec().unwrap(),
        vec![-1e30, f32::INFINITY]
    );
}

#[test]
fn bad_pieces_and_shapes_are_named() {
    let (x, _) = rand_tensor(1, &[4, 10], -1.0, 1.0);
    for pieces in [0, 3, 11] {
        let e = maxout(&x, pieces).unwrap_err().to_string();
        assert!(e.contains("maxout") && e.contains("pieces"), "{e}");
    }
    let (dy, _) = rand_tensor(2, &[4, 3], -1.0, 1.0);
    let e = maxout_backward(&x, &dy, 5).unwrap_err().to_string();
    assert!(e.contains("maxout_backward") && e.contains("dy"), "{e}");
    let (dy, _) = rand_tensor(3, &[4, 2], -1.0, 1.0);
    assert!(maxout_backward(&x, &dy, 5).is_ok());
}
