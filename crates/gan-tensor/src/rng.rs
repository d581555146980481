//! Launches `shaders/rng.wgsl`: uniform and normal random fill from the counter-based
//! Philox4x32-10 generator (Salmon et al., SC 2011).
//!
//! A draw is named by a 64-bit `seed` (the key) and a 64-bit `stream` (the high half of
//! the counter): the same pair gives the same numbers on every launch, and different
//! streams of one seed never overlap (each tensor uses counters [0, ceil(n/4)) of its
//! stream). [`crate::reference::rng`] is the bit-exact CPU twin.
//!
//! [`SplitMix64`] is the host-side generator and seed mixer that every crate shares.

use bytemuck::{Pod, Zeroable};

use crate::context::Launch;
use crate::shaders::RNG;
use crate::{Context, Error, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    key: [u32; 2],
    stream: [u32; 2],
    a: f32,
    b: f32,
    c: f32,
    offset: u32,
}

fn launch(
    t: &Tensor,
    entry: &'static str,
    seed: u64,
    stream: u64,
    offset: usize,
    abc: [f32; 3],
) -> Result<()> {
    let n = t.numel();
    check_range(entry, offset, n)?;
    let params = Params {
        n: n as u32,
        key: [seed as u32, (seed >> 32) as u32],
        stream: [stream as u32, (stream >> 32) as u32],
        a: abc[0],
        b: abc[1],
        c: abc[2],
        offset: offset as u32,
    };
    let ctx = t.context();
    ctx.dispatch(Launch {
        family: RNG,
        entry,
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[],
        outputs: &[t.arg()],
        groups: ctx.grid((offset % 4 + n).div_ceil(4).div_ceil(256) as u64),
    })
}

/// Elements `offset..offset + n` of a stream must end below element 2^31 (the shader
/// indexes them as i32).
fn check_range(op: &'static str, offset: usize, n: usize) -> Result<()> {
    let end = offset.checked_add(n).filter(|&e| e <= i32::MAX as usize);
    if end.is_none() {
        return Err(Error::Invalid {
            op,
            msg: format!(
                "elements {offset}..{offset}+{n} of a stream: a shard ends below element 2^31"
            ),
        });
    }
    Ok(())
}

/// The largest f32 below `x` (x finite).
fn next_below(x: f32) -> f32 {
    if x == 0.0 {
        -f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() - 1)
    } else {
        f32::from_bits(x.to_bits() + 1)
    }
}

/// Overwrites `t` with values uniform in [lo, hi) from (`seed`, `stream`).
pub fn fill_uniform(t: &Tensor, lo: f32, hi: f32, seed: u64, stream: u64) -> Result<()> {
    fill_uniform_at(t, lo, hi, seed, stream, 0)
}

/// [`fill_uniform`] with `t` receiving elements `offset..offset + t.numel()` of the
/// stream: a shard of a larger draw (rows `r..` of a batch drawn by another process, or
/// a micro-batch), value for value what the whole draw holds there.
pub fn fill_uniform_at(
    t: &Tensor,
    lo: f32,
    hi: f32,
    seed: u64,
    stream: u64,
    offset: usize,
) -> Result<()> {
    let range = hi - lo;
    if !(lo.is_finite() && hi.is_finite() && lo < hi && range.is_finite()) {
        return Err(Error::Invalid {
            op: "rand_uniform",
            msg: format!("bounds [{lo}, {hi}) must be finite with lo < hi and hi - lo finite"),
        });
    }
    launch(
        t,
        "rand_uniform",
        seed,
        stream,
        offset,
        [lo, range, next_below(hi)],
    )
}

/// Overwrites `t` with normal values N(mean, std^2) from (`seed`, `stream`) by
/// Box-Muller (both outputs of each pair are used).
pub fn fill_normal(t: &Tensor, mean: f32, std: f32, seed: u64, stream: u64) -> Result<()> {
    fill_normal_at(t, mean, std, seed, stream, 0)
}

/// [`fill_normal`] with `t` receiving elements `offset..offset + t.numel()` of the
/// stream (see [`fill_uniform_at`]).
pub fn fill_normal_at(
    t: &Tensor,
    mean: f32,
    std: f32,
    seed: u64,
    stream: u64,
    offset: usize,
) -> Result<()> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::Invalid {
            op: "rand_normal",
            msg: format!("mean {mean} must be finite and std {std} finite and >= 0"),
        });
    }
    launch(t, "rand_normal", seed, stream, offset, [mean, std, 0.0])
}

/// Inverted dropout in one launch: `(y, mask)` with mask = 1 / (1 - p) where the stream's
/// uniform u in [0, 1) exceeds `p`, else 0, and y = x * mask, for elements
/// `offset..offset + x.numel()` of (`seed`, `stream`) (see [`fill_uniform_at`]). The same
/// numbers as drawing u with [`Tensor::rand_uniform_stream_at`] and forming the mask from
/// it; [`crate::reference::rng::dropout_mask`] is the CPU twin.
pub fn dropout_at(
    x: &Tensor,
    p: f32,
    seed: u64,
    stream: u64,
    offset: usize,
) -> Result<(Tensor, Tensor)> {
    if !(0.0..1.0).contains(&p) {
        return Err(Error::Invalid {
            op: "dropout",
            msg: format!("p = {p}; it must be in [0, 1)"),
        });
    }
    let ctx = x.context();
    let mask = Tensor::uninit_for("dropout", ctx, x.dims())?;
    let y = Tensor::uninit_for("dropout", ctx, x.dims())?;
    let n = x.numel();
    if n == 0 {
        return Ok((y, mask));
    }
    check_range("dropout", offset, n)?;
    let params = Params {
        n: n as u32,
        key: [seed as u32, (seed >> 32) as u32],
        stream: [stream as u32, (stream >> 32) as u32],
        a: p,
        b: 1.0 / (1.0 - p),
        c: 0.0,
        offset: offset as u32,
    };
    ctx.dispatch(Launch {
        family: RNG,
        entry: "dropout",
        constants: &[],
        params: bytemuck::bytes_of(&params),
        inputs: &[x.arg()],
        outputs: &[mask.arg(), y.arg()],
        groups: ctx.grid((offset % 4 + n).div_ceil(4).div_ceil(256) as u64),
    })?;
    Ok((y, mask))
}

impl Tensor {
    /// Values uniform in [lo, hi) from `seed` (stream 0).
    pub fn rand_uniform(
        ctx: &Context,
        dims: &[usize],
        lo: f32,
        hi: f32,
        seed: u64,
    ) -> Result<Tensor> {
        Tensor::rand_uniform_stream(ctx, dims, lo, hi, seed, 0)
    }

    /// Values uniform in [lo, hi) from `seed` and `stream`: successive draws from one
    /// seed take streams 0, 1, 2, ...
    pub fn rand_uniform_stream(
        ctx: &Context,
        dims: &[usize],
        lo: f32,
        hi: f32,
        seed: u64,
        stream: u64,
    ) -> Result<Tensor> {
        let t = Tensor::uninit_for("rand_uniform", ctx, dims)?;
        fill_uniform(&t, lo, hi, seed, stream)?;
        Ok(t)
    }

    /// Normal values N(mean, std^2) from `seed` (stream 0).
    pub fn rand_normal(
        ctx: &Context,
        dims: &[usize],
        mean: f32,
        std: f32,
        seed: u64,
    ) -> Result<Tensor> {
        Tensor::rand_normal_stream(ctx, dims, mean, std, seed, 0)
    }

    /// Normal values N(mean, std^2) from `seed` and `stream`.
    pub fn rand_normal_stream(
        ctx: &Context,
        dims: &[usize],
        mean: f32,
        std: f32,
        seed: u64,
        stream: u64,
    ) -> Result<Tensor> {
        let t = Tensor::uninit_for("rand_normal", ctx, dims)?;
        fill_normal(&t, mean, std, seed, stream)?;
        Ok(t)
    }

    /// Elements `offset..` of the draw [`Tensor::rand_uniform_stream`] would make over a
    /// larger tensor (see [`fill_uniform_at`]).
    #[allow(clippy::too_many_arguments)]
    pub fn rand_uniform_stream_at(
        ctx: &Context,
        dims: &[usize],
        lo: f32,
        hi: f32,
        seed: u64,
        stream: u64,
        offset: usize,
    ) -> Result<Tensor> {
        let t = Tensor::uninit_for("rand_uniform", ctx, dims)?;
        fill_uniform_at(&t, lo, hi, seed, stream, offset)?;
        Ok(t)
    }

    /// Elements `offset..` of the draw [`Tensor::rand_normal_stream`] would make over a
    /// larger tensor (see [`fill_uniform_at`]).
    #[allow(clippy::too_many_arguments)]
    pub fn rand_normal_stream_at(
        ctx: &Context,
        dims: &[usize],
        mean: f32,
        std: f32,
        seed: u64,
        stream: u64,
        offset: usize,
    ) -> Result<Tensor> {
        let t = Tensor::uninit_for("rand_normal", ctx, dims)?;
        fill_normal_at(&t, mean, std, seed, stream, offset)?;
        Ok(t)
    }
}

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014), step for step the reference
/// `splitmix64.c` of Vigna: a small seeded host-side generator, and through
/// [`SplitMix64::mix`] the one-shot seed mixer used to derive independent seeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    /// The state: advanced by the golden gamma before each output.
    pub state: u64,
}

impl SplitMix64 {
    /// The golden-ratio increment: 2^64 / phi, rounded to odd.
    pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A generator whose state is `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits: state += gamma, then the finaliser of the new state.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        finalise(self.state)
    }

    /// Mixes a seed in one shot: finaliser(z + gamma), the first output of
    /// `SplitMix64::new(z)`.
    pub fn mix(z: u64) -> u64 {
        finalise(z.wrapping_add(Self::GAMMA))
    }
}

/// The SplitMix64 output function (a variant of the MurmurHash3 64-bit finaliser).
fn finalise(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
