//! The data-parallel plumbing without MPI: a scripted peer plays the other rank of a
//! 2-rank job, so gradient averaging, state broadcast and the weight agreement check are
//! tested in the normal suite (the real thing under mpirun: gan-cli's tests/distributed.rs).

mod common;

use std::cell::RefCell;

use common::{ctx, mnist_tiny};
use gan_tensor::Tensor;
use gan_train::parallel::{self, all_reduce_mean, check_agreement, Collective, Split};
use gan_train::{Gan, ItemShape, Optimizers, TrainError};

/// Rank `rank` of 2; the other rank's contributions are given: what it adds to each
/// all-reduce, and (when it is rank 0) what it broadcasts.
struct Peer {
    rank: usize,
    adds: RefCell<Vec<Vec<f32>>>,
    sends_f32: RefCell<Vec<Vec<f32>>>,
    sends_u64: RefCell<Vec<Vec<u64>>>,
}

impl Peer {
    fn new(rank: usize) -> Peer {
        Peer {
            rank,
            adds: RefCell::default(),
            sends_f32: RefCell::default(),
            sends_u64: RefCell::default(),
        }
    }
}

impl Collective for Peer {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        2
    }
    fn all_reduce_sum(&self, values: &mut [f32]) -> gan_train::Result<()> {
        let other = self.adds.borrow_mut().remove(0);
        assert_eq!(
            other.len(),
            values.len(),
            "the ranks reduce buffers of one length"
        );
        values.iter_mut().zip(other).for_each(|(v, o)| *v += o);
        Ok(())
    }
    fn broadcast_f32(&self, values: &mut [f32]) -> gan_train::Result<()> {
        if self.rank != 0 {
            values.copy_from_slice(&self.sends_f32.borrow_mut().remove(0));
        }
        Ok(())
    }
    fn broadcast_u64(&self, values: &mut [u64]) -> gan_train::Result<()> {
        if self.rank != 0 {
            values.copy_from_slice(&self.sends_u64.borrow_mut().remove(0));
        }
        Ok(())
    }
    fn seconds(&self) -> f64 {
        0.0
    }
}

#[test]
fn gradients_are_averaged_over_the_ranks() {
    let peer = Peer::new(0);
    peer.adds.borrow_mut().push(vec![3.0, -1.0, 0.5]);
    let g = Tensor::from_slice(&ctx(), &[1.0, 1.0, 1.5], &[3]).unwrap();
    all_reduce_mean(&peer, &g).unwrap();
    assert_eq!(g.to_vec().unwrap(), vec![2.0, 0.0, 1.0]);
}

#[test]
fn a_rank_whose_weights_differ_from_rank_0s_is_named() {
    let peer = Peer::new(1);
    // Equal hashes: rank 0 flags nothing, nor does rank 1.
    peer.sends_u64.borrow_mut().push(vec![42]);
    peer.adds.borrow_mut().push(vec![0.0, 0.0]);
    check_agreement(&peer, "G", 42, 10).unwrap();
    // Rank 1 holds other weights.
    peer.sends_u64.borrow_mut().push(vec![42]);
    peer.adds.borrow_mut().push(vec![0.0, 0.0]);
    let e = check_agreement(&peer, "D", 43, 20).unwrap_err();
    assert!(matches!(e, TrainError::Distributed(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("step 20") && msg.contains("rank(s) 1"),
        "{msg}"
    );
}

/// A non-root rank receives rank 0's parameters, BatchNorm buffers, counters and Adam
/// state: afterwards its players hash as rank 0's do.
#[test]
fn rank_0s_state_is_broadcast_into_another_ranks_players() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = gan_train::Config {
        g_batchnorm: true,
        ..mnist_tiny(tmp.path(), 1)
    };
    let item = ItemShape::Image(gan_data::ImageShape::new(1, 28, 28));
    let root = Gan::new(&ctx(), &cfg, item).unwrap();
    let other = Gan::new(
        &ctx(),
        &gan_train::Config {
            seed: 99,
            ..cfg.clone()
        },
        item,
    )
    .unwrap();
    let store = &root.generator.store;
    assert_ne!(
        parallel::weights_hash(store).unwrap(),
        parallel::weights_hash(&other.generator.store).unwrap()
    );
    // What rank 0 sends, in the order broadcast_store asks for it.
    let peer = Peer::new(1);
    peer.sends_f32
        .borrow_mut()
        .push(store.values().to_vec().unwrap());
    for e in store.entries().iter().filter(|e| e.offset.is_none()) {
        if e.param.role() == gan_nn::Role::Counter {
            peer.sends_u64.borrow_mut().push(vec![7]);
        } else {
            peer.sends_f32
                .borrow_mut()
                .push(e.param.tensor().unwrap().to_vec().unwrap());
        }
    }
    parallel::broadcast_store(&peer, &other.generator.store).unwrap();
    assert_eq!(
        parallel::weights_hash(store).unwrap(),
        parallel::weights_hash(&other.generator.store).unwrap()
    );
    let counters: Vec<i64> = other
        .generator
        .store
        .entries()
        .iter()
        .filter(|e| e.param.role() == gan_nn::Role::Counter)
        .map(|e| e.param.counter())
        .collect();
    assert!(!counters.is_empty() && counters.iter().all(|&c| c == 7));
    // Adam: moments and step count.
    let mut opt = Optimizers::new(&other, &cfg).unwrap();
    let n = other.generator.store.values().numel();
    peer.sends_f32.borrow_mut().push(vec![0.25; n]);
    peer.sends_f32.borrow_mut().push(vec![0.5; n]);
    peer.sends_u64.borrow_mut().push(vec![12]);
    parallel::broadcast_optimizer(&peer, &mut opt.g).unwrap();
    use gan_nn::Optimizer;
    assert_eq!(opt.g.steps(), 12);
    assert!(opt.g.m().to_vec().unwrap().iter().all(|&x| x == 0.25));
    assert!(opt.g.v().to_vec().unwrap().iter().all(|&x| x == 0.5));
}

#[test]
fn a_batch_splits_into_equal_pieces_of_whole_packs() {
    let s = Split {
        rank: 1,
        ranks: 2,
        micro: 2,
    };
    assert_eq!(s.pieces(), 4);
    assert_eq!(s.piece(0), 2);
    assert_eq!(s.piece(1), 3);
    assert_eq!(s.piece_size(64, 1).unwrap(), 16);
    assert_eq!(s.piece_size(64, 4).unwrap(), 16);
    let e = s.piece_size(64, 32).unwrap_err().to_string();
    assert!(e.contains("multiple of 128"), "{e}");
    let e = s.piece_size(30, 1).unwrap_err().to_string();
    assert!(
        e.contains("batch_size = 30") && e.contains("2 ranks x 2 micro-batches"),
        "{e}"
    );
}
