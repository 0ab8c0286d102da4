//! The operator stages of a pipeline: `map_async`, `map_async_unordered`,
//! `filter_async`, `batch`, `take` and `inspect`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::{Poll, ready};
use std::time::Duration;

use futures_sink::Sink;
use weir_core::transform::inspect;
use weir_core::{Error, Writer};

use super::{Head, Pipeline};
use crate::engine::BoxStream;
use crate::meter::{IoMeter, IoWait};
use crate::ops::{Batch, FilterAsync, MapAsync, Take, zero_error};

impl<T: Send + 'static> Pipeline<T> {
    /// Adds a stage named `name` that calls the async function `f` on each
    /// chunk, at most `concurrency` calls in flight, and passes the results
    /// on in input order (Node's `readable.map(fn, { concurrency })`).
    ///
    /// The stage runs on a task of its own, between bounded buffers; its
    /// calls run concurrently inside that task. A call that finishes early
    /// waits for the ones before it, so the stage holds at most
    /// `concurrency` calls and results. Its report gives the most it held at
    /// once ([`StageReport::in_flight_peak`](crate::StageReport)).
    ///
    /// # Errors
    /// An error of kind [`std::io::ErrorKind::InvalidInput`] if
    /// `concurrency` is 0. At run time, a call's error (or a panic in `f` or
    /// its future, [`Error::is_panic`]) ends the run named after the stage;
    /// the stage's other calls are dropped, and so they are when the run is
    /// cancelled.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let lookup = |id: u32| async move {
    ///     tokio::time::sleep(Duration::from_millis(1)).await; // a network round trip
    ///     Ok::<_, weir::Error>(format!("user {id}"))
    /// };
    /// let report = Pipeline::from(readable::from_iter(0..100u32))
    ///     .map_async("lookup", 8, lookup)?
    ///     .into(writable::from_fn(|_name: String| async { Ok(()) }))
    ///     .run()
    ///     .await?;
    /// let stage = report.stage("lookup").expect("a stage named lookup");
    /// assert!(stage.in_flight_peak <= 8);
    /// assert_eq!(stage.chunks_out, 100);
    /// # Ok(()) }
    /// ```
    pub fn map_async<U, F, Fut>(
        self,
        name: impl Into<Arc<str>>,
        concurrency: usize,
        f: F,
    ) -> Result<Pipeline<U>, Error>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<U, Error>> + Send + 'static,
        U: Send + 'static,
    {
        self.map_async_stage(name.into(), concurrency, true, f)
    }

    /// As [`map_async`](Pipeline::map_async), but passes each result on as
    /// soon as its call finishes (`futures`' `buffer_unordered`).
    ///
    /// # Errors
    /// As for [`map_async`](Pipeline::map_async).
    ///
    /// # Examples
    /// ```
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let report = Pipeline::from(readable::from_iter(0..10u32))
    ///     .map_async_unordered("double", 4, |n| async move { Ok::<_, weir::Error>(n * 2) })?
    ///     .into(writable::from_fn(|_n: u32| async { Ok(()) }))
    ///     .run()
    ///     .await?;
    /// assert_eq!(report.bytes_out, 10);
    /// # Ok(()) }
    /// ```
    pub fn map_async_unordered<U, F, Fut>(
        self,
        name: impl Into<Arc<str>>,
        concurrency: usize,
        f: F,
    ) -> Result<Pipeline<U>, Error>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<U, Error>> + Send + 'static,
        U: Send + 'static,
    {
        self.map_async_stage(name.into(), concurrency, false, f)
    }

    fn map_async_stage<U, F, Fut>(
        self,
        name: Arc<str>,
        concurrency: usize,
        ordered: bool,
        f: F,
    ) -> Result<Pipeline<U>, Error>
    where
        F: FnMut(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<U, Error>> + Send + 'static,
        U: Send + 'static,
    {
        if concurrency == 0 {
            return Err(zero_error(&name, "concurrency"));
        }
        let gauge = Arc::new(AtomicUsize::new(0));
        if self.base.one_task {
            let (mut base, upstream, _) = self.close_part(false);
            let stage =
                MapAsync::new(upstream, concurrency, ordered, f, &name)?.with_gauge(gauge.clone());
            base.names = vec![name];
            base.in_flight = Some(gauge);
            // No I/O meter: timing each wait for the calls would cost two
            // clock reads per round of calls (see `StageReport::fused`).
            return Ok(Pipeline {
                base,
                head: Head::Stream(Box::pin(stage)),
                head_stage: None,
            });
        }
        let (mut base, reader) = self.close_segment();
        let stage =
            MapAsync::new(reader, concurrency, ordered, f, &name)?.with_gauge(gauge.clone());
        base.names = vec![name];
        base.in_flight = Some(gauge);
        // Waiting for its calls is waiting on I/O (less the waits for input).
        let io = Arc::new(IoMeter::default());
        base.io = Some((io.clone(), true));
        // The stage names its calls' errors and panics itself.
        Ok(Pipeline {
            base,
            head: Head::Stream(Box::pin(IoWait::new(Box::pin(stage) as BoxStream<_>, io))),
            head_stage: None,
        })
    }

    /// Adds a stage named `name` that keeps the chunks for which the async
    /// predicate `f` answers `true`, in input order, at most `concurrency`
    /// calls in flight (Node's `readable.filter(fn, { concurrency })`). `f`
    /// sees the chunk by reference; its future must not borrow it.
    ///
    /// Runs on a task of its own, as [`map_async`](Pipeline::map_async) does.
    ///
    /// # Errors
    /// As for [`map_async`](Pipeline::map_async).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let kept = Arc::new(AtomicU32::new(0));
    /// let k = kept.clone();
    /// Pipeline::from(readable::from_iter(1..=10u32))
    ///     .filter_async("odd", 2, |n: &u32| {
    ///         let odd = n % 2 == 1;
    ///         async move { Ok::<_, weir::Error>(odd) }
    ///     })?
    ///     .into(writable::from_fn(move |n: u32| {
    ///         k.fetch_add(n, Ordering::Relaxed);
    ///         async { Ok(()) }
    ///     }))
    ///     .run()
    ///     .await?;
    /// assert_eq!(kept.load(Ordering::Relaxed), 1 + 3 + 5 + 7 + 9);
    /// # Ok(()) }
    /// ```
    pub fn filter_async<F, Fut>(
        self,
        name: impl Into<Arc<str>>,
        concurrency: usize,
        f: F,
    ) -> Result<Pipeline<T>, Error>
    where
        F: FnMut(&T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, Error>> + Send + 'static,
    {
        let name = name.into();
        if concurrency == 0 {
            return Err(zero_error(&name, "concurrency"));
        }
        let gauge = Arc::new(AtomicUsize::new(0));
        if self.base.one_task {
            let (mut base, upstream, _) = self.close_part(false);
            let stage =
                FilterAsync::new(upstream, concurrency, f, &name)?.with_gauge(gauge.clone());
            base.names = vec![name];
            base.in_flight = Some(gauge);
            return Ok(Pipeline {
                base,
                head: Head::Stream(Box::pin(stage)),
                head_stage: None,
            });
        }
        let (mut base, reader) = self.close_segment();
        let stage = FilterAsync::new(reader, concurrency, f, &name)?.with_gauge(gauge.clone());
        base.names = vec![name];
        base.in_flight = Some(gauge);
        // Waiting for its calls is waiting on I/O (less the waits for input).
        let io = Arc::new(IoMeter::default());
        base.io = Some((io.clone(), true));
        // The stage names its calls' errors and panics itself.
        Ok(Pipeline {
            base,
            head: Head::Stream(Box::pin(IoWait::new(Box::pin(stage) as BoxStream<_>, io))),
            head_stage: None,
        })
    }

    /// Adds a stage named `name` that gathers chunks into batches (`Vec`s)
    /// of up to `max_items`, handing a batch on early once `max_wait` has
    /// passed since its first chunk arrived: for inserts into a database or
    /// calls to a bulk API. See [`Batch`](crate::Batch).
    ///
    /// Runs on a task of its own, so that its timer sees its input buffer
    /// run dry.
    ///
    /// # Errors
    /// An error of kind [`std::io::ErrorKind::InvalidInput`] if `max_items`
    /// is 0.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let report = Pipeline::from(readable::from_iter(0..1000u32))
    ///     .batch("rows", 100, Duration::from_millis(20))?
    ///     .into(writable::from_fn(|rows: Vec<u32>| async move {
    ///         assert!(rows.len() <= 100); // one INSERT of up to 100 rows
    ///         Ok(())
    ///     }))
    ///     .run()
    ///     .await?;
    /// assert_eq!(report.stage("rows").map(|s| s.bytes_in), Some(1000));
    /// # Ok(()) }
    /// ```
    pub fn batch(
        self,
        name: impl Into<Arc<str>>,
        max_items: usize,
        max_wait: Duration,
    ) -> Result<Pipeline<Vec<T>>, Error> {
        let name = name.into();
        if max_items == 0 {
            return Err(zero_error(&name, "max_items"));
        }
        if self.base.one_task {
            let (mut base, upstream, _) = self.close_part(false);
            let stage = Batch::new(upstream, max_items, max_wait, &name)?;
            base.names = vec![name];
            return Ok(Pipeline {
                base,
                head: Head::Stream(Box::pin(stage)),
                head_stage: None,
            });
        }
        let (mut base, reader) = self.close_segment();
        let stage = Batch::new(reader, max_items, max_wait, &name)?;
        base.names = vec![name];
        let head: BoxStream<Vec<T>> = Box::pin(stage);
        Ok(Pipeline {
            base,
            head: Head::Stream(head),
            head_stage: None,
        })
    }

    /// Passes on the first `n` chunks and then ends the stream, as if the
    /// source had ended there (Node's `readable.take(n)`). Fused into the
    /// current task as a stage named `"take"`; the stages before it stop
    /// once it has what it needs, and the run succeeds.
    ///
    /// # Examples
    /// ```
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let endless = readable::from_iter(0u64..);
    /// let report = Pipeline::from(endless)
    ///     .take(5)
    ///     .into(writable::from_fn(|_n: u64| async { Ok(()) }))
    ///     .run()
    ///     .await?;
    /// assert_eq!(report.bytes_out, 5);
    /// # Ok(()) }
    /// ```
    pub fn take(mut self, n: u64) -> Pipeline<T> {
        self.base.names.push(Arc::from("take"));
        let upstream = Self::sealed_head(self.head, self.head_stage);
        let head: BoxStream<T> = Box::pin(Take::new(upstream, n));
        Pipeline {
            base: self.base,
            head: Head::Stream(head),
            head_stage: None,
        }
    }

    /// Adds a cheap stage named `name` that shows each chunk to `f` and
    /// passes it on unchanged (logging, metrics), fused into the current
    /// task ([`transform::inspect`](weir_core::transform::inspect)).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let s = seen.clone();
    /// Pipeline::from(readable::from_iter(0..7u32))
    ///     .inspect("count", move |_n: &u32| { s.fetch_add(1, Ordering::Relaxed); })
    ///     .into(writable::from_fn(|_n: u32| async { Ok(()) }))
    ///     .run()
    ///     .await?;
    /// assert_eq!(seen.load(Ordering::Relaxed), 7);
    /// # Ok(()) }
    /// ```
    pub fn inspect<F>(self, name: impl Into<Arc<str>>, f: F) -> Pipeline<T>
    where
        F: FnMut(&T) + Send + 'static,
    {
        self.fuse(name, inspect(f))
    }
}

/// The pump of a task whose stream runs async calls (`map_async`,
/// `filter_async`): as [`engine::pump`](crate::engine::pump), but when the
/// stream has nothing ready right after handing out chunks, the chunks
/// gathered so far are not handed over yet: the task polls itself once more
/// first. Calls that finish a moment later (a `yield_now`, a fast lookup)
/// then join the same hand-over, so the next stage is woken once per batch
/// (at the buffer's wake mark at the latest) rather than once per round of
/// calls. A poll that moves nothing hands over at once, so a chunk waits at
/// most one extra poll of this task.
pub(super) async fn pump_calls<T>(
    mut stream: BoxStream<T>,
    mut out: Writer<T>,
) -> Result<(), Error> {
    let res = std::future::poll_fn(|cx| {
        let mut moved = false;
        loop {
            if let Err(e) = ready!(Pin::new(&mut out).poll_ready(cx)) {
                return Poll::Ready(Err(e));
            }
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    Pin::new(&mut out).start_send(chunk)?;
                    moved = true;
                }
                Poll::Ready(Some(Err(e))) => {
                    out.abort(e.duplicate());
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    out.end();
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending if moved => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => {
                    ready!(Pin::new(&mut out).poll_flush(cx))?;
                    return Poll::Pending;
                }
            }
        }
    })
    .await;
    match res {
        Err(e) if e.is_reader_gone() => Ok(()),
        res => res,
    }
}
