//! The one error type of gan-tensor: every message says what was wrong and, where it can,
//! how to fix it.

use thiserror::Error;

/// Result alias used across gan-tensor.
pub type Result<T> = std::result::Result<T, Error>;

/// Errors from opening a device, shaping tensors or running kernels.
#[derive(Debug, Error)]
pub enum Error {
    /// No adapter at all on this machine (or none on the backends asked for).
    #[error(
        "no GPU adapter found{filter}. Install a GPU driver, or a software one: on Debian/Ubuntu \
         `apt-get install mesa-vulkan-drivers` (Vulkan on the CPU through lavapipe); \
         or try WGPU_BACKEND=gl for OpenGL through llvmpipe"
    )]
    NoAdapter {
        /// Which environment filters were in force, as text ("" when none).
        filter: String,
    },
    /// WGPU_ADAPTER_NAME named an adapter that is not there.
    #[error(
        "no adapter name contains {wanted:?} (WGPU_ADAPTER_NAME); adapters present: {present}"
    )]
    AdapterNotFound {
        /// The substring asked for.
        wanted: String,
        /// The adapters that exist, comma separated.
        present: String,
    },
    /// The adapter refused to create a device.
    #[error("adapter {adapter:?} refused to open a device: {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        reason: String,
    },
    /// Two shapes that had to agree did not.
    #[error("shape mismatch in {op}: {left:?} vs {right:?}{hint}")]
    Shape {
        /// The operation that checked.
        op: &'static str,
        /// The first shape.
        left: Vec<usize>,
        /// The second shape.
        right: Vec<usize>,
        /// Extra explanation, starting with "; " when present.
        hint: String,
    },
    /// A shape that is invalid on its own (too many dimensions, wrong length of data ...).
    #[error("invalid shape in {op}: {msg}")]
    InvalidShape {
        /// The operation that checked.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A tensor bigger than one binding of this adapter allows.
    #[error(
        "tensor of {bytes} bytes ({shape:?}) exceeds this adapter's limit of {limit} bytes per \
         storage binding ({adapter}); use smaller batches or a GPU with a larger limit"
    )]
    TooLarge {
        /// Requested bytes.
        bytes: u64,
        /// Requested shape.
        shape: Vec<usize>,
        /// The adapter's limit.
        limit: u64,
        /// Adapter name.
        adapter: String,
    },
    /// Two tensors from different devices met in one operation.
    #[error("tensors live on different devices in {op}; move them to one Context")]
    DeviceMismatch {
        /// The operation.
        op: &'static str,
    },
    /// The GPU ran out of memory.
    #[error("GPU out of memory while {during}: {msg}")]
    OutOfMemory {
        /// What was being done.
        during: String,
        /// wgpu's message.
        msg: String,
    },
    /// The device was lost (driver reset, device destroyed).
    #[error("GPU device lost: {0}; create a new Context")]
    DeviceLost(String),
    /// The GPU did not finish in time.
    #[error("GPU did not finish within {0} s (GAN_TENSOR_TIMEOUT_S); the device may be hung")]
    Timeout(u64),
    /// A validation or internal error reported by wgpu: a bug in gan-tensor or the driver.
    #[error("GPU error in {during}: {msg}")]
    Gpu {
        /// What was being done.
        during: String,
        /// wgpu's message.
        msg: String,
    },
    /// An argument with an invalid value.
    #[error("invalid argument to {op}: {msg}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
}

impl Error {
    pub(crate) fn shape(op: &'static str, left: &[usize], right: &[usize], hint: &str) -> Self {
        Error::Shape {
            op,
            left: left.to_vec(),
            right: right.to_vec(),
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
        }
    }
}
