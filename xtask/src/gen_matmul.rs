//! `cargo xtask gen-matmul [--check]`: writes `shaders/matmul.wgsl`,
//! `shaders/matmul_subgroup.wgsl` and their vec4-store twins `matmul_c4.wgsl`,
//! `matmul_subgroup_c4.wgsl`. The register-blocked kernels are fully unrolled (a
//! 16 x 8 block of C per invocation, named registers, vec4 loads), which is what makes
//! them fast on lavapipe, so they are generated rather than written by hand. With
//! `--check` nothing is written and a difference is an error (CI runs the same check as a
//! test).
//!
//! Why this shape (measured on lavapipe, 2-core AVX2): each storage-buffer load there is a
//! per-lane scalar loop, so the kernel minimises load instructions per FMA: vec4 loads, a
//! 16 x 8 block per invocation (bigger blocks spill), no barriers; the subgroup variant
//! has each of the 8 lanes load 1/8 of the rows of A and share them with subgroupBroadcast.

use std::path::Path;

use anyhow::{bail, Result};

const C4: [&str; 4] = ["x", "y", "z", "w"];

struct Fin {
    pub tm: usize,
    pub tn: usize,
    pub wgy: usize,
    pub sg: bool,
}

fn push(s: &mut String, ind: usize, l: &str) {
    for _ in 0..ind {
        s.push_str("    ");
    }
    s.push_str(l);
    s.push('\n');
}

/// fast path body for one transpose combination (all vec4 loads aligned)
// The index loops name the registers a{i}, b{j} of the emitted WGSL.
#[allow(clippy::needless_range_loop)]
fn fast_body(f: &Fin, ta: bool, tb: bool, s: &mut String, ind: usize) {
    let (tm, tn) = (f.tm, f.tn);
    let nq = if f.sg { tm / 8 } else { tm };
    // per-invocation clamped bases (rows/cols past the end are clamped: loads stay in bounds, results are not stored)
    if f.sg {
        if !ta {
            for q in 0..nq {
                push(
                    s,
                    ind,
                    &format!("let ra{q} = min(m0 + l + {}u, M - 1u) * K;", 8 * q),
                );
            }
        } else {
            for q in 0..nq {
                push(s, ind, &format!("let fk{q} = (l + {}u) % 4u; let ca{q} = min(m0 + 4u * ((l + {}u) / 4u), M - 4u);", 8 * q, 8 * q));
            }
        }
    } else if !ta {
        for i in 0..tm {
            push(s, ind, &format!("let ra{i} = min(m0 + {i}u, M - 1u) * K;"));
        }
    } else {
        for q in 0..tm / 4 {
            push(
                s,
                ind,
                &format!("let ca{q} = min(m0 + {}u, M - 4u);", 4 * q),
            );
        }
    }
    if tb {
        for j in 0..tn / 4 {
            for c in 0..4 {
                push(
                    s,
                    ind,
                    &format!("let rb{j}{c} = min(n0 + {}u, N - 1u) * K;", 32 * j + c),
                );
            }
        }
    } else {
        for j in 0..tn / 4 {
            push(
                s,
                ind,
                &format!("let cb{j} = min(n0 + {}u, N - 4u);", 32 * j),
            );
        }
    }
    push(s, ind, "for (var k = 0u; k < K; k = k + 4u) {");
    let i2 = ind + 1;
    // A values av(i, kk)
    let mut av = vec![vec![String::new(); 4]; tm];
    if f.sg {
        for q in 0..nq {
            if !ta {
                push(s, i2, &format!("let al{q} = a[(ra{q} + k) >> 2u];"));
            } else {
                push(
                    s,
                    i2,
                    &format!("let al{q} = a[((k + fk{q}) * M + ca{q}) >> 2u];"),
                );
            }
        }
        for i in 0..tm {
            for kk in 0..4 {
                av[i][kk] = if !ta {
                    format!("subgroupBroadcast(al{}.{}, {}u)", i / 8, C4[kk], i % 8)
                } else {
                    let fl = (i / 4) * 4 + kk;
                    format!("subgroupBroadcast(al{}.{}, {}u)", fl / 8, C4[i % 4], fl % 8)
                };
            }
        }
    } else if !ta {
        for i in 0..tm {
            push(s, i2, &format!("let a{i} = a[(ra{i} + k) >> 2u];"));
            for kk in 0..4 {
                av[i][kk] = format!("a{i}.{}", C4[kk]);
            }
        }
    } else {
        for kk in 0..4 {
            for q in 0..tm / 4 {
                push(
                    s,
                    i2,
                    &format!("let a{q}{kk} = a[((k + {kk}u) * M + ca{q}) >> 2u];"),
                );
                for c in 0..4 {
                    av[4 * q + c][kk] = format!("a{q}{kk}.{}", C4[c]);
                }
            }
        }
    }
    let mut bv = vec![vec![String::new(); tn / 4]; 4];
    if !tb {
        for kk in 0..4 {
            for j in 0..tn / 4 {
                push(
                    s,
                    i2,
                    &format!("let b{kk}{j} = b[((k + {kk}u) * N + cb{j}) >> 2u];"),
                );
                bv[kk][j] = format!("b{kk}{j}");
            }
        }
    } else {
        for j in 0..tn / 4 {
            for c in 0..4 {
                push(s, i2, &format!("let b{j}{c} = b[(rb{j}{c} + k) >> 2u];"));
            }
        }
        for kk in 0..4 {
            for j in 0..tn / 4 {
                bv[kk][j] = format!(
                    "vec4<f32>(b{j}0.{x}, b{j}1.{x}, b{j}2.{x}, b{j}3.{x})",
                    x = C4[kk]
                );
            }
        }
    }
    for kk in 0..4 {
        for i in 0..tm {
            let a = if f.sg {
                push(s, i2, &format!("let s{i}{kk} = vec4<f32>({});", av[i][kk]));
                format!("s{i}{kk}")
            } else {
                format!("vec4<f32>({})", av[i][kk])
            };
            for j in 0..tn / 4 {
                push(
                    s,
                    i2,
                    &format!("acc{i}_{j} = fma({a}, {}, acc{i}_{j});", bv[kk][j]),
                );
            }
        }
    }
    push(s, ind, "}");
}

fn gen_regblock(f: &Fin, entry: &str) -> String {
    let (tm, tn, wgy) = (f.tm, f.tn, f.wgy);
    let mut s = String::new();
    push(&mut s, 0, &format!("@compute @workgroup_size(8, {wgy}, 1)"));
    push(&mut s, 0, &format!("fn {entry}(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {{"));
    push(&mut s, 1, "let M = p.m; let N = p.n; let K = p.k;");
    push(
        &mut s,
        1,
        &format!(
            "// lane l owns columns n0 + 32*j + c (j < {}, c < 4) and rows m0 .. m0+{}",
            tn / 4,
            tm - 1
        ),
    );
    push(&mut s, 1, &format!("let l = lid.x; let n0 = wg.x * {}u + 4u * l; let m0 = (wg.y * {wgy}u + lid.y) * {tm}u;", 8 * tn));
    for i in 0..tm {
        let z = (0..tn / 4)
            .map(|j| format!("acc{i}_{j}"))
            .collect::<Vec<_>>();
        push(
            &mut s,
            1,
            &format!(
                "var {} = vec4<f32>(0.0);",
                z.join(" = vec4<f32>(0.0); var ")
            ),
        );
    }
    push(&mut s, 1, "// vec4 fast path needs the contiguous dimension of each operand to be a multiple of 4 (uniform branch)");
    push(
        &mut s,
        1,
        "let a_vec = select(K % 4u == 0u, M % 4u == 0u, TRANS_A);",
    );
    push(
        &mut s,
        1,
        "let b_vec = select(N % 4u == 0u, K % 4u == 0u, TRANS_B);",
    );
    push(&mut s, 1, "if (a_vec && b_vec) {");
    for (idx, (ta, tb)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let cond = format!(
            "{}TRANS_A && {}TRANS_B",
            if ta { "" } else { "!" },
            if tb { "" } else { "!" }
        );
        push(
            &mut s,
            2,
            &format!("{}if ({cond}) {{", if idx == 0 { "" } else { "} else " }),
        );
        fast_body(f, ta, tb, &mut s, 3);
    }
    push(&mut s, 2, "}");
    push(&mut s, 1, "} else {");
    push(
        &mut s,
        2,
        "// general path: any shape, one k per step, scalar element fetch (slower)",
    );
    for i in 0..tm {
        push(&mut s, 2, &format!("let r{i} = min(m0 + {i}u, M - 1u);"));
    }
    for j in 0..tn / 4 {
        for c in 0..4 {
            push(
                &mut s,
                2,
                &format!("let c{j}{c} = min(n0 + {}u, N - 1u);", 32 * j + c),
            );
        }
    }
    push(&mut s, 2, "for (var k = 0u; k < K; k = k + 1u) {");
    for i in 0..tm {
        push(
            &mut s,
            3,
            &format!("let a{i} = vec4<f32>(lda(r{i}, k, M, K));"),
        );
    }
    for j in 0..tn / 4 {
        push(&mut s, 3, &format!("let b{j} = vec4<f32>(ldb(k, c{j}0, N, K), ldb(k, c{j}1, N, K), ldb(k, c{j}2, N, K), ldb(k, c{j}3, N, K));"));
    }
    for i in 0..tm {
        for j in 0..tn / 4 {
            push(
                &mut s,
                3,
                &format!("acc{i}_{j} = fma(a{i}, b{j}, acc{i}_{j});"),
            );
        }
    }
    push(&mut s, 2, "}");
    push(&mut s, 1, "}");
    push(&mut s, 1, "// epilogue + guarded store");
    for i in 0..tm {
        push(&mut s, 1, &format!("if (m0 + {i}u < M) {{"));
        push(&mut s, 2, &format!("let row = (m0 + {i}u) * N;"));
        for j in 0..tn / 4 {
            push(
                &mut s,
                2,
                &format!("store4(row, n0 + {}u, N, acc{i}_{j});", 32 * j),
            );
        }
        push(&mut s, 1, "}");
    }
    push(&mut s, 0, "}");
    s
}

const COMMON: &str = r#"struct MatmulParams { m: u32, n: u32, k: u32, trans_a: u32, trans_b: u32, epilogue: u32, alpha: f32, has_bias: u32 }
@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;  // C_BINDING

// Transpose selection (pipeline-overridable constants; the trans_a/trans_b uniform fields are ignored).
override TRANS_A: bool = false;   // true: A is stored as A^T, i.e. [K, M] row-major
override TRANS_B: bool = false;   // true: B is stored as B^T, i.e. [N, K] row-major

// Scalar element fetch from a vec4-typed buffer (general / unaligned path).
fn fetch_a(e: u32) -> f32 { return a[e >> 2u][e & 3u]; }
fn fetch_b(e: u32) -> f32 { return b[e >> 2u][e & 3u]; }
// op(A)[m, k] and op(B)[k, n]; callers clamp indices to the matrix.
fn lda(m: u32, k: u32, M: u32, K: u32) -> f32 { return fetch_a(select(m * K + k, k * M + m, TRANS_A)); }
fn ldb(k: u32, n: u32, N: u32, K: u32) -> f32 { return fetch_b(select(k * N + n, n * K + k, TRANS_B)); }

// BEGIN op ids
// Fused epilogue: optional bias[col], then the activation p.epilogue selects (a UNARY_* id).
fn epi(x: f32, col: u32) -> f32 {
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

const STORE_SCALAR: &str = r#"
// Store 4 consecutive columns col..col+3 of one row (row = m * N), guarded against N.
fn store4(row: u32, col: u32, N: u32, v: vec4<f32>) {
    if (col < N) { c[row + col] = epi(v.x, col); }
    if (col + 1u < N) { c[row + col + 1u] = epi(v.y, col + 1u); }
    if (col + 2u < N) { c[row + col + 2u] = epi(v.z, col + 2u); }
    if (col + 3u < N) { c[row + col + 3u] = epi(v.w, col + 3u); }
}
"#;

const STORE_VEC4: &str = r#"
// The vec4 fused epilogue: optional bias[col..col+3], then the activation, lane-wise.
fn epi4(x: vec4<f32>, col: u32) -> vec4<f32> {
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
    if (col < N) { c[(row + col) >> 2u] = epi4(v, col); }
}
"#;

/// The bindings and helpers every module shares; `c4`: C bound as vec4s (N % 4 == 0).
fn common(c4: bool) -> String {
    let common = COMMON.replace("// BEGIN op ids\n", &(gan_tensor::ops::wgsl_block() + "\n"));
    if c4 {
        common.replace(
            "var<storage, read_write> c: array<f32>;  // C_BINDING",
            "var<storage, read_write> c: array<vec4<f32>>;  // N % 4 == 0",
        ) + STORE_VEC4
    } else {
        common.replace("  // C_BINDING", "") + STORE_SCALAR
    }
}

const TILED: &str = r#"
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
    let tm0 = wg.y * 64u; let tn0 = wg.x * 64u;
    let a_vec = select(K % 4u == 0u, M % 4u == 0u, TRANS_A);
    let b_vec = select(N % 4u == 0u, K % 4u == 0u, TRANS_B);
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < K; k0 = k0 + TT_K) {
        // ---- stage op(A)[tm0..+64, k0..+16] into tile_a[k][m] (256 threads, 4 elements each) ----
        if (!TRANS_A) {
            // A row-major [M, K]: thread -> (row = li / 4, 4 consecutive k)
            let m = tm0 + li / 4u; let kq = (li % 4u) * 4u; let kk = k0 + kq;
            var v = vec4<f32>(0.0);
            if (a_vec && m < M && kk + 3u < K) { v = a[(m * K + kk) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (m < M && kk + t < K) { v[t] = fetch_a(m * K + kk + t); } } }
            let ml = li / 4u;
            for (var t = 0u; t < 4u; t = t + 1u) { tile_a[(kq + t) * 16u + ml / 4u][ml % 4u] = v[t]; }
        } else {
            // A^T stored [K, M]: thread -> (k = li / 16, 4 consecutive m)
            let kl = li / 16u; let kk = k0 + kl; let ml = (li % 16u) * 4u; let m = tm0 + ml;
            var v = vec4<f32>(0.0);
            if (a_vec && kk < K && m + 3u < M) { v = a[(kk * M + m) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (kk < K && m + t < M) { v[t] = fetch_a(kk * M + m + t); } } }
            tile_a[kl * 16u + ml / 4u] = v;
        }
        // ---- stage op(B)[k0..+16, tn0..+64] into tile_b[k][n] ----
        if (!TRANS_B) {
            // B row-major [K, N]: thread -> (k = li / 16, 4 consecutive n)
            let kl = li / 16u; let kk = k0 + kl; let nl = (li % 16u) * 4u; let n = tn0 + nl;
            var v = vec4<f32>(0.0);
            if (b_vec && kk < K && n + 3u < N) { v = b[(kk * N + n) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (kk < K && n + t < N) { v[t] = fetch_b(kk * N + n + t); } } }
            tile_b[kl * 16u + nl / 4u] = v;
        } else {
            // B^T stored [N, K]: thread -> (col = li / 4, 4 consecutive k)
            let n = tn0 + li / 4u; let kq = (li % 4u) * 4u; let kk = k0 + kq;
            var v = vec4<f32>(0.0);
            if (b_vec && n < N && kk + 3u < K) { v = b[(n * K + kk) >> 2u]; }
            else { for (var t = 0u; t < 4u; t = t + 1u) { if (n < N && kk + t < K) { v[t] = fetch_b(n * K + kk + t); } } }
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
        if (m + i < M) { store4((m + i) * N, n, N, acc[i]); }
    }
}
"#;

const HEADER_MAIN: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
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
//   4 c: array<f32>, row-major [M, N], fully overwritten.
//   a and b are declared array<vec4<f32>> because lavapipe loads a vec4 about as cheaply as one f32
//   (it runs a per-lane scalar loop per load instruction), which roughly doubles speed.
//   PADDING REQUIREMENT: the bound size of a and b must be a multiple of 16 bytes (round the element
//   count up to a multiple of 4 and zero-pad it), at least 16 bytes. Start offsets must be 16-byte aligned.
//   Layouts: A row-major [M, K] (or [K, M] when TRANS_A), B row-major [K, N] (or [N, K] when TRANS_B).
//
// Transposes: pipeline-overridable constants TRANS_A / TRANS_B (bool, default false), i.e. 4 pipelines;
//   the trans_a / trans_b uniform fields are kept for layout compatibility but ignored.
// Epilogue: runtime via uniform fields: has_bias (1 = add bias[col]), epilogue 0 none, 1 relu,
//   2 leaky_relu(alpha), 3 tanh, 4 sigmoid.
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

const HEADER_SUBGROUP: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// matmul_subgroup.wgsl (REQUIRES wgpu::Features::SUBGROUP and a subgroup size of exactly 8)
// C[M,N] = epilogue(op(A)[M,K] x op(B)[K,N] (+ bias[N])).
//
// Entry point matmul_subgroup: matmul.wgsl's matmul_regblock (same bindings, override constants,
// padding rules, geometry: workgroup_size(8, 2, 1), 16 x 8 block of C per invocation, workgroup
// tile 32 rows x 64 cols -> dispatch(ceil(N / 64), ceil(M / 32), 1)), except that in the vec4 fast
// path each of the 8 lanes of a SIMD row loads 1/8 of the rows of A and shares them with
// subgroupBroadcast: lavapipe pays per load instruction, so this halves the loads.
// The lanes of a subgroup must be the 8 invocations with equal lid.y: use only where the adapter's
// subgroup size is 8 (lavapipe's SIMD width on AVX2), never on GPUs with 32- or 64-wide subgroups.
// It lives in its own module because a module using subgroup ops fails on devices without the feature.
//
// Measured on lavapipe (llvmpipe, LLVM 15.0.6, 256 bits; Mesa 22.3.6), 2-core AMD EPYC (AVX2/FMA),
// 1024 x 1024 x 1024, GFLOP/s best / median of 9 runs:
//   NN 38.4 / 37.8   TN 36.3 / 35.4   NT 37.5 / 36.6   TT 37.1 / 36.0   general path (K = 1023) 13.4
//
"#;

const HEADER_C4: &str = r#"// GENERATED by `cargo xtask gen-matmul` (xtask/src/gen_matmul.rs): edit the generator, not this file.
// matmul_c4.wgsl / matmul_subgroup_c4.wgsl: matmul_regblock / matmul_subgroup (same bindings,
// constants, geometry and loads; see their files) for N % 4 == 0, with C bound as vec4s so that
// each lane stores a vec4 where the others store four scalars (lavapipe turns every storage
// store into a per-lane loop, so small-K products, e.g. convolutions with few channels, were
// bound by their stores). The subgroup module REQUIRES wgpu::Features::SUBGROUP with a subgroup
// size of exactly 8, as matmul_subgroup.wgsl does.
//
"#;

/// (file name under shaders/, contents) of every generated shader.
pub fn generate() -> Vec<(&'static str, String)> {
    let plain = Fin {
        tm: 16,
        tn: 8,
        wgy: 2,
        sg: false,
    };
    let shared = Fin {
        tm: 16,
        tn: 8,
        wgy: 2,
        sg: true,
    };
    vec![
        (
            "matmul.wgsl",
            format!(
                "{HEADER_MAIN}{}\n{}{TILED}",
                common(false),
                gen_regblock(&plain, "matmul_regblock")
            ),
        ),
        (
            "matmul_subgroup.wgsl",
            format!(
                "{HEADER_SUBGROUP}{}\n{}",
                common(false),
                gen_regblock(&shared, "matmul_subgroup")
            ),
        ),
        (
            "matmul_c4.wgsl",
            format!(
                "{HEADER_C4}{}\n{}",
                common(true),
                gen_regblock(&plain, "matmul_regblock_c4")
            ),
        ),
        (
            "matmul_subgroup_c4.wgsl",
            format!(
                "{HEADER_C4}{}\n{}",
                common(true),
                gen_regblock(&shared, "matmul_subgroup_c4")
            ),
        ),
    ]
}

/// Hand-written shaders whose op-id block (gan_tensor::ops) the task refreshes.
const HOLDERS: [&str; 2] = ["elementwise.wgsl", "matmul_narrow.wgsl"];

pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let mut files = generate();
    for name in HOLDERS {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)?;
        match gan_tensor::ops::refresh(&text) {
            Some(new) => files.push((name, new)),
            None => bail!("{} has no op-id block", path.display()),
        }
    }
    for (name, src) in files {
        let path = dir.join(name);
        if check {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            if on_disk != src {
                bail!(
                    "{} differs from the generator; run `cargo xtask gen-matmul`",
                    path.display()
                );
            }
            println!("{}: up to date", path.display());
        } else {
            std::fs::write(&path, src)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_matmul_shaders_match_the_generator() {
        super::run(&["--check".to_string()]).unwrap();
    }
}
