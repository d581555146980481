//! Choosing an adapter and opening a device.
//!
//! Honours `WGPU_BACKEND` (e.g. `vulkan`, `gl`) and `WGPU_ADAPTER_NAME` (a case-insensitive
//! substring of the adapter name). Prefers a real GPU (discrete, then integrated, then
//! virtual) and falls back to a CPU adapter such as Mesa's lavapipe or llvmpipe.

use crate::{Error, Result};

/// What gan-tensor knows about the adapter it opened.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The backend: Vulkan, Metal, Dx12, Gl.
    pub backend: wgpu::Backend,
    /// Discrete GPU, integrated GPU, CPU ...
    pub device_type: wgpu::DeviceType,
    /// Driver name and version, as reported.
    pub driver: String,
    /// Smallest and largest subgroup (SIMD) width, as reported.
    pub subgroup_size: (u32, u32),
}

impl AdapterSummary {
    fn from_info(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: info.backend,
            device_type: info.device_type,
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            subgroup_size: (info.subgroup_min_size, info.subgroup_max_size),
        }
    }

    /// True for software adapters that run on the CPU (lavapipe, llvmpipe, WARP).
    pub fn is_cpu(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }

    /// A line for the user when wgpu fell back to OpenGL on a CPU adapter (llvmpipe through
    /// EGL, what a machine without a Vulkan driver gets): compute runs slower there than on
    /// Vulkan's lavapipe and nothing else says so. None otherwise, and when `WGPU_BACKEND`
    /// chose the backend.
    pub fn advice(&self) -> Option<String> {
        if std::env::var_os("WGPU_BACKEND").is_some() {
            return None;
        }
        (self.backend == wgpu::Backend::Gl && self.is_cpu()).then(|| {
            "note: the kernels run on OpenGL through a CPU rasteriser, slower than Vulkan's \
             lavapipe; install a Vulkan driver (Debian/Ubuntu: apt-get install \
             mesa-vulkan-drivers) or set WGPU_BACKEND=gl to keep this one"
                .to_string()
        })
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?})",
            self.name, self.backend, self.device_type
        )
    }
}

fn type_rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn backend_rank(b: wgpu::Backend) -> u8 {
    match b {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        wgpu::Backend::Gl => 1,
        _ => 2,
    }
}

fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    let instance = wgpu::Instance::new(desc);
    pollster::block_on(instance.enumerate_adapters(backends))
}

/// Opens the best adapter allowed by the environment and a device with its largest limits.
/// With `nth`, among the adapters of the best kind (e.g. the 4 discrete GPUs of a node),
/// the one at index `nth` modulo their number, in enumeration order: one process per GPU
/// passes its node-local rank.
pub(crate) fn open(nth: Option<usize>) -> Result<(wgpu::Adapter, wgpu::Device, wgpu::Queue)> {
    let backend_env = std::env::var("WGPU_BACKEND").ok();
    let mut adapters = enumerate(wgpu::Backends::PRIMARY.with_env());
    // OpenGL only when asked for or when nothing else exists: it is slower, and probing
    // EGL prints warnings on headless machines.
    if adapters.is_empty() && backend_env.is_none() {
        adapters = enumerate(wgpu::Backends::GL);
    }
    let name_env = std::env::var("WGPU_ADAPTER_NAME").ok();
    if adapters.is_empty() {
        let filter = match &backend_env {
            Some(b) => format!(" on backend(s) {b:?} (WGPU_BACKEND)"),
            None => String::new(),
        };
        return Err(Error::NoAdapter { filter });
    }
    let mut candidates: Vec<wgpu::Adapter> = adapters;
    if let Some(wanted) = &name_env {
        let present = candidates
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{:?} ({:?})", i.name, i.backend)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let w = wanted.to_lowercase();
        candidates.retain(|a| a.get_info().name.to_lowercase().contains(&w));
        if candidates.is_empty() {
            return Err(Error::AdapterNotFound {
                wanted: wanted.clone(),
                present,
            });
        }
    }
    let rank = |a: &wgpu::Adapter| {
        let i = a.get_info();
        (type_rank(i.device_type), backend_rank(i.backend))
    };
    // A stable sort keeps the enumeration order within a kind.
    candidates.sort_by_key(rank);
    let best = rank(&candidates[0]);
    candidates.retain(|a| rank(a) == best);
    let pick = nth.unwrap_or(0) % candidates.len();
    let adapter = candidates.swap_remove(pick);
    let info = adapter.get_info();
    // Ask for everything the adapter allows: large storage bindings matter for big batches.
    let limits = adapter.limits();
    let request = wgpu::DeviceDescriptor {
        label: Some("gan-tensor"),
        // Subgroup operations make the CPU-adapter matmul twice as fast; asked for only
        // where offered, and kernels that need them are chosen only then.
        required_features: adapter.features() & wgpu::Features::SUBGROUP,
        required_limits: limits,
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    };
    let (device, queue) =
        pollster::block_on(adapter.request_device(&request)).map_err(|e| Error::RequestDevice {
            adapter: info.name.clone(),
            reason: e.to_string(),
        })?;
    Ok((adapter, device, queue))
}

pub(crate) fn summary(adapter: &wgpu::Adapter) -> AdapterSummary {
    AdapterSummary::from_info(&adapter.get_info())
}
