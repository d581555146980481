// Embedding lookup (PyTorch's nn.Embedding) and its gradient.
//   gather:   out[i, f]    = weight[label_i, f]                         weight [num, dim]
//   backward: dweight[c, f] = sum over items i with label_i == c of g[i, f]
// The backward runs one invocation per (class, feature) looping over the batch in order,
// so it is deterministic without float atomics (WGSL has none). Labels are class indices
// stored as f32 (exact below 2^24); a label outside [0, num) gathers zeros and adds
// nowhere (the host checks the range first). Dispatch: ceil(n / 64) workgroups folded
// into x and y, linear workgroup index wg.x + wg.y * num_workgroups.x.

struct Params {
    items: u32,
    num: u32,
    dim: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 64u + li;
}

@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// One invocation per output element (item, feature); src is the weight [num, dim].
@compute @workgroup_size(64)
fn embedding_gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
    let id = flat_id(wg, nwg, li);
    if id >= p.items * p.dim { return; }
    let i = id / p.dim;
    let f = id % p.dim;
    let c = u32(labels[i]);
    if labels[i] < 0.0 || c >= p.num {
        dst[id] = 0.0;
        return;
    }
    dst[id] = src[c * p.dim + f];
}

// One invocation per weight element (class, feature); src is the upstream gradient
// [items, dim]. Items are summed in batch order, as the CPU reference does.
@compute @workgroup_size(64)
fn embedding_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) li: u32) {
    let id = flat_id(wg, nwg, li);
    if id >= p.num * p.dim { return; }
    let c = id / p.dim;
    let f = id % p.dim;
    var s = 0.0;
    for (var i = 0u; i < p.items; i++) {
        let l = labels[i];
        if l >= 0.0 && u32(l) == c { s += src[i * p.dim + f]; }
    }
    dst[id] = s;
}
