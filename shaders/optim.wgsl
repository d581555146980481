// Optimizer steps over one flat parameter buffer, updated in place, one invocation per
// parameter. The formulas are PyTorch's single-tensor implementations:
//   torch/optim/adam.py `_single_tensor_adam` (Adam, and AdamW through
//   decoupled_weight_decay) and torch/optim/sgd.py `_single_tensor_sgd`.
// The host computes the bias corrections 1 - beta^t in f64 and passes
// step_size = lr / (1 - beta1^t) and sqrt(1 - beta2^t).
// Dispatch: ceil(n / 256) workgroups folded into x and y (each <= 65535), linear
// workgroup index wg.x + wg.y * num_workgroups.x.

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 256u + li;
}

struct AdamParams {
    n: u32,
    decoupled: u32,       // 1: AdamW, p *= 1 - lr wd; 0: Adam, g += wd p
    weight_decay: f32,
    decay: f32,           // 1 - lr * weight_decay
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    step_size: f32,       // lr / (1 - beta1^t)
    bc2_sqrt: f32,        // sqrt(1 - beta2^t)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> a: AdamParams;
@group(0) @binding(1) var<storage, read> a_grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> a_param: array<f32>;
@group(0) @binding(3) var<storage, read_write> a_m: array<f32>;
@group(0) @binding(4) var<storage, read_write> a_v: array<f32>;

@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= a.n { return; }
    var g = a_grad[i];
    var p = a_param[i];
    if a.weight_decay != 0.0 {
        if a.decoupled != 0u {
            p *= a.decay;                  // param.mul_(1 - lr * weight_decay)
        } else {
            g += a.weight_decay * p;       // grad = grad.add(param, alpha=weight_decay)
        }
    }
    let m_old = a_m[i];
    let m = m_old + a.one_minus_beta1 * (g - m_old);         // exp_avg.lerp_(grad, 1 - beta1)
    let v = a_v[i] * a.beta2 + a.one_minus_beta2 * (g * g);  // mul_(beta2).addcmul_(g, g, 1 - beta2)
    a_m[i] = m;
    a_v[i] = v;
    let denom = sqrt(v) / a.bc2_sqrt + a.eps;                // (sqrt(v) / bc2_sqrt).add_(eps)
    a_param[i] = p - a.step_size * (m / denom);              // addcdiv_(m, denom, -step_size)
}

struct SgdParams {
    n: u32,
    first: u32,           // 1 on the first step: the momentum buffer starts as the gradient
    nesterov: u32,
    _pad: u32,
    lr: f32,
    momentum: f32,
    one_minus_dampening: f32,
    weight_decay: f32,
}

@group(0) @binding(0) var<uniform> s: SgdParams;
@group(0) @binding(1) var<storage, read> s_grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> s_param: array<f32>;
@group(0) @binding(3) var<storage, read_write> s_buf: array<f32>;

// Without momentum: p -= lr * (g + wd p).
@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= s.n { return; }
    let p = s_param[i];
    let g = s_grad[i] + s.weight_decay * p;
    s_param[i] = p - s.lr * g;
}

@compute @workgroup_size(256)
fn sgd_momentum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= s.n { return; }
    let p = s_param[i];
    var g = s_grad[i] + s.weight_decay * p;
    var b = g;                                                    // buf = clone(grad)
    if s.first == 0u {
        b = s_buf[i] * s.momentum + s.one_minus_dampening * g;    // mul_(m).add_(g, 1 - d)
    }
    s_buf[i] = b;
    if s.nesterov != 0u {
        g += s.momentum * b;                                      // grad.add(buf, alpha=m)
    } else {
        g = b;
    }
    s_param[i] = p - s.lr * g;                                    // param.add_(g, alpha=-lr)
}

// Exponential moving average of a flat parameter buffer (Polyak averaging; StyleGAN's
// G_ema, Karras et al. 2019): shadow = decay * shadow + (1 - decay) * param, in place.
// The host passes decay and 1 - decay (computed in f64).
struct EmaParams {
    n: u32,
    decay: f32,
    one_minus_decay: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> e: EmaParams;
@group(0) @binding(1) var<storage, read> e_param: array<f32>;
@group(0) @binding(2) var<storage, read_write> e_shadow: array<f32>;

@compute @workgroup_size(256)
fn ema(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= e.n { return; }
    e_shadow[i] = e.decay * e_shadow[i] + e.one_minus_decay * e_param[i];
}
