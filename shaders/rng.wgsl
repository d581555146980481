// Counter-based random fill: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011). One invocation per block of four outputs:
// element 4b + j is word j of Philox(counter = [b, 0, stream0, stream1], key = seed),
// so a (seed, stream) pair names the same numbers on every launch and every adapter with
// exact integer math; src/reference/rng.rs is the bit-exact CPU twin.
// `offset` starts the output at element `offset` of the stream (a shard of a larger draw:
// out[i] = element offset + i), so a batch split across processes draws exactly the rows
// one process would. Dispatch: ceil(ceil((offset % 4 + n) / 4) / 256) workgroups folded
// into x and y (each <= 65535); the linear workgroup index is wg.x + wg.y * num_workgroups.x.

struct Params {
    n: u32,
    key0: u32,        // the 64-bit seed: low word
    key1: u32,        // high word
    stream0: u32,     // counter word 2: the stream's low word
    stream1: u32,     // counter word 3: its high word
    a: f32,           // uniform: lo; normal: mean
    b: f32,           // uniform: hi - lo; normal: std
    c: f32,           // uniform: the largest f32 below hi
    offset: u32,      // the stream element that out[0] receives
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

// High and low words of the 64-bit product a * b, from 16-bit halves (WGSL has no
// widening multiply).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    let hi = a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var round = 0u; round < 10u; round += 1u) {
        if round > 0u {
            k += vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let r0 = mulhilo(0xD2511F53u, c.x);
        let r1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
    }
    return c;
}

// The stream's block of this invocation: the first block holding element `offset`, plus
// the linear invocation index.
fn block_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return p.offset / 4u + (wg.x + wg.y * nwg.x) * 256u + li;
}

fn block(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> vec4<u32> {
    let b = block_index(wg, nwg, li);
    return philox4x32_10(vec4<u32>(b, 0u, p.stream0, p.stream1), vec2<u32>(p.key0, p.key1));
}

// Position in `out` of the block's first word (may be up to 3 below 0: as i32).
fn base(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> i32 {
    return i32(block_index(wg, nwg, li) * 4u) - i32(p.offset);
}

const TWO_POW_M24: f32 = 5.9604644775390625e-8;

fn store1(i: i32, x: f32) {
    if i >= 0 && u32(i) < p.n { out[u32(i)] = x; }
}

fn store4(i: i32, v: vec4<f32>) {
    store1(i, v.x);
    store1(i + 1, v.y);
    store1(i + 2, v.z);
    store1(i + 3, v.w);
}

@compute @workgroup_size(256)
fn rand_uniform(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = base(wg, nwg, li);
    if i >= i32(p.n) { return; }
    // The top 24 bits give u in [0, 1) exactly; rounding of lo + range * u may reach hi,
    // so clamp to the largest float below it.
    let u = vec4<f32>(block(wg, nwg, li) >> vec4<u32>(8u)) * TWO_POW_M24;
    store4(i, min(vec4<f32>(p.a) + vec4<f32>(p.b) * u, vec4<f32>(p.c)));
}

// -ln(u1) for u1 = (k + 1) / 2^24 in (0, 1]. Near u1 = 1 the adapter's log may carry an
// absolute error (Vulkan allows 2^-21), which sqrt would blow up, so with w = 1 - u1
// (exact) below 1/64 use the series w + w^2/2 + ... + w^5/5 (truncation < w^6/6).
fn neg_log_u(r: u32) -> f32 {
    let k = r >> 8u;
    let w = f32(0xFFFFFFu - k) * TWO_POW_M24;
    if w < 0.015625 {
        return w * (1.0 + w * (0.5 + w * (0.33333333 + w * (0.25 + w * 0.2))));
    }
    return -log(f32(k + 1u) * TWO_POW_M24);
}

const PI: f32 = 3.14159265358979;

// Box-Muller on word pairs: r = sqrt(-2 ln u1), angle = pi * (2 u2 - 1) in [-pi, pi)
// (where sin and cos are most accurate); the pair gives r cos and r sin.
fn box_muller(r1: u32, r2: u32) -> vec2<f32> {
    let r = sqrt(2.0 * neg_log_u(r1));
    let theta = PI * (f32(r2 >> 8u) * (2.0 * TWO_POW_M24) - 1.0);
    return r * vec2<f32>(cos(theta), sin(theta));
}

@compute @workgroup_size(256)
fn rand_normal(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = base(wg, nwg, li);
    if i >= i32(p.n) { return; }
    let r = block(wg, nwg, li);
    let z = vec4<f32>(box_muller(r.x, r.y), box_muller(r.z, r.w));
    store4(i, vec4<f32>(p.a) + vec4<f32>(p.b) * z);
}

// Inverted dropout in one pass (the layer's five launches before: uniform draw, fill,
// shift, step, product). mask = 1 / (1 - p) where u > p, else 0, with u the stream's
// uniform in [0, 1) exactly as rand_uniform draws it (same element, same bits); y = x * mask.
// Params: a = p (the drop rate), b = 1 / (1 - p); n and offset as above. Bindings: x is the
// input (read), then the outputs mask and y.
@group(0) @binding(1) var<storage, read> drop_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> drop_mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> drop_y: array<f32>;

fn drop1(i: i32, u: f32) {
    if i >= 0 && u32(i) < p.n {
        let m = select(0.0, p.b, u > p.a);
        drop_mask[u32(i)] = m;
        drop_y[u32(i)] = drop_x[u32(i)] * m;
    }
}

@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = base(wg, nwg, li);
    if i >= i32(p.n) { return; }
    let u = vec4<f32>(block(wg, nwg, li) >> vec4<u32>(8u)) * TWO_POW_M24;
    drop1(i, u.x);
    drop1(i + 1, u.y);
    drop1(i + 2, u.z);
    drop1(i + 3, u.w);
}
