//! Plain-loop CPU implementations of every gan-tensor operation: the oracle the GPU
//! kernels are tested against. Slow and obvious on purpose; long sums accumulate in f64.

pub mod batchnorm;
pub mod bce;
pub mod conv;
pub mod elementwise;
pub mod embedding;
pub mod matmul;
pub mod maxout;
pub mod optim;
pub mod reduce;
pub mod rng;
pub mod softmax;

/// Row-major strides of `dims`.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}
