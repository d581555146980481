//! Per-kernel timing for finding where a step's time goes: with `GAN_TENSOR_PROFILE=1`
//! every recorded command is submitted alone and waited for, and its wall time is added
//! to its kernel's row. This serialises the GPU completely, so totals are slower than a
//! normal run (`GAN_TENSOR_PROFILE=grid` keeps a row per kernel and workgroup grid, which
//! tells the shapes apart); the shares are what it is for (on a CPU adapter such as lavapipe, where
//! the submission overhead is small beside the kernels, they are close to the truth).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use super::{Cmd, Context};
use crate::Result;

/// The time one kernel took over the commands profiled so far.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelTime {
    /// `family/entry`, e.g. `matmul/matmul_vec4`; `copy` for buffer copies.
    pub kernel: String,
    /// Dispatches (or copies) timed.
    pub calls: u64,
    /// Wall seconds from submission to completion, summed.
    pub seconds: f64,
}

#[derive(Default)]
pub(super) struct Profile {
    rows: Mutex<HashMap<String, (u64, f64)>>,
    /// Rows per (kernel, workgroup grid) instead of per kernel.
    by_grid: bool,
}

impl Profile {
    /// A profile when `GAN_TENSOR_PROFILE` is set to anything but `0`; `grid` keeps one
    /// row per kernel and workgroup grid (which tells the shapes apart).
    pub(super) fn from_env() -> Option<Profile> {
        match std::env::var("GAN_TENSOR_PROFILE").as_deref() {
            Ok("0") | Err(_) => None,
            Ok(v) => Some(Profile {
                by_grid: v == "grid",
                ..Profile::default()
            }),
        }
    }
}

impl Context {
    /// Submits `cmds` one by one, each waited for and timed.
    pub(super) fn submit_profiled(
        &self,
        profile: &Profile,
        cmds: Vec<Cmd>,
    ) -> Result<Option<wgpu::SubmissionIndex>> {
        let mut last = None;
        for cmd in cmds {
            let mut encoder = self
                .0
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("gan-tensor profile"),
                });
            let name = match cmd {
                Cmd::Copy {
                    src,
                    src_offset,
                    dst,
                    dst_offset,
                    bytes,
                } => {
                    encoder.copy_buffer_to_buffer(&src, src_offset, &dst, dst_offset, bytes);
                    "copy".to_string()
                }
                Cmd::Dispatch {
                    kernel,
                    pipeline,
                    bind_group,
                    groups,
                } => {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(kernel.1),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                    self.0.passes.fetch_add(1, Ordering::Relaxed);
                    if profile.by_grid {
                        format!("{}/{} {:?}", kernel.0, kernel.1, groups)
                    } else {
                        format!("{}/{}", kernel.0, kernel.1)
                    }
                }
            };
            let start = Instant::now();
            let index = self.0.queue.submit([encoder.finish()]);
            self.0.submissions.fetch_add(1, Ordering::Relaxed);
            self.wait(Some(index.clone()))?;
            let seconds = start.elapsed().as_secs_f64();
            let mut rows = profile.rows.lock().unwrap();
            let row = rows.entry(name).or_default();
            row.0 += 1;
            row.1 += seconds;
            last = Some(index);
        }
        Ok(last)
    }

    /// The kernels timed so far, slowest first; empty unless `GAN_TENSOR_PROFILE` was set
    /// when the context was opened.
    pub fn profile(&self) -> Vec<KernelTime> {
        let Some(p) = &self.0.profile else {
            return Vec::new();
        };
        let mut rows: Vec<KernelTime> = p
            .rows
            .lock()
            .unwrap()
            .iter()
            .map(|(k, &(calls, seconds))| KernelTime {
                kernel: k.clone(),
                calls,
                seconds,
            })
            .collect();
        rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        rows
    }

    /// Forgets the kernels timed so far (e.g. after a warm-up step).
    pub fn reset_profile(&self) {
        if let Some(p) = &self.0.profile {
            p.rows.lock().unwrap().clear();
        }
    }
}
