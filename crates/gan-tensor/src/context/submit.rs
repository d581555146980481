//! Submitting a [`Context`]'s recorded commands, waiting for the GPU, and reading buffers
//! back to the host.

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use super::{Cmd, Context};
use crate::pool::PoolBuffer;
use crate::{Error, Result};

impl Context {
    /// Submits everything recorded, as one command buffer.
    pub(crate) fn flush(&self) -> Result<Option<wgpu::SubmissionIndex>> {
        // The lock is held until the submit: another thread's flush must not write the
        // uniform slots of this batch before its commands are on the queue.
        let mut guard = self.0.pending.lock().unwrap();
        let pending = std::mem::take(&mut *guard);
        if pending.cmds.is_empty() {
            return Ok(None);
        }
        if !pending.uniforms.is_empty() {
            self.0
                .queue
                .write_buffer(&self.0.uniform_buf, 0, &pending.uniforms);
        }
        if let Some(profile) = &self.0.profile {
            let index = self.submit_profiled(profile, pending.cmds)?;
            drop(guard);
            return Ok(index);
        }
        let mut encoder = self
            .0
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("gan-tensor"),
            });
        let mut cmds = pending.cmds.into_iter().peekable();
        while let Some(cmd) = cmds.next() {
            match cmd {
                Cmd::Copy {
                    src,
                    src_offset,
                    dst,
                    dst_offset,
                    bytes,
                } => encoder.copy_buffer_to_buffer(&src, src_offset, &dst, dst_offset, bytes),
                Cmd::ToTexture {
                    src,
                    src_offset,
                    dst,
                    texels,
                } => super::textures::encode_copy(&mut encoder, &src, src_offset, &dst, texels),
                Cmd::Dispatch {
                    pipeline,
                    bind_group,
                    groups,
                    ..
                } => {
                    // Consecutive dispatches share one compute pass.
                    self.0.passes.fetch_add(1, Ordering::Relaxed);
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("gan-tensor"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&pipeline);
                    pass.set_bind_group(0, &bind_group, &[]);
                    pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                    while let Some(Cmd::Dispatch { .. }) = cmds.peek() {
                        if let Some(Cmd::Dispatch {
                            pipeline,
                            bind_group,
                            groups,
                            ..
                        }) = cmds.next()
                        {
                            pass.set_pipeline(&pipeline);
                            pass.set_bind_group(0, &bind_group, &[]);
                            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
                        }
                    }
                }
            }
        }
        let index = self.0.queue.submit([encoder.finish()]);
        drop(guard);
        self.0.submissions.fetch_add(1, Ordering::Relaxed);
        self.check_health("submitting work")?;
        Ok(Some(index))
    }

    pub(super) fn wait(&self, index: Option<wgpu::SubmissionIndex>) -> Result<()> {
        let r = self.0.device.poll(wgpu::PollType::Wait {
            submission_index: index,
            timeout: Some(self.0.timeout),
        });
        match r {
            Ok(_) => self.check_health("waiting for the GPU"),
            Err(wgpu::PollError::Timeout) => Err(Error::Timeout(self.0.timeout.as_secs())),
            Err(e) => {
                self.check_health("waiting for the GPU")?;
                Err(Error::DeviceLost(e.to_string()))
            }
        }
    }

    /// Submits all recorded work and waits until the GPU has finished it.
    pub fn sync(&self) -> Result<()> {
        let index = self.flush()?;
        self.wait(index)
    }

    /// Copies `bytes` of a buffer back to the host (flushes pending work).
    pub(crate) fn read(&self, src: &PoolBuffer, offset: u64, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let usage = wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST;
        let staging = self
            .0
            .staging
            .take(bytes, usage, self.0.limits.max_buffer_size, |size| {
                self.create_buffer(size, usage, "gan-tensor readback")
            })?;
        self.copy(src, offset, staging.raw(), 0, bytes);
        let index = self.flush()?;
        let (tx, rx) = mpsc::channel();
        staging
            .raw()
            .map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
                let _ = tx.send(r);
            });
        self.wait(index)?;
        // The map callback fires during a poll once the copy is done.
        let mapped = match rx.try_recv() {
            Ok(r) => r,
            Err(_) => {
                self.wait(None)?;
                rx.recv_timeout(self.0.timeout)
                    .map_err(|_| Error::Timeout(self.0.timeout.as_secs()))?
            }
        };
        mapped.map_err(|e| Error::Gpu {
            during: "mapping a readback buffer".into(),
            msg: e.to_string(),
        })?;
        let out = staging
            .raw()
            .get_mapped_range(0..bytes)
            .map_err(|e| Error::Gpu {
                during: "reading a mapped buffer".into(),
                msg: e.to_string(),
            })?
            .to_vec();
        staging.raw().unmap();
        Ok(out)
    }
}
