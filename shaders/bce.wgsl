// Binary cross-entropy on logits. Per element, stably for any logit:
//   loss = max(x, 0) - x y + ln(1 + e^-|x|),   d loss / dx = sigmoid(x) - y.
// `loss_*` writes each element's loss times `scale` (1/n) for Tensor::sum_all to add up
// into the mean; `grad_*` writes (sigmoid(x) - y) * scale (upstream / n), times s[0] in
// the variants that take the upstream gradient as a [1] tensor. `_t` variants read the
// targets from a tensor, `_c` variants use the constant `label`.
// One invocation per element; dispatch: ceil(n / 256) workgroups folded into x and y
// (each <= 65535), linear workgroup index wg.x + wg.y * num_workgroups.x.

struct Params {
    n: u32,
    label: f32,
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn linear_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 256u + li;
}

// ln(1 + e) for e = e^-|x| in (0, 1]: a series where 1 + e would round, else Goldberg's
// log1p (log(u) * e / (u - 1) cancels the rounding of u = 1 + e).
fn log1p_small(e: f32) -> f32 {
    if e < 1e-3 {
        return e * (1.0 - e * (0.5 - e * 0.33333333));
    }
    let u = 1.0 + e;
    return log(u) * (e / (u - 1.0));
}

fn element_loss(x: f32, y: f32) -> f32 {
    return max(x, 0.0) - x * y + log1p_small(exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

@group(0) @binding(1) var<storage, read> lt_x: array<f32>;
@group(0) @binding(2) var<storage, read> lt_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> lt_out: array<f32>;

@compute @workgroup_size(256)
fn loss_t(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    lt_out[i] = element_loss(lt_x[i], lt_y[i]) * p.scale;
}

@group(0) @binding(1) var<storage, read> lc_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> lc_out: array<f32>;

@compute @workgroup_size(256)
fn loss_c(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    lc_out[i] = element_loss(lc_x[i], p.label) * p.scale;
}

@group(0) @binding(1) var<storage, read> gt_x: array<f32>;
@group(0) @binding(2) var<storage, read> gt_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> gt_dx: array<f32>;

@compute @workgroup_size(256)
fn grad_t(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    gt_dx[i] = (sigmoid(gt_x[i]) - gt_y[i]) * p.scale;
}

@group(0) @binding(1) var<storage, read> gc_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> gc_dx: array<f32>;

@compute @workgroup_size(256)
fn grad_c(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    gc_dx[i] = (sigmoid(gc_x[i]) - p.label) * p.scale;
}

@group(0) @binding(1) var<storage, read> gts_x: array<f32>;
@group(0) @binding(2) var<storage, read> gts_y: array<f32>;
@group(0) @binding(3) var<storage, read> gts_s: array<f32>;
@group(0) @binding(4) var<storage, read_write> gts_dx: array<f32>;

@compute @workgroup_size(256)
fn grad_ts(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    gts_dx[i] = (sigmoid(gts_x[i]) - gts_y[i]) * (p.scale * gts_s[0]);
}

@group(0) @binding(1) var<storage, read> gcs_x: array<f32>;
@group(0) @binding(2) var<storage, read> gcs_s: array<f32>;
@group(0) @binding(3) var<storage, read_write> gcs_dx: array<f32>;

@compute @workgroup_size(256)
fn grad_cs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = linear_id(wg, nwg, li);
    if i >= p.n { return; }
    gcs_dx[i] = (sigmoid(gcs_x[i]) - p.label) * (p.scale * gcs_s[0]);
}
