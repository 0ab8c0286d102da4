use std::fmt;

use metrics::{Counter, Gauge, Label};
use weir_core::{StatsHandle, Unit};

/// Publishes one buffer's [`Stats`](weir_core::Stats) to the `metrics`
/// facade: for a buffer outside a pipeline (a pipeline's own buffers are
/// published by its run, as stage figures).
///
/// Each [`publish`](BufferMetrics::publish) adds to the counters what the
/// buffer did since the last call and moves the gauge to what it holds
/// now; call it on a timer (and once at the end). Dropping it takes its
/// amount back out of the gauge. Series, labelled `buffer` (the buffer's
/// name, empty if it has none) and any labels given:
///
/// | series | kind | from `Stats` |
/// |---|---|---|
/// | `weir_buffer_writes_total`, `weir_buffer_reads_total` | counter | `writes`, `reads` (chunks) |
/// | `weir_buffer_written_bytes_total`, `weir_buffer_read_bytes_total` (`items` in object mode) | counter | `written`, `read` |
/// | `weir_buffer_full_events_total`, `weir_buffer_drains_total`, `weir_buffer_dropped_total` | counter | `full_events`, `drains`, `dropped` |
/// | `weir_buffer_writer_wait_microseconds_total`, `weir_buffer_reader_wait_microseconds_total` | counter | `writer_wait`, `reader_wait` |
/// | `weir_buffer_buffered_bytes` (`items`) | gauge | `buffered` |
///
/// # Examples
/// ```
/// use weir::pipe::metrics::{BufferMetrics, TextRecorder};
/// use weir::{BufferConfig, Limit};
///
/// let recorder = TextRecorder::new();
/// let labels = [("buffer", "events")];
/// metrics::with_local_recorder(&recorder, || {
///     let (mut tx, _rx) = BufferConfig::new(Limit::<u32>::items(4)).name("events").build();
///     let mut published = BufferMetrics::new(tx.stats_handle());
///     let _ = tx.write(7).unwrap();
///     published.publish();
///     assert_eq!(recorder.gauge("weir_buffer_buffered_items", &labels), Some(1.0));
/// }); // `published` dropped: its amount leaves the gauge
/// assert_eq!(recorder.counter("weir_buffer_writes_total", &labels), Some(1));
/// assert_eq!(recorder.gauge("weir_buffer_buffered_items", &labels), Some(0.0));
/// ```
pub struct BufferMetrics {
    handle: StatsHandle,
    counters: [Counter; 9],
    buffered: Gauge,
    /// What was added to each counter so far, in the order of `counters`.
    sent: [u64; 9],
    sent_buffered: usize,
}

impl BufferMetrics {
    /// Series for the buffer behind `handle`, labelled with its name.
    pub fn new(handle: StatsHandle) -> Self {
        BufferMetrics::with_labels(handle, Vec::<(String, String)>::new())
    }

    /// Series for the buffer behind `handle`, labelled with its name and
    /// `labels`.
    pub fn with_labels(
        handle: StatsHandle,
        labels: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        let mut l: Vec<Label> = labels
            .into_iter()
            .map(|(k, v)| Label::new(k.into(), v.into()))
            .collect();
        l.push(Label::new(
            "buffer",
            handle.name().unwrap_or("").to_string(),
        ));
        let bytes = matches!(handle.stats().unit, Unit::Bytes);
        let pick = |b: &'static str, i: &'static str| if bytes { b } else { i };
        let c = |name: &'static str| metrics::counter!(name, l.clone());
        let counters = [
            c("weir_buffer_writes_total"),
            c(pick(
                "weir_buffer_written_bytes_total",
                "weir_buffer_written_items_total",
            )),
            c("weir_buffer_reads_total"),
            c(pick(
                "weir_buffer_read_bytes_total",
                "weir_buffer_read_items_total",
            )),
            c("weir_buffer_full_events_total"),
            c("weir_buffer_drains_total"),
            c("weir_buffer_dropped_total"),
            c("weir_buffer_writer_wait_microseconds_total"),
            c("weir_buffer_reader_wait_microseconds_total"),
        ];
        let buffered = metrics::gauge!(
            pick("weir_buffer_buffered_bytes", "weir_buffer_buffered_items"),
            l.clone()
        );
        BufferMetrics {
            handle,
            counters,
            buffered,
            sent: [0; 9],
            sent_buffered: 0,
        }
    }

    /// Adds to the counters what the buffer did since the last call, and
    /// moves the gauge to what it holds now.
    pub fn publish(&mut self) {
        let s = self.handle.stats();
        let now = [
            s.writes,
            s.written,
            s.reads,
            s.read,
            s.full_events,
            s.drains,
            s.dropped,
            super::micros(s.writer_wait),
            super::micros(s.reader_wait),
        ];
        for ((counter, sent), now) in self.counters.iter().zip(&mut self.sent).zip(now) {
            super::add(counter, sent, now);
        }
        if s.buffered >= self.sent_buffered {
            self.buffered
                .increment((s.buffered - self.sent_buffered) as f64);
        } else {
            self.buffered
                .decrement((self.sent_buffered - s.buffered) as f64);
        }
        self.sent_buffered = s.buffered;
    }
}

impl Drop for BufferMetrics {
    fn drop(&mut self) {
        self.buffered.decrement(self.sent_buffered as f64);
    }
}

impl fmt::Debug for BufferMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferMetrics")
            .field("buffer", &self.handle.name())
            .finish_non_exhaustive()
    }
}
