//! Differentiable network operations on [`Var`]: matmul and linear (with fused bias and
//! activation), convolutions, batch normalization, maxout, binary cross-entropy, dropout.

use gan_tensor::batchnorm::{self, GradInto};
use gan_tensor::bce::{self, GradScale, Targets};
use gan_tensor::conv::{self, Conv2dParams, ConvAlgo, ConvTranspose2dParams};
use gan_tensor::matmul::{matmul_with, Activation, MatmulOptions};
use gan_tensor::maxout;
use gan_tensor::softmax;
use gan_tensor::{Error, Result, Tensor};

use crate::var::{is_grad_enabled, InPlace, Var};

/// The gradient before a fused activation, from the activation's output `y`. ReLU and
/// LeakyReLU (alpha > 0) keep the sign of their input, so `y > 0` exactly where x > 0.
fn activation_backward(y: &Tensor, g: &Tensor, act: Activation) -> Result<Tensor> {
    match act {
        Activation::None => Ok(g.clone()),
        Activation::Relu => y.relu_backward(g),
        Activation::LeakyRelu(a) => y.leaky_relu_backward(g, a),
        Activation::Tanh => y.tanh_backward(g),
        Activation::Sigmoid => y.sigmoid_backward(g),
    }
}

/// Binary cross-entropy targets for [`Var::bce_with_logits`].
#[derive(Clone, Debug)]
pub enum Labels {
    /// One label for every element (1 real, 0 generated; 0.9 with label smoothing).
    Const(f32),
    /// A label per element, shaped like the logits.
    Tensor(Tensor),
}

impl Var {
    /// The matrix product self x other of 2-D values.
    pub fn matmul(&self, other: &Var) -> Result<Var> {
        let y = self.value().matmul(other.value())?;
        let (a, b) = (self.value().clone(), other.value().clone());
        Ok(Var::from_op(
            y,
            &[self, other],
            Box::new(move |g| {
                let da = matmul_with(
                    g,
                    &b,
                    MatmulOptions {
                        trans_b: true,
                        ..Default::default()
                    },
                )?;
                let db = matmul_with(
                    &a,
                    g,
                    MatmulOptions {
                        trans_a: true,
                        ..Default::default()
                    },
                )?;
                Ok(vec![Some(da), Some(db)])
            }),
        ))
    }

    /// A fully connected layer as in PyTorch: act(x W^T + b), x [B, in], W [out, in],
    /// b `[out]`; one fused kernel forward, two matmuls and a reduction backward.
    pub fn linear(x: &Var, w: &Var, b: Option<&Var>, act: Activation) -> Result<Var> {
        let opts = MatmulOptions {
            trans_b: true,
            bias: b.map(|b| b.value()),
            activation: act,
            ..Default::default()
        };
        let y = matmul_with(x.value(), w.value(), opts)?;
        let (xv, wv, yv) = (x.value().clone(), w.value().clone(), y.clone());
        let (need_dx, need_dw) = (x.requires_grad(), w.requires_grad());
        let (w_leaf, b_leaf) = (w.clone(), b.cloned());
        let mut parents = vec![x, w];
        if let Some(b) = b {
            parents.push(b);
        }
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let gp = activation_backward(&yv, g, act)?;
                // Data inputs (real images, latents) need no gradient: skip that product.
                let dx = if need_dx {
                    Some(matmul_with(&gp, &wv, MatmulOptions::default())?)
                } else {
                    None
                };
                // A parameter's gradient goes straight into its buffer where the engine
                // allows (written over zeros, or added as the last term): no temporary and
                // no separate pass (Var::take_grad_in_place).
                let dw = if need_dw {
                    let (into, accumulate) = split_in_place(w_leaf.take_grad_in_place());
                    let dw = matmul_with(
                        &gp,
                        &xv,
                        MatmulOptions {
                            trans_a: true,
                            out: into.as_ref(),
                            accumulate,
                            ..Default::default()
                        },
                    )?;
                    into.is_none().then_some(dw)
                } else {
                    None
                };
                let mut grads = vec![dx, dw];
                if let Some(b) = &b_leaf {
                    grads.push(match b.take_grad_in_place() {
                        Some(InPlace::Write(into)) => {
                            gp.sum_axis_into(0, &into)?;
                            None
                        }
                        Some(InPlace::Add(into)) => {
                            gp.sum_axis_add_into(0, &into)?;
                            None
                        }
                        None => Some(gp.sum_axis(0, false)?),
                    });
                }
                Ok(grads)
            }),
        ))
    }

    /// 2-D convolution (NCHW; weight `[Cout, Cin, KH, KW]`; optional bias `[Cout]`). When
    /// the weight will take a gradient, the forward's column matrix is kept for it.
    pub fn conv2d(x: &Var, w: &Var, b: Option<&Var>, p: Conv2dParams) -> Result<Var> {
        let (need_dx, need_dw) = (x.requires_grad(), w.requires_grad());
        let bv = b.map(|b| b.value());
        let algo = ConvAlgo::default();
        let (y, cols) = if need_dw && is_grad_enabled() {
            conv::conv2d_keeping_columns(x.value(), w.value(), bv, p, algo)?
        } else {
            (conv::conv2d_with(x.value(), w.value(), bv, p, algo)?, None)
        };
        let cols = std::cell::Cell::new(cols);
        let (xv, wv) = (x.value().clone(), w.value().clone());
        let (w_leaf, b_leaf) = (w.clone(), b.cloned());
        let mut parents = vec![x, w];
        if let Some(b) = b {
            parents.push(b);
        }
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let (xd, wd) = (xv.dims(), wv.dims());
                // Data inputs (real images) need no gradient: skip that product.
                let dx = if need_dx {
                    Some(conv::conv2d_backward_input(g, &wv, (xd[2], xd[3]), p)?)
                } else {
                    None
                };
                // Frozen weights (D during G's step) need no gradient; the others go
                // into their buffers where the engine allows (as in linear).
                let dw = if need_dw {
                    let into = split_in_place(w_leaf.take_grad_in_place());
                    let into = into.0.as_ref().map(|out| (out, into.1));
                    let khw = (wd[2], wd[3]);
                    // Taken, so the matrix is freed with this pass while the graph may
                    // live on (a loss kept for reporting); another pass recomputes it.
                    let dw = match cols.take() {
                        Some(cols) => conv::conv2d_backward_weight_from(&cols, g, into)?,
                        None => match into {
                            Some((out, acc)) => {
                                conv::conv2d_backward_weight_into(&xv, g, khw, p, algo, out, acc)?;
                                out.clone()
                            }
                            None => conv::conv2d_backward_weight(&xv, g, khw, p)?,
                        },
                    };
                    into.is_none().then_some(dw)
                } else {
                    None
                };
                let mut grads = vec![dx, dw];
                if let Some(b) = &b_leaf {
                    grads.push(conv_bias_grad(g, b)?);
                }
                Ok(grads)
            }),
        ))
    }

    /// 2-D transposed convolution (NCHW; weight [Cin, Cout, KH, KW] as in PyTorch). Its
    /// input and weight gradients multiply the same column matrix of dy, made once.
    pub fn conv_transpose2d(
        x: &Var,
        w: &Var,
        b: Option<&Var>,
        p: ConvTranspose2dParams,
    ) -> Result<Var> {
        let y = conv::conv_transpose2d(x.value(), w.value(), b.map(|b| b.value()), p)?;
        let (xv, wv) = (x.value().clone(), w.value().clone());
        let (need_dx, need_dw) = (x.requires_grad(), w.requires_grad());
        let (w_leaf, b_leaf) = (w.clone(), b.cloned());
        let mut parents = vec![x, w];
        if let Some(b) = b {
            parents.push(b);
        }
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let wd = wv.dims();
                let algo = ConvAlgo::default();
                // Data inputs (real images) need no gradient: skip that product.
                let (dx, cols) = if need_dx {
                    let (dx, cols) =
                        conv::conv_transpose2d_backward_input_keeping_columns(g, &wv, p, algo)?;
                    (Some(dx), cols.filter(|_| need_dw))
                } else {
                    (None, None)
                };
                // Frozen weights (D during G's step) need no gradient; the others go
                // into their buffers where the engine allows (as in linear).
                let khw = (wd[2], wd[3]);
                let dw = if need_dw {
                    let into = split_in_place(w_leaf.take_grad_in_place());
                    let into = into.0.as_ref().map(|out| (out, into.1));
                    let dw = match (&cols, into) {
                        (Some(cols), _) => {
                            conv::conv_transpose2d_backward_weight_from(cols, &xv, into)?
                        }
                        (None, Some((out, acc))) => {
                            conv::conv_transpose2d_backward_weight_into(
                                &xv, g, khw, p, algo, out, acc,
                            )?;
                            out.clone()
                        }
                        (None, None) => conv::conv_transpose2d_backward_weight(&xv, g, khw, p)?,
                    };
                    into.is_none().then_some(dw)
                } else {
                    None
                };
                let mut grads = vec![dx, dw];
                if let Some(b) = &b_leaf {
                    grads.push(conv_bias_grad(g, b)?);
                }
                Ok(grads)
            }),
        ))
    }

    /// Batch normalization in training mode: batch statistics, and the running
    /// statistics updated in place (PyTorch's momentum convention).
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm_train(
        x: &Var,
        gamma: &Var,
        beta: &Var,
        running_mean: &Tensor,
        running_var: &Tensor,
        momentum: f32,
        eps: f32,
    ) -> Result<Var> {
        let (rm, rv) = (running_mean, running_var);
        Var::batch_norm_train_act(x, gamma, beta, rm, rv, momentum, eps, Activation::None)
    }

    /// [`Var::batch_norm_train`] followed by `act` (ReLU, or LeakyReLU with a slope >= 0)
    /// in the same kernel, forward and backward: the bits of the two ops one after the
    /// other (see [`gan_tensor::batchnorm::batch_norm_train_act`]).
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm_train_act(
        x: &Var,
        gamma: &Var,
        beta: &Var,
        running_mean: &Tensor,
        running_var: &Tensor,
        momentum: f32,
        eps: f32,
        act: Activation,
    ) -> Result<Var> {
        let (g, b) = (gamma.value(), beta.value());
        let (rm, rv) = (running_mean, running_var);
        let out = batchnorm::batch_norm_train_act(x.value(), g, b, rm, rv, momentum, eps, act)?;
        let (xv, gv, bv) = (x.value().clone(), g.clone(), b.clone());
        let (mean, invstd) = (out.mean, out.invstd);
        let (gamma_leaf, beta_leaf) = (gamma.clone(), beta.clone());
        Ok(Var::from_op(
            out.y,
            &[x, gamma, beta],
            Box::new(move |g| {
                // gamma's and beta's gradients go into their buffers where the engine
                // allows (as in linear), by the kernel's own stores.
                let (gi, ga) = split_in_place(gamma_leaf.take_grad_in_place());
                let (bi, ba) = split_in_place(beta_leaf.take_grad_in_place());
                let (dx, dgamma, dbeta) = batchnorm::batch_norm_backward_act_into(
                    g,
                    &xv,
                    &gv,
                    &bv,
                    &mean,
                    &invstd,
                    act,
                    grad_into(&gi, ga),
                    grad_into(&bi, ba),
                )?;
                Ok(vec![Some(dx), dgamma, dbeta])
            }),
        ))
    }

    /// Batch normalization in eval mode (running statistics; affine part differentiable
    /// through the input only).
    pub fn batch_norm_eval(
        x: &Var,
        gamma: &Var,
        beta: &Var,
        running_mean: &Tensor,
        running_var: &Tensor,
        eps: f32,
    ) -> Result<Var> {
        let y = batchnorm::batch_norm_eval(
            x.value(),
            gamma.value(),
            beta.value(),
            running_mean,
            running_var,
            eps,
        )?;
        // dx = dy * gamma / sqrt(running_var + eps), per channel.
        let scale = running_var.add_scalar(eps)?.sqrt()?;
        let scale = gamma.value().div(&scale)?;
        let mut cdims = vec![1; x.dims().len()];
        cdims[1] = x.dims()[1];
        let scale = scale.reshape(&cdims)?;
        Ok(Var::from_op(
            y,
            &[x],
            Box::new(move |g| Ok(vec![Some(g.mul(&scale)?)])),
        ))
    }

    /// Maxout over groups of `pieces` consecutive values of the last dimension
    /// (`[.., U * pieces]` -> `[.., U]`, see [`gan_tensor::maxout`]); the gradient goes to
    /// the first piece holding each maximum.
    pub fn maxout(&self, pieces: usize) -> Result<Var> {
        let y = maxout::maxout(self.value(), pieces)?;
        let x = self.value().clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(maxout::maxout_backward(&x, g, pieces)?)])),
        ))
    }

    /// Mean binary cross-entropy of these logits against `labels`, as a `[1]` loss;
    /// computed stably (logits of +-100 give a finite loss and gradient).
    pub fn bce_with_logits(&self, labels: Labels) -> Result<Var> {
        let targets = match &labels {
            Labels::Const(c) => Targets::Const(*c),
            Labels::Tensor(t) => Targets::Tensor(t),
        };
        let y = bce::bce_with_logits_loss(self.value(), targets)?;
        let x = self.value().clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| {
                let targets = match &labels {
                    Labels::Const(c) => Targets::Const(*c),
                    Labels::Tensor(t) => Targets::Tensor(t),
                };
                Ok(vec![Some(bce::bce_with_logits_backward(
                    &x,
                    targets,
                    GradScale::Tensor(g),
                )?)])
            }),
        ))
    }

    /// Mean cross-entropy of `[rows, classes]` logits against class labels (`[rows]` class
    /// indices as f32), as a `[1]` loss (PyTorch's `CrossEntropyLoss`).
    pub fn cross_entropy(&self, labels: &Tensor) -> Result<Var> {
        let y = softmax::cross_entropy(self.value(), labels)?;
        let (x, l) = (self.value().clone(), labels.clone());
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(softmax::cross_entropy_backward(&x, &l, g)?)])),
        ))
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by
    /// 1/(1-p); the mask is drawn on the GPU from (`seed`, `stream`).
    pub fn dropout(&self, p: f32, seed: u64, stream: u64) -> Result<Var> {
        self.dropout_at(p, seed, stream, 0)
    }

    /// [`Var::dropout`] whose mask is elements `offset..` of the stream's uniforms: the
    /// part of a larger tensor's mask (a shard of a batch) that this tensor's rows get.
    pub fn dropout_at(&self, p: f32, seed: u64, stream: u64, offset: usize) -> Result<Var> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Invalid {
                op: "dropout",
                msg: format!("p = {p}; it must be in [0, 1)"),
            });
        }
        if p == 0.0 {
            return Ok(self.clone());
        }
        // mask = 1/(1-p) where the stream's uniform u > p, else 0; y = x * mask: one launch.
        let (y, mask) = gan_tensor::rng::dropout_at(self.value(), p, seed, stream, offset)?;
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.mul(&mask)?)])),
        ))
    }
}

impl Var {
    /// Rows `labels` of the table `weight` [num, dim]: `[items, dim]` (PyTorch's
    /// `F.embedding`). `labels` is `[items]`, class indices stored as f32, checked by the
    /// caller ([`crate::Embedding::lookup`] does); the gradient flows into the table only.
    pub fn embedding(weight: &Var, labels: &Tensor) -> Result<Var> {
        let y = gan_tensor::embedding::embedding(weight.value(), labels)?;
        let (labels, num) = (labels.clone(), weight.dims()[0]);
        Ok(Var::from_op(
            y,
            &[weight],
            Box::new(move |g| {
                Ok(vec![Some(gan_tensor::embedding::embedding_backward(
                    g, &labels, num,
                )?)])
            }),
        ))
    }
}

/// (the buffer, whether to add to it) of a [`Var::take_grad_in_place`] answer.
fn split_in_place(p: Option<InPlace>) -> (Option<Tensor>, bool) {
    match p {
        Some(InPlace::Write(t)) => (Some(t), false),
        Some(InPlace::Add(t)) => (Some(t), true),
        None => (None, false),
    }
}

/// A convolution's bias gradient: into the bias's buffer where the engine allows
/// ([`Var::take_grad_in_place`]; None returned), else returned.
fn conv_bias_grad(g: &Tensor, b: &Var) -> Result<Option<Tensor>> {
    match split_in_place(b.take_grad_in_place()) {
        (Some(out), acc) => {
            conv::conv_bias_backward_into(g, &out, acc)?;
            Ok(None)
        }
        (None, _) => Ok(Some(conv::conv_bias_backward(g)?)),
    }
}

/// The [`GradInto`] of a [`split_in_place`] answer.
fn grad_into(t: &Option<Tensor>, accumulate: bool) -> Option<GradInto<'_>> {
    t.as_ref().map(|out| GradInto { out, accumulate })
}
