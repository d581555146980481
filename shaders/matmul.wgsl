// PLACEHOLDER (simple register-blocked kernel) until the tuned kernels land.
// C[m, n] = act(op(A) x op(B) + bias). Each invocation computes a 4x4 block of C.
// matmul_regblock: workgroup 8x8 -> 32x32 tile of C; matmul_tiled: 16x16 -> 64x64.
// Grid: x = ceil(N / tile_cols), y = ceil(M / tile_rows).

struct MatmulParams { m: u32, n: u32, k: u32, trans_a: u32, trans_b: u32, epilogue: u32, alpha: f32, has_bias: u32 }
override TRANS_A: u32 = 0u;
override TRANS_B: u32 = 0u;
@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

fn load_a(row: u32, kk: u32) -> f32 {
    if row >= p.m { return 0.0; }
    if TRANS_A == 1u { return a[kk * p.m + row]; }
    return a[row * p.k + kk];
}
fn load_b(kk: u32, col: u32) -> f32 {
    if col >= p.n { return 0.0; }
    if TRANS_B == 1u { return b[col * p.k + kk]; }
    return b[kk * p.n + col];
}
fn epilogue(v: f32, col: u32) -> f32 {
    var x = v;
    if p.has_bias == 1u { x += bias[col]; }
    switch p.epilogue {
        case 1u: { x = max(x, 0.0); }
        case 2u: { x = select(p.alpha * x, x, x > 0.0); }
        case 3u: { let e = exp(-2.0 * abs(x)); x = sign(x) * (1.0 - e) / (1.0 + e); }
        case 4u: { if x >= 0.0 { x = 1.0 / (1.0 + exp(-x)); } else { let e = exp(x); x = e / (1.0 + e); } }
        default: {}
    }
    return x;
}
fn block(row0: u32, col0: u32) {
    var acc: array<array<f32, 4>, 4>;
    for (var kk = 0u; kk < p.k; kk++) {
        var av: array<f32, 4>;
        var bv: array<f32, 4>;
        for (var i = 0u; i < 4u; i++) { av[i] = load_a(row0 + i, kk); bv[i] = load_b(kk, col0 + i); }
        for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { acc[i][j] += av[i] * bv[j]; } }
    }
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            let r = row0 + i; let q = col0 + j;
            if r < p.m && q < p.n { c[r * p.n + q] = epilogue(acc[i][j], q); }
        }
    }
}
@compute @workgroup_size(8, 8)
fn matmul_regblock(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    block(wg.y * 32u + l.y * 4u, wg.x * 32u + l.x * 4u);
}
@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    block(wg.y * 64u + l.y * 4u, wg.x * 64u + l.x * 4u);
}
