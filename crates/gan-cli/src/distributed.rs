//! `gan train --distributed`: one rank of a data-parallel run under `mpirun` or `srun`
//! (see gan-train's `parallel` module). Rank 0 reads the flags and files, prints, and
//! writes the run directory; every rank opens the GPU of its node-local rank.

use anyhow::Result;

use crate::train::TrainArgs;

/// Runs this process's rank of `gan train --distributed`.
#[cfg(not(feature = "distributed"))]
pub fn run(_args: &TrainArgs) -> Result<()> {
    anyhow::bail!(
        "this gan was built without MPI support: rebuild it with `cargo build --release -p \
         gan-cli --features distributed` (needs an MPI library and libclang: on Debian \
         `apt-get install libopenmpi-dev openmpi-bin libclang-dev`), then start it with \
         `mpirun -n N target/release/gan train --distributed ...`"
    )
}

/// Runs this process's rank of `gan train --distributed`.
#[cfg(feature = "distributed")]
pub fn run(args: &TrainArgs) -> Result<()> {
    use std::rc::Rc;

    use anyhow::Context as _;
    use gan_train::mpi::MpiWorld;
    use gan_train::{Collective, Trainer};

    let world = Rc::new(MpiWorld::init().map_err(|e| anyhow::anyhow!("{e}"))?);
    let (rank, size) = (world.rank(), world.size());
    let fail = |e: anyhow::Error| -> ! {
        if rank == 0 {
            eprintln!("error: {e:#}");
        } else {
            eprintln!("error (rank {rank}): {e:#}");
        }
        world.abort(1)
    };
    // Rank 0 reads the flags, files and run directory; the others get its config.
    let mut text = Vec::new();
    if rank == 0 {
        match crate::train::config_of(args) {
            Ok((cfg, r, notes)) => {
                for n in notes {
                    println!("{n}");
                }
                let mut t = toml::Table::new();
                t.insert("resume".into(), r.into());
                t.insert("config".into(), toml::Value::Table(cfg.to_table()));
                text = toml::to_string(&t)
                    .expect("a table serializes")
                    .into_bytes();
            }
            Err(e) => fail(e),
        }
    }
    if let Err(e) = world.broadcast_bytes(&mut text) {
        fail(anyhow::anyhow!("{e}"));
    }
    let (cfg, resume) = match parse_shared(&text) {
        Ok(shared) => shared,
        Err(e) => fail(e),
    };
    let ctx = match gan_tensor::Context::nth(world.local_rank()).context("opening the GPU adapter")
    {
        Ok(c) => c,
        Err(e) => fail(e),
    };
    if rank == 0 {
        println!(
            "distributed: {size} ranks ({}), {} on this node; rank 0's adapter: {}",
            MpiWorld::library_version().lines().next().unwrap_or("MPI"),
            world.local_size(),
            ctx.adapter()
        );
    }
    let comm: Box<dyn Collective> = Box::new(world.clone());
    let trainer = match Trainer::distributed(&ctx, cfg, resume, comm) {
        Ok(t) => t,
        Err(e) => fail(crate::train::start_error(e)),
    };
    let split = trainer.split();
    if rank == 0 {
        println!(
            "each rank takes {} of every batch of {} ({} micro-batch(es) each)",
            trainer.config().batch_size / size,
            trainer.config().batch_size,
            split.micro
        );
        if let Err(e) = crate::train::drive(args, trainer) {
            fail(e);
        }
    } else {
        let mut trainer = trainer;
        if let Err(e) = trainer.train() {
            fail(anyhow::anyhow!("{e}"));
        }
    }
    Ok(())
}

#[cfg(feature = "distributed")]
fn parse_shared(text: &[u8]) -> Result<(gan_train::Config, bool)> {
    let text = std::str::from_utf8(text)?;
    let t: toml::Table = toml::from_str(text)?;
    let resume = t.get("resume").and_then(|v| v.as_bool()).unwrap_or(false);
    let cfg = match t.get("config") {
        Some(toml::Value::Table(c)) => {
            gan_train::Config::from_table(c.clone()).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        _ => anyhow::bail!("rank 0 sent no config"),
    };
    Ok((cfg, resume))
}
