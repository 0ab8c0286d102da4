//! Pipeline figures in the [`metrics`] facade (feature `metrics`).
//!
//! While a run goes, every second, and once more when it ends, each stage's
//! figures reach whatever recorder the program installed
//! (`metrics-exporter-prometheus`, a test recorder, …); with none installed
//! the facade drops them. Every series carries the label `stage` (the
//! stage's name, as in the report) and the run's own labels
//! ([`Run::metrics_label`](crate::Run::metrics_label)). Amounts are bytes
//! for byte chunks and items for objects, and the unit is in the name:
//!
//! | series | kind | what |
//! |---|---|---|
//! | `weir_stage_chunks_in_total` | counter | chunks taken in (the report's `chunks_in`) |
//! | `weir_stage_chunks_out_total` | counter | chunks put out (`chunks_out`) |
//! | `weir_stage_bytes_in_total` / `weir_stage_items_in_total` | counter | amount taken in (`bytes_in`) |
//! | `weir_stage_bytes_out_total` / `weir_stage_items_out_total` | counter | amount put out (`bytes_out`) |
//! | `weir_stage_full_events_total` | counter | times its output buffer turned full (`full_events`: `write()` → `false`) |
//! | `weir_stage_blocked_microseconds_total` | counter | time waiting for room downstream (`blocked`) |
//! | `weir_stage_starved_microseconds_total` | counter | time waiting for data upstream (`starved`) |
//! | `weir_stage_buffered_bytes` / `weir_stage_buffered_items` | gauge | what its output buffer holds now (not for sinks) |
//!
//! Counters add what each run did, so several runs with the same stage
//! names (one per request, say) add up; the gauge adds each live run's
//! amount and takes it back when the run ends. Once `run()` has returned,
//! the counters have grown by exactly the figures of its report (times in
//! whole microseconds).
//!
//! [`BufferMetrics`] publishes a buffer outside any pipeline the same way
//! (its `Stats`, labelled `buffer`). [`TextRecorder`] is a small recorder
//! rendering Prometheus text, for programs (and tests) that have no
//! exporter of their own.

mod buffer_metrics;
mod text_recorder;
mod ticker;

pub use self::buffer_metrics::BufferMetrics;
pub use self::text_recorder::TextRecorder;

use std::time::Duration;

use metrics::{Counter, Gauge, Label};
use weir_core::Unit;

use self::ticker::Ticker;
use crate::report::{Figures, StageMeters};

/// Takes a run's waker out of the ticker when the run ends or is dropped.
struct Unregister(&'static Ticker, u64);

impl Drop for Unregister {
    fn drop(&mut self) {
        self.0.unregister(self.1);
    }
}

/// How often a running pipeline's figures are published.
const INTERVAL: Duration = Duration::from_secs(1);

/// Publishes the figures of one run's stages.
pub(crate) struct Publisher {
    stages: Vec<StageSeries>,
}

/// One stage's series and what was already added to them.
struct StageSeries {
    meters: StageMeters,
    chunks_in: Counter,
    amount_in: Counter,
    chunks_out: Counter,
    amount_out: Counter,
    full: Counter,
    blocked: Counter,
    starved: Counter,
    /// `None` for a sink (it has no output buffer).
    buffered: Option<Gauge>,
    sent: Sent,
}

/// The totals already added to a stage's series.
#[derive(Default)]
struct Sent {
    chunks_in: u64,
    amount_in: u64,
    chunks_out: u64,
    amount_out: u64,
    full: u64,
    blocked_us: u64,
    starved_us: u64,
    buffered: usize,
}

fn amount(unit: Unit, bytes: &'static str, items: &'static str) -> &'static str {
    match unit {
        Unit::Bytes => bytes,
        _ => items,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn describe() {
    use metrics::{Unit as U, describe_counter, describe_gauge};
    describe_counter!(
        "weir_stage_chunks_in_total",
        U::Count,
        "Chunks a pipeline stage took in"
    );
    describe_counter!(
        "weir_stage_chunks_out_total",
        U::Count,
        "Chunks a pipeline stage put out"
    );
    describe_counter!(
        "weir_stage_bytes_in_total",
        U::Bytes,
        "Bytes a pipeline stage took in"
    );
    describe_counter!(
        "weir_stage_bytes_out_total",
        U::Bytes,
        "Bytes a pipeline stage put out"
    );
    describe_counter!(
        "weir_stage_items_in_total",
        U::Count,
        "Items a pipeline stage took in"
    );
    describe_counter!(
        "weir_stage_items_out_total",
        U::Count,
        "Items a pipeline stage put out"
    );
    describe_counter!(
        "weir_stage_full_events_total",
        U::Count,
        "Times a stage's output buffer turned full (write() returned false)"
    );
    describe_counter!(
        "weir_stage_blocked_microseconds_total",
        U::Microseconds,
        "Time a stage waited for room in a full downstream buffer"
    );
    describe_counter!(
        "weir_stage_starved_microseconds_total",
        U::Microseconds,
        "Time a stage waited for data from an empty upstream buffer"
    );
    describe_gauge!(
        "weir_stage_buffered_bytes",
        U::Bytes,
        "Bytes in a stage's output buffer"
    );
    describe_gauge!(
        "weir_stage_buffered_items",
        U::Count,
        "Items in a stage's output buffer"
    );
}

impl Publisher {
    /// Registers the series of each stage, labelled with its name and
    /// `labels`.
    pub(crate) fn new<'a>(meters: impl Iterator<Item = &'a StageMeters>, labels: &[Label]) -> Self {
        describe();
        let stages = meters
            .map(|m| {
                let mut l = labels.to_vec();
                l.push(Label::new("stage", m.name.to_string()));
                let f = m.figures();
                let buffered = (!m.outputs.is_empty()).then(|| {
                    let name = amount(
                        f.unit_out,
                        "weir_stage_buffered_bytes",
                        "weir_stage_buffered_items",
                    );
                    metrics::gauge!(name, l.clone())
                });
                StageSeries {
                    meters: m.clone(),
                    chunks_in: metrics::counter!("weir_stage_chunks_in_total", l.clone()),
                    amount_in: metrics::counter!(
                        amount(
                            f.unit_in,
                            "weir_stage_bytes_in_total",
                            "weir_stage_items_in_total"
                        ),
                        l.clone()
                    ),
                    chunks_out: metrics::counter!("weir_stage_chunks_out_total", l.clone()),
                    amount_out: metrics::counter!(
                        amount(
                            f.unit_out,
                            "weir_stage_bytes_out_total",
                            "weir_stage_items_out_total"
                        ),
                        l.clone()
                    ),
                    full: metrics::counter!("weir_stage_full_events_total", l.clone()),
                    blocked: metrics::counter!("weir_stage_blocked_microseconds_total", l.clone()),
                    starved: metrics::counter!("weir_stage_starved_microseconds_total", l.clone()),
                    buffered,
                    sent: Sent::default(),
                }
            })
            .collect();
        Publisher { stages }
    }

    /// Adds to each series what happened since the last call.
    pub(crate) fn publish(&mut self) {
        for s in &mut self.stages {
            let f: Figures = s.meters.figures();
            let sent = &mut s.sent;
            add(&s.chunks_in, &mut sent.chunks_in, f.chunks_in);
            add(&s.amount_in, &mut sent.amount_in, f.bytes_in);
            add(&s.chunks_out, &mut sent.chunks_out, f.chunks_out);
            add(&s.amount_out, &mut sent.amount_out, f.bytes_out);
            add(&s.full, &mut sent.full, f.full);
            add(&s.blocked, &mut sent.blocked_us, micros(f.blocked));
            add(&s.starved, &mut sent.starved_us, micros(f.starved));
            if let Some(g) = &s.buffered {
                if f.buffered >= sent.buffered {
                    g.increment((f.buffered - sent.buffered) as f64);
                } else {
                    g.decrement((sent.buffered - f.buffered) as f64);
                }
                sent.buffered = f.buffered;
            }
        }
    }

    /// Publishes every [`INTERVAL`] while `run` goes, and returns its
    /// output. The clock is the process's [`Ticker`], not Tokio's timer,
    /// so this works on a runtime without one.
    pub(crate) async fn while_running<F: std::future::Future>(&mut self, run: F) -> F::Output {
        let ticker = Ticker::get(INTERVAL);
        let id = ticker.id();
        let _registered = Unregister(ticker, id);
        let mut seen = ticker.ticks();
        let mut run = std::pin::pin!(run);
        // The tick count when our waker was last registered, and that waker:
        // the ticker drains its wakers at each tick, so the registration
        // holds until the count moves. Re-registering only then keeps the
        // ticker's lock out of every poll (a run polled in the caller's
        // task, `Pipeline::in_one_task`, may pend every few items).
        let mut registered: Option<(u64, std::task::Waker)> = None;
        std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(out) = run.as_mut().poll(cx) {
                return std::task::Poll::Ready(out);
            }
            // Register first, then look: a tick in between is not missed.
            let before = ticker.ticks();
            let stale = match &registered {
                Some((at, w)) => *at != before || !w.will_wake(cx.waker()),
                None => true,
            };
            if stale {
                ticker.register(id, cx.waker());
                registered = Some((before, cx.waker().clone()));
            }
            let now = ticker.ticks();
            if now != seen {
                seen = now;
                self.publish();
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// Publishes the final figures and takes the run's amount back out of
    /// the gauges.
    pub(crate) fn finish(mut self) {
        self.publish();
        for s in &self.stages {
            if let Some(g) = &s.buffered {
                g.decrement(s.sent.buffered as f64);
            }
        }
    }
}

/// Adds `now - *sent` to `counter` (a counter never goes down: a total
/// that did, which the meters never do, adds nothing).
fn add(counter: &Counter, sent: &mut u64, now: u64) {
    if now > *sent {
        counter.increment(now - *sent);
        *sent = now;
    }
}
