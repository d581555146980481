//! The ONNX file of `gan_train::export` without onnxruntime: decoded back with prost, its
//! structure checked (versions, inputs and outputs with the symbolic batch, initializer
//! names = checkpoint names), and an MLP generator's graph evaluated by a plain-loop
//! interpreter of its operators (onnx/onnx docs/Operators.md) against the GPU's
//! `Gan::sample_at`. (crates/gan-cli/tests/onnx_export.rs runs onnxruntime on every
//! architecture.)

mod common;

use std::collections::HashMap;

use common::{ctx, mnist_tiny, ring8};
use gan_tensor::Tensor;
use gan_train::export::proto::{DataType, DimensionValue, ModelProto, TensorProto, ValueInfoProto};
use gan_train::export::{generator_onnx, IR_VERSION, OPSET};
use gan_train::{Arch, Config, Gan, ItemShape, SpectralNorm};
use prost::Message;

/// A value of the interpreter: f32 data and dims.
type Value = (Vec<f32>, Vec<usize>);

fn floats(t: &TensorProto) -> Vec<f32> {
    assert_eq!(t.data_type, DataType::Float as i32, "{}", t.name);
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn int64s(t: &TensorProto) -> Vec<i64> {
    assert_eq!(t.data_type, DataType::Int64 as i32, "{}", t.name);
    t.raw_data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// The graph on `z` `[n, dim]`: Gemm (transB = 1), BatchNormalization, Relu, LeakyRelu,
/// Tanh, Sigmoid and Reshape, as plain loops.
fn interpret(m: &ModelProto, z: &[f32], n: usize) -> Value {
    let g = m.graph.as_ref().unwrap();
    let mut vals: HashMap<String, Value> = HashMap::new();
    let mut shapes: HashMap<String, Vec<i64>> = HashMap::new();
    for t in &g.initializer {
        if t.data_type == DataType::Int64 as i32 {
            shapes.insert(t.name.clone(), int64s(t));
        } else {
            let dims = t.dims.iter().map(|&d| d as usize).collect();
            vals.insert(t.name.clone(), (floats(t), dims));
        }
    }
    vals.insert("z".into(), (z.to_vec(), vec![n, z.len() / n]));
    for node in &g.node {
        let x = &vals[&node.input[0]];
        let attr_f = |name: &str| node.attribute.iter().find(|a| a.name == name)?.f;
        let map = |f: &dyn Fn(f32) -> f32| (x.0.iter().map(|&v| f(v)).collect(), x.1.clone());
        let out = match node.op_type.as_str() {
            "Gemm" => {
                let (w, wd) = &vals[&node.input[1]];
                let b = node.input.get(2).map(|name| &vals[name].0);
                let (rows, k, m) = (x.1[0], x.1[1], wd[0]);
                assert_eq!(wd[1], k);
                let mut y = vec![0.0; rows * m];
                for r in 0..rows {
                    for j in 0..m {
                        let dot: f32 = (0..k).map(|i| x.0[r * k + i] * w[j * k + i]).sum();
                        y[r * m + j] = dot + b.map_or(0.0, |b| b[j]);
                    }
                }
                (y, vec![rows, m])
            }
            "BatchNormalization" => {
                let p = |i: usize| &vals[&node.input[i]].0;
                let (gamma, beta, mean, var) = (p(1), p(2), p(3), p(4));
                let eps = attr_f("epsilon").unwrap();
                let c = x.1[1];
                let inner: usize = x.1[2..].iter().product();
                let y = (0..x.0.len())
                    .map(|i| {
                        let ch = i / inner % c;
                        (x.0[i] - mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch]
                    })
                    .collect();
                (y, x.1.clone())
            }
            "Relu" => map(&|v| v.max(0.0)),
            "LeakyRelu" => {
                let a = attr_f("alpha").unwrap();
                map(&|v| if v > 0.0 { v } else { a * v })
            }
            "Tanh" => map(&f32::tanh),
            "Sigmoid" => map(&|v| 1.0 / (1.0 + (-v).exp())),
            "Reshape" => {
                let s = &shapes[&node.input[1]];
                let dims = s
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if d == 0 { x.1[i] } else { d as usize })
                    .collect();
                (x.0.clone(), dims)
            }
            op => panic!("the interpreter has no {op}"),
        };
        vals.insert(node.output[0].clone(), out);
    }
    vals.remove(&g.output[0].name).unwrap()
}

/// Dims of a graph input or output, the symbolic ones by name.
fn dims(v: &ValueInfoProto) -> Vec<String> {
    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    let shape = t.shape.as_ref().unwrap();
    shape
        .dim
        .iter()
        .map(|d| match d.value.as_ref().unwrap() {
            DimensionValue::DimValue(n) => n.to_string(),
            DimensionValue::DimParam(s) => s.clone(),
        })
        .collect()
}

/// Sets every BatchNorm running statistic of `gan`'s G to non-trivial values, so eval
/// mode differs from training mode and from the identity.
fn perturb_running_stats(gan: &Gan) {
    for e in gan.generator.store.entries() {
        let (mean, var) = (
            e.name.ends_with("running_mean"),
            e.name.ends_with("running_var"),
        );
        if mean || var {
            let v: Vec<f32> = (0..e.param.numel())
                .map(|i| {
                    if var {
                        0.5 + 0.1 * i as f32
                    } else {
                        0.05 * i as f32 - 0.2
                    }
                })
                .collect();
            let t = Tensor::from_slice(gan.context(), &v, e.param.dims()).unwrap();
            e.param.tensor().unwrap().assign(&t).unwrap();
        }
    }
}

fn check_against_gpu(cfg: &Config, item: ItemShape) {
    let ctx = ctx();
    let gan = Gan::new(&ctx, cfg, item).unwrap();
    perturb_running_stats(&gan);
    let out = generator_onnx(&gan).unwrap();
    let m = ModelProto::decode(&out.bytes[..]).unwrap();
    assert_eq!(m.ir_version, IR_VERSION);
    assert_eq!(m.opset_import[0].version, OPSET);
    let g = m.graph.as_ref().unwrap();
    let dim = cfg.latent_dim;
    assert_eq!(dims(&g.input[0]), ["batch".to_string(), dim.to_string()]);
    assert_eq!(g.output[0].name, "images");
    // Every initializer is a checkpoint entry (a spectrally normalized weight is named
    // as PyTorch names the effective weight, `weight_orig` minus `_orig`), or a shape.
    let names = gan.generator.store.names();
    for t in &g.initializer {
        let known = names.contains(&t.name) || names.contains(&format!("{}_orig", t.name));
        assert!(known || t.name.ends_with("/shape"), "{}", t.name);
    }
    let n = 5;
    let z: Vec<f32> = (0..n * dim)
        .map(|i| (i as f32 * 0.37).sin() * 1.5)
        .collect();
    let want = gan
        .sample_at(Tensor::from_slice(&ctx, &z, &[n, dim]).unwrap())
        .unwrap();
    let (got, got_dims) = interpret(&m, &z, n);
    assert_eq!(got_dims, item.batch_dims(n));
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "max |onnx - gpu| = {worst}");
}

#[test]
fn mlp_with_batchnorm_and_spectral_norm_evaluates_like_the_gpu() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        g_batchnorm: true,
        spectral_norm: SpectralNorm::G,
        ..ring8(tmp.path(), 1)
    };
    check_against_gpu(&cfg.resolved().unwrap(), ItemShape::Points(2));
}

#[test]
fn mlp_on_images_evaluates_like_the_gpu() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = mnist_tiny(tmp.path(), 1).resolved().unwrap();
    let item = ItemShape::Image(gan_data::ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    });
    check_against_gpu(&cfg, item);
}

#[test]
fn conditional_dcgan_has_a_class_input_and_checkpoint_names() {
    let ctx = ctx();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = Config {
        arch: Arch::Dcgan,
        ngf: 4,
        ndf: 4,
        conditional: true,
        ..mnist_tiny(tmp.path(), 1)
    }
    .resolved()
    .unwrap();
    let item = ItemShape::Image(gan_data::ImageShape {
        channels: 1,
        height: 28,
        width: 28,
    });
    let gan = Gan::with_classes(&ctx, &cfg, item, 10).unwrap();
    let out = generator_onnx(&gan).unwrap();
    assert_eq!(out.inputs, ["z", "class"]);
    assert_eq!(out.output_dims, [0, 1, 28, 28]);
    let m = ModelProto::decode(&out.bytes[..]).unwrap();
    let g = m.graph.unwrap();
    assert_eq!(dims(&g.input[1]), ["batch"]);
    assert_eq!(dims(&g.output[0]), ["batch", "1", "28", "28"]);
    // Reshape z to [N, z, 1, 1], the first ConvTranspose2d, then the class shift.
    assert_eq!(
        out.ops[..6],
        [
            "Reshape",
            "ConvTranspose",
            "Gather",
            "Unsqueeze",
            "Add",
            "BatchNormalization"
        ]
    );
    assert_eq!(out.ops.last().unwrap(), "Tanh");
    let inits: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    for name in ["gen.1.weight", "gen.2.running_var", "gen_embed.weight"] {
        assert!(inits.contains(&name), "{name} not in {inits:?}");
    }
}
