//! The im2col path of [`super::ConvAlgo::Im2col`]: each convolution of a batch chunk is
//! one matmul between a column matrix and the weight, with layout kernels of conv.wgsl
//! around it. In the geometry of one conv2d (x [n, cin, h, w], wt [cout, cin, kh, kw],
//! y [n, cout, oh, ow]), with K = cin * kh * kw padded to kp (a multiple of 4, so matmul
//! takes its vec4 path):
//! - forward: cols = im2col(x) [n oh ow, kp]; y = rows_to_nchw(cols x wt^T + bias);
//! - input gradient: dx = col2im(rows(dy) x wt), col2im being im2col's gather adjoint;
//! - weight gradient: dw = rows(dy)^T x cols.
//!
//! The batch is processed in chunks whose matrices fit the budget; each chunk reads and
//! writes views of the whole tensors, so chunk starts must be aligned (see [`plan`]).

use super::geometry::{ConvAlgo, Geometry};
use crate::matmul::{matmul_with, MatmulOptions};
use crate::{Context, Result, Tensor};

/// Rows of C one matmul launch can cover (65535 workgroups of 32 rows on CPU adapters).
const MAX_MATMUL_ROWS: usize = 65535 * 32;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Row length of the channel-last matrix that meets the weight along cout (dy's rows in
/// the input gradient): cout rounded up to 4 for matmul's vec4 path.
fn cp(g: &Geometry) -> usize {
    g.cout.next_multiple_of(4)
}

/// The batch chunk im2col runs with, or None for the direct kernels (the Direct algorithm,
/// an empty batch, a chunk of one image over the budget, or unalignable chunk starts).
pub(super) fn plan(g: &Geometry, ctx: &Context, algo: ConvAlgo) -> Option<usize> {
    let ConvAlgo::Im2col { max_bytes } = algo else {
        return None;
    };
    if g.n == 0 {
        return None;
    }
    let limit = max_bytes.min(ctx.max_tensor_bytes());
    let rows = g.oh * g.ow; // matrix rows per image
    let width = g.kp().max(cp(g));
    let per_image = (rows * width * 4) as u64;
    let weight = (cp(g) * g.kp() * 4) as u64;
    if weight > ctx.max_tensor_bytes() || g.kp() > 65535 * 64 {
        return None;
    }
    let fit = ((limit / per_image) as usize).min(MAX_MATMUL_ROWS / rows);
    if fit >= g.n {
        return Some(g.n);
    }
    // Chunk starts are multiples of `step` images, which keeps every view aligned.
    let align = ctx.view_alignment();
    let step_of = |image: usize| align / gcd(align, image);
    let (a, b) = (step_of(g.cin * g.h * g.w), step_of(g.cout * g.oh * g.ow));
    let step = a / gcd(a, b) * b;
    let chunk = fit / step * step;
    (chunk > 0).then_some(chunk)
}

/// The images [n0, n0 + m) of a batch tensor whose images hold `image` elements.
fn images(t: &Tensor, n0: usize, m: usize, dims: [usize; 4]) -> Result<Tensor> {
    if n0 == 0 && m == t.dims()[0] {
        return Ok(t.clone());
    }
    let image: usize = dims[1..].iter().product();
    t.view(n0 * image, &dims)
}

/// The weight as a [rows, kp] matrix, zero-padded (a reshape when nothing is padded).
fn weight_matrix(g: &Geometry, wt: &Tensor, rows: usize) -> Result<Tensor> {
    if rows == g.cout && g.kp() == g.k() {
        return wt.reshape(&[g.cout, g.k()]);
    }
    let out = Tensor::uninit(wt.context(), &[rows, g.kp()])?;
    g.launch("pad_weight", &[wt.arg()], &out)?;
    Ok(out)
}

/// The chunks (first image, images) of a batch of `n` in chunks of `chunk`.
fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).step_by(chunk).map(move |n0| (n0, chunk.min(n - n0)))
}

/// The column matrix [m oh ow, kp] of chunk geometry `c` over x's images.
fn cols(c: &Geometry, x: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit(x.context(), &[c.n * c.oh * c.ow, c.kp()])?;
    write_cols(c, x, &out)?;
    Ok(out)
}

/// Records the im2col of x into `out` [n oh ow, kp] (kp = k, or k rounded up to 4 with
/// zero columns): one invocation per (row, channel), storing vec4s when the rows allow
/// (kw and kp multiples of 4).
pub(super) fn write_cols(g: &Geometry, x: &Tensor, out: &Tensor) -> Result<()> {
    let kp = out.dims()[1];
    let entry = if g.kw.is_multiple_of(4) && kp.is_multiple_of(4) {
        "im2col_units4"
    } else {
        "im2col_units"
    };
    let units = g.n * g.oh * g.ow * g.cin;
    g.launch_units(entry, &[x.arg()], out, units, (kp, g.cout))
}

/// Records col2im of `cols` [n oh ow, kp] (+ bias[cin]) into dx [n, cin, h, w]: one
/// invocation per input row.
pub(super) fn write_col2im(
    g: &Geometry,
    cols: &Tensor,
    bias: Option<&Tensor>,
    dx: &Tensor,
) -> Result<()> {
    let units = g.n * g.cin * g.h;
    let kp = cols.dims()[1];
    match bias {
        Some(b) => g.launch_units(
            "col2im_rows_bias",
            &[cols.arg(), b.arg()],
            dx,
            units,
            (kp, g.cout),
        ),
        None => g.launch_units("col2im_rows", &[cols.arg()], dx, units, (kp, g.cout)),
    }
}

/// dy [m, cout, oh, ow] as a channel-last matrix [m oh ow, ld].
fn rows(c: &Geometry, dy: &Tensor, ld: usize) -> Result<Tensor> {
    let out = Tensor::uninit(dy.context(), &[c.n * c.oh * c.ow, ld])?;
    if ld.is_multiple_of(4) {
        let units = c.n * c.oh * c.ow;
        c.launch_units("nchw_to_rows4", &[dy.arg()], &out, units, (c.kp(), ld))?;
    } else {
        c.launch_layout("nchw_to_rows", &[dy.arg()], &out, c.kp(), ld)?;
    }
    Ok(out)
}

/// The channel-last matrix `ymat` [m oh ow, cout] written into y [m, cout, oh, ow].
fn rows_to_nchw(c: &Geometry, ymat: &Tensor, y: &Tensor) -> Result<()> {
    if c.cout.is_multiple_of(4) {
        let units = c.n * c.oh * c.ow;
        c.launch_units("rows4_to_nchw", &[ymat.arg()], y, units, (c.kp(), c.cout))
    } else {
        c.launch("rows_to_nchw", &[ymat.arg()], y)
    }
}

/// y = x (*) wt (+ bias), and the column matrix when the batch was one chunk (the matrix
/// the weight gradient multiplies too; see `super::columns`).
pub(super) fn forward(
    g: &Geometry,
    x: &Tensor,
    wt: &Tensor,
    bias: Option<&Tensor>,
    chunk: usize,
) -> Result<(Tensor, Option<Tensor>)> {
    let y = Tensor::uninit(x.context(), &g.output())?;
    let wmat = weight_matrix(g, wt, g.cout)?;
    let mut whole = None;
    for (n0, m) in chunks(g.n, chunk) {
        let c = Geometry { n: m, ..*g };
        let cols = cols(&c, &images(x, n0, m, c.input())?)?;
        let opts = MatmulOptions {
            trans_b: true,
            bias,
            ..Default::default()
        };
        let ymat = matmul_with(&cols, &wmat, opts)?; // [m oh ow, cout]
        let yc = images(&y, n0, m, c.output())?;
        rows_to_nchw(&c, &ymat, &yc)?;
        if m == g.n {
            whole = Some(cols);
        }
    }
    Ok((y, whole))
}

pub(super) fn backward_input(
    g: &Geometry,
    dy: &Tensor,
    wt: &Tensor,
    bias: Option<&Tensor>,
    chunk: usize,
) -> Result<Tensor> {
    let dx = Tensor::uninit(dy.context(), &g.input())?;
    let wmat = weight_matrix(g, wt, cp(g))?; // [cp, kp]
    for (n0, m) in chunks(g.n, chunk) {
        let c = Geometry { n: m, ..*g };
        let dymat = rows(&c, &images(dy, n0, m, c.output())?, cp(g))?;
        let dcols = dymat.matmul(&wmat)?; // [m oh ow, kp]
        let dxc = images(&dx, n0, m, c.input())?;
        write_col2im(&c, &dcols, bias, &dxc)?;
    }
    Ok(dx)
}

/// dw = rows(dy)^T x im2col(x); `kept` is im2col(x) of the whole batch when the caller
/// has it (then `chunk` is the batch).
pub(super) fn backward_weight(
    g: &Geometry,
    x: &Tensor,
    dy: &Tensor,
    chunk: usize,
    into: Option<(&Tensor, bool)>,
    kept: Option<&Tensor>,
) -> Result<Tensor> {
    // One chunk and no padded columns: the product is the gradient, stored (or added)
    // straight into `into`.
    let direct = chunk >= g.n && g.kp() == g.k();
    let mut acc: Option<Tensor> = None; // [cout, kp]
    for (n0, m) in chunks(g.n, chunk) {
        let c = Geometry { n: m, ..*g };
        let cols = match kept {
            Some(k) => k.clone(),
            None => cols(&c, &images(x, n0, m, c.input())?)?,
        };
        let dymat = rows(&c, &images(dy, n0, m, c.output())?, g.cout)?;
        let opts = MatmulOptions {
            trans_a: true,
            out: into.filter(|_| direct).map(|(t, _)| t),
            accumulate: direct && into.is_some_and(|(_, a)| a),
            ..Default::default()
        };
        let part = matmul_with(&dymat, &cols, opts)?;
        match &acc {
            Some(a) => a.add_assign(&part)?,
            None => acc = Some(part),
        }
    }
    let acc = acc.expect("plan gives a chunk only for a non-empty batch");
    if direct && into.is_some() {
        return acc.reshape(&g.weight());
    }
    if g.kp() == g.k() {
        return put(acc.reshape(&g.weight())?, into, &g.weight());
    }
    // Cropped straight into `into`, or added there (out + the crop: the leaf's own sum).
    if let Some((out, add)) = into {
        let out = out.reshape(&g.weight())?;
        let entry = if add {
            "crop_weight_add"
        } else {
            "crop_weight"
        };
        g.launch(entry, &[acc.arg()], &out)?;
        return Ok(out);
    }
    let dw = Tensor::uninit(x.context(), &g.weight())?;
    g.launch("crop_weight", &[acc.arg()], &dw)?;
    Ok(dw)
}

/// `dw` as `Geometry::backward_weight` returns it: itself without `into`, else copied
/// into that tensor or added to it (out + dw, the bits of the leaf's own add).
pub(super) fn put(dw: Tensor, into: Option<(&Tensor, bool)>, dims: &[usize]) -> Result<Tensor> {
    match into {
        None => Ok(dw),
        Some((out, accumulate)) => {
            let out = out.reshape(dims)?;
            if accumulate {
                out.add_assign(&dw)?;
            } else {
                out.assign(&dw)?;
            }
            Ok(out)
        }
    }
}
