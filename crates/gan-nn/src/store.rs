//! Parameters in one flat buffer.
//!
//! [`ParamStore::build`] walks a finished model ([`Module::visit`]), names every
//! [`Param`] PyTorch's way (`0.weight`, `layers.1.running_mean`), lays the trainable ones
//! out in one flat value buffer and one flat gradient buffer (each at an offset aligned
//! to [`gan_tensor::Context::view_alignment`], padding zero), initialises them on the GPU
//! from one seed (stream = the parameter's index), and binds each [`Param`] to a
//! [`Var::leaf_with_grad`] over its two views. An optimizer then updates the whole model
//! with one dispatch, and [`ParamStore::zero_grad`] is one fill.
//!
//! Non-trainable buffers (BatchNorm running statistics) get a tensor each (the batch-norm
//! kernel writes both running statistics in one dispatch, so they may not share a
//! buffer); counters (`num_batches_tracked`) live on the host.

use std::rc::Rc;

use gan_tensor::rng::SplitMix64;
use gan_tensor::{Context, Tensor};

use crate::error::{Error, Result};
use crate::init::{InitScheme, Role};
use crate::module::{Module, Slot};
use crate::param::{Bound, Entry, Param};
use crate::var::Var;

/// How a store is built.
#[derive(Clone, Debug, Default)]
pub struct StoreConfig {
    /// Prepended to every name (`gen` gives `gen.layers.0.weight`); empty for none.
    pub prefix: String,
    /// Drives every initialiser and dropout seed of the model.
    pub seed: u64,
    /// Initialisers by role; parameters with an explicit init keep theirs.
    pub init: InitScheme,
}

impl StoreConfig {
    /// Default scheme (PyTorch) and no prefix, with `seed`.
    pub fn seed(seed: u64) -> Self {
        StoreConfig {
            seed,
            ..Default::default()
        }
    }

    /// Sets the name prefix.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// Sets the initialisation scheme.
    pub fn init(mut self, init: InitScheme) -> Self {
        self.init = init;
        self
    }
}

struct StoreInner {
    ctx: Context,
    values: Tensor,
    grads: Tensor,
    entries: Vec<Entry>,
    trainable_numel: usize,
}

/// The parameters of one model in one flat value buffer and one flat gradient buffer.
/// Cheap to clone (shared handle).
#[derive(Clone)]
pub struct ParamStore(Rc<StoreInner>);

impl std::fmt::Debug for ParamStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ParamStore({} entries, {} trainable values in {})",
            self.0.entries.len(),
            self.0.trainable_numel,
            self.0.values.numel()
        )
    }
}

/// FNV-1a of a name: stable across runs and platforms (unlike std's hasher).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if name.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl ParamStore {
    /// Allocates and initialises every parameter of `model` (see the module docs).
    pub fn build(ctx: &Context, model: &dyn Module, cfg: &StoreConfig) -> Result<ParamStore> {
        let mut params: Vec<(String, Param)> = Vec::new();
        let mut visit = |name: &str, slot: Slot<'_>| match slot {
            Slot::Param(p) => params.push((join(&cfg.prefix, name), p.clone())),
            Slot::Rng(r) => {
                if !r.has_seed() {
                    r.set_seed(SplitMix64::mix(
                        cfg.seed ^ name_hash(&join(&cfg.prefix, name)),
                    ));
                }
            }
        };
        model.visit("", &mut visit);
        for (i, (name, p)) in params.iter().enumerate() {
            let twice = params[..i].iter().any(|(_, q)| p.same(q));
            if p.is_built() || twice {
                return Err(Error::AlreadyBuilt { name: name.clone() });
            }
        }
        let align = ctx.view_alignment();
        let mut offset = 0usize;
        let mut entries = Vec::with_capacity(params.len());
        for (name, param) in params {
            let off = if param.is_trainable() {
                let o = offset;
                offset += param.numel().div_ceil(align) * align;
                Some(o)
            } else {
                None
            };
            entries.push(Entry {
                name,
                param,
                offset: off,
            });
        }
        let flat = offset.max(align);
        let values = Tensor::zeros(ctx, &[flat])?;
        let grads = Tensor::zeros(ctx, &[flat])?;
        for (index, e) in entries.iter().enumerate() {
            let p = &e.param;
            let init = p.init().unwrap_or_else(|| cfg.init.init_for(p.role()));
            let bound = match (e.offset, p.role()) {
                (Some(off), _) => {
                    let v = values.view(off, p.dims())?;
                    init.fill(&v, cfg.seed, index as u64)?;
                    let g = grads.view(off, p.dims())?;
                    Bound::Trainable {
                        var: Var::leaf_with_grad(v, g)?,
                    }
                }
                (None, Role::Counter) => {
                    p.set_counter(0);
                    Bound::Counter
                }
                (None, _) => {
                    let t = Tensor::zeros(ctx, p.dims())?;
                    init.fill(&t, cfg.seed, index as u64)?;
                    Bound::Buffer(t)
                }
            };
            // Checked above: nobody else bound it.
            let _ = p.bind(bound);
        }
        Ok(ParamStore(Rc::new(StoreInner {
            ctx: ctx.clone(),
            values,
            grads,
            entries,
            trainable_numel: offset,
        })))
    }

    /// The device.
    pub fn context(&self) -> &Context {
        &self.0.ctx
    }

    /// The flat value buffer of all trainable parameters (padding included).
    pub fn values(&self) -> &Tensor {
        &self.0.values
    }

    /// The flat gradient buffer, laid out like [`ParamStore::values`].
    pub fn grads(&self) -> &Tensor {
        &self.0.grads
    }

    /// Zeroes every gradient: one fill of the flat gradient buffer. Each parameter's
    /// leaf then knows its gradient is zero, so the first gradient a backward pass gives
    /// it can be written in place ([`Var::take_grad_in_place`]); anything written into
    /// [`ParamStore::grads`] directly after this and before `backward` may be
    /// overwritten, not added to.
    pub fn zero_grad(&self) -> Result<()> {
        self.0.grads.fill_(0.0)?;
        for e in self.0.entries.iter().filter(|e| e.offset.is_some()) {
            e.param.var()?.mark_grad_zeroed();
        }
        Ok(())
    }

    /// Freezes (or thaws) every trainable parameter (see [`Var::set_frozen`]): while
    /// frozen (from the forward pass through `backward`), the model's parameters take no
    /// gradient and its layers skip the weight-gradient products, so a backward pass
    /// through the model computes only what its inputs need (PyTorch:
    /// `requires_grad_(False)` on each parameter).
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        for e in self.0.entries.iter().filter(|e| e.offset.is_some()) {
            e.param.var()?.set_frozen(frozen);
        }
        Ok(())
    }

    /// Every parameter, buffer and counter in module order.
    pub fn entries(&self) -> &[Entry] {
        &self.0.entries
    }

    /// The names, in module order (PyTorch's `state_dict().keys()`).
    pub fn names(&self) -> Vec<String> {
        self.0.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// Names of the trainable parameters (PyTorch's `named_parameters()`).
    pub fn parameter_names(&self) -> Vec<String> {
        self.0
            .entries
            .iter()
            .filter(|e| e.offset.is_some())
            .map(|e| e.name.clone())
            .collect()
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.param)
    }

    /// The name of `param` in this store (its state_dict key), None when the store
    /// does not hold it.
    pub fn name_of(&self, param: &Param) -> Option<&str> {
        self.0
            .entries
            .iter()
            .find(|e| e.param.same(param))
            .map(|e| e.name.as_str())
    }

    /// Number of trainable scalars (without padding).
    pub fn num_parameters(&self) -> usize {
        self.0
            .entries
            .iter()
            .filter(|e| e.offset.is_some())
            .map(|e| e.param.numel())
            .sum()
    }
}
