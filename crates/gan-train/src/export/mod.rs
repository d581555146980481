//! A trained generator as a file other runtimes load: [`generator_onnx`] writes ONNX
//! (onnx/onnx `onnx/onnx.proto`, opset 17, IR version 8) through prost's derive over the
//! messages in [`proto`].
//!
//! The model maps `z` float32 `[batch, latent_dim]` (and, for a conditional run, `class`
//! int64 `[batch]`) to `images` float32 `[batch, C, H, W]` (2-D toy data: `[batch, 2]`),
//! with `batch` a symbolic dimension, computing what [`Gan::sample_at`] computes (eval
//! mode: BatchNorm's running statistics, no dropout) from [`Gan::sampler`]: G_ema when
//! the run has one. z is drawn by the caller from the prior named in the metadata.

mod onnx;
pub mod proto;

use prost::Message;

pub use self::onnx::BATCH;
use self::onnx::{value_info, GraphBuilder};
use self::proto::{DataType, ModelProto, OperatorSetIdProto, StringStringEntryProto};
use crate::error::Result;
use crate::gan::Gan;
use crate::models::ItemShape;

/// The ONNX opset the graph is written against.
pub const OPSET: i64 = 17;
/// The IR version that goes with [`OPSET`] (onnx/onnx `docs/Versioning.md`).
pub const IR_VERSION: i64 = 8;

/// What [`generator_onnx`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxModel {
    /// The serialized `ModelProto`.
    pub bytes: Vec<u8>,
    /// The graph inputs: `z`, and `class` for a conditional generator.
    pub inputs: Vec<String>,
    /// Dims of the output `images`, the batch first (as 0).
    pub output_dims: Vec<usize>,
    /// The operators, in graph order.
    pub ops: Vec<String>,
    /// True when the graph is G_ema's.
    pub ema: bool,
}

/// The sampling generator of `gan` ([`Gan::sampler`]: G_ema when present) as ONNX.
pub fn generator_onnx(gan: &Gan) -> Result<OnnxModel> {
    let player = gan.sampler();
    let dim = gan.game.latent_dim;
    let mut b = GraphBuilder::new(&player.store);
    let mut inputs = vec![value_info(
        "z",
        DataType::Float,
        &[None, Some(dim)],
        &format!("latents drawn from the {} prior", gan.game.prior),
    )];
    let class = gan.classes().map(|n| {
        inputs.push(value_info(
            "class",
            DataType::Int64,
            &[None],
            &format!("class of each item, 0 to {}", n - 1),
        ));
        "class"
    });
    let out = b.player(player, "z", class)?;
    let item_dims = match gan.item {
        ItemShape::Image(s) => vec![s.channels, s.height, s.width],
        ItemShape::Points(d) => vec![d],
    };
    let mut out_dims = vec![None];
    out_dims.extend(item_dims.iter().map(|&d| Some(d)));
    let output = value_info("images", DataType::Float, &out_dims, "items in [-1, 1]");
    let graph = b.finish(player.prefix(), inputs.clone(), &out, output);
    let ops = graph.node.iter().map(|n| n.op_type.clone()).collect();
    let meta = |k: &str, v: String| StringStringEntryProto {
        key: k.into(),
        value: v,
    };
    let mut metadata_props = vec![
        meta("prior", gan.game.prior.to_string()),
        meta("latent_dim", dim.to_string()),
    ];
    if let Some(n) = gan.classes() {
        metadata_props.push(meta("classes", n.to_string()));
    }
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "gan".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!(
            "GAN generator{}: z ~ {} prior [batch, {dim}] -> images",
            if gan.ema.is_some() { " (G_ema)" } else { "" },
            gan.game.prior
        ),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props,
    };
    let mut output_dims = vec![0];
    output_dims.extend(item_dims);
    Ok(OnnxModel {
        bytes: model.encode_to_vec(),
        inputs: inputs.into_iter().map(|i| i.name).collect(),
        output_dims,
        ops,
        ema: gan.ema.is_some(),
    })
}
