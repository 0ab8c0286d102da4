//! What a stage's time is spent on, measured while it runs.
//!
//! The buffers count how long a stage waits for room (blocked) and for data
//! (starved). What is left of its life is *busy*, and this module splits it:
//! the time its own I/O was pending ([`IoMeter`]: the source's stream, the
//! sink, an async stage's stream returned `Pending`) is *waiting on I/O*; the
//! rest is *working* (inside a transform, or in polls that returned
//! `Ready`). Like the buffers' counters, a meter shows a wait while it lasts,
//! so a watcher (the timeline, the stall watchdog) sees it live.
//!
//! Cost: two clock reads per `Pending` → `Ready` episode, none per chunk
//! that is ready at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Release};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_sink::Sink;

/// An instant as nanoseconds since the first one this module asked for,
/// plus one (0 means "none").
fn mark(t: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(|| t);
    u64::try_from(t.saturating_duration_since(epoch).as_nanos())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Time a stage's own I/O kept it waiting: written by the stage's task,
/// read by anyone.
#[derive(Debug, Default)]
pub(crate) struct IoMeter {
    /// Waits that ended, in nanoseconds.
    total: AtomicU64,
    /// When the current wait began (a [`mark`]), 0 when none is on.
    since: AtomicU64,
}

impl IoMeter {
    /// The inner I/O answered `Pending` (at most once per wait).
    #[inline]
    fn start(&self, t: Instant) {
        self.since.store(mark(t), Release);
    }

    /// The inner I/O answered after a wait of `d`. Not ongoing first, then
    /// added (so a reader of total-then-since never counts it twice).
    #[inline]
    fn end(&self, d: Duration) {
        self.since.store(0, Release);
        self.total.fetch_add(nanos(d), Release);
    }

    /// Waits that ended.
    pub(crate) fn total(&self) -> Duration {
        Duration::from_nanos(self.total.load(Acquire))
    }

    /// How long the current wait has lasted, if one is on.
    pub(crate) fn ongoing(&self) -> Option<Duration> {
        match self.since.load(Acquire) {
            0 => None,
            m => Some(Duration::from_nanos(mark(Instant::now()).saturating_sub(m))),
        }
    }

    /// Waits so far, the current one included: (total, ongoing).
    pub(crate) fn read(&self) -> (Duration, Option<Duration>) {
        let total = self.total();
        (total, self.ongoing())
    }
}

/// The clock of one side's waits, kept by the side that polls.
#[derive(Debug, Default)]
struct WaitClock {
    since: Option<Instant>,
}

impl WaitClock {
    /// Records the outcome of a poll of the inner I/O. The clock is read
    /// only when a wait starts or ends, out of line: a `Ready` that ends no
    /// wait (every chunk of a source that is always ready) costs a test.
    #[inline]
    fn note<T>(&mut self, meter: &IoMeter, p: &Poll<T>) {
        match (p.is_pending(), self.since.is_some()) {
            (true, false) => self.start(meter),
            (false, true) => self.end(meter),
            _ => {}
        }
    }

    #[cold]
    #[inline(never)]
    fn start(&mut self, meter: &IoMeter) {
        let now = Instant::now();
        self.since = Some(now);
        meter.start(now);
    }

    #[cold]
    #[inline(never)]
    fn end(&mut self, meter: &IoMeter) {
        if let Some(t) = self.since.take() {
            meter.end(t.elapsed());
        }
    }

    /// Ends a wait cut short (the wrapper is dropped).
    fn close(&mut self, meter: &IoMeter) {
        if let Some(t) = self.since.take() {
            meter.end(t.elapsed());
        }
    }
}

/// A meter and the clock of the side that polls it, in one: for wrappers
/// that time their inner I/O themselves (a one-task pipeline's source). A
/// wait cut short by the drop is ended then.
#[derive(Debug)]
pub(crate) struct IoTimer {
    meter: std::sync::Arc<IoMeter>,
    clock: WaitClock,
}

impl IoTimer {
    pub(crate) fn new(meter: std::sync::Arc<IoMeter>) -> Self {
        IoTimer {
            meter,
            clock: WaitClock::default(),
        }
    }

    /// Records the outcome of a poll of the inner I/O: no clock read for
    /// a `Ready` that ends no wait.
    #[inline]
    pub(crate) fn note<T>(&mut self, p: &Poll<T>) {
        self.clock.note(&self.meter, p);
    }
}

impl Drop for IoTimer {
    fn drop(&mut self) {
        self.clock.close(&self.meter);
    }
}

/// A stream whose `Pending` time is counted as waiting on I/O.
pub(crate) struct IoWait<S> {
    inner: S,
    meter: std::sync::Arc<IoMeter>,
    clock: WaitClock,
}

impl<S> IoWait<S> {
    pub(crate) fn new(inner: S, meter: std::sync::Arc<IoMeter>) -> Self {
        IoWait {
            inner,
            meter,
            clock: WaitClock::default(),
        }
    }
}

impl<S: Stream + Unpin> Stream for IoWait<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let p = Pin::new(&mut this.inner).poll_next(cx);
        this.clock.note(&this.meter, &p);
        p
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<S> Drop for IoWait<S> {
    fn drop(&mut self) {
        self.clock.close(&self.meter);
    }
}

/// A sink whose `Pending` time (waiting for room, for a flush, for the
/// close) is counted as waiting on I/O.
pub(crate) struct IoWaitSink<K> {
    inner: Pin<Box<K>>,
    meter: std::sync::Arc<IoMeter>,
    clock: WaitClock,
}

impl<K> IoWaitSink<K> {
    pub(crate) fn new(inner: K, meter: std::sync::Arc<IoMeter>) -> Self {
        IoWaitSink {
            inner: Box::pin(inner),
            meter,
            clock: WaitClock::default(),
        }
    }
}

impl<T, K: Sink<T>> Sink<T> for IoWaitSink<K> {
    type Error = K::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), K::Error>> {
        let this = &mut *self;
        let p = this.inner.as_mut().poll_ready(cx);
        this.clock.note(&this.meter, &p);
        p
    }

    fn start_send(mut self: Pin<&mut Self>, item: T) -> Result<(), K::Error> {
        self.inner.as_mut().start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), K::Error>> {
        let this = &mut *self;
        let p = this.inner.as_mut().poll_flush(cx);
        this.clock.note(&this.meter, &p);
        p
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), K::Error>> {
        let this = &mut *self;
        let p = this.inner.as_mut().poll_close(cx);
        this.clock.note(&this.meter, &p);
        p
    }
}

impl<K> Drop for IoWaitSink<K> {
    fn drop(&mut self) {
        self.clock.close(&self.meter);
    }
}

/// When a stage's task started and ended, for watchers during the run.
#[derive(Debug, Default)]
pub(crate) struct Life {
    /// A [`mark`] of the first poll, 0 before.
    started: AtomicU64,
    /// A [`mark`] of the end, 0 while it runs.
    ended: AtomicU64,
}

impl Life {
    /// Marks the start (for stages that are not tasks of a run).
    pub(crate) fn start(&self) {
        self.started.store(mark(Instant::now()), Release);
    }

    /// Marks the end.
    pub(crate) fn end(&self) {
        self.ended.store(mark(Instant::now()), Release);
    }

    /// How long the task has lived by `now`, and whether it has ended.
    pub(crate) fn read(&self, now: Instant) -> (Duration, bool) {
        let started = self.started.load(Acquire);
        if started == 0 {
            return (Duration::ZERO, false);
        }
        let ended = self.ended.load(Acquire);
        let until = if ended == 0 { mark(now) } else { ended };
        (
            Duration::from_nanos(until.saturating_sub(started)),
            ended != 0,
        )
    }
}

/// Wraps a stage's future so that its [`Life`] is known while it runs.
pub(crate) fn track<F>(fut: F, life: std::sync::Arc<Life>) -> impl Future<Output = F::Output>
where
    F: Future,
{
    /// Marks the end on completion, on an abort and on a panic alike.
    struct EndGuard(std::sync::Arc<Life>);
    impl Drop for EndGuard {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    async move {
        life.start();
        let _guard = EndGuard(life);
        fut.await
    }
}
