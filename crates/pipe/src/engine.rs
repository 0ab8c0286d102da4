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

use crate::meter::IoTimer;
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
    pub(crate) fn add(&self, units: usize) {
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
///
/// In a one-task pipeline, where stages share a task with no buffer
/// between them, it also turns a panic of the stream into an error named
/// after `panics` (the stage, or the fused stages, it wraps): the task's
/// own name would name every stage of the run.
pub(crate) struct NameErrors<T> {
    inner: BoxStream<T>,
    stage: Option<Arc<str>>,
    panics: Option<Arc<str>>,
    panicked: bool,
}

impl<T> NameErrors<T> {
    pub(crate) fn new(inner: BoxStream<T>, stage: Arc<str>) -> Self {
        NameErrors {
            inner,
            stage: Some(stage),
            panics: None,
            panicked: false,
        }
    }

    /// Also catches the stream's panics, naming them after `name`.
    pub(crate) fn catching(inner: BoxStream<T>, stage: Option<Arc<str>>, name: Arc<str>) -> Self {
        NameErrors {
            inner,
            stage,
            panics: Some(name),
            panicked: false,
        }
    }

    #[inline]
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error>>> {
        let Some(name) = &self.panics else {
            return self.inner.as_mut().poll_next(cx);
        };
        if self.panicked {
            return Poll::Ready(None);
        }
        let inner = &mut self.inner;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            inner.as_mut().poll_next(cx)
        })) {
            Ok(p) => p,
            Err(payload) => {
                self.panicked = true;
                Poll::Ready(Some(Err(
                    Error::panicked(panic_message(payload)).with_stage(name.clone())
                )))
            }
        }
    }
}

impl<T> Stream for NameErrors<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match ready!(self.poll_inner(cx)) {
            Some(Err(e)) => match &self.stage {
                Some(stage) => Poll::Ready(Some(Err(e.with_stage(stage.clone())))),
                None => Poll::Ready(Some(Err(e))),
            },
            other => Poll::Ready(other),
        }
    }
}

pin_project_lite::pin_project! {
    /// A pipeline's source once its name is known: counts what it yields
    /// (what the run pulled), times its `Pending`s as waiting on I/O, names
    /// its errors after its stage and, in a one-task pipeline (`catching`),
    /// turns its panics into errors named after it. The work of `Counted`,
    /// `IoWait` and `NameErrors` in one concrete wrapper with the source
    /// inline, so that a stage polling it once per item pays one dynamic
    /// call rather than four.
    pub(crate) struct SourceEdge<S, T> {
        #[pin]
        inner: S,
        counter: Arc<Counter>,
        limit: Limit<T>,
        io: IoTimer,
        stage: Arc<str>,
        catching: bool,
        panicked: bool,
    }
}

impl<S, T> Stream for SourceEdge<S, T>
where
    S: Stream<Item = Result<T, Error>>,
{
    type Item = Result<T, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let p = if *this.catching {
            if *this.panicked {
                return Poll::Ready(None);
            }
            let inner = this.inner;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll_next(cx))) {
                Ok(p) => p,
                Err(payload) => {
                    *this.panicked = true;
                    let e = Error::panicked(panic_message(payload)).with_stage(this.stage.clone());
                    return Poll::Ready(Some(Err(e)));
                }
            }
        } else {
            this.inner.poll_next(cx)
        };
        this.io.note(&p);
        match p {
            Poll::Ready(Some(Ok(chunk))) => {
                this.counter.add(this.limit.measure(&chunk));
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.with_stage(this.stage.clone())))),
            other => other,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// A pipeline's source before its stage's name is final (it may still be
/// [`named`](crate::Pipeline::named)): sealed into a [`SourceEdge`] when the
/// next stage is added or its task is closed.
pub(crate) trait UnsealedSource<T>: Send {
    /// The source as a stream whose errors are named `stage`; with
    /// `catching`, its panics too.
    fn seal(self: Box<Self>, stage: Arc<str>, catching: bool) -> BoxStream<T>;
}

/// A source with its meters, not sealed yet.
pub(crate) struct Unsealed<S, T> {
    pub(crate) source: S,
    pub(crate) counter: Arc<Counter>,
    pub(crate) limit: Limit<T>,
    pub(crate) io: Arc<crate::meter::IoMeter>,
}

impl<S, T> UnsealedSource<T> for Unsealed<S, T>
where
    S: Stream<Item = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    fn seal(self: Box<Self>, stage: Arc<str>, catching: bool) -> BoxStream<T> {
        let Unsealed {
            source,
            counter,
            limit,
            io,
        } = *self;
        Box::pin(SourceEdge {
            inner: source,
            counter,
            limit,
            io: IoTimer::new(io),
            stage,
            catching,
            panicked: false,
        })
    }
}

/// One task of a pipeline, before it is spawned.
pub(crate) struct TaskSpec {
    /// The meters of the task's last stage (the stage that names the task
    /// in a multi-stage task of cheap transforms: `source+parse`).
    pub(crate) meters: StageMeters,
    /// The stages fused before it into the same task with no buffer
    /// between them (a one-task pipeline, see `Pipeline::in_one_task`),
    /// first to last; they share the task's life.
    pub(crate) fused: Vec<StageMeters>,
    pub(crate) fut: BoxFut,
}

impl TaskSpec {
    /// A task of one stage (and the cheap transforms fused into it).
    pub(crate) fn new(meters: StageMeters, fut: BoxFut) -> Self {
        TaskSpec {
            meters,
            fused: Vec::new(),
            fut,
        }
    }

    /// A task whose last stage is `meters`, after the stages `fused`, all
    /// of them fused together: they share its life.
    pub(crate) fn fused(mut meters: StageMeters, mut fused: Vec<StageMeters>, fut: BoxFut) -> Self {
        if !fused.is_empty() {
            meters.fused = true;
            for m in &mut fused {
                m.life = meters.life.clone();
                m.fused = true;
            }
        }
        TaskSpec { meters, fused, fut }
    }

    /// Every stage of the task, first to last.
    pub(crate) fn stages(&self) -> impl Iterator<Item = &StageMeters> {
        self.fused.iter().chain(std::iter::once(&self.meters))
    }
}

/// The most chunks a fused sink's driver moves in one poll before it lets
/// the caller's other futures (the run's watchers) run: Tokio's own budget.
const DRIVE_BUDGET: u32 = 128;

/// Moves a stream into a sink fused into the same task (a one-task
/// pipeline's sink). While the sink takes chunks at once they go straight
/// to it (as `StreamExt::forward` does); while it waits, they wait in a
/// queue of at most the buffer's high mark (`limit`), so that the stream's
/// calls keep going while the sink waits, as with a buffer between two
/// tasks, but with no task hop and no synchronisation. Flushes the sink
/// whenever the stream has nothing ready and nothing is queued, closes it
/// at the end; on an error the sink is dropped without `close`.
///
/// It counts what it gives the sink into `delivered` and, when given
/// `received`, what it takes from the stream (the last fused stage's
/// output, which then needs no counting wrapper of its own). Both are
/// counted in the driver's own fields and published once per poll, not per
/// chunk: a poll moves at most [`DRIVE_BUDGET`] chunks, so a watcher sees
/// them at most that late.
///
/// A panic in the sink (or in the driver) unwinds out of this future: the
/// task around it turns it into an error named after the task, which is
/// named after the sink (a panic of the stream was caught inside it, see
/// `SourceEdge` and `NameErrors::catching`).
pub(crate) fn drive<T, K>(
    stream: BoxStream<T>,
    sink: K,
    delivered: Arc<Counter>,
    received: Option<Arc<Counter>>,
    limit: Limit<T>,
    queue_stats: Arc<crate::report::QueueStats>,
) -> Drive<T, K>
where
    K: Sink<T, Error = Error> + Unpin,
{
    let high = limit.high_water_mark().max(1);
    queue_stats.high.store(high, Relaxed);
    Drive {
        stream,
        sink,
        delivered,
        received,
        sent: Tally::default(),
        got: Tally::default(),
        high,
        limit,
        queue: std::collections::VecDeque::new(),
        held: 0,
        peak: 0,
        stats: queue_stats,
        sink_ready: false,
        unflushed: false,
        done: false,
    }
}

// Nothing in it is pinned: the stream is boxed, the sink `Unpin`, and the
// queued chunks are moved in and out by value.
impl<T, K: Unpin> Unpin for Drive<T, K> {}

impl<T, K: Sink<T, Error = Error> + Unpin> Future for Drive<T, K> {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let p = this.step(cx);
        this.publish();
        p
    }
}

/// Chunks and amount counted by one task before it publishes them to a
/// [`Counter`].
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    chunks: u64,
    units: u64,
}

impl Tally {
    #[inline]
    fn add(&mut self, units: usize) {
        self.chunks += 1;
        self.units += units as u64;
    }

    /// Publishes the totals to `counter`, which only this task writes.
    #[inline]
    fn publish(&self, counter: &Counter) {
        counter.chunks.store(self.chunks, Relaxed);
        counter.units.store(self.units, Relaxed);
    }
}

/// The future of [`drive`] (`Unpin`: it holds its stream boxed).
pub(crate) struct Drive<T, K> {
    stream: BoxStream<T>,
    sink: K,
    delivered: Arc<Counter>,
    received: Option<Arc<Counter>>,
    /// What the sink was given, and what the stream gave, so far.
    sent: Tally,
    got: Tally,
    limit: Limit<T>,
    high: usize,
    /// Chunks the sink has not taken yet, with their amounts.
    queue: std::collections::VecDeque<(T, usize)>,
    held: usize,
    peak: usize,
    stats: Arc<crate::report::QueueStats>,
    /// The sink answered `poll_ready` with room and was given nothing since.
    sink_ready: bool,
    unflushed: bool,
    done: bool,
}

impl<T, K: Sink<T, Error = Error> + Unpin> Drive<T, K> {
    /// Asks the sink for room (once per chunk it is given).
    #[inline]
    fn sink_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !self.sink_ready {
            ready!(Pin::new(&mut self.sink).poll_ready(cx))?;
            self.sink_ready = true;
        }
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn send(&mut self, chunk: T, n: usize) -> Result<(), Error> {
        self.sink_ready = false;
        self.sent.add(n);
        self.unflushed = true;
        Pin::new(&mut self.sink).start_send(chunk)
    }

    /// Publishes the counts of this poll.
    #[inline]
    fn publish(&self) {
        self.sent.publish(&self.delivered);
        if let Some(r) = &self.received {
            self.got.publish(r);
        }
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut budget = DRIVE_BUDGET;
        loop {
            // The sink side: hand over what is queued while it takes it.
            let mut sink_waits = false;
            while !self.queue.is_empty() {
                match self.sink_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        if let Some((chunk, n)) = self.queue.pop_front() {
                            self.held -= n;
                            self.stats.held.store(self.held, Relaxed);
                            self.send(chunk, n)?;
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        sink_waits = true;
                        break;
                    }
                }
            }
            if self.done {
                if sink_waits {
                    return Poll::Pending;
                }
                return Pin::new(&mut self.sink).poll_close(cx);
            }
            if self.held >= self.high {
                // Full, and the sink registered its wake-up.
                return Poll::Pending;
            }
            // Nothing queued: ask the sink first, so that a chunk that is
            // ready goes straight to it.
            if !sink_waits {
                match self.sink_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => sink_waits = true,
                }
            }
            // The stream side: take what is ready while there is room.
            match self.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let n = self.limit.measure(&chunk);
                    self.got.add(n);
                    if sink_waits {
                        self.held += n;
                        if self.held > self.peak {
                            self.peak = self.held;
                            self.stats.peak.store(self.peak, Relaxed);
                        }
                        if self.held >= self.high {
                            self.stats
                                .full
                                .store(self.stats.full.load(Relaxed) + 1, Relaxed);
                        }
                        self.stats.held.store(self.held, Relaxed);
                        self.queue.push_back((chunk, n));
                    } else {
                        self.send(chunk, n)?;
                    }
                    budget -= 1;
                    if budget == 0 {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => self.done = true,
                Poll::Pending => {
                    if !sink_waits && self.unflushed {
                        match Pin::new(&mut self.sink).poll_flush(cx) {
                            Poll::Ready(Ok(())) => self.unflushed = false,
                            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                            Poll::Pending => {}
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
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
    fused: Vec<StageMeters>,
    id: Option<Id>,
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
    let mut publisher =
        crate::metrics::Publisher::new(tasks.iter().flat_map(TaskSpec::stages), &labels);
    let mut tasks = tasks;
    let lone = if tasks.len() == 1 { tasks.pop() } else { None };
    let (joined, slots) = if let Some(task) = lone {
        // One task (a one-task pipeline): polled here, in the caller's
        // task, as a plain futures chain would be; nothing is spawned.
        let mut slots = vec![Slot {
            meters: task.meters,
            fused: task.fused,
            id: None,
            lifetime: None,
        }];
        let here = run_here(task.fut, &mut slots[0], token, start);
        #[cfg(feature = "metrics")]
        let joined = publisher.while_running(here).await;
        #[cfg(not(feature = "metrics"))]
        let joined = here.await;
        (joined, slots)
    } else {
        let (set, mut slots) = spawn_all(tasks);
        #[cfg(feature = "metrics")]
        let joined = publisher
            .while_running(join_all(set, &mut slots, token, start))
            .await;
        #[cfg(not(feature = "metrics"))]
        let joined = join_all(set, &mut slots, token, start).await;
        (joined, slots)
    };
    #[cfg(feature = "metrics")]
    publisher.finish();
    joined?;
    let elapsed = start.elapsed();
    let mut stages = Vec::with_capacity(slots.len());
    for s in slots {
        let lifetime = s.lifetime.unwrap_or(elapsed);
        stages.extend(s.fused.into_iter().map(|m| m.report(lifetime)));
        stages.push(s.meters.report(lifetime));
    }
    Ok(Report::new(elapsed, stages))
}

/// Runs a lone task in the caller's task: its errors are named after it
/// as a spawned task's are, a panic becomes an error named after it, and
/// the token stops it (dropping it, and with it every call in flight). Its
/// life is tracked here (start at the first poll, end however it ends), as
/// `meter::track` does for a spawned task.
///
/// It is polled at every round of its calls (every few items), so all of
/// this is one poll function around the task's future rather than a stack
/// of futures: the stage's tracing span is entered at each poll only when
/// it is enabled, the panic guard is one `catch_unwind`, and the token's
/// future is polled only when there is a token.
async fn run_here(
    mut fut: BoxFut,
    slot: &mut Slot,
    token: Option<CancellationToken>,
    start: Instant,
) -> Result<(), Error> {
    /// Marks the end on completion, on a drop and on a panic alike.
    struct EndGuard(Arc<crate::meter::Life>);
    impl Drop for EndGuard {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    let stage = slot.meters.name.clone();
    let span = tracing::debug_span!("pipe.stage", stage = %stage);
    let traced = !span.is_disabled();
    let mut cancelled = token.as_ref().map(|t| Box::pin(t.cancelled()));
    let mut started = false;
    let mut end = None;
    let res = std::future::poll_fn(|cx| {
        if let Some(c) = cancelled.as_mut()
            && c.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(Error::cancelled()));
        }
        let _entered = traced.then(|| span.enter());
        if !started {
            started = true;
            slot.meters.life.start();
            end = Some(EndGuard(slot.meters.life.clone()));
            tracing::debug!("stage started (in the caller's task)");
        }
        let p = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fut.as_mut().poll(cx)
        })) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(res)) => res.map_err(|e| e.with_stage(stage.clone())),
            Err(payload) => Err(Error::panicked(panic_message(payload)).with_stage(stage.clone())),
        };
        tracing::debug!(
            elapsed.ms = start.elapsed().as_millis() as u64,
            ok = p.is_ok(),
            "stage ended"
        );
        Poll::Ready(p)
    })
    .await;
    // The task's future goes first (its calls with it), then its life ends.
    drop(fut);
    drop(end);
    slot.lifetime = Some(start.elapsed());
    res
}

/// Spawns every stage's task, each in a tracing span of its own, timing its
/// life; a task's output carries its index into the slots.
fn spawn_all(tasks: Vec<TaskSpec>) -> (Tasks, Vec<Slot>) {
    let mut set = JoinSet::new();
    let mut slots = Vec::with_capacity(tasks.len());
    for (i, TaskSpec { meters, fused, fut }) in tasks.into_iter().enumerate() {
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
            fused,
            id: Some(handle.id()),
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
                let slot = slots.iter_mut().find(|s| s.id == Some(je.id()));
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
