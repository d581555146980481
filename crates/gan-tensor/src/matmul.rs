//! Launches `shaders/matmul.wgsl`: C = act(op(A) x op(B) + bias) with op in {identity,
//! transpose}. Two variants: `matmul_regblock` (barrier-free register blocks, best on CPU
//! adapters such as lavapipe) and `matmul_tiled` (workgroup-memory tiles, for GPUs).
//! The variant is chosen per adapter; `GAN_MATMUL_KERNEL=regblock|tiled` overrides it.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::MATMUL;
use crate::{Error, Result, Tensor};

/// The activation fused into the matmul epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// max(x, 0)
    Relu,
    /// x if x > 0 else alpha * x
    LeakyRelu(f32),
    /// tanh(x)
    Tanh,
    /// The logistic sigmoid.
    Sigmoid,
}

impl Activation {
    fn code(self) -> (u32, f32) {
        match self {
            Activation::None => (0, 0.0),
            Activation::Relu => (1, 0.0),
            Activation::LeakyRelu(a) => (2, a),
            Activation::Tanh => (3, 0.0),
            Activation::Sigmoid => (4, 0.0),
        }
    }
}

/// Which kernel computes the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// Barrier-free register-blocked kernel (CPU adapters).
    RegBlock,
    /// Workgroup-memory tiled kernel (GPUs).
    Tiled,
}

impl MatmulKernel {
    /// All variants, for tests and benchmarks.
    pub const ALL: [MatmulKernel; 2] = [MatmulKernel::RegBlock, MatmulKernel::Tiled];

    fn entry(self) -> &'static str {
        match self {
            MatmulKernel::RegBlock => "matmul_regblock",
            MatmulKernel::Tiled => "matmul_tiled",
        }
    }

    /// Rows and columns of C covered by one workgroup.
    fn tile(self) -> (usize, usize) {
        match self {
            MatmulKernel::RegBlock => REGBLOCK_TILE,
            MatmulKernel::Tiled => TILED_TILE,
        }
    }

    /// The variant for an adapter: register blocks on CPU adapters, tiles on GPUs.
    pub fn for_adapter(ctx: &crate::Context) -> MatmulKernel {
        match std::env::var("GAN_MATMUL_KERNEL").as_deref() {
            Ok("regblock") => MatmulKernel::RegBlock,
            Ok("tiled") => MatmulKernel::Tiled,
            _ if ctx.adapter().is_cpu() => MatmulKernel::RegBlock,
            _ => MatmulKernel::Tiled,
        }
    }
}

// (rows, cols) of C per workgroup; must match the shader.
const REGBLOCK_TILE: (usize, usize) = (32, 32);
const TILED_TILE: (usize, usize) = (64, 64);

/// Options of [`matmul_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MatmulOptions<'a> {
    /// A is stored [K, M] and used transposed.
    pub trans_a: bool,
    /// B is stored [N, K] and used transposed.
    pub trans_b: bool,
    /// Added to every row of C: shape [N].
    pub bias: Option<&'a Tensor>,
    /// Applied last.
    pub activation: Activation,
    /// Force a kernel variant (None: chosen for the adapter).
    pub kernel: Option<MatmulKernel>,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    trans_a: u32,
    trans_b: u32,
    epilogue: u32,
    alpha: f32,
    has_bias: u32,
}

/// C = act(op(A) x op(B) + bias) for 2-D A and B.
pub fn matmul_with(a: &Tensor, b: &Tensor, o: MatmulOptions) -> Result<Tensor> {
    a.same_device(b, "matmul")?;
    if a.shape().rank() != 2 || b.shape().rank() != 2 {
        return Err(Error::shape(
            "matmul",
            a.dims(),
            b.dims(),
            "both operands must be 2-D",
        ));
    }
    let (m, k) = if o.trans_a {
        (a.dims()[1], a.dims()[0])
    } else {
        (a.dims()[0], a.dims()[1])
    };
    let (kb, n) = if o.trans_b {
        (b.dims()[1], b.dims()[0])
    } else {
        (b.dims()[0], b.dims()[1])
    };
    if k != kb {
        return Err(Error::shape(
            "matmul",
            a.dims(),
            b.dims(),
            &format!(
                "inner dimensions differ ({k} vs {kb}; trans_a={}, trans_b={})",
                o.trans_a, o.trans_b
            ),
        ));
    }
    if let Some(bias) = o.bias {
        a.same_device(bias, "matmul bias")?;
        if bias.numel() != n {
            return Err(Error::shape(
                "matmul bias",
                bias.dims(),
                &[n],
                "bias must have N elements",
            ));
        }
    }
    let ctx = a.context();
    let out = Tensor::uninit(ctx, &[m, n])?;
    if m * n == 0 {
        return Ok(out);
    }
    if k == 0 {
        // An empty sum: C = act(bias) or act(0).
        let zero = Tensor::zeros(ctx, &[m, n])?;
        let with_bias = match o.bias {
            Some(bias) => zero.add(&bias.reshape(&[n])?)?,
            None => zero,
        };
        return apply(&with_bias, o.activation);
    }
    let kernel = o.kernel.unwrap_or_else(|| MatmulKernel::for_adapter(ctx));
    let (code, alpha) = o.activation.code();
    let params = Params {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        trans_a: o.trans_a as u32,
        trans_b: o.trans_b as u32,
        epilogue: code,
        alpha,
        has_bias: o.bias.is_some() as u32,
    };
    let (tm, tn) = kernel.tile();
    let (gx, gy) = (n.div_ceil(tn), m.div_ceil(tm));
    if gx > 65535 || gy > 65535 {
        return Err(Error::Invalid {
            op: "matmul",
            msg: format!(
                "[{m}, {n}] output needs a {gx} x {gy} workgroup grid; at most 65535 per side"
            ),
        });
    }
    // With no bias, A is bound in its place (the shader reads bias only if has_bias).
    let bias_arg = o.bias.unwrap_or(a).arg();
    ctx.dispatch(Launch {
        family: MATMUL,
        entry: kernel.entry(),
        constants: &[
            ("TRANS_A", o.trans_a as u32 as f64),
            ("TRANS_B", o.trans_b as u32 as f64),
        ],
        params: bytemuck::bytes_of(&params),
        inputs: &[a.arg(), b.arg(), bias_arg],
        outputs: &[out.arg()],
        groups: [gx as u32, gy as u32, 1],
    })?;
    Ok(out)
}

fn apply(x: &Tensor, act: Activation) -> Result<Tensor> {
    use crate::elementwise::{unary, Unary};
    match act {
        Activation::None => Ok(x.clone()),
        Activation::Relu => unary(x, Unary::Relu),
        Activation::LeakyRelu(a) => unary(x, Unary::LeakyRelu(a)),
        Activation::Tanh => unary(x, Unary::Tanh),
        Activation::Sigmoid => unary(x, Unary::Sigmoid),
    }
}

impl Tensor {
    /// The matrix product self x other of 2-D tensors.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        matmul_with(self, other, MatmulOptions::default())
    }
}
