use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use weir_core::{Stats, StatsHandle, Unit};

use crate::engine::Counter;

/// Watches a pipeline while it runs: what the source has produced so far and
/// each buffer's live [`Stats`]. Cheap to clone and to read (no locks).
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::pipe::Pipeline;
/// use weir::{readable, writable::ChunkWriter};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter((0..100).map(|_| Bytes::from(vec![1u8; 1000])));
/// let run = Pipeline::from(src).into(ChunkWriter::new(tokio::io::sink()));
/// let monitor = run.monitor();
/// run.run().await?;
/// assert_eq!(monitor.bytes_in(), 100_000);
/// assert_eq!(monitor.buffers().len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Monitor {
    pulled: Arc<Counter>,
    unit: Unit,
    buffers: Vec<StatsHandle>,
}

impl Monitor {
    pub(crate) fn new(pulled: Arc<Counter>, unit: Unit) -> Self {
        Monitor {
            pulled,
            unit,
            buffers: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, h: StatsHandle) {
        self.buffers.push(h);
    }

    /// Amount pulled from the source so far (bytes, or items for objects).
    pub fn bytes_in(&self) -> u64 {
        self.pulled.units.load(Relaxed)
    }

    /// Chunks pulled from the source so far.
    pub fn chunks_in(&self) -> u64 {
        self.pulled.chunks.load(Relaxed)
    }

    /// The unit of [`bytes_in`](Monitor::bytes_in).
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// Each buffer's name and live stats, source side first.
    pub fn buffers(&self) -> Vec<(String, Stats)> {
        self.buffers
            .iter()
            .map(|h| (h.name().unwrap_or("").to_string(), h.stats()))
            .collect()
    }

    /// What all the buffers hold right now, added up (in their own units).
    pub fn buffered(&self) -> usize {
        self.buffers.iter().map(StatsHandle::buffered).sum()
    }
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("bytes_in", &self.bytes_in())
            .field("buffered", &self.buffered())
            .finish()
    }
}
