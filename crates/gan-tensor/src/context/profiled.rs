//! The [`Context`] side of the profiler of `profile.rs`: submitting each command alone and
//! timing it, and reading the table back.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::profile::{KernelTime, Profile};
use super::{Cmd, Context};
use crate::Result;

impl Context {
    /// Submits `cmds` one by one, each waited for and timed.
    pub(super) fn submit_profiled(
        &self,
        profile: &Profile,
        cmds: Vec<Cmd>,
    ) -> Result<Option<wgpu::SubmissionIndex>> {
        let mut last = None;
        for cmd in cmds {
            let mut encoder =
                self.0
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
                Cmd::ToTexture {
                    src,
                    src_offset,
                    dst,
                    texels,
                } => {
                    super::textures::encode_copy(&mut encoder, &src, src_offset, &dst, texels);
                    "copy to texture".to_string()
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
                    if profile.by_grid || profile.trace {
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
            if profile.trace {
                eprintln!("trace {:9.3} ms  {name}", seconds * 1e3);
            }
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
