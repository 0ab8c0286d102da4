use std::fmt;
use std::sync::Arc as StdArc;

use super::shared::Shared;
use crate::limit::Limit;
use crate::{Reader, Writer};

/// What [`Writer::write`] does with a chunk that arrives when the buffer is
/// already at or over its high mark *and* the chunk would take it past the
/// hard cap (see [`BufferConfig::hard_cap`]).
///
/// A producer that waits for room ([`Writer::send`], `Sink`, `AsyncWrite`)
/// never gets near the cap; the policy is about producers that ignore
/// [`Written::Full`](crate::Written::Full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Refuse the chunk with an error for which
    /// [`Error::is_overflow`](crate::Error::is_overflow) is true, handing the
    /// chunk back. The default: memory stays bounded and nothing is lost
    /// silently.
    #[default]
    Error,
    /// Discard the oldest buffered chunks until the new one fits (latest data
    /// wins: telemetry, progress updates). Each drop is counted in
    /// [`Stats::dropped`](crate::Stats::dropped) and logged at WARN.
    DropOldest,
    /// Discard the incoming chunk (first data wins). Counted and logged like
    /// `DropOldest`.
    DropNewest,
    /// Accept everything: Node's behaviour when `write()`'s return value is
    /// ignored. Memory grows without bound; exists to demonstrate that failure.
    Unbounded,
}

/// Builds a bounded buffer with chosen marks, overflow policy and name.
///
/// Defaults (not part of the semver contract): the low mark is half the high
/// mark; the hard cap is twice the high mark under [`Overflow::Error`], equal
/// to the high mark under the lossy policies, and absent under
/// [`Overflow::Unbounded`]; no name.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::{BufferConfig, Limit, Overflow};
///
/// // Node's exact behaviour: 'drain' only once the buffer is empty.
/// let (tx, _rx) = BufferConfig::new(Limit::<Bytes>::bytes(16 * 1024)).low_water_mark(0).name("upload").build();
/// assert_eq!(tx.stats().low_water_mark, 0);
///
/// // A lossy telemetry queue that keeps the latest 100 events.
/// let (tx, rx) = BufferConfig::new(Limit::<u64>::items(100)).overflow(Overflow::DropOldest).build();
/// # drop((tx, rx));
/// ```
pub struct BufferConfig<T> {
    pub(crate) limit: Limit<T>,
    pub(crate) low: Option<usize>,
    pub(crate) cap: Option<usize>,
    pub(crate) overflow: Overflow,
    pub(crate) name: Option<StdArc<str>>,
}

impl<T> Clone for BufferConfig<T> {
    fn clone(&self) -> Self {
        BufferConfig {
            limit: self.limit,
            low: self.low,
            cap: self.cap,
            overflow: self.overflow,
            name: self.name.clone(),
        }
    }
}

impl<T> fmt::Debug for BufferConfig<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferConfig")
            .field("limit", &self.limit)
            .field("low", &self.low_mark())
            .field("hard_cap", &self.cap_mark())
            .field("overflow", &self.overflow)
            .field("name", &self.name)
            .finish()
    }
}

impl<T> BufferConfig<T> {
    /// A configuration with `limit` as the high mark and every other setting
    /// at its default.
    pub fn new(limit: Limit<T>) -> Self {
        BufferConfig {
            limit,
            low: None,
            cap: None,
            overflow: Overflow::Error,
            name: None,
        }
    }

    /// Sets the high mark, keeping the unit.
    pub fn high_water_mark(&mut self, high: usize) -> &mut Self {
        self.limit = self.limit.with_high_water_mark(high);
        self
    }

    /// Sets the low mark: a full buffer counts as drained (and a waiting
    /// writer resumes) once the reader has brought it down to `low`. `0` gives
    /// Node's drain-when-empty. Values at or above the high mark are lowered to
    /// `high - 1`.
    pub fn low_water_mark(&mut self, low: usize) -> &mut Self {
        self.low = Some(low);
        self
    }

    /// Sets the hard cap: past it, a writer that ignores `Full` meets the
    /// [`Overflow`] policy. Values below the high mark are raised to it.
    pub fn hard_cap(&mut self, cap: usize) -> &mut Self {
        self.cap = Some(cap);
        self
    }

    /// Sets the overflow policy (default [`Overflow::Error`]).
    pub fn overflow(&mut self, policy: Overflow) -> &mut Self {
        self.overflow = policy;
        self
    }

    /// Names the buffer; the name appears in stats, tracing events and errors.
    pub fn name(&mut self, name: impl Into<StdArc<str>>) -> &mut Self {
        self.name = Some(name.into());
        self
    }

    /// The limit (high mark and unit).
    pub fn limit(&self) -> Limit<T> {
        self.limit
    }

    pub(crate) fn low_mark(&self) -> usize {
        let high = self.limit.high_water_mark();
        self.low.unwrap_or(high / 2).min(high - 1)
    }

    pub(crate) fn cap_mark(&self) -> usize {
        let high = self.limit.high_water_mark();
        match (self.overflow, self.cap) {
            (Overflow::Unbounded, _) => usize::MAX,
            (_, Some(cap)) => cap.max(high),
            (Overflow::Error, None) => high.saturating_mul(2),
            (_, None) => high,
        }
    }

    /// Makes the buffer: a [`Writer`] and a [`Reader`] joined by it.
    pub fn build(&self) -> (Writer<T>, Reader<T>) {
        let shared = Shared::new(self);
        (Writer::new(shared.clone()), Reader::new(shared))
    }
}
