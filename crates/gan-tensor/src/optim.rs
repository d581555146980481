//! Launches `shaders/optim.wgsl`: Adam/AdamW and SGD with momentum, one dispatch per step
//! over a flat parameter buffer, updating parameters and optimizer state in place.
//!
//! The formulas follow PyTorch's `torch.optim.Adam` / `AdamW` (`_single_tensor_adam`,
//! amsgrad and maximize off) and `torch.optim.SGD` (`_single_tensor_sgd`):
//!
//! ```text
//! Adam:  g += wd p                       (L2, Adam)   or   p *= 1 - lr wd   (AdamW)
//!        m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2
//!        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//! SGD:   g += wd p;  buf = g on step 1, else mu buf + (1 - dampening) g
//!        g = g + mu buf (nesterov) or buf;  p -= lr g
//! ```
//!
//! [`ema_update`] keeps an exponential moving average of a flat parameter buffer
//! (StyleGAN's G_ema, Karras et al. 2019): `shadow = decay shadow + (1 - decay) param`.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::{OPTIM, OPTIM_VEC4};
use crate::{Error, Result, Tensor};

/// Hyperparameters of Adam and AdamW.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// Weight decay (0 for none).
    pub weight_decay: f32,
    /// true: AdamW's decoupled decay p *= 1 - lr wd; false: Adam's L2 term g += wd p.
    pub decoupled: bool,
}

impl AdamConfig {
    /// PyTorch's Adam defaults (betas 0.9, 0.999, eps 1e-8, no weight decay) at `lr`.
    /// DCGAN uses `AdamConfig { beta1: 0.5, ..AdamConfig::adam(2e-4) }`.
    pub fn adam(lr: f32) -> Self {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }

    /// PyTorch's AdamW defaults (as Adam, with decoupled weight decay) at `lr` and `weight_decay`.
    pub fn adamw(lr: f32, weight_decay: f32) -> Self {
        AdamConfig {
            weight_decay,
            decoupled: true,
            ..AdamConfig::adam(lr)
        }
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig::adam(1e-3)
    }
}

/// Hyperparameters of SGD.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0 for plain SGD).
    pub momentum: f32,
    /// Dampening of the gradient added to the momentum buffer.
    pub dampening: f32,
    /// L2 weight decay (g += wd p).
    pub weight_decay: f32,
    /// Nesterov momentum (needs momentum > 0 and dampening 0, as in PyTorch).
    pub nesterov: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AdamParams {
    n: u32,
    decoupled: u32,
    weight_decay: f32,
    decay: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    step_size: f32,
    bc2_sqrt: f32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SgdParams {
    n: u32,
    first: u32,
    nesterov: u32,
    _pad: u32,
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EmaParams {
    n: u32,
    decay: f32,
    one_minus_decay: f32,
    _pad: u32,
}

fn invalid(op: &'static str, msg: String) -> Error {
    Error::Invalid { op, msg }
}

/// Every state tensor matches `params` in size and device, and no two share a buffer
/// (a buffer may not be both read and written by one dispatch).
fn check_buffers(op: &'static str, params: &Tensor, others: &[(&str, &Tensor)]) -> Result<()> {
    for (name, t) in others {
        params.same_device(t, op)?;
        if t.numel() != params.numel() {
            return Err(Error::shape(
                op,
                params.dims(),
                t.dims(),
                &format!("{name} must have as many elements as the parameters"),
            ));
        }
    }
    let all: Vec<(&str, &Tensor)> = std::iter::once(("params", params))
        .chain(others.iter().copied())
        .collect();
    for (i, (a, ta)) in all.iter().enumerate() {
        for (b, tb) in &all[i + 1..] {
            if ta.shares_buffer(tb) {
                return Err(invalid(
                    op,
                    format!("{a} and {b} share one buffer; pass separate tensors"),
                ));
            }
        }
    }
    Ok(())
}

fn check_step(op: &'static str, step: u64) -> Result<()> {
    if step == 0 {
        return Err(invalid(op, "steps count from 1".into()));
    }
    Ok(())
}

/// The kernels of [`adam_step_with`]; all give the same bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AdamKernel {
    /// [`AdamKernel::Texture`] on a CPU adapter, else [`AdamKernel::Vec4`], where the
    /// length and offsets allow; else [`AdamKernel::Scalar`]. `GAN_ADAM_KERNEL=scalar|vec4|
    /// texture` overrides the choice (for measurements).
    #[default]
    Auto,
    /// One parameter per invocation (`optim.wgsl`, `adam`): any length.
    Scalar,
    /// Four per invocation from storage buffers (`optim_vec4.wgsl`, `adam4`): lengths
    /// that are multiples of 4.
    Vec4,
    /// Four per invocation, the operands read from texture copies (`optim_vec4.wgsl`,
    /// `adam4_tex`): lavapipe's storage loads are per-lane loops, its texel fetches
    /// gathers. Lengths that are multiples of 4, offsets multiples of 4 elements.
    Texture,
}

/// One Adam or AdamW step (`step` counts from 1): updates `params`, `m` and `v` in place
/// from `grads`, in a single dispatch (on a CPU adapter, after copying the four operands
/// into textures).
pub fn adam_step(
    params: &Tensor,
    grads: &Tensor,
    m: &Tensor,
    v: &Tensor,
    cfg: &AdamConfig,
    step: u64,
) -> Result<()> {
    adam_step_with(params, grads, m, v, cfg, step, AdamKernel::Auto)
}

/// [`adam_step`] on a chosen kernel; where the length or offsets do not allow it, the next
/// one that they allow runs instead (texture, then vec4, then scalar).
pub fn adam_step_with(
    params: &Tensor,
    grads: &Tensor,
    m: &Tensor,
    v: &Tensor,
    cfg: &AdamConfig,
    step: u64,
    kernel: AdamKernel,
) -> Result<()> {
    let op = "adam_step";
    check_step(op, step)?;
    check_buffers(op, params, &[("grads", grads), ("m", m), ("v", v)])?;
    let AdamConfig {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        decoupled,
    } = *cfg;
    let ok = [lr, eps, weight_decay]
        .iter()
        .all(|x| x.is_finite() && *x >= 0.0)
        && (0.0..1.0).contains(&beta1)
        && (0.0..1.0).contains(&beta2);
    if !ok {
        return Err(invalid(
            op,
            format!("{cfg:?}: lr, eps and weight_decay must be finite and >= 0, betas in [0, 1)"),
        ));
    }
    let (lr64, b1, b2) = (lr as f64, beta1 as f64, beta2 as f64);
    let t = step as f64;
    let bc1 = 1.0 - b1.powf(t);
    let bc2 = 1.0 - b2.powf(t);
    let p = AdamParams {
        n: params.numel() as u32,
        decoupled: decoupled as u32,
        weight_decay,
        decay: (1.0 - lr64 * weight_decay as f64) as f32,
        one_minus_beta1: (1.0 - b1) as f32,
        beta2,
        one_minus_beta2: (1.0 - b2) as f32,
        eps,
        step_size: (lr64 / bc1) as f32,
        bc2_sqrt: bc2.sqrt() as f32,
        _pad: [0; 2],
    };
    let ctx = params.context();
    let n = params.numel();
    let vec4 = n > 0 && n.is_multiple_of(4);
    let texels = (n / 4) as u64;
    let texture_ok = vec4
        && texels <= ctx.max_texture_texels()
        && [params, grads, m, v]
            .iter()
            .all(|t| t.arg().offset.is_multiple_of(16));
    let kernel = match (kernel, std::env::var("GAN_ADAM_KERNEL").as_deref()) {
        (AdamKernel::Auto, Ok("scalar")) => AdamKernel::Scalar,
        (AdamKernel::Auto, Ok("vec4")) => AdamKernel::Vec4,
        (AdamKernel::Auto, Ok("texture")) => AdamKernel::Texture,
        (k, _) => k,
    };
    let kernel = match kernel {
        _ if !vec4 => AdamKernel::Scalar,
        AdamKernel::Auto if texture_ok && ctx.adapter().is_cpu() => AdamKernel::Texture,
        AdamKernel::Auto => AdamKernel::Vec4,
        AdamKernel::Texture if !texture_ok => AdamKernel::Vec4,
        k => k,
    };
    let outputs = [params.arg(), m.arg(), v.arg()];
    let launch = |family, entry, inputs, lanes: usize| Launch {
        family,
        entry,
        constants: &[],
        params: bytemuck::bytes_of(&p),
        inputs,
        outputs: &outputs,
        groups: ctx.grid(n.div_ceil(256 * lanes) as u64),
    };
    match kernel {
        AdamKernel::Texture => {
            let ops = [grads, params, m, v].map(|t| t.arg());
            let ops = ops.map(|a| (a.buf, a.offset, texels));
            ctx.dispatch_with_operands(launch(OPTIM_VEC4, "adam4_tex", &[], 4), &ops)
        }
        AdamKernel::Vec4 => ctx.dispatch(launch(OPTIM_VEC4, "adam4", &[grads.arg()], 4)),
        _ => ctx.dispatch(launch(OPTIM, "adam", &[grads.arg()], 1)),
    }
}

/// One SGD step (`step` counts from 1): updates `params` in place from `grads`, and the
/// momentum buffer `velocity` when `cfg.momentum` is not 0 (on step 1 the buffer is set
/// to the gradient, as PyTorch does for a fresh buffer). One dispatch.
pub fn sgd_step(
    params: &Tensor,
    grads: &Tensor,
    velocity: Option<&Tensor>,
    cfg: &SgdConfig,
    step: u64,
) -> Result<()> {
    let op = "sgd_step";
    check_step(op, step)?;
    let SgdConfig {
        lr,
        momentum,
        dampening,
        weight_decay,
        nesterov,
    } = *cfg;
    let ok = [lr, momentum, dampening, weight_decay]
        .iter()
        .all(|x| x.is_finite() && *x >= 0.0);
    if !ok {
        return Err(invalid(
            op,
            format!("{cfg:?}: hyperparameters must be finite and >= 0"),
        ));
    }
    if nesterov && (momentum == 0.0 || dampening != 0.0) {
        return Err(invalid(
            op,
            "Nesterov momentum requires a momentum and zero dampening".into(),
        ));
    }
    let p = SgdParams {
        n: params.numel() as u32,
        first: (step == 1) as u32,
        nesterov: nesterov as u32,
        _pad: 0,
        lr,
        momentum,
        one_minus_dampening: (1.0 - dampening as f64) as f32,
        weight_decay,
    };
    let ctx = params.context();
    let groups = ctx.grid(params.numel().div_ceil(256) as u64);
    if momentum == 0.0 {
        check_buffers(op, params, &[("grads", grads)])?;
        return ctx.dispatch(Launch {
            family: OPTIM,
            entry: "sgd",
            constants: &[],
            params: bytemuck::bytes_of(&p),
            inputs: &[grads.arg()],
            outputs: &[params.arg()],
            groups,
        });
    }
    let Some(velocity) = velocity else {
        return Err(invalid(
            op,
            format!("momentum {momentum} needs a velocity buffer"),
        ));
    };
    check_buffers(op, params, &[("grads", grads), ("velocity", velocity)])?;
    ctx.dispatch(Launch {
        family: OPTIM,
        entry: "sgd_momentum",
        constants: &[],
        params: bytemuck::bytes_of(&p),
        inputs: &[grads.arg()],
        outputs: &[params.arg(), velocity.arg()],
        groups,
    })
}

/// One exponential-moving-average update in one dispatch, in place:
/// `shadow = decay * shadow + (1 - decay) * param` elementwise (`1 - decay` is computed
/// in f64). `decay` must lie in [0, 1]: 0 copies `param`, 1 leaves `shadow` alone.
pub fn ema_update(shadow: &Tensor, param: &Tensor, decay: f64) -> Result<()> {
    let op = "ema_update";
    if !(0.0..=1.0).contains(&decay) {
        return Err(invalid(
            op,
            format!("decay = {decay} must be a number in [0, 1] (StyleGAN uses 0.999)"),
        ));
    }
    shadow.same_device(param, op)?;
    if param.numel() != shadow.numel() {
        return Err(Error::shape(
            op,
            shadow.dims(),
            param.dims(),
            "the parameters must have as many elements as the moving average",
        ));
    }
    if shadow.shares_buffer(param) {
        return Err(invalid(
            op,
            "the moving average and the parameters share one buffer; pass separate tensors".into(),
        ));
    }
    let p = EmaParams {
        n: shadow.numel() as u32,
        decay: decay as f32,
        one_minus_decay: (1.0 - decay) as f32,
        _pad: 0,
    };
    let ctx = shadow.context();
    let n = shadow.numel();
    let texels = (n / 4) as u64;
    let (pa, sa) = (param.arg(), shadow.arg());
    // On a CPU adapter, both operands from texture copies (see `AdamKernel::Texture`).
    let texture = ctx.adapter().is_cpu()
        && n > 0
        && n.is_multiple_of(4)
        && texels <= ctx.max_texture_texels()
        && pa.offset.is_multiple_of(16)
        && sa.offset.is_multiple_of(16)
        && std::env::var("GAN_ADAM_KERNEL").as_deref() != Ok("vec4");
    if texture {
        let launch = Launch {
            family: OPTIM_VEC4,
            entry: "ema4_tex",
            constants: &[],
            params: bytemuck::bytes_of(&p),
            inputs: &[],
            outputs: &[shadow.arg()],
            groups: ctx.grid(texels.div_ceil(256)),
        };
        return ctx.dispatch_with_operands(
            launch,
            &[(pa.buf, pa.offset, texels), (sa.buf, sa.offset, texels)],
        );
    }
    ctx.dispatch(Launch {
        family: OPTIM,
        entry: "ema",
        constants: &[],
        params: bytemuck::bytes_of(&p),
        inputs: &[pa],
        outputs: &[sa],
        groups: ctx.grid(n.div_ceil(256) as u64),
    })
}
