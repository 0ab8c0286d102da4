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
use weir_core::{Error, Limit, Reader, StatsHandle, Unit, Writer};

use crate::report::{Report, StageKind, StageReport};

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

/// One task of a pipeline, before it is spawned.
pub(crate) struct TaskSpec {
    pub(crate) name: Arc<str>,
    pub(crate) kind: StageKind,
    pub(crate) fut: BoxFut,
    /// The buffer the task reads from (none for a source task).
    pub(crate) input: Option<StatsHandle>,
    /// The buffers the task writes to (none for a sink task; several for a tee).
    pub(crate) outputs: Vec<StatsHandle>,
    /// What the task pulled from the source (source tasks).
    pub(crate) pulled: Option<(Arc<Counter>, Unit)>,
    /// What the task gave its sink (sink tasks).
    pub(crate) delivered: Option<(Arc<Counter>, Unit)>,
}

/// Moves a stream into a buffer: ends the buffer at the stream's end, aborts
/// it (passing the error on) when the stream fails.
///
/// Chunks go in through the buffer's `Sink` side, which wakes the reader in
/// batches; the buffer is flushed whenever the stream has nothing ready, so
/// the reader never waits for a chunk that is already there.
pub(crate) async fn pump<T>(mut stream: BoxStream<T>, mut out: Writer<T>) -> Result<(), Error> {
    std::future::poll_fn(|cx| {
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
    .await
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

/// What is known of a task once it ended.
struct Ended {
    elapsed: Duration,
}

/// Runs the tasks to completion, or until the first error or cancellation,
/// and reports.
pub(crate) async fn run(
    tasks: Vec<TaskSpec>,
    token: Option<CancellationToken>,
) -> Result<Report, Error> {
    let start = Instant::now();
    let mut metas = Vec::with_capacity(tasks.len());
    let mut set = JoinSet::new();
    let mut ids: Vec<(Id, usize)> = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.into_iter().enumerate() {
        let TaskSpec {
            name,
            kind,
            fut,
            input,
            outputs,
            pulled,
            delivered,
        } = t;
        let span = tracing::debug_span!("pipe.stage", stage = %name);
        let stage = name.clone();
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
                (i, res, Ended { elapsed })
            }
            .instrument(span),
        );
        ids.push((handle.id(), i));
        metas.push((name, kind, input, outputs, pulled, delivered, None::<Ended>));
    }

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
            Ok((i, res, ended)) => {
                metas[i].6 = Some(ended);
                res.err()
            }
            Err(je) => {
                let i = ids.iter().find(|(id, _)| *id == je.id()).map(|(_, i)| *i);
                let name = i.map(|i| metas[i].0.clone());
                if let Some(i) = i {
                    metas[i].6 = Some(Ended {
                        elapsed: start.elapsed(),
                    });
                }
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
    if let Some(e) = first.or(echo) {
        return Err(e);
    }
    let elapsed = start.elapsed();
    let stages = metas
        .into_iter()
        .map(|(name, kind, input, outputs, pulled, delivered, ended)| {
            let task_time = ended.map_or(elapsed, |e| e.elapsed);
            StageReport::measure(name, kind, input, outputs, pulled, delivered, task_time)
        })
        .collect();
    Ok(Report::new(elapsed, stages))
}
