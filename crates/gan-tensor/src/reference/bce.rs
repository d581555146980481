//! Reference binary cross-entropy on logits, mean over all elements, in f64.

/// softplus(-|x|) = ln(1 + e^-|x|), the stable tail of the loss.
fn log1p_exp_neg_abs(x: f64) -> f64 {
    (-x.abs()).exp().ln_1p()
}

/// The logistic sigmoid, without overflow for either sign.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// One element's loss: max(x, 0) - x y + ln(1 + e^-|x|) (= -y ln s(x) - (1-y) ln(1 - s(x))).
pub fn element_loss(x: f64, y: f64) -> f64 {
    x.max(0.0) - x * y + log1p_exp_neg_abs(x)
}

/// Mean loss over all elements, in f64 (for finite differences).
pub fn loss_f64(x: &[f64], y: &[f64]) -> f64 {
    let sum: f64 = x.iter().zip(y).map(|(&x, &y)| element_loss(x, y)).sum();
    sum / x.len() as f64
}

/// Mean binary cross-entropy of `logits` against `targets` (same length).
pub fn bce_with_logits(logits: &[f32], targets: &[f32]) -> f32 {
    let x: Vec<f64> = logits.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = targets.iter().map(|&v| v as f64).collect();
    loss_f64(&x, &y) as f32
}

/// d loss / d logits, times the upstream gradient `scale`: (sigmoid(x) - y) * scale / n.
pub fn bce_with_logits_backward(logits: &[f32], targets: &[f32], scale: f32) -> Vec<f32> {
    let n = logits.len() as f64;
    logits
        .iter()
        .zip(targets)
        .map(|(&x, &y)| ((sigmoid(x as f64) - y as f64) * scale as f64 / n) as f32)
        .collect()
}
