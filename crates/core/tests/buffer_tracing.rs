//! Backpressure tracing is per episode, not per chunk: one DEBUG event when
//! a buffer turns full with no episode open, one when the episode ends (the
//! reader found the buffer empty, or the stream closed) with its duration;
//! each Full/drain turn is a TRACE event (target `weir::backpressure`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(not(loom))]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use weir_core::{BufferConfig, Limit};

/// One captured event: level, message and its fields as text.
#[derive(Debug, Clone)]
struct Event {
    level: tracing::Level,
    message: String,
    fields: BTreeMap<String, String>,
}

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<Event>>>);

struct Fields<'a>(&'a mut Event);
impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}").trim_matches('"').to_string();
        if field.name() == "message" {
            self.0.message = v;
        } else {
            self.0.fields.insert(field.name().to_string(), v);
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "weir::backpressure" {
            return;
        }
        let mut e = Event {
            level: *event.metadata().level(),
            message: String::new(),
            fields: BTreeMap::new(),
        };
        event.record(&mut Fields(&mut e));
        self.0.lock().unwrap().push(e);
    }
}

const MIB: usize = 1 << 20;

/// 1 MiB through a 32 KiB buffer in `chunk`-byte chunks to a reader that
/// yields after every chunk it takes (slower than the writer), with every
/// event captured. Returns the events and the buffer's stats.
fn one_mib_through_32k(chunk: usize) -> (Vec<Event>, weir_core::Stats) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let stats = tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(32 * 1024))
                .name("slow")
                .build();
            let reader = async move {
                let mut n = 0;
                while let Some(c) = rx.next().await {
                    n += c.unwrap().len();
                    tokio::task::yield_now().await;
                }
                (n, rx.stats())
            };
            let writer = async move {
                for _ in 0..MIB / chunk {
                    tx.send(Bytes::from(vec![7u8; chunk])).await.unwrap();
                }
                tx.end();
            };
            let ((n, stats), ()) = tokio::join!(reader, writer);
            assert_eq!(n, MIB);
            stats
        })
    });
    let events = captured.0.lock().unwrap().clone();
    (events, stats)
}

#[test]
fn a_slow_reader_costs_two_debug_events_per_episode_not_per_chunk() {
    for chunk in [1024, 4096, 16 * 1024] {
        let (events, stats) = one_mib_through_32k(chunk);
        let debug: Vec<&Event> = events
            .iter()
            .filter(|e| e.level == tracing::Level::DEBUG)
            .collect();
        let started = debug
            .iter()
            .filter(|e| e.message.contains("backpressure started"))
            .count();
        let ended: Vec<&&Event> = debug
            .iter()
            .filter(|e| e.message.contains("backpressure ended"))
            .collect();
        // Many Full turns (one per ~16 KiB, the gap between the marks)…
        assert!(stats.full_events >= 30, "chunk {chunk}: {stats:?}");
        // …but one backpressure episode: the reader never caught up.
        assert_eq!((started, ended.len()), (1, 1), "chunk {chunk}: {debug:?}");
        // The end says how long it lasted and how many Full turns it saw.
        let end = &ended[0].fields;
        assert!(end.contains_key("elapsed.ms"), "{end:?}");
        assert_eq!(end["full.count"], stats.full_events.to_string(), "{end:?}");
        assert_eq!(end["buffer"], "slow");
        // Per MiB: a handful of DEBUG events (start, end, "ended").
        assert!(
            debug.len() <= 4,
            "chunk {chunk}: {} debug events per MiB: {debug:?}",
            debug.len()
        );
        // Each Full/drain turn is still there, at TRACE.
        let trace_full = events
            .iter()
            .filter(|e| e.level == tracing::Level::TRACE && e.message.contains("buffer full"))
            .count() as u64;
        assert_eq!(trace_full, stats.full_events, "chunk {chunk}");
    }
}
