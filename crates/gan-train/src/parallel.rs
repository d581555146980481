//! Data parallelism: a step's batch split among processes ("ranks") and, within each,
//! into micro-batches, computing the step one process computes on the whole batch.
//!
//! The global batch of B items is cut into P = ranks x micro equal, contiguous pieces:
//! piece p holds rows p B/P .. (p+1) B/P of the batch one process would use (the same
//! shuffled data, latents drawn at those rows' place in the counter-based stream, the
//! same fake classes, dropout masks at those rows' elements). Each piece's loss is its
//! own mean; a rank averages the gradients of its pieces, then the ranks average theirs
//! ([`Collective::all_reduce_sum`] over the flat gradient buffer, one call per player per
//! step), so every rank's Adam applies the gradient of the whole batch's mean loss. Up to
//! summation order, N ranks of B/N items compute what one process computes with
//! `micro_batches = N`, and, for players without BatchNorm, what it computes on the
//! whole batch at once. BatchNorm normalises each piece with its own statistics (as
//! PyTorch's DDP without SyncBatchNorm does), and its running statistics are the last
//! piece's of each rank (rank 0's are saved).
//!
//! The communication engine is MPI (feature `distributed`, `crate::mpi`); the trait
//! below is what the trainer needs from it, so that a single process needs no MPI.

use gan_nn::{Optimizer, ParamStore, Role};
use gan_tensor::Tensor;

use crate::error::{Result, TrainError};
use crate::player::Player;

/// Where this process's share of a step's batch lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// This process's rank, in 0..ranks.
    pub rank: usize,
    /// Processes sharing the batch.
    pub ranks: usize,
    /// Micro-batches per process.
    pub micro: usize,
}

impl Split {
    /// One process, one piece: the whole batch.
    pub const WHOLE: Split = Split {
        rank: 0,
        ranks: 1,
        micro: 1,
    };

    /// Pieces of the global batch (ranks x micro).
    pub fn pieces(&self) -> usize {
        self.ranks * self.micro
    }

    /// The global index of this rank's micro-batch `m`.
    pub fn piece(&self, m: usize) -> usize {
        self.rank * self.micro + m
    }

    /// Items per piece of a global batch of `batch`; an error unless the pieces are
    /// equal and each holds whole packs of `pack` items.
    pub fn piece_size(&self, batch: usize, pack: usize) -> Result<usize> {
        let p = self.pieces();
        if !batch.is_multiple_of(p) || !(batch / p).is_multiple_of(pack.max(1)) {
            return Err(TrainError::Config(format!(
                "batch_size = {batch} does not split into {} ranks x {} micro-batches of \
                 equal size holding whole packs of {pack}: choose a batch size that is a \
                 multiple of {}",
                self.ranks,
                self.micro,
                p * pack.max(1)
            )));
        }
        Ok(batch / p)
    }
}

/// What data-parallel training needs from a communication engine. Every rank makes the
/// same calls in the same order (collectives); rank 0 is the root.
pub trait Collective {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    /// Element-wise sum over all ranks, in place; every rank receives the same sums.
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()>;
    /// Rank 0's `values` into every rank's (same length everywhere).
    fn broadcast_f32(&self, values: &mut [f32]) -> Result<()>;
    /// Rank 0's `values` into every rank's (same length everywhere).
    fn broadcast_u64(&self, values: &mut [u64]) -> Result<()>;
    /// Rank 0's bytes into every rank's (any length).
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<()> {
        let mut n = [bytes.len() as u64];
        self.broadcast_u64(&mut n)?;
        let mut words = vec![0u64; (n[0] as usize).div_ceil(8)];
        if self.rank() == 0 {
            for (w, c) in words.iter_mut().zip(bytes.chunks(8)) {
                let mut b = [0u8; 8];
                b[..c.len()].copy_from_slice(c);
                *w = u64::from_le_bytes(b);
            }
        }
        self.broadcast_u64(&mut words)?;
        *bytes = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.truncate(n[0] as usize);
        Ok(())
    }
    /// True on every rank when `ok` is true on every rank.
    fn all_ok(&self, ok: bool) -> Result<bool> {
        let mut v = [if ok { 0.0 } else { 1.0 }];
        self.all_reduce_sum(&mut v)?;
        Ok(v[0] == 0.0)
    }
    /// Seconds spent in communication so far (all-reduce and broadcast calls).
    fn seconds(&self) -> f64;
}

fn upload(dst: &Tensor, host: &[f32]) -> Result<()> {
    let t = Tensor::from_slice(dst.context(), host, dst.dims())?;
    dst.assign(&t)?;
    Ok(())
}

/// Averages `grads` (a player's flat gradient buffer) over the ranks: one readback, one
/// all-reduce, one upload.
pub fn all_reduce_mean(comm: &dyn Collective, grads: &Tensor) -> Result<()> {
    if comm.size() == 1 {
        return Ok(());
    }
    let mut host = grads.to_vec()?;
    comm.all_reduce_sum(&mut host)?;
    let scale = 1.0 / comm.size() as f32;
    host.iter_mut().for_each(|v| *v *= scale);
    upload(grads, &host)
}

/// Rank 0's parameters, buffers (BatchNorm statistics) and counters into every rank's
/// store.
pub fn broadcast_store(comm: &dyn Collective, store: &ParamStore) -> Result<()> {
    let mut flat = store.values().to_vec()?;
    comm.broadcast_f32(&mut flat)?;
    upload(store.values(), &flat)?;
    for e in store.entries().iter().filter(|e| e.offset.is_none()) {
        let p = &e.param;
        if p.role() == Role::Counter {
            let mut c = [p.counter() as u64];
            comm.broadcast_u64(&mut c)?;
            p.set_counter(c[0] as i64);
        } else {
            let t = p.tensor()?;
            let mut v = t.to_vec()?;
            comm.broadcast_f32(&mut v)?;
            upload(&t, &v)?;
        }
    }
    Ok(())
}

/// Rank 0's optimizer state (moments and step count) into every rank's.
pub fn broadcast_optimizer(comm: &dyn Collective, opt: &mut dyn Optimizer) -> Result<()> {
    for (_, t) in opt.state() {
        let mut v = t.to_vec()?;
        comm.broadcast_f32(&mut v)?;
        upload(t, &v)?;
    }
    let mut s = [opt.steps()];
    comm.broadcast_u64(&mut s)?;
    opt.set_steps(s[0]);
    Ok(())
}

/// Rank 0's dropout stream counters into every rank's.
pub fn broadcast_rng_steps(comm: &dyn Collective, player: &Player) -> Result<()> {
    let steps = player.rng_steps();
    let mut v: Vec<u64> = steps.values().copied().collect();
    comm.broadcast_u64(&mut v)?;
    let restored = steps.keys().cloned().zip(v).collect();
    player.restore_rng_steps(&restored);
    Ok(())
}

/// FNV-1a over the bits of a store's parameters: equal on every rank while the ranks
/// agree.
pub fn weights_hash(store: &ParamStore) -> Result<u64> {
    let values = store.values().to_vec()?;
    Ok(values.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        v.to_bits().to_le_bytes().iter().fold(h, |h, b| {
            (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }))
}

/// Fails on every rank (naming the ranks that differ) unless every rank's `hash` equals
/// rank 0's.
pub fn check_agreement(comm: &dyn Collective, what: &str, hash: u64, step: u64) -> Result<()> {
    let mut root = [hash];
    comm.broadcast_u64(&mut root)?;
    let mut differs = vec![0f32; comm.size()];
    differs[comm.rank()] = if root[0] == hash { 0.0 } else { 1.0 };
    comm.all_reduce_sum(&mut differs)?;
    let bad: Vec<String> = (0..comm.size())
        .filter(|&r| differs[r] != 0.0)
        .map(|r| r.to_string())
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(TrainError::Distributed(format!(
        "at step {step} the {what} weights of rank(s) {} differ from rank 0's: the ranks no \
         longer compute the same model (different binaries, adapters that round differently, \
         or a bug); the last checkpoint is intact",
        bad.join(", ")
    )))
}
