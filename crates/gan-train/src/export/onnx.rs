//! A player's eval-mode forward pass as an ONNX graph (opset 17, IR version 8).
//!
//! Each layer of the `Sequential` ([`gan_nn::LayerSpec`]) becomes the ONNX operator of
//! the same semantics (onnx/onnx `docs/Operators.md`): Linear -> `Gemm` (transB = 1),
//! Conv2d -> `Conv`, ConvTranspose2d -> `ConvTranspose` (weight `[in, out, kh, kw]`,
//! symmetric pads, output_padding), BatchNorm -> `BatchNormalization` in inference mode
//! with the running statistics, activations -> `Relu` / `LeakyRelu` / `Tanh` /
//! `Sigmoid`, Flatten -> `Flatten` (axis 1), Reshape -> `Reshape` to `[0, dims...]` (0
//! keeps the batch), Maxout -> `Gemm`, `Reshape` to `[0, out, pieces]`, `ReduceMax`
//! over the pieces; Dropout is the identity. Initializers carry the checkpoint's names
//! (`gen.0.weight`); a spectrally normalized weight is exported as the effective W /
//! sigma(W) under the name PyTorch gives it, `gen.0.weight` (`weight_orig` minus
//! `_orig`). A conditional generator's class table becomes a `Gather` on a second input
//! `class`, added to layer `split`'s output as [`crate::conditional`] describes.

use gan_nn::{Activation, LayerSpec, Param, ParamStore, WeightSpec};

use super::proto::{
    AttributeProto, AttributeType, DataType, Dimension, DimensionValue, GraphProto, NodeProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};
use crate::conditional::ClassInput;
use crate::error::{Result, TrainError};
use crate::player::Player;

/// The name of the symbolic batch dimension of the inputs and the output.
pub const BATCH: &str = "batch";

/// The graph being built: nodes in order, initializers, and the store that names them.
pub(crate) struct GraphBuilder<'a> {
    store: &'a ParamStore,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

/// An attribute `name` of type INT.
fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: Some(v),
        r#type: AttributeType::Int as i32,
        ..Default::default()
    }
}

/// An attribute `name` of type FLOAT.
fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f: Some(v),
        r#type: AttributeType::Float as i32,
        ..Default::default()
    }
}

/// An attribute `name` of type INTS.
fn ints(name: &str, v: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.iter().map(|&x| x as i64).collect(),
        r#type: AttributeType::Ints as i32,
        ..Default::default()
    }
}

/// A graph input or output: `elem` tensor of `dims`, None for the symbolic batch.
pub(crate) fn value_info(
    name: &str,
    elem: DataType,
    dims: &[Option<usize>],
    doc: &str,
) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => DimensionValue::DimValue(*n as i64),
                None => DimensionValue::DimParam(BATCH.into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        doc_string: doc.into(),
    }
}

impl<'a> GraphBuilder<'a> {
    pub(crate) fn new(store: &'a ParamStore) -> Self {
        GraphBuilder {
            store,
            nodes: Vec::new(),
            initializers: Vec::new(),
        }
    }

    /// Appends `op` on `inputs`; its one output is named `{name}/{op}`.
    fn node(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = format!("{name}/{op}");
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: out.clone(),
            op_type: op.into(),
            attribute: attrs,
        });
        out
    }

    fn tensor(&mut self, name: String, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            name: name.clone(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    /// An int64 constant `[values.len()]` (shapes, axes).
    fn int64s(&mut self, name: String, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: DataType::Int64 as i32,
            name: name.clone(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    fn name_of(&self, p: &Param) -> Result<String> {
        self.store.name_of(p).map(str::to_string).ok_or_else(|| {
            TrainError::Config(format!(
                "export: a parameter {:?} is not in the player's store",
                p.dims()
            ))
        })
    }

    /// A parameter or buffer as an initializer under its checkpoint name.
    fn param(&mut self, p: &Param) -> Result<String> {
        let name = self.name_of(p)?;
        let values = p.tensor()?.to_vec()?;
        Ok(self.tensor(name, p.dims(), &values))
    }

    /// A weight as the forward pass uses it (W / sigma(W) with spectral normalization,
    /// named without `_orig`).
    fn weight(&mut self, w: WeightSpec<'_>) -> Result<String> {
        let name = self.name_of(w.param())?;
        let name = match name.strip_suffix("_orig") {
            Some(base) if w.is_spectral_norm() => base.to_string(),
            _ => name,
        };
        let values = w.values()?;
        Ok(self.tensor(name, w.dims(), &values))
    }

    fn activation(&mut self, name: &str, x: &str, act: Activation) -> String {
        match act {
            Activation::None => x.to_string(),
            Activation::Relu => self.node(name, "Relu", &[x], vec![]),
            Activation::LeakyRelu(a) => self.node(name, "LeakyRelu", &[x], vec![float("alpha", a)]),
            Activation::Tanh => self.node(name, "Tanh", &[x], vec![]),
            Activation::Sigmoid => self.node(name, "Sigmoid", &[x], vec![]),
        }
    }

    /// `Gemm(x, W, b)` with transB = 1: x W^T + b.
    fn gemm(
        &mut self,
        name: &str,
        x: &str,
        w: WeightSpec<'_>,
        b: Option<&Param>,
    ) -> Result<String> {
        let w = self.weight(w)?;
        let mut inputs = vec![x.to_string(), w];
        if let Some(b) = b {
            inputs.push(self.param(b)?);
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        Ok(self.node(name, "Gemm", &refs, vec![int("transB", 1)]))
    }

    /// Inputs of a convolution: x, W and the bias when present.
    fn conv_inputs(
        &mut self,
        x: &str,
        w: WeightSpec<'_>,
        b: Option<&Param>,
    ) -> Result<Vec<String>> {
        let mut inputs = vec![x.to_string(), self.weight(w)?];
        if let Some(b) = b {
            inputs.push(self.param(b)?);
        }
        Ok(inputs)
    }

    /// Emits layer `spec` named `name` on the value `x` of rank `rank`; returns the output
    /// value and its rank.
    pub(crate) fn layer(
        &mut self,
        name: &str,
        spec: LayerSpec<'_>,
        x: &str,
        rank: usize,
    ) -> Result<(String, usize)> {
        Ok(match spec {
            LayerSpec::Linear {
                weight,
                bias,
                activation,
            } => {
                let y = self.gemm(name, x, weight, bias)?;
                (self.activation(name, &y, activation), 2)
            }
            LayerSpec::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                let k = [weight.dims()[2], weight.dims()[3]];
                let inputs = self.conv_inputs(x, weight, bias)?;
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let attrs = vec![
                    ints("kernel_shape", &k),
                    ints("strides", &[stride.0, stride.1]),
                    ints("pads", &[padding.0, padding.1, padding.0, padding.1]),
                ];
                (self.node(name, "Conv", &refs, attrs), 4)
            }
            LayerSpec::ConvTranspose2d {
                weight,
                bias,
                stride,
                padding,
                output_padding,
            } => {
                let k = [weight.dims()[2], weight.dims()[3]];
                let inputs = self.conv_inputs(x, weight, bias)?;
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let attrs = vec![
                    ints("kernel_shape", &k),
                    ints("strides", &[stride.0, stride.1]),
                    ints("pads", &[padding.0, padding.1, padding.0, padding.1]),
                    ints("output_padding", &[output_padding.0, output_padding.1]),
                ];
                (self.node(name, "ConvTranspose", &refs, attrs), 4)
            }
            LayerSpec::BatchNorm(n) => {
                let inputs = [
                    x.to_string(),
                    self.param(n.weight)?,
                    self.param(n.bias)?,
                    self.param(n.running_mean)?,
                    self.param(n.running_var)?,
                ];
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let attrs = vec![float("epsilon", n.eps)];
                (self.node(name, "BatchNormalization", &refs, attrs), rank)
            }
            LayerSpec::Activation(act) => (self.activation(name, x, act), rank),
            LayerSpec::Identity => (x.to_string(), rank),
            LayerSpec::Flatten => (self.node(name, "Flatten", &[x], vec![int("axis", 1)]), 2),
            LayerSpec::Reshape(dims) => {
                let mut shape = vec![0i64];
                shape.extend(dims.iter().map(|&d| d as i64));
                let s = self.int64s(format!("{name}/shape"), &shape);
                (self.node(name, "Reshape", &[x, &s], vec![]), 1 + dims.len())
            }
            LayerSpec::Maxout {
                weight,
                bias,
                pieces,
            } => {
                let units = weight.dims()[0] / pieces;
                let pre = self.gemm(name, x, weight, bias)?;
                let s = self.int64s(format!("{name}/shape"), &[0, units as i64, pieces as i64]);
                let r = self.node(name, "Reshape", &[&pre, &s], vec![]);
                let attrs = vec![ints("axes", &[2]), int("keepdims", 0)];
                (self.node(name, "ReduceMax", &[&r], attrs), 2)
            }
        })
    }

    /// `player`'s network on `x` (`[batch, latent_dim]`), with the class embedding of a
    /// conditional generator added after its layer `split` (`class`: the int64 input).
    /// Returns the output value.
    pub(crate) fn player(
        &mut self,
        player: &Player,
        x: &str,
        class: Option<&str>,
    ) -> Result<String> {
        let net = &player.net;
        let split = match (&player.class, class) {
            (None, _) => None,
            (Some(c), Some(_)) if c.input == ClassInput::Shift => Some(c.split),
            (Some(_), _) => {
                return Err(TrainError::Config(
                    "export: only a generator's class embedding (added after a layer) can be \
                     exported"
                        .into(),
                ))
            }
        };
        let (mut h, mut rank) = (x.to_string(), 2);
        for i in 0..net.len() {
            if split == Some(i) {
                h = self.class_shift(player, &h, rank, class.unwrap_or_default())?;
            }
            let layer = net.get(i).expect("index below len");
            let spec = layer.layer_spec().ok_or_else(|| {
                TrainError::Config(format!(
                    "export: layer {i} ({}) has no ONNX form",
                    layer.describe()
                ))
            })?;
            let name = format!("{}.{i}", player.prefix());
            (h, rank) = self.layer(&name, spec, &h, rank)?;
        }
        if split == Some(net.len()) {
            h = self.class_shift(player, &h, rank, class.unwrap_or_default())?;
        }
        Ok(h)
    }

    /// `h + E[class]`, the embedding broadcast over the spatial axes of a rank-4 `h`.
    fn class_shift(
        &mut self,
        player: &Player,
        h: &str,
        rank: usize,
        class: &str,
    ) -> Result<String> {
        let c = player.class.as_ref().expect("a conditional player");
        let table = self.param(c.embed.weight())?;
        let name = format!("{}_embed", player.prefix());
        let mut e = self.node(&name, "Gather", &[&table, class], vec![int("axis", 0)]);
        if rank > 2 {
            let axes: Vec<i64> = (2..rank as i64).collect();
            let a = self.int64s(format!("{name}/axes"), &axes);
            e = self.node(&name, "Unsqueeze", &[&e, &a], vec![]);
        }
        Ok(self.node(&name, "Add", &[h, &e], vec![]))
    }

    /// The graph with `inputs` and the value `out` renamed to the output `output`.
    pub(crate) fn finish(
        mut self,
        name: &str,
        inputs: Vec<ValueInfoProto>,
        out: &str,
        output: ValueInfoProto,
    ) -> GraphProto {
        match self.nodes.last_mut() {
            Some(last) if last.output[0] == out => last.output[0] = output.name.clone(),
            _ => {
                self.node(&output.name, "Identity", &[out], vec![]);
                let last = self.nodes.last_mut().expect("just pushed");
                last.output[0] = output.name.clone();
            }
        }
        GraphProto {
            node: self.nodes,
            name: name.into(),
            initializer: self.initializers,
            input: inputs,
            output: vec![output],
        }
    }
}
