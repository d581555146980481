//! Launches `shaders/maxout.wgsl`: the max over groups of `pieces` consecutive values
//! along the last dimension (Goodfellow et al. 2013, "Maxout Networks", eq. 1), and its
//! backward.
//!
//! Layout: for x `[.., U * P]` the output is `[.., U]` and unit u takes the max of
//! columns `u * P .. u * P + P - 1` (Blocks' `Maxout` brick, `blocks/bricks/simple.py`:
//! reshape to `[.., U, P]`, max over the last axis; PacGAN's 2-D discriminators use it
//! through `LinearMaxout`). The backward routes each output's gradient to the first piece
//! that holds the maximum and gives the other pieces 0.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::MAXOUT;
use crate::{Error, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    groups: u32,
    pieces: u32,
    _pad0: u32,
    _pad1: u32,
}

/// The output dims of a maxout over `pieces` of x: x's dims with the last one divided by
/// `pieces`.
fn out_dims(op: &'static str, x: &Tensor, pieces: usize) -> Result<Vec<usize>> {
    let d = x.dims();
    let last = *d.last().expect("a tensor has at least one dimension");
    if pieces == 0 || !last.is_multiple_of(pieces) {
        return Err(Error::InvalidShape {
            op,
            msg: format!(
                "x is {d:?} and pieces = {pieces}; pieces must be at least 1 and divide the \
                 last dimension ({last}) into units of `pieces` consecutive values"
            ),
        });
    }
    if u32::try_from(x.numel()).is_err() {
        return Err(Error::InvalidShape {
            op,
            msg: format!("x {d:?} has more than 2^32 - 1 values; the kernel indexes with u32"),
        });
    }
    let mut out = d.to_vec();
    *out.last_mut().unwrap() = last / pieces;
    Ok(out)
}

fn params(groups: usize, pieces: usize) -> Params {
    Params {
        groups: groups as u32,
        pieces: pieces as u32,
        _pad0: 0,
        _pad1: 0,
    }
}

/// Maxout of x over groups of `pieces` consecutive values of its last dimension:
/// `[.., U * pieces]` -> `[.., U]`, `y[.., u] = max_k x[.., u * pieces + k]`.
pub fn maxout(x: &Tensor, pieces: usize) -> Result<Tensor> {
    let dims = out_dims("maxout", x, pieces)?;
    let ctx = x.context();
    let y = Tensor::uninit_for("maxout", ctx, &dims)?;
    let groups = y.numel();
    ctx.dispatch(Launch {
        family: MAXOUT,
        entry: "forward",
        constants: &[],
        params: bytemuck::bytes_of(&params(groups, pieces)),
        inputs: &[x.arg()],
        outputs: &[y.arg()],
        groups: ctx.grid(groups.div_ceil(256) as u64),
    })?;
    Ok(y)
}

/// Gradient of [`maxout`] with respect to x, from the forward input `x` and the upstream
/// gradient `dy` (shaped like the output): `dy` goes to the first piece of each group that
/// holds the maximum, 0 to the others.
pub fn maxout_backward(x: &Tensor, dy: &Tensor, pieces: usize) -> Result<Tensor> {
    let op = "maxout_backward";
    let dims = out_dims(op, x, pieces)?;
    x.same_device(dy, op)?;
    if dy.dims() != dims.as_slice() {
        return Err(Error::shape(
            op,
            dy.dims(),
            &dims,
            &format!(
                "dy must be shaped like the maxout of x {:?} over {pieces} pieces",
                x.dims()
            ),
        ));
    }
    let ctx = x.context();
    let dx = Tensor::uninit_for(op, ctx, x.dims())?;
    let groups = dy.numel();
    ctx.dispatch(Launch {
        family: MAXOUT,
        entry: "backward",
        constants: &[],
        params: bytemuck::bytes_of(&params(groups, pieces)),
        inputs: &[x.arg(), dy.arg()],
        outputs: &[dx.arg()],
        groups: ctx.grid(groups.div_ceil(256) as u64),
    })?;
    Ok(dx)
}
