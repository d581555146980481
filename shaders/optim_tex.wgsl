// optim_vec4.wgsl's Adam step with its four operands read from rgba32float textures: the
// launcher copies the gradients, parameters and both moments into the context's operand
// textures (flat vec4 index i at texel (i % 1024, i / 1024)), then this kernel reads those
// and writes the parameters and moments back to their buffers. lavapipe turns each
// storage-buffer load into a per-lane loop (about 30 cycles a float on the CI machine's
// cores) and a texel fetch into one gather, so four copies and four fetches cost less
// than four storage loads. Same formulas, loads and order as `adam4` (PyTorch's
// `_single_tensor_adam`), so the results are bit-identical to it (tested). CPU adapters
// only; GPUs keep `adam4`.
// Dispatch: ceil(n / 4 / 256) workgroups folded into x and y, as optim.wgsl.

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 256u + li;
}

struct AdamParams {
    n: u32,               // parameters (a multiple of 4)
    decoupled: u32,
    weight_decay: f32,
    decay: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    step_size: f32,
    bc2_sqrt: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> a: AdamParams;
@group(0) @binding(1) var t_grad: texture_2d<f32>;
@group(0) @binding(2) var t_param: texture_2d<f32>;
@group(0) @binding(3) var t_m: texture_2d<f32>;
@group(0) @binding(4) var t_v: texture_2d<f32>;
@group(0) @binding(5) var<storage, read_write> a_param: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> a_m: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> a_v: array<vec4<f32>>;

@compute @workgroup_size(256)
fn adam4_tex(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= a.n / 4u { return; }
    let at = vec2<u32>(i & 1023u, i >> 10u);
    var g = textureLoad(t_grad, at, 0);
    var p = textureLoad(t_param, at, 0);
    if a.weight_decay != 0.0 {
        if a.decoupled != 0u {
            p *= a.decay;
        } else {
            g += a.weight_decay * p;
        }
    }
    let m_old = textureLoad(t_m, at, 0);
    let m = m_old + a.one_minus_beta1 * (g - m_old);
    let v = textureLoad(t_v, at, 0) * a.beta2 + a.one_minus_beta2 * (g * g);
    a_m[i] = m;
    a_v[i] = v;
    let denom = sqrt(v) / a.bc2_sqrt + a.eps;
    a_param[i] = p - a.step_size * (m / denom);
}

// optim.wgsl's `ema` four elements per invocation, the parameters and the moving average
// read from operand textures (1: param, 2: shadow): shadow = decay shadow + (1 - decay)
// param, the same expression, so the same bits.
struct EmaParams {
    n: u32,               // elements (a multiple of 4)
    decay: f32,
    one_minus_decay: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> e: EmaParams;
@group(0) @binding(1) var t_e_param: texture_2d<f32>;
@group(0) @binding(2) var t_e_shadow: texture_2d<f32>;
@group(0) @binding(3) var<storage, read_write> e_shadow: array<vec4<f32>>;

@compute @workgroup_size(256)
fn ema4_tex(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= e.n / 4u { return; }
    let at = vec2<u32>(i & 1023u, i >> 10u);
    e_shadow[i] = e.decay * textureLoad(t_e_shadow, at, 0) + e.one_minus_decay * textureLoad(t_e_param, at, 0);
}
