//! Launches `shaders/bce.wgsl`: binary cross-entropy on logits with mean reduction (the
//! GAN loss), stable for any logit, and its gradient.
//!
//! loss = mean_i [max(x_i, 0) - x_i y_i + ln(1 + e^-|x_i|)], d loss / d x_i =
//! (sigmoid(x_i) - y_i) / n, as PyTorch's `BCEWithLogitsLoss(reduction="mean")`.

use bytemuck::{Pod, Zeroable};

use crate::context::{Arg, Launch};
use crate::shaders::BCE;
use crate::{Error, Result, Tensor};

/// The labels of a BCE loss: a tensor shaped like the logits, or one value for every
/// element (all-ones for "real", all-zeros for "fake", 0.9 for label smoothing).
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// One label per logit.
    Tensor(&'a Tensor),
    /// The same label for every logit, in [0, 1].
    Const(f32),
}

impl<'a> From<&'a Tensor> for Targets<'a> {
    fn from(t: &'a Tensor) -> Self {
        Targets::Tensor(t)
    }
}

impl From<f32> for Targets<'_> {
    fn from(v: f32) -> Self {
        Targets::Const(v)
    }
}

/// The upstream gradient d out / d loss that the BCE gradient is scaled by.
#[derive(Clone, Copy, Debug)]
pub enum GradScale<'a> {
    /// A host value (1.0 when the loss is the output).
    Host(f32),
    /// A `[1]` tensor on the GPU, e.g. from an autodiff tape.
    Tensor(&'a Tensor),
}

impl<'a> From<&'a Tensor> for GradScale<'a> {
    fn from(t: &'a Tensor) -> Self {
        GradScale::Tensor(t)
    }
}

impl From<f32> for GradScale<'_> {
    fn from(v: f32) -> Self {
        GradScale::Host(v)
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    label: f32,
    scale: f32,
    _pad: u32,
}

/// Checks the arguments; returns the constant label (0 for tensor targets).
fn check(op: &'static str, logits: &Tensor, targets: Targets) -> Result<f32> {
    if logits.numel() == 0 {
        return Err(Error::InvalidShape {
            op,
            msg: format!(
                "logits {:?} are empty; the mean over no elements is undefined",
                logits.dims()
            ),
        });
    }
    match targets {
        Targets::Tensor(t) => {
            logits.same_device(t, op)?;
            if t.dims() != logits.dims() {
                return Err(Error::shape(
                    op,
                    logits.dims(),
                    t.dims(),
                    "targets must have the shape of the logits",
                ));
            }
            Ok(0.0)
        }
        Targets::Const(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Targets::Const(v) => Err(Error::Invalid {
            op,
            msg: format!("constant target {v} is outside [0, 1]"),
        }),
    }
}

fn launch(
    entry: &'static str,
    logits: &Tensor,
    label: f32,
    scale: f32,
    inputs: &[Arg],
    out: &Tensor,
) -> Result<()> {
    let n = logits.numel();
    let params = Params {
        n: n as u32,
        label,
        scale,
        _pad: 0,
    };
    let ctx = logits.context();
    ctx.dispatch(Launch {
        family: BCE,
        entry,
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs,
        outputs: &[out.arg()],
        groups: ctx.grid(n.div_ceil(256) as u64),
    })
}

/// Mean binary cross-entropy of `logits` against `targets`, as a `[1]` tensor on the GPU.
pub fn bce_with_logits_loss(logits: &Tensor, targets: Targets) -> Result<Tensor> {
    let label = check("bce_with_logits", logits, targets)?;
    let n = logits.numel();
    // Each element's loss pre-scaled by 1/n, then one tree sum gives the mean.
    let per = Tensor::uninit(logits.context(), &[n])?;
    let scale = (1.0 / n as f64) as f32;
    match targets {
        Targets::Tensor(t) => launch("loss_t", logits, 0.0, scale, &[logits.arg(), t.arg()], &per)?,
        Targets::Const(_) => launch("loss_c", logits, label, scale, &[logits.arg()], &per)?,
    }
    per.sum_all()
}

/// Mean binary cross-entropy of `logits` against a tensor of labels in [0, 1].
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    bce_with_logits_loss(logits, Targets::Tensor(targets))
}

/// Mean binary cross-entropy of `logits` against one label for every element.
pub fn bce_with_logits_const(logits: &Tensor, target: f32) -> Result<Tensor> {
    bce_with_logits_loss(logits, Targets::Const(target))
}

/// Gradient of the mean loss with respect to the logits, times `grad`:
/// (sigmoid(x) - y) * grad / n, shaped like the logits.
pub fn bce_with_logits_backward(
    logits: &Tensor,
    targets: Targets,
    grad: GradScale,
) -> Result<Tensor> {
    let op = "bce_with_logits_backward";
    let label = check(op, logits, targets)?;
    let inv_n = 1.0 / logits.numel() as f64;
    let dx = Tensor::uninit(logits.context(), logits.dims())?;
    let x = logits.arg();
    match grad {
        GradScale::Host(g) => {
            let scale = (g as f64 * inv_n) as f32;
            match targets {
                Targets::Tensor(t) => launch("grad_t", logits, 0.0, scale, &[x, t.arg()], &dx)?,
                Targets::Const(_) => launch("grad_c", logits, label, scale, &[x], &dx)?,
            }
        }
        GradScale::Tensor(s) => {
            logits.same_device(s, op)?;
            if s.numel() != 1 {
                return Err(Error::InvalidShape {
                    op,
                    msg: format!("upstream gradient {:?} must hold one value", s.dims()),
                });
            }
            let scale = inv_n as f32;
            match targets {
                Targets::Tensor(t) => {
                    launch("grad_ts", logits, 0.0, scale, &[x, t.arg(), s.arg()], &dx)?
                }
                Targets::Const(_) => launch("grad_cs", logits, label, scale, &[x, s.arg()], &dx)?,
            }
        }
    }
    Ok(dx)
}

impl Tensor {
    /// Mean binary cross-entropy of these logits against `targets` (a `[1]` tensor).
    pub fn bce_with_logits<'a>(&self, targets: impl Into<Targets<'a>>) -> Result<Tensor> {
        bce_with_logits_loss(self, targets.into())
    }
}
