// Softmax over the last axis of [rows, classes] logits, and the cross-entropy of class
// labels (PyTorch's CrossEntropyLoss, mean reduction). One invocation per row; each row
// subtracts its maximum first, so any finite logits give finite results.
//   loss_r = logsumexp(x_r) - x_r[label_r],   d loss / d x_rc = (softmax(x_r)_c - [c == label_r]) / rows
// Labels are class indices stored as f32. Dispatch: ceil(rows / 64) workgroups folded
// into x and y (each <= 65535), linear workgroup index wg.x + wg.y * num_workgroups.x.

struct Params {
    rows: u32,
    classes: u32,
    scale: f32,   // 1 / rows, times the upstream gradient when it is a host value
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn row_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 64u + li;
}

// Returns (max, sum of exp(x - max)) of one row of `x`.
fn row_stats(base: u32) -> vec2<f32> {
    var m = -3.4028235e38;
    for (var c = 0u; c < p.classes; c++) { m = max(m, sx[base + c]); }
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) { s += exp(sx[base + c] - m); }
    return vec2<f32>(m, s);
}

@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> sy: array<f32>;

@compute @workgroup_size(64)
fn softmax_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let r = row_id(wg, nwg, li);
    if r >= p.rows { return; }
    let base = r * p.classes;
    let st = row_stats(base);
    for (var c = 0u; c < p.classes; c++) { sy[base + c] = exp(sx[base + c] - st.x) / st.y; }
}

@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;

// Each row's loss times `scale`; Tensor::sum_all turns them into the mean.
@compute @workgroup_size(64)
fn ce_loss(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let r = row_id(wg, nwg, li);
    if r >= p.rows { return; }
    let base = r * p.classes;
    let st = row_stats(base);
    let label = u32(labels[r]);
    row_loss[r] = (st.x + log(st.y) - sx[base + label]) * p.scale;
}

@group(0) @binding(3) var<storage, read> upstream: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// dx = (softmax - onehot) * scale * upstream[0].
@compute @workgroup_size(64)
fn ce_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let r = row_id(wg, nwg, li);
    if r >= p.rows { return; }
    let base = r * p.classes;
    let st = row_stats(base);
    let label = u32(labels[r]);
    let s = p.scale * upstream[0];
    for (var c = 0u; c < p.classes; c++) {
        let onehot = select(0.0, 1.0, c == label);
        dx[base + c] = (exp(sx[base + c] - st.x) / st.y - onehot) * s;
    }
}
