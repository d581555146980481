//! Parameters, buffers and counters of layers, and their per-layer random state.
//!
//! Layers create [`Param`]s (shape, role, optional initialiser) when they are constructed;
//! nothing is allocated yet. A [`crate::ParamStore`] built over the finished model
//! then binds each one: a trainable parameter to a [`Var::leaf_with_grad`] over its views
//! of the store's flat value and gradient buffers, a buffer to a tensor of its own, a
//! counter to a host integer. [`RngState`] is a layer's random state (Dropout), seeded by
//! the store. This module knows nothing of modules or stores.

use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use gan_tensor::Tensor;

use crate::error::{Error, Result};
use crate::init::{Init, Role};
use crate::var::Var;

/// What a store bound a [`Param`] to.
pub(crate) enum Bound {
    /// A trainable parameter: a leaf over views of the flat buffers.
    Trainable { var: Var },
    /// A non-trainable buffer with a tensor of its own.
    Buffer(Tensor),
    /// A host-side counter.
    Counter,
}

struct ParamInner {
    dims: Vec<usize>,
    role: Role,
    init: Cell<Option<Init>>,
    bound: OnceCell<Bound>,
    counter: Cell<i64>,
}

/// A parameter, buffer or counter of a layer. Cheap to clone (shared handle).
#[derive(Clone)]
pub struct Param(Rc<ParamInner>);

impl std::fmt::Debug for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param{:?} {:?}", self.0.dims, self.0.role)
    }
}

impl Param {
    /// A parameter of `dims` with `role`; initialised by the store's scheme unless
    /// [`Param::set_init`] is called before the store is built.
    pub fn new(dims: &[usize], role: Role) -> Param {
        Param(Rc::new(ParamInner {
            dims: dims.to_vec(),
            role,
            init: Cell::new(None),
            bound: OnceCell::new(),
            counter: Cell::new(0),
        }))
    }

    /// Overrides the initialiser of this parameter (before the store is built).
    pub fn set_init(&self, init: Init) {
        self.0.init.set(Some(init));
    }

    /// The explicit initialiser, if any.
    pub fn init(&self) -> Option<Init> {
        self.0.init.get()
    }

    /// The shape.
    pub fn dims(&self) -> &[usize] {
        &self.0.dims
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.dims.iter().product()
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// True when the optimizer updates it.
    pub fn is_trainable(&self) -> bool {
        self.0.role.is_trainable()
    }

    /// True once a store has allocated it.
    pub fn is_built(&self) -> bool {
        self.0.bound.get().is_some()
    }

    /// The trainable parameter as a leaf `Var` whose gradient accumulates into the
    /// store's flat gradient buffer.
    pub fn var(&self) -> Result<Var> {
        match self.0.bound.get() {
            Some(Bound::Trainable { var }) => Ok(var.clone()),
            Some(_) => Err(Error::Invalid {
                what: "parameter use",
                msg: format!("{:?} is a buffer, not a trainable parameter", self),
            }),
            None => Err(self.not_built()),
        }
    }

    /// The value: a view into the flat value buffer, or a buffer's own tensor.
    /// (Counters have no tensor: see [`Param::counter`].)
    pub fn tensor(&self) -> Result<Tensor> {
        match self.0.bound.get() {
            Some(Bound::Trainable { var }) => Ok(var.value().clone()),
            Some(Bound::Buffer(t)) => Ok(t.clone()),
            Some(Bound::Counter) => Err(Error::Invalid {
                what: "parameter use",
                msg: "a counter lives on the host; read it with Param::counter".into(),
            }),
            None => Err(self.not_built()),
        }
    }

    /// The gradient view of a trainable parameter.
    pub fn grad(&self) -> Result<Tensor> {
        let var = self.var()?;
        var.grad().ok_or_else(|| self.not_built())
    }

    /// The value of a counter (`num_batches_tracked`).
    pub fn counter(&self) -> i64 {
        self.0.counter.get()
    }

    /// Sets a counter.
    pub fn set_counter(&self, v: i64) {
        self.0.counter.set(v);
    }

    /// Binds the parameter (once; false when it was already bound).
    pub(crate) fn bind(&self, bound: Bound) -> bool {
        self.0.bound.set(bound).is_ok()
    }

    /// True when `self` and `other` are handles of the same parameter.
    pub(crate) fn same(&self, other: &Param) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    fn not_built(&self) -> Error {
        Error::NotBuilt {
            dims: self.0.dims.clone(),
        }
    }
}

/// Per-layer random state (Dropout): a seed given by the store (or fixed by the user)
/// and a step counter, so every forward pass draws a fresh stream; and the shard of the
/// batch this process computes (piece `p` of `P` equal, contiguous pieces: the layer
/// draws elements `p * numel..` of the stream, what one process holding the whole batch
/// draws for those rows).
#[derive(Debug, Default)]
pub struct RngState {
    seed: Cell<Option<u64>>,
    step: Cell<u64>,
    shard: Cell<(usize, usize)>,
}

impl RngState {
    /// A state whose seed the store derives from its own seed and the layer's name.
    pub fn new() -> Self {
        RngState::default()
    }

    /// A fixed seed (the store leaves it alone).
    pub fn with_seed(seed: u64) -> Self {
        RngState {
            seed: Cell::new(Some(seed)),
            step: Cell::new(0),
            shard: Cell::new((0, 1)),
        }
    }

    /// The seed (0 until a store or the user sets one).
    pub fn seed(&self) -> u64 {
        self.seed.get().unwrap_or(0)
    }

    /// True once a store or the user has set the seed.
    pub(crate) fn has_seed(&self) -> bool {
        self.seed.get().is_some()
    }

    /// Sets the seed and restarts the stream counter.
    pub fn set_seed(&self, seed: u64) {
        self.seed.set(Some(seed));
        self.step.set(0);
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step.get()
    }

    /// Puts the stream counter at `steps` (e.g. to redraw a step's stream for the next
    /// micro-batch of the same batch).
    pub fn set_steps(&self, steps: u64) {
        self.step.set(steps);
    }

    /// Makes the layer draw piece `piece` of `pieces` equal pieces of each stream (see
    /// the type's docs); (0, 1), the default, is the whole batch.
    pub fn set_shard(&self, piece: usize, pieces: usize) {
        assert!(piece < pieces, "piece {piece} of {pieces}");
        self.shard.set((piece, pieces));
    }

    /// (piece, pieces) of the batch this layer's draws cover.
    pub fn shard(&self) -> (usize, usize) {
        let (p, n) = self.shard.get();
        (p, n.max(1))
    }

    /// Returns (seed, stream) for the next draw and advances the counter.
    pub fn next(&self) -> (u64, u64) {
        let s = self.step.get();
        self.step.set(s + 1);
        (self.seed(), s)
    }
}

/// One named entry of a store.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Full hierarchical name (PyTorch's state_dict key).
    pub name: String,
    /// The parameter.
    pub param: Param,
    /// Element offset in the flat buffers (trainable parameters only).
    pub offset: Option<usize>,
}
