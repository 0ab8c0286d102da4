//! Q1: what backpressure is, and handling it by hand.
//!
//! Run: `cargo run --example q1_write_and_drain`
//!
//! A fast producer writes into a writable whose reader is slow. Node's loop
//! — `write()` until it returns `false`, then wait for `'drain'` — is
//! `Writer::write` until it answers `Written::Full`, then `drained().await`.
//! The program prints each time backpressure starts and stops, and shows
//! that the buffer never grew past its high-water mark.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use weir::{BufferConfig, Limit, Written};

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    // Node's classic default highWaterMark for a writable: 16 KiB.
    let (mut writable, mut reader) = BufferConfig::new(Limit::<Bytes>::bytes(16 * 1024))
        .low_water_mark(0) // Node's 'drain' fires when the buffer is empty
        .name("slow-writable")
        .build();

    // The slow consumer: 1 KiB every millisecond, about 1 MB/s.
    let consumer = tokio::spawn(async move {
        let mut received = 0usize;
        while let Some(chunk) = reader.next().await {
            received += chunk?.len();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok::<_, weir::Error>(received)
    });

    let start = Instant::now();
    let line = Bytes::from(format!("{:<1023}\n", "GET /index.html 200"));
    let total_lines = 200;
    let mut episode = 0;
    let mut i = 0;
    while i < total_lines {
        // The Q1 pattern: write while the answer is Ready ...
        let mut ok = true;
        while i < total_lines && ok {
            ok = writable.write(line.clone())? == Written::Ready;
            i += 1;
        }
        // ... and on Full, wait for 'drain' before writing more.
        if !ok && i < total_lines {
            episode += 1;
            let full_at = writable.buffered();
            let t = Instant::now();
            writable.drained().await?;
            if episode <= 5 {
                println!(
                    "backpressure #{episode}: write() said Full at {full_at} bytes buffered; \
                     'drain' came {:>3} ms later (buffered now {})",
                    t.elapsed().as_millis(),
                    writable.buffered()
                );
            }
        }
    }
    writable.end();
    let stats = writable.stats();
    let received = consumer.await.map_err(weir::Error::other)??;

    println!("...");
    println!(
        "wrote {} lines ({} bytes) in {:.2} s; the consumer received {received} bytes",
        total_lines,
        stats.written,
        start.elapsed().as_secs_f64()
    );
    println!(
        "Full episodes: {}, drains: {}, peak buffered: {} bytes (high-water mark {} bytes), producer waited {:.2} s",
        stats.full_events,
        stats.drains,
        stats.peak_buffered,
        stats.high_water_mark,
        stats.writer_wait.as_secs_f64()
    );
    assert!(stats.peak_buffered <= stats.high_water_mark);
    Ok(())
}
