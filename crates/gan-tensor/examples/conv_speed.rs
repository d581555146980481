//! Times conv2d / conv_transpose2d and their input and weight gradients at DCGAN's
//! batch-64 shapes with the direct kernels and with im2col + matmul, in GFLOP/s counting
//! 2 N Cout OH OW Cin KH KW flops per operation (of the conv2d the op is phrased in).
//!
//! `cargo run --release -p gan-tensor --example conv_speed -- [ITERS]`

use std::time::Instant;

use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::{testing, Context, Result, Tensor};

fn rand(ctx: &Context, seed: u64, dims: &[usize]) -> Result<Tensor> {
    let n = dims.iter().product();
    Tensor::from_slice(ctx, &testing::random(seed, n, -1.0, 1.0), dims)
}

/// Seconds per call of `f`, after one warm-up call (pipeline compilation).
fn time(ctx: &Context, iters: usize, f: &dyn Fn() -> Result<Tensor>) -> Result<f64> {
    f()?;
    ctx.sync()?;
    let start = Instant::now();
    for _ in 0..iters {
        f()?;
    }
    ctx.sync()?;
    Ok(start.elapsed().as_secs_f64() / iters as f64)
}

fn main() -> Result<()> {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let ctx = Context::new()?;
    println!("adapter: {}", ctx.adapter());
    let p = Conv2dParams::new(2, 1);
    let t = ConvTranspose2dParams::new(2, 1);
    // (name, x dims, weight dims, transposed)
    let layers: [(&str, [usize; 4], [usize; 4], bool); 4] = [
        (
            "conv  [64,1,28,28]->[64,64,14,14]",
            [64, 1, 28, 28],
            [64, 1, 4, 4],
            false,
        ),
        (
            "conv  [64,64,14,14]->[64,128,7,7]",
            [64, 64, 14, 14],
            [128, 64, 4, 4],
            false,
        ),
        (
            "convT [64,128,7,7]->[64,64,14,14]",
            [64, 128, 7, 7],
            [128, 64, 4, 4],
            true,
        ),
        (
            "convT [64,64,14,14]->[64,1,28,28]",
            [64, 64, 14, 14],
            [64, 1, 4, 4],
            true,
        ),
    ];
    for (name, xd, wd, transposed) in layers {
        let x = rand(&ctx, 1, &xd)?;
        let w = rand(&ctx, 2, &wd)?;
        let b = rand(&ctx, 3, &[if transposed { wd[1] } else { wd[0] }])?;
        let y = if transposed {
            conv::conv_transpose2d(&x, &w, Some(&b), t)?
        } else {
            conv::conv2d(&x, &w, Some(&b), p)?
        };
        let dy = rand(&ctx, 4, y.dims())?;
        // The conv2d's output is the smaller of x and y (for convT that is x).
        let small = if transposed { &xd[..] } else { y.dims() };
        let flops = 2.0 * (xd[0] * wd[0] * wd[1] * wd[2] * wd[3] * small[2] * small[3]) as f64;
        println!("{name}: {:.1} MFLOP per op", flops / 1e6);
        let k = (wd[2], wd[3]);
        let hw = (xd[2], xd[3]);
        for (what, op) in ["forward", "backward input", "backward weight"]
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i))
        {
            let mut line = format!("  {what:16}");
            let mut secs = Vec::new();
            for algo in [ConvAlgo::Direct, ConvAlgo::IM2COL] {
                let f = || match (transposed, op) {
                    (false, 0) => conv::conv2d_with(&x, &w, Some(&b), p, algo),
                    (false, 1) => conv::conv2d_backward_input_with(&dy, &w, hw, p, algo),
                    (false, _) => conv::conv2d_backward_weight_with(&x, &dy, k, p, algo),
                    (true, 0) => conv::conv_transpose2d_with(&x, &w, Some(&b), t, algo),
                    (true, 1) => conv::conv_transpose2d_backward_input_with(&dy, &w, t, algo),
                    (true, _) => conv::conv_transpose2d_backward_weight_with(&x, &dy, k, t, algo),
                };
                let s = time(&ctx, iters, &f)?;
                secs.push(s);
                let label = if algo == ConvAlgo::Direct {
                    "direct"
                } else {
                    "im2col"
                };
                line += &format!(
                    "  {label} {:8.2} ms {:6.2} GFLOP/s",
                    s * 1e3,
                    flops / s / 1e9
                );
            }
            println!("{line}  speedup {:.1}x", secs[0] / secs[1]);
        }
    }
    Ok(())
}
