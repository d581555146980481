//! Optimizers over a [`ParamStore`]'s flat buffers: each step is ONE gan-tensor dispatch
//! that updates every parameter of the model and the optimizer state in place.
//!
//! The state (Adam's m and v, SGD's velocity) is a flat buffer laid out like the store's
//! values, so a parameter's state is the view at the parameter's offset (that is how
//! checkpoints name it `optim.m.<name>`). Two models (G and D) have two stores and two
//! independent optimizers.

use gan_tensor::optim::{adam_step, sgd_step};
use gan_tensor::Tensor;

pub use gan_tensor::optim::{AdamConfig, SgdConfig};

use crate::error::Result;
use crate::store::ParamStore;

/// An optimizer of one store.
pub trait Optimizer {
    /// One update from the gradients in the store's flat gradient buffer.
    fn step(&mut self) -> Result<()>;

    /// The store it updates.
    fn store(&self) -> &ParamStore;

    /// Zeroes the store's gradients (one fill).
    fn zero_grad(&self) -> Result<()> {
        self.store().zero_grad()
    }

    /// Steps taken (PyTorch's `state['step']`).
    fn steps(&self) -> u64;

    /// Sets the step counter (when loading a checkpoint).
    fn set_steps(&mut self, steps: u64);

    /// The state buffers with their short names (`m`, `v`; `velocity`), each laid out
    /// like [`ParamStore::values`].
    fn state(&self) -> Vec<(&'static str, &Tensor)>;

    /// A name for checkpoints' metadata ("adam", "adamw", "sgd").
    fn kind(&self) -> &'static str;

    /// The hyperparameters as text (stored as checkpoint metadata, informational).
    fn config_string(&self) -> String;
}

/// Adam / AdamW (`torch.optim.Adam` / `AdamW`) over a store.
pub struct Adam {
    store: ParamStore,
    /// Hyperparameters (may be changed between steps, e.g. a learning-rate schedule).
    pub cfg: AdamConfig,
    m: Tensor,
    v: Tensor,
    step: u64,
}

impl Adam {
    /// Fresh state (zeros) for `store`.
    pub fn new(store: &ParamStore, cfg: AdamConfig) -> Result<Adam> {
        let ctx = store.context();
        let n = store.values().numel();
        Ok(Adam {
            store: store.clone(),
            cfg,
            m: Tensor::zeros(ctx, &[n])?,
            v: Tensor::zeros(ctx, &[n])?,
            step: 0,
        })
    }

    /// The first-moment buffer.
    pub fn m(&self) -> &Tensor {
        &self.m
    }

    /// The second-moment buffer.
    pub fn v(&self) -> &Tensor {
        &self.v
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        let s = self.step + 1;
        adam_step(
            self.store.values(),
            self.store.grads(),
            &self.m,
            &self.v,
            &self.cfg,
            s,
        )?;
        self.step = s;
        Ok(())
    }

    fn store(&self) -> &ParamStore {
        &self.store
    }

    fn steps(&self) -> u64 {
        self.step
    }

    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }

    fn state(&self) -> Vec<(&'static str, &Tensor)> {
        vec![("m", &self.m), ("v", &self.v)]
    }

    fn kind(&self) -> &'static str {
        if self.cfg.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }

    fn config_string(&self) -> String {
        format!("{:?}", self.cfg)
    }
}

/// SGD with optional momentum, dampening, Nesterov and weight decay
/// (`torch.optim.SGD`) over a store.
pub struct Sgd {
    store: ParamStore,
    /// Hyperparameters.
    pub cfg: SgdConfig,
    velocity: Option<Tensor>,
    step: u64,
}

impl Sgd {
    /// Fresh state for `store`; a velocity buffer is allocated when `cfg.momentum` is
    /// not 0.
    pub fn new(store: &ParamStore, cfg: SgdConfig) -> Result<Sgd> {
        let velocity = if cfg.momentum != 0.0 {
            Some(Tensor::zeros(store.context(), &[store.values().numel()])?)
        } else {
            None
        };
        Ok(Sgd {
            store: store.clone(),
            cfg,
            velocity,
            step: 0,
        })
    }

    /// The momentum buffer, if any.
    pub fn velocity(&self) -> Option<&Tensor> {
        self.velocity.as_ref()
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let s = self.step + 1;
        sgd_step(
            self.store.values(),
            self.store.grads(),
            self.velocity.as_ref(),
            &self.cfg,
            s,
        )?;
        self.step = s;
        Ok(())
    }

    fn store(&self) -> &ParamStore {
        &self.store
    }

    fn steps(&self) -> u64 {
        self.step
    }

    fn set_steps(&mut self, steps: u64) {
        self.step = steps;
    }

    fn state(&self) -> Vec<(&'static str, &Tensor)> {
        self.velocity.iter().map(|v| ("velocity", v)).collect()
    }

    fn kind(&self) -> &'static str {
        "sgd"
    }

    fn config_string(&self) -> String {
        format!("{:?}", self.cfg)
    }
}
