//! Launches `shaders/batchnorm.wgsl`: batch normalization with PyTorch's semantics
//! (`BatchNorm1d` on [N, C] or [N, C, L], `BatchNorm2d` on [N, C, H, W]), in training
//! mode (batch statistics, running statistics updated in place), eval mode (running
//! statistics) and the training-mode backward.
//!
//! Training: per channel, mean and biased variance over the M = N * H * W values;
//! y = gamma (x - mean) / sqrt(var + eps) + beta; running_mean and running_var move
//! towards the batch mean and the unbiased variance (var * M / (M - 1)) by `momentum`.
//! Backward: dx = gamma invstd / M (M dy - sum dy - xhat sum(dy xhat)),
//! dgamma = sum(dy xhat), dbeta = sum dy, with xhat = (x - mean) invstd.
//!
//! The `_act` variants fuse a ReLU or LeakyReLU (slope >= 0) after the affine output:
//! the forward stores act(y), the backward takes the gradient of act(y) and applies
//! act' itself (recomputing y from x): one pass each instead of two, the same bits.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::matmul::Activation;
use crate::shaders::BATCHNORM;
use crate::{Error, Result, Tensor};

/// What a training-mode forward returns: the output and the statistics its backward needs.
#[derive(Clone, Debug)]
pub struct BatchNormOutput {
    /// The normalized, scaled and shifted output, shaped like x.
    pub y: Tensor,
    /// Per-channel batch mean, `[C]`.
    pub mean: Tensor,
    /// Per-channel 1 / sqrt(biased variance + eps), `[C]`.
    pub invstd: Tensor,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    c: u32,
    hw: u32,
    m: u32,
    total: u32,
    eps: f32,
    momentum: f32,
    unbias: f32,
    alpha: f32,
}

/// (N, C, spatial size) of x, which must be [N, C], [N, C, L] or [N, C, H, W].
fn layout(op: &'static str, x: &Tensor) -> Result<(usize, usize, usize)> {
    let d = x.dims();
    if d.len() < 2 {
        return Err(Error::InvalidShape {
            op,
            msg: format!("x is {d:?}; batch norm needs [N, C], [N, C, L] or [N, C, H, W]"),
        });
    }
    Ok((d[0], d[1], d[2..].iter().product()))
}

/// Each per-channel tensor is [C] and on x's device.
fn check_channels(op: &'static str, x: &Tensor, c: usize, named: &[(&str, &Tensor)]) -> Result<()> {
    for (name, t) in named {
        x.same_device(t, op)?;
        if t.dims() != [c] {
            return Err(Error::shape(
                op,
                t.dims(),
                &[c],
                &format!("{name} must be [C] = [{c}] for x of shape {:?}", x.dims()),
            ));
        }
    }
    Ok(())
}

fn check_scalars(op: &'static str, eps: f32, momentum: f32) -> Result<()> {
    if !(eps.is_finite() && eps >= 0.0 && (0.0..=1.0).contains(&momentum)) {
        return Err(Error::Invalid {
            op,
            msg: format!("eps {eps} must be finite and >= 0, momentum {momentum} in [0, 1]"),
        });
    }
    Ok(())
}

/// The shader's ACT code and LeakyReLU slope for a fused activation, or an error for one
/// batch norm cannot fuse.
fn act_code(op: &'static str, act: Activation) -> Result<(u32, f32)> {
    match act {
        Activation::None => Ok((0, 0.0)),
        Activation::Relu => Ok((1, 0.0)),
        Activation::LeakyRelu(a) if a.is_finite() && a >= 0.0 => Ok((2, a)),
        other => Err(Error::Invalid {
            op,
            msg: format!(
                "batch norm fuses ReLU or LeakyReLU with a finite slope >= 0, not {other:?}; \
                 apply it on its own"
            ),
        }),
    }
}

fn params(n: usize, c: usize, hw: usize, eps: f32, momentum: f32, alpha: f32) -> Params {
    let m = n * hw;
    Params {
        c: c as u32,
        hw: hw as u32,
        m: m as u32,
        total: (m * c) as u32,
        eps,
        momentum,
        unbias: if m > 1 {
            (m as f64 / (m - 1) as f64) as f32
        } else {
            0.0
        },
        alpha,
    }
}

/// Which kernels compute the training-mode statistics. Both give the same bits: value k
/// of a channel goes to partial sum k % 64 and the partials meet in the same tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchNormKernel {
    /// One workgroup of 64 per channel, partials combined through workgroup memory (GPUs).
    Workgroup,
    /// One invocation per channel holding the 64 partials itself: no barriers (CPU
    /// adapters, where each barrier suspends and resumes every SIMD row of a workgroup).
    Serial,
}

impl BatchNormKernel {
    /// `Serial` on CPU adapters, `Workgroup` on GPUs; `GAN_BN_KERNEL=workgroup|serial`
    /// overrides.
    pub fn for_adapter(ctx: &crate::Context) -> BatchNormKernel {
        match std::env::var("GAN_BN_KERNEL").as_deref() {
            Ok("workgroup") => BatchNormKernel::Workgroup,
            Ok("serial") => BatchNormKernel::Serial,
            _ if ctx.adapter().is_cpu() => BatchNormKernel::Serial,
            _ => BatchNormKernel::Workgroup,
        }
    }

    /// The entry point of `train` or `backward` and its grid for `c` channels.
    fn launch(
        self,
        ctx: &crate::Context,
        entry: &'static str,
        c: usize,
    ) -> (&'static str, [u32; 3]) {
        match (self, entry) {
            (BatchNormKernel::Workgroup, _) => (entry, ctx.grid(c as u64)),
            (BatchNormKernel::Serial, "train") => ("train_serial", ctx.grid(c.div_ceil(8) as u64)),
            (BatchNormKernel::Serial, _) => ("backward_serial", ctx.grid(c.div_ceil(8) as u64)),
        }
    }
}

/// Training-mode forward: normalizes with the batch statistics, returns them for the
/// backward, and updates `running_mean` and `running_var` (`[C]` each) in place.
/// PyTorch's default `momentum` is 0.1 and `eps` 1e-5.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
) -> Result<BatchNormOutput> {
    let kernel = BatchNormKernel::for_adapter(x.context());
    batch_norm_train_with(
        x,
        gamma,
        beta,
        running_mean,
        running_var,
        momentum,
        eps,
        kernel,
    )
}

/// [`batch_norm_train`] computed by `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_with(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
    kernel: BatchNormKernel,
) -> Result<BatchNormOutput> {
    let (rm, rv) = (running_mean, running_var);
    let none = Activation::None;
    batch_norm_train_act_with(x, gamma, beta, rm, rv, momentum, eps, none, kernel)
}

/// [`batch_norm_train`] with `act` (ReLU, or LeakyReLU with a slope >= 0) fused after
/// the affine output: `y` holds act(gamma xhat + beta), the bits of the activation's own
/// kernel run on [`batch_norm_train`]'s y. Backward: [`batch_norm_backward_act_into`].
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_act(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
    act: Activation,
) -> Result<BatchNormOutput> {
    let kernel = BatchNormKernel::for_adapter(x.context());
    let (rm, rv) = (running_mean, running_var);
    batch_norm_train_act_with(x, gamma, beta, rm, rv, momentum, eps, act, kernel)
}

/// [`batch_norm_train_act`] computed by `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_act_with(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    momentum: f32,
    eps: f32,
    act: Activation,
    kernel: BatchNormKernel,
) -> Result<BatchNormOutput> {
    let op = "batch_norm_train";
    let (code, alpha) = act_code(op, act)?;
    let (n, c, hw) = layout(op, x)?;
    check_channels(
        op,
        x,
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
    )?;
    check_scalars(op, eps, momentum)?;
    if n * hw <= 1 {
        // PyTorch: "Expected more than 1 value per channel when training".
        return Err(Error::Invalid {
            op,
            msg: format!(
                "x {:?} has {} value(s) per channel; training needs more than 1 (use eval mode)",
                x.dims(),
                n * hw
            ),
        });
    }
    let written = [("running_mean", running_mean), ("running_var", running_var)];
    let read = [("x", x), ("gamma", gamma), ("beta", beta)];
    for (i, (a, ta)) in written.iter().enumerate() {
        for (b, tb) in read.iter().chain(&written[i + 1..]) {
            if ta.shares_buffer(tb) {
                return Err(Error::Invalid {
                    op,
                    msg: format!("{a} and {b} share one buffer; pass separate tensors"),
                });
            }
        }
    }
    let ctx = x.context();
    let out = BatchNormOutput {
        y: Tensor::uninit(ctx, x.dims())?,
        mean: Tensor::uninit(ctx, &[c])?,
        invstd: Tensor::uninit(ctx, &[c])?,
    };
    let (entry, groups) = kernel.launch(ctx, "train", c);
    ctx.dispatch(Launch {
        family: BATCHNORM,
        entry,
        constants: &[("ACT", code as f64)],
        params: bytemuck::bytes_of(&params(n, c, hw, eps, momentum, alpha)),
        inputs: &[x.arg(), gamma.arg(), beta.arg()],
        outputs: &[
            out.y.arg(),
            out.mean.arg(),
            out.invstd.arg(),
            running_mean.arg(),
            running_var.arg(),
        ],
        groups,
    })?;
    Ok(out)
}

/// Eval-mode forward: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    let op = "batch_norm_eval";
    let (n, c, hw) = layout(op, x)?;
    check_channels(
        op,
        x,
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
    )?;
    check_scalars(op, eps, 0.0)?;
    let ctx = x.context();
    let y = Tensor::uninit(ctx, x.dims())?;
    ctx.dispatch(Launch {
        family: BATCHNORM,
        entry: "eval",
        constants: &[],
        params: bytemuck::bytes_of(&params(n, c, hw, eps, 0.0, 0.0)),
        inputs: &[
            x.arg(),
            gamma.arg(),
            beta.arg(),
            running_mean.arg(),
            running_var.arg(),
        ],
        outputs: &[y.arg()],
        groups: ctx.grid(x.numel().div_ceil(256) as u64),
    })?;
    Ok(y)
}

/// Training-mode backward: (dx, dgamma, dbeta) from the upstream gradient `dy`, the
/// forward input `x`, `gamma`, and the saved `mean` and `invstd` of
/// [`batch_norm_train`]. One dispatch.
pub fn batch_norm_backward(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
) -> Result<(Tensor, Tensor, Tensor)> {
    let kernel = BatchNormKernel::for_adapter(x.context());
    batch_norm_backward_with(dy, x, gamma, mean, invstd, kernel)
}

/// [`batch_norm_backward`] computed by `kernel`.
pub fn batch_norm_backward_with(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
    kernel: BatchNormKernel,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (dx, dgamma, dbeta) =
        batch_norm_backward_into_with(dy, x, gamma, mean, invstd, None, None, kernel)?;
    Ok((dx, dgamma.expect("not into"), dbeta.expect("not into")))
}

/// Where [`batch_norm_backward_into`] puts a parameter's gradient: into a tensor of C
/// elements, overwriting it or adding to it.
#[derive(Clone, Copy, Debug)]
pub struct GradInto<'a> {
    /// The buffer (any shape of C elements; e.g. a view of a flat gradient buffer).
    pub out: &'a Tensor,
    /// Add to what it holds (out + grad, the bits of a separate add) instead of overwriting.
    pub accumulate: bool,
}

/// [`batch_norm_backward`] with dgamma and dbeta written into (or added to) the given
/// tensors by the kernel's own stores; a gradient with no target is returned as usual.
/// Returns (dx, dgamma unless `dgamma_into`, dbeta unless `dbeta_into`).
pub fn batch_norm_backward_into(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
    dgamma_into: Option<GradInto>,
    dbeta_into: Option<GradInto>,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    let kernel = BatchNormKernel::for_adapter(x.context());
    batch_norm_backward_into_with(dy, x, gamma, mean, invstd, dgamma_into, dbeta_into, kernel)
}

/// [`batch_norm_backward_into`] computed by `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward_into_with(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
    dgamma_into: Option<GradInto>,
    dbeta_into: Option<GradInto>,
    kernel: BatchNormKernel,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    let stats = (mean, invstd);
    let into = (dgamma_into, dbeta_into);
    backward(dy, x, (gamma, None), stats, Activation::None, into, kernel)
}

/// The backward of [`batch_norm_train_act`]: `dy` is the gradient of act(y), `beta` the
/// forward's (y is recomputed from x to apply act'); otherwise as
/// [`batch_norm_backward_into`]. The bits of the activation's backward kernel followed by
/// [`batch_norm_backward_into`].
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward_act_into(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
    act: Activation,
    dgamma_into: Option<GradInto>,
    dbeta_into: Option<GradInto>,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    let kernel = BatchNormKernel::for_adapter(x.context());
    let (stats, into) = ((mean, invstd), (dgamma_into, dbeta_into));
    backward(dy, x, (gamma, Some(beta)), stats, act, into, kernel)
}

/// [`batch_norm_backward_act_into`] computed by `kernel`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward_act_into_with(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
    act: Activation,
    dgamma_into: Option<GradInto>,
    dbeta_into: Option<GradInto>,
    kernel: BatchNormKernel,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    let (stats, into) = ((mean, invstd), (dgamma_into, dbeta_into));
    backward(dy, x, (gamma, Some(beta)), stats, act, into, kernel)
}

type GradTargets<'a> = (Option<GradInto<'a>>, Option<GradInto<'a>>);

fn backward(
    dy: &Tensor,
    x: &Tensor,
    (gamma, beta): (&Tensor, Option<&Tensor>),
    (mean, invstd): (&Tensor, &Tensor),
    act: Activation,
    (dgamma_into, dbeta_into): GradTargets,
    kernel: BatchNormKernel,
) -> Result<(Tensor, Option<Tensor>, Option<Tensor>)> {
    let op = "batch_norm_backward";
    let (n, c, hw) = layout(op, x)?;
    dy.same_shape(x, op)?;
    let (code, alpha) = act_code(op, act)?;
    check_channels(
        op,
        x,
        c,
        &[("gamma", gamma), ("mean", mean), ("invstd", invstd)],
    )?;
    if let Some(beta) = beta {
        check_channels(op, x, c, &[("beta", beta)])?;
    }
    if code != 0 && beta.is_none() {
        return Err(Error::Invalid {
            op,
            msg: "a fused activation's backward needs beta".into(),
        });
    }
    let ctx = x.context();
    let dx = Tensor::uninit(ctx, x.dims())?;
    // The target of a parameter's gradient: the caller's tensor, or a new one returned.
    let target = |into: Option<GradInto>| -> Result<(Tensor, bool, bool)> {
        match into {
            Some(GradInto { out, accumulate }) => {
                x.same_device(out, op)?;
                if out.numel() != c {
                    return Err(Error::shape(
                        op,
                        out.dims(),
                        &[c],
                        "a parameter gradient's output must hold C elements",
                    ));
                }
                Ok((out.reshape(&[c])?, accumulate, true))
            }
            None => Ok((Tensor::uninit(ctx, &[c])?, false, false)),
        }
    };
    let (dgamma, add_dgamma, gamma_given) = target(dgamma_into)?;
    let (dbeta, add_dbeta, beta_given) = target(dbeta_into)?;
    let (entry, groups) = kernel.launch(ctx, "backward", c);
    ctx.dispatch(Launch {
        family: BATCHNORM,
        entry,
        constants: &[
            ("ADD_DGAMMA", add_dgamma as u32 as f64),
            ("ADD_DBETA", add_dbeta as u32 as f64),
            ("ACT", code as f64),
        ],
        params: bytemuck::bytes_of(&params(n, c, hw, 0.0, 0.0, alpha)),
        // Without an activation beta is not read: gamma is bound in its place.
        inputs: &[
            dy.arg(),
            x.arg(),
            gamma.arg(),
            mean.arg(),
            invstd.arg(),
            beta.unwrap_or(gamma).arg(),
        ],
        outputs: &[dx.arg(), dgamma.arg(), dbeta.arg()],
        groups,
    })?;
    Ok((
        dx,
        (!gamma_given).then_some(dgamma),
        (!beta_given).then_some(dbeta),
    ))
}
