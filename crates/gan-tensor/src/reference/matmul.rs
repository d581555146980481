//! Reference matrix product with optional transposes, bias and activation.

use crate::matmul::Activation;

/// `C[m, n] = act(sum_k op(A)[m, k] * op(B)[k, n] + bias[n])`, accumulated in f64.
/// A is stored [m, k] (or [k, m] when `trans_a`), B [k, n] (or [n, k] when `trans_b`).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    act: Activation,
) -> Vec<f32> {
    let mut c = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f64;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                acc += av as f64 * bv as f64;
            }
            if let Some(bias) = bias {
                acc += bias[j] as f64;
            }
            c[i * n + j] = activate(acc, act) as f32;
        }
    }
    c
}

/// The epilogue activation in f64.
pub fn activate(x: f64, act: Activation) -> f64 {
    match act {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu(a) => {
            if x > 0.0 {
                x
            } else {
                a as f64 * x
            }
        }
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
    }
}
