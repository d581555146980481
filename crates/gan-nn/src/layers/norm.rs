//! Batch normalization with PyTorch's semantics and state_dict entries.

use gan_tensor::matmul::Activation;

use crate::error::{Error, Result};
use crate::init::{Init, Role};
use crate::module::{child_name, Module, Slot};
use crate::param::Param;
use crate::spec::{LayerSpec, NormSpec};
use crate::Var;

/// What BatchNorm1d and BatchNorm2d share.
struct Core {
    features: usize,
    momentum: f32,
    eps: f32,
    weight: Param,
    bias: Param,
    running_mean: Param,
    running_var: Param,
    num_batches_tracked: Param,
}

impl Core {
    fn new(features: usize) -> Self {
        Core {
            features,
            momentum: 0.1,
            eps: 1e-5,
            weight: Param::new(&[features], Role::NormWeight),
            bias: Param::new(&[features], Role::NormBias),
            running_mean: Param::new(&[features], Role::BufferZeros),
            running_var: Param::new(&[features], Role::BufferOnes),
            num_batches_tracked: Param::new(&[], Role::Counter),
        }
    }

    fn describe(&self, kind: &str) -> String {
        format!(
            "{kind}({}, eps={:e}, momentum={})",
            self.features, self.eps, self.momentum
        )
    }

    fn forward(&self, x: &Var, train: bool) -> Result<Var> {
        self.forward_act(x, train, Activation::None)
    }

    /// The forward with `act` fused in training mode (None or ReLU / LeakyReLU only).
    fn forward_act(&self, x: &Var, train: bool, act: Activation) -> Result<Var> {
        let gamma = self.weight.var()?;
        let beta = self.bias.var()?;
        let rm = self.running_mean.tensor()?;
        let rv = self.running_var.tensor()?;
        if train {
            let (m, eps) = (self.momentum, self.eps);
            let y = Var::batch_norm_train_act(x, &gamma, &beta, &rm, &rv, m, eps, act)?;
            let n = &self.num_batches_tracked;
            n.set_counter(n.counter() + 1);
            Ok(y)
        } else {
            Ok(Var::batch_norm_eval(x, &gamma, &beta, &rm, &rv, self.eps)?)
        }
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        for (name, p) in [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
            ("num_batches_tracked", &self.num_batches_tracked),
        ] {
            f(&child_name(prefix, name), Slot::Param(p));
        }
    }
}

macro_rules! batch_norm {
    ($name:ident, $torch:literal, $ranks:expr, $shapes:literal, $doc_shapes:literal) => {
        #[doc = concat!("`nn.", $torch, "(num_features)`: momentum 0.1, eps 1e-5, affine, ")]
        #[doc = concat!("tracking running statistics; input ", $doc_shapes, ".")]
        ///
        /// Training mode normalizes with the batch statistics and moves running_mean and
        /// running_var towards the batch mean and unbiased variance by `momentum`
        /// (and counts num_batches_tracked); eval mode uses the running statistics.
        pub struct $name(Core);

        impl $name {
            /// A layer over `features` channels.
            pub fn new(features: usize) -> Self {
                $name(Core::new(features))
            }

            /// Sets the momentum of the running statistics (PyTorch's default 0.1).
            pub fn momentum(mut self, m: f32) -> Self {
                self.0.momentum = m;
                self
            }

            /// Sets eps (default 1e-5).
            pub fn eps(mut self, eps: f32) -> Self {
                self.0.eps = eps;
                self
            }

            /// Overrides the scale's initialiser.
            pub fn weight_init(self, init: Init) -> Self {
                self.0.weight.set_init(init);
                self
            }

            /// The scale (gamma) `[C]`.
            pub fn weight(&self) -> &Param {
                &self.0.weight
            }

            /// The shift (beta) `[C]`.
            pub fn bias(&self) -> &Param {
                &self.0.bias
            }

            /// The running mean `[C]`.
            pub fn running_mean(&self) -> &Param {
                &self.0.running_mean
            }

            /// The running (unbiased) variance `[C]`.
            pub fn running_var(&self) -> &Param {
                &self.0.running_var
            }

            /// Training-mode forward passes so far.
            pub fn num_batches_tracked(&self) -> i64 {
                self.0.num_batches_tracked.counter()
            }

            fn check_input(&self, x: &Var) -> Result<()> {
                let d = x.dims();
                if !$ranks.contains(&d.len()) || d[1] != self.0.features {
                    return Err(Error::InputShape {
                        layer: self.describe(),
                        expected: format!($shapes, c = self.0.features),
                        got: d.to_vec(),
                    });
                }
                Ok(())
            }
        }

        impl Module for $name {
            fn describe(&self) -> String {
                self.0.describe($torch)
            }

            fn forward(&self, x: &Var, train: bool) -> Result<Var> {
                self.check_input(x)?;
                self.0.forward(x, train)
            }

            /// In training, a following ReLU or LeakyReLU runs in the batch-norm
            /// kernels (forward and backward): one pass over the activations instead
            /// of two, the same bits.
            fn forward_fused(&self, x: &Var, train: bool, act: Activation) -> Option<Result<Var>> {
                let fusable = matches!(act, Activation::Relu)
                    || matches!(act, Activation::LeakyRelu(a) if a >= 0.0);
                if !(train && fusable) {
                    return None;
                }
                Some(self.check_input(x).and_then(|_| self.0.forward_act(x, train, act)))
            }

            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
                self.0.visit(prefix, f)
            }

            fn layer_spec(&self) -> Option<LayerSpec<'_>> {
                let c = &self.0;
                Some(LayerSpec::BatchNorm(NormSpec {
                    weight: &c.weight,
                    bias: &c.bias,
                    running_mean: &c.running_mean,
                    running_var: &c.running_var,
                    eps: c.eps,
                }))
            }
        }
    };
}

batch_norm!(
    BatchNorm1d,
    "BatchNorm1d",
    [2, 3],
    "[N, {c}] or [N, {c}, L]",
    "[N, C] or [N, C, L]"
);
batch_norm!(
    BatchNorm2d,
    "BatchNorm2d",
    [4],
    "[N, {c}, H, W]",
    "[N, C, H, W]"
);
