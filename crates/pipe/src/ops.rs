//! Async operators on readables: a map with bounded concurrency, an async
//! filter, batching by count and time, and `take`. Each is a `Stream` that
//! wraps a readable; [`Pipeline`](crate::Pipeline) runs them as stages and
//! [`ReadableOps`] adds them to any readable.
//!
//! # Bounds
//! Nothing here queues without limit: a map holds at most `concurrency`
//! calls (running, or finished and waiting for their turn in input order), a
//! batch at most `max_items` items, and each pulls from upstream only when it
//! has room.

use std::fmt;
use std::future::Future;
use std::io;
use std::mem;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use futures_util::stream::{FuturesOrdered, FuturesUnordered, StreamExt};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use weir_core::{Error, Readable};

/// An error for an argument that must be at least 1.
pub(crate) fn zero_error(stage: &str, what: &str) -> Error {
    Error::io(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} must be at least 1, got 0"),
    ))
    .with_stage(stage.to_string())
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "an async call panicked".to_string()
    }
}

/// One call in flight: its future, with a panic caught as a value.
type Call<Fut> = CatchUnwind<AssertUnwindSafe<Fut>>;

/// The calls in flight, handed on in input order or as they finish.
enum InFlight<Fut: Future> {
    Ordered(FuturesOrdered<Call<Fut>>),
    Unordered(FuturesUnordered<Call<Fut>>),
}

impl<Fut: Future> InFlight<Fut> {
    fn new(ordered: bool) -> Self {
        if ordered {
            InFlight::Ordered(FuturesOrdered::new())
        } else {
            InFlight::Unordered(FuturesUnordered::new())
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            InFlight::Ordered(s) => s.len(),
            InFlight::Unordered(s) => s.len(),
        }
    }

    #[inline]
    fn push(&mut self, call: Call<Fut>) {
        match self {
            InFlight::Ordered(s) => s.push_back(call),
            InFlight::Unordered(s) => s.push(call),
        }
    }

    /// Drops every call in flight.
    fn clear(&mut self) {
        *self = InFlight::new(matches!(self, InFlight::Ordered(_)));
    }

    #[inline]
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::thread::Result<Fut::Output>>> {
        match self {
            InFlight::Ordered(s) => s.poll_next_unpin(cx),
            InFlight::Unordered(s) => s.poll_next_unpin(cx),
        }
    }
}

/// How an operator turns an item into a call.
pub(crate) trait Start<T> {
    type Fut: Future;
    fn start(&mut self, item: T) -> Self::Fut;
}

/// `map_async`'s calls: `f(item)`.
pub(crate) struct MapCall<F>(F);

impl<T, U, F, Fut> Start<T> for MapCall<F>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<U, Error>>,
{
    type Fut = Fut;
    #[inline]
    fn start(&mut self, item: T) -> Fut {
        (self.0)(item)
    }
}

/// `filter_async`'s calls: `f(&item)`, keeping the item for the answer.
pub(crate) struct FilterCall<F>(F);

impl<T, F, Fut> Start<T> for FilterCall<F>
where
    F: FnMut(&T) -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    type Fut = Keep<Fut, T>;
    #[inline]
    fn start(&mut self, item: T) -> Keep<Fut, T> {
        Keep {
            fut: (self.0)(&item),
            item: Some(item),
        }
    }
}

pin_project! {
    /// A filter call: the predicate's future and the item it decides on.
    pub(crate) struct Keep<Fut, T> {
        #[pin]
        fut: Fut,
        item: Option<T>,
    }
}

impl<Fut, T> Future for Keep<Fut, T>
where
    Fut: Future<Output = Result<bool, Error>>,
{
    type Output = Result<Option<T>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let keep = ready!(this.fut.poll(cx))?;
        let item = this.item.take();
        Poll::Ready(Ok(if keep { item } else { None }))
    }
}

impl<Fut, T> fmt::Debug for Keep<Fut, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keep")
    }
}

pin_project! {
    /// The engine behind `map_async` and `filter_async`: starts calls while
    /// fewer than `limit` are held, hands their results on.
    struct Engine<S, C, Fut: Future> {
        #[pin]
        upstream: S,
        start: C,
        in_flight: InFlight<Fut>,
        limit: usize,
        upstream_done: bool,
        // Upstream's error, handed on once the calls started before it have
        // handed on their results.
        upstream_error: Option<Error>,
        failed: bool,
        peak: usize,
        gauge: Option<Arc<AtomicUsize>>,
        name: Arc<str>,
    }
}

impl<S, C, Fut, T, U> Engine<S, C, Fut>
where
    S: Stream<Item = Result<T, Error>>,
    C: Start<T, Fut = Fut>,
    Fut: Future<Output = Result<U, Error>>,
{
    fn new(upstream: S, limit: usize, ordered: bool, start: C, name: &str) -> Result<Self, Error> {
        if limit == 0 {
            return Err(zero_error(name, "concurrency"));
        }
        Ok(Engine {
            upstream,
            start,
            in_flight: InFlight::new(ordered),
            limit,
            upstream_done: false,
            upstream_error: None,
            failed: false,
            peak: 0,
            gauge: None,
            name: Arc::from(name),
        })
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<U, Error>>> {
        let mut this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        while !*this.upstream_done && this.in_flight.len() < *this.limit {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => {
                    let start = &mut *this.start;
                    match catch_unwind(AssertUnwindSafe(|| start.start(item))) {
                        Ok(fut) => this.in_flight.push(AssertUnwindSafe(fut).catch_unwind()),
                        Err(payload) => {
                            return Poll::Ready(Some(Err(fail(
                                this.in_flight,
                                this.failed,
                                this.name,
                                payload,
                            ))));
                        }
                    }
                    let held = this.in_flight.len();
                    if held > *this.peak {
                        *this.peak = held;
                        if let Some(g) = this.gauge {
                            g.fetch_max(held, Relaxed);
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // No more calls start; those before it finish first.
                    *this.upstream_done = true;
                    *this.upstream_error = Some(e);
                }
                Poll::Ready(None) => *this.upstream_done = true,
                Poll::Pending => break,
            }
        }
        match this.in_flight.poll_next(cx) {
            Poll::Ready(Some(Ok(Ok(out)))) => Poll::Ready(Some(Ok(out))),
            Poll::Ready(Some(Ok(Err(e)))) => {
                this.in_flight.clear();
                *this.failed = true;
                Poll::Ready(Some(Err(e.with_stage(this.name.clone()))))
            }
            Poll::Ready(Some(Err(payload))) => Poll::Ready(Some(Err(fail(
                this.in_flight,
                this.failed,
                this.name,
                payload,
            )))),
            Poll::Ready(None) if *this.upstream_done => match this.upstream_error.take() {
                Some(e) => {
                    *this.failed = true;
                    Poll::Ready(Some(Err(e)))
                }
                None => Poll::Ready(None),
            },
            // Empty, and upstream has registered the wake-up.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// Ends an engine on a panic: drops every call in flight and names the stage.
fn fail<Fut: Future>(
    in_flight: &mut InFlight<Fut>,
    failed: &mut bool,
    name: &Arc<str>,
    payload: Box<dyn std::any::Any + Send>,
) -> Error {
    in_flight.clear();
    *failed = true;
    Error::panicked(panic_message(payload)).with_stage(name.clone())
}

pin_project! {
    /// A readable whose items are the results of an async function applied
    /// to each item of another, with at most a given number of calls in
    /// flight: in input order ([`ReadableOps::map_async`]) or as they finish
    /// ([`ReadableOps::map_async_unordered`]).
    ///
    /// The calls run concurrently inside the task that polls this stream
    /// (as `futures`' `buffered` does), not on tasks of their own: dropping
    /// the stream drops every call in flight, and nothing outlives it.
    #[must_use = "streams do nothing unless polled"]
    pub struct MapAsync<S, F, Fut: Future> {
        #[pin]
        inner: Engine<S, MapCall<F>, Fut>,
    }
}

impl<S, F, Fut, T, U> MapAsync<S, F, Fut>
where
    S: Stream<Item = Result<T, Error>>,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<U, Error>>,
{
    pub(crate) fn new(
        upstream: S,
        concurrency: usize,
        ordered: bool,
        f: F,
        name: &str,
    ) -> Result<Self, Error> {
        Ok(MapAsync {
            inner: Engine::new(upstream, concurrency, ordered, MapCall(f), name)?,
        })
    }

    /// Names the stage in errors (default `"map_async"`).
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// The most calls this stream has held at once so far (running, or
    /// finished and waiting for their turn); never more than its
    /// concurrency.
    pub fn in_flight_peak(&self) -> usize {
        self.inner.peak
    }

    pub(crate) fn with_gauge(mut self, gauge: Arc<AtomicUsize>) -> Self {
        self.inner.gauge = Some(gauge);
        self
    }
}

impl<S, F, Fut, T, U> Stream for MapAsync<S, F, Fut>
where
    S: Stream<Item = Result<T, Error>>,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<U, Error>>,
{
    type Item = Result<U, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().inner.poll_next(cx)
    }
}

impl<S, F, Fut: Future> fmt::Debug for MapAsync<S, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapAsync")
            .field("name", &self.inner.name)
            .field("concurrency", &self.inner.limit)
            .field("in_flight", &self.inner.in_flight.len())
            .finish()
    }
}

pin_project! {
    /// A readable keeping the items of another for which an async predicate
    /// answers `true`, in input order, with at most a given number of
    /// predicate calls in flight. Made by [`ReadableOps::filter_async`].
    #[must_use = "streams do nothing unless polled"]
    pub struct FilterAsync<S, F, Fut: Future<Output = Result<bool, Error>>, T> {
        #[pin]
        inner: Engine<S, FilterCall<F>, Keep<Fut, T>>,
    }
}

impl<S, F, Fut, T> FilterAsync<S, F, Fut, T>
where
    S: Stream<Item = Result<T, Error>>,
    F: FnMut(&T) -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    pub(crate) fn new(upstream: S, concurrency: usize, f: F, name: &str) -> Result<Self, Error> {
        Ok(FilterAsync {
            inner: Engine::new(upstream, concurrency, true, FilterCall(f), name)?,
        })
    }

    /// Names the stage in errors (default `"filter_async"`).
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// The most predicate calls this stream has held at once so far.
    pub fn in_flight_peak(&self) -> usize {
        self.inner.peak
    }

    pub(crate) fn with_gauge(mut self, gauge: Arc<AtomicUsize>) -> Self {
        self.inner.gauge = Some(gauge);
        self
    }
}

impl<S, F, Fut, T> Stream for FilterAsync<S, F, Fut, T>
where
    S: Stream<Item = Result<T, Error>>,
    F: FnMut(&T) -> Fut,
    Fut: Future<Output = Result<bool, Error>>,
{
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut inner = self.project().inner;
        loop {
            match ready!(inner.as_mut().poll_next(cx)) {
                Some(Ok(Some(item))) => return Poll::Ready(Some(Ok(item))),
                Some(Ok(None)) => {}
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<S, F, Fut: Future<Output = Result<bool, Error>>, T> fmt::Debug for FilterAsync<S, F, Fut, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterAsync")
            .field("name", &self.inner.name)
            .field("concurrency", &self.inner.limit)
            .finish()
    }
}

pin_project! {
    /// A readable of batches: the items of another gathered into `Vec`s of
    /// up to `max_items`, a batch handed on early once `max_wait` has passed
    /// since its first item arrived. Made by [`ReadableOps::batch`].
    ///
    /// A batch is handed on when it is full, when `max_wait` has passed
    /// since its first item while upstream has nothing ready, or at the end
    /// of input (a last, partial batch). An empty batch is never handed on.
    /// The clock is Tokio's, so paused time (`tokio::time::pause`) drives it
    /// in tests.
    #[must_use = "streams do nothing unless polled"]
    pub struct Batch<S, T> {
        #[pin]
        upstream: S,
        items: Vec<T>,
        max_items: usize,
        max_wait: Duration,
        deadline: Option<Instant>,
        sleep: Option<Pin<Box<Sleep>>>,
        done: bool,
        name: Arc<str>,
    }
}

impl<S, T> Batch<S, T>
where
    S: Stream<Item = Result<T, Error>>,
{
    pub(crate) fn new(
        upstream: S,
        max_items: usize,
        max_wait: Duration,
        name: &str,
    ) -> Result<Self, Error> {
        if max_items == 0 {
            return Err(zero_error(name, "max_items"));
        }
        Ok(Batch {
            upstream,
            items: Vec::with_capacity(max_items.min(BATCH_PREALLOC)),
            max_items,
            max_wait,
            deadline: None,
            sleep: None,
            done: false,
            name: Arc::from(name),
        })
    }

    /// Names the stage in errors (default `"batch"`).
    pub fn with_name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }
}

/// Items a batch reserves room for up front (more grow as they come).
const BATCH_PREALLOC: usize = 4096;

impl<S, T> Stream for Batch<S, T>
where
    S: Stream<Item = Result<T, Error>>,
{
    type Item = Result<Vec<T>, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let mut upstream = this.upstream;
        let items = this.items;
        let max = *this.max_items;
        if !*this.done {
            loop {
                match upstream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(item))) => {
                        items.push(item);
                        if items.len() >= max {
                            *this.deadline = None;
                            return Poll::Ready(Some(Ok(take_batch(items, max))));
                        }
                    }
                    Poll::Ready(Some(Err(e))) => {
                        *this.done = true;
                        items.clear();
                        return Poll::Ready(Some(Err(e.with_stage(this.name.clone()))));
                    }
                    Poll::Ready(None) => {
                        *this.done = true;
                        break;
                    }
                    Poll::Pending => {
                        if items.is_empty() {
                            return Poll::Pending;
                        }
                        // The clock is read once per batch, here: a batch
                        // without a deadline got all its items during this
                        // call (an earlier call that left items behind went
                        // through here and set one), so now is when its
                        // first item came.
                        let now = Instant::now();
                        // A `max_wait` too long to add to the clock (as
                        // `Duration::MAX`) is a year: in effect, never.
                        let deadline = *this.deadline.get_or_insert_with(|| {
                            now.checked_add(*this.max_wait)
                                .unwrap_or(now + Duration::from_secs(365 * 24 * 3600))
                        });
                        if now < deadline {
                            let sleep = this.sleep.get_or_insert_with(|| {
                                Box::pin(tokio::time::sleep_until(deadline))
                            });
                            if sleep.deadline() != deadline {
                                sleep.as_mut().reset(deadline);
                            }
                            ready!(sleep.as_mut().poll(cx));
                        }
                        *this.deadline = None;
                        return Poll::Ready(Some(Ok(take_batch(items, max))));
                    }
                }
            }
        }
        if items.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(mem::take(items))))
        }
    }
}

/// Hands the batch gathered so far on, leaving an empty one with room.
#[inline]
fn take_batch<T>(items: &mut Vec<T>, max: usize) -> Vec<T> {
    mem::replace(items, Vec::with_capacity(max.min(BATCH_PREALLOC)))
}

impl<S, T> fmt::Debug for Batch<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("name", &self.name)
            .field("max_items", &self.max_items)
            .field("max_wait", &self.max_wait)
            .field("held", &self.items.len())
            .finish()
    }
}

pin_project! {
    /// A readable of the first `n` items of another; it stops polling
    /// upstream once they have passed. Used by
    /// [`Pipeline::take`](crate::Pipeline::take) (a readable has
    /// `futures::StreamExt::take`).
    #[must_use = "streams do nothing unless polled"]
    pub struct Take<S> {
        #[pin]
        upstream: S,
        remaining: u64,
    }
}

impl<S> Take<S> {
    /// The first `n` items of `upstream`.
    pub fn new(upstream: S, n: u64) -> Self {
        Take {
            upstream,
            remaining: n,
        }
    }
}

impl<S, T> Stream for Take<S>
where
    S: Stream<Item = Result<T, Error>>,
{
    type Item = Result<T, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.remaining == 0 {
            return Poll::Ready(None);
        }
        let item = ready!(this.upstream.poll_next(cx));
        match &item {
            Some(Ok(_)) => *this.remaining -= 1,
            Some(Err(_)) => *this.remaining = 0,
            None => {}
        }
        Poll::Ready(item)
    }
}

impl<S> fmt::Debug for Take<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Take")
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// Async operators on any readable (`Stream<Item = Result<T, Error>>`): the
/// ones a user of Node's `readable.map(fn, { concurrency })`,
/// `readable.filter(…)` or `futures`' `buffered` reaches for.
///
/// Each constructor checks its arguments at once: a concurrency or a batch
/// size of 0 is an error (of kind [`std::io::ErrorKind::InvalidInput`]), not
/// a stream that never yields. Errors are named after the operator
/// (`"map_async"`, `"filter_async"`, `"batch"`; change it with `with_name`).
/// In a [`Pipeline`](crate::Pipeline), use the methods of the same names,
/// which run the operator as a stage of its own in the run report.
///
/// `take` and `inspect` are not here: a readable has
/// `futures::StreamExt::take` and `futures::TryStreamExt::inspect_ok`, and
/// [`transform::inspect`](weir_core::transform::inspect) is the transform.
pub trait ReadableOps: Stream + Sized {
    /// Calls `f` on each item, at most `concurrency` calls in flight, and
    /// yields the results in input order (Node's
    /// `readable.map(fn, { concurrency })`, `futures`' `buffered`).
    ///
    /// A call that finishes early waits for the calls before it, so at most
    /// `concurrency` results are ever held. The calls run inside the task
    /// that polls the stream; dropping the stream drops them.
    ///
    /// # Errors
    /// An error if `concurrency` is 0. The stream yields the first error of a
    /// call (named `"map_async"`; in input order, so after the results of the
    /// calls before it), drops every call still in flight and then ends. An
    /// error from upstream comes after the results of the calls already
    /// started (they are items before it), then the stream ends. A call that panics (in `f` or in its future)
    /// is an error for which [`Error::is_panic`] is true.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use std::time::Duration;
    /// use weir::pipe::ReadableOps;
    /// use weir::readable;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), weir::Error> {
    /// let fetch = |id: u64| async move {
    ///     tokio::time::sleep(Duration::from_millis(10 * (5 - id))).await; // later ids answer sooner
    ///     Ok::<_, weir::Error>(id * 100)
    /// };
    /// let out: Vec<u64> = readable::from_iter(1..=4u64).map_async(4, fetch)?.try_collect().await?;
    /// assert_eq!(out, [100, 200, 300, 400]); // input order
    /// # Ok(()) }
    /// ```
    fn map_async<T, U, F, Fut>(
        self,
        concurrency: usize,
        f: F,
    ) -> Result<MapAsync<Self, F, Fut>, Error>
    where
        Self: Readable<T>,
        F: FnMut(T) -> Fut,
        Fut: Future<Output = Result<U, Error>>,
    {
        MapAsync::new(self, concurrency, true, f, "map_async")
    }

    /// As [`map_async`](ReadableOps::map_async), but yields each result as
    /// soon as its call finishes (`futures`' `buffer_unordered`).
    ///
    /// # Errors
    /// As for [`map_async`](ReadableOps::map_async).
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use std::time::Duration;
    /// use weir::pipe::ReadableOps;
    /// use weir::readable;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), weir::Error> {
    /// let fetch = |id: u64| async move {
    ///     tokio::time::sleep(Duration::from_millis(10 * (5 - id))).await;
    ///     Ok::<_, weir::Error>(id)
    /// };
    /// let out: Vec<u64> = readable::from_iter(1..=4u64).map_async_unordered(4, fetch)?.try_collect().await?;
    /// assert_eq!(out, [4, 3, 2, 1]); // as they finished
    /// # Ok(()) }
    /// ```
    fn map_async_unordered<T, U, F, Fut>(
        self,
        concurrency: usize,
        f: F,
    ) -> Result<MapAsync<Self, F, Fut>, Error>
    where
        Self: Readable<T>,
        F: FnMut(T) -> Fut,
        Fut: Future<Output = Result<U, Error>>,
    {
        MapAsync::new(self, concurrency, false, f, "map_async")
    }

    /// Keeps the items for which the async predicate `f` answers `true`, in
    /// input order, at most `concurrency` predicate calls in flight (Node's
    /// `readable.filter(fn, { concurrency })`). `f` sees the item by
    /// reference and returns a future that must not borrow it (clone what it
    /// needs), as with `futures`' `try_filter`.
    ///
    /// # Errors
    /// An error if `concurrency` is 0. Then as for
    /// [`map_async`](ReadableOps::map_async), named `"filter_async"`.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use weir::pipe::ReadableOps;
    /// use weir::readable;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let is_even = |n: &u32| {
    ///     let n = *n;
    ///     async move { Ok::<_, weir::Error>(n % 2 == 0) }
    /// };
    /// let out: Vec<u32> = readable::from_iter(1..=6u32).filter_async(2, is_even)?.try_collect().await?;
    /// assert_eq!(out, [2, 4, 6]);
    /// # Ok(()) }
    /// ```
    fn filter_async<T, F, Fut>(
        self,
        concurrency: usize,
        f: F,
    ) -> Result<FilterAsync<Self, F, Fut, T>, Error>
    where
        Self: Readable<T>,
        F: FnMut(&T) -> Fut,
        Fut: Future<Output = Result<bool, Error>>,
    {
        FilterAsync::new(self, concurrency, f, "filter_async")
    }

    /// Gathers items into batches of up to `max_items`, handing a batch on
    /// early once `max_wait` has passed since its first item (for databases
    /// and bulk APIs; see [`Batch`]).
    ///
    /// # Errors
    /// An error if `max_items` is 0. The stream yields upstream's error
    /// (the partial batch is dropped) and then ends.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use std::time::Duration;
    /// use weir::pipe::ReadableOps;
    /// use weir::readable;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let rows: Vec<Vec<u32>> = readable::from_iter(1..=5u32)
    ///     .batch(2, Duration::from_millis(50))?
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(rows, [vec![1, 2], vec![3, 4], vec![5]]);
    /// # Ok(()) }
    /// ```
    fn batch<T>(self, max_items: usize, max_wait: Duration) -> Result<Batch<Self, T>, Error>
    where
        Self: Readable<T>,
    {
        Batch::new(self, max_items, max_wait, "batch")
    }
}

impl<S: Stream> ReadableOps for S {}
