//! Reference optimizer steps: PyTorch's `_single_tensor_adam` and `_single_tensor_sgd`
//! element by element, in f64 with f32 storage (see [`crate::optim`]).

use crate::optim::{AdamConfig, SgdConfig};

/// One Adam/AdamW step (`step` from 1) on host slices, in place.
pub fn adam_step(
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    cfg: &AdamConfig,
    step: u64,
) {
    let (lr, b1, b2) = (cfg.lr as f64, cfg.beta1 as f64, cfg.beta2 as f64);
    let (eps, wd) = (cfg.eps as f64, cfg.weight_decay as f64);
    let bias_correction1 = 1.0 - b1.powf(step as f64);
    let bias_correction2 = 1.0 - b2.powf(step as f64);
    let step_size = lr / bias_correction1;
    for i in 0..params.len() {
        let mut p = params[i] as f64;
        let mut g = grads[i] as f64;
        if wd != 0.0 {
            if cfg.decoupled {
                p *= 1.0 - lr * wd;
            } else {
                g += wd * p;
            }
        }
        let mi = b1 * m[i] as f64 + (1.0 - b1) * g;
        let vi = b2 * v[i] as f64 + (1.0 - b2) * g * g;
        let denom = vi.sqrt() / bias_correction2.sqrt() + eps;
        m[i] = mi as f32;
        v[i] = vi as f32;
        params[i] = (p - step_size * mi / denom) as f32;
    }
}

/// One SGD step (`step` from 1) on host slices, in place; `velocity` is needed when
/// `cfg.momentum` is not 0.
pub fn sgd_step(
    params: &mut [f32],
    grads: &[f32],
    mut velocity: Option<&mut [f32]>,
    cfg: &SgdConfig,
    step: u64,
) {
    let (lr, mu, damp, wd) = (
        cfg.lr as f64,
        cfg.momentum as f64,
        cfg.dampening as f64,
        cfg.weight_decay as f64,
    );
    for i in 0..params.len() {
        let p = params[i] as f64;
        let mut g = grads[i] as f64 + wd * p;
        if mu != 0.0 {
            let buf = velocity.as_deref_mut().expect("a velocity buffer");
            let b = if step == 1 {
                g
            } else {
                mu * buf[i] as f64 + (1.0 - damp) * g
            };
            buf[i] = b as f32;
            g = if cfg.nesterov { g + mu * b } else { b };
        }
        params[i] = (p - lr * g) as f32;
    }
}

/// One exponential-moving-average update on host slices, in place, in f64:
/// `shadow = decay * shadow + (1 - decay) * param`.
pub fn ema_update(shadow: &mut [f32], param: &[f32], decay: f64) {
    for (s, &p) in shadow.iter_mut().zip(param) {
        *s = (decay * *s as f64 + (1.0 - decay) * p as f64) as f32;
    }
}
