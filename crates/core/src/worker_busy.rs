//! How busy a transform's own worker threads were.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Busy time per worker thread of a transform that runs its work on threads
/// of its own (a parallel compressor or decompressor): a shared handle that
/// the workers add to and anyone holding a clone can read, during the run or
/// after it.
///
/// A transform hands one out from
/// [`Transform::worker_busy`](crate::Transform::worker_busy); a pipeline
/// stage running it shows the figures in its run report, so the report
/// says how well the stage kept its threads busy (busy time close to the
/// stage's wall time on every worker: the cores were the limit).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use weir::WorkerBusy;
///
/// let busy = WorkerBusy::new(2);
/// busy.add(1, Duration::from_millis(3));
/// assert_eq!(busy.times(), [Duration::ZERO, Duration::from_millis(3)]);
/// ```
#[derive(Debug, Clone)]
pub struct WorkerBusy {
    nanos: Arc<[AtomicU64]>,
}

impl WorkerBusy {
    /// Meters for `workers` workers (at least one), all at zero.
    pub fn new(workers: usize) -> Self {
        WorkerBusy {
            nanos: (0..workers.max(1)).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// How many workers it meters.
    pub fn workers(&self) -> usize {
        self.nanos.len()
    }

    /// Adds `spent` to worker `worker`'s busy time (ignored past the last
    /// worker).
    pub fn add(&self, worker: usize, spent: Duration) {
        if let Some(m) = self.nanos.get(worker) {
            let n = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
            m.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Each worker's busy time so far.
    pub fn times(&self) -> Vec<Duration> {
        self.nanos
            .iter()
            .map(|m| Duration::from_nanos(m.load(Ordering::Relaxed)))
            .collect()
    }
}
