//! Lookup table of learned vectors, one per class.

use gan_tensor::Tensor;

use crate::error::{Error, Result};
use crate::init::{Init, Role};
use crate::module::{child_name, Module, Slot};
use crate::param::Param;
use crate::Var;

/// `nn.Embedding(num_embeddings, embedding_dim)`: weight `[num, dim]` named `weight`,
/// initialised N(0, 1) as in PyTorch. Row c is class c's vector; [`Embedding::lookup`]
/// gathers the rows of a batch of class labels on the GPU.
pub struct Embedding {
    num: usize,
    dim: usize,
    weight: Param,
}

impl Embedding {
    /// A table of `num` rows of `dim` values.
    pub fn new(num: usize, dim: usize) -> Self {
        let weight = Param::new(&[num, dim], Role::Other);
        weight.set_init(Init::Normal {
            mean: 0.0,
            std: 1.0,
        });
        Embedding { num, dim, weight }
    }

    /// Overrides the table's initialiser.
    pub fn weight_init(self, init: Init) -> Self {
        self.weight.set_init(init);
        self
    }

    /// Rows of the table (classes).
    pub fn num_embeddings(&self) -> usize {
        self.num
    }

    /// Values per row.
    pub fn embedding_dim(&self) -> usize {
        self.dim
    }

    /// The table `[num, dim]`.
    pub fn weight(&self) -> &Param {
        &self.weight
    }

    /// Checks host labels against the table and uploads them as the f32 tensor the
    /// kernels read (`[items]`).
    pub fn upload(&self, ctx: &gan_tensor::Context, labels: &[u32]) -> Result<Tensor> {
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= self.num) {
            return Err(Error::Invalid {
                what: "class label",
                msg: format!(
                    "{}: class {bad} is out of range; labels must be below {}",
                    self.describe(),
                    self.num
                ),
            });
        }
        let v: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
        Ok(Tensor::from_slice(ctx, &v, &[labels.len()])?)
    }

    /// The rows of `labels` (an `[items]` tensor from [`Embedding::upload`]):
    /// `[items, dim]`, on the tape.
    pub fn lookup(&self, labels: &Tensor) -> Result<Var> {
        if labels.dims().len() != 1 {
            return Err(Error::InputShape {
                layer: self.describe(),
                expected: "[N] class labels".into(),
                got: labels.dims().to_vec(),
            });
        }
        Ok(Var::embedding(&self.weight.var()?, labels)?)
    }
}

impl Module for Embedding {
    fn describe(&self) -> String {
        format!("Embedding({}, {})", self.num, self.dim)
    }

    /// `x` holds the labels `[N]` (class indices as f32, in range).
    fn forward(&self, x: &Var, _train: bool) -> Result<Var> {
        self.lookup(x.value())
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, Slot<'_>)) {
        f(&child_name(prefix, "weight"), Slot::Param(&self.weight));
    }
}
