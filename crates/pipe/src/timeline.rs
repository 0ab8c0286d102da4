//! A run's timeline: each stage's buffer, throughput and state, sampled at
//! a steady interval into a series of bounded size.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::report::{Snapshot, StageKind, StageMeters};

/// The most samples a timeline holds. When it is full, neighbours are
/// merged in pairs and the interval doubles: a long run gets a coarser
/// timeline, never a bigger one. Not part of the semver contract.
pub const MAX_SAMPLES: usize = 512;

/// What a stage was doing for most of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StageState {
    /// Not running (not started yet, or finished).
    Idle,
    /// Working: in its transforms, or in polls that returned at once.
    Working,
    /// Waiting on its own I/O (a read, a write, an async call).
    WaitingIo,
    /// Waiting for room in a full buffer downstream (backpressure).
    Blocked,
    /// Waiting for data from an empty buffer upstream.
    Starved,
}

impl StageState {
    /// A short lowercase name (`"waiting on I/O"`, `"blocked"`…).
    pub fn describe(self) -> &'static str {
        match self {
            StageState::Idle => "idle",
            StageState::Working => "working",
            StageState::WaitingIo => "waiting on I/O",
            StageState::Blocked => "blocked",
            StageState::Starved => "starved",
        }
    }
}

/// A stage as a timeline describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimelineStage {
    /// The stage's name (as in the [`Report`](crate::Report)).
    pub name: String,
    /// What the stage is.
    pub kind: StageKind,
    /// The unit of `buffered` and `amount_out` (`"bytes"` or `"items"`).
    pub unit: &'static str,
    /// The high mark of the stage's output buffer (0 for a sink).
    pub buffer_high: usize,
}

/// One stage during one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StageSample {
    /// What its output buffer held at the end of the sample (the most of
    /// the merged ones, once samples were merged); 0 for a sink.
    pub buffered: usize,
    /// Amount taken in during the sample.
    pub amount_in: u64,
    /// Amount put out during the sample.
    pub amount_out: u64,
    /// Share of the sample spent working (0 to 1).
    pub working: f32,
    /// Share of the sample spent waiting on its own I/O.
    pub io_wait: f32,
    /// Share of the sample spent blocked on a full buffer downstream.
    pub blocked: f32,
    /// Share of the sample spent starved by an empty buffer upstream.
    pub starved: f32,
    /// The largest of those shares (idle if the stage ran for less than
    /// half of the sample).
    pub state: StageState,
}

/// The stages at one moment of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Sample {
    /// When the sample ends, from the start of the run.
    #[serde(rename = "t_ms", serialize_with = "crate::report::as_ms")]
    pub t: Duration,
    /// How long it lasts (it starts at `t - span`).
    #[serde(rename = "span_ms", serialize_with = "crate::report::as_ms")]
    pub span: Duration,
    /// One per stage, in the order of [`Timeline::stages`].
    pub stages: Vec<StageSample>,
}

/// A run's timeline: for each stage, at a steady interval, its buffered
/// amount against its high mark, what went in and out, and how it spent
/// its time (working, waiting on I/O, blocked, starved).
///
/// Recorded when asked for ([`Pipeline::timeline`](crate::Pipeline::timeline),
/// [`Run::timeline`](crate::Run::timeline), or a [`TimelineRecorder`] for a
/// lone buffer); read it from [`Report::timeline`](crate::Report::timeline).
/// It holds at most [`MAX_SAMPLES`] samples: when full, neighbours are
/// merged and the interval doubles.
///
/// `Serialize` gives JSON (`interval_ms`, `elapsed_ms`, `bottleneck`,
/// `stages[]`, `samples[]` of `t_ms`, `span_ms` and `stages[]`);
/// [`write_json`](Timeline::write_json) writes it, and with the `svg`
/// feature `Timeline::to_svg` draws it.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use weir::pipe::Pipeline;
/// use weir::{readable, writable::ChunkWriter};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let src = readable::from_iter((0..100).map(|_| Bytes::from(vec![1u8; 1000])));
/// let report = Pipeline::from(src)
///     .timeline(Duration::from_millis(10))
///     .into(ChunkWriter::new(tokio::io::sink()))
///     .run()
///     .await?;
/// let timeline = report.timeline().expect("asked for");
/// assert_eq!(timeline.stages.len(), 2);
/// let total: u64 = timeline.samples.iter().map(|s| s.stages[0].amount_in).sum();
/// assert_eq!(total, 100_000);
/// let mut json = Vec::new();
/// timeline.write_json(&mut json)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Timeline {
    /// The width of a sample now (the interval asked for, doubled at each
    /// merge).
    #[serde(rename = "interval_ms", serialize_with = "crate::report::as_ms")]
    pub interval: Duration,
    /// How long the recording lasted.
    #[serde(rename = "elapsed_ms", serialize_with = "crate::report::as_ms")]
    pub elapsed: Duration,
    /// The run's bottleneck (see [`Report`](crate::Report)), when known.
    pub bottleneck: Option<String>,
    /// The stages, source first.
    pub stages: Vec<TimelineStage>,
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
}

impl Timeline {
    /// Writes the timeline as one JSON object.
    ///
    /// # Errors
    /// The writer's errors.
    pub fn write_json<W: io::Write>(&self, out: W) -> io::Result<()> {
        serde_json::to_writer(out, self).map_err(io::Error::other)
    }

    /// Writes the timeline to `path`: a chart for a name ending in `.svg`
    /// (with the `svg` feature), else JSON. The file is written whole or
    /// not at all (a temporary file renamed into place).
    ///
    /// # Errors
    /// I/O errors; an error of kind `Unsupported` for `.svg` without the
    /// `svg` feature.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let svg = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        let bytes = if svg {
            self.svg_bytes()?
        } else {
            let mut v = Vec::new();
            self.write_json(&mut v)?;
            v
        };
        let name = path.file_name().map_or_else(
            || std::ffi::OsString::from("timeline"),
            std::ffi::OsStr::to_os_string,
        );
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(&name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
    }

    #[cfg(feature = "svg")]
    fn svg_bytes(&self) -> io::Result<Vec<u8>> {
        self.to_svg().map(String::into_bytes)
    }

    #[cfg(not(feature = "svg"))]
    fn svg_bytes(&self) -> io::Result<Vec<u8>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "an SVG timeline needs weir-pipe's `svg` feature (write .json instead)",
        ))
    }

    /// The index of the bottleneck stage, if named.
    #[cfg_attr(not(feature = "svg"), allow(dead_code))]
    pub(crate) fn bottleneck_index(&self) -> Option<usize> {
        let b = self.bottleneck.as_deref()?;
        self.stages.iter().position(|s| s.name == b)
    }
}

/// Shares of a span, from the growth of cumulative waits.
fn share(d: Duration, span: Duration) -> f32 {
    if span.is_zero() {
        0.0
    } else {
        (d.as_secs_f64() / span.as_secs_f64()).clamp(0.0, 1.0) as f32
    }
}

fn dominant(s: &StageSample) -> StageState {
    let parts = [
        (s.working, StageState::Working),
        (s.io_wait, StageState::WaitingIo),
        (s.blocked, StageState::Blocked),
        (s.starved, StageState::Starved),
    ];
    let total: f32 = parts.iter().map(|p| p.0).sum();
    if total < 0.5 {
        return StageState::Idle;
    }
    parts
        .iter()
        .fold(parts[0], |best, p| if p.0 > best.0 { *p } else { best })
        .1
}

/// Merges `b` (later) into `a`.
fn merge(a: &mut Sample, b: Sample) {
    let (wa, wb) = (a.span.as_secs_f64(), b.span.as_secs_f64());
    let total = wa + wb;
    let mix = |x: f32, y: f32| {
        if total > 0.0 {
            ((f64::from(x) * wa + f64::from(y) * wb) / total) as f32
        } else {
            0.0
        }
    };
    for (x, y) in a.stages.iter_mut().zip(b.stages) {
        x.buffered = x.buffered.max(y.buffered);
        x.amount_in += y.amount_in;
        x.amount_out += y.amount_out;
        x.working = mix(x.working, y.working);
        x.io_wait = mix(x.io_wait, y.io_wait);
        x.blocked = mix(x.blocked, y.blocked);
        x.starved = mix(x.starved, y.starved);
        x.state = dominant(x);
    }
    a.t = b.t;
    a.span += b.span;
}

/// Takes samples of a set of stages into a bounded series.
pub(crate) struct Sampler {
    meters: Vec<StageMeters>,
    start: Instant,
    interval: Duration,
    last_t: Duration,
    prev: Vec<Snapshot>,
    samples: Vec<Sample>,
}

impl Sampler {
    pub(crate) fn new(meters: Vec<StageMeters>, interval: Duration, start: Instant) -> Self {
        let prev = vec![Snapshot::default(); meters.len()];
        Sampler {
            meters,
            start,
            interval: interval.max(Duration::from_millis(1)),
            last_t: Duration::ZERO,
            prev,
            samples: Vec::with_capacity(MAX_SAMPLES),
        }
    }

    /// Takes a sample if an interval has passed since the last one.
    pub(crate) fn tick(&mut self, now: Instant) {
        if now.saturating_duration_since(self.start) >= self.last_t + self.interval {
            self.sample(now);
        }
    }

    /// Takes a sample ending `now`.
    pub(crate) fn sample(&mut self, now: Instant) {
        let t = now.saturating_duration_since(self.start);
        let span = t.saturating_sub(self.last_t);
        if span.is_zero() {
            return;
        }
        let mut stages = Vec::with_capacity(self.meters.len());
        for (m, prev) in self.meters.iter().zip(self.prev.iter_mut()) {
            let s = m.snapshot(now);
            let d = |a: Duration, b: Duration| a.saturating_sub(b);
            let lived = d(s.lifetime, prev.lifetime);
            let blocked = d(s.blocked, prev.blocked);
            let starved = d(s.starved, prev.starved);
            let io = d(s.io_wait, prev.io_wait);
            let working = lived.saturating_sub(blocked + starved + io);
            let mut x = StageSample {
                buffered: s.buffered,
                amount_in: s.amount_in.saturating_sub(prev.amount_in),
                amount_out: s.amount_out.saturating_sub(prev.amount_out),
                working: share(working, span),
                io_wait: share(io, span),
                blocked: share(blocked, span),
                starved: share(starved, span),
                state: StageState::Idle,
            };
            x.state = dominant(&x);
            stages.push(x);
            *prev = s;
        }
        self.last_t = t;
        if self.samples.len() == MAX_SAMPLES {
            self.halve();
        }
        self.samples.push(Sample { t, span, stages });
    }

    /// Merges neighbours in pairs and doubles the interval.
    fn halve(&mut self) {
        let old = std::mem::take(&mut self.samples);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                merge(&mut a, b);
            }
            self.samples.push(a);
        }
        self.interval *= 2;
    }

    /// Ends the recording with a last sample at `now`.
    pub(crate) fn finish(mut self, now: Instant, bottleneck: Option<String>) -> Timeline {
        self.sample(now);
        let stages = self
            .meters
            .iter()
            .map(|m| {
                let s = m.snapshot(now);
                TimelineStage {
                    name: m.name.to_string(),
                    kind: m.kind,
                    unit: m.unit_out(),
                    buffer_high: s.high,
                }
            })
            .collect();
        Timeline {
            interval: self.interval,
            elapsed: now.saturating_duration_since(self.start),
            bottleneck,
            stages,
            samples: self.samples,
        }
    }
}

/// Records the timeline of a buffer that is not part of a pipeline (a
/// producer and a consumer written by hand), as two stages: the writer and
/// the reader.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use weir::pipe::TimelineRecorder;
/// use weir::{buffer, Limit};
///
/// # #[tokio::main] async fn main() -> Result<(), weir::Error> {
/// let (mut tx, rx) = buffer::<u32>(Limit::items(4));
/// let rec = TimelineRecorder::buffer(tx.stats_handle(), "producer", "consumer",
///                                    Duration::from_millis(5));
/// tx.send(1).await?;
/// drop((tx, rx));
/// let timeline = rec.finish().await;
/// assert_eq!(timeline.stages[0].name, "producer");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TimelineRecorder {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Timeline>,
}

impl TimelineRecorder {
    /// Starts recording the buffer behind `handle` every `interval`, its
    /// writer named `writer`, its reader `reader`. Needs a Tokio runtime.
    pub fn buffer(
        handle: weir_core::StatsHandle,
        writer: &str,
        reader: &str,
        interval: Duration,
    ) -> Self {
        let mut w = StageMeters::new(writer.into(), StageKind::Source);
        w.outputs = vec![handle.clone()];
        let mut r = StageMeters::new(reader.into(), StageKind::Sink);
        r.input = Some(handle);
        w.life.start();
        r.life.start();
        let meters = vec![w, r];
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut sampler = Sampler::new(meters.clone(), interval, Instant::now());
            let mut ticker = tokio::time::interval(sampler.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = ticker.tick() => sampler.tick(Instant::now()),
                }
            }
            for m in &meters {
                m.life.end();
            }
            sampler.finish(Instant::now(), None)
        });
        TimelineRecorder { stop, task }
    }

    /// Stops recording and returns the timeline.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future loses the timeline.
    pub async fn finish(self) -> Timeline {
        self.stop.cancel();
        match self.task.await {
            Ok(t) => t,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: nothing was kept.
            Err(_) => Timeline {
                interval: Duration::ZERO,
                elapsed: Duration::ZERO,
                bottleneck: None,
                stages: Vec::new(),
                samples: Vec::new(),
            },
        }
    }
}
