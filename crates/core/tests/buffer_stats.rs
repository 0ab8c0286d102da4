//! Stats on every buffer, and the `tracing` events (target
//! `weir::backpressure`): DEBUG when a backpressure episode starts and ends,
//! TRACE at each Full/drain turn (see also `buffer_tracing.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use weir_core::{BufferConfig, Limit, Written, buffer};

// Real time: the wait counters use the wall clock, not tokio's test clock.
#[tokio::test]
async fn stats_count_everything() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(10))
        .low_water_mark(0)
        .build();
    assert_eq!(
        tx.write(Bytes::from_static(b"12345")).unwrap(),
        Written::Ready
    );
    assert_eq!(
        tx.write(Bytes::from_static(b"678901")).unwrap(),
        Written::Full
    );
    let reader = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let a = rx.next().await.unwrap().unwrap();
        let b = rx.next().await.unwrap().unwrap();
        (a.len() + b.len(), rx)
    });
    tx.drained().await.unwrap();
    let (n, rx) = reader.await.unwrap();
    assert_eq!(n, 11);
    let s = rx.stats();
    assert_eq!((s.writes, s.written, s.reads, s.read), (2, 11, 2, 11));
    assert_eq!(
        (s.full_events, s.drains, s.peak_buffered, s.buffered),
        (1, 1, 11, 0)
    );
    assert!(
        s.writer_wait >= Duration::from_millis(250),
        "{:?}",
        s.writer_wait
    );
    assert_eq!(s.unit, weir_core::Unit::Bytes);
    assert_eq!((s.high_water_mark, s.low_water_mark), (10, 0));
}

#[tokio::test]
async fn reader_wait_is_counted() {
    let (mut tx, mut rx) = buffer::<u8>(Limit::items(4));
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(1).await.unwrap();
        tx.end();
    });
    assert_eq!(rx.next().await.unwrap().unwrap(), 1);
    writer.await.unwrap();
    assert!(rx.stats().reader_wait >= Duration::from_millis(100));
}

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<Seen>>>);

/// An event's level, target, `buffer` field and message.
type Seen = (tracing::Level, String, String, String);

struct Fields(String, String);
impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.0 = format!("{value:?}"),
            "buffer" => self.1 = format!("{value:?}").trim_matches('"').to_string(),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.0 = value.to_string(),
            "buffer" => self.1 = value.to_string(),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields(String::new(), String::new());
        event.record(&mut f);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((*meta.level(), meta.target().to_string(), f.1, f.0));
    }
}

#[test]
fn full_and_drained_are_traced_with_the_buffer_name() {
    use tracing::Level;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    tracing::subscriber::with_default(subscriber, || {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u8>::items(2))
            .name("gzip")
            .build();
        let _ = tx.write(1).unwrap();
        let _ = tx.write(2).unwrap();
        rx.try_next().unwrap();
        // The drain is noticed when the writer next looks (at once if it is
        // waiting in drained()).
        assert!(!tx.is_full());
        tx.end();
        // The reader takes the rest and finds the end: the episode is over.
        assert_eq!(rx.try_next(), Some(2));
        assert_eq!(rx.try_next(), None);
    });
    let events = captured.0.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .all(|(_, target, buffer, _)| target == "weir::backpressure" && buffer == "gzip"),
        "{events:?}"
    );
    let seen: Vec<(Level, &str)> = events
        .iter()
        .map(|(level, _, _, msg)| (*level, msg.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            (Level::DEBUG, "backpressure started"),
            (Level::TRACE, "buffer full"),
            (Level::TRACE, "buffer drained"),
            (Level::DEBUG, "buffer ended"),
            (Level::DEBUG, "backpressure ended"),
        ],
        "{events:?}"
    );
    assert!(events[4].3.ends_with("the stream is over"), "{events:?}");
}

/// Node emits no `'drain'` once `end()` was called: a writer that got `Full`
/// and then ended has nothing to resume, so the reader taking everything
/// counts no drain and logs none (the end is still traced).
#[test]
fn no_drain_is_counted_or_traced_after_end() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let stats = tracing::subscriber::with_default(subscriber, || {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u8>::items(2))
            .name("gzip")
            .build();
        assert_eq!(tx.write(1).unwrap(), Written::Ready);
        assert_eq!(tx.write(2).unwrap(), Written::Full);
        tx.end();
        let got: Vec<u8> = futures::executor::block_on(rx.by_ref().map(|c| c.unwrap()).collect());
        assert_eq!(got, [1, 2]);
        assert!(!tx.is_full());
        rx.stats()
    });
    assert_eq!((stats.full_events, stats.drains), (1, 0), "{stats:?}");
    let events = captured.0.lock().unwrap().clone();
    assert!(
        events.iter().all(|(_, _, _, msg)| !msg.contains("drained")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(_, _, _, msg)| msg.contains("ended")),
        "{events:?}"
    );
}
