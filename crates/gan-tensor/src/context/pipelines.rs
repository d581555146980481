//! The compile caches of a [`Context`]: one shader module per family, one bind group and
//! pipeline layout per (textures, inputs, outputs) arity, and one compute pipeline per
//! [`PipelineKey`] (shader, entry point, specialization constants, arity).

use std::sync::atomic::Ordering;

use super::{Context, Launch, PipelineKey};
use crate::shaders::Family;
use crate::Result;

/// Whether shader modules keep wgpu's runtime checks (index clamps, loop counters,
/// guarded integer division): `GAN_TENSOR_CHECKED_SHADERS=1`. Off by default, since
/// lavapipe pays for every clamp and counter in inner loops.
fn checked_shaders() -> bool {
    std::env::var("GAN_TENSOR_CHECKED_SHADERS").is_ok_and(|v| v == "1")
}

impl Context {
    fn module(&self, family: Family) -> wgpu::ShaderModule {
        let mut modules = self.0.modules.lock().unwrap();
        modules
            .entry(family.name)
            .or_insert_with(|| {
                let desc = wgpu::ShaderModuleDescriptor {
                    label: Some(family.name),
                    source: wgpu::ShaderSource::Wgsl(family.source.into()),
                };
                if checked_shaders() {
                    return self.0.device.create_shader_module(desc);
                }
                // SAFETY: every launcher sizes its grid and bindings so that the kernels
                // index inside their bindings, pass non-zero divisors, and run loops
                // with bounds from their parameters (the kernel tests against the CPU
                // references on awkward shapes guard this); GAN_TENSOR_CHECKED_SHADERS=1
                // turns the checks back on to rule these out when debugging.
                unsafe {
                    self.0
                        .device
                        .create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
                }
            })
            .clone()
    }

    /// Binding 0 the uniform, 1..=textures unfilterable float 2-D textures, then the
    /// read-only storage buffers and the read-write ones.
    pub(super) fn layout(
        &self,
        textures: usize,
        inputs: usize,
        outputs: usize,
    ) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let mut layouts = self.0.layouts.lock().unwrap();
        layouts
            .entry((textures, inputs, outputs))
            .or_insert_with(|| {
                let mut entries = vec![wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                }];
                for t in 0..textures {
                    entries.push(wgpu::BindGroupLayoutEntry {
                        binding: 1 + t as u32,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Texture {
                            sample_type: wgpu::TextureSampleType::Float { filterable: false },
                            view_dimension: wgpu::TextureViewDimension::D2,
                            multisampled: false,
                        },
                        count: None,
                    });
                }
                for i in 0..inputs + outputs {
                    entries.push(wgpu::BindGroupLayoutEntry {
                        binding: (1 + textures + i) as u32,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: wgpu::BufferBindingType::Storage {
                                read_only: i < inputs,
                            },
                            has_dynamic_offset: false,
                            min_binding_size: None,
                        },
                        count: None,
                    });
                }
                let label = format!("layout {textures} tex {inputs} in {outputs} out");
                let bgl =
                    self.0
                        .device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some(&label),
                            entries: &entries,
                        });
                let pl = self
                    .0
                    .device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(&label),
                        bind_group_layouts: &[Some(&bgl)],
                        immediate_size: 0,
                    });
                (bgl, pl)
            })
            .clone()
    }

    pub(super) fn pipeline(&self, l: &Launch, textures: usize) -> Result<wgpu::ComputePipeline> {
        let key = PipelineKey {
            family: l.family.name,
            entry: l.entry,
            constants: l.constants.iter().map(|(k, v)| (*k, v.to_bits())).collect(),
            textures,
            inputs: l.inputs.len(),
            outputs: l.outputs.len(),
        };
        if let Some(p) = self.0.pipelines.lock().unwrap().get(&key) {
            return Ok(p.clone());
        }
        let module = self.module(l.family);
        let (_, layout) = self.layout(textures, l.inputs.len(), l.outputs.len());
        let label = format!("{}::{}{:?}", l.family.name, l.entry, l.constants);
        let pipeline = self
            .0
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(l.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: l.constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        self.check_health(&format!("compiling {label}"))?;
        self.0.pipelines_compiled.fetch_add(1, Ordering::Relaxed);
        self.0
            .pipelines
            .lock()
            .unwrap()
            .insert(key, pipeline.clone());
        Ok(pipeline)
    }
}
