//! The tensor: f32, row-major, 1 to 4 dimensions, living in a pooled GPU buffer.

use std::sync::Arc;

use crate::context::{Arg, Context};
use crate::pool::PoolBuffer;
use crate::shape::Shape;
use crate::{Error, Result};

/// An f32 tensor on the GPU. Cloning is cheap and shares the buffer; operations return
/// new tensors (the buffer of a dropped tensor goes back to the pool).
#[derive(Clone)]
pub struct Tensor {
    ctx: Context,
    buf: Arc<PoolBuffer>,
    /// Where this tensor starts in the buffer, in elements (non-zero for views).
    offset: usize,
    shape: Shape,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}", self.shape)
    }
}

fn bytes_of(n: usize) -> u64 {
    n as u64 * 4
}

impl Tensor {
    /// Uploads `data` as a tensor of `shape`; the lengths must agree.
    pub fn from_slice(ctx: &Context, data: &[f32], shape: &[usize]) -> Result<Tensor> {
        let shape = Shape::for_op("from_slice", shape)?;
        if shape.numel() != data.len() {
            return Err(Error::InvalidShape {
                op: "from_slice",
                msg: format!(
                    "{} values given for shape {:?}, which holds {}",
                    data.len(),
                    shape,
                    shape.numel()
                ),
            });
        }
        let buf = ctx.upload(bytemuck::cast_slice(data), shape.dims())?;
        Ok(Tensor {
            ctx: ctx.clone(),
            buf: Arc::new(buf),
            offset: 0,
            shape,
        })
    }

    /// A tensor whose contents are not yet defined; every kernel writes its whole output.
    pub(crate) fn uninit(ctx: &Context, shape: &[usize]) -> Result<Tensor> {
        Tensor::uninit_for("alloc", ctx, shape)
    }

    /// [`Tensor::uninit`] with a shape error naming `op`.
    pub(crate) fn uninit_for(op: &'static str, ctx: &Context, shape: &[usize]) -> Result<Tensor> {
        let shape = Shape::for_op(op, shape)?;
        let buf = ctx.alloc(bytes_of(shape.numel()), shape.dims())?;
        Ok(Tensor {
            ctx: ctx.clone(),
            buf: Arc::new(buf),
            offset: 0,
            shape,
        })
    }

    /// Reads the tensor back to the host (submits pending work and waits for it).
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        let bytes = self
            .ctx
            .read(&self.buf, bytes_of(self.offset), bytes_of(self.numel()))?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// The same data under another shape with as many elements (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let new = Shape::for_op("reshape", shape)?;
        if new.numel() != self.numel() {
            return Err(Error::shape(
                "reshape",
                self.dims(),
                shape,
                "element counts differ",
            ));
        }
        Ok(Tensor {
            ctx: self.ctx.clone(),
            buf: self.buf.clone(),
            offset: self.offset,
            shape: new,
        })
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The device the tensor lives on.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// True when both tensors share one GPU buffer (a reshape or clone of each other).
    pub fn shares_buffer(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }

    /// This tensor as a storage binding of its exact size.
    pub(crate) fn arg(&self) -> Arg<'_> {
        Arg {
            buf: &self.buf,
            offset: bytes_of(self.offset),
            bytes: bytes_of(self.numel()),
        }
    }

    /// This tensor bound with its byte size rounded up to `multiple` (for kernels that
    /// read vec4s). The pool's size classes are multiples of 16 bytes and views start at
    /// aligned offsets, so the rounded range stays inside the buffer; the extra elements
    /// are never used by the kernel's results.
    pub(crate) fn arg_padded(&self, multiple: u64) -> Arg<'_> {
        Arg {
            buf: &self.buf,
            offset: bytes_of(self.offset),
            bytes: bytes_of(self.numel()).max(1).next_multiple_of(multiple),
        }
    }

    /// Checks that `other` lives on the same device.
    pub fn same_device(&self, other: &Tensor, op: &'static str) -> Result<()> {
        if self.ctx.same(&other.ctx) {
            Ok(())
        } else {
            Err(Error::DeviceMismatch { op })
        }
    }

    /// Checks that `other` has exactly this shape.
    pub fn same_shape(&self, other: &Tensor, op: &'static str) -> Result<()> {
        self.same_device(other, op)?;
        if self.dims() == other.dims() {
            Ok(())
        } else {
            Err(Error::shape(op, self.dims(), other.dims(), ""))
        }
    }

    /// A view of `dims` starting `offset` elements into this tensor, sharing its buffer
    /// (how a model's parameters live in one flat buffer that one optimizer dispatch
    /// updates). The start must be a multiple of [`Context::view_alignment`] elements.
    pub fn view(&self, offset: usize, dims: &[usize]) -> Result<Tensor> {
        let shape = Shape::for_op("view", dims)?;
        if offset
            .checked_add(shape.numel())
            .is_none_or(|end| end > self.numel())
        {
            return Err(Error::shape(
                "view",
                self.dims(),
                dims,
                &format!("a view at offset {offset} must fit inside the tensor"),
            ));
        }
        let align = self.ctx.view_alignment();
        if !(self.offset + offset).is_multiple_of(align) {
            return Err(Error::Invalid {
                op: "view",
                msg: format!(
                    "offset {} is not a multiple of {align} elements, this adapter's storage \
                     binding alignment",
                    self.offset + offset
                ),
            });
        }
        Ok(Tensor {
            ctx: self.ctx.clone(),
            buf: self.buf.clone(),
            offset: self.offset + offset,
            shape,
        })
    }

    /// A copy in a new buffer.
    pub fn copy(&self) -> Result<Tensor> {
        let out = Tensor::uninit(&self.ctx, self.dims())?;
        let n = bytes_of(self.numel());
        self.ctx
            .copy(&self.buf, bytes_of(self.offset), out.buf.raw(), 0, n);
        Ok(out)
    }

    /// Overwrites this tensor's contents with `src` (same shape), in order with the kernels.
    pub fn assign(&self, src: &Tensor) -> Result<()> {
        self.same_shape(src, "assign")?;
        let n = bytes_of(self.numel());
        let (from, to) = (bytes_of(src.offset), bytes_of(self.offset));
        self.ctx.copy(&src.buf, from, self.buf.raw(), to, n);
        Ok(())
    }
}
