//! Launches `shaders/elementwise.wgsl`: unary maps, broadcasting binary maps, activation
//! backwards and fill.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::ops;
use crate::shaders::ELEMENTWISE;
use crate::{Context, Result, Tensor};

/// Elementwise functions of one tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    /// max(x, 0)
    Relu,
    /// x if x > 0 else alpha * x
    LeakyRelu(f32),
    /// tanh(x), computed without overflow
    Tanh,
    /// 1 / (1 + exp(-x)), computed without overflow
    Sigmoid,
    /// exp(x)
    Exp,
    /// ln(x)
    Log,
    /// x * scale + shift (scalar mul and scalar add)
    Affine {
        /// multiplier
        scale: f32,
        /// addend
        shift: f32,
    },
    /// sqrt(x)
    Sqrt,
    /// x * x
    Square,
    /// |x|
    Abs,
}

impl Unary {
    fn code(self) -> (u32, f32, f32) {
        match self {
            Unary::Relu => (ops::unary::RELU, 0.0, 0.0),
            Unary::LeakyRelu(a) => (ops::unary::LEAKY_RELU, a, 0.0),
            Unary::Tanh => (ops::unary::TANH, 0.0, 0.0),
            Unary::Sigmoid => (ops::unary::SIGMOID, 0.0, 0.0),
            Unary::Exp => (ops::unary::EXP, 0.0, 0.0),
            Unary::Log => (ops::unary::LOG, 0.0, 0.0),
            Unary::Affine { scale, shift } => (ops::unary::AFFINE, scale, shift),
            Unary::Sqrt => (ops::unary::SQRT, 0.0, 0.0),
            Unary::Square => (ops::unary::SQUARE, 0.0, 0.0),
            Unary::Abs => (ops::unary::ABS, 0.0, 0.0),
        }
    }
}

/// Elementwise functions of two tensors (with broadcasting), including the backward of
/// each activation: for those the first operand is the forward input x (ReLU, LeakyReLU)
/// or the forward output y (tanh, sigmoid), and the second is the incoming gradient dy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Binary {
    /// a + b
    Add,
    /// a - b
    Sub,
    /// a * b
    Mul,
    /// a / b
    Div,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// dy where x > 0, else 0
    ReluBackward,
    /// dy where x > 0, else alpha * dy
    LeakyReluBackward(f32),
    /// dy * (1 - y^2)
    TanhBackward,
    /// dy * y * (1 - y)
    SigmoidBackward,
}

impl Binary {
    fn code(self) -> (u32, f32) {
        match self {
            Binary::Add => (ops::binary::ADD, 0.0),
            Binary::Sub => (ops::binary::SUB, 0.0),
            Binary::Mul => (ops::binary::MUL, 0.0),
            Binary::Div => (ops::binary::DIV, 0.0),
            Binary::Max => (ops::binary::MAX, 0.0),
            Binary::Min => (ops::binary::MIN, 0.0),
            Binary::ReluBackward => (ops::binary::RELU_BACKWARD, 0.0),
            Binary::LeakyReluBackward(a) => (ops::binary::LEAKY_RELU_BACKWARD, a),
            Binary::TanhBackward => (ops::binary::TANH_BACKWARD, 0.0),
            Binary::SigmoidBackward => (ops::binary::SIGMOID_BACKWARD, 0.0),
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    broadcast: u32,
    alpha: f32,
    beta: f32,
    out_shape: [u32; 4],
    a_strides: [u32; 4],
    b_strides: [u32; 4],
}

impl Params {
    fn flat(n: usize, alpha: f32, beta: f32) -> Self {
        Params {
            n: n as u32,
            broadcast: 0,
            alpha,
            beta,
            out_shape: [1; 4],
            a_strides: [0; 4],
            b_strides: [0; 4],
        }
    }
}

/// Applies `op` to every element.
pub fn unary(x: &Tensor, op: Unary) -> Result<Tensor> {
    let out = Tensor::uninit(x.context(), x.dims())?;
    let (code, alpha, beta) = op.code();
    let params = Params::flat(x.numel(), alpha, beta);
    let ctx = x.context();
    let vec4 = x.numel() > 0 && x.numel().is_multiple_of(4); // four elements per invocation
    ctx.dispatch(Launch {
        family: ELEMENTWISE,
        entry: if vec4 { "unary4" } else { "unary" },
        constants: &[("OP", code as f64)],
        params: bytemuck::bytes_of(&params),
        inputs: &[x.arg()],
        outputs: &[out.arg()],
        groups: ctx.grid(x.numel().div_ceil(if vec4 { 1024 } else { 256 }) as u64),
    })?;
    Ok(out)
}

/// Applies `op` to pairs of elements, broadcasting shapes numpy-style.
pub fn binary(a: &Tensor, b: &Tensor, op: Binary) -> Result<Tensor> {
    a.same_device(b, "binary elementwise op")?;
    let shape = a.shape().broadcast(b.shape(), "binary elementwise op")?;
    let out = Tensor::uninit(a.context(), shape.dims())?;
    let (code, alpha) = op.code();
    let mut params = Params::flat(shape.numel(), alpha, 0.0);
    if a.dims() != b.dims() {
        params.broadcast = 1;
        params.out_shape = shape.dims4().map(|d| d as u32);
        params.a_strides = a.shape().broadcast_strides(&shape);
        params.b_strides = b.shape().broadcast_strides(&shape);
    }
    let ctx = a.context();
    // Equal shapes and a length that is a multiple of 4: four elements per invocation.
    let vec4 = params.broadcast == 0 && shape.numel() > 0 && shape.numel() % 4 == 0;
    ctx.dispatch(Launch {
        family: ELEMENTWISE,
        entry: if vec4 { "binary4" } else { "binary" },
        constants: &[("OP", code as f64)],
        params: bytemuck::bytes_of(&params),
        inputs: &[a.arg(), b.arg()],
        outputs: &[out.arg()],
        groups: ctx.grid(shape.numel().div_ceil(if vec4 { 1024 } else { 256 }) as u64),
    })?;
    Ok(out)
}

/// In place: `acc += alpha * g` (same shapes). How gradients accumulate.
pub fn accumulate(acc: &Tensor, g: &Tensor, alpha: f32) -> Result<()> {
    acc.same_shape(g, "accumulate")?;
    let params = Params::flat(acc.numel(), alpha, 0.0);
    let ctx = acc.context();
    let vec4 = acc.numel() > 0 && acc.numel().is_multiple_of(4); // four elements per invocation
    ctx.dispatch(Launch {
        family: ELEMENTWISE,
        entry: if vec4 { "accumulate4" } else { "accumulate" },
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[g.arg()],
        outputs: &[acc.arg()],
        groups: ctx.grid(acc.numel().div_ceil(if vec4 { 1024 } else { 256 }) as u64),
    })
}

/// Sets every element of `t` to `value`.
pub fn fill(t: &Tensor, value: f32) -> Result<()> {
    let params = Params::flat(t.numel(), value, 0.0);
    let ctx = t.context();
    let vec4 = t.numel() > 0 && t.numel().is_multiple_of(4); // four elements per invocation
    ctx.dispatch(Launch {
        family: ELEMENTWISE,
        entry: if vec4 { "fill4" } else { "fill" },
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[],
        outputs: &[t.arg()],
        groups: ctx.grid(t.numel().div_ceil(if vec4 { 1024 } else { 256 }) as u64),
    })
}

/// The filled constructors live beside [`fill`], which they launch, so that `tensor.rs`
/// does not import this module back.
impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(ctx: &Context, shape: &[usize]) -> Result<Tensor> {
        let t = Tensor::uninit_for("zeros", ctx, shape)?;
        fill(&t, 0.0)?;
        Ok(t)
    }

    /// A tensor filled with `value` (on the GPU).
    pub fn full(ctx: &Context, shape: &[usize], value: f32) -> Result<Tensor> {
        let t = Tensor::uninit_for("full", ctx, shape)?;
        fill(&t, value)?;
        Ok(t)
    }
}

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self) -> Result<Tensor> { unary(self, $op) })*
        }
    };
}

unary_methods! {
    /// max(x, 0)
    relu => Unary::Relu;
    /// tanh(x)
    tanh => Unary::Tanh;
    /// The logistic sigmoid.
    sigmoid => Unary::Sigmoid;
    /// exp(x)
    exp => Unary::Exp;
    /// Natural logarithm.
    log => Unary::Log;
    /// sqrt(x)
    sqrt => Unary::Sqrt;
    /// x * x
    square => Unary::Square;
    /// |x|
    abs => Unary::Abs;
    /// -x
    neg => Unary::Affine { scale: -1.0, shift: 0.0 };
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident => $op:expr;)*) => {
        impl Tensor {
            $($(#[$doc])* pub fn $name(&self, other: &Tensor) -> Result<Tensor> { binary(self, other, $op) })*
        }
    };
}

binary_methods! {
    /// self + other (broadcasting)
    add => Binary::Add;
    /// self - other (broadcasting)
    sub => Binary::Sub;
    /// self * other (broadcasting)
    mul => Binary::Mul;
    /// self / other (broadcasting)
    div => Binary::Div;
    /// Elementwise maximum (broadcasting).
    maximum => Binary::Max;
    /// Elementwise minimum (broadcasting).
    minimum => Binary::Min;
    /// Gradient of relu: `self` is the forward input x, `other` is dy.
    relu_backward => Binary::ReluBackward;
    /// Gradient of tanh: `self` is the forward output y, `other` is dy.
    tanh_backward => Binary::TanhBackward;
    /// Gradient of sigmoid: `self` is the forward output y, `other` is dy.
    sigmoid_backward => Binary::SigmoidBackward;
}

impl Tensor {
    /// x if x > 0 else alpha * x
    pub fn leaky_relu(&self, alpha: f32) -> Result<Tensor> {
        unary(self, Unary::LeakyRelu(alpha))
    }

    /// Gradient of leaky_relu: `self` is the forward input x, `dy` the incoming gradient.
    pub fn leaky_relu_backward(&self, dy: &Tensor, alpha: f32) -> Result<Tensor> {
        binary(self, dy, Binary::LeakyReluBackward(alpha))
    }

    /// In place: self += other (same shape).
    pub fn add_assign(&self, other: &Tensor) -> Result<()> {
        accumulate(self, other, 1.0)
    }

    /// In place: self += alpha * other (same shape).
    pub fn add_assign_scaled(&self, other: &Tensor, alpha: f32) -> Result<()> {
        accumulate(self, other, alpha)
    }

    /// In place: every element set to `value`.
    pub fn fill_(&self, value: f32) -> Result<()> {
        fill(self, value)
    }

    /// self + s
    pub fn add_scalar(&self, s: f32) -> Result<Tensor> {
        unary(
            self,
            Unary::Affine {
                scale: 1.0,
                shift: s,
            },
        )
    }

    /// self * s
    pub fn mul_scalar(&self, s: f32) -> Result<Tensor> {
        unary(
            self,
            Unary::Affine {
                scale: s,
                shift: 0.0,
            },
        )
    }

    /// self * scale + shift
    pub fn affine(&self, scale: f32, shift: f32) -> Result<Tensor> {
        unary(self, Unary::Affine { scale, shift })
    }
}
