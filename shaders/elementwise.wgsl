// Elementwise kernels: unary maps, binary maps with numpy broadcasting over up to 4 dims,
// activation backwards, and fill. One invocation per output element.
//
// Bindings follow gan-tensor's convention: 0 = uniform params, then read-only inputs,
// then read-write outputs. The operation is a pipeline-overridable constant, so each
// (entry point, OP) pair compiles to its own branch-free pipeline.
// Dispatch: ceil(n / 256) workgroups folded into x and y (each <= 65535); the linear
// workgroup index is wg.x + wg.y * num_workgroups.x.

struct Params {
    n: u32,
    broadcast: u32,   // 0: a, b and out share one shape; 1: use the strides below
    alpha: f32,       // scalar argument (leaky slope, scale, fill value)
    beta: f32,        // second scalar argument (shift)
    out_shape: vec4<u32>,
    a_strides: vec4<u32>, // 0 where a dimension of size 1 is broadcast
    b_strides: vec4<u32>,
}

// OP selects the map: the UNARY_* ids for `unary`, the BINARY_* ids for `binary`.
override OP: u32 = 0u;

// BEGIN op ids: generated from crates/gan-tensor/src/ops.rs (cargo xtask gen-matmul); do not edit
const UNARY_NONE: u32 = 0u;
const UNARY_RELU: u32 = 1u;
const UNARY_LEAKY_RELU: u32 = 2u;
const UNARY_TANH: u32 = 3u;
const UNARY_SIGMOID: u32 = 4u;
const UNARY_EXP: u32 = 5u;
const UNARY_LOG: u32 = 6u;
const UNARY_AFFINE: u32 = 7u;
const UNARY_SQRT: u32 = 8u;
const UNARY_SQUARE: u32 = 9u;
const UNARY_ABS: u32 = 10u;
const BINARY_ADD: u32 = 0u;
const BINARY_SUB: u32 = 1u;
const BINARY_MUL: u32 = 2u;
const BINARY_DIV: u32 = 3u;
const BINARY_MAX: u32 = 4u;
const BINARY_MIN: u32 = 5u;
const BINARY_RELU_BACKWARD: u32 = 6u;
const BINARY_LEAKY_RELU_BACKWARD: u32 = 7u;
const BINARY_TANH_BACKWARD: u32 = 8u;
const BINARY_SIGMOID_BACKWARD: u32 = 9u;
// END op ids

@group(0) @binding(0) var<uniform> p: Params;

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 256u + li;
}

// tanh without overflow: exp(-2|x|) is in (0, 1].
fn stable_tanh(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// sigmoid without overflow for either sign.
fn stable_sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

fn unary_op(x: f32) -> f32 {
    switch OP {
        case UNARY_RELU: { return max(x, 0.0); }
        case UNARY_LEAKY_RELU: { return select(p.alpha * x, x, x > 0.0); }
        case UNARY_TANH: { return stable_tanh(x); }
        case UNARY_SIGMOID: { return stable_sigmoid(x); }
        case UNARY_EXP: { return exp(x); }
        case UNARY_LOG: { return log(x); }
        case UNARY_AFFINE: { return x * p.alpha + p.beta; }
        case UNARY_SQRT: { return sqrt(x); }
        case UNARY_SQUARE: { return x * x; }
        case UNARY_ABS: { return abs(x); }
        default: { return x; }
    }
}

// For the activation backwards, a is the forward input x (relu, leaky) or the forward
// output y (tanh, sigmoid), and b is the incoming gradient dy.
fn binary_op(a: f32, b: f32) -> f32 {
    switch OP {
        case BINARY_ADD: { return a + b; }
        case BINARY_SUB: { return a - b; }
        case BINARY_MUL: { return a * b; }
        case BINARY_DIV: { return a / b; }
        case BINARY_MAX: { return max(a, b); }
        case BINARY_MIN: { return min(a, b); }
        case BINARY_RELU_BACKWARD: { return select(0.0, b, a > 0.0); }
        case BINARY_LEAKY_RELU_BACKWARD: { return select(p.alpha * b, b, a > 0.0); }
        case BINARY_TANH_BACKWARD: { return b * (1.0 - a * a); }  // from y
        case BINARY_SIGMOID_BACKWARD: { return b * a * (1.0 - a); }  // from y
        default: { return a; }
    }
}

@group(0) @binding(1) var<storage, read> ux: array<f32>;
@group(0) @binding(2) var<storage, read_write> uy: array<f32>;

@compute @workgroup_size(256)
fn unary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    uy[i] = unary_op(ux[i]);
}

@group(0) @binding(1) var<storage, read> ba: array<f32>;
@group(0) @binding(2) var<storage, read> bb: array<f32>;
@group(0) @binding(3) var<storage, read_write> bout: array<f32>;

@compute @workgroup_size(256)
fn binary(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    if p.broadcast == 0u {
        bout[i] = binary_op(ba[i], bb[i]);
        return;
    }
    // Unravel i over the 4-D output shape, then dot with each operand's strides.
    let s = p.out_shape;
    let i3 = i % s.w;
    let r2 = i / s.w;
    let i2 = r2 % s.z;
    let r1 = r2 / s.z;
    let i1 = r1 % s.y;
    let i0 = r1 / s.y;
    let idx = vec4<u32>(i0, i1, i2, i3);
    let ia = dot(idx, p.a_strides);
    let ib = dot(idx, p.b_strides);
    bout[i] = binary_op(ba[ia], bb[ib]);
}

@group(0) @binding(1) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    fout[i] = p.alpha;
}

// In place: acc = acc + alpha * g (gradient accumulation into a parameter's gradient).
@group(0) @binding(1) var<storage, read> ag: array<f32>;
@group(0) @binding(2) var<storage, read_write> aacc: array<f32>;

@compute @workgroup_size(256)
fn accumulate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    aacc[i] = aacc[i] + p.alpha * ag[i];
}

// fill and accumulate four elements per invocation, for lengths that are multiples of 4
// (bound as vec4s: lavapipe runs each storage access as a per-lane loop, so a vec4 access
// costs about what a scalar one does). Same results, element for element.
@group(0) @binding(1) var<storage, read_write> fout4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn fill4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n / 4u { return; }
    fout4[i] = vec4<f32>(p.alpha);
}

@group(0) @binding(1) var<storage, read> ag4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> aacc4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn accumulate4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n / 4u { return; }
    aacc4[i] = aacc4[i] + p.alpha * ag4[i];
}

// unary and binary (equal shapes, no broadcast) four elements per invocation, for lengths
// that are multiples of 4; each component goes through the scalar op, so the results are
// those of `unary` and `binary`.
@group(0) @binding(1) var<storage, read> ux4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> uy4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn unary4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n / 4u { return; }
    let x = ux4[i];
    uy4[i] = vec4<f32>(unary_op(x.x), unary_op(x.y), unary_op(x.z), unary_op(x.w));
}

@group(0) @binding(1) var<storage, read> ba4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bb4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> bout4: array<vec4<f32>>;

@compute @workgroup_size(256)
fn binary4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n / 4u { return; }
    let a = ba4[i];
    let b = bb4[i];
    bout4[i] = vec4<f32>(binary_op(a.x, b.x), binary_op(a.y, b.y), binary_op(a.z, b.z),
                         binary_op(a.w, b.w));
}
