// Reductions. `reduce_axis` views the input as [outer, len, inner] and writes
// out[o, i] = scale * sum_k x[o, k, i], one invocation per output element (barrier-free,
// which suits CPU adapters); four partial sums shorten the f32 rounding chain.
// `sum_partial` is a workgroup tree: each workgroup of 256 sums a chunk of 2048 values
// into one partial; the host repeats it until one value is left.
// Dispatch: 1-D counts folded into x and y (each <= 65535), linear index
// wg.x + wg.y * num_workgroups.x.

struct Params {
    outer: u32,
    len: u32,
    inner: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// true: reduce_axis adds its sums to y (y = y + scale * sum) instead of overwriting it.
override ACCUMULATE: bool = false;

@compute @workgroup_size(256)
fn reduce_axis(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let id = (wg.x + wg.y * nwg.x) * 256u + li;
    if id >= p.outer * p.inner { return; }
    let o = id / p.inner;
    let i = id % p.inner;
    let base = o * p.len * p.inner + i;
    var acc = vec4<f32>(0.0);
    var k = 0u;
    for (; k + 4u <= p.len; k += 4u) {
        acc += vec4<f32>(x[base + k * p.inner], x[base + (k + 1u) * p.inner],
                         x[base + (k + 2u) * p.inner], x[base + (k + 3u) * p.inner]);
    }
    for (; k < p.len; k += 1u) {
        acc.x += x[base + k * p.inner];
    }
    let v = (acc.x + acc.y + (acc.z + acc.w)) * p.scale;
    if ACCUMULATE { y[id] = y[id] + v; } else { y[id] = v; }
}

const CHUNK: u32 = 2048u;
var<workgroup> partial: array<f32, 256>;

// Here `len` is the number of input values; output j is the sum of chunk j.
@compute @workgroup_size(256)
fn sum_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let g = wg.x + wg.y * nwg.x;
    let start = g * CHUNK;
    var acc = 0.0;
    for (var k = li; k < CHUNK; k += 256u) {
        let idx = start + k;
        if idx < p.len { acc += x[idx]; }
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if li < s { partial[li] += partial[li + s]; }
        workgroupBarrier();
    }
    if li == 0u && start < p.len { y[g] = partial[0] * p.scale; }
}
