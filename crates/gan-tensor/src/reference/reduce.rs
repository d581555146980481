//! Reference reductions, accumulated in f64.

/// Sum (or mean) along `axis` of a row-major tensor of shape `dims`; the axis is kept as 1.
pub fn sum_axis(x: &[f32], dims: &[usize], axis: usize, mean: bool) -> Vec<f32> {
    let outer: usize = dims[..axis].iter().product();
    let len = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut out = vec![0f32; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let mut acc = 0f64;
            for k in 0..len {
                acc += x[(o * len + k) * inner + i] as f64;
            }
            if mean && len > 0 {
                acc /= len as f64;
            }
            out[o * inner + i] = acc as f32;
        }
    }
    out
}

/// Sum of all elements.
pub fn sum_all(x: &[f32]) -> f32 {
    x.iter().map(|&v| v as f64).sum::<f64>() as f32
}
