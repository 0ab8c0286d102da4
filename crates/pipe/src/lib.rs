//! weir-pipe: pipelines with backpressure, and a report that names the
//! bottleneck.
//!
//! - [`pipe`] moves one readable into one writable (Node's `src.pipe(dst)`).
//! - [`Pipeline`] chains a source, named transforms and a sink (Node's
//!   `stream.pipeline(...)`), running I/O and heavy stages on their own
//!   tasks joined by bounded buffers, fusing cheap ones.
//! - [`Run::run`] returns a [`Report`]: per stage, what went in and out,
//!   time busy, blocked on a full buffer downstream, starved by an empty one
//!   upstream, peak buffered and Full episodes; and the bottleneck stage.
//!   Each stage's busy time is split into *working* and *waiting on I/O*.
//! - [`Run::timeline`] records a [`Timeline`] of the run (buffers,
//!   throughput, states; bounded in size), as JSON or, with the `svg`
//!   feature, an SVG chart; [`Run::stall_timeout`] arms a watchdog that names
//!   the stage holding a run that no longer moves ([`Error::is_stalled`]).
//! - [`Throttle`] limits a stream's rate (a slow consumer on demand).
//! - With the `metrics` feature, every run's stage figures reach the
//!   `metrics` facade, labelled by stage (see `metrics`).
//! - Async operators ([`ReadableOps`], and the [`Pipeline`] methods of the
//!   same names): `map_async` with bounded concurrency, `filter_async`,
//!   `batch` by count and time; and `take`, `inspect` on pipelines.
//!
//! # Backpressure
//! Every join is a bounded buffer: a fast stage fills it and waits for room
//! (its time counts as *blocked*), so no stage runs further ahead of a slow
//! one than the buffers between them allow, and memory stays bounded by their
//! sum whatever the input size.
//!
//! [`Error::is_stalled`]: weir_core::Error::is_stalled
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod engine;
mod memory;
mod meter;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
mod monitor;
mod ops;
mod pipe_fn;
mod pipeline;
mod report;
mod throttle;
mod timeline;
#[cfg(feature = "svg")]
mod timeline_svg;
mod watch;

pub use self::memory::{ProcessMemory, human_bytes, process_memory};
pub use self::monitor::{LiveStage, Monitor};
pub use self::ops::{Batch, FilterAsync, MapAsync, ReadableOps, Take};
pub use self::pipe_fn::pipe;
pub use self::pipeline::{Pipeline, Run};
pub use self::report::{Report, StageKind, StageReport};
pub use self::throttle::Throttle;
pub use self::timeline::{
    MAX_SAMPLES, Sample, StageSample, StageState, Timeline, TimelineRecorder, TimelineStage,
};
pub use self::watch::OnStall;
pub use tokio_util::sync::CancellationToken;
