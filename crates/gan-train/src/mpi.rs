//! The MPI engine behind [`Collective`] (feature `distributed`): OpenMPI or MPICH through
//! the `mpi` crate (rsmpi). One process per GPU, started by `mpirun -n N` or `srun`.

use std::cell::Cell;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use crate::error::{Result, TrainError};
use crate::parallel::Collective;

/// MPI's world communicator, and the node-local rank (which GPU of the node to open).
pub struct MpiWorld {
    world: SimpleCommunicator,
    local_rank: usize,
    local_size: usize,
    seconds: Cell<f64>,
    // Finalises MPI when dropped: declared last, dropped last.
    _universe: Universe,
}

impl MpiWorld {
    /// Initialises MPI (once per process). Fails when MPI is already initialised or the
    /// process was not started by an MPI launcher that lets it initialise.
    pub fn init() -> Result<MpiWorld> {
        let universe = mpi::initialize().ok_or_else(|| {
            TrainError::Distributed("MPI was already initialised in this process".into())
        })?;
        let world = universe.world();
        // The ranks that share this node's memory: their order is the GPU index.
        let local = world.split_shared(world.rank());
        Ok(MpiWorld {
            local_rank: local.rank() as usize,
            local_size: local.size() as usize,
            world,
            seconds: Cell::new(0.0),
            _universe: universe,
        })
    }

    /// This process's rank among the ranks of its node (the GPU it should open).
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }

    /// Ranks on this node.
    pub fn local_size(&self) -> usize {
        self.local_size
    }

    /// The MPI library's version string.
    pub fn library_version() -> String {
        mpi::environment::library_version().unwrap_or_else(|_| "unknown MPI".into())
    }

    /// Ends every rank of the job with `code` (MPI_Abort): for an error on one rank,
    /// which the others would otherwise wait for in their next collective call.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
        out
    }
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        self.timed(|| {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, SystemOperation::sum());
        });
        Ok(())
    }

    fn broadcast_f32(&self, values: &mut [f32]) -> Result<()> {
        self.timed(|| self.world.process_at_rank(0).broadcast_into(values));
        Ok(())
    }

    fn broadcast_u64(&self, values: &mut [u64]) -> Result<()> {
        self.timed(|| self.world.process_at_rank(0).broadcast_into(values));
        Ok(())
    }

    fn seconds(&self) -> f64 {
        self.seconds.get()
    }
}

/// A shared handle (the command keeps one to abort the job on an error).
impl Collective for std::rc::Rc<MpiWorld> {
    fn rank(&self) -> usize {
        self.as_ref().rank()
    }

    fn size(&self) -> usize {
        self.as_ref().size()
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        self.as_ref().all_reduce_sum(values)
    }

    fn broadcast_f32(&self, values: &mut [f32]) -> Result<()> {
        self.as_ref().broadcast_f32(values)
    }

    fn broadcast_u64(&self, values: &mut [u64]) -> Result<()> {
        self.as_ref().broadcast_u64(values)
    }

    fn seconds(&self) -> f64 {
        self.as_ref().seconds()
    }
}
