//! Elementwise kernels against the CPU reference on awkward shapes and broadcasts.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::elementwise::{self, Binary, Unary};
use gan_tensor::reference::elementwise as reference;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

const UNARY: &[Unary] = &[
    Unary::Relu,
    Unary::LeakyRelu(0.2),
    Unary::Tanh,
    Unary::Sigmoid,
    Unary::Exp,
    Unary::Affine {
        scale: -1.5,
        shift: 0.25,
    },
    Unary::Square,
    Unary::Abs,
];

#[test]
fn unary_ops_match_reference() {
    // 4, 64, 1000: lengths that are multiples of 4 (the vec4 kernels).
    for (s, &n) in AWKWARD.iter().chain(&[4, 64, 1000]).enumerate() {
        let (x, xs) = rand_tensor(s as u64, &[n, 3], -4.0, 4.0);
        for &op in UNARY {
            let got = elementwise::unary(&x, op).unwrap().to_vec().unwrap();
            assert_close(
                &format!("{op:?} n={n}"),
                &got,
                &reference::unary(&xs, op),
                1e-5,
                1e-6,
            );
        }
    }
}

#[test]
fn log_and_sqrt_on_positive_inputs() {
    let (x, xs) = rand_tensor(7, &[129, 2], 0.01, 9.0);
    for op in [Unary::Log, Unary::Sqrt] {
        let got = elementwise::unary(&x, op).unwrap().to_vec().unwrap();
        assert_close(
            &format!("{op:?}"),
            &got,
            &reference::unary(&xs, op),
            1e-5,
            1e-6,
        );
    }
}

#[test]
fn tanh_and_sigmoid_stay_finite_at_extremes() {
    let xs = [-100.0f32, -30.0, -1e-8, 0.0, 1e-8, 30.0, 100.0];
    let x = Tensor::from_slice(&ctx(), &xs, &[7]).unwrap();
    for op in [Unary::Tanh, Unary::Sigmoid] {
        let got = elementwise::unary(&x, op).unwrap().to_vec().unwrap();
        assert!(got.iter().all(|v| v.is_finite()), "{op:?}: {got:?}");
        assert_close(
            &format!("{op:?}"),
            &got,
            &reference::unary(&xs, op),
            1e-6,
            1e-7,
        );
    }
}

const BINARY: &[Binary] = &[
    Binary::Add,
    Binary::Sub,
    Binary::Mul,
    Binary::Div,
    Binary::Max,
    Binary::Min,
    Binary::ReluBackward,
    Binary::LeakyReluBackward(0.1),
    Binary::TanhBackward,
    Binary::SigmoidBackward,
];

#[test]
fn binary_ops_match_reference_on_equal_shapes() {
    for (s, &n) in AWKWARD.iter().chain(&[4, 64, 1000]).enumerate() {
        let dims = [2, n];
        let (a, av) = rand_tensor(100 + s as u64, &dims, -2.0, 2.0);
        let (b, bv) = rand_tensor(200 + s as u64, &dims, 0.5, 2.0);
        for &op in BINARY {
            let got = elementwise::binary(&a, &b, op).unwrap();
            assert_eq!(got.dims(), &dims);
            let (want, _) = reference::binary(&av, &dims, &bv, &dims, op);
            assert_close(
                &format!("{op:?} n={n}"),
                &got.to_vec().unwrap(),
                &want,
                1e-5,
                1e-6,
            );
        }
    }
}

#[test]
fn binary_ops_broadcast_like_numpy() {
    let cases: &[(&[usize], &[usize])] = &[
        (&[17, 65], &[65]),          // bias over a batch
        (&[17, 65], &[17, 1]),       // per-row scale
        (&[3, 1, 5], &[4, 1]),       // both sides broadcast
        (&[2, 3, 7, 9], &[3, 1, 1]), // per-channel
        (&[1], &[5, 129]),           // scalar tensor
        (&[4, 1, 3, 1], &[1, 5, 1, 2]),
    ];
    for (i, (ad, bd)) in cases.iter().enumerate() {
        let (a, av) = rand_tensor(300 + i as u64, ad, -2.0, 2.0);
        let (b, bv) = rand_tensor(400 + i as u64, bd, 0.5, 2.0);
        for op in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div] {
            let got = elementwise::binary(&a, &b, op).unwrap();
            let (want, shape) = reference::binary(&av, ad, &bv, bd, op);
            assert_eq!(got.dims(), &shape[..], "{ad:?} {bd:?}");
            assert_close(
                &format!("{op:?} {ad:?} {bd:?}"),
                &got.to_vec().unwrap(),
                &want,
                1e-5,
                1e-6,
            );
            // And with the operands swapped.
            let got = elementwise::binary(&b, &a, op).unwrap();
            let (want, _) = reference::binary(&bv, bd, &av, ad, op);
            assert_close(
                &format!("{op:?} {bd:?} {ad:?}"),
                &got.to_vec().unwrap(),
                &want,
                1e-5,
                1e-6,
            );
        }
    }
}

#[test]
fn incompatible_shapes_name_both() {
    let (a, _) = rand_tensor(1, &[3, 4], 0.0, 1.0);
    let (b, _) = rand_tensor(2, &[5, 4], 0.0, 1.0);
    let err = a.add(&b).unwrap_err().to_string();
    assert!(err.contains("[3, 4]") && err.contains("[5, 4]"), "{err}");
}

#[test]
fn methods_and_fill() {
    let c = ctx();
    let x = Tensor::from_slice(&c, &[-1.0, 2.0], &[2]).unwrap();
    assert_eq!(x.add_scalar(1.0).unwrap().to_vec().unwrap(), vec![0.0, 3.0]);
    assert_eq!(
        x.mul_scalar(-2.0).unwrap().to_vec().unwrap(),
        vec![2.0, -4.0]
    );
    assert_eq!(
        x.leaky_relu(0.5).unwrap().to_vec().unwrap(),
        vec![-0.5, 2.0]
    );
    assert_eq!(x.neg().unwrap().to_vec().unwrap(), vec![1.0, -2.0]);
    assert_eq!(
        Tensor::full(&c, &[3], 2.5).unwrap().to_vec().unwrap(),
        vec![2.5; 3]
    );
    assert_eq!(
        Tensor::zeros(&c, &[1, 2]).unwrap().to_vec().unwrap(),
        vec![0.0; 2]
    );
}

/// 65536 * 256 + 1000 elements need more than 65535 workgroups: the grid folds into 2-D.
#[test]
fn dispatch_over_65535_workgroups() {
    let n = 65536 * 256 + 1000;
    let (x, xs) = rand_tensor(9, &[n], -1.0, 1.0);
    let (b, bs) = rand_tensor(10, &[1], -1.0, 1.0);
    let got = x.add(&b).unwrap().to_vec().unwrap();
    let (want, _) = reference::binary(&xs, &[n], &bs, &[1], Binary::Add);
    assert_close("folded add", &got, &want, 1e-6, 1e-6);
    let got = x.affine(2.0, 1.0).unwrap().to_vec().unwrap();
    assert_close(
        "folded affine",
        &got,
        &reference::unary(
            &xs,
            Unary::Affine {
                scale: 2.0,
                shift: 1.0,
            },
        ),
        1e-6,
        1e-6,
    );
}

/// fill and accumulate on lengths that take the vec4 kernels (multiples of 4) and the
/// scalar ones, against a host loop (within an ulp: a GPU may fuse the multiply-add).
#[test]
fn fill_and_accumulate_on_awkward_lengths() {
    let c = ctx();
    for (s, &n) in AWKWARD.iter().chain(&[4, 1000, 4097, 262_148]).enumerate() {
        let t = Tensor::zeros(&c, &[n]).unwrap();
        elementwise::fill(&t, -1.25).unwrap();
        assert_eq!(t.to_vec().unwrap(), vec![-1.25; n], "fill n={n}");
        let (acc, accv) = rand_tensor(s as u64 * 2 + 500, &[n], -1.0, 1.0);
        let (g, gv) = rand_tensor(s as u64 * 2 + 501, &[n], -1.0, 1.0);
        elementwise::accumulate(&acc, &g, 0.75).unwrap();
        let want: Vec<f32> = accv.iter().zip(&gv).map(|(a, g)| a + 0.75 * g).collect();
        assert_close(
            &format!("accumulate n={n}"),
            &acc.to_vec().unwrap(),
            &want,
            1e-6,
            1e-7,
        );
    }
}
