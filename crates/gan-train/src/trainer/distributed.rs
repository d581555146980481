//! [`Trainer::distributed`]: one rank of a data-parallel run ([`crate::parallel`]).

use gan_tensor::Context;

use super::Trainer;
use crate::config::Config;
use crate::error::{Result, TrainError};
use crate::parallel::{self, Collective, Split};

impl Trainer {
    /// One rank of a data-parallel run ([`crate::parallel`]; every rank calls this with
    /// the same arguments): rank 0 starts the run in `cfg.out_dir` ([`Trainer::new`]) or,
    /// with `resume`, continues it ([`Trainer::resume`], `cfg` being the requested
    /// config); the other ranks build the same players and receive rank 0's weights,
    /// optimizer state and counters. Only rank 0 touches the run directory. Each rank
    /// takes `batch_size / ranks` items of every batch.
    pub fn distributed(
        ctx: &Context,
        cfg: Config,
        resume: bool,
        comm: Box<dyn Collective>,
    ) -> Result<Trainer> {
        let root = comm.rank() == 0;
        let split = Split {
            rank: comm.rank(),
            ranks: comm.size(),
            micro: cfg.micro_batches,
        };
        // Every rank has the same config: all refuse it alike, before anything is written.
        split.piece_size(cfg.batch_size, cfg.pack)?;
        let built = if root {
            if resume {
                let dir = cfg.out_dir.clone();
                Trainer::resume(ctx, &dir, Some(&cfg))
            } else {
                Trainer::new(ctx, cfg)
            }
        } else {
            cfg.resolved()
                .and_then(|c| Trainer::build(ctx, c.clone(), c.out_dir.clone()))
        };
        if !comm.all_ok(built.is_ok())? {
            return Err(built.err().unwrap_or_else(|| {
                TrainError::Distributed(
                    "another rank failed to start the run (rank 0 prints why)".into(),
                )
            }));
        }
        let mut t = built.expect("checked above");
        t.split = split;
        // Rank 0's state everywhere: a fresh run's initialisation (the same seed makes the
        // same weights; this makes sure) or a resumed run's checkpoint.
        let c: &dyn Collective = comm.as_ref();
        let gan = &t.gan;
        parallel::broadcast_store(c, &gan.generator.store)?;
        parallel::broadcast_store(c, &gan.discriminator.store)?;
        if let Some(e) = &gan.ema {
            parallel::broadcast_store(c, &e.player.store)?;
        }
        parallel::broadcast_rng_steps(c, &gan.generator)?;
        parallel::broadcast_rng_steps(c, &gan.discriminator)?;
        parallel::broadcast_optimizer(c, &mut t.opt.g)?;
        parallel::broadcast_optimizer(c, &mut t.opt.d)?;
        let mut counters = [t.step, t.last_checkpoint, t.elapsed_before.to_bits()];
        c.broadcast_u64(&mut counters)?;
        (t.step, t.last_checkpoint) = (counters[0], counters[1]);
        t.elapsed_before = f64::from_bits(counters[2]);
        // A resumed run's open metrics interval: the rank mean of the sums on every rank.
        let (sums, steps) = (t.metrics.sums()?, t.metrics.pending_steps());
        let mut pending = [steps as u64; 1 + crate::metrics::NUM_METRICS];
        for (p, s) in pending[1..].iter_mut().zip(sums) {
            *p = s.to_bits() as u64;
        }
        c.broadcast_u64(&mut pending)?;
        let sums = std::array::from_fn(|i| f32::from_bits(pending[1 + i] as u32));
        t.metrics.restore(sums, pending[0] as u32)?;
        t.comm = Some(comm);
        Ok(t)
    }

    /// True on the process that writes the run directory (rank 0; the only process of
    /// a run that is not distributed).
    pub fn is_root(&self) -> bool {
        self.split.rank == 0
    }

    /// This process's share of each batch.
    pub fn split(&self) -> Split {
        self.split
    }

    /// Seconds this process spent in communication (0 when not distributed).
    pub fn communication_seconds(&self) -> f64 {
        self.comm.as_ref().map_or(0.0, |c| c.seconds())
    }
}
