//! Class-conditional players: where the class enters each network.
//!
//! - G (cGAN, Mirza & Osindero 2014): a learned class embedding `gen_embed` is added to
//!   the output of G's first layer: `h1 = W1 z + b1 + E_G[y]`. That is the first layer
//!   applied to z joined with the one-hot y (`W1 [z; onehot(y)]`, with `E_G` the one-hot
//!   columns of `W1`), the paper's "y joined with z at the input". The MLP adds it after
//!   `gen.0` (Linear); the DCGAN after `gen.1` (the first ConvTranspose2d, 1x1 -> 7x7 or
//!   4x4), broadcast over the spatial positions, before its BatchNorm: a per-class
//!   channel shift (the one-hot joined with z through a 1x1 map, spread over the map).
//! - D (projection discriminator, Miyato & Koyama 2018, eq. 3):
//!   `logit = psi(phi(x)) + <E_D[y], phi(x)>`, with phi D's body up to its last hidden
//!   features (`disc.0 .. disc.{L-1}`) and psi its last layer (`disc.L`, the final
//!   Linear; DCGAN: the final Conv2d and Flatten). For convolutional features
//!   `[B, C, H, W]` the inner product sums over every position (the paper's global sum
//!   pooling folded into the product).
//!
//! The equivalent PyTorch module (MLP shown; its `state_dict` has the checkpoint names
//! `gen.*`, `gen_embed.weight`, `disc.*`, `disc_embed.weight`):
//!
//! ```python
//! class CondGAN(nn.Module):
//!     def __init__(self, gen, disc, classes, g_width, d_width):
//!         super().__init__()
//!         self.gen, self.gen_embed = gen, nn.Embedding(classes, g_width)
//!         self.disc, self.disc_embed = disc, nn.Embedding(classes, d_width)
//!     def generate(self, z, y):            # split = 1 (MLP) or 2 (DCGAN)
//!         h = self.gen[:split](z)
//!         e = self.gen_embed(y)
//!         h = h + e.view(*e.shape, *[1] * (h.dim() - 2))
//!         return self.gen[split:](h)
//!     def discriminate(self, x, y):        # L = len(self.disc) - 1 (MLP) or - 2 (DCGAN)
//!         h = self.disc[:L](x)
//!         e = self.disc_embed(y)
//!         proj = (h * e.view(*e.shape, *[1] * (h.dim() - 2))).flatten(1).sum(1, keepdim=True)
//!         return self.disc[L:](h) + proj
//! ```

use gan_nn::{Embedding, Module, Sequential, Slot, Var};
use gan_tensor::Tensor;

use crate::config::{Arch, Config};
use crate::error::{Result, TrainError};
use crate::models::ItemShape;

/// How the class enters a player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassInput {
    /// G: the class's embedding is added to the output of layers `..split`.
    Shift,
    /// D: the logit gains `<embedding, features>`, the features being the output of
    /// layers `..split`.
    Projection,
}

/// A player's class embedding and where it enters the network.
pub struct ClassEmbedding {
    /// The table `[classes, width]` (`gen_embed` / `disc_embed`).
    pub embed: Embedding,
    /// Layers before the class enters.
    pub split: usize,
    /// How it enters.
    pub input: ClassInput,
}

impl ClassEmbedding {
    /// The embedding G of `cfg` (resolved) needs for `classes` classes.
    pub fn for_generator(cfg: &Config, item: ItemShape, classes: usize) -> Result<Self> {
        let (split, width) = match (cfg.arch, item) {
            (Arch::Mlp, _) => (1, cfg.g_hidden.first().copied().unwrap_or(item.numel())),
            (Arch::Dcgan, ItemShape::Image(s)) if s.height == 32 => (2, 4 * cfg.ngf),
            (Arch::Dcgan, _) => (2, 2 * cfg.ngf),
            (Arch::DcganTf, _) => return Err(no_conditional_tf()),
        };
        Self::new(classes, width, split, ClassInput::Shift)
    }

    /// The embedding D of `cfg` (resolved) needs, for a network of `layers` layers.
    pub fn for_discriminator(
        cfg: &Config,
        item: ItemShape,
        classes: usize,
        layers: usize,
    ) -> Result<Self> {
        let (split, width) = match (cfg.arch, item) {
            (Arch::Mlp, _) => (
                layers - 1,
                cfg.d_hidden.last().copied().unwrap_or(item.numel()),
            ),
            (Arch::Dcgan, ItemShape::Image(s)) if s.height == 32 => (layers - 2, 4 * cfg.ndf),
            (Arch::Dcgan, _) => (layers - 2, 2 * cfg.ndf),
            (Arch::DcganTf, _) => return Err(no_conditional_tf()),
        };
        Self::new(classes, width, split, ClassInput::Projection)
    }

    fn new(classes: usize, width: usize, split: usize, input: ClassInput) -> Result<Self> {
        if classes < 2 {
            return Err(TrainError::Config(format!(
                "a conditional GAN needs at least 2 classes, the data have {classes}; \
                 drop --conditional"
            )));
        }
        // N(0, 0.02), the DCGAN init of every other weight: G's table is the one-hot
        // columns of its first layer (initialised so), and D's projection sums
        // <E_D[y], phi(x)> over phi's C x H x W values, where PyTorch's N(0, 1) table
        // gave the DCGAN's D initial logits of +-100 (D loss 110 at step 1).
        let init = gan_nn::Init::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Ok(ClassEmbedding {
            embed: Embedding::new(classes, width).weight_init(init),
            split,
            input,
        })
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.embed.num_embeddings()
    }

    /// `net` run with the class `labels` (`[B]`, from [`Embedding::upload`]).
    pub fn forward(&self, net: &Sequential, x: &Var, labels: &Tensor, train: bool) -> Result<Var> {
        let n = x.dims()[0];
        if labels.dims() != [n] {
            return Err(TrainError::Config(format!(
                "{n} items came with {:?} class labels; give one label per item",
                labels.dims()
            )));
        }
        let h = net.forward_range(x, train, 0..self.split)?;
        let mut edims = vec![n, self.embed.embedding_dim()];
        edims.resize(h.dims().len(), 1);
        let e = self.embed.lookup(labels)?.reshape(&edims)?;
        match self.input {
            ClassInput::Shift => {
                let h = h.add(&e)?;
                Ok(net.forward_range(&h, train, self.split..net.len())?)
            }
            ClassInput::Projection => {
                let out = net.forward_range(&h, train, self.split..net.len())?;
                let mut proj = h.mul(&e)?;
                while proj.dims().len() > 2 {
                    let last = proj.dims().len() - 1;
                    proj = proj.sum_axis(last, false)?;
                }
                let proj = proj.sum_axis(1, true)?;
                Ok(out.add(&proj)?)
            }
        }
    }
}

/// A network and its class embedding as one module for the parameter store: the
/// network's entries under `prefix` (`gen.0.weight`), then the table under
/// `{prefix}_embed` (`gen_embed.weight`), as the attributes `self.gen` and
/// `self.gen_embed` of a PyTorch module.
pub(crate) struct WithEmbedding<'a> {
    pub net: &'a Sequential,
    pub prefix: &'a str,
    pub class: &'a ClassEmbedding,
}

impl Module for WithEmbedding<'_> {
    fn describe(&self) -> String {
        format!(
            "{} with {}",
            self.net.describe(),
            self.class.embed.describe()
        )
    }

    fn forward(&self, x: &Var, train: bool) -> gan_nn::NnResult<Var> {
        self.net.forward(x, train)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        let own = gan_nn::child_name(prefix, self.prefix);
        self.net.visit(&own, f);
        self.class.embed.visit(&format!("{own}_embed"), f);
    }
}

/// Class i mod `classes` for item i: the classes of a conditional run's sample grid.
pub fn grid_classes(n: usize, classes: usize) -> Vec<u32> {
    (0..n).map(|i| (i % classes.max(1)) as u32).collect()
}

/// The number of classes a conditional run of `cfg` trains on `data`, or a clear
/// refusal when the data carry no class labels.
pub fn conditional_classes(cfg: &Config, data: &gan_data::Dataset) -> Result<usize> {
    match data.labels() {
        Some(_) if data.num_classes() >= 2 => Ok(data.num_classes()),
        _ => Err(TrainError::Config(format!(
            "conditional = true needs class-labelled data, and {} has no class labels{}; \
             use labelled data (mnist, cifar10:DIR, folder:DIR with one subfolder per class, \
             stacked-mnist with its 1000 classes) or drop --conditional",
            cfg.dataset,
            if cfg.dataset.starts_with("folder:") {
                " (a folder needs one subfolder of images per class)"
            } else {
                ""
            }
        ))),
    }
}

fn no_conditional_tf() -> TrainError {
    TrainError::Config(
        "conditional players are not built for arch = \"dcgan-tf\"; use \"dcgan\" or \"mlp\""
            .into(),
    )
}
