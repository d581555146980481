//! The [`Module`] trait and the [`Sequential`] container.

use gan_tensor::matmul::Activation;

use crate::error::Result;
use crate::param::{Param, RngState};
use crate::spec::LayerSpec;
use crate::Var;

/// What a module reports to [`Module::visit`].
#[derive(Clone, Copy, Debug)]
pub enum Slot<'a> {
    /// A parameter, buffer or counter.
    Param(&'a Param),
    /// A layer's random state (Dropout).
    Rng(&'a RngState),
}

/// A network layer or container.
///
/// Names follow PyTorch: a layer reports its own entries (`weight`, `bias`,
/// `running_mean` ...) and a container prefixes its children's with their names
/// (`Sequential` uses `0`, `1`, ...), so the names a [`crate::ParamStore`] assigns are
/// the keys of the equivalent `nn.Module`'s `state_dict()`.
pub trait Module {
    /// A one-line description for error messages, e.g. `Linear(in_features=8, out_features=1)`.
    fn describe(&self) -> String;

    /// Runs the layer; `train` selects training behaviour (batch statistics in
    /// BatchNorm, dropping in Dropout) or evaluation behaviour.
    fn forward(&self, x: &Var, train: bool) -> Result<Var>;

    /// Calls `f` with every parameter, buffer, counter and random state, in PyTorch's
    /// `state_dict` order, named with `prefix` (use [`child_name`] to extend it).
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(&str, Slot<'_>)) {}

    /// Some(act) when this module is an elementwise activation that a preceding layer
    /// may fuse into its kernel.
    fn fusable_activation(&self) -> Option<Activation> {
        None
    }

    /// Runs the layer with `act` fused into its output, when it can (Linear); None
    /// when it cannot and the activation must run on its own.
    fn forward_fused(&self, _x: &Var, _train: bool, _act: Activation) -> Option<Result<Var>> {
        None
    }

    /// What the layer computes in eval mode, as data (kind, hyper-parameters,
    /// parameters), for exporters; None for containers and layers without one.
    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        None
    }
}

/// `prefix.name`, or `name` when the prefix is empty.
pub fn child_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        (**self).forward(x, train)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        (**self).visit(prefix, f)
    }
    fn fusable_activation(&self) -> Option<Activation> {
        (**self).fusable_activation()
    }
    fn forward_fused(&self, x: &Var, train: bool, act: Activation) -> Option<Result<Var>> {
        (**self).forward_fused(x, train, act)
    }
    fn layer_spec(&self) -> Option<LayerSpec<'_>> {
        (**self).layer_spec()
    }
}

/// Layers applied in order; children are named `0`, `1`, `2` ... as in `nn.Sequential`.
///
/// A layer that can fuse an activation (Linear) directly followed by an activation
/// module runs as one kernel (the activation keeps its index and has no parameters,
/// so names are unchanged); [`Sequential::fuse`] turns this off.
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
    fuse: bool,
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new()
    }
}

impl Sequential {
    /// An empty container.
    pub fn new() -> Self {
        Sequential {
            layers: Vec::new(),
            fuse: true,
        }
    }

    /// Appends a layer (builder style, as candle's `seq().add(..)`).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Module + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Module + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// Turns activation fusion on or off (on by default).
    pub fn fuse(mut self, on: bool) -> Self {
        self.fuse = on;
        self
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without children.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Child `i`.
    pub fn get(&self, i: usize) -> Option<&dyn Module> {
        self.layers.get(i).map(|l| l.as_ref())
    }

    /// Runs children `range` only (e.g. a network's body up to its last layer, for a
    /// projection discriminator); fusion stays within the range.
    pub fn forward_range(
        &self,
        x: &Var,
        train: bool,
        range: std::ops::Range<usize>,
    ) -> Result<Var> {
        let end = range.end.min(self.layers.len());
        let mut h = x.clone();
        let mut i = range.start;
        while i < end {
            let layer = &self.layers[i];
            let wrap = |e: crate::error::Error| e.within(&i.to_string(), || layer.describe());
            if self.fuse && i + 1 < end {
                if let Some(act) = self.layers.get(i + 1).and_then(|n| n.fusable_activation()) {
                    if let Some(out) = layer.forward_fused(&h, train, act) {
                        h = out.map_err(wrap)?;
                        i += 2;
                        continue;
                    }
                }
            }
            h = layer.forward(&h, train).map_err(wrap)?;
            i += 1;
        }
        Ok(h)
    }
}

impl Module for Sequential {
    fn describe(&self) -> String {
        format!("Sequential({} layers)", self.layers.len())
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        self.forward_range(x, train, 0..self.layers.len())
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(&child_name(prefix, &i.to_string()), f);
        }
    }
}

/// Named children, like the attributes of a custom `nn.Module` (`gen`, `disc` ...);
/// forward runs them in order.
#[derive(Default)]
pub struct Named {
    children: Vec<(String, Box<dyn Module>)>,
}

impl Named {
    /// An empty container.
    pub fn new() -> Self {
        Named::default()
    }

    /// Adds a child called `name` (builder style).
    pub fn add(mut self, name: &str, m: impl Module + 'static) -> Self {
        self.children.push((name.to_string(), Box::new(m)));
        self
    }
}

impl Module for Named {
    fn describe(&self) -> String {
        let names: Vec<&str> = self.children.iter().map(|(n, _)| n.as_str()).collect();
        format!("Named({})", names.join(", "))
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        let mut h = x.clone();
        for (name, m) in &self.children {
            h = m
                .forward(&h, train)
                .map_err(|e| e.within(name, || m.describe()))?;
        }
        Ok(h)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        for (name, m) in &self.children {
            m.visit(&child_name(prefix, name), f);
        }
    }
}
