//! Shared by the layer test binaries (layers.rs, layers_store.rs): a seeded constant
//! input, a store built over a model, host copies of a parameter, and the PyTorch MLP.
#![allow(dead_code)]

use crate::common::ctx;
use gan_nn::{
    BatchNorm1d, Dropout, LeakyReLU, Linear, Module, ParamStore, ReLU, Sequential, StoreConfig, Var,
};
use gan_tensor::testing::random;
use gan_tensor::Tensor;

pub fn input(seed: u64, dims: &[usize]) -> (Var, Vec<f32>) {
    let data = random(seed, dims.iter().product(), -1.0, 1.0);
    let t = Tensor::from_slice(&ctx(), &data, dims).unwrap();
    (Var::constant(t), data)
}

pub fn build(model: &dyn Module, seed: u64) -> ParamStore {
    ParamStore::build(&ctx(), model, &StoreConfig::seed(seed)).unwrap()
}

pub fn host(p: &gan_nn::Param) -> Vec<f32> {
    p.tensor().unwrap().to_vec().unwrap()
}

/// The MLP as PyTorch would write it:
/// `nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.BatchNorm1d(8),
///  nn.LeakyReLU(0.2), nn.Dropout(0.5), nn.Linear(8, 1))`
pub fn mlp() -> Sequential {
    Sequential::new()
        .add(Linear::new(2, 8))
        .add(ReLU)
        .add(Linear::new(8, 8))
        .add(BatchNorm1d::new(8))
        .add(LeakyReLU::new(0.2))
        .add(Dropout::new(0.5))
        .add(Linear::new(8, 1))
}
