//! What a pipeline run did, stage by stage, and which stage held it back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde::Serialize;
use weir_core::{StatsHandle, Unit};

use crate::engine::Counter;
use crate::meter::{IoMeter, Life};
use crate::timeline::Timeline;

/// What a stage (a task of the pipeline) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum StageKind {
    /// Reads the source (and runs any cheap transforms fused into it).
    Source,
    /// Runs a transform (and any cheap transforms fused after it) on a task
    /// of its own.
    Transform,
    /// Writes into a sink.
    Sink,
}

/// One stage's figures. A stage is one task of the pipeline: a source, a
/// heavy transform or an async stage, or a sink, together with the cheap
/// transforms fused into it (its name lists them, joined by `+`).
///
/// Amounts are in `unit`: bytes for byte chunks, items for objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StageReport {
    /// The stage's name (fused stages joined by `+`).
    pub name: String,
    /// What the stage is.
    pub kind: StageKind,
    /// The unit of `bytes_in` (`"bytes"` for byte chunks, `"items"` for objects).
    pub unit_in: &'static str,
    /// The unit of `bytes_out` and `peak_buffered`.
    pub unit_out: &'static str,
    /// Chunks the stage took in (from its source or input buffer).
    pub chunks_in: u64,
    /// Chunks the stage put out (into its output buffer or sink).
    pub chunks_out: u64,
    /// Amount taken in.
    pub bytes_in: u64,
    /// Amount put out.
    pub bytes_out: u64,
    /// Time the stage was busy: its task's lifetime less the time it was
    /// blocked or starved; `working` plus `io_wait`.
    #[serde(rename = "busy_ms", serialize_with = "as_ms")]
    pub busy: Duration,
    /// The part of `busy` the stage spent working: inside its transforms,
    /// or in polls of its I/O that returned at once.
    #[serde(rename = "working_ms", serialize_with = "as_ms")]
    pub working: Duration,
    /// The part of `busy` the stage spent waiting on its own I/O: the
    /// source's reads, the sink's writes, an async stage's calls answered
    /// `Pending` (a slow disk, a peer not reading, a remote service).
    #[serde(rename = "io_wait_ms", serialize_with = "as_ms")]
    pub io_wait: Duration,
    /// Time the stage waited for room in a full downstream buffer
    /// (backpressure from the stages after it).
    #[serde(rename = "blocked_ms", serialize_with = "as_ms")]
    pub blocked: Duration,
    /// Time the stage waited for data from an empty upstream buffer.
    #[serde(rename = "starved_ms", serialize_with = "as_ms")]
    pub starved: Duration,
    /// The most its output buffer ever held (0 for a sink).
    pub peak_buffered: usize,
    /// The high mark of its output buffer (0 for a sink).
    pub buffer_high: usize,
    /// How many times its output buffer turned full (`write()` → `false`).
    pub full_events: u64,
    /// The most calls an async operator of the stage
    /// ([`map_async`](crate::Pipeline::map_async),
    /// [`filter_async`](crate::Pipeline::filter_async)) held at once:
    /// running, or finished and waiting for their turn. Never more than its
    /// concurrency; 0 for a stage without one.
    pub in_flight_peak: usize,
    /// The busy time of each worker thread of the stage's parallel
    /// transform (a parallel codec, see
    /// [`Transform::worker_busy`](weir_core::Transform::worker_busy)), in
    /// the order of its workers; empty for a stage without one. Next to the
    /// stage's wall time it shows how well the stage kept its threads busy.
    /// A transform whose calling thread works beside its workers may meter
    /// that thread too (the BGZF decoder's last meter is the stage's own
    /// decoding, also part of the stage's `working` time).
    #[serde(rename = "workers_busy_ms", serialize_with = "all_as_ms")]
    pub workers_busy: Vec<Duration>,
    /// Whether the stage shared its task with the stages next to it, with
    /// no buffer between them (a pipeline built after
    /// [`Pipeline::in_one_task`](crate::Pipeline::in_one_task)). Its counts
    /// (`chunks_in`, `chunks_out`, amounts) and `in_flight_peak` are its
    /// own, exact; `peak_buffered`, `buffer_high` and `full_events` are
    /// those of the task's own queue after it, if any (between the last
    /// operator and a fused sink), else 0. Its time is not split from its
    /// neighbours': `io_wait` is measured for a source and a sink (their
    /// streams' and sink's `Pending` time, as on a task of their own) and
    /// is 0 for an operator; `working` is not measured (0), so `busy` is
    /// `io_wait`; `blocked` and `starved` count only the buffers at the
    /// task's edges (none in a one-task run). A fused stage is never the
    /// [bottleneck](Report::bottleneck); the run's `elapsed` is the task's
    /// time.
    pub fused: bool,
}

fn all_as_ms<S: serde::Serializer>(d: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(d.iter().map(|d| (d.as_secs_f64() * 1e6).round() / 1e3))
}

impl StageReport {
    /// What most of the stage's busy time went to, in words, and how long:
    /// waiting on its I/O (`"waiting on the output"` for a sink, `"waiting
    /// on the input"` for a source, `"waiting on I/O or timers"` for an
    /// async stage), or working (`"computing"` for a transform, `"working"`
    /// for a source or a sink).
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use weir::pipe::Pipeline;
    /// use weir::{readable, writable::ChunkWriter};
    ///
    /// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
    /// let src = readable::from_iter((0..10).map(|_| Bytes::from(vec![0u8; 100])));
    /// let report = Pipeline::from(src).into(ChunkWriter::new(tokio::io::sink())).run().await?;
    /// let (what, time) = report.stages[0].busy_with();
    /// assert!(what == "working" || what == "waiting on the input");
    /// assert!(time <= report.stages[0].busy);
    /// # Ok(()) }
    /// ```
    pub fn busy_with(&self) -> (&'static str, Duration) {
        if self.io_wait > self.working {
            let what = match self.kind {
                StageKind::Source => "waiting on the input",
                StageKind::Sink => "waiting on the output",
                StageKind::Transform => "waiting on I/O or timers",
            };
            (what, self.io_wait)
        } else {
            let what = match self.kind {
                StageKind::Transform => "computing",
                _ => "working",
            };
            (what, self.working)
        }
    }
}

pub(crate) fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// What a stage's report is read from: the buffers and counters around its
/// task, kept from when the pipeline is built until the run ends. Clones
/// share the counters (watchers hold clones).
#[derive(Clone)]
pub(crate) struct StageMeters {
    pub(crate) name: Arc<str>,
    pub(crate) kind: StageKind,
    /// The buffer the task reads from (none for a source task).
    pub(crate) input: Option<StatsHandle>,
    /// The buffers the task writes to (none for a sink task; several for a tee).
    pub(crate) outputs: Vec<StatsHandle>,
    /// What the task pulled from the source (source tasks).
    pub(crate) pulled: Option<(Arc<Counter>, Unit)>,
    /// What the task gave its sink (sink tasks).
    pub(crate) delivered: Option<(Arc<Counter>, Unit)>,
    /// The peak of calls in flight of the task's async operator, if any.
    pub(crate) in_flight: Option<Arc<AtomicUsize>>,
    /// The worker meters of the task's parallel transform, if any.
    pub(crate) workers: Option<weir_core::WorkerBusy>,
    /// The task's own I/O waits (source stream, sink, async stage), if
    /// metered.
    pub(crate) io: Option<Arc<IoMeter>>,
    /// Whether `io` also counts the waits for the input buffer (an async
    /// stage's stream waits for its reader too): those are starved time.
    pub(crate) io_includes_input: bool,
    /// When the task started and ended.
    pub(crate) life: Arc<Life>,
    /// Whether the stage shares its task with others, no buffer between
    /// them (see `StageReport::fused`).
    pub(crate) fused: bool,
    /// The task's own queue after the stage (a fused stage feeding a fused
    /// sink), if any.
    pub(crate) queue: Option<Arc<QueueStats>>,
}

/// The figures of a fused task's queue between its last operator and its
/// sink: written by that task only, read by anyone.
#[derive(Debug, Default)]
pub(crate) struct QueueStats {
    /// The queue's capacity (items, or bytes for byte chunks).
    pub(crate) high: AtomicUsize,
    /// What it holds now.
    pub(crate) held: AtomicUsize,
    /// The most it held.
    pub(crate) peak: AtomicUsize,
    /// How many times it turned full.
    pub(crate) full: std::sync::atomic::AtomicU64,
}

/// A stage's figures at one instant, waits in progress included: what the
/// timeline and the stall watchdog read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub(crate) chunks_in: u64,
    pub(crate) chunks_out: u64,
    pub(crate) amount_in: u64,
    pub(crate) amount_out: u64,
    /// What its output buffers hold (the most of them).
    pub(crate) buffered: usize,
    /// Their high mark.
    pub(crate) high: usize,
    pub(crate) lifetime: Duration,
    pub(crate) ended: bool,
    pub(crate) blocked: Duration,
    pub(crate) starved: Duration,
    pub(crate) io_wait: Duration,
    pub(crate) blocked_now: bool,
    pub(crate) starved_now: bool,
    pub(crate) io_now: bool,
}

/// The part of a metered I/O wait `io` that is neither blocked nor starved
/// time (see `StageMeters::io_includes_input`), within the busy time.
fn io_share(
    includes_input: bool,
    io: Duration,
    life: Duration,
    blocked: Duration,
    starved: Duration,
) -> Duration {
    let io = if includes_input {
        io.saturating_sub(starved)
    } else {
        io
    };
    io.min(life.saturating_sub(blocked).saturating_sub(starved))
}

/// `total` plus an ongoing wait.
fn with_ongoing(total: Duration, ongoing: Option<Duration>) -> Duration {
    total + ongoing.unwrap_or(Duration::ZERO)
}

/// A stage's figures so far, read from its meters (while it runs, or once
/// it has ended).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    pub(crate) chunks_in: u64,
    pub(crate) bytes_in: u64,
    pub(crate) unit_in: Unit,
    pub(crate) chunks_out: u64,
    pub(crate) bytes_out: u64,
    pub(crate) unit_out: Unit,
    pub(crate) blocked: Duration,
    pub(crate) starved: Duration,
    pub(crate) peak: usize,
    pub(crate) high: usize,
    pub(crate) full: u64,
    /// What its output buffers hold now (0 for a sink).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) buffered: usize,
}

impl StageMeters {
    /// Meters for a stage with no counters of its own yet.
    pub(crate) fn new(name: Arc<str>, kind: StageKind) -> Self {
        StageMeters {
            name,
            kind,
            input: None,
            outputs: Vec::new(),
            pulled: None,
            delivered: None,
            in_flight: None,
            workers: None,
            io: None,
            io_includes_input: false,
            life: Arc::new(Life::default()),
            fused: false,
            queue: None,
        }
    }

    /// The unit of what the stage puts out.
    pub(crate) fn unit_out(&self) -> &'static str {
        if let Some(h) = self.outputs.first() {
            return unit_name(h.stats().unit);
        }
        if let Some((_, u)) = &self.delivered {
            return unit_name(*u);
        }
        match &self.input {
            Some(h) => unit_name(h.stats().unit),
            None => "bytes",
        }
    }

    /// The stage's figures now, waits in progress included.
    pub(crate) fn snapshot(&self, now: std::time::Instant) -> Snapshot {
        let mut s = Snapshot::default();
        // The life first: a wait read after it never exceeds it by much.
        let (lifetime, ended) = self.life.read(now);
        s.lifetime = lifetime;
        s.ended = ended;
        if let Some(h) = &self.input {
            let st = h.stats();
            s.chunks_in = st.reads;
            s.amount_in = st.read;
            s.starved = with_ongoing(st.reader_wait, st.reader_waiting);
            s.starved_now = st.reader_waiting.is_some();
        }
        if let Some((c, _)) = &self.pulled {
            s.chunks_in = c.chunks.load(Relaxed);
            s.amount_in = c.units.load(Relaxed);
        }
        for h in &self.outputs {
            let st = h.stats();
            s.chunks_out = s.chunks_out.max(st.writes);
            s.amount_out = s.amount_out.max(st.written);
            s.blocked += with_ongoing(st.writer_wait, st.writer_waiting);
            s.blocked_now |= st.writer_waiting.is_some();
            s.buffered = s.buffered.max(st.buffered);
            s.high = s.high.max(st.high_water_mark);
        }
        if let Some((c, _)) = &self.delivered {
            s.chunks_out = c.chunks.load(Relaxed);
            s.amount_out = c.units.load(Relaxed);
        }
        if let Some(q) = &self.queue {
            s.buffered = s.buffered.max(q.held.load(Relaxed));
            s.high = s.high.max(q.high.load(Relaxed));
        }
        if let Some(io) = &self.io {
            let (total, ongoing) = io.read();
            let io_wait = with_ongoing(total, ongoing);
            s.io_now = ongoing.is_some() && !s.starved_now;
            s.io_wait = io_share(
                self.io_includes_input,
                io_wait,
                s.lifetime,
                s.blocked,
                s.starved,
            );
        }
        s
    }

    /// The stage's figures now.
    pub(crate) fn figures(&self) -> Figures {
        let input = self.input.as_ref().map(StatsHandle::stats);
        let outputs: Vec<_> = self.outputs.iter().map(StatsHandle::stats).collect();
        let (mut chunks_in, mut bytes_in, mut unit_in) = (0, 0, Unit::Bytes);
        let mut starved = Duration::ZERO;
        if let Some(s) = &input {
            chunks_in = s.reads;
            bytes_in = s.read;
            unit_in = s.unit;
            starved = s.reader_wait;
        }
        if let Some((c, u)) = &self.pulled {
            chunks_in = c.chunks.load(Relaxed);
            bytes_in = c.units.load(Relaxed);
            unit_in = *u;
        }
        let mut unit_out = unit_in;
        let (mut chunks_out, mut bytes_out) = (0, 0);
        let mut blocked = Duration::ZERO;
        let (mut peak, mut high, mut full, mut buffered) = (0, 0, 0, 0);
        for s in &outputs {
            chunks_out = chunks_out.max(s.writes);
            bytes_out = bytes_out.max(s.written);
            blocked += s.writer_wait;
            peak = peak.max(s.peak_buffered);
            high = high.max(s.high_water_mark);
            full += s.full_events;
            buffered += s.buffered;
            unit_out = s.unit;
        }
        if let Some((c, u)) = &self.delivered {
            chunks_out = c.chunks.load(Relaxed);
            bytes_out = c.units.load(Relaxed);
            unit_out = *u;
        }
        if let Some(q) = &self.queue {
            peak = peak.max(q.peak.load(Relaxed));
            high = high.max(q.high.load(Relaxed));
            full += q.full.load(Relaxed);
            buffered += q.held.load(Relaxed);
        }
        Figures {
            chunks_in,
            bytes_in,
            unit_in,
            chunks_out,
            bytes_out,
            unit_out,
            blocked,
            starved,
            peak,
            high,
            full,
            buffered,
        }
    }

    /// The stage's report, for a task that lived `lifetime`.
    pub(crate) fn report(self, lifetime: Duration) -> StageReport {
        let f = self.figures();
        let busy = lifetime.saturating_sub(f.blocked).saturating_sub(f.starved);
        let io_total = self.io.as_ref().map_or(Duration::ZERO, |m| m.total());
        let io_wait = io_share(
            self.io_includes_input,
            io_total,
            lifetime,
            f.blocked,
            f.starved,
        );
        // A fused stage's working time is not measured: its busy time is
        // what was measured, its I/O wait (see `StageReport::fused`).
        let busy = if self.fused { io_wait } else { busy };
        StageReport {
            name: self.name.to_string(),
            kind: self.kind,
            unit_in: unit_name(f.unit_in),
            unit_out: unit_name(f.unit_out),
            chunks_in: f.chunks_in,
            chunks_out: f.chunks_out,
            bytes_in: f.bytes_in,
            bytes_out: f.bytes_out,
            busy,
            working: busy.saturating_sub(io_wait),
            io_wait,
            blocked: f.blocked,
            starved: f.starved,
            peak_buffered: f.peak,
            buffer_high: f.high,
            full_events: f.full,
            in_flight_peak: self.in_flight.map_or(0, |g| g.load(Relaxed)),
            workers_busy: self.workers.map_or_else(Vec::new, |w| w.times()),
            fused: self.fused,
        }
    }
}

pub(crate) fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Bytes => "bytes",
        _ => "items",
    }
}

/// The figures of a finished pipeline run, per stage, and the stage that
/// held the run back.
///
/// # The bottleneck
/// In a pipeline joined by bounded buffers, the slowest stage works all the
/// time, while the stages before it wait for room (*blocked*) and the stages
/// after it wait for data (*starved*). So the bottleneck is the stage with
/// the most *busy* time, and a healthy report shows it close to the total
/// elapsed time, with the others mostly blocked or starved. This answers the
/// seed's Q4 ("is it a backpressure issue, and where?"): the buffers before
/// the bottleneck are the ones that fill up.
///
/// `Display` prints a table; `Serialize` gives JSON with `elapsed_ms`,
/// `bytes_in`, `bytes_out`, `bottleneck` and `stages[]` (see
/// [`StageReport`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Wall time of the whole run.
    #[serde(rename = "elapsed_ms", serialize_with = "as_ms")]
    pub elapsed: Duration,
    /// Amount pulled from the source.
    pub bytes_in: u64,
    /// Amount given to the sink (all sinks, for a tee).
    pub bytes_out: u64,
    /// The unit of `bytes_in` (`bytes_out` is in the last stage's `unit_out`).
    pub unit: &'static str,
    /// The name of the stage with the most busy time (among the stages on
    /// tasks of their own: none for a one-task run, see
    /// [`StageReport::fused`]).
    pub bottleneck: Option<String>,
    /// The stages, source first.
    pub stages: Vec<StageReport>,
    /// The run's timeline, if one was recorded (not in the JSON: see
    /// [`Report::timeline`]).
    #[serde(skip)]
    pub(crate) timeline: Option<Timeline>,
}

impl Report {
    pub(crate) fn new(elapsed: Duration, stages: Vec<StageReport>) -> Self {
        let first = stages.iter().find(|s| s.kind == StageKind::Source);
        let bytes_in = first.map_or(0, |s| s.bytes_in);
        let unit = first.map_or("bytes", |s| s.unit_in);
        let bytes_out = stages
            .iter()
            .filter(|s| s.kind == StageKind::Sink)
            .map(|s| s.bytes_out)
            .sum();
        let bottleneck = stages
            .iter()
            .filter(|s| !s.fused)
            .fold(None::<&StageReport>, |best, s| match best {
                Some(b) if b.busy >= s.busy => Some(b),
                _ => Some(s),
            })
            .map(|s| s.name.clone());
        Report {
            elapsed,
            bytes_in,
            bytes_out,
            unit,
            bottleneck,
            stages,
            timeline: None,
        }
    }

    /// The run's timeline, if one was asked for
    /// ([`Pipeline::timeline`](crate::Pipeline::timeline),
    /// [`Run::timeline`](crate::Run::timeline)).
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// The report of the stage named `name`.
    pub fn stage(&self, name: &str) -> Option<&StageReport> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The bottleneck stage's report.
    pub fn bottleneck_stage(&self) -> Option<&StageReport> {
        self.bottleneck.as_deref().and_then(|n| self.stage(n))
    }
}

/// Formats an amount for a table: binary units for bytes, plain counts for
/// items.
pub(crate) fn amount(n: u64, unit: &str) -> String {
    if unit == "bytes" {
        crate::memory::human_bytes(n)
    } else {
        n.to_string()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .stages
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            f,
            "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10}  {:>6}",
            "stage", "in", "out", "working", "io wait", "blocked", "starved", "peak buf", "full"
        )?;
        for s in &self.stages {
            let mark = if self.bottleneck.as_deref() == Some(s.name.as_str()) {
                "  <- bottleneck"
            } else {
                ""
            };
            writeln!(
                f,
                "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}  {:>8}  {:>8}  {:>10}  {:>6}{mark}",
                s.name,
                amount(s.bytes_in, s.unit_in),
                amount(s.bytes_out, s.unit_out),
                secs(s.working),
                secs(s.io_wait),
                secs(s.blocked),
                secs(s.starved),
                if s.kind == StageKind::Sink {
                    "-".to_string()
                } else {
                    amount(s.peak_buffered as u64, s.unit_out)
                },
                s.full_events,
            )?;
            if !s.workers_busy.is_empty() {
                let each: Vec<String> = s.workers_busy.iter().map(|d| secs(*d)).collect();
                writeln!(
                    f,
                    "{:<width$}  {} workers busy {}",
                    "",
                    s.workers_busy.len(),
                    each.join(" ")
                )?;
            }
        }
        let secs_total = self.elapsed.as_secs_f64();
        write!(
            f,
            "elapsed {:.2}s, {} in, {} out",
            secs_total,
            amount(self.bytes_in, self.unit),
            amount(
                self.bytes_out,
                self.stages.last().map_or(self.unit, |s| s.unit_out)
            )
        )?;
        if secs_total > 0.0 {
            let rate = self.bytes_in as f64 / secs_total;
            if self.unit == "bytes" {
                write!(f, " ({:.1} MB/s)", rate / 1e6)?;
            } else {
                write!(f, " ({:.2} M items/s)", rate / 1e6)?;
            }
        }
        if let Some(b) = self.bottleneck_stage() {
            write!(f, "; bottleneck: {}", b.name)?;
            if secs_total > 0.0 {
                let (what, d) = b.busy_with();
                let share = 100.0 * d.as_secs_f64() / secs_total;
                write!(f, ", {what} {share:.0}% of the run")?;
            }
        }
        Ok(())
    }
}
