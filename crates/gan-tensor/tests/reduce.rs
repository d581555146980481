//! Reductions against the CPU reference.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::elementwise::accumulate;
use gan_tensor::reference::reduce as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

#[test]
fn sum_and_mean_along_each_axis() {
    let shapes: &[&[usize]] = &[
        &[17],
        &[3, 257],
        &[63, 5],
        &[2, 65, 3],
        &[3, 4, 5, 6],
        &[1, 129, 1],
    ];
    for (s, dims) in shapes.iter().enumerate() {
        let (x, xs) = rand_tensor(s as u64, dims, -1.0, 1.0);
        for axis in 0..dims.len() {
            for mean in [false, true] {
                let t = if mean {
                    x.mean_axis(axis, true)
                } else {
                    x.sum_axis(axis, true)
                }
                .unwrap();
                let mut want_dims = dims.to_vec();
                want_dims[axis] = 1;
                assert_eq!(t.dims(), &want_dims[..]);
                let want = reference::sum_axis(&xs, dims, axis, mean);
                assert_close(
                    &format!("{dims:?} axis {axis} mean {mean}"),
                    &t.to_vec().unwrap(),
                    &want,
                    1e-5,
                    1e-5,
                );
            }
        }
    }
}

#[test]
fn sum_axis_drops_the_axis_unless_kept() {
    let (x, _) = rand_tensor(1, &[4, 5, 6], 0.0, 1.0);
    assert_eq!(x.sum_axis(1, false).unwrap().dims(), &[4, 6]);
    assert_eq!(x.sum_axis(1, true).unwrap().dims(), &[4, 1, 6]);
    assert!(x.sum_axis(3, false).is_err());
}

#[test]
fn sum_all_matches_reference() {
    for &n in AWKWARD.iter().chain(&[2048, 2049, 100_000, 1_000_003]) {
        let (x, xs) = rand_tensor(n as u64, &[n], -1.0, 1.0);
        let got = x.sum_all().unwrap().to_vec().unwrap();
        let want = reference::sum_all(&xs);
        // f32 tree sums of n values in [-1, 1]: error grows like sqrt(n) ulps.
        assert_close(
            &format!("sum_all n={n}"),
            &got,
            &[want],
            1e-5,
            1e-4 * (n as f32).sqrt(),
        );
        let mean = x.mean_all().unwrap().to_vec().unwrap();
        assert_close(
            &format!("mean_all n={n}"),
            &mean,
            &[want / n as f32],
            1e-4,
            1e-5,
        );
    }
}

#[test]
fn sum_to_reverses_broadcasting() {
    let (x, xs) = rand_tensor(3, &[6, 5, 4], -1.0, 1.0);
    let got = x.sum_to(&[5, 1]).unwrap();
    assert_eq!(got.dims(), &[5, 1]);
    let s0 = reference::sum_axis(&xs, &[6, 5, 4], 0, false);
    let want = reference::sum_axis(&s0, &[5, 4], 1, false);
    assert_close("sum_to", &got.to_vec().unwrap(), &want, 1e-5, 1e-5);
    assert!(x.sum_to(&[3]).is_err());
}

#[test]
fn reduce_axis_over_65535_workgroups() {
    // 65535 * 256 + 7 outputs need 65536 workgroups; the input stays under lavapipe's
    // 128 MiB binding limit.
    let (rows, cols) = (65535 * 256 + 7, 2);
    let (x, xs) = rand_tensor(11, &[rows, cols], -1.0, 1.0);
    let got = x.sum_axis(1, false).unwrap().to_vec().unwrap();
    assert_close(
        "folded reduce",
        &got,
        &reference::sum_axis(&xs, &[rows, cols], 1, false),
        1e-5,
        1e-6,
    );
}

#[test]
fn empty_tensor_sums_to_zero() {
    let x = Tensor::from_slice(&ctx(), &[], &[0]).unwrap();
    assert_eq!(x.sum_all().unwrap().to_vec().unwrap(), vec![0.0]);
}

/// sum_axis_into writes what sum_axis returns, bit for bit, into a view of a larger buffer
/// and nothing around it; a slot of the wrong size is an error.
#[test]
fn sum_axis_into_and_add_into_a_view_of_a_flat_buffer() {
    let c = ctx();
    let align = c.view_alignment();
    let shapes: &[&[usize]] = &[&[17], &[64, 257], &[63, 5], &[2, 65, 3]];
    for (s, dims) in shapes.iter().enumerate() {
        let (x, _) = rand_tensor(40 + s as u64, dims, -1.0, 1.0);
        for axis in 0..dims.len() {
            let want = x.sum_axis(axis, false).unwrap().to_vec().unwrap();
            let off = align * 2;
            let flat = Tensor::full(&c, &[off + want.len() + 5], 3.5).unwrap();
            let slot = flat.view(off, &[want.len()]).unwrap();
            x.sum_axis_into(axis, &slot).unwrap();
            let all = flat.to_vec().unwrap();
            let case = format!("{dims:?} axis {axis}");
            assert_eq!(&all[off..off + want.len()], &want[..], "{case}");
            assert!(
                all[..off]
                    .iter()
                    .chain(&all[off + want.len()..])
                    .all(|v| *v == 3.5),
                "{case}: neighbours untouched"
            );
            // A second sum added in place: the bits of the separate add it replaces.
            let (y, _) = rand_tensor(80 + s as u64, dims, -1.0, 1.0);
            let sum2 = Tensor::from_slice(&c, &want, &[want.len()]).unwrap();
            let ys = y.sum_axis(axis, false).unwrap();
            accumulate(&sum2, &ys.reshape(&[want.len()]).unwrap(), 1.0).unwrap();
            y.sum_axis_add_into(axis, &slot).unwrap();
            let all = flat.to_vec().unwrap();
            assert_eq!(
                &all[off..off + want.len()],
                &sum2.to_vec().unwrap()[..],
                "{case}: added"
            );
            assert_ne!(
                &all[off..off + want.len()],
                &want[..],
                "{case}: something added"
            );
            assert!(
                all[..off]
                    .iter()
                    .chain(&all[off + want.len()..])
                    .all(|v| *v == 3.5),
                "{case}: neighbours untouched by the add"
            );
        }
    }
    let (x, _) = rand_tensor(1, &[4, 6], -1.0, 1.0);
    let wrong = Tensor::zeros(&c, &[5]).unwrap();
    assert!(x.sum_axis_into(0, &wrong).is_err());
}
