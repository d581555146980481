//! Reference batch normalization (PyTorch semantics, training and eval), in f64.
//!
//! `x` is [N, C], [N, C, L] or [N, C, H, W]; statistics are per channel over the
//! M = N * L (or N * H * W) values of that channel.

/// (N, C, spatial size) of a 2-, 3- or 4-D shape.
pub fn layout(dims: &[usize]) -> (usize, usize, usize) {
    assert!(
        (2..=4).contains(&dims.len()),
        "batch norm needs [N, C, ...]"
    );
    (dims[0], dims[1], dims[2..].iter().product())
}

/// Calls `f(index)` for every element of channel `c`.
fn for_channel(dims: &[usize], c: usize, mut f: impl FnMut(usize)) {
    let (n, ch, hw) = layout(dims);
    for b in 0..n {
        for s in 0..hw {
            f((b * ch + c) * hw + s);
        }
    }
}

/// Per-channel batch mean and biased variance, two-pass.
pub fn moments_f64(x: &[f64], dims: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (n, c, hw) = layout(dims);
    let m = (n * hw) as f64;
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        for_channel(dims, ch, |i| mean[ch] += x[i]);
        mean[ch] /= m;
        for_channel(dims, ch, |i| var[ch] += (x[i] - mean[ch]).powi(2));
        var[ch] /= m;
    }
    (mean, var)
}

/// y = gamma (x - mean) / sqrt(var + eps) + beta with the given per-channel statistics.
pub fn normalize_f64(
    x: &[f64],
    dims: &[usize],
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for c in 0..gamma.len() {
        let invstd = 1.0 / (var[c] + eps).sqrt();
        for_channel(dims, c, |i| {
            y[i] = gamma[c] * (x[i] - mean[c]) * invstd + beta[c]
        });
    }
    y
}

/// Training-mode output from batch statistics, in f64 (for finite differences).
pub fn train_forward_f64(
    x: &[f64],
    dims: &[usize],
    gamma: &[f64],
    beta: &[f64],
    eps: f64,
) -> Vec<f64> {
    let (mean, var) = moments_f64(x, dims);
    normalize_f64(x, dims, gamma, beta, &mean, &var, eps)
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Training-mode forward: returns (y, mean, invstd) and updates the running statistics
/// in place with `momentum`, using the unbiased variance (M / (M - 1)) for running_var.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train(
    x: &[f32],
    dims: &[usize],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &mut [f32],
    running_var: &mut [f32],
    momentum: f32,
    eps: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (n, c, hw) = layout(dims);
    let m = (n * hw) as f64;
    let x64 = f64s(x);
    let (mean, var) = moments_f64(&x64, dims);
    let y = normalize_f64(
        &x64,
        dims,
        &f64s(gamma),
        &f64s(beta),
        &mean,
        &var,
        eps as f64,
    );
    let mom = momentum as f64;
    for ch in 0..c {
        running_mean[ch] = ((1.0 - mom) * running_mean[ch] as f64 + mom * mean[ch]) as f32;
        let unbiased = var[ch] * m / (m - 1.0);
        running_var[ch] = ((1.0 - mom) * running_var[ch] as f64 + mom * unbiased) as f32;
    }
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps as f64).sqrt()).collect();
    (f32s(&y), f32s(&mean), f32s(&invstd))
}

/// Eval-mode forward with the running statistics.
pub fn batch_norm_eval(
    x: &[f32],
    dims: &[usize],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
) -> Vec<f32> {
    let y = normalize_f64(
        &f64s(x),
        dims,
        &f64s(gamma),
        &f64s(beta),
        &f64s(running_mean),
        &f64s(running_var),
        eps as f64,
    );
    f32s(&y)
}

/// Training-mode backward in f64: (dx, dgamma, dbeta) from dy and the saved statistics.
/// With xhat = (x - mean) invstd: dbeta = sum dy, dgamma = sum dy xhat,
/// dx = gamma invstd / M (M dy - sum dy - xhat sum dy xhat).
pub fn backward_f64(
    dy: &[f64],
    x: &[f64],
    dims: &[usize],
    gamma: &[f64],
    mean: &[f64],
    invstd: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (n, c, hw) = layout(dims);
    let m = (n * hw) as f64;
    let mut dx = vec![0.0; x.len()];
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for ch in 0..c {
        let xhat = |i: usize| (x[i] - mean[ch]) * invstd[ch];
        for_channel(dims, ch, |i| {
            dbeta[ch] += dy[i];
            dgamma[ch] += dy[i] * xhat(i);
        });
        let k = gamma[ch] * invstd[ch] / m;
        for_channel(dims, ch, |i| {
            dx[i] = k * (m * dy[i] - dbeta[ch] - xhat(i) * dgamma[ch]);
        });
    }
    (dx, dgamma, dbeta)
}

/// Training-mode backward on f32 data (see [`backward_f64`]).
pub fn batch_norm_backward(
    dy: &[f32],
    x: &[f32],
    dims: &[usize],
    gamma: &[f32],
    mean: &[f32],
    invstd: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (dx, dg, db) = backward_f64(
        &f64s(dy),
        &f64s(x),
        dims,
        &f64s(gamma),
        &f64s(mean),
        &f64s(invstd),
    );
    (f32s(&dx), f32s(&dg), f32s(&db))
}
