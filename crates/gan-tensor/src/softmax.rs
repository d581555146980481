//! Launches `shaders/softmax.wgsl`: row softmax and the cross-entropy of class labels
//! (PyTorch's `CrossEntropyLoss`, mean over the batch), used by classifiers such as the
//! MNIST feature network.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::SOFTMAX;
use crate::{Error, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    rows: u32,
    classes: u32,
    scale: f32,
    _pad: u32,
}

fn rows_classes(op: &'static str, logits: &Tensor) -> Result<(usize, usize)> {
    match logits.dims() {
        [r, c] if *c > 0 => Ok((*r, *c)),
        d => Err(Error::InvalidShape {
            op,
            msg: format!("logits are {d:?}; expected [rows, classes] with classes > 0"),
        }),
    }
}

fn check_labels(op: &'static str, logits: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    let (r, c) = rows_classes(op, logits)?;
    logits.same_device(labels, op)?;
    if labels.dims() != [r] {
        return Err(Error::shape(
            op,
            logits.dims(),
            labels.dims(),
            "labels must be [rows]",
        ));
    }
    if r == 0 {
        return Err(Error::Invalid {
            op,
            msg: "an empty batch has no mean loss".into(),
        });
    }
    Ok((r, c))
}

/// Softmax of each row of [rows, classes] logits.
pub fn softmax(logits: &Tensor) -> Result<Tensor> {
    let (r, c) = rows_classes("softmax", logits)?;
    let ctx = logits.context();
    let y = Tensor::uninit(ctx, logits.dims())?;
    let params = Params {
        rows: r as u32,
        classes: c as u32,
        scale: 1.0,
        _pad: 0,
    };
    ctx.dispatch(Launch {
        family: SOFTMAX,
        entry: "softmax_rows",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[logits.arg()],
        outputs: &[y.arg()],
        groups: ctx.grid(r.div_ceil(64) as u64),
    })?;
    Ok(y)
}

/// Mean cross-entropy of `[rows, classes]` logits against class labels (`[rows]`, class
/// indices stored as f32; out-of-range labels are the caller's error: check on the host),
/// as a `[1]` tensor.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (r, c) = check_labels("cross_entropy", logits, labels)?;
    let ctx = logits.context();
    let per_row = Tensor::uninit(ctx, &[r])?;
    let params = Params {
        rows: r as u32,
        classes: c as u32,
        scale: 1.0 / r as f32,
        _pad: 0,
    };
    ctx.dispatch(Launch {
        family: SOFTMAX,
        entry: "ce_loss",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[logits.arg(), labels.arg()],
        outputs: &[per_row.arg()],
        groups: ctx.grid(r.div_ceil(64) as u64),
    })?;
    per_row.sum_all()
}

/// Gradient of [`cross_entropy`] with respect to the logits, times the upstream gradient
/// `upstream` (a `[1]` tensor).
pub fn cross_entropy_backward(
    logits: &Tensor,
    labels: &Tensor,
    upstream: &Tensor,
) -> Result<Tensor> {
    let op = "cross_entropy_backward";
    let (r, c) = check_labels(op, logits, labels)?;
    if upstream.numel() != 1 {
        return Err(Error::shape(
            op,
            upstream.dims(),
            &[1],
            "the upstream gradient is one value",
        ));
    }
    let ctx = logits.context();
    let dx = Tensor::uninit(ctx, logits.dims())?;
    let params = Params {
        rows: r as u32,
        classes: c as u32,
        scale: 1.0 / r as f32,
        _pad: 0,
    };
    ctx.dispatch(Launch {
        family: SOFTMAX,
        entry: "ce_grad",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[logits.arg(), labels.arg(), upstream.arg()],
        outputs: &[dx.arg()],
        groups: ctx.grid(r.div_ceil(64) as u64),
    })?;
    Ok(dx)
}
