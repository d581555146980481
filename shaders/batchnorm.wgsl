// Batch normalization over NCHW (or [N, C] / [N, C, L], spatial size hw = 1 / L), with
// PyTorch's semantics. Per channel c the statistics run over the m = N * hw values at
// index (n * C + c) * hw + s.
//
// `train` and `backward`: one workgroup of 64 per channel (barrier-light for CPU
// adapters); each invocation walks the channel with stride 64 (stepping its flat index,
// no integer division per value: lavapipe has no vector division), then a tree over
// workgroup memory combines the partial sums. `train` takes two passes for the
// statistics (mean, then the biased variance around it), a third writes y; it also
// updates the running statistics in place, running_var with the unbiased variance.
// `backward` sums dy and dy * xhat, then writes
//   dx = gamma * invstd * (dy - sum(dy) / m - xhat * sum(dy * xhat) / m).
// `eval`: one invocation per element with the running statistics.
// ACT (train and backward): an activation fused after the affine output, 0 none, 1 ReLU,
// 2 LeakyReLU(alpha), alpha >= 0. `train` stores act(z) with z = (x - mean) * scale + beta;
// `backward` takes dy = d loss / d act(z), recomputes z from x (the same expression, so the
// same bits, and z > 0 exactly where act(z) > 0) and uses act'(z) dy in place of dy: the
// bits of the activation's own kernels (elementwise.wgsl) run between BatchNorm and its
// gradient.
// Dispatch: workgroups (channels for train/backward, ceil(total / 256) for eval) folded
// into x and y (each <= 65535), linear workgroup index wg.x + wg.y * num_workgroups.x.

struct Params {
    c: u32,          // channels
    hw: u32,         // spatial size
    m: u32,          // values per channel, N * hw
    total: u32,      // N * C * hw
    eps: f32,
    momentum: f32,
    unbias: f32,     // m / (m - 1), for running_var
    alpha: f32,      // LeakyReLU slope when ACT == 2
}

@group(0) @binding(0) var<uniform> p: Params;

const WG: u32 = 64u;

override ACT: u32 = 0u;

// The fused activation, as elementwise.wgsl's UNARY_RELU / UNARY_LEAKY_RELU compute it.
fn act_fwd(z: f32) -> f32 {
    if ACT == 1u { return max(z, 0.0); }
    if ACT == 2u { return select(p.alpha * z, z, z > 0.0); }
    return z;
}

// Its gradient from the pre-activation z, as BINARY_RELU_BACKWARD /
// BINARY_LEAKY_RELU_BACKWARD compute it from the output (which is > 0 exactly where z is).
fn act_bwd(g: f32, z: f32) -> f32 {
    if ACT == 1u { return select(0.0, g, z > 0.0); }
    if ACT == 2u { return select(p.alpha * g, g, z > 0.0); }
    return g;
}
var<workgroup> partial: array<vec2<f32>, 64>;

// Sum of `v` over the workgroup; every invocation gets the total.
fn workgroup_sum(li: u32, v: vec2<f32>) -> vec2<f32> {
    partial[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if li < s { partial[li] += partial[li + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier(); // everyone has read it before the next call overwrites it
    return total;
}

// The walk over channel c's values k = li, li + 64, ... without a division per step:
// w = (flat index (n * C + c) * hw + s, spatial index s) of the k-th value.
fn walk_start(c: u32, k: u32) -> vec2<u32> {
    let n = k / p.hw;
    let s = k - n * p.hw;
    return vec2<u32>((n * p.c + c) * p.hw + s, s);
}

// What one step of 64 values adds: 64 = dn images and ds more values.
fn walk_step() -> vec2<u32> {
    let dn = WG / p.hw;
    let ds = WG - dn * p.hw;
    return vec2<u32>(dn * p.c * p.hw + ds, ds);
}

fn walk_next(w: vec2<u32>, st: vec2<u32>) -> vec2<u32> {
    var i = w.x + st.x;
    var s = w.y + st.y;
    if s >= p.hw { // carried into the next image: skip the other channels' values
        s -= p.hw;
        i += (p.c - 1u) * p.hw;
    }
    return vec2<u32>(i, s);
}

@group(0) @binding(1) var<storage, read> t_x: array<f32>;
@group(0) @binding(2) var<storage, read> t_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> t_beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> t_y: array<f32>;
@group(0) @binding(5) var<storage, read_write> t_mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> t_invstd: array<f32>;
@group(0) @binding(7) var<storage, read_write> t_running_mean: array<f32>;
@group(0) @binding(8) var<storage, read_write> t_running_var: array<f32>;

@compute @workgroup_size(64)
fn train(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let c = wg.x + wg.y * nwg.x;
    if c >= p.c { return; }
    let inv_m = 1.0 / f32(p.m);
    let st = walk_step();
    var acc = 0.0;
    var w = walk_start(c, li);
    for (var k = li; k < p.m; k += WG) {
        acc += t_x[w.x];
        w = walk_next(w, st);
    }
    let mean = workgroup_sum(li, vec2<f32>(acc, 0.0)).x * inv_m;
    acc = 0.0;
    w = walk_start(c, li);
    for (var k = li; k < p.m; k += WG) {
        let d = t_x[w.x] - mean;
        acc += d * d;
        w = walk_next(w, st);
    }
    let var_biased = workgroup_sum(li, vec2<f32>(acc, 0.0)).x * inv_m;
    let invstd = inverseSqrt(var_biased + p.eps);
    let scale = t_gamma[c] * invstd;
    let beta = t_beta[c];
    w = walk_start(c, li);
    for (var k = li; k < p.m; k += WG) {
        let i = w.x;
        t_y[i] = act_fwd((t_x[i] - mean) * scale + beta);
        w = walk_next(w, st);
    }
    if li == 0u {
        t_mean[c] = mean;
        t_invstd[c] = invstd;
        let mo = p.momentum;
        t_running_mean[c] = (1.0 - mo) * t_running_mean[c] + mo * mean;
        t_running_var[c] = (1.0 - mo) * t_running_var[c] + mo * (var_biased * p.unbias);
    }
}

@group(0) @binding(1) var<storage, read> e_x: array<f32>;
@group(0) @binding(2) var<storage, read> e_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> e_beta: array<f32>;
@group(0) @binding(4) var<storage, read> e_running_mean: array<f32>;
@group(0) @binding(5) var<storage, read> e_running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> e_y: array<f32>;

@compute @workgroup_size(256)
fn eval(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.x + wg.y * nwg.x) * 256u + li;
    if i >= p.total { return; }
    let c = (i / p.hw) % p.c;
    let scale = e_gamma[c] * inverseSqrt(e_running_var[c] + p.eps);
    e_y[i] = (e_x[i] - e_running_mean[c]) * scale + e_beta[c];
}

@group(0) @binding(1) var<storage, read> b_dy: array<f32>;
@group(0) @binding(2) var<storage, read> b_x: array<f32>;
@group(0) @binding(3) var<storage, read> b_gamma: array<f32>;
@group(0) @binding(4) var<storage, read> b_mean: array<f32>;
@group(0) @binding(5) var<storage, read> b_invstd: array<f32>;
@group(0) @binding(6) var<storage, read> b_beta: array<f32>; // read only when ACT != 0
@group(0) @binding(7) var<storage, read_write> b_dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> b_dgamma: array<f32>;
@group(0) @binding(9) var<storage, read_write> b_dbeta: array<f32>;

// The gradient at the affine output of value i: dy, or act'(z) dy with z recomputed as
// the forward computed it (scale = gamma[c] * invstd).
fn grad_at(i: u32, mean: f32, scale: f32, beta: f32) -> f32 {
    if ACT == 0u { return b_dy[i]; }
    return act_bwd(b_dy[i], (b_x[i] - mean) * scale + beta);
}

// true: backward adds its dgamma (dbeta) to what the buffer holds instead of overwriting it
// (a parameter's gradient summed in place: old + new, as a separate add would).
override ADD_DGAMMA: bool = false;
override ADD_DBETA: bool = false;

// Stores channel c's parameter gradients (sums = (sum dy, sum dy * xhat)).
fn store_param_grads(c: u32, sums: vec2<f32>) {
    if ADD_DBETA { b_dbeta[c] = b_dbeta[c] + sums.x; } else { b_dbeta[c] = sums.x; }
    if ADD_DGAMMA { b_dgamma[c] = b_dgamma[c] + sums.y; } else { b_dgamma[c] = sums.y; }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let c = wg.x + wg.y * nwg.x;
    if c >= p.c { return; }
    let mean = b_mean[c];
    let invstd = b_invstd[c];
    let k_dx = b_gamma[c] * invstd;
    let beta = b_beta[c];
    let st = walk_step();
    var acc = vec2<f32>(0.0);
    var w = walk_start(c, li);
    for (var k = li; k < p.m; k += WG) {
        let i = w.x;
        let dy = grad_at(i, mean, k_dx, beta);
        acc += vec2<f32>(dy, dy * (b_x[i] - mean) * invstd);
        w = walk_next(w, st);
    }
    let sums = workgroup_sum(li, acc); // (sum dy, sum dy * xhat)
    if li == 0u {
        store_param_grads(c, sums);
    }
    let inv_m = 1.0 / f32(p.m);
    let mean_dy = sums.x * inv_m;
    let mean_dy_xhat = sums.y * inv_m;
    w = walk_start(c, li);
    for (var k = li; k < p.m; k += WG) {
        let i = w.x;
        let xhat = (b_x[i] - mean) * invstd;
        b_dx[i] = k_dx * (grad_at(i, mean, k_dx, beta) - mean_dy - xhat * mean_dy_xhat);
        w = walk_next(w, st);
    }
}

// ---------------------------------------------------------------------------------------------
// train_serial / backward_serial: the same results as train / backward, bit for bit, with one
// invocation per channel instead of a workgroup, for CPU adapters, where every
// workgroupBarrier suspends and resumes all of a workgroup's SIMD rows (the workgroup kernels
// pass ~20 barriers per channel). Value k of a channel still goes to partial sum k % 64 in
// increasing k, and the 64 partials are combined by the same tree, so the sums are those of
// the workgroup kernels. Workgroups of 8 (one SIMD row of lavapipe; a workgroup runs on one
// thread there, so few channels still spread over the cores). Dispatch: ceil(C / 8)
// workgroups folded into x and y.
// ---------------------------------------------------------------------------------------------

// One step of the walk (the next value of the channel).
fn walk_one() -> vec2<u32> {
    let dn = 1u / p.hw;
    let ds = 1u - dn * p.hw;
    return vec2<u32>(dn * p.c * p.hw + ds, ds);
}

// The workgroup tree of workgroup_sum over 64 partials held by one invocation.
fn tree_sum(parts: ptr<function, array<vec2<f32>, 64>>) -> vec2<f32> {
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        for (var i = 0u; i < s; i++) { (*parts)[i] += (*parts)[i + s]; }
    }
    return (*parts)[0];
}

@compute @workgroup_size(8)
fn train_serial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let c = (wg.x + wg.y * nwg.x) * 8u + li;
    if c >= p.c { return; }
    let inv_m = 1.0 / f32(p.m);
    let st = walk_one();
    var parts: array<vec2<f32>, 64>;
    var w = walk_start(c, 0u);
    for (var k = 0u; k < p.m; k++) {
        parts[k & 63u].x += t_x[w.x];
        w = walk_next(w, st);
    }
    let mean = tree_sum(&parts).x * inv_m;
    parts = array<vec2<f32>, 64>();
    w = walk_start(c, 0u);
    for (var k = 0u; k < p.m; k++) {
        let d = t_x[w.x] - mean;
        parts[k & 63u].x += d * d;
        w = walk_next(w, st);
    }
    let var_biased = tree_sum(&parts).x * inv_m;
    let invstd = inverseSqrt(var_biased + p.eps);
    let scale = t_gamma[c] * invstd;
    let beta = t_beta[c];
    w = walk_start(c, 0u);
    for (var k = 0u; k < p.m; k++) {
        let i = w.x;
        t_y[i] = act_fwd((t_x[i] - mean) * scale + beta);
        w = walk_next(w, st);
    }
    t_mean[c] = mean;
    t_invstd[c] = invstd;
    let mo = p.momentum;
    t_running_mean[c] = (1.0 - mo) * t_running_mean[c] + mo * mean;
    t_running_var[c] = (1.0 - mo) * t_running_var[c] + mo * (var_biased * p.unbias);
}

@compute @workgroup_size(8)
fn backward_serial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let c = (wg.x + wg.y * nwg.x) * 8u + li;
    if c >= p.c { return; }
    let mean = b_mean[c];
    let invstd = b_invstd[c];
    let k_dx = b_gamma[c] * invstd;
    let beta = b_beta[c];
    let st = walk_one();
    var parts: array<vec2<f32>, 64>;
    var w = walk_start(c, 0u);
    for (var k = 0u; k < p.m; k++) {
        let i = w.x;
        let dy = grad_at(i, mean, k_dx, beta);
        parts[k & 63u] += vec2<f32>(dy, dy * (b_x[i] - mean) * invstd);
        w = walk_next(w, st);
    }
    let sums = tree_sum(&parts); // (sum dy, sum dy * xhat)
    store_param_grads(c, sums);
    let inv_m = 1.0 / f32(p.m);
    let mean_dy = sums.x * inv_m;
    let mean_dy_xhat = sums.y * inv_m;
    w = walk_start(c, 0u);
    for (var k = 0u; k < p.m; k++) {
        let i = w.x;
        let xhat = (b_x[i] - mean) * invstd;
        b_dx[i] = k_dx * (grad_at(i, mean, k_dx, beta) - mean_dy - xhat * mean_dy_xhat);
        w = walk_next(w, st);
    }
}
