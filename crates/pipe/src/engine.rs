//! The machinery behind a pipeline: the tasks it spawns, what each one
//! measures, and how a run is joined, cancelled and reported.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_sink::Sink;
use futures_util::StreamExt;
use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use weir_core::{Error, Limit, Reader, Writer};

use crate::report::{Report, StageMeters};

/// A boxed readable stream, as stages pass them along.
pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;
/// A stage task's future.
pub(crate) type BoxFut = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'static>>;

/// Chunks and amount counted at a pipeline's edge (pulled from the source,
/// given to a sink). One task writes it; anyone may read it.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    pub(crate) chunks: AtomicU64,
    pub(crate) units: AtomicU64,
}

impl Counter {
    #[inline]
    fn add(&self, units: usize) {
        self.chunks.store(self.chunks.load(Relaxed) + 1, Relaxed);
        self.units
            .store(self.units.load(Relaxed) + units as u64, Relaxed);
    }
}

/// Counts what passes through a stream.
pub(crate) struct Counted<S, T> {
    inner: S,
    counter: Arc<Counter>,
    limit: Limit<T>,
}

impl<S, T> Counted<S, T> {
    pub(crate) fn new(inner: S, counter: Arc<Counter>, limit: Limit<T>) -> Self {
        Counted {
            inner,
            counter,
            limit,
        }
    }
}

impl<S, T> Stream for Counted<S, T>
where
    S: Stream<Item = Result<T, Error>> + Unpin,
{
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let r = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &r {
            let n = self.limit.measure(chunk);
            self.counter.add(n);
        }
        r
    }
}

impl<S: Unpin, T> Unpin for Counted<S, T> {}

/// Names the errors of one stage's own stream (a source, a `through_stream`
/// stage) after that stage, before any stage fused after it or the task
/// around it can: an error keeps the first name it is given, so the name is
/// the innermost stage's. Errors that already name a stage pass unchanged.
pub(crate) struct NameErrors<T> {
    inner: BoxStream<T>,
    stage: Arc<str>,
}

impl<T> NameErrors<T> {
    pub(crate) fn new(inner: BoxStream<T>, stage: Arc<str>) -> Self {
        NameErrors { inner, stage }
    }
}

impl<T> Stream for NameErrors<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match ready!(self.inner.as_mut().poll_next(cx)) {
            Some(Err(e)) => Poll::Ready(Some(Err(e.with_stage(self.stage.clone())))),
            other => Poll::Ready(other),
        }
    }
}

/// One task of a pipeline, before it is spawned.
pub(crate) struct TaskSpec {
    pub(crate) meters: StageMeters,
    pub(crate) fut: BoxFut,
}

/// Moves a stream into a buffer: ends the buffer at the stream's end, aborts
/// it (passing the error on) when the stream fails.
///
/// Chunks go in through the buffer's `Sink` side, which wakes the reader in
/// batches; the buffer is flushed whenever the stream has nothing ready, so
/// the reader never waits for a chunk that is already there.
///
/// A reader gone is not this stage's failure: the stage after it either
/// failed (and its error is the run's) or ended early on purpose (`take`),
/// so the pump then stops quietly.
pub(crate) async fn pump<T>(mut stream: BoxStream<T>, mut out: Writer<T>) -> Result<(), Error> {
    let res = std::future::poll_fn(|cx| {
        loop {
            if let Err(e) = ready!(Pin::new(&mut out).poll_ready(cx)) {
                return Poll::Ready(Err(e));
            }
            match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => Pin::new(&mut out).start_send(chunk)?,
                Poll::Ready(Some(Err(e))) => {
                    out.abort(e.duplicate());
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => {
                    out.end();
                    return Poll::Ready(Ok(()));
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

/// Moves a stream into several buffers, each chunk to all of them: paced by
/// the slowest reader.
pub(crate) async fn pump_all<T: Clone>(
    mut stream: BoxStream<T>,
    mut outs: Vec<Writer<T>>,
) -> Result<(), Error> {
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => {
                if let Some((last, rest)) = outs.split_last_mut() {
                    for out in rest {
                        out.send(chunk.clone()).await?;
                    }
                    last.send(chunk).await?;
                }
            }
            Err(e) => {
                for out in &mut outs {
                    out.abort(e.duplicate());
                }
                return Err(e);
            }
        }
    }
    for out in &mut outs {
        out.end();
    }
    Ok(())
}

/// Moves a buffer into a sink, flushing when the buffer is empty and closing
/// the sink at the end. On an error the sink is dropped without `close`.
pub(crate) async fn drain<T, K>(
    input: Reader<T>,
    sink: K,
    counter: Arc<Counter>,
    limit: Limit<T>,
) -> Result<(), Error>
where
    K: Sink<T, Error = Error>,
{
    Counted::new(input, counter, limit).forward(sink).await
}

/// Whether an error only echoes another stage's failure (a peer went away,
/// or the run was stopped), so that the original error is reported instead.
fn is_echo(e: &Error) -> bool {
    e.is_reader_gone() || e.is_writer_dropped() || e.is_cancelled()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a stage panicked".to_string()
    }
}

/// The running stage tasks; each ends with its index into the slots, its
/// result and its lifetime.
type Tasks = JoinSet<(usize, Result<(), Error>, Duration)>;

/// A spawned stage: what its report is read from, and how long its task
/// lived once it ended.
struct Slot {
    meters: StageMeters,
    id: Id,
    lifetime: Option<Duration>,
}

/// Runs the tasks to completion, or until the first error or cancellation,
/// and reports.
pub(crate) async fn run(
    tasks: Vec<TaskSpec>,
    token: Option<CancellationToken>,
    #[cfg(feature = "metrics")] labels: Vec<metrics::Label>,
) -> Result<Report, Error> {
    let start = Instant::now();
    #[cfg(feature = "metrics")]
    let mut publisher = crate::metrics::Publisher::new(tasks.iter().map(|t| &t.meters), &labels);
    let (set, mut slots) = spawn_all(tasks);
    #[cfg(feature = "metrics")]
    let joined = {
        let joined = publisher
            .while_running(join_all(set, &mut slots, token, start))
            .await;
        publisher.finish();
        joined
    };
    #[cfg(not(feature = "metrics"))]
    let joined = join_all(set, &mut slots, token, start).await;
    joined?;
    let elapsed = start.elapsed();
    let stages = slots
        .into_iter()
        .map(|s| s.meters.report(s.lifetime.unwrap_or(elapsed)))
        .collect();
    Ok(Report::new(elapsed, stages))
}

/// Spawns every stage's task, each in a tracing span of its own, timing its
/// life; a task's output carries its index into the slots.
fn spawn_all(tasks: Vec<TaskSpec>) -> (Tasks, Vec<Slot>) {
    let mut set = JoinSet::new();
    let mut slots = Vec::with_capacity(tasks.len());
    for (i, TaskSpec { meters, fut }) in tasks.into_iter().enumerate() {
        let span = tracing::debug_span!("pipe.stage", stage = %meters.name);
        let stage = meters.name.clone();
        let handle = set.spawn(
            async move {
                let t0 = Instant::now();
                tracing::debug!("stage started");
                let res = fut.await.map_err(|e| e.with_stage(stage));
                let elapsed = t0.elapsed();
                tracing::debug!(
                    elapsed.ms = elapsed.as_millis() as u64,
                    ok = res.is_ok(),
                    "stage ended"
                );
                (i, res, elapsed)
            }
            .instrument(span),
        );
        slots.push(Slot {
            meters,
            id: handle.id(),
            lifetime: None,
        });
    }
    (set, slots)
}

/// Joins the tasks as they end. The first failure (or the cancellation of
/// `token`) stops the others; the error returned is the first one that is
/// not an echo of another stage's failure, else the first echo.
async fn join_all(
    mut set: Tasks,
    slots: &mut [Slot],
    token: Option<CancellationToken>,
    start: Instant,
) -> Result<(), Error> {
    let mut first: Option<Error> = None;
    let mut echo: Option<Error> = None;
    let cancelled = async {
        match &token {
            Some(t) => t.cancelled().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(cancelled);
    let mut stopping = false;
    loop {
        let joined = tokio::select! {
            j = set.join_next() => j,
            () = &mut cancelled, if !stopping => {
                stopping = true;
                if first.is_none() {
                    first = Some(Error::cancelled());
                }
                set.abort_all();
                continue;
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let failure = match joined {
            Ok((i, res, lifetime)) => {
                slots[i].lifetime = Some(lifetime);
                res.err()
            }
            Err(je) => {
                let slot = slots.iter_mut().find(|s| s.id == je.id());
                let name = slot.map(|s| {
                    s.lifetime = Some(start.elapsed());
                    s.meters.name.clone()
                });
                if je.is_panic() {
                    let e = Error::panicked(panic_message(je.into_panic()));
                    Some(match name {
                        Some(n) => e.with_stage(n),
                        None => e,
                    })
                } else {
                    // Cancelled by us after an earlier failure.
                    None
                }
            }
        };
        if let Some(e) = failure {
            if is_echo(&e) {
                if echo.is_none() {
                    echo = Some(e);
                }
            } else if first.is_none() {
                first = Some(e);
            }
            if !stopping {
                stopping = true;
                set.abort_all();
            }
        }
    }
    match first.or(echo) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
