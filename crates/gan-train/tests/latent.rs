//! Latents at inference: the truncation trick (psi = 1 is plain sampling, psi = 0.5 gives
//! G's outputs for halved latents, psi outside (0, 1] is refused) and spherical
//! interpolation against known values.

mod common;

use common::{ctx, ring8};
use gan_train::latent::{check_truncation, interpolate, lerp, slerp, truncate, Path};
use gan_train::{sample_prior, Prior, Trainer};

fn close(case: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{case}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{case}: [{i}] got {g}, want {w}");
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[test]
fn truncation_scales_latents_towards_the_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Trainer::new(&ctx(), ring8(tmp.path(), 1)).unwrap();
    let gan = t.gan();
    // psi = 1: exactly plain sampling (two chunks of latents).
    let plain = gan.sample(300, 5, None).unwrap();
    let one = gan.sample_truncated(300, 5, None, 1.0).unwrap();
    assert_eq!(plain, one);
    // psi = 0.5: G's outputs for the same latents halved on the host.
    let half = gan.sample_truncated(20, 5, None, 0.5).unwrap();
    let z = sample_prior(&ctx(), Prior::Normal, 20, 4, 5, 0).unwrap();
    let z_half: Vec<f32> = z.to_vec().unwrap().iter().map(|v| 0.5 * v).collect();
    let zt = gan_tensor::Tensor::from_slice(&ctx(), &z_half, &[20, 4]).unwrap();
    close("G(z / 2)", &half.values, &gan.sample_at(zt).unwrap(), 1e-6);
    assert_ne!(half.values, gan.sample(20, 5, None).unwrap().values);
    // The GPU op itself, on a uniform draw too.
    let u = sample_prior(&ctx(), Prior::Uniform, 3, 5, 1, 0).unwrap();
    let want: Vec<f32> = u.to_vec().unwrap().iter().map(|v| 0.25 * v).collect();
    close(
        "truncate",
        &truncate(&u, 0.25).unwrap().to_vec().unwrap(),
        &want,
        0.0,
    );
    // Outside (0, 1]: refused, saying what psi means.
    for bad in [0.0, -0.5, 1.01, f64::NAN, f64::INFINITY] {
        let e = check_truncation(bad).unwrap_err().to_string();
        assert!(e.contains("(0, 1]") && e.contains("mean"), "{bad}: {e}");
        assert!(gan.sample_truncated(4, 5, None, bad).is_err(), "{bad}");
    }
}

#[test]
fn slerp_matches_known_values() {
    let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
    // Endpoints.
    close("t=0", &slerp(&a, &b, 0.0), &a, 1e-7);
    close("t=1", &slerp(&a, &b, 1.0), &b, 1e-7);
    // Orthogonal unit vectors at t = 0.5: (1/sqrt 2, 1/sqrt 2), on the circle (lerp
    // would give (0.5, 0.5), norm 0.707).
    let h = std::f32::consts::FRAC_1_SQRT_2;
    close("t=0.5", &slerp(&a, &b, 0.5), &[h, h], 1e-6);
    // t = 1/3 of a right angle: 30 degrees.
    let (s, c) = (30f32.to_radians().sin(), 30f32.to_radians().cos());
    close("t=1/3", &slerp(&a, &b, 1.0 / 3.0), &[c, s], 1e-6);
    // Equal-norm endpoints in 5-D keep their norm along the path.
    let p = [3.0f32, -1.0, 2.0, 0.5, 1.0];
    let q = [-1.0f32, 2.0, 0.5, 3.0, -1.0];
    let scale = norm(&p) / norm(&q);
    let q: Vec<f32> = q.iter().map(|v| v * scale).collect();
    for k in 0..=10 {
        let t = k as f32 / 10.0;
        let n = norm(&slerp(&p, &q, t));
        assert!((n - norm(&p)).abs() < 1e-4 * norm(&p), "t={t}: norm {n}");
    }
    // Nearly parallel, parallel, opposite and zero vectors: lerp, no NaN.
    let near = [1.0f32, 1e-8];
    for (x, y) in [(a, near), (a, a), (a, [-1.0, 0.0]), ([0.0, 0.0], b)] {
        for t in [0.0f32, 0.3, 1.0] {
            let got = slerp(&x, &y, t);
            assert!(
                got.iter().all(|v| v.is_finite()),
                "{x:?} {y:?} {t}: {got:?}"
            );
            close("fallback", &got, &lerp(&x, &y, t), 1e-6);
        }
    }
}

#[test]
fn interpolation_paths_follow_the_prior() {
    assert_eq!(Path::for_prior(Prior::Normal), Path::Spherical);
    assert_eq!(Path::for_prior(Prior::Uniform), Path::Linear);
    let (a, b) = ([2.0f32, 0.0], [0.0f32, 2.0]);
    let z = interpolate(&a, &b, 3, Path::Spherical).unwrap();
    let s = std::f32::consts::SQRT_2;
    close("spherical", &z, &[2.0, 0.0, s, s, 0.0, 2.0], 1e-6);
    let z = interpolate(&a, &b, 3, Path::Linear).unwrap();
    close("linear", &z, &[2.0, 0.0, 1.0, 1.0, 0.0, 2.0], 0.0);
    assert!(interpolate(&a, &b, 1, Path::Linear).is_err());
    assert!(interpolate(&a, &[1.0], 3, Path::Linear).is_err());
}
