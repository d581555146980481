//! The theory module: the host references (JSD, D*, V(D*, G) = -log 4 + 2 JSD) against
//! closed forms, and a short GPU fit of D against a fixed G compared with D*.

use gan_tensor::Context;
use gan_theory::density::{
    self, d_star, jsd, jsd_fn, jsd_on, kl, value_at_optimum, value_from_jsd, Gaussian, Grid,
    Mixture, LOG4,
};
use gan_theory::fit::{fit_discriminator, FitConfig};
use gan_theory::oned::Game1dConfig;
use std::f64::consts::LN_2;

fn normal(m: f64, s: f64) -> Mixture {
    Gaussian::new(m, s).into()
}

#[test]
fn jsd_of_identical_densities_is_zero() {
    let p = Mixture::new(&[(0.3, -1.0, 0.5), (0.7, 2.0, 1.5)]);
    assert!(jsd(&p, &p).abs() < 1e-12, "{}", jsd(&p, &p));
}

#[test]
fn jsd_of_well_separated_densities_is_log_2() {
    let j = jsd(&normal(-30.0, 1.0), &normal(30.0, 1.0));
    assert!((j - LN_2).abs() < 1e-9, "JSD {j} vs log 2 {LN_2}");
    // Separated by 6 std: the overlap is tiny but not zero.
    let j6 = jsd(&normal(0.0, 1.0), &normal(6.0, 1.0));
    assert!(j6 < LN_2 && LN_2 - j6 < 1e-2, "{j6}");
}

#[test]
fn jsd_of_shifted_uniforms_matches_the_closed_form() {
    // U[0,1] and U[s, 1+s]: p = q on the overlap, so JSD = s log 2 (0 <= s <= 1).
    let grid = Grid::new(-0.5, 2.5, 300_001);
    for s in [0.0, 0.25, 0.5, 0.9, 1.0] {
        let u = |lo: f64| move |x: f64| if x >= lo && x < lo + 1.0 { 1.0 } else { 0.0 };
        let j = jsd_fn(u(0.0), u(s), &grid);
        assert!((j - s * LN_2).abs() < 1e-4, "s = {s}: {j} vs {}", s * LN_2);
    }
}

#[test]
fn kl_integration_matches_the_gaussian_closed_form() {
    let (a, b) = (Gaussian::new(2.0, 0.5), Gaussian::new(0.0, 1.3));
    let grid = Grid::covering(&a.into(), &b.into(), density::GRID_POINTS);
    let num = kl(&a.into(), &b.into(), &grid);
    assert!((num - a.kl(&b)).abs() < 1e-10, "{num} vs {}", a.kl(&b));
}

#[test]
fn jsd_default_grid_agrees_with_a_fine_grid() {
    let p = Mixture::new(&[(0.5, -1.0, 0.4), (0.5, 2.0, 0.5)]);
    let q = normal(0.5, 1.0);
    let fine = jsd_on(&p, &q, &Grid::covering(&p, &q, 400_001));
    assert!(
        (jsd(&p, &q) - fine).abs() < 1e-9,
        "{} vs {fine}",
        jsd(&p, &q)
    );
    assert!(fine > 0.05 && fine < LN_2);
}

#[test]
fn value_at_d_star_is_minus_log4_plus_twice_jsd() {
    let cases = [
        (normal(2.0, 0.5), normal(0.0, 1.0)),
        (
            Mixture::new(&[(0.5, -1.0, 0.4), (0.5, 2.0, 0.5)]),
            normal(0.5, 1.0),
        ),
        (normal(0.0, 1.0), normal(0.0, 1.0)),
        (normal(-8.0, 0.3), normal(8.0, 2.0)),
    ];
    for (p, q) in &cases {
        let (v, w) = (value_at_optimum(p, q), value_from_jsd(p, q));
        assert!((v - w).abs() < 1e-9, "V(D*, G) = {v}, -log 4 + 2 JSD = {w}");
        assert!(
            (-LOG4 - 1e-12..=1e-9).contains(&v),
            "{v} outside [-log 4, 0]"
        );
    }
    // Minimum exactly at p_g = p_data.
    let p = normal(2.0, 0.5);
    assert!((value_at_optimum(&p, &p) + LOG4).abs() < 1e-12);
}

#[test]
fn d_star_is_the_density_ratio() {
    let (p, q) = (normal(2.0, 0.5), normal(0.0, 1.0));
    for x in [-3.0, 0.0, 1.0, 1.7, 2.0, 4.0] {
        let (a, b) = (p.pdf(x), q.pdf(x));
        assert!((d_star(&p, &q, x) - a / (a + b)).abs() < 1e-12, "x = {x}");
    }
    // Equal densities: 1/2 everywhere. Far in the tails (both densities underflow in
    // f64) the wider density wins, not NaN.
    assert_eq!(d_star(&p, &p, 0.3), 0.5);
    assert!(d_star(&p, &q, 60.0) < 1e-12 && d_star(&p, &q, -60.0) < 1e-12);
    assert!(d_star(&q, &p, 60.0) > 1.0 - 1e-12);
    // Any other D gives a lower value than D* (Prop. 1): D = 1/2, D = D* shifted.
    let grid = Grid::covering(&p, &q, density::GRID_POINTS);
    let best = value_at_optimum(&p, &q);
    let half = density::value_of_logit(&p, &q, |_| 0.0, &grid);
    let off = density::value_of_logit(&p, &q, |x| p.ln_pdf(x) - q.ln_pdf(x) + 0.3, &grid);
    assert!(half < best && off < best, "{half} {off} {best}");
    assert!((half + LOG4).abs() < 1e-9, "D = 1/2 gives -log 4: {half}");
}

/// The settings of the short GPU fit (also a starting point for the xtask's).
fn short_fit(steps: usize) -> FitConfig {
    FitConfig {
        game: Game1dConfig {
            p_data: normal(2.0, 0.5),
            a: 1.0,
            b: 0.0,
            d_hidden: vec![16, 16],
            batch: 256,
            lr_d: 5e-3,
            lr_g: 0.0,
            beta1: 0.5,
            g_sgd: false,
            seed: 11,
        },
        steps,
        grid_points: 201,
        min_density: 0.05,
        mc_samples: 16_384,
    }
}

#[test]
fn discriminator_trained_on_the_gpu_approaches_d_star() {
    let ctx = Context::new().expect("a wgpu adapter (lavapipe in CI)");
    let t = std::time::Instant::now();
    let r = fit_discriminator(&ctx, &short_fit(300)).unwrap();
    eprintln!(
        "fit: {:.1} s, max |D - D*| = {:.4} on [{:.2}, {:.2}], mean {:.4}, V mc {:.4} (D* {:.4}), V quad {:.4}, V(D*) {:.4}, total {:.1}s",
        r.seconds, r.max_err, r.region.0, r.region.1, r.mean_err, r.v_mc, r.v_mc_star, r.v_quad, r.v_star, t.elapsed().as_secs_f64()
    );
    assert!(r.max_err < 0.1, "max |D - D*| = {}", r.max_err);
    assert!((r.v_star - r.v_jsd).abs() < 1e-9);
    // V(D, G) <= V(D*, G) (D* is the maximiser), and close to it.
    assert!(
        r.v_quad <= r.v_star + 1e-6 && r.v_star - r.v_quad < 0.02,
        "{} {}",
        r.v_quad,
        r.v_star
    );
}

#[test]
fn minimax_gradient_vanishes_when_d_rejects_g() {
    use gan_theory::saturation::{gradient_saturation, SaturationConfig};
    let ctx = Context::new().expect("a wgpu adapter (lavapipe in CI)");
    let mut game = short_fit(0).game;
    (game.a, game.b, game.lr_d) = (0.5, -2.0, 2e-3);
    let rows = gradient_saturation(
        &ctx,
        &SaturationConfig {
            game,
            steps: 150,
            every: 150,
            probe: 1024,
        },
    )
    .unwrap();
    let (first, last) = (rows[0], rows[rows.len() - 1]);
    // Untrained D: D(G(z)) near 1/2, both losses push G comparably hard (the ratio is
    // about D / (1 - D)).
    let r0 = first.minimax / first.non_saturating;
    assert!(
        (0.4..2.5).contains(&r0),
        "ratio at D step 0: {r0}, D(G(z)) {}",
        first.d_fake
    );
    // D rejects G: the minimax gradient is a small fraction of the non-saturating one,
    // about mean D(G(z)) (the factor sigmoid(l) vs 1 - sigmoid(l)).
    assert!(last.d_fake < 0.02, "D(G(z)) = {}", last.d_fake);
    let r = last.minimax / last.non_saturating;
    assert!(
        r < 0.05 && r < 10.0 * last.d_fake,
        "ratio {r}, D(G(z)) {}",
        last.d_fake
    );
}

#[test]
fn mean_pairwise_distance_of_known_points() {
    use gan_theory::blocks::mean_pairwise_distance;
    // (0,0), (3,4), (0,4): distances 5, 4, 3.
    let v = [0.0, 0.0, 3.0, 4.0, 0.0, 4.0];
    assert!((mean_pairwise_distance(&v, 2) - 4.0).abs() < 1e-12);
    assert_eq!(mean_pairwise_distance(&v[..2], 2), 0.0);
}

/// The host sampler is SplitMix64: its first outputs for seed 0 are the published ones
/// (Steele, Lea and Flood 2014; the reference `splitmix64.c` of Vigna).
#[test]
fn host_sampler_is_splitmix64() {
    let mut r = gan_theory::density::SplitMix::new(0);
    assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
}
