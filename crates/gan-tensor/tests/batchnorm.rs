//! Batch normalization (train, eval, backward) against the CPU reference, which is itself
//! checked against finite differences.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::batchnorm::{batch_norm_backward, batch_norm_eval, batch_norm_train};
use gan_tensor::reference::batchnorm as reference;
use gan_tensor::testing::{assert_close, random};
use gan_tensor::Tensor;

/// y, dx: f32 sums over a channel against f64: rtol 1e-4, atol 1e-4 on O(1) values.
const RTOL: f32 = 1e-4;
const ATOL: f32 = 1e-4;

fn shapes() -> Vec<Vec<usize>> {
    let mut v: Vec<Vec<usize>> = vec![
        vec![3, 5, 7, 9],
        vec![17, 65],
        vec![2, 3, 17],
        vec![64, 8, 4, 4],
        vec![2, 1, 33, 31],
    ];
    for &k in AWKWARD {
        v.push(vec![2, k, 3, 1]); // awkward channel counts
        if k > 1 {
            v.push(vec![k, 3, 2, 2]); // awkward batches
        }
    }
    v
}

fn channel(seed: u64, c: usize, lo: f32, hi: f32) -> (Tensor, Vec<f32>) {
    rand_tensor(seed, &[c], lo, hi)
}

#[test]
fn train_matches_reference_and_updates_running_stats() {
    for (s, dims) in shapes().iter().enumerate() {
        let s = s as u64 * 10;
        let c = dims[1];
        // Offset inputs: the variance must be taken around the mean.
        let (gamma, gs) = channel(s + 1, c, 0.5, 1.5);
        let (beta, bs) = channel(s + 2, c, -0.5, 0.5);
        let (rm, mut rms) = channel(s + 3, c, -0.1, 0.1);
        let (rv, mut rvs) = channel(s + 4, c, 0.9, 1.1);
        for step in 0..2 {
            let (x, xs) = rand_tensor(s + 5 + step, dims, 2.0, 6.0);
            let out = batch_norm_train(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5).unwrap();
            let (y, mean, invstd) =
                reference::batch_norm_train(&xs, dims, &gs, &bs, &mut rms, &mut rvs, 0.1, 1e-5);
            let case = format!("{dims:?} step {step}");
            assert_eq!(out.y.dims(), &dims[..]);
            assert_close(
                &format!("{case} y"),
                &out.y.to_vec().unwrap(),
                &y,
                RTOL,
                ATOL,
            );
            assert_close(
                &format!("{case} mean"),
                &out.mean.to_vec().unwrap(),
                &mean,
                1e-5,
                1e-5,
            );
            assert_close(
                &format!("{case} invstd"),
                &out.invstd.to_vec().unwrap(),
                &invstd,
                1e-4,
                1e-5,
            );
            assert_close(
                &format!("{case} running_mean"),
                &rm.to_vec().unwrap(),
                &rms,
                1e-5,
                1e-5,
            );
            assert_close(
                &format!("{case} running_var"),
                &rv.to_vec().unwrap(),
                &rvs,
                1e-4,
                1e-5,
            );
        }
    }
}

#[test]
fn eval_matches_reference() {
    for (s, dims) in shapes().iter().enumerate() {
        let s = s as u64 * 10 + 1000;
        let c = dims[1];
        let (x, xs) = rand_tensor(s, dims, -3.0, 3.0);
        let (gamma, gs) = channel(s + 1, c, 0.5, 1.5);
        let (beta, bs) = channel(s + 2, c, -0.5, 0.5);
        let (rm, rms) = channel(s + 3, c, -1.0, 1.0);
        let (rv, rvs) = channel(s + 4, c, 0.1, 4.0);
        let y = batch_norm_eval(&x, &gamma, &beta, &rm, &rv, 1e-5).unwrap();
        let want = reference::batch_norm_eval(&xs, dims, &gs, &bs, &rms, &rvs, 1e-5);
        assert_close(
            &format!("eval {dims:?}"),
            &y.to_vec().unwrap(),
            &want,
            1e-5,
            1e-5,
        );
    }
}

#[test]
fn backward_matches_reference() {
    for (s, dims) in shapes().iter().enumerate() {
        let s = s as u64 * 10 + 2000;
        let c = dims[1];
        let (x, xs) = rand_tensor(s, dims, 2.0, 6.0);
        let (dy, dys) = rand_tensor(s + 1, dims, -1.0, 1.0);
        let (gamma, gs) = channel(s + 2, c, 0.5, 1.5);
        let (beta, _) = channel(s + 3, c, -0.5, 0.5);
        let (rm, rv) = (
            Tensor::zeros(&ctx(), &[c]).unwrap(),
            Tensor::full(&ctx(), &[c], 1.0).unwrap(),
        );
        let out = batch_norm_train(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5).unwrap();
        let (mean, invstd) = (out.mean.to_vec().unwrap(), out.invstd.to_vec().unwrap());
        let (dx, dgamma, dbeta) =
            batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.invstd).unwrap();
        let (wdx, wdg, wdb) = reference::batch_norm_backward(&dys, &xs, dims, &gs, &mean, &invstd);
        let case = format!("backward {dims:?}");
        // dgamma and dbeta are sums of M values of size ~1: atol grows like sqrt(M).
        let m = (dims.iter().product::<usize>() / c) as f32;
        assert_close(
            &format!("{case} dx"),
            &dx.to_vec().unwrap(),
            &wdx,
            RTOL,
            ATOL,
        );
        assert_close(
            &format!("{case} dgamma"),
            &dgamma.to_vec().unwrap(),
            &wdg,
            1e-4,
            1e-5 * m.sqrt(),
        );
        assert_close(
            &format!("{case} dbeta"),
            &dbeta.to_vec().unwrap(),
            &wdb,
            1e-4,
            1e-5 * m.sqrt(),
        );
    }
}

#[test]
fn constant_channel_has_zero_variance() {
    // Every channel constant over N = 4: var 0, y = beta, invstd = 1 / sqrt(eps).
    let c = ctx();
    let xs: Vec<f32> = (0..4).flat_map(|_| [1.5f32, -2.0, 7.0]).collect();
    let x = Tensor::from_slice(&c, &xs, &[4, 3, 1, 1]).unwrap();
    let gamma = Tensor::from_slice(&c, &[1.0, 2.0, 3.0], &[3]).unwrap();
    let beta = Tensor::from_slice(&c, &[0.1, 0.2, 0.3], &[3]).unwrap();
    let (rm, rv) = (
        Tensor::zeros(&c, &[3]).unwrap(),
        Tensor::full(&c, &[3], 1.0).unwrap(),
    );
    let out = batch_norm_train(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5).unwrap();
    let y = out.y.to_vec().unwrap();
    assert_close("var 0 y", &y, &[0.1, 0.2, 0.3].repeat(4), 1e-6, 1e-6);
    assert_close(
        "var 0 invstd",
        &out.invstd.to_vec().unwrap(),
        &[316.22775; 3],
        1e-5,
        0.0,
    );
    assert_close(
        "running_var decays",
        &rv.to_vec().unwrap(),
        &[0.9; 3],
        1e-6,
        0.0,
    );
    let dy = Tensor::from_slice(&c, &random(3, 12, -1.0, 1.0), &[4, 3, 1, 1]).unwrap();
    let (dx, _, _) = batch_norm_backward(&dy, &x, &gamma, &out.mean, &out.invstd).unwrap();
    assert!(dx.to_vec().unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn one_value_per_channel() {
    // [1, 3, 1, 1]: PyTorch refuses training ("Expected more than 1 value per channel"),
    // eval works, and the backward of a single value is dx = 0.
    let c = ctx();
    let (x, xs) = rand_tensor(1, &[1, 3, 1, 1], -1.0, 1.0);
    let (gamma, gs) = channel(2, 3, 0.5, 1.5);
    let (beta, bs) = channel(3, 3, -0.5, 0.5);
    let (rm, rv) = (
        Tensor::zeros(&c, &[3]).unwrap(),
        Tensor::full(&c, &[3], 1.0).unwrap(),
    );
    let err = batch_norm_train(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 1"), "{err}");
    let y = batch_norm_eval(&x, &gamma, &beta, &rm, &rv, 1e-5).unwrap();
    let want = reference::batch_norm_eval(&xs, &[1, 3, 1, 1], &gs, &bs, &[0.0; 3], &[1.0; 3], 1e-5);
    assert_close("eval [1,3,1,1]", &y.to_vec().unwrap(), &want, 1e-6, 1e-6);
    let invstd = Tensor::full(&c, &[3], 1.0 / 1e-5f32.sqrt()).unwrap();
    let (dy, dys) = rand_tensor(4, &[1, 3, 1, 1], -1.0, 1.0);
    let (dx, dgamma, dbeta) =
        batch_norm_backward(&dy, &x, &gamma, &x.reshape(&[3]).unwrap(), &invstd).unwrap();
    assert_eq!(dx.to_vec().unwrap(), vec![0.0; 3]);
    assert_eq!(dgamma.to_vec().unwrap(), vec![0.0; 3]);
    assert_eq!(dbeta.to_vec().unwrap(), dys);
}

/// 8388611 * 2 elements need more than 65535 workgroups of 256 in eval.
#[test]
fn eval_over_65535_workgroups() {
    let dims = [8_388_611, 2];
    let (x, xs) = rand_tensor(5, &dims, -1.0, 1.0);
    let c = ctx();
    let gamma = Tensor::from_slice(&c, &[2.0, 0.5], &[2]).unwrap();
    let beta = Tensor::from_slice(&c, &[1.0, -1.0], &[2]).unwrap();
    let rm = Tensor::from_slice(&c, &[0.1, -0.2], &[2]).unwrap();
    let rv = Tensor::from_slice(&c, &[0.5, 2.0], &[2]).unwrap();
    let y = batch_norm_eval(&x, &gamma, &beta, &rm, &rv, 1e-5).unwrap();
    let want = reference::batch_norm_eval(
        &xs,
        &dims,
        &[2.0, 0.5],
        &[1.0, -1.0],
        &[0.1, -0.2],
        &[0.5, 2.0],
        1e-5,
    );
    assert_close("folded eval", &y.to_vec().unwrap(), &want, 1e-5, 1e-5);
}

/// The reference backward is the derivative of the reference training forward: for
/// L = sum(w * y), central finite differences in f64 along random directions in x, gamma
/// and beta agree with sum(dx * d) etc. to 1e-6 relative.
#[test]
fn reference_backward_matches_finite_differences() {
    for (s, dims) in [
        vec![3usize, 5, 7, 9],
        vec![17, 6],
        vec![2, 3, 1, 1],
        vec![2, 4, 5],
    ]
    .iter()
    .enumerate()
    {
        let s = s as u64 * 10 + 3000;
        let (n, c, hw) = reference::layout(dims);
        let total = n * c * hw;
        let to64 = |v: Vec<f32>| -> Vec<f64> { v.iter().map(|&x| x as f64).collect() };
        let x = to64(random(s, total, 2.0, 6.0));
        let w = to64(random(s + 1, total, -1.0, 1.0));
        let gamma = to64(random(s + 2, c, 0.5, 1.5));
        let beta = to64(random(s + 3, c, -0.5, 0.5));
        let eps = 1e-5;
        let loss = |x: &[f64], g: &[f64], b: &[f64]| -> f64 {
            let y = reference::train_forward_f64(x, dims, g, b, eps);
            y.iter().zip(&w).map(|(y, w)| y * w).sum()
        };
        let (mean, var) = reference::moments_f64(&x, dims);
        let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let (dx, dg, db) = reference::backward_f64(&w, &x, dims, &gamma, &mean, &invstd);
        let h = 1e-6;
        let shift = |v: &[f64], d: &[f64], t: f64| -> Vec<f64> {
            v.iter().zip(d).map(|(v, d)| v + t * d).collect()
        };
        let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(a, b)| a * b).sum() };
        let check = |what: &str, fd: f64, analytic: f64| {
            let tol = 1e-6 * fd.abs().max(analytic.abs()) + 1e-8;
            assert!(
                (fd - analytic).abs() <= tol,
                "{dims:?} {what}: fd {fd} vs analytic {analytic}"
            );
        };
        let d = to64(random(s + 4, total, -1.0, 1.0));
        let fd = (loss(&shift(&x, &d, h), &gamma, &beta) - loss(&shift(&x, &d, -h), &gamma, &beta))
            / (2.0 * h);
        check("dx", fd, dot(&dx, &d));
        let d = to64(random(s + 5, c, -1.0, 1.0));
        let fd = (loss(&x, &shift(&gamma, &d, h), &beta) - loss(&x, &shift(&gamma, &d, -h), &beta))
            / (2.0 * h);
        check("dgamma", fd, dot(&dg, &d));
        let fd = (loss(&x, &gamma, &shift(&beta, &d, h)) - loss(&x, &gamma, &shift(&beta, &d, -h)))
            / (2.0 * h);
        check("dbeta", fd, dot(&db, &d));
    }
}

#[test]
fn bad_shapes_and_arguments_are_errors() {
    let c = ctx();
    let (x, _) = rand_tensor(1, &[4, 3, 2, 2], -1.0, 1.0);
    let (g3, _) = channel(2, 3, 0.5, 1.5);
    let (g4, _) = channel(3, 4, 0.5, 1.5);
    let (b3, _) = channel(4, 3, -0.5, 0.5);
    let (rm, rv) = (
        Tensor::zeros(&c, &[3]).unwrap(),
        Tensor::full(&c, &[3], 1.0).unwrap(),
    );
    let err = batch_norm_train(&x, &g4, &b3, &rm, &rv, 0.1, 1e-5)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gamma") && err.contains("[4]") && err.contains("[3]"),
        "{err}"
    );
    let flat = x.reshape(&[48]).unwrap();
    assert!(batch_norm_train(&flat, &g3, &b3, &rm, &rv, 0.1, 1e-5).is_err());
    assert!(batch_norm_eval(&flat, &g3, &b3, &rm, &rv, 1e-5).is_err());
    assert!(batch_norm_train(&x, &g3, &b3, &rm, &rv, 1.5, 1e-5).is_err());
    assert!(batch_norm_train(&x, &g3, &b3, &rm, &rv, 0.1, -1.0).is_err());
    assert!(
        batch_norm_train(&x, &g3, &b3, &rm, &rm, 0.1, 1e-5).is_err(),
        "aliased running stats"
    );
    let (dy, _) = rand_tensor(5, &[4, 3, 4], -1.0, 1.0);
    assert!(batch_norm_backward(&dy, &x, &g3, &rm, &rv).is_err());
}

/// The serial kernels (CPU adapters) and the workgroup kernels (GPUs) give the same bits:
/// the same 64 partial sums per channel, combined by the same tree.
#[test]
fn serial_and_workgroup_kernels_agree_bit_for_bit() {
    use gan_tensor::batchnorm::{batch_norm_backward_with, batch_norm_train_with, BatchNormKernel};
    let bits =
        |t: &Tensor| -> Vec<u32> { t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect() };
    let mut dims_list = shapes();
    dims_list.extend([
        vec![64, 32, 14, 14], // DCGAN's BatchNorm2d: 12544 values per channel
        vec![100, 400],       // PacGAN's BatchNorm1d
        vec![63, 9],
        vec![65, 9],
        vec![129, 2, 1, 1],
    ]);
    for (s, dims) in dims_list.iter().enumerate() {
        let s = 500 + s as u64 * 10;
        let c = dims[1];
        let (x, _) = rand_tensor(s, dims, 2.0, 6.0);
        let (dy, _) = rand_tensor(s + 1, dims, -1.0, 1.0);
        let (gamma, _) = channel(s + 2, c, 0.5, 1.5);
        let (beta, _) = channel(s + 3, c, -0.5, 0.5);
        let run = |kernel| {
            let (rm, _) = channel(s + 4, c, -0.1, 0.1);
            let (rv, _) = channel(s + 5, c, 0.9, 1.1);
            let o = batch_norm_train_with(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5, kernel).unwrap();
            let (dx, dg, db) =
                batch_norm_backward_with(&dy, &x, &gamma, &o.mean, &o.invstd, kernel).unwrap();
            [&o.y, &o.mean, &o.invstd, &rm, &rv, &dx, &dg, &db].map(bits)
        };
        let (w, ser) = (
            run(BatchNormKernel::Workgroup),
            run(BatchNormKernel::Serial),
        );
        let names = [
            "y",
            "mean",
            "invstd",
            "running_mean",
            "running_var",
            "dx",
            "dgamma",
            "dbeta",
        ];
        for i in 0..names.len() {
            assert!(w[i] == ser[i], "{dims:?}: {} differs", names[i]);
        }
    }
}

/// dgamma and dbeta stored into (or added to) given tensors by the backward kernel, both
/// in one flat buffer as a model's gradients are: the bits of the returned gradients
/// copied there or added by a separate pass, each kernel, every mix of targets; dx and a
/// gradient without a target are the usual ones; neighbours untouched.
#[test]
fn backward_into_given_tensors_matches_the_returned_gradients() {
    use gan_tensor::batchnorm::{
        batch_norm_backward_into_with, batch_norm_backward_with, BatchNormKernel, GradInto,
    };
    use gan_tensor::elementwise::accumulate;
    let cx = ctx();
    let align = cx.view_alignment();
    for (s, dims) in [vec![5, 3, 4, 3], vec![65, 17], vec![2, 9, 7, 1]]
        .iter()
        .enumerate()
    {
        let s = 700 + s as u64 * 10;
        let c = dims[1];
        let (x, _) = rand_tensor(s, dims, 2.0, 6.0);
        let (dy, _) = rand_tensor(s + 1, dims, -1.0, 1.0);
        let (gamma, _) = channel(s + 2, c, 0.5, 1.5);
        let (beta, _) = channel(s + 3, c, -0.5, 0.5);
        let (rm, _) = channel(s + 4, c, -0.1, 0.1);
        let (rv, _) = channel(s + 5, c, 0.9, 1.1);
        let o = batch_norm_train(&x, &gamma, &beta, &rm, &rv, 0.1, 1e-5).unwrap();
        for kernel in [BatchNormKernel::Workgroup, BatchNormKernel::Serial] {
            let (dx, dg, db) =
                batch_norm_backward_with(&dy, &x, &gamma, &o.mean, &o.invstd, kernel).unwrap();
            let (old_g, _) = channel(s + 6, c, -1.0, 1.0);
            let (old_b, _) = channel(s + 7, c, -1.0, 1.0);
            let want = |grad: &Tensor, old: &Tensor, add: bool| {
                if !add {
                    return grad.to_vec().unwrap();
                }
                let w = old.copy().unwrap();
                accumulate(&w, grad, 1.0).unwrap();
                w.to_vec().unwrap()
            };
            // (gamma's target, beta's target): None, write, add.
            for (tg, tb) in [
                (Some(false), Some(true)),
                (Some(true), None),
                (None, Some(false)),
            ] {
                let case = format!("{dims:?} {kernel:?} gamma {tg:?} beta {tb:?}");
                let (go, bo) = (align, 2 * align + c.next_multiple_of(align));
                let flat = Tensor::full(&cx, &[bo + c + align], -9.0).unwrap();
                let (gv, bv) = (flat.view(go, &[c]).unwrap(), flat.view(bo, &[c]).unwrap());
                gv.assign(&old_g).unwrap();
                bv.assign(&old_b).unwrap();
                let into = |t: Option<bool>, v| t.map(|accumulate| GradInto { out: v, accumulate });
                let (dx2, dg2, db2) = batch_norm_backward_into_with(
                    &dy,
                    &x,
                    &gamma,
                    &o.mean,
                    &o.invstd,
                    into(tg, &gv),
                    into(tb, &bv),
                    kernel,
                )
                .unwrap();
                assert_eq!(dx2.to_vec().unwrap(), dx.to_vec().unwrap(), "{case}: dx");
                let all = flat.to_vec().unwrap();
                match tg {
                    Some(add) => {
                        assert!(dg2.is_none(), "{case}");
                        assert_eq!(
                            &all[go..go + c],
                            &want(&dg, &old_g, add)[..],
                            "{case}: dgamma"
                        );
                    }
                    None => {
                        assert_eq!(
                            dg2.unwrap().to_vec().unwrap(),
                            dg.to_vec().unwrap(),
                            "{case}"
                        );
                        assert_eq!(&all[go..go + c], &old_g.to_vec().unwrap()[..], "{case}");
                    }
                }
                match tb {
                    Some(add) => {
                        assert!(db2.is_none(), "{case}");
                        assert_eq!(
                            &all[bo..bo + c],
                            &want(&db, &old_b, add)[..],
                            "{case}: dbeta"
                        );
                    }
                    None => {
                        assert_eq!(
                            db2.unwrap().to_vec().unwrap(),
                            db.to_vec().unwrap(),
                            "{case}"
                        );
                        assert_eq!(&all[bo..bo + c], &old_b.to_vec().unwrap()[..], "{case}");
                    }
                }
                let untouched = all[..go]
                    .iter()
                    .chain(&all[go + c..bo])
                    .chain(&all[bo + c..])
                    .all(|v| *v == -9.0);
                assert!(untouched, "{case}: neighbours untouched");
            }
        }
    }
}
