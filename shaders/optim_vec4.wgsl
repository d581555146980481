// optim.wgsl's Adam step four parameters per invocation, for flat buffers whose length is a
// multiple of 4: the buffers are bound as vec4s, so each lane loads and stores 16 bytes
// where the scalar kernel moves 4 (lavapipe runs every storage access as a per-lane loop,
// so the scalar kernel was bound by its seven accesses per parameter). Same formulas and
// parameters as optim.wgsl's `adam` (PyTorch's `_single_tensor_adam`), evaluated lane-wise,
// so the results are bit-identical to it. Below: the texture twins `adam4_tex` and
// `ema4_tex` of CPU adapters.
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
@group(0) @binding(1) var<storage, read> a_grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> a_param: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> a_m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> a_v: array<vec4<f32>>;

// One Adam update of four parameters from their gradients and old moments: the new
// parameters and moments (shared by `adam4` and `adam4_tex`, so both give the same bits).
struct Adam4 {
    p: vec4<f32>,
    m: vec4<f32>,
    v: vec4<f32>,
}

fn adam4_update(grad: vec4<f32>, param: vec4<f32>, m_old: vec4<f32>, v_old: vec4<f32>) -> Adam4 {
    var g = grad;
    var p = param;
    if a.weight_decay != 0.0 {
        if a.decoupled != 0u {
            p *= a.decay;
        } else {
            g += a.weight_decay * p;
        }
    }
    let m = m_old + a.one_minus_beta1 * (g - m_old);
    let v = v_old * a.beta2 + a.one_minus_beta2 * (g * g);
    let denom = sqrt(v) / a.bc2_sqrt + a.eps;
    return Adam4(p - a.step_size * (m / denom), m, v);
}

@compute @workgroup_size(256)
fn adam4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= a.n / 4u { return; }
    let r = adam4_update(a_grad[i], a_param[i], a_m[i], a_v[i]);
    a_m[i] = r.m;
    a_v[i] = r.v;
    a_param[i] = r.p;
}

// ---- The same step with its four operands read from rgba32float textures ----------------
// The launcher copies the gradients, parameters and both moments into the context's operand
// textures (flat vec4 index i at texel (i % 1024, i / 1024)); this kernel reads those and
// writes the parameters and moments back to their buffers. lavapipe turns each storage-buffer
// load into a per-lane loop (about 30 cycles a float on a 2-core AMD EPYC) and a texel fetch
// into one gather, so four copies and four fetches cost less than four storage loads. CPU
// adapters only; GPUs keep `adam4`.
@group(0) @binding(1) var t_grad: texture_2d<f32>;
@group(0) @binding(2) var t_param: texture_2d<f32>;
@group(0) @binding(3) var t_m: texture_2d<f32>;
@group(0) @binding(4) var t_v: texture_2d<f32>;
@group(0) @binding(5) var<storage, read_write> at_param: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> at_m: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> at_v: array<vec4<f32>>;

fn texel(t: texture_2d<f32>, i: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(i & 1023u, i >> 10u), 0);
}

@compute @workgroup_size(256)
fn adam4_tex(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= a.n / 4u { return; }
    let r = adam4_update(texel(t_grad, i), texel(t_param, i), texel(t_m, i), texel(t_v, i));
    at_m[i] = r.m;
    at_v[i] = r.v;
    at_param[i] = r.p;
}

// optim.wgsl's `ema` four elements per invocation, the parameters and the moving average read
// from operand textures (1: param, 2: shadow): shadow = decay shadow + (1 - decay) param, the
// same expression, so the same bits.
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
    e_shadow[i] = e.decay * texel(t_e_shadow, i) + e.one_minus_decay * texel(t_e_param, i);
}
