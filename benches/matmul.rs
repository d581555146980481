//! Matmul throughput (GFLOP/s): square sizes 128 to 2048, the MLP GAN's layer shapes at
//! batch 64 and 256, and the CPU sgemm of `matrixmultiply` as the baseline in the same run.
//! `GAN_BENCH_BIG=1` adds 4096^3 (for real GPUs), `GAN_BENCH_ALL_KERNELS=1` times every
//! kernel the adapter supports on the square sizes, not only the one it picks.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gan_benches::{context, rand, time_gpu};
use gan_tensor::matmul::{matmul_with, MatmulKernel, MatmulOptions};

const SQUARE: &[usize] = &[128, 256, 512, 1024, 2048];
/// The generator 100-256-512-1024-784 (the discriminator's layers are the same sizes).
const GAN_LAYERS: &[(usize, usize)] = &[(100, 256), (256, 512), (512, 1024), (1024, 784)];

fn flops(m: usize, k: usize, n: usize) -> u64 {
    2 * (m * k * n) as u64
}

fn square(c: &mut Criterion) {
    let ctx = context();
    let kernels = if std::env::var_os("GAN_BENCH_ALL_KERNELS").is_some() {
        MatmulKernel::available(&ctx)
    } else {
        vec![MatmulKernel::for_adapter(&ctx)]
    };
    let mut sizes = SQUARE.to_vec();
    if std::env::var_os("GAN_BENCH_BIG").is_some() {
        sizes.push(4096);
    }
    let mut g = c.benchmark_group("matmul");
    for kernel in kernels {
        for &s in &sizes {
            let (a, b) = (rand(&ctx, 1, &[s, s]), rand(&ctx, 2, &[s, s]));
            let opts = MatmulOptions {
                kernel: Some(kernel),
                ..Default::default()
            };
            g.throughput(Throughput::Elements(flops(s, s, s)));
            g.bench_with_input(
                BenchmarkId::new(format!("{kernel:?}").to_lowercase(), format!("{s}x{s}x{s}")),
                &s,
                |bch, _| {
                    bch.iter_custom(|iters| {
                        time_gpu(&ctx, iters, || matmul_with(&a, &b, opts).unwrap())
                    })
                },
            );
        }
    }
    g.finish();
}

fn gan_shapes(c: &mut Criterion) {
    let ctx = context();
    let mut g = c.benchmark_group("matmul_gan");
    for batch in [64, 256] {
        for &(k, n) in GAN_LAYERS {
            let (a, w) = (rand(&ctx, 3, &[batch, k]), rand(&ctx, 4, &[k, n]));
            let bias = rand(&ctx, 5, &[n]);
            g.throughput(Throughput::Elements(flops(batch, k, n)));
            let id = BenchmarkId::new("forward_bias_relu", format!("{batch}x{k}x{n}"));
            g.bench_with_input(id, &batch, |bch, _| {
                let o = MatmulOptions {
                    bias: Some(&bias),
                    activation: gan_tensor::matmul::Activation::Relu,
                    ..Default::default()
                };
                bch.iter_custom(|iters| time_gpu(&ctx, iters, || matmul_with(&a, &w, o).unwrap()))
            });
            // The weight gradient dW = X^T dY has the transposed operand.
            let dy = rand(&ctx, 6, &[batch, n]);
            let id = BenchmarkId::new("weight_grad_tn", format!("{k}x{batch}x{n}"));
            g.bench_with_input(id, &batch, |bch, _| {
                let o = MatmulOptions {
                    trans_a: true,
                    ..Default::default()
                };
                bch.iter_custom(|iters| time_gpu(&ctx, iters, || matmul_with(&a, &dy, o).unwrap()))
            });
        }
    }
    g.finish();
}

fn cpu_baseline(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_cpu");
    for &s in SQUARE {
        let a = gan_tensor::testing::random(1, s * s, -1.0, 1.0);
        let b = gan_tensor::testing::random(2, s * s, -1.0, 1.0);
        let mut out = vec![0f32; s * s];
        g.throughput(Throughput::Elements(flops(s, s, s)));
        g.bench_with_input(
            BenchmarkId::new("matrixmultiply_sgemm", format!("{s}x{s}x{s}")),
            &s,
            |bch, _| {
                bch.iter(|| unsafe {
                    matrixmultiply::sgemm(
                        s,
                        s,
                        s,
                        1.0,
                        a.as_ptr(),
                        s as isize,
                        1,
                        b.as_ptr(),
                        s as isize,
                        1,
                        0.0,
                        out.as_mut_ptr(),
                        s as isize,
                        1,
                    );
                })
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = gan_benches::criterion();
    targets = square, gan_shapes, cpu_baseline
}
criterion_main!(benches);
