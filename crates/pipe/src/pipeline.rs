use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use futures_core::Stream;
use futures_sink::Sink;
use tokio_util::sync::CancellationToken;
use weir_core::transform::{Through, map};
use weir_core::{BufferConfig, DEFAULT_BYTES, DEFAULT_ITEMS, Error, Limit, Reader, Transform};

use crate::engine::{self, BoxStream, Counted, Counter, NameErrors, TaskSpec};
use crate::monitor::Monitor;
use crate::report::{Report, StageKind, StageMeters};
use crate::throttle::Throttle;

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
    head: BoxStream<T>,
    /// While the stage added last is a source or a stream stage: its name,
    /// given to the unnamed errors of `head` once the next stage is added or
    /// the task is closed (so that [`named`](Pipeline::named) still renames
    /// it). Transforms name their own errors.
    head_stage: Option<Arc<str>>,
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
        let counted = Counted::new(Box::pin(source) as BoxStream<T>, counter.clone(), limit);
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
            },
            head: Box::pin(counted),
            head_stage: Some(Arc::from("source")),
        }
    }

    /// The current stream, its own errors named after its stage (see
    /// `head_stage`): call before another stage wraps it.
    fn sealed_head(head: BoxStream<T>, stage: Option<Arc<str>>) -> BoxStream<T> {
        match stage {
            Some(stage) => Box::pin(NameErrors::new(head, stage)),
            None => head,
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
            head,
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
            head: Box::pin(Through::new(reader, transform).with_name(name)),
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
        Pipeline {
            base,
            head: Box::pin(stage(reader)),
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
        let (mut next, reader) = self.close_segment();
        next.tasks.push(sink_task(name.into(), reader, sink));
        Run {
            tasks: next.tasks,
            token: next.token,
            monitor: next.monitor,
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
        tasks.push(TaskSpec {
            meters: StageMeters {
                name,
                kind,
                input,
                outputs: writers.iter().map(|w| w.stats_handle()).collect(),
                pulled,
                delivered: None,
                in_flight,
                workers,
            },
            fut: Box::pin(engine::pump_all(head, writers)),
        });
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
        base.tasks.push(TaskSpec {
            meters: StageMeters {
                name,
                kind: base.kind,
                input: base.input.take(),
                outputs: vec![output],
                pulled: base.pulled.take(),
                delivered: None,
                in_flight,
                workers: base.workers.take(),
            },
            fut,
        });
        base.names.clear();
        base.kind = StageKind::Transform;
        base.input = Some(reader.stats_handle());
        (base, reader)
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
    TaskSpec {
        meters: StageMeters {
            name,
            kind: StageKind::Sink,
            input: Some(reader.stats_handle()),
            outputs: Vec::new(),
            pulled: None,
            delivered: Some((counter.clone(), limit.unit())),
            in_flight: None,
            workers: None,
        },
        fut: Box::pin(engine::drain(reader, sink, counter, limit)),
    }
}

/// A complete pipeline, ready to [`run`](Run::run).
#[must_use = "a pipeline does nothing until it is run"]
pub struct Run {
    tasks: Vec<TaskSpec>,
    token: Option<CancellationToken>,
    monitor: Monitor,
    #[cfg(feature = "metrics")]
    metrics_labels: Vec<metrics::Label>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.tasks.iter().map(|t| &*t.meters.name).collect();
        f.debug_struct("Run").field("stages", &names).finish()
    }
}

impl Run {
    /// A handle that watches the run while it goes (bytes pulled from the
    /// source, each buffer's stats): for progress bars and live tables.
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// The names of the stages (one per task), source first.
    pub fn stage_names(&self) -> Vec<String> {
        self.tasks
            .iter()
            .map(|t| t.meters.name.to_string())
            .collect()
    }

    /// Stops the run when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.token = Some(token);
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
    /// [`Error::is_cancelled`] is true if the token was cancelled.
    pub async fn run(self) -> Result<Report, Error> {
        engine::run(
            self.tasks,
            self.token,
            #[cfg(feature = "metrics")]
            self.metrics_labels,
        )
        .await
    }
}
