//! The data feed: real batch number b of a run (counting from the start of training),
//! in the loader's shuffled order for its epoch, uploaded to the GPU.

use gan_data::{Dataset, Loader, LoaderOptions};
use gan_nn::Var;
use gan_tensor::{Context, Tensor};

use crate::error::{Result, TrainError};
use crate::models::ItemShape;

/// Real batches of one dataset, shuffled per epoch from a seed.
pub struct DataFeed {
    data: Dataset,
    item: ItemShape,
    options: LoaderOptions,
    batches_per_epoch: usize,
    order: Option<(u64, Vec<usize>)>,
    host: Vec<f32>,
}

impl DataFeed {
    /// Batches of `batch_size` items of `data` (the last partial batch of an epoch is
    /// dropped), shuffled from `seed`.
    pub fn new(data: Dataset, item: ItemShape, batch_size: usize, seed: u64) -> Result<DataFeed> {
        let options = LoaderOptions {
            batch_size,
            shuffle: true,
            drop_last: true,
            seed,
        };
        let batches_per_epoch = Loader::new(&data, options)?.batches_per_epoch();
        if batches_per_epoch == 0 {
            return Err(TrainError::Config(format!(
                "the dataset has {} items, fewer than batch_size = {batch_size}",
                data.len()
            )));
        }
        Ok(DataFeed {
            host: Vec::with_capacity(batch_size * item.numel()),
            data,
            item,
            options,
            batches_per_epoch,
            order: None,
        })
    }

    /// Whole batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches_per_epoch
    }

    /// The data.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    /// Uploads real batch number `b` (counting from the start of training).
    pub fn batch(&mut self, ctx: &Context, b: u64) -> Result<Var> {
        Ok(self.batch_with_labels(ctx, b)?.0)
    }

    /// Real batch number `b` and its items' class labels (None for unlabelled data),
    /// in the same order.
    pub fn batch_with_labels(&mut self, ctx: &Context, b: u64) -> Result<(Var, Option<Vec<u32>>)> {
        self.batch_piece(ctx, b, 0, 1)
    }

    /// Piece `piece` of `pieces` equal pieces of real batch `b` (its rows piece B/P ..,
    /// see [`crate::parallel`]) and their labels; the batch size must split evenly.
    pub fn batch_piece(
        &mut self,
        ctx: &Context,
        b: u64,
        piece: usize,
        pieces: usize,
    ) -> Result<(Var, Option<Vec<u32>>)> {
        let bpe = self.batches_per_epoch as u64;
        let (epoch, pos) = (b / bpe, (b % bpe) as usize);
        if self.order.as_ref().map(|o| o.0) != Some(epoch) {
            let loader = Loader::new(&self.data, self.options)?;
            self.order = Some((epoch, loader.order(epoch)));
        }
        let bs = self.options.batch_size;
        let n = bs / pieces;
        debug_assert_eq!(n * pieces, bs);
        let order = &self.order.as_ref().expect("set above").1;
        let idx = &order[pos * bs + piece * n..pos * bs + (piece + 1) * n];
        self.host.clear();
        for &i in idx {
            self.host.extend_from_slice(self.data.image(i));
        }
        let labels = self
            .data
            .labels()
            .map(|l| idx.iter().map(|&i| l[i]).collect());
        let t = Tensor::from_slice(ctx, &self.host, &self.item.batch_dims(n))?;
        Ok((Var::constant(t), labels))
    }
}
