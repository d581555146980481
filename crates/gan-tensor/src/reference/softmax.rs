//! Reference softmax and cross-entropy, in f64.

/// Softmax of each row of a [rows, classes] matrix.
pub fn softmax(x: &[f64], classes: usize) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (row, out) in x.chunks(classes).zip(y.chunks_mut(classes)) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for (o, v) in out.iter_mut().zip(row) {
            *o = (v - m).exp() / s;
        }
    }
    y
}

/// Mean over rows of `logsumexp(x_r) - x_r[label_r]`.
pub fn cross_entropy(x: &[f64], labels: &[usize], classes: usize) -> f64 {
    let rows = labels.len();
    let mut total = 0.0;
    for (row, &l) in x.chunks(classes).zip(labels) {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        total += lse - row[l];
    }
    total / rows as f64
}

/// d cross_entropy / d x = (softmax - onehot) / rows.
pub fn cross_entropy_backward(x: &[f64], labels: &[usize], classes: usize) -> Vec<f64> {
    let rows = labels.len() as f64;
    let mut g = softmax(x, classes);
    for (r, &l) in labels.iter().enumerate() {
        g[r * classes + l] -= 1.0;
    }
    g.iter().map(|v| v / rows).collect()
}
