//! One player of the game: a network and the store of its parameters.

use std::collections::BTreeMap;

use gan_nn::{InitScheme, Module, ParamStore, Sequential, Slot, StoreConfig, Var};
use gan_tensor::{Context, Tensor};

use crate::conditional::{ClassEmbedding, WithEmbedding};
use crate::error::{Result, TrainError};

/// A network with its parameters (one flat GPU buffer), named under `prefix`
/// (`gen.0.weight`, `disc.3.running_mean`: PyTorch's `self.gen = nn.Sequential(...)`).
pub struct Player {
    /// The layers.
    pub net: Sequential,
    /// Their parameters and buffers.
    pub store: ParamStore,
    /// The class embedding of a conditional player (None: unconditional).
    pub class: Option<ClassEmbedding>,
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
        Ok(Player {
            net,
            store,
            class: None,
            prefix,
        })
    }

    /// A class-conditional player: `net` and its class embedding in one store, named
    /// `{prefix}.*` and `{prefix}_embed.weight` (see [`crate::conditional`]). The
    /// network's parameters are initialised as [`Player::new`] initialises them.
    pub fn conditional(
        ctx: &Context,
        net: Sequential,
        class: ClassEmbedding,
        prefix: &'static str,
        seed: u64,
        init: InitScheme,
    ) -> Result<Player> {
        let both = WithEmbedding {
            net: &net,
            prefix,
            class: &class,
        };
        let store = ParamStore::build(ctx, &both, &StoreConfig::seed(seed).init(init))?;
        Ok(Player {
            net,
            store,
            class: Some(class),
            prefix,
        })
    }

    /// The forward pass (`train`: batch statistics and dropout on).
    pub fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        self.forward_for(x, None, train)
    }

    /// The forward pass with class `labels` (`[B]`, see [`Player::upload_labels`]):
    /// required by a conditional player, refused by an unconditional one.
    pub fn forward_for(&self, x: &Var, labels: Option<&Tensor>, train: bool) -> Result<Var> {
        match (&self.class, labels) {
            (None, None) => Ok(self.net.forward(x, train)?),
            (Some(c), Some(l)) => c.forward(&self.net, x, l, train),
            (Some(c), None) => Err(TrainError::Config(format!(
                "`{}` is class-conditional ({} classes): give a class per item",
                self.prefix,
                c.classes()
            ))),
            (None, Some(_)) => Err(TrainError::Config(format!(
                "`{}` is unconditional: it takes no class labels (train with --conditional)",
                self.prefix
            ))),
        }
    }

    /// Checks class labels against the player's classes and uploads them.
    pub fn upload_labels(&self, labels: &[u32]) -> Result<Tensor> {
        match &self.class {
            Some(c) => Ok(c.embed.upload(self.store.context(), labels)?),
            None => Err(TrainError::Config(format!(
                "`{}` is unconditional: it takes no class labels (train with --conditional)",
                self.prefix
            ))),
        }
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

    /// Puts every dropout stream at the step `saved` names (absent: left alone), in
    /// O(1) per layer.
    pub fn set_rng_steps(&self, saved: &BTreeMap<String, u64>) {
        self.net.visit(self.prefix, &mut |name, slot| {
            if let (Slot::Rng(r), Some(s)) = (slot, saved.get(name)) {
                r.set_steps(*s);
            }
        });
    }

    /// Makes every dropout layer draw piece `piece` of `pieces` of its streams (see
    /// [`gan_nn::RngState`]): this process's rows of a split batch.
    pub fn set_shard(&self, piece: usize, pieces: usize) {
        self.net.visit(self.prefix, &mut |_, slot| {
            if let Slot::Rng(r) = slot {
                r.set_shard(piece, pieces);
            }
        });
    }

    /// Puts every dropout stream back at the step `saved` names (0 when absent).
    pub fn restore_rng_steps(&self, saved: &BTreeMap<String, u64>) {
        self.net.visit(self.prefix, &mut |name, slot| {
            if let Slot::Rng(r) = slot {
                r.set_steps(saved.get(name).copied().unwrap_or(0));
            }
        });
    }
}
