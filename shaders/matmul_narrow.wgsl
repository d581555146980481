// matmul_narrow.wgsl: C[M,N] = epilogue(op(A)[M,K] x op(B)[K,N] (+ bias[N])) for narrow
// outputs: one invocation per row of C and group of 4 columns, workgroup_size(8, 1, 1),
// dispatch(ceil(M / 8), ceil(N / 4), 1).
//
// Same bindings, parameters, override constants and epilogue as matmul.wgsl. The register-blocked
// kernels give each workgroup a 32 x 64 tile of C, so an output of N = 1 or 2 columns (a
// discriminator's logit, a 2-D generator's points, their weight gradients) wastes 31/32 of their
// work. Here every 8 rows x 4 columns is a workgroup of its own. (It loads A once per 4 fmas, so
// it loses to the register blocks wherever C is wider: matmul.rs chooses it for N <= 4 only.)
// Each invocation sums k in order with one fma per product, like the
// register-blocked kernels, so the results are bit-identical to theirs. Loads of B are the same for
// the 8 lanes (uniform addresses); loads of A are per lane.
struct MatmulParams { m: u32, n: u32, k: u32, k_chunk: u32, trans_b: u32, epilogue: u32, alpha: f32, has_bias: u32 }
@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

// Transpose selection (pipeline-overridable constants; the trans_b uniform field is ignored).
// k_chunk (split-K) is not supported here: the launcher never splits this kernel.
override TRANS_A: bool = false;   // true: A is stored as A^T, i.e. [K, M] row-major
override TRANS_B: bool = false;   // true: B is stored as B^T, i.e. [N, K] row-major
override PLAIN: bool = false;     // true: no bias and no activation (as matmul.wgsl)
override ACCUMULATE: bool = false; // true: C += the product (as matmul.wgsl)

fn fetch_a(e: u32) -> f32 { return a[e >> 2u][e & 3u]; }
fn fetch_b(e: u32) -> f32 { return b[e >> 2u][e & 3u]; }

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

// Fused epilogue: optional bias[col], then activation selected by p.epilogue (as matmul.wgsl).
fn epi(x: f32, col: u32) -> f32 {
    if (PLAIN) { return x; }
    var v = x;
    if (p.has_bias == 1u) { v = v + bias[col]; }
    switch p.epilogue {
        case UNARY_RELU: { v = max(v, 0.0); }
        case UNARY_LEAKY_RELU: { v = select(v * p.alpha, v, v > 0.0); }
        case UNARY_TANH: { let e = exp(-2.0 * abs(v)); v = sign(v) * (1.0 - e) / (1.0 + e); } // overflow-free
        case UNARY_SIGMOID: { let e = exp(-abs(v)); v = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0); }
        default: { }
    }
    return v;
}

// c[i] = v, or c[i] += v with ACCUMULATE.
fn put(i: u32, v: f32) {
    if (ACCUMULATE) { c[i] = c[i] + v; } else { c[i] = v; }
}

// op(B)[k, n0 .. n0+3]; columns at or past N read column N - 1 (their sums are not stored).
fn brow(k: u32, n0: u32, N: u32, K: u32) -> vec4<f32> {
    let n1 = min(n0 + 1u, N - 1u);
    let n2 = min(n0 + 2u, N - 1u);
    let n3 = min(n0 + 3u, N - 1u);
    if (TRANS_B) {
        return vec4<f32>(fetch_b(n0 * K + k), fetch_b(n1 * K + k), fetch_b(n2 * K + k), fetch_b(n3 * K + k));
    }
    let r = k * N;
    return vec4<f32>(fetch_b(r + n0), fetch_b(r + n1), fetch_b(r + n2), fetch_b(r + n3));
}

@compute @workgroup_size(8, 1, 1)
fn matmul_narrow(@builtin(global_invocation_id) gid: vec3<u32>) {
    let M = p.m; let N = p.n; let K = p.k;
    // Lanes past M compute row M - 1 and store nothing (no early return: uniform control flow).
    let m = min(gid.x, M - 1u);
    let n0 = gid.y * 4u;
    var acc = vec4<f32>(0.0);
    if (!TRANS_A && K % 4u == 0u) {
        // A's row is contiguous: one vec4 load per 4 values of k.
        let row = (m * K) >> 2u;
        for (var k = 0u; k < K; k = k + 4u) {
            let av = a[row + (k >> 2u)];
            acc = fma(vec4<f32>(av.x), brow(k, n0, N, K), acc);
            acc = fma(vec4<f32>(av.y), brow(k + 1u, n0, N, K), acc);
            acc = fma(vec4<f32>(av.z), brow(k + 2u, n0, N, K), acc);
            acc = fma(vec4<f32>(av.w), brow(k + 3u, n0, N, K), acc);
        }
    } else {
        for (var k = 0u; k < K; k = k + 1u) {
            let av = fetch_a(select(m * K + k, k * M + m, TRANS_A));
            acc = fma(vec4<f32>(av), brow(k, n0, N, K), acc);
        }
    }
    if (gid.x < M) {
        let o = gid.x * N;
        if (n0 < N) { put(o + n0, epi(acc.x, n0)); }
        if (n0 + 1u < N) { put(o + n0 + 1u, epi(acc.y, n0 + 1u)); }
        if (n0 + 2u < N) { put(o + n0 + 2u, epi(acc.z, n0 + 2u)); }
        if (n0 + 3u < N) { put(o + n0 + 3u, epi(acc.w, n0 + 3u)); }
    }
}
