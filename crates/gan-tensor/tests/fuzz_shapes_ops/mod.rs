//! The seeded shape generator and one driver per public op of gan-tensor, for
//! `fuzz_shapes.rs`. A driver draws its arguments, writes them into `args` (before the
//! call, so a panic can be reported), calls the op and judges the result: `Ok(true)`
//! accepted with a consistent result, `Ok(false)` refused with an error naming the op,
//! `Err(why)` when the op answered wrongly.

use gan_tensor::bce::{bce_with_logits, bce_with_logits_backward, bce_with_logits_const};
use gan_tensor::bce::{GradScale, Targets};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::matmul::{matmul_with, MatmulOptions};
use gan_tensor::optim::{adam_step, sgd_step, AdamConfig, SgdConfig};
use gan_tensor::rng::SplitMix64;
use gan_tensor::{batchnorm, elementwise, maxout, softmax, Context, Error, Result, Tensor};

/// Sizes of interest: edges of u16, i32, u32, usize and their neighbours.
pub const SPECIAL: [usize; 12] = [
    0,
    1,
    2,
    3,
    7,
    65535,
    65536,
    (1 << 31) - 1,
    (1 << 32) - 1,
    1 << 32,
    usize::MAX / 2,
    usize::MAX,
];

/// Seeded draws of sizes, shapes and small real tensors.
pub struct Gen(SplitMix64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen(SplitMix64::new(seed))
    }
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
    fn coin(&mut self) -> bool {
        self.below(2) == 0
    }
    /// A size: half the time one of [`SPECIAL`], otherwise 0 to 4.
    fn dim(&mut self) -> usize {
        if self.coin() {
            SPECIAL[self.below(SPECIAL.len())]
        } else {
            self.below(5)
        }
    }
    /// A shape of rank 0 to 6.
    fn dims(&mut self) -> Vec<usize> {
        let rank = self.below(7);
        (0..rank).map(|_| self.dim()).collect()
    }
    fn pair(&mut self) -> (usize, usize) {
        (self.dim(), self.dim())
    }
    /// Dims of a real tensor: rank 1 to 4, sizes 0 to 3 (0 rarely).
    fn small(&mut self, rank: Option<usize>) -> Vec<usize> {
        let rank = rank.unwrap_or_else(|| 1 + self.below(4));
        (0..rank)
            .map(|_| {
                if self.below(12) == 0 {
                    0
                } else {
                    1 + self.below(3)
                }
            })
            .collect()
    }
    fn tensor(&mut self, ctx: &Context, dims: &[usize]) -> Tensor {
        let n = dims.iter().product();
        Tensor::from_slice(ctx, &vec![0.25; n], dims).expect("a small real tensor")
    }
    fn real(&mut self, ctx: &Context) -> Tensor {
        let d = self.small(None);
        self.tensor(ctx, &d)
    }
    /// A tensor shaped like `like` half the time (so checks pass), else a fresh one.
    fn like(&mut self, ctx: &Context, like: &[usize]) -> Tensor {
        if self.coin() {
            self.tensor(ctx, like)
        } else {
            self.real(ctx)
        }
    }
    /// A small NCHW tensor, sizes 1 to 3 (0 rarely).
    fn real4(&mut self, ctx: &Context) -> Tensor {
        let d = self.small(Some(4));
        self.tensor(ctx, &d)
    }
    fn conv2d_params(&mut self) -> Conv2dParams {
        Conv2dParams {
            stride: self.pair(),
            padding: self.pair(),
        }
    }
    fn transpose_params(&mut self) -> ConvTranspose2dParams {
        ConvTranspose2dParams {
            stride: self.pair(),
            padding: self.pair(),
            output_padding: self.pair(),
        }
    }
    fn algo(&mut self) -> ConvAlgo {
        if self.coin() {
            ConvAlgo::Direct
        } else {
            ConvAlgo::IM2COL
        }
    }
}

type Verdict = std::result::Result<bool, String>;
pub type Op = fn(&mut Gen, &Context, &mut String) -> Verdict;

/// Refusals must name the op; acceptances must pass `check` and fit one binding.
fn judge<T>(
    op: &str,
    r: Result<T>,
    check: impl FnOnce(&T) -> std::result::Result<(), String>,
) -> Verdict {
    match r {
        Err(e @ Error::TooLarge { .. }) => {
            let msg = e.to_string();
            (!msg.is_empty()).then_some(false).ok_or(msg)
        }
        Err(e) => {
            let msg = e.to_string();
            // `op` lists the names an error may give, "a|b": ops built on another
            // (leaky_relu_backward on the binary kernel) may name that one.
            if op.split('|').any(|name| msg.contains(name)) {
                Ok(false)
            } else {
                Err(format!("refused without naming {op:?}: {msg}"))
            }
        }
        Ok(t) => check(&t).map(|()| true),
    }
}

fn fits(t: &Tensor) -> std::result::Result<(), String> {
    let bytes = t
        .dims()
        .iter()
        .try_fold(4u64, |b, &d| b.checked_mul(d as u64));
    match bytes {
        Some(b) if (1..=4).contains(&t.dims().len()) && b <= t.context().max_tensor_bytes() => {
            Ok(())
        }
        _ => Err(format!(
            "accepted {t:?}, which no binding of this device holds"
        )),
    }
}

fn same_dims(t: &Tensor, dims: &[usize]) -> std::result::Result<(), String> {
    fits(t)?;
    if t.dims() == dims {
        Ok(())
    } else {
        Err(format!("accepted as {t:?}, not {dims:?}"))
    }
}

macro_rules! ops {
    ($($name:literal => |$g:ident, $ctx:ident, $args:ident| $body:block)*) => {
        pub const OPS: &[(&str, Op)] = &[$(($name, |$g: &mut Gen, $ctx: &Context, $args: &mut String| -> Verdict { $body })),*];
    };
}

ops! {
    "from_slice" => |g, ctx, args| {
        let (dims, n) = (g.dims(), g.below(9));
        *args = format!("{n} values, {dims:?}");
        judge("from_slice", Tensor::from_slice(ctx, &vec![1.0; n], &dims), |t| same_dims(t, &dims))
    }
    "zeros" => |g, ctx, args| {
        let dims = g.dims();
        *args = format!("{dims:?}");
        judge("zeros", Tensor::zeros(ctx, &dims), |t| same_dims(t, &dims))
    }
    "full" => |g, ctx, args| {
        let dims = g.dims();
        *args = format!("{dims:?}");
        judge("full", Tensor::full(ctx, &dims, 2.0), |t| same_dims(t, &dims))
    }
    "rand_uniform" => |g, ctx, args| {
        let dims = g.dims();
        *args = format!("{dims:?}");
        judge("rand_uniform", Tensor::rand_uniform(ctx, &dims, 0.0, 1.0, 3), |t| same_dims(t, &dims))
    }
    "rand_normal" => |g, ctx, args| {
        let dims = g.dims();
        *args = format!("{dims:?}");
        judge("rand_normal", Tensor::rand_normal_stream(ctx, &dims, 0.0, 1.0, 3, 9), |t| same_dims(t, &dims))
    }
    "reshape" => |g, ctx, args| {
        let (t, dims) = (g.real(ctx), g.dims());
        *args = format!("{t:?}, {dims:?}");
        judge("reshape", t.reshape(&dims), |r| {
            same_dims(r, &dims)?;
            (r.numel() == t.numel()).then_some(()).ok_or("element counts differ".into())
        })
    }
    "view" => |g, ctx, args| {
        let (t, offset, dims) = (g.real(ctx), g.dim(), g.dims());
        *args = format!("{t:?}, offset {offset}, {dims:?}");
        judge("view", t.view(offset, &dims), |v| {
            same_dims(v, &dims)?;
            (offset + v.numel() <= t.numel()).then_some(()).ok_or("view past the end".into())
        })
    }
    "sum_to" => |g, ctx, args| {
        let t = g.real(ctx);
        let dims = if g.coin() { g.dims() } else { g.small(None) };
        *args = format!("{t:?}, {dims:?}");
        judge("sum_to", t.sum_to(&dims), |r| same_dims(r, &dims))
    }
    "sum_axis" => |g, ctx, args| {
        let (t, axis, keep) = (g.real(ctx), g.dim(), g.coin());
        *args = format!("{t:?}, axis {axis}, keepdim {keep}");
        judge("sum_axis", t.sum_axis(axis, keep), |r| {
            fits(r)?;
            (axis < t.dims().len()).then_some(()).ok_or("axis out of range accepted".into())
        })
    }
    "mean_axis" => |g, ctx, args| {
        let (t, axis) = (g.real(ctx), g.dim());
        *args = format!("{t:?}, axis {axis}");
        judge("mean_axis", t.mean_axis(axis, false), |r| {
            fits(r)?;
            (axis < t.dims().len()).then_some(()).ok_or("axis out of range accepted".into())
        })
    }
    "sum_all / mean_all" => |g, ctx, args| {
        let t = g.real(ctx);
        *args = format!("{t:?}");
        judge("sum_all", t.sum_all(), |r| same_dims(r, &[1]))?;
        judge("mean_all", t.mean_all(), |r| same_dims(r, &[1]))
    }
    "binary" => |g, ctx, args| {
        let a = g.real(ctx);
        let b = g.like(ctx, a.dims());
        *args = format!("{a:?}, {b:?}");
        judge("binary elementwise op", a.add(&b), fits)?;
        judge("binary elementwise op", a.mul(&b), fits)
    }
    "unary / copy / fill_" => |g, ctx, args| {
        let a = g.real(ctx);
        *args = format!("{a:?}");
        judge("relu", a.relu(), |r| same_dims(r, a.dims()))?;
        judge("copy", a.copy(), |r| same_dims(r, a.dims()))?;
        judge("fill_", a.fill_(1.0), |_| Ok(()))
    }
    "leaky_relu_backward" => |g, ctx, args| {
        let a = g.real(ctx);
        let dy = g.like(ctx, a.dims());
        *args = format!("{a:?}, dy {dy:?}");
        judge("leaky_relu_backward|binary elementwise op", a.leaky_relu_backward(&dy, 0.2), fits)
    }
    "accumulate / assign" => |g, ctx, args| {
        let a = g.real(ctx);
        let b = g.like(ctx, a.dims());
        *args = format!("{a:?}, {b:?}");
        let same = a.dims() == b.dims();
        let wrong = |_: &()| if same { Ok(()) } else { Err("mismatched shapes accepted".to_string()) };
        judge("accumulate", elementwise::accumulate(&a, &b, 0.5), wrong)?;
        judge("assign", a.assign(&b), wrong)
    }
    "matmul" => |g, ctx, args| {
        let rank = if g.below(4) == 0 { 1 } else { 2 };
        let (da, db) = (g.small(Some(rank)), g.small(Some(2)));
        let (a, b) = (g.tensor(ctx, &da), g.tensor(ctx, &db));
        let bias = g.coin().then(|| g.real(ctx));
        let o = MatmulOptions { trans_a: g.coin(), trans_b: g.coin(), bias: bias.as_ref(), ..Default::default() };
        *args = format!("{a:?}, {b:?}, bias {bias:?}, trans {}/{}", o.trans_a, o.trans_b);
        judge("matmul", matmul_with(&a, &b, o), fits)
    }
    "conv2d" => |g, ctx, args| {
        let (x, w, p, algo) = (g.real4(ctx), g.real4(ctx), g.conv2d_params(), g.algo());
        let bias = g.coin().then(|| g.real(ctx));
        *args = format!("{x:?}, {w:?}, bias {bias:?}, {p:?}, {algo:?}");
        judge("conv2d", conv::conv2d_with(&x, &w, bias.as_ref(), p, algo), fits)
    }
    "conv2d_backward_input" => |g, ctx, args| {
        let (dy, w, hw, p, algo) = (g.real4(ctx), g.real4(ctx), g.pair(), g.conv2d_params(), g.algo());
        *args = format!("{dy:?}, {w:?}, input {hw:?}, {p:?}, {algo:?}");
        judge("conv2d_backward_input", conv::conv2d_backward_input_with(&dy, &w, hw, p, algo), fits)
    }
    "conv2d_backward_weight" => |g, ctx, args| {
        let (x, dy, k, p, algo) = (g.real4(ctx), g.real4(ctx), g.pair(), g.conv2d_params(), g.algo());
        *args = format!("{x:?}, {dy:?}, kernel {k:?}, {p:?}, {algo:?}");
        judge("conv2d_backward_weight", conv::conv2d_backward_weight_with(&x, &dy, k, p, algo), fits)
    }
    "conv_transpose2d" => |g, ctx, args| {
        let (x, w, p, algo) = (g.real4(ctx), g.real4(ctx), g.transpose_params(), g.algo());
        let bias = g.coin().then(|| g.real(ctx));
        *args = format!("{x:?}, {w:?}, bias {bias:?}, {p:?}, {algo:?}");
        judge("conv_transpose2d", conv::conv_transpose2d_with(&x, &w, bias.as_ref(), p, algo), fits)
    }
    "conv_transpose2d_backward_input" => |g, ctx, args| {
        let (dy, w, p, algo) = (g.real4(ctx), g.real4(ctx), g.transpose_params(), g.algo());
        *args = format!("{dy:?}, {w:?}, {p:?}, {algo:?}");
        judge("conv_transpose2d_backward_input", conv::conv_transpose2d_backward_input_with(&dy, &w, p, algo), fits)
    }
    "conv_transpose2d_backward_weight" => |g, ctx, args| {
        let (x, dy, k, p, algo) = (g.real4(ctx), g.real4(ctx), g.pair(), g.transpose_params(), g.algo());
        *args = format!("{x:?}, {dy:?}, kernel {k:?}, {p:?}, {algo:?}");
        judge("conv_transpose2d_backward_weight", conv::conv_transpose2d_backward_weight_with(&x, &dy, k, p, algo), fits)
    }
    "im2col" => |g, ctx, args| {
        let x = if g.coin() { g.real4(ctx) } else { g.real(ctx) };
        let (k, p) = (g.pair(), g.conv2d_params());
        *args = format!("{x:?}, kernel {k:?}, {p:?}");
        judge("im2col", conv::im2col(&x, k, p), fits)
    }
    "col2im" => |g, ctx, args| {
        let rank = if g.coin() { 2 } else { 1 + g.below(4) };
        let dc = g.small(Some(rank));
        let cols = g.tensor(ctx, &dc);
        let (c, hw, k, p) = (g.dim(), g.pair(), g.pair(), g.conv2d_params());
        *args = format!("{cols:?}, channels {c}, input {hw:?}, kernel {k:?}, {p:?}");
        judge("col2im", conv::col2im(&cols, c, hw, k, p), fits)
    }
    "conv_bias_backward" => |g, ctx, args| {
        let dy = g.real(ctx);
        *args = format!("{dy:?}");
        judge("conv_bias_backward", conv::conv_bias_backward(&dy), fits)
    }
    "batch_norm" => |g, ctx, args| {
        let x = g.real(ctx);
        let c = [x.dims().get(1).copied().unwrap_or(1)];
        let ps: Vec<Tensor> = (0..4).map(|_| g.like(ctx, &c)).collect();
        *args = format!("{x:?}, per-channel {ps:?}");
        judge("batch_norm_train", batchnorm::batch_norm_train(&x, &ps[0], &ps[1], &ps[2], &ps[3], 0.1, 1e-5), |o| fits(&o.y))?;
        judge("batch_norm_eval", batchnorm::batch_norm_eval(&x, &ps[0], &ps[1], &ps[2], &ps[3], 1e-5), fits)?;
        let dy = g.like(ctx, x.dims());
        judge("batch_norm_backward", batchnorm::batch_norm_backward(&dy, &x, &ps[0], &ps[1], &ps[2]), |o| fits(&o.0))
    }
    "maxout" => |g, ctx, args| {
        let x = g.real(ctx);
        let pieces = if g.coin() { g.dim() } else { 1 + g.below(3) };
        let dy = g.real(ctx);
        *args = format!("{x:?}, pieces {pieces}, dy {dy:?}");
        judge("maxout", maxout::maxout(&x, pieces), fits)?;
        judge("maxout_backward", maxout::maxout_backward(&x, &dy, pieces), |t| same_dims(t, x.dims()))
    }
    "bce_with_logits" => |g, ctx, args| {
        let x = g.real(ctx);
        let y = g.like(ctx, x.dims());
        let s = g.real(ctx);
        *args = format!("{x:?}, targets {y:?}, grad {s:?}");
        judge("bce_with_logits", bce_with_logits(&x, &y), fits)?;
        judge("bce_with_logits", bce_with_logits_const(&x, 1.0), fits)?;
        let grad = GradScale::Tensor(&s);
        judge("bce_with_logits_backward", bce_with_logits_backward(&x, Targets::Tensor(&y), grad), fits)
    }
    "softmax / cross_entropy" => |g, ctx, args| {
        let x = g.real(ctx);
        let labels = g.like(ctx, &x.dims()[..1]);
        let up = g.like(ctx, &[1]);
        *args = format!("{x:?}, labels {labels:?}, upstream {up:?}");
        judge("softmax", softmax::softmax(&x), fits)?;
        judge("cross_entropy", softmax::cross_entropy(&x, &labels), fits)?;
        judge("cross_entropy_backward", softmax::cross_entropy_backward(&x, &labels, &up), fits)
    }
    "adam_step / sgd_step" => |g, ctx, args| {
        let p = g.real(ctx);
        let b: Vec<Tensor> = (0..3).map(|_| g.like(ctx, p.dims())).collect();
        *args = format!("{p:?}, {b:?}");
        let cfg = AdamConfig::adam(1e-3);
        judge("adam_step", adam_step(&p, &b[0], &b[1], &b[2], &cfg, 1), |_| Ok(()))?;
        let sgd = SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() };
        judge("sgd_step", sgd_step(&p, &b[0], Some(&b[1]), &sgd, 1), |_| Ok(()))
    }
    "fill_uniform / fill_normal" => |g, ctx, args| {
        let t = g.real(ctx);
        *args = format!("{t:?}");
        judge("fill_uniform", gan_tensor::rng::fill_uniform(&t, 0.0, 1.0, 1, 2), |_| Ok(()))?;
        judge("fill_normal", gan_tensor::rng::fill_normal(&t, 0.0, 1.0, 1, 2), |_| Ok(()))
    }
}
