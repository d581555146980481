//! The execution engine: one device and queue, a shader/pipeline cache, the buffer pool,
//! and the list of recorded dispatches that a readback or `sync()` submits together.
//! This module holds the engine's state, its construction, allocation and recording;
//! `pipelines` holds the compile caches and `submit` the submission and readback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::device::{self, AdapterSummary};
use crate::pool::{Pool, PoolBuffer};
use crate::shaders::Family;
use crate::{Error, Result};

mod pipelines;
mod profile;
mod profiled;
mod submit;
mod textures;

/// Operand textures a context keeps (the most one dispatch reads: the matmul two, the
/// CPU adapter's Adam four; see `textures.rs`).
pub(crate) const OPERAND_SLOTS: usize = 4;

pub use profile::KernelTime;

/// Bytes reserved for one dispatch's uniform parameters.
const UNIFORM_SLOT: u64 = 256;
/// Dispatches recorded before the engine submits on its own.
const UNIFORM_SLOTS: u64 = 1024;

/// Counters that tests and benchmarks read to prove the engine's promises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// GPU buffers ever created (storage and staging) and operand textures (see
    /// `context/textures.rs`); flat in a steady-state loop.
    pub buffers_created: u64,
    /// Compute pipelines ever compiled; one per (shader, entry point, specialization).
    pub pipelines_compiled: u64,
    /// Queue submissions.
    pub submissions: u64,
    /// Dispatches recorded.
    pub dispatches: u64,
    /// Compute passes encoded (consecutive dispatches share one).
    pub passes: u64,
}

/// A storage buffer argument of a dispatch: the buffer, where the binding starts, and
/// the bytes bound.
pub(crate) struct Arg<'a> {
    pub buf: &'a PoolBuffer,
    pub offset: u64,
    pub bytes: u64,
}

/// One kernel launch.
pub(crate) struct Launch<'a> {
    pub family: Family,
    pub entry: &'static str,
    /// WGSL `override` constants: part of the pipeline cache key.
    pub constants: &'a [(&'static str, f64)],
    /// The uniform at binding 0 (at most 256 bytes).
    pub params: &'a [u8],
    /// Read-only storage buffers at bindings 1..=n.
    pub inputs: &'a [Arg<'a>],
    /// Read-write storage buffers after the inputs.
    pub outputs: &'a [Arg<'a>],
    /// Workgroup counts, each at most 65535 (see [`Context::grid`]).
    pub groups: [u32; 3],
}

enum Cmd {
    Dispatch {
        /// `family/entry`, for the profile.
        kernel: (&'static str, &'static str),
        pipeline: wgpu::ComputePipeline,
        bind_group: wgpu::BindGroup,
        groups: [u32; 3],
    },
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    },
    /// `texels` vec4s of `src` from byte `src_offset` into rows of `TEXTURE_WIDTH` texels
    /// of `dst` (see `textures.rs`).
    ToTexture {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Texture,
        texels: u64,
    },
}

#[derive(Default)]
struct Pending {
    cmds: Vec<Cmd>,
    uniforms: Vec<u8>,
    slots: u64,
}

/// A matmul operand texture (`textures.rs`) and the rows it holds.
struct OperandTexture {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    rows: u32,
}

/// The bind group and pipeline layouts of one (textures, inputs, outputs) arity.
type Layouts = (wgpu::BindGroupLayout, wgpu::PipelineLayout);

#[derive(Clone, PartialEq, Eq, Hash)]
struct PipelineKey {
    family: &'static str,
    entry: &'static str,
    constants: Vec<(&'static str, u64)>,
    textures: usize,
    inputs: usize,
    outputs: usize,
}

struct Inner {
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    limits: wgpu::Limits,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    layouts: Mutex<HashMap<(usize, usize, usize), Layouts>>,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    pool: Pool,
    staging: Pool,
    /// The operand textures of the texture kernels, one per operand slot (the matmul
    /// uses two, the CPU adapter's Adam four).
    textures: Mutex<[Option<OperandTexture>; OPERAND_SLOTS]>,
    textures_created: AtomicU64,
    uniform_buf: wgpu::Buffer,
    pending: Mutex<Pending>,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<Mutex<Option<String>>>,
    pipelines_compiled: AtomicU64,
    submissions: AtomicU64,
    dispatches: AtomicU64,
    passes: AtomicU64,
    timeout: Duration,
    /// Per-kernel times when `GAN_TENSOR_PROFILE` is set.
    profile: Option<profile::Profile>,
}

/// A GPU device with its caches. Cheap to clone; every tensor holds one.
#[derive(Clone)]
pub struct Context(Arc<Inner>);

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Context({})", self.0.summary)
    }
}

impl Context {
    /// Opens the best adapter (see [`crate::device`] for the environment variables).
    pub fn new() -> Result<Self> {
        Context::open(None)
    }

    /// Opens adapter `index` (modulo their number) among the adapters of the best kind
    /// present, e.g. GPU 2 of a node's four for the process of node-local rank 2; the
    /// environment variables still filter first. A machine with one adapter opens it for
    /// every index.
    pub fn nth(index: usize) -> Result<Self> {
        Context::open(Some(index))
    }

    fn open(nth: Option<usize>) -> Result<Self> {
        let (adapter, device, queue) = device::open(nth)?;
        let summary = device::summary(&adapter);
        let limits = device.limits();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let lost_sink = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if let Ok(mut l) = lost_sink.lock() {
                *l = Some(format!("{reason:?}: {msg}"));
            }
        });
        let slot = UNIFORM_SLOT.max(limits.min_uniform_buffer_offset_alignment as u64);
        let uniform_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("gan-tensor uniforms"),
            size: slot * UNIFORM_SLOTS,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let timeout = std::env::var("GAN_TENSOR_TIMEOUT_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600u64);
        Ok(Context(Arc::new(Inner {
            adapter,
            device,
            queue,
            summary,
            limits,
            modules: Mutex::default(),
            layouts: Mutex::default(),
            pipelines: Mutex::default(),
            pool: Pool::default(),
            staging: Pool::default(),
            textures: Mutex::default(),
            textures_created: AtomicU64::new(0),
            uniform_buf,
            pending: Mutex::default(),
            errors,
            lost,
            pipelines_compiled: AtomicU64::new(0),
            submissions: AtomicU64::new(0),
            dispatches: AtomicU64::new(0),
            passes: AtomicU64::new(0),
            timeout: Duration::from_secs(timeout),
            profile: profile::Profile::from_env(),
        })))
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.0.summary
    }

    /// The full wgpu adapter information.
    pub fn adapter_info(&self) -> wgpu::AdapterInfo {
        self.0.adapter.get_info()
    }

    /// The limits the device was opened with (the adapter's own maxima).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.0.limits
    }

    /// The optional wgpu features the device was opened with (subgroups where offered).
    pub fn features(&self) -> wgpu::Features {
        self.0.device.features()
    }

    /// The wgpu device, for users who want to add their own kernels.
    pub fn device(&self) -> &wgpu::Device {
        &self.0.device
    }

    /// Engine counters.
    pub fn stats(&self) -> Stats {
        Stats {
            buffers_created: self.0.pool.created()
                + self.0.staging.created()
                + self.0.textures_created.load(Ordering::Relaxed),
            pipelines_compiled: self.0.pipelines_compiled.load(Ordering::Relaxed),
            submissions: self.0.submissions.load(Ordering::Relaxed),
            dispatches: self.0.dispatches.load(Ordering::Relaxed),
            passes: self.0.passes.load(Ordering::Relaxed),
        }
    }

    /// True when both handles are the same device.
    pub fn same(&self, other: &Context) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Largest tensor, in bytes, one storage binding can hold on this adapter.
    pub fn max_tensor_bytes(&self) -> u64 {
        self.0
            .limits
            .max_storage_buffer_binding_size
            .min(self.0.limits.max_buffer_size)
    }

    /// Element offsets of tensor views must be multiples of this (the adapter's storage
    /// binding offset alignment, in f32 elements).
    pub fn view_alignment(&self) -> usize {
        (self.0.limits.min_storage_buffer_offset_alignment as usize / 4).max(1)
    }

    /// Releases pooled buffers nobody uses.
    pub fn trim(&self) {
        self.0.pool.trim();
        self.0.staging.trim();
    }

    /// Splits `n` workgroups over x and y so neither exceeds 65535; shaders rebuild the
    /// linear index as `wg.x + wg.y * num_workgroups.x` and guard the tail.
    pub fn grid(&self, n: u64) -> [u32; 3] {
        let max = self.0.limits.max_compute_workgroups_per_dimension.max(1) as u64;
        let n = n.max(1);
        if n <= max {
            [n as u32, 1, 1]
        } else {
            let y = n.div_ceil(max);
            let x = n.div_ceil(y);
            [x as u32, y as u32, 1]
        }
    }

    fn check_health(&self, during: &str) -> Result<()> {
        if let Some(msg) = self.0.lost.lock().ok().and_then(|l| l.clone()) {
            return Err(Error::DeviceLost(msg));
        }
        let errs: Vec<String> = self
            .0
            .errors
            .lock()
            .map(|mut e| e.drain(..).collect())
            .unwrap_or_default();
        if let Some(first) = errs.first() {
            if first.to_lowercase().contains("out of memory") {
                return Err(Error::OutOfMemory {
                    during: during.to_string(),
                    msg: first.clone(),
                });
            }
            return Err(Error::Gpu {
                during: during.to_string(),
                msg: errs.join("; "),
            });
        }
        Ok(())
    }

    /// A storage buffer of at least `bytes` from the pool.
    pub(crate) fn alloc(&self, bytes: u64, shape: &[usize]) -> Result<PoolBuffer> {
        let limit = self.max_tensor_bytes();
        if bytes > limit {
            return Err(Error::TooLarge {
                bytes,
                shape: shape.to_vec(),
                limit,
                adapter: self.0.summary.name.clone(),
            });
        }
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        self.0
            .pool
            .take(bytes.max(4), usage, self.0.limits.max_buffer_size, |size| {
                self.create_buffer(size, usage, "gan-tensor storage")
            })
    }

    fn create_buffer(
        &self,
        size: u64,
        usage: wgpu::BufferUsages,
        label: &str,
    ) -> Result<wgpu::Buffer> {
        let scope = self
            .0
            .device
            .push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = self.0.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::OutOfMemory {
                during: format!("allocating {size} bytes"),
                msg: e.to_string(),
            });
        }
        Ok(buffer)
    }

    /// Writes host data into a fresh pooled buffer. Pending work is submitted first: the
    /// write lands before the next submission, and an earlier dispatch may still read a
    /// buffer that the pool has handed out again.
    pub(crate) fn upload(&self, data: &[u8], shape: &[usize]) -> Result<PoolBuffer> {
        let buf = self.alloc(data.len() as u64, shape)?;
        if !data.is_empty() {
            let busy = self
                .0
                .pending
                .lock()
                .map(|p| !p.cmds.is_empty())
                .unwrap_or(false);
            if busy {
                self.flush()?;
            }
            self.0.queue.write_buffer(buf.raw(), 0, data);
        }
        Ok(buf)
    }

    /// Records one dispatch; nothing runs until a flush.
    pub(crate) fn dispatch(&self, l: Launch) -> Result<()> {
        self.dispatch_textured(l, &[])
    }

    /// Records one dispatch whose bindings 1..=t are the texture views `textures` (the
    /// storage buffers follow them); nothing runs until a flush.
    pub(crate) fn dispatch_textured(
        &self,
        l: Launch,
        textures: &[wgpu::TextureView],
    ) -> Result<()> {
        if l.groups.contains(&0) {
            return Ok(());
        }
        debug_assert!(l.params.len() as u64 <= UNIFORM_SLOT);
        let pipeline = self.pipeline(&l, textures.len())?;
        let slot = UNIFORM_SLOT.max(self.0.limits.min_uniform_buffer_offset_alignment as u64);
        let full = self.0.pending.lock().unwrap().slots >= UNIFORM_SLOTS;
        if full {
            self.flush()?;
        }
        let (bgl, _) = self.layout(textures.len(), l.inputs.len(), l.outputs.len());
        let mut pending = self.0.pending.lock().unwrap();
        let offset = pending.slots * slot;
        pending.uniforms.resize((offset + slot) as usize, 0);
        pending.uniforms[offset as usize..offset as usize + l.params.len()]
            .copy_from_slice(l.params);
        pending.slots += 1;
        let uniform_size = (l.params.len() as u64).max(16).next_multiple_of(16);
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.0.uniform_buf,
                offset,
                size: std::num::NonZeroU64::new(uniform_size),
            }),
        }];
        for (i, view) in textures.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: 1 + i as u32,
                resource: wgpu::BindingResource::TextureView(view),
            });
        }
        let first = 1 + textures.len() as u32;
        for (i, a) in l.inputs.iter().chain(l.outputs.iter()).enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: first + i as u32,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: a.buf.raw(),
                    offset: a.offset,
                    size: std::num::NonZeroU64::new(a.bytes.max(4)),
                }),
            });
        }
        let bind_group = self.0.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(l.entry),
            layout: &bgl,
            entries: &entries,
        });
        pending.cmds.push(Cmd::Dispatch {
            kernel: (l.family.name, l.entry),
            pipeline,
            bind_group,
            groups: l.groups,
        });
        self.0.dispatches.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Records a buffer-to-buffer copy in order with the dispatches (offsets in bytes).
    pub(crate) fn copy(
        &self,
        src: &PoolBuffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) {
        if bytes == 0 {
            return;
        }
        self.0.pending.lock().unwrap().cmds.push(Cmd::Copy {
            src: src.raw().clone(),
            src_offset,
            dst: dst.clone(),
            dst_offset,
            bytes,
        });
    }
}
