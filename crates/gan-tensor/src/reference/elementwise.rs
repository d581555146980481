//! Reference elementwise maps.

use crate::elementwise::{Binary, Unary};

/// One element of a unary map, in f64.
pub fn unary_scalar(x: f64, op: Unary) -> f64 {
    match op {
        Unary::Relu => x.max(0.0),
        Unary::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                a as f64 * x
            }
        }
        Unary::Tanh => x.tanh(),
        Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Unary::Exp => x.exp(),
        Unary::Log => x.ln(),
        Unary::Affine { scale, shift } => x * scale as f64 + shift as f64,
        Unary::Sqrt => x.sqrt(),
        Unary::Square => x * x,
        Unary::Abs => x.abs(),
    }
}

/// One element of a binary map, in f64.
pub fn binary_scalar(a: f64, b: f64, op: Binary) -> f64 {
    match op {
        Binary::Add => a + b,
        Binary::Sub => a - b,
        Binary::Mul => a * b,
        Binary::Div => a / b,
        Binary::Max => a.max(b),
        Binary::Min => a.min(b),
        Binary::ReluBackward => {
            if a > 0.0 {
                b
            } else {
                0.0
            }
        }
        Binary::LeakyReluBackward(alpha) => {
            if a > 0.0 {
                b
            } else {
                alpha as f64 * b
            }
        }
        Binary::TanhBackward => b * (1.0 - a * a),
        Binary::SigmoidBackward => b * a * (1.0 - a),
    }
}

/// Unary map over a slice.
pub fn unary(x: &[f32], op: Unary) -> Vec<f32> {
    x.iter()
        .map(|&v| unary_scalar(v as f64, op) as f32)
        .collect()
}

/// The shape two shapes broadcast to, or None.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *o = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return None;
        };
    }
    Some(out)
}

/// Index into a (possibly broadcast) operand of shape `dims` for output multi-index `idx`.
fn operand_index(idx: &[usize], dims: &[usize]) -> usize {
    let off = idx.len() - dims.len();
    let mut flat = 0;
    for (k, &d) in dims.iter().enumerate() {
        let i = if d == 1 { 0 } else { idx[off + k] };
        flat = flat * d + i;
    }
    flat
}

/// Binary map with numpy broadcasting; returns the output and its shape.
pub fn binary(
    a: &[f32],
    ad: &[usize],
    b: &[f32],
    bd: &[usize],
    op: Binary,
) -> (Vec<f32>, Vec<usize>) {
    let shape = broadcast_shape(ad, bd).expect("shapes broadcast");
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let va = a[operand_index(&idx, ad)] as f64;
        let vb = b[operand_index(&idx, bd)] as f64;
        out.push(binary_scalar(va, vb, op) as f32);
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    (out, shape)
}
