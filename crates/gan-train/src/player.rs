//! One player of the game: a network and the store of its parameters.

use std::collections::BTreeMap;

use gan_nn::{InitScheme, Module, ParamStore, Sequential, Slot, StoreConfig, Var};
use gan_tensor::Context;

use crate::error::Result;

/// A network with its parameters (one flat GPU buffer), named under `prefix`
/// (`gen.0.weight`, `disc.3.running_mean`: PyTorch's `self.gen = nn.Sequential(...)`).
pub struct Player {
    /// The layers.
    pub net: Sequential,
    /// Their parameters and buffers.
    pub store: ParamStore,
    prefix: &'static str,
}

impl Player {
    /// Builds the store of `net` under `prefix`, initialised by `init` from `seed`.
    pub fn new(
        ctx: &Context,
        net: Sequential,
        prefix: &'static str,
        seed: u64,
        init: InitScheme,
    ) -> Result<Player> {
        let store = ParamStore::build(
            ctx,
            &net,
            &StoreConfig::seed(seed).prefix(prefix).init(init),
        )?;
        Ok(Player { net, store, prefix })
    }

    /// The forward pass (`train`: batch statistics and dropout on).
    pub fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        Ok(self.net.forward(x, train)?)
    }

    /// The name prefix (`gen` or `disc`).
    pub fn prefix(&self) -> &'static str {
        self.prefix
    }

    /// Steps taken by each dropout layer's random stream, by name.
    pub fn rng_steps(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        self.net.visit(self.prefix, &mut |name, slot| {
            if let Slot::Rng(r) = slot {
                out.insert(name.to_string(), r.steps());
            }
        });
        out
    }

    /// Puts every dropout stream back at the step `saved` names (0 when absent).
    pub fn restore_rng_steps(&self, saved: &BTreeMap<String, u64>) {
        self.net.visit(self.prefix, &mut |name, slot| {
            if let Slot::Rng(r) = slot {
                let want = saved.get(name).copied().unwrap_or(0);
                r.set_seed(r.seed()); // restarts the counter at 0
                for _ in 0..want {
                    r.next();
                }
            }
        });
    }
}
