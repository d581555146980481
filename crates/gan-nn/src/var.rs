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
    /// zeroing it, cleared by the first gradient): see [`Var::take_zeroed_grad`].
    zeroed: Cell<bool>,
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

    /// For a backward rule that can write a parent's gradient in place: when this is a
    /// leaf that takes a gradient and whose buffer holds zeros nothing has added to,
    /// its gradient buffer, which the caller must then overwrite with the gradient (and
    /// return None for this parent): the same sum as returning it, without a temporary
    /// and the pass that adds it to the zeros. None otherwise (return the gradient).
    pub fn take_zeroed_grad(&self) -> Option<Tensor> {
        if !self.requires_grad() || !self.0.parents.is_empty() || !self.0.zeroed.get() {
            return None;
        }
        let grad = self.0.grad.borrow().clone()?;
        self.0.zeroed.set(false);
        Some(grad)
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
    /// loss of shape [1]). Leaves accumulate their gradients; intermediates are freed.
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
                    for (parent, pg) in node.0.parents.iter().zip(parent_grads) {
                        let Some(pg) = pg else { continue };
                        if !parent.requires_grad() {
                            continue;
                        }
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
