//! What breaks when backpressure is ignored: bounded vs `Unbounded`, side by
//! side.
//!
//! Run: `cargo run --release --example ignore_backpressure`
//!
//! A producer writes 1 KiB log lines as fast as it can and never looks at
//! `write()`'s answer; the consumer handles about 20 MB/s. With Node's
//! behaviour (`Overflow::Unbounded`) the buffer — and the process — grows by
//! what the producer outpaces the consumer: here hundreds of MiB. With weir's
//! default policy the same code gets an error as soon as the buffer reaches
//! its hard cap (twice the high-water mark), and memory stays flat. The
//! third run is the fix: wait for `drained()` on `Full`.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use weir::{BufferConfig, Limit, Overflow, Reader, Written};

const LINES: usize = 400_000; // 400 MiB of 1 KiB lines
const CONSUMER_RATE: f64 = 20e6; // bytes per second

async fn slow_consumer(mut rx: Reader<Bytes>, stop: Duration) -> u64 {
    let start = Instant::now();
    let mut taken = 0u64;
    while let Some(Ok(chunk)) = rx.next().await {
        taken += chunk.len() as u64;
        let due = Duration::from_secs_f64(taken as f64 / CONSUMER_RATE);
        if let Some(w) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(w).await;
        }
        if start.elapsed() > stop {
            break; // enough to make the point
        }
    }
    taken
}

struct Outcome {
    written: u64,
    peak_buffered: usize,
    rss_growth: u64,
    error: Option<String>,
}

async fn run(policy: Overflow, respect_full: bool) -> Outcome {
    let before = common::rss().map_or(0, |r| r.0);
    let (mut tx, rx) = BufferConfig::new(Limit::<Bytes>::bytes(64 * 1024))
        .overflow(policy)
        .name("logs")
        .build();
    let consumer = tokio::spawn(slow_consumer(rx, Duration::from_secs(2)));
    let mut written = 0u64;
    let mut error = None;
    let mut rss_peak = before;
    for i in 0..LINES {
        let line = Bytes::from(format!("{i:>10} {:>1012}\n", "GET /api/items 200"));
        let n = line.len() as u64;
        match tx.write(line) {
            Ok(Written::Full) if respect_full => {
                if tx.drained().await.is_err() {
                    error = Some("the consumer stopped after 2 s".into());
                    break;
                }
            }
            Ok(_) => {}
            Err(e) if e.error().is_reader_gone() => {
                error = Some("the consumer stopped after 2 s".into());
                break;
            }
            Err(e) => {
                error = Some(format!("write failed: {e}"));
                break;
            }
        }
        written += n;
        if i % 10_000 == 0 {
            rss_peak = rss_peak.max(common::rss().map_or(0, |r| r.0));
            tokio::task::yield_now().await; // let the consumer run a little
        }
        if written >= 60 * 1024 * 1024 && respect_full {
            break; // the well-behaved producer is paced: no need to wait 20 s
        }
    }
    rss_peak = rss_peak.max(common::rss().map_or(0, |r| r.0));
    let peak_buffered = tx.stats().peak_buffered;
    drop(tx);
    let _ = consumer.await;
    Outcome {
        written,
        peak_buffered,
        rss_growth: rss_peak.saturating_sub(before),
        error,
    }
}

#[tokio::main]
async fn main() {
    println!(
        "{:<40} {:>12} {:>14} {:>12}  outcome",
        "producer ignoring write()'s answer", "written", "peak buffered", "RSS growth"
    );
    for (label, policy, respect) in [
        ("Unbounded (Node's behaviour)", Overflow::Unbounded, false),
        ("weir default (Overflow::Error)", Overflow::Error, false),
        ("fixed: wait for drained() on Full", Overflow::Error, true),
    ] {
        let o = run(policy, respect).await;
        println!(
            "{label:<40} {:>12} {:>14} {:>12}  {}",
            common::human(o.written),
            common::human(o.peak_buffered as u64),
            common::human(o.rss_growth),
            o.error.unwrap_or_else(|| "ran to the end".into())
        );
    }
}
