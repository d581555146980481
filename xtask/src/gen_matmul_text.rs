//! The fixed WGSL text of `cargo xtask gen-matmul` (gen_matmul.rs): the bindings and
//! helpers every module shares, the stores, the tiled kernel and the file headers.

pub const COMMON: &str = r#"struct MatmulParams { m: u32, n: u32, k: u32, k_chunk: u32, trans_b: u32, epilogue: u32, alpha: f32, has_bias: u32 }
@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;  // C_BINDING

// Transpose selection (pipeline-overridable constants; the trans_b uniform field is ignored).
override TRANS_A: bool = false;   // true: A is stored as A^T, i.e. [K, M] row-major
override TRANS_B: bool = false;   // true: B is stored as B^T, i.e. [N, K] row-major
// true: no bias and no activation (the launcher guarantees has_bias == 0, epilogue == 0), so
// the compiled store is a plain one (weight gradients, split-K slices, plain products).
override PLAIN: bool = false;
// true: C += the product (C already holds a sum: a gradient's second term added in place,
// c_old + v as the separate add pass computed it, bit for bit).
override ACCUMULATE: bool = false;

// Scalar element fetch from a vec4-typed buffer (general / unaligned path).
fn fetch_a(e: u32) -> f32 { return a[e >> 2u][e & 3u]; }
fn fetch_b(e: u32) -> f32 { return b[e >> 2u][e & 3u]; }
// op(A)[m, k] and op(B)[k, n]; callers clamp indices to the matrix.
fn lda(m: u32, k: u32, M: u32, K: u32) -> f32 { return fetch_a(select(m * K + k, k * M + m, TRANS_A)); }
fn ldb(k: u32, n: u32, N: u32, K: u32) -> f32 { return fetch_b(select(k * N + n, n * K + k, TRANS_B)); }

// BEGIN op ids
// Fused epilogue: optional bias[col], then the activation p.epilogue selects (a UNARY_* id).
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

"#;

pub const STORE_SCALAR: &str = r#"
// c[i] = v, or c[i] += v with ACCUMULATE.
fn put(i: u32, v: f32) {
    if (ACCUMULATE) { c[i] = c[i] + v; } else { c[i] = v; }
}

// Store 4 consecutive columns col..col+3 of one row (row = m * N), guarded against N.
fn store4(row: u32, col: u32, N: u32, v: vec4<f32>) {
    if (col < N) { put(row + col, epi(v.x, col)); }
    if (col + 1u < N) { put(row + col + 1u, epi(v.y, col + 1u)); }
    if (col + 2u < N) { put(row + col + 2u, epi(v.z, col + 2u)); }
    if (col + 3u < N) { put(row + col + 3u, epi(v.w, col + 3u)); }
}
"#;

pub const STORE_VEC4: &str = r#"
// The vec4 fused epilogue: optional bias[col..col+3], then the activation, lane-wise.
fn epi4(x: vec4<f32>, col: u32) -> vec4<f32> {
    if (PLAIN) { return x; }
    var v = x;
    if (p.has_bias == 1u) { v = v + vec4<f32>(bias[col], bias[col + 1u], bias[col + 2u], bias[col + 3u]); }
    switch p.epilogue {
        case UNARY_RELU: { v = max(v, vec4<f32>(0.0)); }
        case UNARY_LEAKY_RELU: { v = select(v * p.alpha, v, v > vec4<f32>(0.0)); }
        case UNARY_TANH: { let e = exp(-2.0 * abs(v)); v = sign(v) * (1.0 - e) / (1.0 + e); }
        case UNARY_SIGMOID: { let e = exp(-abs(v)); v = select(e / (1.0 + e), 1.0 / (1.0 + e), v >= vec4<f32>(0.0)); }
        default: { }
    }
    return v;
}

// Store columns col..col+3 of one row (row = m * N) as one vec4: N % 4 == 0 and col % 4 == 0,
// so col < N means all four are inside the row.
fn store4(row: u32, col: u32, N: u32, v: vec4<f32>) {
    if (col < N) {
        let i = (row + col) >> 2u;
        if (ACCUMULATE) { c[i] = c[i] + epi4(v, col); } else { c[i] = epi4(v, col); }
    }
}
"#;

/// The bindings and helpers every module shares; `c4`: C bound as vec4s (N % 4 == 0).
/// The K slice of a split-K launch (p.k_chunk > 0, workgroup z: k in [KB, KE), partial
/// sums stored to slice z of C, offset CZ); p.k_chunk = 0: all of K, CZ = 0.
pub const SPLIT_K: &str = "let KB = wg.z * p.k_chunk; let KE = select(K, min(K, KB + p.k_chunk), p.k_chunk != 0u); let CZ = wg.z * M * N; // split-K slice";

/// The second pass of a split-K product: C = epilogue(sum of the slices).
pub const SPLIT_K_SUM: &str = r#"
// ---------------------------------------------------------------------------------------------
// matmul_splitk_sum: the second pass of a split-K product. a holds p.k slices of [M, N]
// partial sums (written by a kernel above with p.k_chunk > 0 and no epilogue); c[i] =
// epi(slice 0 + slice 1 + ... in that order) (with ACCUMULATE: c[i] += that). One invocation per element of C; dispatch
// ceil(M N / 64) workgroups folded into x and y.
// ---------------------------------------------------------------------------------------------
@compute @workgroup_size(64, 1, 1)
fn matmul_splitk_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) li: u32) {
    let mn = p.m * p.n;
    let i = (wg.x + wg.y * nwg.x) * 64u + li;
    if (i >= mn) { return; }
    var s = 0.0;
    for (var z = 0u; z < p.k; z = z + 1u) { s = s + fetch_a(z * mn + i); }
    put(i, epi(s, i % p.n));
}
"#;

pub const TILED: &str = r#"
// ---------------------------------------------------------------------------------------------
// matmul_tiled: classic workgroup-memory tiling for real GPUs.
// 256 invocations (16 x 16); workgroup tile 64 (rows of C) x 64 (cols of C); each invocation
// computes a 4x4 block; K is staged through workgroup memory 16 at a time.
// Slow on lavapipe (barriers are coroutine switches there) - use matmul_regblock on CPU drivers.
// ---------------------------------------------------------------------------------------------
const TT_K: u32 = 16u;
var<workgroup> tile_a: array<vec4<f32>, 256>;   // [k][m/4]: 16 x 16 vec4 (m contiguous)
var<workgroup> tile_b: array<vec4<f32>, 256>;   // [k][n/4]: 16 x 16 vec4 (n contiguous)

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let M = p.m; let N = p.n; let K = p.k;
    let KB = wg.z * p.k_chunk; let KE = select(K, min(K, KB + p.k_chunk), p.k_chunk != 0u); let CZ = wg.z * M * N;
    let tm0 = wg.y * 64u; let tn0 = wg.x * 64u;
    let a_vec = select(K % 4u == 0u, M % 4u == 0u, TRANS_A);
    let b_vec = select(N % 4u == 0u, K % 4u == 0u, TRANS_B);
    var acc: array<vec4<f32>, 4>;
    for (var k0 = KB; k0 < KE; k0 = k0 + TT_K) {
        // ---- stage op(A)[tm0..+64, k0..+16] into tile_a[k][m] (256 threads, 4 elements each) ----
        if (!TRANS_A) {
            // A row-major [M, K]: thread -> (row = li / 4, 4 consecutive k)
            let m = tm0 + li / 4u; let kq = (li % 4u) * 4u; let kk = k0 + kq;
            var v = vec4<f32>(0.0);
            if (a_vec && m < M && kk + 3u < KE) { v = a[(m * K + kk) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (m < M && kk + t < KE) { v[t] = fetch_a(m * K + kk + t); } } }
            let ml = li / 4u;
            for (var t = 0u; t < 4u; t = t + 1u) { tile_a[(kq + t) * 16u + ml / 4u][ml % 4u] = v[t]; }
        } else {
            // A^T stored [K, M]: thread -> (k = li / 16, 4 consecutive m)
            let kl = li / 16u; let kk = k0 + kl; let ml = (li % 16u) * 4u; let m = tm0 + ml;
            var v = vec4<f32>(0.0);
            if (a_vec && kk < KE && m + 3u < M) { v = a[(kk * M + m) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (kk < KE && m + t < M) { v[t] = fetch_a(kk * M + m + t); } } }
            tile_a[kl * 16u + ml / 4u] = v;
        }
        // ---- stage op(B)[k0..+16, tn0..+64] into tile_b[k][n] ----
        if (!TRANS_B) {
            // B row-major [K, N]: thread -> (k = li / 16, 4 consecutive n)
            let kl = li / 16u; let kk = k0 + kl; let nl = (li % 16u) * 4u; let n = tn0 + nl;
            var v = vec4<f32>(0.0);
            if (b_vec && kk < KE && n + 3u < N) { v = b[(kk * N + n) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (kk < KE && n + t < N) { v[t] = fetch_b(kk * N + n + t); } } }
            tile_b[kl * 16u + nl / 4u] = v;
        } else {
            // B^T stored [N, K]: thread -> (col = li / 4, 4 consecutive k)
            let n = tn0 + li / 4u; let kq = (li % 4u) * 4u; let kk = k0 + kq;
            var v = vec4<f32>(0.0);
            if (b_vec && n < N && kk + 3u < KE) { v = b[(n * K + kk) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (n < N && kk + t < KE) { v[t] = fetch_b(n * K + kk + t); } } }
            let nl = li / 4u;
            for (var t = 0u; t < 4u; t = t + 1u) { tile_b[(kq + t) * 16u + nl / 4u][nl % 4u] = v[t]; }
        }
        workgroupBarrier();
        // ---- 4x4 register block: rows lid.y*4.., cols lid.x*4.. ----
        for (var k = 0u; k < TT_K; k = k + 1u) {
            let av = tile_a[k * 16u + lid.y];
            let bv = tile_b[k * 16u + lid.x];
            acc[0] = fma(vec4<f32>(av.x), bv, acc[0]);
            acc[1] = fma(vec4<f32>(av.y), bv, acc[1]);
            acc[2] = fma(vec4<f32>(av.z), bv, acc[2]);
            acc[3] = fma(vec4<f32>(av.w), bv, acc[3]);
        }
        workgroupBarrier();
    }
    let m = tm0 + lid.y * 4u; let n = tn0 + lid.x * 4u;
    for (var i = 0u; i < 4u; i = i + 1u) {
        if (m + i < M) { store4(CZ + (m + i) * N, n, N, acc[i]); }
    }
}
"#;

pub const HEADER_MAIN: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// matmul.wgsl - C[M,N] = epilogue(op(A)[M,K] x op(B)[K,N] (+ bias[N]))
//
// Entry points
//   matmul_regblock : barrier-free register-blocked kernel; fastest on lavapipe / CPU Vulkan drivers.
//     workgroup_size(8, 2, 1) = 16 invocations. Each invocation computes a 16 (rows) x 8 (cols) block.
//     Rows: invocation (lid.x, lid.y) owns rows m0..m0+15, m0 = (wg.y*2 + lid.y)*16.
//     Cols: lane l = lid.x owns cols wg.x*64 + 4*l + 32*j + c  (j in 0..1, c in 0..3), so the 8 lanes of
//           a SIMD row read consecutive vec4s of B.
//     Workgroup tile: 32 rows x 64 cols  ->  dispatch(ceil(N / 64), ceil(M / 32), 1).
//   matmul_tiled    : classic workgroup-memory tiling for real GPUs.
//     workgroup_size(16, 16, 1) = 256 invocations, each a 4x4 block, K staged 16 at a time.
//     Workgroup tile: 64 rows x 64 cols  ->  dispatch(ceil(N / 64), ceil(M / 64), 1).
//   Keep each dispatch dimension <= 65535 (e.g. M <= 2,097,120 rows for regblock).
//
// Bindings (group 0): 0 uniform MatmulParams, 1 a, 2 b, 3 bias (>= 1 element, read only if has_bias == 1),
//   4 c: array<f32>, row-major [M, N], fully overwritten (with the override ACCUMULATE: read
//   and added to, c = c + epilogue(product), for a gradient's second term; the launcher's
//   MatmulOptions::accumulate).
//   a and b are declared array<vec4<f32>> because lavapipe loads a vec4 about as cheaply as one f32
//   (it runs a per-lane scalar loop per load instruction), which roughly doubles speed.
//   PADDING REQUIREMENT: the bound size of a and b must be a multiple of 16 bytes (round the element
//   count up to a multiple of 4 and zero-pad it), at least 16 bytes. Start offsets must be 16-byte aligned.
//   Layouts: A row-major [M, K] (or [K, M] when TRANS_A), B row-major [K, N] (or [N, K] when TRANS_B).
//
// Transposes: pipeline-overridable constants TRANS_A / TRANS_B (bool, default false), i.e. 4 pipelines;
//   the trans_b uniform field is kept for layout compatibility but ignored.
// Split-K: with p.k_chunk > 0, workgroup z of a dispatch with a z extent sums only k in
//   [z k_chunk, min(K, (z + 1) k_chunk)) and stores to slice z of c (c is then [Z, M, N]; run it
//   with no epilogue); matmul_splitk_sum then adds the slices in order and applies the epilogue.
//   k_chunk must be a multiple of 16 (the vec4 path steps k by 4, the tiled one by 16); 0 = all of K.
// Epilogue: runtime via uniform fields: has_bias (1 = add bias[col]), epilogue 0 none, 1 relu,
//   2 leaky_relu(alpha), 3 tanh, 4 sigmoid; the override PLAIN (set by the launcher when
//   has_bias == 0 and epilogue == 0) compiles it away, which short-K products (weight
//   gradients) feel on lavapipe: their stores are a large share of their time.
//
// Shapes: any M, N, K >= 1. Both kernels pick at run time (uniform branch) between
//   - a vec4 fast path when the contiguous dimension of each operand is a multiple of 4:
//       A: K % 4 == 0 (or M % 4 == 0 when TRANS_A);  B: N % 4 == 0 (or K % 4 == 0 when TRANS_B)
//   - a general path (scalar element fetch) otherwise.
//
// Measured on lavapipe (llvmpipe, LLVM 15.0.6, 256 bits; Mesa 22.3.6), 2-core AMD EPYC (AVX2/FMA),
// 1024 x 1024 x 1024, GFLOP/s best / median of 9 runs (other jobs were sometimes running on this machine):
//   matmul_regblock  NN 19.5 / 19.3   TN(TRANS_A) 18.2 / 18.0   NT(TRANS_B) 19.2 / 19.1   TT 17.6 / 17.0
//                    general path (K = 1023, NN): 13.4
//   matmul_tiled     NN  5.5 /  5.1   TN 5.4 / 5.2              NT 5.3 / 5.2              TT 5.6 / 5.5
// matmul_subgroup.wgsl holds a subgroup version of matmul_regblock (38.4 / 37.8 NN on the same machine),
// used where the adapter has wgpu::Features::SUBGROUP with subgroup size 8.
//
"#;

pub const HEADER_SUBGROUP: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// matmul_subgroup.wgsl (REQUIRES wgpu::Features::SUBGROUP and a subgroup size of exactly 8)
// C[M,N] = epilogue(op(A)[M,K] x op(B)[K,N] (+ bias[N])).
//
// Entry point matmul_subgroup: matmul.wgsl's matmul_regblock (same bindings, override constants,
// padding rules and order of fmas per element of C, so the same bits), except its block and the
// loads of A. Geometry: workgroup_size(8, 2, 1), a 32 x 4 block of C per invocation (32 rows, one
// vec4 of columns), workgroup tile 64 rows x 32 cols -> dispatch(ceil(N / 32), ceil(M / 64), 1).
// In the vec4 fast path each of the 8 lanes of a SIMD row loads 1/8 of the rows of A and shares
// them with subgroupBroadcast. lavapipe pays per load instruction (a per-lane loop), so a lane
// with R shared rows and C own columns issues R/8 + C loads per 4 values of k for 4 R C fmas:
// with R C = 128 registers of sums, 32 x 4 needs 8 loads where 16 x 8 needed 10.
// The lanes of a subgroup must be the 8 invocations with equal lid.y: use only where the adapter's
// subgroup size is 8 (lavapipe's SIMD width on AVX2), never on GPUs with 32- or 64-wide subgroups.
// It lives in its own module because a module using subgroup ops fails on devices without the feature.
//
// Measured on lavapipe (llvmpipe, LLVM 15.0.6, 256 bits; Mesa 22.3.6), 2-core AMD EPYC (AVX2/FMA),
// 1024 x 1024 x 1024, GFLOP/s best / median of 9 runs, with the earlier 16 x 8 block:
//   NN 38.4 / 37.8   TN 36.3 / 35.4   NT 37.5 / 36.6   TT 37.1 / 36.0   general path (K = 1023) 13.4
// 32 x 4 against 16 x 8 on a 2-core Intel Xeon (AVX-512, llvmpipe 256 bits), interleaved runs of
// the same command (`cargo run --release -p gan-tensor --example matmul -- 1024`): 21.6-33.8
// against 15.4-26.5 GFLOP/s (7 runs each); see README "Benchmarks" for the training steps.
//
"#;

pub const HEADER_C4: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// matmul_c4.wgsl / matmul_subgroup_c4.wgsl: matmul_regblock / matmul_subgroup (same bindings,
// constants, geometry and loads; see their files) for N % 4 == 0, with C bound as vec4s so that
// each lane stores a vec4 where the others store four scalars (lavapipe turns every storage
// store into a per-lane loop, so small-K products, e.g. convolutions with few channels, were
// bound by their stores). The subgroup module REQUIRES wgpu::Features::SUBGROUP with a subgroup
// size of exactly 8, as matmul_subgroup.wgsl does.
//
"#;
