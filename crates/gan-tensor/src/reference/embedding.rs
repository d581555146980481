//! Reference embedding lookup and its gradient.

/// Rows `labels` of the table `weight` [num, dim] (out-of-range labels: zeros).
pub fn embedding(weight: &[f64], dim: usize, labels: &[usize]) -> Vec<f64> {
    let num = weight.len() / dim.max(1);
    let mut out = Vec::with_capacity(labels.len() * dim);
    for &l in labels {
        if l < num {
            out.extend_from_slice(&weight[l * dim..(l + 1) * dim]);
        } else {
            out.extend(std::iter::repeat_n(0.0, dim));
        }
    }
    out
}

/// d sum(g * embedding) / d weight: row c sums the rows of `g` labelled c.
pub fn embedding_backward(g: &[f64], dim: usize, labels: &[usize], num: usize) -> Vec<f64> {
    let mut out = vec![0.0; num * dim];
    for (i, &l) in labels.iter().enumerate() {
        if l < num {
            for f in 0..dim {
                out[l * dim + f] += g[i * dim + f];
            }
        }
    }
    out
}
