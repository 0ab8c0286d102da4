//! Q3: `pipe()` vs a manual `write()` loop.
//!
//! Run: `cargo run --release --example q3_pipe_vs_manual`
//!
//! The same transfer — 64 MiB from a fast source into a consumer that takes
//! about 200 MB/s — done three ways:
//! 1. `pipe(src, dst)`: backpressure handled for you (Node's `.pipe()`);
//! 2. a manual loop that checks `write()`'s answer and awaits `drained()`
//!    (Node's `if (!ok) { readable.pause(); once('drain', resume) }`);
//! 3. a manual loop that ignores the answer, on an `Unbounded` buffer — the
//!    mistake Q3's follow-up warns about.
//!
//! Each prints how much was buffered at most: the first two stay at the
//! high-water mark, the third holds nearly everything.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use weir::pipe::pipe;
use weir::{BufferConfig, Limit, Overflow, Reader, Written, readable};

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 1024; // 64 MiB

fn source() -> impl futures::Stream<Item = Result<Bytes, weir::Error>> + Send + 'static {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    readable::from_iter((0..CHUNKS).map(move |_| chunk.clone()))
}

/// The slow consumer: reads the buffer at roughly 200 MB/s.
async fn consume(mut rx: Reader<Bytes>) -> Result<u64, weir::Error> {
    let mut total = 0u64;
    let per_chunk = Duration::from_secs_f64(CHUNK as f64 / 200e6);
    let start = Instant::now();
    while let Some(chunk) = rx.next().await {
        total += chunk?.len() as u64;
        let due = per_chunk * (total / CHUNK as u64) as u32;
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    Ok(total)
}

fn consumer_buffer(policy: Overflow) -> (weir::Writer<Bytes>, Reader<Bytes>) {
    BufferConfig::new(Limit::<Bytes>::bytes(1024 * 1024))
        .overflow(policy)
        .name("consumer")
        .build()
}

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    println!(
        "{:<34} {:>10} {:>14} {:>12}",
        "way", "time", "peak buffered", "Full events"
    );

    // 1. pipe(): the buffer's Writer is a Sink; pipe() waits for room.
    let (tx, rx) = consumer_buffer(Overflow::Error);
    let handle = tx.stats_handle();
    let t = Instant::now();
    let consumer = tokio::spawn(consume(rx));
    pipe(source(), tx).await?;
    consumer.await.map_err(weir::Error::other)??;
    let s = handle.stats();
    row("pipe(src, dst)", t, s.peak_buffered, s.full_events);

    // 2. Manual, done right: stop on Full, resume on drained().
    let (mut tx, rx) = consumer_buffer(Overflow::Error);
    let t = Instant::now();
    let consumer = tokio::spawn(consume(rx));
    let mut src = std::pin::pin!(source());
    while let Some(chunk) = src.next().await {
        if tx.write(chunk?)? == Written::Full {
            tx.drained().await?; // readable.pause() ... once('drain', resume)
        }
    }
    tx.end();
    consumer.await.map_err(weir::Error::other)??;
    let s = tx.stats();
    row(
        "manual write()/drained()",
        t,
        s.peak_buffered,
        s.full_events,
    );

    // 3. Manual, done wrong: write() in a loop, answer ignored. Only the
    //    Unbounded policy lets this run at all (the default would stop it with
    //    an overflow error at twice the high-water mark).
    let (mut tx, rx) = consumer_buffer(Overflow::Unbounded);
    let t = Instant::now();
    let consumer = tokio::spawn(consume(rx));
    let mut src = std::pin::pin!(source());
    while let Some(chunk) = src.next().await {
        let _ignored = tx.write(chunk?)?; // the bug
    }
    tx.end();
    let peak_now = tx.buffered();
    consumer.await.map_err(weir::Error::other)??;
    let s = tx.stats();
    row(
        "manual, ignoring write()",
        t,
        s.peak_buffered,
        s.full_events,
    );
    println!(
        "\nignoring backpressure buffered {} at once ({} when the producer finished); \
         pipe() and the checked loop never held more than the 1 MiB high-water mark.",
        common::human(s.peak_buffered as u64),
        common::human(peak_now as u64)
    );
    Ok(())
}

fn row(way: &str, t: Instant, peak: usize, full: u64) {
    println!(
        "{way:<34} {:>9.2}s {:>14} {full:>12}",
        t.elapsed().as_secs_f64(),
        common::human(peak as u64)
    );
}
