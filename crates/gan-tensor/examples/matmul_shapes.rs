//! Times one product of a given shape with each operand layout, on the best adapter:
//! `cargo run --release -p gan-tensor --example matmul_shapes -- M K N [ITERS]`.
//! The MLP players' products are batch-high (M = 64) and long in K; this tells whether the
//! layout of a transposed operand (a Linear's weight is [out, in]) costs on this adapter.

use std::time::Instant;

use gan_tensor::matmul::{matmul_with, MatmulKernel, MatmulOptions};
use gan_tensor::{testing, Context, Tensor};

/// Timed batches per layout.
const BATCHES: usize = 7;

fn main() -> gan_tensor::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("M K N [ITERS] as numbers"))
        .collect();
    let (m, k, n) = match args[..] {
        [m, k, n, ..] => (m, k, n),
        _ => (64, 1024, 512),
    };
    let iters = args.get(3).copied().unwrap_or(20);
    let ctx = Context::new()?;
    println!(
        "adapter: {}, kernel {:?}",
        ctx.adapter(),
        MatmulKernel::for_adapter(&ctx)
    );
    for (trans_a, trans_b) in [(false, false), (false, true), (true, false)] {
        let a_dims = if trans_a { [k, m] } else { [m, k] };
        let b_dims = if trans_b { [n, k] } else { [k, n] };
        let a = Tensor::from_slice(&ctx, &testing::random(1, m * k, -1.0, 1.0), &a_dims)?;
        let b = Tensor::from_slice(&ctx, &testing::random(2, k * n, -1.0, 1.0), &b_dims)?;
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            ..Default::default()
        };
        matmul_with(&a, &b, opts)?.to_vec()?; // compiles the pipeline
        ctx.sync()?;
        // Batches of `iters` products; the best and the median batch (this machine's
        // timings swing by half between back-to-back runs).
        let mut times: Vec<f64> = (0..BATCHES)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iters {
                    matmul_with(&a, &b, opts)?;
                }
                ctx.sync()?;
                Ok(start.elapsed().as_secs_f64() / iters as f64)
            })
            .collect::<gan_tensor::Result<_>>()?;
        times.sort_by(f64::total_cmp);
        let (best, median) = (times[0], times[BATCHES / 2]);
        let gflops = 2.0 * (m * k * n) as f64 / best / 1e9;
        println!(
            "{m}x{k}x{n} trans_a {trans_a:5} trans_b {trans_b:5}: best {:.2} ms ({gflops:.1} GFLOP/s), median {:.2} ms",
            best * 1e3,
            median * 1e3
        );
    }
    Ok(())
}
