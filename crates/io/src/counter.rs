//! A live byte count shared between an adapter and whoever watches it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A cloneable, lock-free count of bytes: how much a source has handed out
/// or a sink has written so far.
///
/// Every source and sink in this crate keeps one and hands out clones
/// ([`FileSource::counter`](crate::FileSource::counter),
/// [`FileSink::counter`](crate::FileSink::counter), …), so a progress bar
/// or a pipeline report can read it while the adapter is owned (and moved
/// around) by someone else, and after it is gone.
///
/// # Examples
/// ```
/// use weir_io::ByteCounter;
///
/// let counter = ByteCounter::new();
/// let watcher = counter.clone();
/// assert_eq!(watcher.get(), 0);
/// drop(counter);
/// assert_eq!(watcher.get(), 0); // still readable
/// ```
#[derive(Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        ByteCounter::default()
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }

    pub(crate) fn add(&self, n: usize) {
        self.0.fetch_add(n as u64, Relaxed);
    }
}

impl fmt::Debug for ByteCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ByteCounter").field(&self.get()).finish()
    }
}
