use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use futures_core::Stream;
use futures_sink::Sink;
use tokio_util::sync::CancellationToken;
use weir_core::transform::{Through, map};
use weir_core::{BufferConfig, DEFAULT_BYTES, DEFAULT_ITEMS, Error, Limit, Reader, Transform};

use crate::engine::{
    self, BoxStream, Counted, Counter, NameErrors, TaskSpec, Unsealed, UnsealedSource,
};
use crate::meter::{IoMeter, IoWait, IoWaitSink};
use crate::monitor::Monitor;
use crate::report::{Report, StageKind, StageMeters};
use crate::throttle::Throttle;
use crate::watch::{OnStall, Watch};

mod ops;

/// Buffer settings for the joins a pipeline creates.
#[derive(Debug, Clone, Copy)]
struct Marks {
    bytes: usize,
    items: usize,
    low: Option<f64>,
}

/// A pipeline under construction: a source, named stages, and (with
/// [`into`](Pipeline::into)) a sink. `T` is the chunk type at its current end.
///
/// # Tasks and buffers
/// The source, every *heavy* transform (see [`Transform::heavy`]), every
/// async stage ([`through_stream`](Pipeline::through_stream),
/// [`throttle`](Pipeline::throttle)) and the sink each run on a task of their
/// own, joined by bounded buffers, so that a CPU-bound stage runs on another
/// core than the I/O around it. Cheap transforms are fused into the task
/// before them: a task hop costs more than a cheap map. Memory is bounded by
/// the sum of the buffers (default 64 KiB for byte chunks, 16 items for
/// objects; see [`high_water_mark`](Pipeline::high_water_mark)), whatever the input size.
///
/// # Errors and cancellation
/// The first error in any stage stops every stage: the stages after it see
/// the error, the stages before it stop writing, the sink is dropped without
/// being closed (a file sink in atomic mode removes its temporary file), and
/// [`Run::run`] returns that error, naming its stage: the stage that failed
/// (the source, a transform, a stream stage, the sink), also when it shares
/// a task with others (an error of the source in the task `read+parse` is
/// named `read`). A panic in a stage is
/// such an error ([`Error::is_panic`]). Dropping the `run()` future cancels
/// every task; a [`CancellationToken`] stops a run from outside (Node's
/// `AbortSignal`). When `run()` returns, every task of the run has finished.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use weir::pipe::Pipeline;
/// use weir::transform::map;
/// use weir::{readable, writable::ChunkWriter};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter(["hello ", "pipeline"].map(|s: &'static str| Bytes::from(s)));
/// let shout = map(|c: Bytes| Bytes::from(c.to_ascii_uppercase()));
/// let report = Pipeline::from(src)
///     .through("upper", shout)
///     .into(ChunkWriter::new(tokio::io::sink()))
///     .run()
///     .await?;
/// assert_eq!(report.bytes_in, 14);
/// assert_eq!(report.bytes_out, 14);
/// println!("{report}");
/// # Ok(()) }
/// ```
#[must_use = "a pipeline does nothing until it is given a sink and run"]
pub struct Pipeline<T> {
    base: Base,
    /// The stream at the end of the current task (the source and the
    /// transforms fused after it so far).
    head: Head<T>,
    /// While the stage added last is a source or a stream stage: its name,
    /// given to the unnamed errors of `head` once the next stage is added or
    /// the task is closed (so that [`named`](Pipeline::named) still renames
    /// it). Transforms name their own errors.
    head_stage: Option<Arc<str>>,
}

/// The stream at the end of a pipeline's current task.
enum Head<T> {
    /// The source alone, its stage's name not final yet: sealed into one
    /// concrete wrapper once it is (see `engine::SourceEdge`).
    Source(Box<dyn UnsealedSource<T>>),
    /// Any other stream.
    Stream(BoxStream<T>),
}

/// Everything of a pipeline under construction but its current stream.
struct Base {
    tasks: Vec<TaskSpec>,
    /// The stages fused into the current task.
    names: Vec<Arc<str>>,
    kind: StageKind,
    input: Option<weir_core::StatsHandle>,
    pulled: Option<(Arc<Counter>, weir_core::Unit)>,
    marks: Marks,
    token: Option<CancellationToken>,
    monitor: Monitor,
    /// The in-flight gauge of the current task's async operator, if any.
    in_flight: Option<Arc<AtomicUsize>>,
    /// The worker meters of the current task's parallel transform, if any.
    workers: Option<weir_core::WorkerBusy>,
    /// The I/O wait meter of the current task, if any (see `StageMeters`).
    io: Option<(Arc<IoMeter>, bool)>,
    /// What watches the run (timeline, stall watchdog).
    watch: Watch,
    /// Whether the stages added from here on share the current task (see
    /// [`Pipeline::in_one_task`]).
    one_task: bool,
    /// The stages already fused into the current task before its current
    /// one (one-task mode), first to last.
    parts: Vec<StageMeters>,
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("tasks", &self.base.tasks.len())
            .field("current", &self.base.names)
            .finish()
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// Starts a pipeline at `source`, a readable stream. Its stage is named
    /// `"source"` (rename it with [`named`](Pipeline::named)).
    pub fn from<S>(source: S) -> Self
    where
        S: Stream<Item = Result<T, Error>> + Send + 'static,
    {
        let counter = Arc::new(Counter::default());
        let limit = Limit::<T>::auto(DEFAULT_BYTES, DEFAULT_ITEMS);
        let io = Arc::new(IoMeter::default());
        let unsealed = Unsealed {
            source,
            counter: counter.clone(),
            limit,
            io: io.clone(),
        };
        let monitor = Monitor::new(counter.clone(), limit.unit());
        Pipeline {
            base: Base {
                tasks: Vec::new(),
                names: vec![Arc::from("source")],
                kind: StageKind::Source,
                input: None,
                pulled: Some((counter, limit.unit())),
                marks: Marks {
                    bytes: DEFAULT_BYTES,
                    items: DEFAULT_ITEMS,
                    low: None,
                },
                token: None,
                monitor,
                in_flight: None,
                workers: None,
                io: Some((io, false)),
                watch: Watch::default(),
                one_task: false,
                parts: Vec::new(),
            },
            head: Head::Source(Box::new(unsealed)),
            head_stage: Some(Arc::from("source")),
        }
    }

    /// The current stream, its own errors named after its stage (see
    /// `head_stage`): call before another stage wraps it.
    fn sealed_head(head: Head<T>, stage: Option<Arc<str>>) -> BoxStream<T> {
        match (head, stage) {
            (Head::Source(source), stage) => {
                source.seal(stage.unwrap_or_else(|| Arc::from("source")), false)
            }
            (Head::Stream(head), Some(stage)) => Box::pin(NameErrors::new(head, stage)),
            (Head::Stream(head), None) => head,
        }
    }

    /// Renames the stage added last (the source, right after
    /// [`from`](Pipeline::from)).
    pub fn named(mut self, name: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        if let Some(stage) = self.head_stage.as_mut() {
            *stage = name.clone();
        }
        if let Some(last) = self.base.names.last_mut() {
            *last = name;
        }
        self
    }

    /// Sets the high marks of the buffers created from here on: `bytes` for
    /// buffers of byte chunks, `items` for buffers of objects.
    pub fn high_water_mark(mut self, bytes: usize, items: usize) -> Self {
        self.base.marks.bytes = bytes.max(1);
        self.base.marks.items = items.max(1);
        self
    }

    /// Sets the low marks of the buffers created from here on, as a fraction
    /// of their high marks (default 0.5; 0 is Node's drain-when-empty).
    pub fn low_fraction(mut self, fraction: f64) -> Self {
        self.base.marks.low = Some(fraction.clamp(0.0, 1.0));
        self
    }

    /// Stops the run when `token` is cancelled; `run()` then returns an error
    /// for which [`Error::is_cancelled`] is true.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.base.token = Some(token);
        self
    }

    /// Records the run's timeline, a sample every `interval` (100 ms is a
    /// good start; see [`Run::timeline`]).
    pub fn timeline(mut self, interval: std::time::Duration) -> Self {
        self.base.watch.timeline = Some(interval);
        self
    }

    /// Fuses the stages added from here on into the current task, with no
    /// buffer between them: the async operators
    /// ([`map_async`](Pipeline::map_async),
    /// [`map_async_unordered`](Pipeline::map_async_unordered),
    /// [`filter_async`](Pipeline::filter_async)), [`batch`](Pipeline::batch)
    /// and the sink ([`into`](Pipeline::into)). When the whole pipeline is
    /// then one task, [`Run::run`] polls it **in the caller's task**, as a
    /// plain `futures` chain (`stream.map(f).buffered(n).try_for_each(..)`)
    /// is polled, and spawns nothing.
    ///
    /// This is for pipelines of objects whose stages wait rather than
    /// compute (a database or RPC call per item): there a task per stage
    /// costs more than the stages themselves (a buffer hand-over and a task
    /// wake-up per batch, and on a multi-thread runtime every yield of a
    /// call goes through the scheduler; see docs/benchmarks.md). What it
    /// gives up: the stages share one core, so CPU-heavy stages no longer
    /// run in parallel (a heavy transform added with
    /// [`through`](Pipeline::through) still starts a task of its own, as do
    /// [`through_stream`](Pipeline::through_stream),
    /// [`throttle`](Pipeline::throttle) and [`into_tee`](Pipeline::into_tee);
    /// the run is then not one task and is spawned as usual).
    ///
    /// What stays: at most `concurrency` calls in flight, output in input
    /// order for `map_async`, errors and panics named after the stage that
    /// failed, and a cancelled or dropped run drops every call in flight. A
    /// fused sink is fed through a queue of the buffer's high mark (see
    /// [`high_water_mark`](Pipeline::high_water_mark)), so calls go on while
    /// the sink waits. The report keeps one entry per stage, with its own
    /// counts and in-flight peak, but the stages' time is not split
    /// between them (see [`StageReport::fused`](crate::StageReport)). The
    /// stall watchdog polls in the same task, so it cannot give up on a
    /// stage stuck in synchronous code (it can on one that waits).
    ///
    /// # Examples
    /// ```
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let report = Pipeline::from(readable::from_iter(0..1000u64))
    ///     .in_one_task()
    ///     .map_async("lookup", 4, |id| async move {
    ///         tokio::task::yield_now().await; // a call that waits
    ///         Ok::<_, weir::Error>(id * 2)
    ///     })?
    ///     .into(writable::from_fn(|_n: u64| async { Ok(()) }))
    ///     .run()
    ///     .await?;
    /// let lookup = report.stage("lookup").expect("one entry per stage");
    /// assert!(lookup.fused && lookup.in_flight_peak <= 4);
    /// assert_eq!(lookup.chunks_out, 1000);
    /// # Ok(()) }
    /// ```
    pub fn in_one_task(mut self) -> Self {
        self.base.one_task = true;
        self
    }

    /// Arms the stall watchdog (see [`Run::stall_timeout`]).
    pub fn stall_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.base.watch.stall = Some(timeout);
        self
    }

    /// What the stall watchdog does (see [`Run::on_stall`]).
    pub fn on_stall(mut self, action: OnStall) -> Self {
        self.base.watch.on_stall = action;
        self
    }

    /// Adds a transform named `name`: on a task of its own if it is
    /// [heavy](Transform::heavy), else fused into the current task.
    pub fn through<X>(self, name: impl Into<Arc<str>>, transform: X) -> Pipeline<X::Out>
    where
        X: Transform<In = T> + Send + 'static,
        X::Out: Send + 'static,
    {
        if transform.heavy() {
            self.spawn(name, transform)
        } else {
            self.fuse(name, transform)
        }
    }

    /// Adds a transform fused into the current task, whatever it says of
    /// itself.
    pub fn fuse<X>(mut self, name: impl Into<Arc<str>>, transform: X) -> Pipeline<X::Out>
    where
        X: Transform<In = T> + Send + 'static,
        X::Out: Send + 'static,
    {
        let name = name.into();
        if let Some(w) = transform.worker_busy() {
            self.base.workers.get_or_insert(w);
        }
        let upstream = Self::sealed_head(self.head, self.head_stage);
        let head: BoxStream<X::Out> =
            Box::pin(Through::new(upstream, transform).with_name(name.clone()));
        self.base.names.push(name);
        Pipeline {
            base: self.base,
            head: Head::Stream(head),
            head_stage: None,
        }
    }

    /// Adds a transform on a task of its own, whatever it says of itself.
    pub fn spawn<X>(self, name: impl Into<Arc<str>>, transform: X) -> Pipeline<X::Out>
    where
        X: Transform<In = T> + Send + 'static,
        X::Out: Send + 'static,
    {
        let name = name.into();
        let workers = transform.worker_busy();
        let (mut base, reader) = self.close_segment();
        base.names = vec![name.clone()];
        base.workers = workers;
        Pipeline {
            base,
            head: Head::Stream(Box::pin(Through::new(reader, transform).with_name(name))),
            head_stage: None,
        }
    }

    /// Adds a cheap map, fused into the current task.
    pub fn map<U, F>(self, name: impl Into<Arc<str>>, f: F) -> Pipeline<U>
    where
        F: FnMut(T) -> U + Send + 'static,
        U: Send + 'static,
    {
        self.fuse(name, map(f))
    }

    /// Adds an async stage on a task of its own: `stage` turns the stream of
    /// chunks so far into a new stream (any `Stream` combinator, a
    /// rate limiter, a network round trip per chunk…).
    pub fn through_stream<U, S, F>(self, name: impl Into<Arc<str>>, stage: F) -> Pipeline<U>
    where
        F: FnOnce(Reader<T>) -> S,
        S: Stream<Item = Result<U, Error>> + Send + 'static,
        U: Send + 'static,
    {
        let name = name.into();
        let (mut base, reader) = self.close_segment();
        base.names = vec![name.clone()];
        let io = Arc::new(IoMeter::default());
        base.io = Some((io.clone(), true));
        Pipeline {
            base,
            head: Head::Stream(Box::pin(IoWait::new(
                Box::pin(stage(reader)) as BoxStream<U>,
                io,
            ))),
            head_stage: Some(name),
        }
    }

    /// Adds a stage named `"throttle"` that lets at most `per_second` bytes
    /// (or items, for objects) through each second: a slow consumer on
    /// demand.
    pub fn throttle(self, per_second: u64) -> Pipeline<T> {
        self.through_stream("throttle", move |r| Throttle::new(r, per_second))
    }

    /// Ends the pipeline at `sink`, on a task of its own. Its stage is named
    /// `"sink"`; use [`into_named`](Pipeline::into_named) to name it.
    pub fn into<K>(self, sink: K) -> Run
    where
        K: Sink<T, Error = Error> + Send + 'static,
    {
        self.into_named("sink", sink)
    }

    /// Ends the pipeline at `sink`, a stage named `name`.
    pub fn into_named<K>(self, name: impl Into<Arc<str>>, sink: K) -> Run
    where
        K: Sink<T, Error = Error> + Send + 'static,
    {
        if self.base.one_task {
            return self.into_fused(name.into(), sink);
        }
        let (mut next, reader) = self.close_segment();
        next.tasks.push(sink_task(name.into(), reader, sink));
        Run {
            tasks: next.tasks,
            token: next.token,
            monitor: next.monitor,
            watch: next.watch,
            #[cfg(feature = "metrics")]
            metrics_labels: Vec::new(),
        }
    }

    /// Ends the pipeline at several sinks, each on a task of its own and each
    /// given every chunk (`tee`), paced by the slowest; an error in any of
    /// them ends the run. Sinks are named `"sink 1"`, `"sink 2"`, ….
    pub fn into_tee<K>(self, sinks: Vec<K>) -> Run
    where
        K: Sink<T, Error = Error> + Send + 'static,
        T: Clone,
    {
        let Pipeline {
            base:
                Base {
                    mut tasks,
                    names,
                    kind,
                    input,
                    pulled,
                    marks,
                    token,
                    mut monitor,
                    in_flight,
                    workers,
                    io,
                    watch,
                    one_task: _,
                    parts,
                },
            head,
            head_stage,
        } = self;
        let head = Self::sealed_head(head, head_stage);
        let name: Arc<str> = Arc::from(names.join("+"));
        let mut writers = Vec::new();
        let mut readers = Vec::new();
        for i in 0..sinks.len() {
            let (w, r) = Self::buffer(&marks, format!("{name} -> sink {}", i + 1));
            monitor.add(r.stats_handle());
            writers.push(w);
            readers.push(r);
        }
        let mut meters = StageMeters::new(name, kind);
        meters.input = input;
        meters.outputs = writers.iter().map(|w| w.stats_handle()).collect();
        meters.pulled = pulled;
        meters.in_flight = in_flight;
        meters.workers = workers;
        if let Some((io, includes_input)) = io {
            meters.io = Some(io);
            meters.io_includes_input = includes_input;
        }
        tasks.push(TaskSpec::fused(
            meters,
            parts,
            Box::pin(engine::pump_all(head, writers)),
        ));
        for (i, (sink, reader)) in sinks.into_iter().zip(readers).enumerate() {
            tasks.push(sink_task(
                Arc::from(format!("sink {}", i + 1)),
                reader,
                sink,
            ));
        }
        Run {
            tasks,
            token,
            monitor,
            watch,
            #[cfg(feature = "metrics")]
            metrics_labels: Vec::new(),
        }
    }

    fn buffer(marks: &Marks, name: String) -> (weir_core::Writer<T>, Reader<T>) {
        let limit = Limit::<T>::auto(marks.bytes, marks.items);
        let mut cfg = BufferConfig::new(limit);
        cfg.name(name);
        if let Some(f) = marks.low {
            cfg.low_water_mark((limit.high_water_mark() as f64 * f) as usize);
        }
        cfg.build()
    }

    /// Ends the current task: its stream is pumped into a new buffer, whose
    /// reader starts the next task.
    fn close_segment(self) -> (Base, Reader<T>) {
        let Pipeline {
            mut base,
            head,
            head_stage,
        } = self;
        let head = Self::sealed_head(head, head_stage);
        let name: Arc<str> = Arc::from(base.names.join("+"));
        let (writer, reader) = Self::buffer(&base.marks, name.to_string());
        base.monitor.add(reader.stats_handle());
        let in_flight = base.in_flight.take();
        let output = writer.stats_handle();
        let fut: engine::BoxFut = if in_flight.is_some() {
            Box::pin(ops::pump_calls(head, writer))
        } else {
            Box::pin(engine::pump(head, writer))
        };
        let mut meters = StageMeters::new(name, base.kind);
        meters.input = base.input.take();
        meters.outputs = vec![output];
        meters.pulled = base.pulled.take();
        meters.in_flight = in_flight;
        meters.workers = base.workers.take();
        if let Some((io, includes_input)) = base.io.take() {
            meters.io = Some(io);
            meters.io_includes_input = includes_input;
        }
        let parts = std::mem::take(&mut base.parts);
        base.tasks.push(TaskSpec::fused(meters, parts, fut));
        base.names.clear();
        base.kind = StageKind::Transform;
        base.input = Some(reader.stats_handle());
        (base, reader)
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// One-task mode: ends the current stage without ending its task. Its
    /// meters join the task's fused stages, counting what it hands on; the
    /// next stage counts what it takes from the same counter. Its stream's
    /// errors are named after it and its panics become errors named after
    /// it (on a task of its own, the task's end would name a panic).
    ///
    /// With `counted_after`, the stage that takes this stream counts what
    /// it takes (a fused sink's driver does, in its own fields): a counter
    /// this part needs is then returned rather than wrapped around the
    /// stream.
    fn close_part(self, counted_after: bool) -> (Base, BoxStream<T>, Option<Arc<Counter>>) {
        let Pipeline {
            mut base,
            head,
            head_stage,
        } = self;
        let name: Arc<str> = Arc::from(base.names.join("+"));
        let alone = base.names.len() == 1;
        let head: BoxStream<T> = match (head, head_stage) {
            // The source alone: one wrapper counts, times, names and
            // catches.
            (Head::Source(source), stage) if alone => {
                source.seal(stage.unwrap_or_else(|| name.clone()), true)
            }
            (Head::Stream(head), Some(stage)) if alone => {
                Box::pin(NameErrors::catching(head, Some(stage), name.clone()))
            }
            // An operator alone: it names its errors and catches its
            // calls' panics itself.
            (Head::Stream(head), None) if alone => head,
            (head, head_stage) => {
                let head = Self::sealed_head(head, head_stage);
                Box::pin(NameErrors::catching(head, None, name.clone()))
            }
        };
        let limit = Limit::<T>::auto(1, 1);
        // A source alone hands on what it pulled: its counter serves both.
        let (counter, head, count_after) = match &base.pulled {
            Some((c, _)) if alone && base.kind == StageKind::Source => (c.clone(), head, None),
            _ if counted_after => {
                let c = Arc::new(Counter::default());
                (c.clone(), head, Some(c))
            }
            _ => {
                let c = Arc::new(Counter::default());
                let counted: BoxStream<T> = Box::pin(Counted::new(head, c.clone(), limit));
                (c, counted, None)
            }
        };
        let mut meters = StageMeters::new(name, base.kind);
        meters.input = base.input.take();
        meters.pulled = base.pulled.take();
        meters.delivered = Some((counter.clone(), limit.unit()));
        meters.in_flight = base.in_flight.take();
        meters.workers = base.workers.take();
        if let Some((io, includes_input)) = base.io.take() {
            meters.io = Some(io);
            meters.io_includes_input = includes_input;
        }
        meters.fused = true;
        base.parts.push(meters);
        base.names.clear();
        base.kind = StageKind::Transform;
        base.pulled = Some((counter, limit.unit()));
        (base, head, count_after)
    }

    /// One-task mode: the sink fused into the current task.
    fn into_fused<K>(self, name: Arc<str>, sink: K) -> Run
    where
        K: Sink<T, Error = Error> + Send + 'static,
    {
        let marks = self.base.marks;
        let (mut base, head, received) = self.close_part(true);
        let queue = Arc::new(crate::report::QueueStats::default());
        if let Some(last) = base.parts.last_mut() {
            last.queue = Some(queue.clone());
        }
        let limit = Limit::<T>::auto(marks.bytes, marks.items);
        let unit = Limit::<T>::auto(1, 1).unit();
        let delivered = Arc::new(Counter::default());
        let io = Arc::new(IoMeter::default());
        let mut meters = StageMeters::new(name.clone(), StageKind::Sink);
        meters.pulled = base.pulled.take();
        meters.delivered = Some((delivered.clone(), unit));
        meters.io = Some(io.clone());
        let sink = IoWaitSink::new(sink, io);
        let fut: engine::BoxFut =
            Box::pin(engine::drive(head, sink, delivered, received, limit, queue));
        let parts = std::mem::take(&mut base.parts);
        base.tasks.push(TaskSpec::fused(meters, parts, fut));
        Run {
            tasks: base.tasks,
            token: base.token,
            monitor: base.monitor,
            watch: base.watch,
            #[cfg(feature = "metrics")]
            metrics_labels: Vec::new(),
        }
    }
}

/// The task that moves `reader` into `sink`, counting what it delivers.
fn sink_task<T, K>(name: Arc<str>, reader: Reader<T>, sink: K) -> TaskSpec
where
    T: Send + 'static,
    K: Sink<T, Error = Error> + Send + 'static,
{
    let limit = Limit::<T>::auto(1, 1);
    let counter = Arc::new(Counter::default());
    let io = Arc::new(IoMeter::default());
    let mut meters = StageMeters::new(name, StageKind::Sink);
    meters.input = Some(reader.stats_handle());
    meters.delivered = Some((counter.clone(), limit.unit()));
    meters.io = Some(io.clone());
    let sink = IoWaitSink::new(sink, io);
    TaskSpec::new(
        meters,
        Box::pin(engine::drain(reader, sink, counter, limit)),
    )
}

/// A complete pipeline, ready to [`run`](Run::run).
#[must_use = "a pipeline does nothing until it is run"]
pub struct Run {
    tasks: Vec<TaskSpec>,
    token: Option<CancellationToken>,
    monitor: Monitor,
    watch: Watch,
    #[cfg(feature = "metrics")]
    metrics_labels: Vec<metrics::Label>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .tasks
            .iter()
            .flat_map(TaskSpec::stages)
            .map(|m| &*m.name)
            .collect();
        f.debug_struct("Run").field("stages", &names).finish()
    }
}

impl Run {
    /// A handle that watches the run while it goes (bytes pulled from the
    /// source, each buffer's stats, each stage's state): for progress bars
    /// and live tables; after the run, its timeline if one was recorded.
    pub fn monitor(&self) -> Monitor {
        let stages = self
            .tasks
            .iter()
            .flat_map(TaskSpec::stages)
            .cloned()
            .collect();
        self.monitor.clone().with_stages(stages)
    }

    /// The names of the stages (one per task, and one per stage fused
    /// into a task with [`Pipeline::in_one_task`]), source first.
    pub fn stage_names(&self) -> Vec<String> {
        self.tasks
            .iter()
            .flat_map(TaskSpec::stages)
            .map(|m| m.name.to_string())
            .collect()
    }

    /// Stops the run when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Records the run's timeline: every `interval`, each stage's buffered
    /// amount, what went in and out, and how it spent its time; read it
    /// from [`Report::timeline`]. It holds at most
    /// [`MAX_SAMPLES`](crate::MAX_SAMPLES) samples (neighbours are merged and
    /// the interval doubles when full), so a long run costs no more memory
    /// than a short one. Sampling reads the stages' counters (atomics) on
    /// the task that awaits the run: the stages themselves do no more work.
    /// Needs the Tokio time driver (`#[tokio::main]` has it; a runtime
    /// built by hand needs `enable_time`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let report = Pipeline::from(readable::from_iter(0..1000u32))
    ///     .into(writable::from_fn(|_n: u32| async { Ok(()) }))
    ///     .timeline(Duration::from_millis(20))
    ///     .run()
    ///     .await?;
    /// let timeline = report.timeline().expect("recorded");
    /// assert_eq!(timeline.stages[0].name, "source");
    /// assert!(!timeline.samples.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn timeline(mut self, interval: std::time::Duration) -> Self {
        self.watch.timeline = Some(interval);
        self
    }

    /// Arms the stall watchdog: when no stage has made progress (no chunk
    /// in or out anywhere, no stage ending) for `timeout`, it logs which
    /// stage holds the run and what every stage waits on, then, by default,
    /// ends the run with an error for which [`Error::is_stalled`] is true,
    /// naming that stage (see [`on_stall`](Run::on_stall)). A stage that
    /// moves, however slowly, is not stalled.
    ///
    /// The diagnosis walks the buffers: a stage is *blocked* (its output
    /// buffer is full), *starved* (its input buffer is empty), *waiting on
    /// its I/O* (its source, sink or async call answered `Pending`), or
    /// *busy in its own code*; the stage that is neither blocked nor starved
    /// holds the run and is named first, e.g. `2.0 s without progress: write
    /// waits on its output (it takes nothing); gzip blocked on a full buffer
    /// (write takes nothing); read blocked on a full buffer (gzip takes
    /// nothing)`.
    ///
    /// A stage stuck in synchronous code cannot be aborted: after a grace
    /// of the timeout (at least a second) `run()` returns the stall error
    /// without waiting for it, and its task ends when that code returns.
    /// Needs the Tokio time driver, as [`timeline`](Run::timeline) does.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use weir::pipe::Pipeline;
    /// use weir::writable;
    ///
    /// # #[tokio::main] async fn main() {
    /// // A source that never yields anything.
    /// let silent = futures::stream::pending::<Result<u32, weir::Error>>();
    /// let err = Pipeline::from(silent)
    ///     .named("read")
    ///     .into(writable::from_fn(|_n: u32| async { Ok(()) }))
    ///     .stall_timeout(Duration::from_millis(50))
    ///     .run()
    ///     .await
    ///     .unwrap_err();
    /// assert!(err.is_stalled());
    /// assert_eq!(err.stage(), Some("read"));
    /// # }
    /// ```
    pub fn stall_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.watch.stall = Some(timeout);
        self
    }

    /// What the stall watchdog does when it fires: end the run
    /// ([`OnStall::Fail`], the default) or only log ([`OnStall::Warn`]).
    pub fn on_stall(mut self, action: OnStall) -> Self {
        self.watch.on_stall = action;
        self
    }

    /// Adds the label `key="value"` to every series this run publishes to
    /// the `metrics` facade (say `pipeline="upload"`, to tell apart
    /// pipelines whose stages have the same names). Every series already
    /// has the label `stage`. See the [`metrics` module](crate::metrics).
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable::ChunkWriter};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let src = readable::from_iter([Bytes::from_static(b"abc")]);
    /// let report = Pipeline::from(src)
    ///     .into(ChunkWriter::new(tokio::io::sink()))
    ///     .metrics_label("pipeline", "copy")
    ///     .run()
    ///     .await?;
    /// assert_eq!(report.bytes_out, 3);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metrics_labels
            .push(metrics::Label::new(key.into(), value.into()));
        self
    }

    /// Runs every stage to the end and returns the report.
    ///
    /// Needs a Tokio runtime; on a multi-thread runtime the stages run in
    /// parallel. With the `metrics` feature, the stages' figures reach the
    /// `metrics` facade every second and at the end (see the `metrics`
    /// module).
    ///
    /// # Cancel safety
    /// Dropping the future cancels the run: every stage task is aborted (a
    /// sink is dropped without being closed). The tasks end at their next
    /// await point, so they may outlive the dropped future by a moment; use a
    /// [`CancellationToken`] and await `run()` to know that all have ended.
    ///
    /// # Errors
    /// The first error of any stage, named after its stage (an error that
    /// only echoes another stage's failure, such as a reader gone, is
    /// reported only if nothing else failed); an error for which
    /// [`Error::is_panic`] is true if a stage panicked; an error for which
    /// [`Error::is_cancelled`] is true if the token was cancelled; one for
    /// which [`Error::is_stalled`] is true if the stall watchdog ended it.
    pub async fn run(self) -> Result<Report, Error> {
        let slot = self.monitor.timeline_slot();
        crate::watch::run(
            self.tasks,
            self.token,
            self.watch,
            slot,
            #[cfg(feature = "metrics")]
            self.metrics_labels,
        )
        .await
    }
}
