//! Live counters of a buffer: how much went through, how often it was full,
//! how long each side waited.
//!
//! Counters are plain atomics written by whichever side holds the buffer's
//! lock and read without any lock, so watching a buffer (from a progress bar,
//! a report or a test) never slows its writer or reader.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crate::limit::Unit;

/// A snapshot of a buffer's counters, from [`Writer::stats`](crate::Writer::stats),
/// [`Reader::stats`](crate::Reader::stats) or a [`StatsHandle`].
///
/// Amounts are in the buffer's [`unit`](Stats::unit): bytes in byte mode,
/// items in object mode.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::{buffer, Limit, Written};
///
/// let (mut tx, _rx) = buffer::<Bytes>(Limit::bytes(4));
/// assert_eq!(tx.write(Bytes::from_static(b"abcdef")).unwrap(), Written::Full);
/// let s = tx.stats();
/// assert_eq!((s.writes, s.written, s.buffered, s.full_events), (1, 6, 6, 1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The unit amounts are counted in.
    pub unit: Unit,
    /// The high-water mark.
    pub high_water_mark: usize,
    /// The low-water mark (where a full buffer counts as drained).
    pub low_water_mark: usize,
    /// What is buffered now.
    pub buffered: usize,
    /// The most that was ever buffered at once.
    pub peak_buffered: usize,
    /// Chunks accepted from the writer.
    pub writes: u64,
    /// Amount accepted from the writer.
    pub written: u64,
    /// Chunks handed to the reader.
    pub reads: u64,
    /// Amount handed to the reader.
    pub read: u64,
    /// How many times the buffer reached its high mark (Node's `write()`
    /// returning `false`).
    pub full_events: u64,
    /// How many times a full buffer drained to its low mark (Node's `'drain'`).
    /// A drain is counted when it is noticed: at once if the writer is
    /// waiting, else when the writer next writes or asks. None is counted
    /// once the writer has ended, aborted or gone (Node emits no `'drain'`
    /// after `end()`).
    pub drains: u64,
    /// Chunks discarded by a lossy overflow policy, or by an abort.
    pub dropped: u64,
    /// Total time the writer spent waiting for room.
    pub writer_wait: Duration,
    /// Total time the reader spent waiting for data.
    pub reader_wait: Duration,
}

/// The shared counters behind [`Stats`] (crate-internal).
///
/// Most counters have a single writer (the side holding the lock, or the
/// reader for `reads`/`read`); `dropped` and `discarded` are added to from
/// either side and use read-modify-write.
#[derive(Debug, Default)]
pub(crate) struct StatsCell {
    pub(crate) peak: AtomicUsize,
    /// Amount discarded without being read (abort, reader drop, lossy policy).
    pub(crate) discarded: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) reads: AtomicU64,
    pub(crate) read: AtomicU64,
    pub(crate) full_events: AtomicU64,
    pub(crate) drains: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) writer_wait_ns: AtomicU64,
    pub(crate) reader_wait_ns: AtomicU64,
}

/// Adds `n` to a counter that only the lock holder writes: a plain load and
/// store, cheaper than a read-modify-write, and exact because writers are
/// serialised by the buffer's lock.
#[inline]
pub(crate) fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl StatsCell {
    /// Records a buffered amount reached by a write (lock held).
    #[inline]
    pub(crate) fn note_peak(&self, n: usize) {
        if n > self.peak.load(Relaxed) {
            self.peak.store(n, Relaxed);
        }
    }

    /// Records chunks discarded without being read.
    pub(crate) fn discard(&self, chunks: usize, units: usize) {
        if chunks > 0 {
            self.dropped.fetch_add(chunks as u64, Relaxed);
            self.discarded.fetch_add(units as u64, Relaxed);
        }
    }

    /// What is buffered now: written, less read, less discarded.
    pub(crate) fn buffered(&self) -> usize {
        let written = self.written.load(Relaxed);
        let gone = self
            .read
            .load(Relaxed)
            .saturating_add(self.discarded.load(Relaxed));
        usize::try_from(written.saturating_sub(gone)).unwrap_or(usize::MAX)
    }

    pub(crate) fn add_wait(c: &AtomicU64, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        c.fetch_add(ns, Relaxed);
    }
}

/// A cloneable handle that reads one buffer's live [`Stats`] from anywhere,
/// without holding either end and without taking the buffer's lock.
///
/// # Examples
/// ```
/// use weir::{Limit, Written};
///
/// let (mut tx, rx) = weir::BufferConfig::new(Limit::<u32>::items(8)).name("events").build();
/// let handle = tx.stats_handle();
/// assert_eq!(tx.write(1).unwrap(), Written::Ready);
/// assert_eq!(handle.name(), Some("events"));
/// assert_eq!(handle.buffered(), 1);
/// drop((tx, rx));
/// assert_eq!(handle.stats().writes, 1); // still readable after both ends are gone
/// ```
#[derive(Clone)]
pub struct StatsHandle {
    pub(crate) cell: Arc<StatsCell>,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) unit: Unit,
    pub(crate) high: usize,
    pub(crate) low: usize,
}

impl StatsHandle {
    /// The buffer's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// What is buffered now.
    pub fn buffered(&self) -> usize {
        self.cell.buffered()
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> Stats {
        let c = &self.cell;
        Stats {
            unit: self.unit,
            high_water_mark: self.high,
            low_water_mark: self.low,
            buffered: c.buffered(),
            peak_buffered: c.peak.load(Relaxed),
            writes: c.writes.load(Relaxed),
            written: c.written.load(Relaxed),
            reads: c.reads.load(Relaxed),
            read: c.read.load(Relaxed),
            full_events: c.full_events.load(Relaxed),
            drains: c.drains.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            writer_wait: Duration::from_nanos(c.writer_wait_ns.load(Relaxed)),
            reader_wait: Duration::from_nanos(c.reader_wait_ns.load(Relaxed)),
        }
    }
}

impl fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsHandle")
            .field("name", &self.name)
            .field("buffered", &self.buffered())
            .finish_non_exhaustive()
    }
}
