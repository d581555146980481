//! Philox random fill against the bit-exact CPU reference, plus statistics.

mod common;
use common::{ctx, AWKWARD};
use gan_tensor::reference::rng as reference;
use gan_tensor::rng::SplitMix64;
use gan_tensor::testing::assert_close;
use gan_tensor::Tensor;

/// Random123's kat_vectors for philox4x32 with 10 rounds: counter, key, expected output.
#[test]
fn philox_reference_matches_random123_known_answers() {
    let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for (ctr, key, want) in kat {
        assert_eq!(reference::philox4x32_10(ctr, key), want, "ctr {ctr:x?}");
    }
}

const SEEDS: &[(u64, u64)] = &[(0, 0), (42, 0), (0xDEAD_BEEF_0123_4567, 7), (1, u64::MAX)];

#[test]
fn uniform_matches_reference_bit_exactly() {
    let c = ctx();
    for &n in AWKWARD.iter().chain(&[1024, 4099]) {
        for &(seed, stream) in SEEDS {
            // [0, 1): u = k / 2^24 is exact, so GPU and CPU agree bit for bit.
            let t = Tensor::rand_uniform_stream(&c, &[n], 0.0, 1.0, seed, stream).unwrap();
            let want = reference::uniform(n, 0.0, 1.0, seed, stream);
            assert_eq!(
                t.to_vec().unwrap(),
                want,
                "n={n} seed={seed:#x} stream={stream}"
            );
            // Other bounds: lo + range * u may be contracted to an fma on the GPU, so
            // allow one ulp of the larger bound.
            let (lo, hi) = (-3.0f32, 5.0f32);
            let t = Tensor::rand_uniform_stream(&c, &[n, 1], lo, hi, seed, stream).unwrap();
            assert_close(
                &format!("U[{lo},{hi}) n={n} seed={seed:#x}"),
                &t.to_vec().unwrap(),
                &reference::uniform(n, lo, hi, seed, stream),
                0.0,
                f32::EPSILON * 5.0,
            );
        }
    }
}

#[test]
fn normal_matches_reference() {
    let c = ctx();
    for &n in AWKWARD.iter().chain(&[100_003]) {
        for &(seed, stream) in SEEDS {
            let (mean, std) = (0.5f32, 2.0f32);
            let t = Tensor::rand_normal_stream(&c, &[n], mean, std, seed, stream).unwrap();
            let want = reference::normal(n, mean, std, seed, stream);
            // f32 log/sqrt/sin/cos on the GPU vs f64 on the CPU: |z| < 6 here, and the
            // adapter's transcendentals are accurate to a few ulps.
            assert_close(
                &format!("N({mean},{std}) n={n} seed={seed:#x}"),
                &t.to_vec().unwrap(),
                &want,
                1e-5,
                1e-5 * std,
            );
        }
    }
}

fn moments(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

#[test]
fn uniform_statistics_of_a_million_draws() {
    let (lo, hi, n) = (-1.0f32, 3.0f32, 1_000_000);
    let v = Tensor::rand_uniform(&ctx(), &[1000, 1000], lo, hi, 123)
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(
        v.iter().all(|&x| (lo..hi).contains(&x)),
        "value outside [lo, hi)"
    );
    let (mean, var) = moments(&v);
    // Expected mean 1 and variance 16/12; the standard error of the mean is
    // sqrt(4/3 / 1e6) = 1.2e-3, of the variance about 1.5e-3: allow 5 of each.
    assert!((mean - 1.0).abs() < 6e-3, "mean {mean}");
    assert!((var - 16.0 / 12.0).abs() < 8e-3, "variance {var}");
    // Every quarter of the range holds about a quarter of the draws (sd 4.3e-4).
    for q in 0..4 {
        let (a, b) = (lo + q as f32, lo + q as f32 + 1.0);
        let frac = v.iter().filter(|&&x| x >= a && x < b).count() as f64 / n as f64;
        assert!((frac - 0.25).abs() < 3e-3, "quarter {q}: {frac}");
    }
}

#[test]
fn normal_statistics_of_a_million_draws() {
    let (mu, sigma, n) = (2.0f32, 3.0f32, 1_000_000);
    let v = Tensor::rand_normal(&ctx(), &[n], mu, sigma, 99)
        .unwrap()
        .to_vec()
        .unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    let (mean, var) = moments(&v);
    // Standard errors: mean 3e-3, variance 9 * sqrt(2 / 1e6) = 1.3e-2; allow 5 of each.
    assert!((mean - 2.0).abs() < 1.5e-2, "mean {mean}");
    assert!((var - 9.0).abs() < 6.5e-2, "variance {var}");
    // 68.27% within one sigma, 95.45% within two (sd 4.7e-4 and 2.1e-4).
    for (k, want) in [(1.0, 0.682_689), (2.0, 0.954_500)] {
        let frac = v.iter().filter(|&&x| ((x - mu) / sigma).abs() < k).count() as f64 / n as f64;
        assert!((frac - want).abs() < 3e-3, "within {k} sigma: {frac}");
    }
}

#[test]
fn same_seed_repeats_and_other_seeds_or_streams_differ() {
    let c = ctx();
    let draw = |seed, stream| {
        Tensor::rand_uniform_stream(&c, &[257], 0.0, 1.0, seed, stream)
            .unwrap()
            .to_vec()
            .unwrap()
    };
    let a = draw(5, 0);
    assert_eq!(a, draw(5, 0));
    for other in [draw(6, 0), draw(5, 1), draw(5 | 1 << 32, 0)] {
        let same = a.iter().zip(&other).filter(|(x, y)| x == y).count();
        assert!(same < 3, "{same} of 257 values repeat across streams");
    }
    let n1 = Tensor::rand_normal(&c, &[64], 0.0, 1.0, 5)
        .unwrap()
        .to_vec()
        .unwrap();
    let n2 = Tensor::rand_normal(&c, &[64], 0.0, 1.0, 6)
        .unwrap()
        .to_vec()
        .unwrap();
    assert_ne!(n1, n2);
}

#[test]
fn fill_overwrites_an_existing_tensor() {
    let t = Tensor::zeros(&ctx(), &[3, 5]).unwrap();
    gan_tensor::rng::fill_normal(&t, 0.0, 1.0, 11, 2).unwrap();
    assert_close(
        "fill_normal",
        &t.to_vec().unwrap(),
        &reference::normal(15, 0.0, 1.0, 11, 2),
        1e-5,
        1e-5,
    );
}

/// A shard (elements offset.. of a stream) is value for value that part of the whole
/// draw, at every offset modulo 4 (the generator's block) and across workgroups, so N
/// processes drawing their rows of a batch draw what one process draws.
#[test]
fn shards_of_a_draw_match_the_whole_draw() {
    let c = ctx();
    let whole_u = reference::uniform(1400, -1.0, 1.0, 9, 3);
    let whole_n = reference::normal(1400, 0.0, 1.0, 9, 3);
    for (offset, n) in [
        (0, 7),
        (1, 1),
        (2, 5),
        (3, 9),
        (4, 4),
        (5, 1027),
        (130, 3),
        (371, 1029),
    ] {
        let u = Tensor::rand_uniform_stream_at(&c, &[n], -1.0, 1.0, 9, 3, offset).unwrap();
        assert_eq!(
            u.to_vec().unwrap(),
            whole_u[offset..offset + n],
            "uniform offset {offset} n {n}"
        );
        assert_eq!(
            u.to_vec().unwrap(),
            reference::uniform_at(n, offset, -1.0, 1.0, 9, 3)
        );
        let z = Tensor::rand_normal_stream_at(&c, &[n], 0.0, 1.0, 9, 3, offset).unwrap();
        assert_close(
            &format!("normal offset {offset} n {n}"),
            &z.to_vec().unwrap(),
            &whole_n[offset..offset + n],
            1e-5,
            1e-5,
        );
    }
    // The GPU's own whole draw, split in two shards, is bit-identical too.
    let whole = Tensor::rand_normal_stream(&c, &[1000], 0.0, 1.0, 4, 8)
        .unwrap()
        .to_vec()
        .unwrap();
    let a = Tensor::rand_normal_stream_at(&c, &[333], 0.0, 1.0, 4, 8, 0).unwrap();
    let b = Tensor::rand_normal_stream_at(&c, &[667], 0.0, 1.0, 4, 8, 333).unwrap();
    let mut joined = a.to_vec().unwrap();
    joined.extend(b.to_vec().unwrap());
    assert_eq!(joined, whole);
    let far = Tensor::rand_uniform_stream_at(&c, &[4], 0.0, 1.0, 0, 0, i32::MAX as usize);
    assert!(far.unwrap_err().to_string().contains("2^31"));
}

#[test]
fn invalid_arguments_are_errors() {
    let c = ctx();
    assert!(Tensor::rand_uniform(&c, &[4], 1.0, 1.0, 0).is_err());
    assert!(Tensor::rand_uniform(&c, &[4], 2.0, 1.0, 0).is_err());
    assert!(Tensor::rand_uniform(&c, &[4], f32::NEG_INFINITY, 1.0, 0).is_err());
    assert!(Tensor::rand_uniform(&c, &[4], -3e38, 3e38, 0).is_err());
    assert!(Tensor::rand_normal(&c, &[4], 0.0, -1.0, 0).is_err());
    assert!(Tensor::rand_normal(&c, &[4], f32::NAN, 1.0, 0).is_err());
    let msg = Tensor::rand_uniform(&c, &[4], 2.0, 1.0, 0)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("rand_uniform"), "{msg}");
}

/// SplitMix64's first outputs for seed 0 are the published ones (the reference
/// `splitmix64.c` of Vigna), and `mix(z)` is the first output from state `z`.
#[test]
fn splitmix64_matches_reference_outputs() {
    let mut r = SplitMix64::new(0);
    assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
    assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    for z in [0, 1, 42, 0x9E37_79B9_7F4A_7C15, u64::MAX] {
        assert_eq!(
            SplitMix64::mix(z),
            SplitMix64::new(z).next_u64(),
            "z {z:#x}"
        );
    }
}

/// The one-launch dropout against its reference: the mask bit for bit (same uniforms as
/// the plain draw, also at shard offsets that split a Philox block), y = x * mask, and the
/// mask as the layer formed it before from a separate draw.
#[test]
fn dropout_matches_reference_and_the_separate_draw() {
    let c = ctx();
    for &n in AWKWARD.iter().chain(&[1024, 4099]) {
        for &(seed, stream) in SEEDS {
            for (p, offset) in [(0.5f32, 0usize), (0.3, 1), (0.0, 6), (0.9, 4097)] {
                let xs = gan_tensor::testing::random(seed ^ n as u64, n, -2.0, 2.0);
                let x = Tensor::from_slice(&c, &xs, &[n]).unwrap();
                let (y, mask) = gan_tensor::rng::dropout_at(&x, p, seed, stream, offset).unwrap();
                let want = reference::dropout_mask(n, offset, p, seed, stream);
                let what = format!("n={n} seed={seed:#x} stream={stream} p={p} offset={offset}");
                assert_eq!(mask.to_vec().unwrap(), want, "mask {what}");
                let want_y: Vec<f32> = xs.iter().zip(&want).map(|(x, m)| x * m).collect();
                assert_eq!(y.to_vec().unwrap(), want_y, "y {what}");
                // The five launches it replaces: draw, shift by -p, step onto 1 / (1 - p).
                let u = Tensor::rand_uniform_stream_at(&c, &[n], 0.0, 1.0, seed, stream, offset)
                    .unwrap();
                let keep = Tensor::full(&c, &[n], 1.0 / (1.0 - p)).unwrap();
                let old = u.add_scalar(-p).unwrap().relu_backward(&keep).unwrap();
                assert_eq!(mask.to_vec().unwrap(), old.to_vec().unwrap(), "old {what}");
            }
        }
    }
    // Kept fractions near 1 - p on a large draw.
    let x = Tensor::full(&c, &[100_000], 1.0).unwrap();
    let (_, mask) = gan_tensor::rng::dropout_at(&x, 0.25, 9, 3, 0).unwrap();
    let kept = mask.to_vec().unwrap().iter().filter(|&&m| m > 0.0).count();
    assert!(
        (kept as f64 / 1e5 - 0.75).abs() < 0.01,
        "kept {kept} of 100000"
    );
    for bad in [-0.1f32, 1.0, f32::NAN] {
        assert!(
            gan_tensor::rng::dropout_at(&x, bad, 0, 0, 0).is_err(),
            "p = {bad}"
        );
    }
}
