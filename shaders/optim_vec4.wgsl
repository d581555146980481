// optim.wgsl's Adam step four parameters per invocation, for flat buffers whose length is a
// multiple of 4: the buffers are bound as vec4s, so each lane loads and stores 16 bytes
// where the scalar kernel moves 4 (lavapipe runs every storage access as a per-lane loop,
// so the scalar kernel was bound by its seven accesses per parameter). Same formulas and
// parameters as optim.wgsl's `adam` (PyTorch's `_single_tensor_adam`), evaluated lane-wise,
// so the results are bit-identical to it.
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

@compute @workgroup_size(256)
fn adam4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= a.n / 4u { return; }
    var g = a_grad[i];
    var p = a_param[i];
    if a.weight_decay != 0.0 {
        if a.decoupled != 0u {
            p *= a.decay;
        } else {
            g += a.weight_decay * p;
        }
    }
    let m_old = a_m[i];
    let m = m_old + a.one_minus_beta1 * (g - m_old);
    let v = a_v[i] * a.beta2 + a.one_minus_beta2 * (g * g);
    a_m[i] = m;
    a_v[i] = v;
    let denom = sqrt(v) / a.bc2_sqrt + a.eps;
    a_param[i] = p - a.step_size * (m / denom);
}
