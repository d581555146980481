//! Adam, AdamW and SGD steps against the CPU reference over several steps.

mod common;
use common::{ctx, rand_tensor, AWKWARD};
use gan_tensor::optim::{self, AdamConfig, SgdConfig};
use gan_tensor::reference::optim as reference;
use gan_tensor::testing::{assert_close, random};
use gan_tensor::Tensor;

/// Parameters move by about lr per step; f32 against f64 over a few steps: rtol 1e-5
/// and atol 1e-6 on parameters and moments.
const RTOL: f32 = 1e-5;
const ATOL: f32 = 1e-6;

fn upload(v: &[f32]) -> Tensor {
    Tensor::from_slice(&ctx(), v, &[v.len()]).unwrap()
}

fn adam_configs() -> Vec<(&'static str, AdamConfig)> {
    vec![
        ("adam", AdamConfig::adam(1e-2)),
        (
            "adam dcgan betas + L2",
            AdamConfig {
                beta1: 0.5,
                weight_decay: 0.05,
                ..AdamConfig::adam(2e-3)
            },
        ),
        ("adamw", AdamConfig::adamw(1e-2, 0.1)),
    ]
}

/// Runs `steps` Adam steps on the GPU and the reference from the same start and compares.
fn run_adam(case: &str, n: usize, cfg: &AdamConfig, steps: u64, seed: u64) {
    let (p, mut ps) = rand_tensor(seed, &[n], -1.0, 1.0);
    let (m, mut ms) = (upload(&vec![0.0; n]), vec![0.0; n]);
    let (v, mut vs) = (upload(&vec![0.0; n]), vec![0.0; n]);
    for t in 1..=steps {
        let gs = random(seed * 100 + t, n, -1.0, 1.0);
        optim::adam_step(&p, &upload(&gs), &m, &v, cfg, t).unwrap();
        reference::adam_step(&mut ps, &gs, &mut ms, &mut vs, cfg, t);
    }
    assert_close(
        &format!("{case} params"),
        &p.to_vec().unwrap(),
        &ps,
        RTOL,
        ATOL,
    );
    assert_close(&format!("{case} m"), &m.to_vec().unwrap(), &ms, RTOL, ATOL);
    assert_close(&format!("{case} v"), &v.to_vec().unwrap(), &vs, RTOL, ATOL);
}

#[test]
fn adam_and_adamw_match_reference_over_five_steps() {
    for (s, &n) in AWKWARD.iter().chain(&[1000, 4097]).enumerate() {
        for (name, cfg) in adam_configs() {
            run_adam(&format!("{name} n={n}"), n, &cfg, 5, s as u64 + 1);
        }
    }
}

/// 65535 * 256 + 5 parameters need more than 65535 workgroups (the folded grid).
/// Lengths that are multiples of 4 take the vec4 kernel, others the scalar one; the
/// parameters are independent, so the first 1000 of a 1001-long buffer (scalar) must equal a
/// 1000-long buffer (vec4) bit for bit.
#[test]
fn adam_vec4_kernel_is_bit_identical_to_the_scalar_one() {
    for (case, cfg) in adam_configs() {
        let mut out = Vec::new();
        for n in [1000, 1001] {
            let ps = random(7, n, -1.0, 1.0);
            let (p, m, v) = (upload(&ps), upload(&vec![0.0; n]), upload(&vec![0.0; n]));
            for t in 1..=3 {
                let gs: Vec<f32> = random(70 + t, 1001, -1.0, 1.0)[..n].to_vec();
                optim::adam_step(&p, &upload(&gs), &m, &v, &cfg, t).unwrap();
            }
            let mut all = p.to_vec().unwrap();
            all.extend(m.to_vec().unwrap());
            all.extend(v.to_vec().unwrap());
            out.push(all);
        }
        let (vec4, scalar) = (&out[0], &out[1]);
        for part in 0..3 {
            let a = &vec4[part * 1000..(part + 1) * 1000];
            let b = &scalar[part * 1001..part * 1001 + 1000];
            let same = a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{case}: part {part} differs between the vec4 and scalar kernels"
            );
        }
    }
}

/// The scalar, vec4 and texture kernels give the same bits, on lengths that fill texture
/// rows (1024 texels) partly, exactly and over several, and on views that start inside
/// their buffers.
#[test]
fn adam_kernels_are_bit_identical() {
    use optim::AdamKernel;
    let ctx = ctx();
    for n in [4, 1000, 4096, 3 * 4096 + 8] {
        for offset in [0, ctx.view_alignment()] {
            for (case, cfg) in adam_configs() {
                let mut results = Vec::new();
                for kernel in [AdamKernel::Scalar, AdamKernel::Vec4, AdamKernel::Texture] {
                    let view = |seed: u64| {
                        let data = random(seed, offset + n, -1.0, 1.0);
                        let buf = Tensor::from_slice(&ctx, &data, &[offset + n]).unwrap();
                        buf.view(offset, &[n]).unwrap()
                    };
                    let (p, m, v) = (view(1), view(2), view(3));
                    // v must not be negative.
                    v.assign(&v.mul(&v).unwrap()).unwrap();
                    for t in 1..=3 {
                        let g = view(10 + t);
                        optim::adam_step_with(&p, &g, &m, &v, &cfg, t, kernel).unwrap();
                    }
                    let all: Vec<u32> = [p, m, v]
                        .iter()
                        .flat_map(|x| x.to_vec().unwrap())
                        .map(f32::to_bits)
                        .collect();
                    results.push((kernel, all));
                }
                for (kernel, bits) in &results[1..] {
                    assert!(
                        *bits == results[0].1,
                        "{case}, n {n}, offset {offset}: {kernel:?} differs from the scalar kernel"
                    );
                }
            }
        }
    }
}

#[test]
fn adam_over_65535_workgroups() {
    run_adam(
        "adamw folded",
        65535 * 256 + 5,
        &AdamConfig::adamw(1e-3, 0.01),
        1,
        77,
    );
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr() {
    // With m = v = 0, step 1 gives m_hat / sqrt(v_hat) = sign(g): p -= lr sign(g).
    let gs = [0.5f32, -2.0, 1e-3];
    let p = upload(&[1.0, 1.0, 1.0]);
    let (m, v) = (upload(&[0.0; 3]), upload(&[0.0; 3]));
    let cfg = AdamConfig::adam(0.1);
    optim::adam_step(&p, &upload(&gs), &m, &v, &cfg, 1).unwrap();
    assert_close(
        "sign step",
        &p.to_vec().unwrap(),
        &[0.9, 1.1, 0.9],
        1e-5,
        1e-5,
    );
}

fn sgd_configs() -> Vec<(&'static str, SgdConfig)> {
    let base = SgdConfig {
        lr: 0.05,
        ..Default::default()
    };
    vec![
        ("sgd", base),
        (
            "sgd wd",
            SgdConfig {
                weight_decay: 0.01,
                ..base
            },
        ),
        (
            "momentum",
            SgdConfig {
                momentum: 0.9,
                ..base
            },
        ),
        (
            "momentum dampening wd",
            SgdConfig {
                momentum: 0.8,
                dampening: 0.1,
                weight_decay: 0.02,
                ..base
            },
        ),
        (
            "nesterov",
            SgdConfig {
                momentum: 0.9,
                nesterov: true,
                ..base
            },
        ),
    ]
}

#[test]
fn sgd_matches_reference_over_five_steps() {
    for (s, &n) in AWKWARD.iter().chain(&[1000, 4097]).enumerate() {
        for (name, cfg) in sgd_configs() {
            let seed = 500 + s as u64;
            let (p, mut ps) = rand_tensor(seed, &[n], -1.0, 1.0);
            // The buffer starts as garbage: step 1 must overwrite it with the gradient.
            let (vel, mut vs) = rand_tensor(seed + 1, &[n], -9.0, 9.0);
            for t in 1..=5 {
                let gs = random(seed * 100 + t, n, -1.0, 1.0);
                optim::sgd_step(&p, &upload(&gs), Some(&vel), &cfg, t).unwrap();
                reference::sgd_step(&mut ps, &gs, Some(&mut vs), &cfg, t);
            }
            let case = format!("{name} n={n}");
            assert_close(
                &format!("{case} params"),
                &p.to_vec().unwrap(),
                &ps,
                RTOL,
                ATOL,
            );
            if cfg.momentum != 0.0 {
                assert_close(
                    &format!("{case} velocity"),
                    &vel.to_vec().unwrap(),
                    &vs,
                    RTOL,
                    ATOL,
                );
            }
        }
    }
}

#[test]
fn sgd_without_momentum_needs_no_buffer() {
    let (p, mut ps) = rand_tensor(3, &[65], -1.0, 1.0);
    let gs = random(4, 65, -1.0, 1.0);
    let cfg = SgdConfig {
        lr: 0.1,
        ..Default::default()
    };
    optim::sgd_step(&p, &upload(&gs), None, &cfg, 1).unwrap();
    reference::sgd_step(&mut ps, &gs, None, &cfg, 1);
    assert_close("plain sgd", &p.to_vec().unwrap(), &ps, RTOL, ATOL);
}

#[test]
fn bad_arguments_are_errors() {
    let (p, _) = rand_tensor(1, &[8], -1.0, 1.0);
    let (g, _) = rand_tensor(2, &[8], -1.0, 1.0);
    let (m, v) = (upload(&[0.0; 8]), upload(&[0.0; 8]));
    let short = upload(&[0.0; 7]);
    let cfg = AdamConfig::default();
    let err = optim::adam_step(&p, &g, &m, &short, &cfg, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[8]") && err.contains("[7]"), "{err}");
    assert!(optim::adam_step(&p, &g, &m, &v, &cfg, 0).is_err());
    assert!(
        optim::adam_step(&p, &p, &m, &v, &cfg, 1).is_err(),
        "aliasing"
    );
    let bad = AdamConfig { beta1: 1.0, ..cfg };
    assert!(optim::adam_step(&p, &g, &m, &v, &bad, 1).is_err());
    let momentum = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..Default::default()
    };
    assert!(optim::sgd_step(&p, &g, None, &momentum, 1).is_err());
    let nesterov_damped = SgdConfig {
        nesterov: true,
        dampening: 0.5,
        ..momentum
    };
    assert!(optim::sgd_step(&p, &g, Some(&m), &nesterov_damped, 1).is_err());
}

/// The moving average of a parameter buffer against the f64 reference over five updates
/// with a moving parameter: one f32 rounding of each product and the sum per update
/// (plus a possible fused multiply-add) keeps the error within a few ulp of values in
/// [-1, 1], so rtol 1e-6 and atol 1e-7.
#[test]
fn ema_update_matches_reference_on_awkward_lengths() {
    // Multiples of 4 take the texture kernel on a CPU adapter, the others the scalar one.
    for (s, &n) in [1usize, 63, 64, 65, 4100, 100_003].iter().enumerate() {
        for decay in [0.1, 0.9, 0.999] {
            let seed = 900 + s as u64;
            let (shadow, mut ss) = rand_tensor(seed, &[n], -1.0, 1.0);
            for t in 1..=5 {
                let ps = random(seed * 100 + t, n, -1.0, 1.0);
                optim::ema_update(&shadow, &upload(&ps), decay).unwrap();
                reference::ema_update(&mut ss, &ps, decay);
            }
            let got = shadow.to_vec().unwrap();
            assert_close(&format!("ema n={n} decay={decay}"), &got, &ss, 1e-6, 1e-7);
        }
    }
}

/// Decay 0 copies the parameters and decay 1 keeps the average, bit for bit.
#[test]
fn ema_update_extreme_decays_are_exact() {
    for n in [64, 65] {
        let (shadow, ss) = rand_tensor(11, &[n], -1.0, 1.0);
        let ps = random(12, n, -1.0, 1.0);
        optim::ema_update(&shadow, &upload(&ps), 1.0).unwrap();
        assert_eq!(shadow.to_vec().unwrap(), ss);
        optim::ema_update(&shadow, &upload(&ps), 0.0).unwrap();
        assert_eq!(shadow.to_vec().unwrap(), ps);
    }
}

/// The elements are independent, so the first 4100 of a 4101-long average (scalar kernel)
/// equal a 4100-long one (vec4 or texture kernel) bit for bit.
#[test]
fn ema_kernels_are_bit_identical() {
    let mut out = Vec::new();
    for n in [4100, 4101] {
        let shadow = upload(&random(13, n, -1.0, 1.0));
        for t in 1..=3 {
            optim::ema_update(
                &shadow,
                &upload(&random(14 + t, 4101, -1.0, 1.0)[..n]),
                0.99,
            )
            .unwrap();
        }
        out.push(shadow.to_vec().unwrap());
    }
    let same = out[0]
        .iter()
        .zip(&out[1])
        .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(same, "the vec4 and scalar moving averages differ");
}

#[test]
fn ema_update_bad_arguments_are_errors() {
    let (s, _) = rand_tensor(1, &[8], -1.0, 1.0);
    let (p, _) = rand_tensor(2, &[8], -1.0, 1.0);
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = optim::ema_update(&s, &p, bad).unwrap_err().to_string();
        assert!(err.contains("decay") && err.contains("[0, 1]"), "{err}");
    }
    let err = optim::ema_update(&s, &upload(&[0.0; 7]), 0.9)
        .unwrap_err()
        .to_string();
    assert!(err.contains("[8]") && err.contains("[7]"), "{err}");
    let err = optim::ema_update(&s, &s, 0.9).unwrap_err().to_string();
    assert!(err.contains("share"), "{err}");
}
