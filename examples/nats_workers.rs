//! Scale-out on one machine: a producer, three workers sharing one durable
//! JetStream consumer, and a sink, all through a NATS server.
//!
//! Run: start a JetStream server on loopback (`nats-server -js`, or
//! `nats-server -js -p 4333` and `NATS_URL=nats://127.0.0.1:4333`), then
//! `cargo run --release --example nats_workers [RECORDS]` (default 20000).
//! The example deletes and recreates its two streams, `WEIR_ORDERS` and
//! `WEIR_TOTALS`.
//!
//! The producer publishes records Node-style into a `JetStreamSink`
//! (`write()` answers `Full` when its window of unacknowledged publishes is
//! full; it then waits for `drained()`). Each worker is a weir pipeline:
//! the shared consumer as its source (it pulls only when its buffer has
//! room), a transform that keeps each record's acknowledgement handle, a
//! `batch` stage, and a sink that publishes the batch to the second stream
//! and commits the handles only once that stream has acknowledged it
//! (at-least-once end to end). One worker is deliberately slow: it gets
//! fewer records, because it pulls less often. The sink reads the second
//! stream to the end and checks that every record arrived.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, TryStreamExt};
use weir::Written;
use weir::nats::async_nats::jetstream::{self, stream};
use weir::nats::{Ack, Acked, JetStreamSink, JetStreamSource};
use weir::pipe::Pipeline;

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let records: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let js = weir::nats::connect(&url).await?;
    for (name, subject) in [("WEIR_ORDERS", "orders.new"), ("WEIR_TOTALS", "totals.out")] {
        let _ = js.delete_stream(name).await;
        js.create_stream(stream::Config {
            name: name.to_string(),
            subjects: vec![subject.to_string()],
            ..Default::default()
        })
        .await
        .map_err(weir::Error::other)?;
    }

    // The producer, Node-style: write until Full, then wait for 'drain'.
    let mut orders = JetStreamSink::builder(js.clone(), "orders.new")
        .window(512)
        .build()?;
    let mut fulls = 0;
    for i in 0..records {
        let record = format!("order={i} amount={}", (i * 7919) % 1000);
        if orders.write(Bytes::from(record))? == Written::Full {
            fulls += 1;
            orders.drained().await?;
        }
    }
    orders.close().await?;
    println!(
        "producer: {records} records acknowledged by WEIR_ORDERS ({fulls} Full/drain episodes)"
    );

    // Three workers on one durable consumer; worker 3 is slow.
    let mut workers = Vec::new();
    for id in 1..=3u32 {
        let js = js.clone();
        workers.push(tokio::spawn(async move { worker(js, id).await }));
    }
    for (i, w) in workers.into_iter().enumerate() {
        let done = w
            .await
            .map_err(|e| weir::Error::panicked(e.to_string()))??;
        println!("worker {}: {done} records transformed and committed", i + 1);
    }

    // The sink: read the totals to the end and check them.
    let mut b = JetStreamSource::builder(js.clone(), "WEIR_TOTALS", "sink");
    b.idle(Duration::from_secs(1));
    let mut totals = b.open().await?;
    let stats = totals.stats();
    let mut seen = HashSet::new();
    while let Some(item) = totals.try_next().await? {
        let (line, ack) = item.into_parts();
        let text = String::from_utf8_lossy(&line).into_owned();
        let order = text.split_whitespace().next().unwrap_or("").to_string();
        seen.insert(order);
        ack.commit().await?;
    }
    js.client().flush().await.map_err(weir::Error::other)?;
    let broker = stats.broker().await?;
    println!(
        "sink: {} distinct orders of {records} ({} messages read, {} were duplicates after a redelivery); \
         broker: {} pending, {} acks pending",
        seen.len(),
        stats.counts().received,
        stats.counts().received - seen.len() as u64,
        broker.pending,
        broker.ack_pending
    );
    if seen.len() as u64 != records {
        return Err(weir::Error::msg("some records are missing"));
    }
    Ok(())
}

/// One worker: the shared consumer → transform (keeping the handles) →
/// batches of up to 100 → publish to WEIR_TOTALS, then commit. Ends when
/// nothing arrives for a second.
async fn worker(js: jetstream::Context, id: u32) -> Result<u64, weir::Error> {
    let mut b = JetStreamSource::builder(js.clone(), "WEIR_ORDERS", "workers");
    b.batch(64).idle(Duration::from_secs(1));
    let source = b.open().await?;
    let slow = id == 3;
    let out = JetStreamSink::builder(js, "totals.out")
        .window(256)
        .build()?;
    let out = Arc::new(tokio::sync::Mutex::new(out));
    let done = Arc::new(AtomicU64::new(0));
    let counted = done.clone();
    Pipeline::from(source)
        .named("orders")
        .high_water_mark(1 << 20, 64)
        .map("total", move |order: Acked<Bytes>| {
            order.map(|b| {
                let text = String::from_utf8_lossy(&b);
                let amount: u64 = text
                    .rsplit('=')
                    .next()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                Bytes::from(format!("{text} total={} worker={id}", amount * 2))
            })
        })
        .batch("batch", 100, Duration::from_millis(50))?
        .into_named(
            "publish",
            weir::writable::from_fn(move |batch: Vec<Acked<Bytes>>| {
                let out = out.clone();
                let counted = counted.clone();
                async move {
                    let mut out = out.lock().await;
                    let mut acks: Vec<Ack> = Vec::with_capacity(batch.len());
                    for item in batch {
                        let (line, ack) = item.into_parts();
                        out.feed(line).await?;
                        acks.push(ack);
                    }
                    // Every line acknowledged by WEIR_TOTALS: now commit.
                    out.flush().await?;
                    if slow {
                        tokio::time::sleep(Duration::from_millis(150)).await;
                    }
                    counted.fetch_add(acks.len() as u64, Ordering::Relaxed);
                    Ack::merge(acks).commit().await
                }
            }),
        )
        .run()
        .await?;
    Ok(done.load(Ordering::Relaxed))
}
