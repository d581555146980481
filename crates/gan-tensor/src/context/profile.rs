//! Per-kernel timing for finding where a step's time goes: with `GAN_TENSOR_PROFILE=1`
//! every recorded command is submitted alone and waited for, and its wall time is added
//! to its kernel's row. This serialises the GPU completely, so totals are slower than a
//! normal run (`GAN_TENSOR_PROFILE=grid` keeps a row per kernel and workgroup grid, which
//! tells the shapes apart); the shares are what it is for (on a CPU adapter such as lavapipe, where
//! the submission overhead is small beside the kernels, they are close to the truth).

use std::collections::HashMap;
use std::sync::Mutex;

/// The time one kernel took over the commands profiled so far.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    /// `family/entry`, e.g. `matmul_subgroup/matmul_subgroup`; `copy` for buffer copies.
    pub kernel: String,
    /// Dispatches (or copies) timed.
    pub calls: u64,
    /// Wall seconds from submission to completion, summed.
    pub seconds: f64,
}

#[derive(Default)]
pub(super) struct Profile {
    pub(super) rows: Mutex<HashMap<String, (u64, f64)>>,
    /// Rows per (kernel, workgroup grid) instead of per kernel.
    pub(super) by_grid: bool,
    /// Also print every command, in order, with its grid and time (`trace`).
    pub(super) trace: bool,
}

impl Profile {
    /// A profile when `GAN_TENSOR_PROFILE` is set to anything but `0`; `grid` keeps one
    /// row per kernel and workgroup grid (which tells the shapes apart); `trace` also
    /// prints every command to stderr as it completes, in order, with its grid and time.
    pub(super) fn from_env() -> Option<Profile> {
        match std::env::var("GAN_TENSOR_PROFILE").as_deref() {
            Ok("0") | Err(_) => None,
            Ok(v) => Some(Profile {
                by_grid: v == "grid",
                trace: v == "trace",
                ..Profile::default()
            }),
        }
    }
}
