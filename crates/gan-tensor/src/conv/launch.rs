//! Records the kernels of conv.wgsl for a [`Geometry`]: its uniform and the dispatch over
//! the output tensor.

use bytemuck::{Pod, Zeroable};

use super::geometry::Geometry;
use crate::context::{Arg, Launch};
use crate::shaders::CONV;
use crate::{Result, Tensor};

/// The uniform of conv.wgsl (64 bytes, all u32).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    oh: u32,
    ow: u32,
    total: u32,
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    kp: u32,
    cp: u32,
}

impl Geometry {
    /// Records one kernel of conv.wgsl writing all of `out` (`total` = its elements).
    pub(super) fn launch(&self, entry: &'static str, inputs: &[Arg], out: &Tensor) -> Result<()> {
        self.launch_layout(entry, inputs, out, self.kp(), self.cout)
    }

    /// [`Geometry::launch`] of `entry` over `inputs`, or of `entry_bias` over `inputs` and
    /// `bias` when there is one.
    pub(super) fn launch_bias(
        &self,
        (entry, entry_bias): (&'static str, &'static str),
        inputs: &[&Tensor],
        bias: Option<&Tensor>,
        out: &Tensor,
    ) -> Result<()> {
        let args: Vec<Arg> = inputs
            .iter()
            .chain(bias.as_ref())
            .map(|t| t.arg())
            .collect();
        self.launch(if bias.is_some() { entry_bias } else { entry }, &args, out)
    }

    /// [`Geometry::launch`] with the row lengths of the column matrix (`kp`) and of the
    /// channel-last matrix (`cp`) that the im2col layout kernels use.
    pub(super) fn launch_layout(
        &self,
        entry: &'static str,
        inputs: &[Arg],
        out: &Tensor,
        kp: usize,
        cp: usize,
    ) -> Result<()> {
        self.launch_units(entry, inputs, out, out.numel(), (kp, cp))
    }

    /// Records `entry` with `units` invocations (`total` in the uniform), for the layout
    /// kernels that write a whole row or channel each; `(kp, cp)` as in `launch_layout`.
    pub(super) fn launch_units(
        &self,
        entry: &'static str,
        inputs: &[Arg],
        out: &Tensor,
        units: usize,
        (kp, cp): (usize, usize),
    ) -> Result<()> {
        let u = |v: usize| v as u32; // every value was bounded by `check` or a tensor size
        let total = units;
        let params = Params {
            n: u(self.n),
            cin: u(self.cin),
            h: u(self.h),
            w: u(self.w),
            cout: u(self.cout),
            oh: u(self.oh),
            ow: u(self.ow),
            total: u(total),
            kh: u(self.kh),
            kw: u(self.kw),
            sh: u(self.p.stride.0),
            sw: u(self.p.stride.1),
            ph: u(self.p.padding.0),
            pw: u(self.p.padding.1),
            kp: u(kp),
            cp: u(cp),
        };
        let ctx = out.context();
        ctx.dispatch(Launch {
            family: CONV,
            entry,
            constants: &[],
            params: bytemuck::bytes_of(&params),
            inputs,
            outputs: &[out.arg()],
            groups: ctx.grid(total.div_ceil(64) as u64),
        })
    }
}
