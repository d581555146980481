//! A pool of GPU buffers keyed by size class, so a steady-state loop of identical steps
//! allocates no new buffers after its first step.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The size class a request of `bytes` is served from: the next of 1, 1.25, 1.5, 1.75 x 2^k
/// (at least 256 bytes), so reuse across similar sizes wastes at most a quarter.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let p = bytes.next_power_of_two();
    if p == bytes {
        return p;
    }
    let half = p / 2;
    let step = half / 4;
    for i in 1..=4 {
        if half + i * step >= bytes {
            return half + i * step;
        }
    }
    p
}

type FreeLists = HashMap<(u64, u32), Vec<wgpu::Buffer>>;

/// Free buffers by (size class, usage bits), shared with every live [`PoolBuffer`].
#[derive(Clone, Default)]
pub(crate) struct Pool {
    free: Arc<Mutex<FreeLists>>,
    created: Arc<AtomicU64>,
}

/// A buffer on loan from the pool; it goes back when dropped.
pub struct PoolBuffer {
    buffer: Option<wgpu::Buffer>,
    class: u64,
    usage: u32,
    free: Arc<Mutex<FreeLists>>,
}

impl PoolBuffer {
    /// The wgpu buffer.
    pub fn raw(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer present until drop")
    }
}

impl Drop for PoolBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            if let Ok(mut free) = self.free.lock() {
                free.entry((self.class, self.usage)).or_default().push(b);
            }
        }
    }
}

impl Pool {
    /// Number of buffers ever created through this pool.
    pub(crate) fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Takes a free buffer of the class, or creates one with `create`.
    pub(crate) fn take(
        &self,
        bytes: u64,
        usage: wgpu::BufferUsages,
        max: u64,
        create: impl FnOnce(u64) -> crate::Result<wgpu::Buffer>,
    ) -> crate::Result<PoolBuffer> {
        // Never round past the device's maximum buffer size.
        let class = size_class(bytes).min(max.max(bytes));
        let key = (class, usage.bits());
        let reused = self
            .free
            .lock()
            .ok()
            .and_then(|mut f| f.get_mut(&key).and_then(|v| v.pop()));
        let buffer = match reused {
            Some(b) => b,
            None => {
                let b = create(class)?;
                self.created.fetch_add(1, Ordering::Relaxed);
                b
            }
        };
        Ok(PoolBuffer {
            buffer: Some(buffer),
            class,
            usage: usage.bits(),
            free: self.free.clone(),
        })
    }

    /// Drops every free buffer (memory goes back to the driver).
    pub(crate) fn trim(&self) {
        if let Ok(mut f) = self.free.lock() {
            f.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::size_class;

    #[test]
    fn classes_cover_request_and_waste_at_most_a_quarter() {
        for bytes in [
            1u64,
            255,
            256,
            257,
            1000,
            1024,
            1025,
            4097,
            1 << 20,
            (1 << 20) + 1,
            123_456_789,
        ] {
            let c = size_class(bytes);
            assert!(c >= bytes, "{bytes} -> {c}");
            assert!(
                c <= (bytes.max(256) as f64 * 1.25) as u64 + 1,
                "{bytes} -> {c}"
            );
        }
    }
}
