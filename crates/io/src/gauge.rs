//! A live count of the bytes some buffers hold, with its peak: what a
//! server's file reads keep in memory, wherever the blocks have gone
//! (the source, hyper's write queue).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Bytes held now, the most ever held at once, and how many holders
/// (response bodies) are open.
#[derive(Debug, Default)]
struct GaugeInner {
    held: AtomicU64,
    peak: AtomicU64,
    holders: AtomicU64,
}

/// A cloneable handle on one gauge.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryGauge(Arc<GaugeInner>);

impl MemoryGauge {
    pub(crate) fn new() -> Self {
        MemoryGauge::default()
    }

    /// Bytes held now.
    pub(crate) fn held(&self) -> u64 {
        self.0.held.load(Relaxed)
    }

    /// The most bytes held at once so far.
    pub(crate) fn peak(&self) -> u64 {
        self.0.peak.load(Relaxed)
    }

    /// Holders open now.
    pub(crate) fn holders(&self) -> u64 {
        self.0.holders.load(Relaxed)
    }

    fn add(&self, n: usize) {
        let now = self.0.held.fetch_add(n as u64, Relaxed) + n as u64;
        self.0.peak.fetch_max(now, Relaxed);
    }

    fn sub(&self, n: usize) {
        self.0.held.fetch_sub(n as u64, Relaxed);
    }

    /// Counts one more holder until the guard is dropped.
    pub(crate) fn holder(&self) -> HolderGuard {
        self.0.holders.fetch_add(1, Relaxed);
        HolderGuard(self.clone())
    }
}

/// One open holder of a [`MemoryGauge`]; counted until dropped.
#[derive(Debug)]
pub(crate) struct HolderGuard(MemoryGauge);

impl Drop for HolderGuard {
    fn drop(&mut self) {
        self.0.0.holders.fetch_sub(1, Relaxed);
    }
}

/// A buffer whose allocation is counted on a gauge (if any) from the moment
/// it is made until it is dropped, wherever it has been moved to: into a
/// blocking read, into `Bytes` handed out in slices, into hyper's queue.
#[derive(Debug)]
pub(crate) struct CountedBuf {
    buf: Vec<u8>,
    counted: usize,
    gauge: Option<MemoryGauge>,
}

impl CountedBuf {
    /// `buf` (its capacity is what is counted) on `gauge`.
    pub(crate) fn new(buf: Vec<u8>, gauge: Option<MemoryGauge>) -> Self {
        let counted = if gauge.is_some() { buf.capacity() } else { 0 };
        if let Some(g) = &gauge {
            g.add(counted);
        }
        CountedBuf {
            buf,
            counted,
            gauge,
        }
    }

    /// The buffer itself, to read into.
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// As `Bytes`: without a gauge the plain vector (no extra allocation);
    /// with one, an owner that keeps counting until the last slice of it
    /// is dropped.
    pub(crate) fn into_bytes(mut self) -> bytes::Bytes {
        if self.gauge.is_none() {
            return bytes::Bytes::from(std::mem::take(&mut self.buf));
        }
        bytes::Bytes::from_owner(self)
    }
}

impl AsRef<[u8]> for CountedBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for CountedBuf {
    fn drop(&mut self) {
        if let Some(g) = &self.gauge {
            g.sub(self.counted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_is_counted_until_its_last_slice_is_dropped() {
        let g = MemoryGauge::new();
        let mut b = CountedBuf::new(Vec::with_capacity(1000), Some(g.clone()));
        b.vec_mut().extend_from_slice(&[1; 600]);
        assert_eq!(g.held(), 1000);
        let mut bytes = b.into_bytes();
        let head = bytes.split_to(100);
        drop(bytes);
        assert_eq!(g.held(), 1000);
        drop(head);
        assert_eq!((g.held(), g.peak()), (0, 1000));
        let h = g.holder();
        assert_eq!(g.holders(), 1);
        drop(h);
        assert_eq!(g.holders(), 0);
    }
}
