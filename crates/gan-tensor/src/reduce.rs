//! Launches `shaders/reduce.wgsl`: sum and mean along an axis, sum of all elements.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::REDUCE;
use crate::{Error, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    scale: f32,
}

const CHUNK: usize = 2048;

fn axis_reduce(
    x: &Tensor,
    axis: usize,
    keepdim: bool,
    mean: bool,
    into: Option<&Tensor>,
    accumulate: bool,
) -> Result<Tensor> {
    let op = if mean { "mean_axis" } else { "sum_axis" };
    let dims = x.dims();
    if axis >= dims.len() {
        return Err(Error::Invalid {
            op,
            msg: format!("axis {axis} out of range for shape {dims:?}"),
        });
    }
    let outer: usize = dims[..axis].iter().product();
    let len = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut out_dims = dims.to_vec();
    if keepdim || dims.len() == 1 {
        out_dims[axis] = 1;
    } else {
        out_dims.remove(axis);
    }
    let out = match into {
        Some(t) => {
            x.same_device(t, op)?;
            if t.numel() != outer * inner {
                return Err(Error::shape(
                    op,
                    t.dims(),
                    &out_dims,
                    "the output must hold the reduced shape's elements",
                ));
            }
            t.reshape(&out_dims)?
        }
        None => Tensor::uninit(x.context(), &out_dims)?,
    };
    let scale = if mean && len > 0 {
        1.0 / len as f32
    } else {
        1.0
    };
    let params = Params {
        outer: outer as u32,
        len: len as u32,
        inner: inner as u32,
        scale,
    };
    let ctx = x.context();
    ctx.dispatch(Launch {
        family: REDUCE,
        entry: "reduce_axis",
        constants: &[("ACCUMULATE", accumulate as u32 as f64)],
        params: bytemuck::bytes_of(&params),
        inputs: &[x.arg()],
        outputs: &[out.arg()],
        groups: ctx.grid((outer * inner).div_ceil(256) as u64),
    })?;
    Ok(out)
}

impl Tensor {
    /// Sum along `axis`; the axis is removed unless `keepdim` (a 1-D input gives shape `[1]`).
    pub fn sum_axis(&self, axis: usize, keepdim: bool) -> Result<Tensor> {
        axis_reduce(self, axis, keepdim, false, None, false)
    }

    /// [`Tensor::sum_axis`] written into `out` (as many elements as the sum has, any
    /// shape; e.g. a view of a flat gradient buffer) instead of a new tensor.
    pub fn sum_axis_into(&self, axis: usize, out: &Tensor) -> Result<()> {
        axis_reduce(self, axis, false, false, Some(out), false).map(|_| ())
    }

    /// [`Tensor::sum_axis`] added to `out` in the same pass (out = out + sum, the bits of
    /// a separate [`crate::elementwise::accumulate`] with alpha 1): a bias gradient's
    /// second term summed in place.
    pub fn sum_axis_add_into(&self, axis: usize, out: &Tensor) -> Result<()> {
        axis_reduce(self, axis, false, false, Some(out), true).map(|_| ())
    }

    /// Mean along `axis`; the axis is removed unless `keepdim`.
    pub fn mean_axis(&self, axis: usize, keepdim: bool) -> Result<Tensor> {
        axis_reduce(self, axis, keepdim, true, None, false)
    }

    /// Sum of all elements, as a tensor of shape `[1]` (stays on the GPU).
    pub fn sum_all(&self) -> Result<Tensor> {
        let ctx = self.context();
        let mut cur = self.reshape(&[self.numel()])?;
        if cur.numel() == 0 {
            return Tensor::zeros(ctx, &[1]);
        }
        loop {
            let n = cur.numel();
            let groups = n.div_ceil(CHUNK);
            let out = Tensor::uninit(ctx, &[groups])?;
            let params = Params {
                outer: 1,
                len: n as u32,
                inner: 1,
                scale: 1.0,
            };
            ctx.dispatch(Launch {
                family: REDUCE,
                entry: "sum_partial",
                constants: &[],
                params: bytemuck::bytes_of(&params),
                inputs: &[cur.arg()],
                outputs: &[out.arg()],
                groups: ctx.grid(groups as u64),
            })?;
            cur = out;
            if groups == 1 {
                return Ok(cur);
            }
        }
    }

    /// Mean of all elements, as a tensor of shape `[1]`.
    pub fn mean_all(&self) -> Result<Tensor> {
        let n = self.numel().max(1) as f32;
        self.sum_all()?.mul_scalar(1.0 / n)
    }

    /// Sums this tensor down to `shape` (the reverse of broadcasting `shape` to this
    /// tensor's shape): the gradient of a broadcast operand.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        let target = crate::Shape::for_op("sum_to", shape)?;
        let full = target.broadcast(self.shape(), "sum_to")?;
        if full.dims() != self.dims() {
            return Err(Error::shape(
                "sum_to",
                self.dims(),
                shape,
                "target must broadcast to the source",
            ));
        }
        let t4 = target.dims4();
        let mut cur = self.reshape(&self.shape().dims4())?;
        for (axis, &t) in t4.iter().enumerate() {
            if t == 1 && cur.dims()[axis] != 1 {
                cur = cur.sum_axis(axis, true)?;
            }
        }
        cur.reshape(shape)
    }
}
