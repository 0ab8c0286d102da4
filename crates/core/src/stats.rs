//! Live counters of a buffer: how much went through, how often it was full,
//! how long each side waited.
//!
//! Counters are plain atomics written by whichever side holds the buffer's
//! lock and read without any lock, so watching a buffer (from a progress bar,
//! a report or a test) never slows its writer or reader.

use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{
    AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::time::{Duration, Instant};

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
    /// How long the writer has been waiting for room, if it waits now (not
    /// yet counted in `writer_wait`).
    pub writer_waiting: Option<Duration>,
    /// How long the reader has been waiting for data, if it waits now (not
    /// yet counted in `reader_wait`).
    pub reader_waiting: Option<Duration>,
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
    /// When the writer's current wait began (see [`mark`]), 0 when it does
    /// not wait.
    pub(crate) writer_since: AtomicU64,
    /// When the reader's current wait began, 0 when it does not wait.
    pub(crate) reader_since: AtomicU64,
}

/// An instant as nanoseconds since the first one the process asked for,
/// plus one (0 means "none"): what fits in an atomic.
fn mark(t: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(|| t);
    u64::try_from(t.saturating_duration_since(epoch).as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

/// How long a wait begun at `since` (a [`mark`]) has lasted, if one is on.
fn ongoing(since: &AtomicU64) -> Option<Duration> {
    match since.load(Acquire) {
        0 => None,
        m => Some(Duration::from_nanos(mark(Instant::now()).saturating_sub(m))),
    }
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

    /// A side (`since`: `writer_since` or `reader_since`) starts waiting at
    /// `t`: watchers see the wait while it lasts.
    pub(crate) fn wait_started(since: &AtomicU64, t: Instant) {
        since.store(mark(t), Release);
    }

    /// A side's wait of `d` ends: it is no longer shown as ongoing, then it
    /// is added to the total (in that order, so a watcher that reads the
    /// total before `since` never counts it twice).
    pub(crate) fn wait_ended(since: &AtomicU64, total: &AtomicU64, d: Duration) {
        since.store(0, Release);
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        total.fetch_add(ns, Release);
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
        // Totals first, then the ongoing waits (see `wait_ended`).
        let writer_wait = Duration::from_nanos(c.writer_wait_ns.load(Acquire));
        let reader_wait = Duration::from_nanos(c.reader_wait_ns.load(Acquire));
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
            writer_wait,
            reader_wait,
            writer_waiting: ongoing(&c.writer_since),
            reader_waiting: ongoing(&c.reader_since),
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
