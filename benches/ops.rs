//! Bandwidth-bound kernels (GB/s of tensor data read and written): elementwise maps and
//! reductions.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gan_benches::{context, rand, time_gpu};

const SIZES: &[usize] = &[1 << 16, 1 << 20, 1 << 22];

fn elementwise(c: &mut Criterion) {
    let ctx = context();
    let mut g = c.benchmark_group("elementwise");
    for &n in SIZES {
        let (x, y) = (rand(&ctx, 1, &[n]), rand(&ctx, 2, &[n]));
        // add: two reads and one write of n floats.
        g.throughput(Throughput::Bytes(12 * n as u64));
        g.bench_with_input(BenchmarkId::new("add", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || x.add(&y).unwrap()))
        });
        g.throughput(Throughput::Bytes(8 * n as u64));
        g.bench_with_input(BenchmarkId::new("leaky_relu", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || x.leaky_relu(0.2).unwrap()))
        });
        // Broadcast bias add over rows of 1024.
        let bias = rand(&ctx, 3, &[1024]);
        let xm = x.reshape(&[n / 1024, 1024]).unwrap();
        g.throughput(Throughput::Bytes(8 * n as u64));
        g.bench_with_input(BenchmarkId::new("add_bias_broadcast", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || xm.add(&bias).unwrap()))
        });
    }
    g.finish();
}

fn reduction(c: &mut Criterion) {
    let ctx = context();
    let mut g = c.benchmark_group("reduce");
    for &n in SIZES {
        let x = rand(&ctx, 1, &[n]);
        g.throughput(Throughput::Bytes(4 * n as u64));
        g.bench_with_input(BenchmarkId::new("sum_all", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || x.sum_all().unwrap()))
        });
        let xm = x.reshape(&[n / 256, 256]).unwrap();
        g.bench_with_input(BenchmarkId::new("sum_axis0", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || xm.sum_axis(0, false).unwrap()))
        });
    }
    g.finish();
}

fn bce(c: &mut Criterion) {
    use gan_tensor::bce::{bce_with_logits_backward, bce_with_logits_const, GradScale, Targets};
    let ctx = context();
    let mut g = c.benchmark_group("bce");
    for &n in &[256usize, 1 << 16, 1 << 20] {
        let x = rand(&ctx, 1, &[n, 1]);
        g.throughput(Throughput::Bytes(4 * n as u64));
        g.bench_with_input(BenchmarkId::new("loss_const_label", n), &n, |b, _| {
            b.iter_custom(|iters| time_gpu(&ctx, iters, || bce_with_logits_const(&x, 1.0).unwrap()))
        });
        g.throughput(Throughput::Bytes(8 * n as u64));
        g.bench_with_input(BenchmarkId::new("grad_const_label", n), &n, |b, _| {
            b.iter_custom(|iters| {
                time_gpu(&ctx, iters, || {
                    bce_with_logits_backward(&x, Targets::Const(0.0), GradScale::Host(1.0)).unwrap()
                })
            })
        });
    }
    g.finish();
}

/// One Adam step over a flat buffer (28 bytes of state read and written per parameter),
/// on each kernel this adapter runs: 1,486,352 parameters are the default MLP G's.
fn optim(c: &mut Criterion) {
    use gan_tensor::optim::{adam_step_with, AdamConfig, AdamKernel};
    let ctx = context();
    let mut g = c.benchmark_group("optim");
    let cfg = AdamConfig::adam(1e-4);
    for &n in &[1usize << 16, 1_486_352] {
        let (p, grad, m) = (
            rand(&ctx, 1, &[n]),
            rand(&ctx, 2, &[n]),
            rand(&ctx, 3, &[n]),
        );
        let v = rand(&ctx, 4, &[n]).mul(&rand(&ctx, 4, &[n])).unwrap();
        g.throughput(Throughput::Bytes(28 * n as u64));
        for (name, kernel) in [
            ("adam_vec4", AdamKernel::Vec4),
            ("adam_texture", AdamKernel::Texture),
        ] {
            let mut step = 0;
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter_custom(|iters| {
                    time_gpu(&ctx, iters, || {
                        step += 1;
                        adam_step_with(&p, &grad, &m, &v, &cfg, step, kernel).unwrap();
                        p.clone()
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = gan_benches::criterion();
    targets = elementwise, reduction, bce, optim
}
criterion_main!(benches);
