// 2-D convolution, NCHW, direct gather form: one invocation per output element, looping
// over its receptive field. Barrier-free and atomic-free, which suits CPU adapters.
//
// The direct kernels (conv2d_forward, conv2d_backward_input, conv2d_backward_weight) are
// the fallback; the fast path (conv.rs, im2col.rs) lowers each convolution to one matmul
// between a column matrix and the weight, with the layout kernels at the end of this file.
//
// Every entry point is phrased in the geometry of one conv2d:
//   x  [n, cin, h, w]       the convolution's input
//   wt [cout, cin, kh, kw]  its weight (PyTorch Conv2d layout)
//   y  [n, cout, oh, ow]    its output, y = x (*) wt with stride (sh, sw), padding (ph, pw)
// The transposed convolution reuses these kernels with roles swapped (see conv.rs):
// conv_transpose2d is conv2d_backward_input, its input gradient is conv2d_forward and its
// weight gradient is conv2d_backward_weight with x and dy exchanged.
//
// Bindings: 0 = params, then read-only inputs, then the output. Entry points reuse
// binding numbers with their own variables; each uses only its own.
// Dispatch: ceil(total / 64) workgroups folded into x and y (each <= 65535); the linear
// workgroup index is wg.x + wg.y * num_workgroups.x. The host keeps every extent and
// padded extent below 2^31. A row base such as `... * w + col0 - pw` may wrap below zero
// (u32 arithmetic wraps in WGSL); adding a tap that the range checks allow brings it
// back inside the row, so every index read is in bounds.

struct Params {
    n: u32,
    cin: u32,
    h: u32,
    w: u32,
    cout: u32,
    oh: u32,
    ow: u32,
    total: u32,   // invocations that write: elements of this entry point's output
    kh: u32,
    kw: u32,
    sh: u32,
    sw: u32,
    ph: u32,
    pw: u32,
    kp: u32,      // im2col layout: row length of the column matrix (cin*kh*kw rounded up)
    cp: u32,      // im2col layout: row length of the channel-last matrix (cout or more)
}

@group(0) @binding(0) var<uniform> p: Params;

// conv2d_forward[_bias]: x, wt (, bias[cout]) -> y
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y_bias: array<f32>;

// conv2d_backward_input[_bias]: dy, wt (, bias[cin]) -> dx
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx_bias: array<f32>;

// im2col layout kernels: src -> dst (col2im_bias: src, bias_c[cin] -> dx)
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> bias_c: array<f32>;

// conv2d_backward_weight: x, dy -> dw (dy sits at binding 2 here)
@group(0) @binding(2) var<storage, read> dy_w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 64u + li;
}

// Kernel taps k in [lo, hi) for which o * stride + k - pad lands inside [0, len).
fn taps(o: u32, stride: u32, pad: u32, len: u32, k_len: u32) -> vec2<u32> {
    let start = o * stride;                  // input index + pad of tap 0
    let lo = select(0u, pad - start, pad > start);
    let hi = select(0u, min(k_len, len + pad - start), len + pad > start);
    return vec2<u32>(lo, hi);
}

// Outputs o in [lo, hi) for which o * stride + k - pad lands inside [0, len).
fn outputs(k: u32, stride: u32, pad: u32, len: u32, out_len: u32) -> vec2<u32> {
    let lo = select(0u, (pad - k + stride - 1u) / stride, pad > k);
    let hi = select(0u, min(out_len, (len - 1u + pad - k) / stride + 1u), len + pad > k);
    return vec2<u32>(lo, hi);
}

// Kernel taps [lo, hi) that reach input position `t` (an input index plus the padding) from
// an output position in [0, out_len): t - k must be a multiple of `stride` (the caller
// steps by it from lo) and at most (out_len - 1) * stride.
fn taps_to(t: u32, stride: u32, out_len: u32, k_len: u32) -> vec2<u32> {
    let reach = (out_len - 1u) * stride;
    let lo = select(t % stride, t - reach, t >= reach);
    return vec2<u32>(lo, min(k_len, t + 1u));
}

// The row-major index (a, b, c, d) of `id` in an array of dims [.., nb, nc, nd], as
// vec4(a, b, c, d).
fn unravel4(id: u32, nb: u32, nc: u32, nd: u32) -> vec4<u32> {
    let d = id % nd;
    var r = id / nd;
    let c = r % nc;
    r = r / nc;
    return vec4<u32>(r / nb, r % nb, c, d);
}

// The row-major index (a, b, c) of `id` in an array of dims [.., nb, nc].
fn unravel3(id: u32, nb: u32, nc: u32) -> vec3<u32> {
    let c = id % nc;
    let r = id / nc;
    return vec3<u32>(r / nb, r % nb, c);
}

// y[n, co, oh, ow] without bias; `id` indexes y.
fn forward_sum(id: u32) -> f32 {
    let i = unravel4(id, p.cout, p.oh, p.ow);
    let n = i.x;
    let co = i.y;
    let oh = i.z;
    let ow = i.w;
    let th = taps(oh, p.sh, p.ph, p.h, p.kh);
    let tw = taps(ow, p.sw, p.pw, p.w, p.kw);
    // Input row/column of tap 0 plus the padding, so ih = row0 + kh - ph >= 0 in range.
    let row0 = oh * p.sh;
    let col0 = ow * p.sw;
    var acc = 0.0;
    for (var ci = 0u; ci < p.cin; ci += 1u) {
        let xc = (n * p.cin + ci) * p.h;
        let wc = (co * p.cin + ci) * p.kh;
        for (var kh = th.x; kh < th.y; kh += 1u) {
            let xrow = (xc + row0 + kh - p.ph) * p.w + col0 - p.pw;
            let wrow = (wc + kh) * p.kw;
            for (var kw = tw.x; kw < tw.y; kw += 1u) {
                acc += x[xrow + kw] * wt[wrow + kw];
            }
        }
    }
    return acc;
}

@compute @workgroup_size(64)
fn conv2d_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    y[id] = forward_sum(id);
}

@compute @workgroup_size(64)
fn conv2d_forward_bias(@builtin(workgroup_id) wg: vec3<u32>,
                       @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    y_bias[id] = forward_sum(id) + bias[unravel4(id, p.cout, p.oh, p.ow).y];
}

// dx[n, ci, ih, iw] = sum over (co, kh, kw) with ih + ph - kh = oh * sh for an output row
// oh in [0, oh), likewise for columns, of dy[n, co, oh, ow] * wt[co, ci, kh, kw].
// Only taps congruent to (ih + ph) mod sh contribute, so the loops step by the stride.
fn backward_input_sum(id: u32) -> f32 {
    let i = unravel4(id, p.cin, p.h, p.w);
    let n = i.x;
    let ci = i.y;
    let th = i.z + p.ph;
    let tw = i.w + p.pw;
    let kh_r = taps_to(th, p.sh, p.oh, p.kh);
    let kw_r = taps_to(tw, p.sw, p.ow, p.kw);
    var acc = 0.0;
    for (var co = 0u; co < p.cout; co += 1u) {
        let dyc = (n * p.cout + co) * p.oh;
        let wc = (co * p.cin + ci) * p.kh;
        for (var kh = kh_r.x; kh < kh_r.y; kh += p.sh) {
            let dyrow = (dyc + (th - kh) / p.sh) * p.ow;
            let wrow = (wc + kh) * p.kw;
            for (var kw = kw_r.x; kw < kw_r.y; kw += p.sw) {
                acc += dy[dyrow + (tw - kw) / p.sw] * wt[wrow + kw];
            }
        }
    }
    return acc;
}

@compute @workgroup_size(64)
fn conv2d_backward_input(@builtin(workgroup_id) wg: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    dx[id] = backward_input_sum(id);
}

// Used as conv_transpose2d with bias: the bias is per channel of dx (cin here).
@compute @workgroup_size(64)
fn conv2d_backward_input_bias(@builtin(workgroup_id) wg: vec3<u32>,
                              @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    dx_bias[id] = backward_input_sum(id) + bias[unravel4(id, p.cin, p.h, p.w).y];
}

// dw[co, ci, kh, kw] = sum over (n, oh, ow) of dy[n, co, oh, ow] * x[n, ci, ih, iw] with
// ih = oh * sh + kh - ph inside [0, h), likewise for columns.
@compute @workgroup_size(64)
fn conv2d_backward_weight(@builtin(workgroup_id) wg: vec3<u32>,
                          @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let i = unravel4(id, p.cin, p.kh, p.kw);
    let co = i.x;
    let ci = i.y;
    let kh = i.z;
    let kw = i.w;
    let rows = outputs(kh, p.sh, p.ph, p.h, p.oh);
    let cols = outputs(kw, p.sw, p.pw, p.w, p.ow);
    var acc = 0.0;
    for (var n = 0u; n < p.n; n += 1u) {
        let dyc = (n * p.cout + co) * p.oh;
        let xc = (n * p.cin + ci) * p.h;
        for (var oh = rows.x; oh < rows.y; oh += 1u) {
            let dyrow = (dyc + oh) * p.ow;
            let xrow = (xc + oh * p.sh + kh - p.ph) * p.w + kw - p.pw;
            for (var ow = cols.x; ow < cols.y; ow += 1u) {
                acc += dy_w[dyrow + ow] * x[xrow + ow * p.sw];
            }
        }
    }
    dw[id] = acc;
}

// ---- im2col layout kernels --------------------------------------------------------------
// cols [n * oh * ow, kp]: row (n, oh, ow), column (ci, kh, kw) < cin * kh * kw holds the
// input under that tap (0 in the padding), columns from cin * kh * kw to kp are 0 (they
// keep matmul's rows a multiple of 4 long). Channel-last matrices [n * oh * ow, cp] hold
// y or dy with row (n, oh, ow), column co < cout; columns from cout to cp are 0.

// im2col itself and col2im are the per-row kernels `im2col_units`, `im2col_units4` and
// `col2im_rows` below (one invocation per (row, channel) or per input row).

// channel-last src [n * oh * ow, cp] -> y [n, cout, oh, ow]
@compute @workgroup_size(64)
fn rows_to_nchw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let s = p.oh * p.ow;
    let i = unravel3(id, p.cout, s); // (n, co, spatial)
    dst[id] = src[(i.x * s + i.z) * p.cp + i.y];
}

// dy [n, cout, oh, ow] -> channel-last [n * oh * ow, cp]
@compute @workgroup_size(64)
fn nchw_to_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let s = p.oh * p.ow;
    let i = unravel3(id, s, p.cp); // (n, spatial, co)
    var v = 0.0;
    if i.z < p.cout {
        v = src[(i.x * p.cout + i.z) * s + i.y];
    }
    dst[id] = v;
}

// wt [cout, cin * kh * kw] -> [rows, kp], zero outside (rows = total / kp >= cout)
@compute @workgroup_size(64)
fn pad_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let k = p.cin * p.kh * p.kw;
    let col = id % p.kp;
    let row = id / p.kp;
    var v = 0.0;
    if row < p.cout && col < k {
        v = src[row * k + col];
    }
    dst[id] = v;
}

// [rows, kp] -> dw [cout, cin * kh * kw]: the top-left block
@compute @workgroup_size(64)
fn crop_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let k = p.cin * p.kh * p.kw;
    dst[id] = src[(id / k) * p.kp + id % k];
}

// crop_weight added to dw (dw + the block, in place: a weight gradient's second term)
@compute @workgroup_size(64)
fn crop_weight_add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let k = p.cin * p.kh * p.kw;
    dst[id] = dst[id] + src[(id / k) * p.kp + id % k];
}

// ---- im2col layout kernels, one invocation per row or channel -----------------------------
// The same layouts as the kernels above, with the index arithmetic (integer divisions, which
// a CPU adapter runs lane by lane) done once per row or per channel of a row instead of once
// per element, and vec4 stores or loads where the row lengths allow. `p.total` counts the
// invocations (units), not the output's elements.

@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst4: array<vec4<f32>>;

// x[n, ci, ih - ph, iw - pw] for a row offset `xrow` = ((n cin + ci) h + ih - ph) w, 0 in the
// padding columns (the caller checks the row).
fn x_tap(xrow: u32, iw: u32) -> f32 {
    if iw >= p.pw && iw - p.pw < p.w {
        return x[xrow + iw - p.pw];
    }
    return 0.0;
}

// Units: rows (n, oh, ow) x cin, ci fastest; unit (row, ci) writes the kh * kw taps of
// channel ci in its row of cols [n oh ow, kp]; the unit of the last channel also writes the
// zero columns k .. kp.
@compute @workgroup_size(64)
fn im2col_units(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let ci = id % p.cin;
    let row = id / p.cin;
    let ow = row % p.ow;
    let q = row / p.ow;
    let oh = q % p.oh;
    let xc = (q / p.oh * p.cin + ci) * p.h;
    let taps = p.kh * p.kw;
    var o = row * p.kp + ci * taps;
    for (var kh = 0u; kh < p.kh; kh += 1u) {
        let ih = oh * p.sh + kh; // input row + ph
        let row_ok = ih >= p.ph && ih - p.ph < p.h;
        let xrow = (xc + ih - p.ph) * p.w; // wraps when !row_ok; unused then
        for (var kw = 0u; kw < p.kw; kw += 1u) {
            var v = 0.0;
            if row_ok {
                v = x_tap(xrow, ow * p.sw + kw);
            }
            dst[o] = v;
            o += 1u;
        }
    }
    if ci + 1u == p.cin {
        for (var c = p.cin * taps; c < p.kp; c += 1u) {
            dst[row * p.kp + c] = 0.0;
        }
    }
}

// im2col_units with vec4 stores, for kw a multiple of 4 (then k = kp, a multiple of 4).
@compute @workgroup_size(64)
fn im2col_units4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let ci = id % p.cin;
    let row = id / p.cin;
    let ow = row % p.ow;
    let q = row / p.ow;
    let oh = q % p.oh;
    let xc = (q / p.oh * p.cin + ci) * p.h;
    var o = (row * p.kp + ci * p.kh * p.kw) / 4u;
    let iw0 = ow * p.sw;
    for (var kh = 0u; kh < p.kh; kh += 1u) {
        let ih = oh * p.sh + kh;
        let row_ok = ih >= p.ph && ih - p.ph < p.h;
        let xrow = (xc + ih - p.ph) * p.w;
        for (var kw = 0u; kw < p.kw; kw += 4u) {
            var v = vec4<f32>(0.0);
            if row_ok {
                let iw = iw0 + kw;
                v = vec4<f32>(x_tap(xrow, iw), x_tap(xrow, iw + 1u), x_tap(xrow, iw + 2u),
                              x_tap(xrow, iw + 3u));
            }
            dst4[o] = v;
            o += 1u;
        }
    }
}

// col2im over rows: unit (n, ci, ih), ih fastest, sums the cols entries of every pixel of
// input row ih of channel ci; the output-row index of each tap is stepped, not divided.
struct RowTaps {
    n: u32,
    ci: u32,
    th: u32,       // ih + ph
    kh_lo: u32,
    kh_hi: u32,
    oh_first: u32, // output row of tap kh_lo
    out: u32,      // index of dx[n, ci, ih, 0]
}

fn row_taps(id: u32) -> RowTaps {
    let ih = id % p.h;
    let q = id / p.h; // n cin + ci
    let th = ih + p.ph;
    let kh_r = taps_to(th, p.sh, p.oh, p.kh);
    return RowTaps(q / p.cin, q % p.cin, th, kh_r.x, kh_r.y, (th - kh_r.x) / p.sh,
                   (q * p.h + ih) * p.w);
}

// The taps of input column iw: kernel columns [lo, hi) stepping by sw, the first reaching
// output column `first`. Stepped along a row by `col_next` instead of divided per pixel
// (lavapipe has no vector division: each one is 8 scalar divisions).
struct ColTaps {
    lo: u32,
    hi: u32,
    first: u32,
}

// Per row: tw = iw + pw = q sw + m; taps_to's t % sw is m, and (tw - lo) / sw is q below
// `reach` = (ow - 1) sw, ow - 1 from there on.
struct ColWalk {
    m: u32,
    q: u32,
}

fn col_start() -> ColWalk {
    return ColWalk(p.pw % p.sw, p.pw / p.sw);
}

fn col_taps(c: ColWalk, iw: u32) -> ColTaps {
    let tw = iw + p.pw;
    let reach = (p.ow - 1u) * p.sw;
    let past = tw >= reach;
    return ColTaps(select(c.m, tw - reach, past), min(p.kw, tw + 1u), select(c.q, p.ow - 1u, past));
}

fn col_next(c: ColWalk) -> ColWalk {
    let wrap = c.m + 1u == p.sw;
    return ColWalk(select(c.m + 1u, 0u, wrap), select(c.q, c.q + 1u, wrap));
}

fn col2im_pixel(r: RowTaps, t: ColTaps) -> f32 {
    let colc = r.ci * p.kh * p.kw;
    var acc = 0.0;
    var oh = r.oh_first;
    for (var kh = r.kh_lo; kh < r.kh_hi; kh += p.sh) {
        let rowc = (r.n * p.oh + oh) * p.ow;
        let colk = colc + kh * p.kw;
        var owi = t.first;
        for (var kw = t.lo; kw < t.hi; kw += p.sw) {
            acc += src[(rowc + owi) * p.kp + colk + kw];
            owi -= 1u;
        }
        oh -= 1u;
    }
    return acc;
}

// cols [n * oh * ow, kp] -> dx [n, cin, h, w]; units n * cin * h
@compute @workgroup_size(64)
fn col2im_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let r = row_taps(id);
    var c = col_start();
    for (var iw = 0u; iw < p.w; iw += 1u) {
        dst[r.out + iw] = col2im_pixel(r, col_taps(c, iw));
        c = col_next(c);
    }
}

// cols, bias_c[cin] -> dx (conv_transpose2d with bias); units n * cin * h
@compute @workgroup_size(64)
fn col2im_rows_bias(@builtin(workgroup_id) wg: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let r = row_taps(id);
    let b = bias_c[r.ci];
    var c = col_start();
    for (var iw = 0u; iw < p.w; iw += 1u) {
        dx[r.out + iw] = col2im_pixel(r, col_taps(c, iw)) + b;
        c = col_next(c);
    }
}

// dy [n, cout, oh, ow] -> channel-last [n * oh * ow, cp] with cp a multiple of 4; units
// n * oh * ow, one row each, written as vec4s.
@compute @workgroup_size(64)
fn nchw_to_rows4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let s = p.oh * p.ow;
    let base = (id / s) * p.cout * s + id % s;
    let quads = p.cp / 4u;
    for (var j = 0u; j < quads; j += 1u) {
        let co = 4u * j;
        var v = vec4<f32>(0.0);
        if co + 3u < p.cout {
            v = vec4<f32>(src[base + co * s], src[base + (co + 1u) * s],
                          src[base + (co + 2u) * s], src[base + (co + 3u) * s]);
        } else {
            for (var c = 0u; c < 4u; c += 1u) {
                if co + c < p.cout {
                    v[c] = src[base + (co + c) * s];
                }
            }
        }
        dst4[id * quads + j] = v;
    }
}

// channel-last [n * oh * ow, cp] with cp a multiple of 4 -> y [n, cout, oh, ow]; units
// n * oh * ow, one row each, read as vec4s.
@compute @workgroup_size(64)
fn rows4_to_nchw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let id = linear_id(wg, nwg, li);
    if id >= p.total { return; }
    let s = p.oh * p.ow;
    let base = (id / s) * p.cout * s + id % s;
    let quads = p.cp / 4u;
    for (var j = 0u; j < quads; j += 1u) {
        let v = src4[id * quads + j];
        let co = 4u * j;
        for (var c = 0u; c < 4u; c += 1u) {
            if co + c < p.cout {
                dst[base + (co + c) * s] = v[c];
            }
        }
    }
}
