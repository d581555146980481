//! Launches `shaders/embedding.wgsl`: the row lookup of PyTorch's `nn.Embedding` and
//! its gradient with respect to the table (class-conditional GANs: Mirza & Osindero
//! 2014; Miyato & Koyama 2018).

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::EMBEDDING;
use crate::{Error, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    items: u32,
    num: u32,
    dim: u32,
    _pad: u32,
}

fn check(op: &'static str, table: &Tensor, labels: &Tensor) -> Result<(usize, usize, usize)> {
    table.same_device(labels, op)?;
    let [num, dim] = match table.dims() {
        [n, d] if *n > 0 && *d > 0 => [*n, *d],
        d => {
            return Err(Error::InvalidShape {
                op,
                msg: format!("the table is {d:?}; expected [num, dim] with num, dim > 0"),
            })
        }
    };
    match labels.dims() {
        [items] => Ok((*items, num, dim)),
        d => Err(Error::InvalidShape {
            op,
            msg: format!("labels are {d:?}; expected [items] (class indices as f32)"),
        }),
    }
}

/// Rows `labels` of `weight` [num, dim]: `[items, dim]`. `labels` is `[items]`, class
/// indices stored as f32; a label outside [0, num) gives a row of zeros (check the range
/// on the host, as gan-nn's `Embedding` does).
pub fn embedding(weight: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (items, num, dim) = check("embedding", weight, labels)?;
    let ctx = weight.context();
    if items == 0 {
        return Tensor::zeros(ctx, &[0, dim]);
    }
    let out = Tensor::uninit(ctx, &[items, dim])?;
    let params = Params {
        items: items as u32,
        num: num as u32,
        dim: dim as u32,
        _pad: 0,
    };
    ctx.dispatch(Launch {
        family: EMBEDDING,
        entry: "embedding_gather",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[weight.arg(), labels.arg()],
        outputs: &[out.arg()],
        groups: ctx.grid((items * dim).div_ceil(64) as u64),
    })?;
    Ok(out)
}

/// Gradient of [`embedding`] with respect to a table of `num` rows: row c is the sum of
/// the rows of `grad` `[items, dim]` whose label is c (in batch order; deterministic).
pub fn embedding_backward(grad: &Tensor, labels: &Tensor, num: usize) -> Result<Tensor> {
    let op = "embedding_backward";
    grad.same_device(labels, op)?;
    let (items, dim) = match grad.dims() {
        [i, d] if *d > 0 => (*i, *d),
        d => {
            return Err(Error::InvalidShape {
                op,
                msg: format!("the gradient is {d:?}; expected [items, dim] with dim > 0"),
            })
        }
    };
    if labels.dims() != [items] {
        return Err(Error::shape(
            op,
            grad.dims(),
            labels.dims(),
            "labels must be [items], one per gradient row",
        ));
    }
    if num == 0 {
        return Err(Error::Invalid {
            op,
            msg: "a table of 0 rows has no gradient; give num >= 1".into(),
        });
    }
    let ctx = grad.context();
    if items == 0 {
        return Tensor::zeros(ctx, &[num, dim]);
    }
    let out = Tensor::uninit(ctx, &[num, dim])?;
    let params = Params {
        items: items as u32,
        num: num as u32,
        dim: dim as u32,
        _pad: 0,
    };
    ctx.dispatch(Launch {
        family: EMBEDDING,
        entry: "embedding_backward",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[grad.arg(), labels.arg()],
        outputs: &[out.arg()],
        groups: ctx.grid((num * dim).div_ceil(64) as u64),
    })?;
    Ok(out)
}
