//! The tape: each [`Var`] knows its value, the `Var`s it was computed from, and a rule
//! mapping the gradient of its value to gradients of those inputs.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gan_tensor::{Result, Tensor};

/// Maps the gradient of a node's value to the gradients of its parents (None where a
/// parent needs none).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor) -> Result<Vec<Option<Tensor>>>>;

struct Node {
    value: Tensor,
    requires_grad: bool,
    /// A frozen leaf takes no gradient for now (see [`Var::set_frozen`]).
    frozen: Cell<bool>,
    parents: Vec<Var>,
    backward: Option<BackwardFn>,
    /// Accumulated gradient of a leaf (parameters keep theirs between steps).
    grad: RefCell<Option<Tensor>>,
    /// The leaf's gradient buffer holds zeros that nothing has added to yet (set by
    /// zeroing it, cleared by the first gradient): see [`Var::take_grad_in_place`].
    zeroed: Cell<bool>,
    /// A leaf's gradient edges in the backward pass under way: (all of them, those whose
    /// rule has not run yet); (0, 0) outside a pass.
    uses: Cell<(u32, u32)>,
    /// The pass under way holds a gradient for this leaf not yet added to its buffer.
    pending: Cell<bool>,
}

/// Where a backward rule may put a parameter's gradient itself ([`Var::take_grad_in_place`]).
#[derive(Debug)]
pub enum InPlace {
    /// The leaf's gradient buffer holds zeros nothing has added to: overwrite it.
    Write(Tensor),
    /// The leaf's gradient buffer holds a sum: add the gradient to it.
    Add(Tensor),
}

/// A tensor that records the operations applied to it. Cheap to clone.
#[derive(Clone)]
pub struct Var(Rc<Node>);

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Var{:?}{}",
            self.0.value.dims(),
            if self.0.requires_grad { " (grad)" } else { "" }
        )
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static IN_PLACE: Cell<bool> = const { Cell::new(true) };
}

/// Turns the in-place gradients of [`Var::take_grad_in_place`] on (the default) or off
/// on this thread, returning the previous setting: off, every gradient goes through a
/// temporary and the engine's sum (the reference the in-place path is tested against,
/// and an A/B switch for benchmarks).
pub fn set_grads_in_place(on: bool) -> bool {
    IN_PLACE.with(|c| c.replace(on))
}

/// True unless inside [`no_grad`].
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` without recording operations (inference, metrics, parameter updates).
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

impl Var {
    /// A constant: no gradient flows into it.
    pub fn constant(value: Tensor) -> Var {
        Var(Rc::new(Node {
            value,
            requires_grad: false,
            frozen: Cell::new(false),
            parents: Vec::new(),
            backward: None,
            grad: RefCell::new(None),
            zeroed: Cell::new(false),
            uses: Cell::new((0, 0)),
            pending: Cell::new(false),
        }))
    }

    /// A leaf that collects a gradient (a parameter, or an input under study).
    pub fn leaf(value: Tensor) -> Var {
        Var(Rc::new(Node {
            value,
            requires_grad: true,
            frozen: Cell::new(false),
            parents: Vec::new(),
            backward: None,
            grad: RefCell::new(None),
            zeroed: Cell::new(false),
            uses: Cell::new((0, 0)),
            pending: Cell::new(false),
        }))
    }

    /// A leaf whose gradient accumulates into `grad` (same shape), e.g. a view of a
    /// model's flat gradient buffer, so the optimizer updates all parameters at once.
    pub fn leaf_with_grad(value: Tensor, grad: Tensor) -> Result<Var> {
        value.same_shape(&grad, "leaf_with_grad")?;
        Ok(Var(Rc::new(Node {
            value,
            requires_grad: true,
            frozen: Cell::new(false),
            parents: Vec::new(),
            backward: None,
            grad: RefCell::new(Some(grad)),
            zeroed: Cell::new(false),
            uses: Cell::new((0, 0)),
            pending: Cell::new(false),
        })))
    }

    /// The result of an operation on `parents`; recorded only when some parent needs a
    /// gradient and recording is on.
    pub(crate) fn from_op(value: Tensor, parents: &[&Var], backward: BackwardFn) -> Var {
        let needed = is_grad_enabled() && parents.iter().any(|p| p.requires_grad());
        if !needed {
            return Var::constant(value);
        }
        Var(Rc::new(Node {
            value,
            requires_grad: true,
            frozen: Cell::new(false),
            parents: parents.iter().map(|p| (*p).clone()).collect(),
            backward: Some(backward),
            grad: RefCell::new(None),
            zeroed: Cell::new(false),
            uses: Cell::new((0, 0)),
            pending: Cell::new(false),
        }))
    }

    /// The value.
    pub fn value(&self) -> &Tensor {
        &self.0.value
    }

    /// The dimensions of the value.
    pub fn dims(&self) -> &[usize] {
        self.0.value.dims()
    }

    /// Whether gradients flow into this variable (false for a frozen leaf).
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad && !self.0.frozen.get()
    }

    /// Freezes (or thaws) a leaf: while frozen it takes no gradient, and operations
    /// recorded from it skip the products that would compute one (a GAN's generator step
    /// through the discriminator needs the gradient of D's input, not of D's weights).
    /// Keep it frozen from the forward pass through `backward`; no effect on non-leaves.
    pub fn set_frozen(&self, frozen: bool) {
        if self.0.parents.is_empty() {
            self.0.frozen.set(frozen);
        }
    }

    /// The same value, cut from the tape: nothing flows back through it.
    pub fn detach(&self) -> Var {
        Var::constant(self.0.value.clone())
    }

    /// The accumulated gradient of a leaf, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.borrow().clone()
    }

    /// Zeroes a leaf's gradient buffer in place (or forgets a gradient it owns).
    pub fn zero_grad(&self) -> Result<()> {
        let grad = self.0.grad.borrow();
        match &*grad {
            Some(g) => {
                g.fill_(0.0)?;
                self.0.zeroed.set(true);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records that this leaf's gradient buffer was just zeroed by its owner (a
    /// [`crate::ParamStore`] zeroes all of its leaves' buffers in one fill).
    pub(crate) fn mark_grad_zeroed(&self) {
        if self.0.grad.borrow().is_some() {
            self.0.zeroed.set(true);
        }
    }

    /// For a backward rule that can put a parent's gradient into the parent's buffer
    /// itself (and return None for that parent): where this is a leaf that takes a gradient,
    /// the buffer to [`InPlace::Write`] (it holds zeros nothing has added to) or to
    /// [`InPlace::Add`] to (this rule is the leaf's last gradient edge of the pass and no
    /// earlier one is waiting), in both cases the same sum, bit for bit, as returning the
    /// gradient: the engine sums a leaf's edges of one pass in order, then adds that to
    /// the buffer, and a + b = b + a in floating point, so this holds for a leaf with at
    /// most two edges in the pass (a parameter used twice: D on real and on fake data).
    /// None otherwise (return the gradient).
    pub fn take_grad_in_place(&self) -> Option<InPlace> {
        if !IN_PLACE.with(|c| c.get())
            || !self.requires_grad()
            || !self.0.parents.is_empty()
            || self.0.pending.get()
        {
            return None;
        }
        let (total, left) = self.0.uses.get();
        if total > 2 {
            return None;
        }
        let grad = self.0.grad.borrow().clone()?;
        if self.0.zeroed.replace(false) {
            Some(InPlace::Write(grad))
        } else if total > 0 && left == 1 {
            Some(InPlace::Add(grad))
        } else {
            None
        }
    }

    /// True when both handles are the same node.
    pub fn same_node(&self, other: &Var) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    fn key(&self) -> *const Node {
        Rc::as_ptr(&self.0)
    }

    fn accumulate_leaf(&self, g: Tensor) -> Result<()> {
        self.0.zeroed.set(false);
        let mut slot = self.0.grad.borrow_mut();
        match &*slot {
            Some(existing) => existing.add_assign(&g),
            None => {
                // A copy: `g` may be another leaf's gradient or the caller's seed (ops
                // like add pass the gradient through unchanged).
                *slot = Some(g.copy()?);
                Ok(())
            }
        }
    }

    /// Back-propagates from this variable, seeded with ones (the usual case: a scalar
    /// loss of shape `[1]`). Leaves accumulate their gradients; intermediates are freed.
    pub fn backward(&self) -> Result<()> {
        let seed = Tensor::full(self.0.value.context(), self.dims(), 1.0)?;
        self.backward_with(seed)
    }

    /// Back-propagates `seed`, the gradient of some scalar with respect to this value.
    pub fn backward_with(&self, seed: Tensor) -> Result<()> {
        self.0.value.same_shape(&seed, "backward seed")?;
        if !self.requires_grad() {
            return Ok(());
        }
        let order = self.topological_order();
        count_leaf_uses(&order);
        let result = self.run_backward(&order, seed);
        for node in &order {
            node.0.uses.set((0, 0));
            node.0.pending.set(false);
        }
        result
    }

    fn run_backward(&self, order: &[Var], seed: Tensor) -> Result<()> {
        let mut grads: HashMap<*const Node, Tensor> = HashMap::new();
        grads.insert(self.key(), seed);
        for node in order.iter().rev() {
            let Some(g) = grads.remove(&node.key()) else {
                continue;
            };
            match &node.0.backward {
                None => node.accumulate_leaf(g)?,
                Some(rule) => {
                    let parent_grads = rule(&g)?;
                    for parent in &node.0.parents {
                        let (total, left) = parent.0.uses.get();
                        parent.0.uses.set((total, left.saturating_sub(1)));
                    }
                    for (parent, pg) in node.0.parents.iter().zip(parent_grads) {
                        let Some(pg) = pg else { continue };
                        if !parent.requires_grad() {
                            continue;
                        }
                        parent.0.pending.set(true);
                        match grads.remove(&parent.key()) {
                            Some(acc) => {
                                grads.insert(parent.key(), acc.add(&pg)?);
                            }
                            None => {
                                grads.insert(parent.key(), pg);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Nodes that need a gradient, parents before children.
    fn topological_order(&self) -> Vec<Var> {
        let mut order = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Iterative DFS: (node, children pushed?)
        let mut stack = vec![(self.clone(), false)];
        while let Some((v, expanded)) = stack.pop() {
            if expanded {
                order.push(v);
                continue;
            }
            if !seen.insert(v.key()) {
                continue;
            }
            stack.push((v.clone(), true));
            for p in &v.0.parents {
                if p.requires_grad() && !seen.contains(&p.key()) {
                    stack.push((p.clone(), false));
                }
            }
        }
        order
    }
}

/// Counts each leaf's gradient edges in a pass over `order` (see [`Var::take_grad_in_place`]).
fn count_leaf_uses(order: &[Var]) {
    for node in order {
        node.0.uses.set((0, 0));
        node.0.pending.set(false);
    }
    for node in order {
        for p in &node.0.parents {
            if p.0.parents.is_empty() && p.requires_grad() {
                let (total, left) = p.0.uses.get();
                p.0.uses.set((total + 1, left + 1));
            }
        }
    }
}
