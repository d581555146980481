//! Convolution throughput (GFLOP/s) at DCGAN layer shapes, batch 64: the 28x28 (MNIST)
//! generator and discriminator, and the middle layers of the 64x64 RGB generator.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gan_benches::{context, rand, time_gpu};
use gan_tensor::conv::{self, Conv2dParams, ConvTranspose2dParams};

const BATCH: usize = 64;

/// (Cin, H, Cout, kernel, stride, padding) of a square layer.
type Layer = (usize, usize, usize, usize, usize, usize);

/// Discriminator: 1x28x28 -> 64x14x14 -> 128x7x7 (k4 s2 p1).
const CONV: &[Layer] = &[(1, 28, 64, 4, 2, 1), (64, 14, 128, 4, 2, 1)];
/// Generator: 128x7x7 -> 64x14x14 -> 1x28x28, and 64x64 DCGAN's 512x4x4 -> 256x8x8.
const CONV_T: &[Layer] = &[
    (128, 7, 64, 4, 2, 1),
    (64, 14, 1, 4, 2, 1),
    (512, 4, 256, 4, 2, 1),
];

fn conv2d(c: &mut Criterion) {
    let ctx = context();
    let mut g = c.benchmark_group("conv2d");
    for &(cin, h, cout, k, s, p) in CONV {
        let x = rand(&ctx, 1, &[BATCH, cin, h, h]);
        let w = rand(&ctx, 2, &[cout, cin, k, k]);
        let params = Conv2dParams::new(s, p);
        let (oh, ow) = params.output_hw((h, h), (k, k)).unwrap();
        let flops = 2 * (BATCH * cout * oh * ow * cin * k * k) as u64;
        g.throughput(Throughput::Elements(flops));
        let shape = format!("{BATCH}x{cin}x{h}x{h}->{cout}x{oh}x{ow}_k{k}s{s}p{p}");
        g.bench_with_input(BenchmarkId::new("forward", &shape), &h, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || conv::conv2d(&x, &w, None, params).unwrap())
            })
        });
        let dy = rand(&ctx, 3, &[BATCH, cout, oh, ow]);
        g.bench_with_input(BenchmarkId::new("backward_input", &shape), &h, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || {
                    conv::conv2d_backward_input(&dy, &w, (h, h), params).unwrap()
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("backward_weight", &shape), &h, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || {
                    conv::conv2d_backward_weight(&x, &dy, (k, k), params).unwrap()
                })
            })
        });
    }
    g.finish();
}

fn conv_transpose2d(c: &mut Criterion) {
    let ctx = context();
    let mut g = c.benchmark_group("conv_transpose2d");
    for &(cin, h, cout, k, s, p) in CONV_T {
        let x = rand(&ctx, 1, &[BATCH, cin, h, h]);
        let w = rand(&ctx, 2, &[cin, cout, k, k]);
        let params = ConvTranspose2dParams::new(s, p);
        let flops = 2 * (BATCH * cin * h * h * cout * k * k) as u64;
        g.throughput(Throughput::Elements(flops));
        let (oh, ow) = params.output_hw((h, h), (k, k)).unwrap();
        let shape = format!("{BATCH}x{cin}x{h}x{h}->{cout}x{oh}x{ow}_k{k}s{s}p{p}");
        g.bench_with_input(BenchmarkId::new("forward", &shape), &h, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || {
                    conv::conv_transpose2d(&x, &w, None, params).unwrap()
                })
            })
        });
        let dy = rand(&ctx, 3, &[BATCH, cout, oh, ow]);
        g.bench_with_input(BenchmarkId::new("backward_weight", &shape), &h, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || {
                    conv::conv_transpose2d_backward_weight(&x, &dy, (k, k), params).unwrap()
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = gan_benches::criterion();
    targets = conv2d, conv_transpose2d
}
criterion_main!(benches);
