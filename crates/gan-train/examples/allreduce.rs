//! The communication cost of a data-parallel step, measured: `mpirun -n 2
//! target/release/examples/allreduce` (build with `cargo build --release -p gan-train
//! --features distributed --example allreduce`). For the gradient buffers of the default
//! players (MLP and DCGAN), the mean time of one MPI all-reduce (sum of f32, the call the
//! trainer makes per player per step) and, on rank 0's adapter, of the readback and upload
//! around it.

use std::time::Instant;

use gan_tensor::{Context, Tensor};
use gan_train::mpi::MpiWorld;
use gan_train::Collective;

fn main() {
    let world = MpiWorld::init().expect("MPI starts");
    let ctx = Context::nth(world.local_rank()).expect("an adapter");
    let (rank, size) = (world.rank(), world.size());
    if rank == 0 {
        println!(
            "{size} ranks, {}; adapter {}",
            MpiWorld::library_version().lines().next().unwrap_or("MPI"),
            ctx.adapter()
        );
        println!("| buffer | floats | MB | all-reduce ms | GB/s (algorithm bandwidth) | readback + upload ms |");
        println!("|---|---|---|---|---|---|");
    }
    let cases = [
        ("MLP G (mnist, 100-256-512-1024-784)", 1_486_352usize),
        ("MLP D (784-512-256-1)", 533_505),
        ("DCGAN G (ngf 32)", 347_072),
        ("DCGAN D (ndf 32)", 36_544),
        ("metrics", 5),
    ];
    for (name, n) in cases {
        let mut v = vec![1.0f32; n];
        let reps = if n > 100_000 { 40 } else { 200 };
        for _ in 0..5 {
            world.all_reduce_sum(&mut v).unwrap();
        }
        world.all_ok(true).unwrap(); // line the ranks up
        let t = Instant::now();
        for _ in 0..reps {
            world.all_reduce_sum(&mut v).unwrap();
        }
        let ar = t.elapsed().as_secs_f64() / reps as f64;
        let g = Tensor::zeros(&ctx, &[n]).unwrap();
        let _ = g.to_vec().unwrap();
        let t = Instant::now();
        for _ in 0..10 {
            let host = g.to_vec().unwrap();
            g.assign(&Tensor::from_slice(&ctx, &host, &[n]).unwrap())
                .unwrap();
        }
        let _ = g.to_vec().unwrap();
        let io = t.elapsed().as_secs_f64() / 10.0;
        if rank == 0 {
            let mb = n as f64 * 4.0 / 1e6;
            println!(
                "| {name} | {n} | {mb:.2} | {:.3} | {:.2} | {:.2} |",
                ar * 1e3,
                mb / 1e3 / ar,
                io * 1e3
            );
        }
        world.all_ok(true).unwrap();
    }
}
