// Maxout (Goodfellow et al. 2013, "Maxout Networks", eq. 1): the max over groups of
// `pieces` consecutive values. Group o is x[o * pieces .. (o + 1) * pieces]; for [N, U * P]
// pre-activations, unit u of row n is group n * U + u, i.e. unit u owns columns
// u * P .. u * P + P - 1 (the layout of Blocks' Maxout brick, which PacGAN uses).
// `forward`:  y[o] = x[o * pieces + a(o)], a(o) the first k with the largest x.
// `backward`: dx[o * pieces + k] = dy[o] if k == a(o), else 0 (ties: the first piece).
// One invocation per group; a backward invocation writes only its own group's values.
// Dispatch: ceil(groups / 256) workgroups folded into x and y (each <= 65535); the
// linear workgroup index is wg.x + wg.y * num_workgroups.x.

struct Params {
    groups: u32,  // number of outputs (values / pieces)
    pieces: u32,  // values per group, >= 1
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> t_x: array<f32>;

fn group_id(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.x + wg.y * nwg.x) * 256u + li;
}

// The first piece holding the group's maximum (strict `>`: a tie keeps the earlier one).
fn first_argmax(base: u32) -> u32 {
    var best = t_x[base];
    var arg = 0u;
    for (var k = 1u; k < p.pieces; k++) {
        let v = t_x[base + k];
        if v > best {
            best = v;
            arg = k;
        }
    }
    return arg;
}

@group(0) @binding(2) var<storage, read_write> f_y: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let o = group_id(wg, nwg, li);
    if o >= p.groups { return; }
    let base = o * p.pieces;
    f_y[o] = t_x[base + first_argmax(base)];
}

@group(0) @binding(2) var<storage, read> b_dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> b_dx: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let o = group_id(wg, nwg, li);
    if o >= p.groups { return; }
    let base = o * p.pieces;
    let arg = first_argmax(base);
    let g = b_dy[o];
    for (var k = 0u; k < p.pieces; k++) {
        b_dx[base + k] = select(0.0, g, k == arg);
    }
}
