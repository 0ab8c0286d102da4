//! Q7: TCP backpressure — a fast sender and a slow receiver in one program.
//!
//! Run: `cargo run --release --example q7_tcp_slow_receiver [MiB] [receiver MiB/s]`
//! (defaults 48 and 8)
//!
//! The sender writes Node-style into a weir `TcpWriter`: `write()` answers
//! `Full` once the socket's write buffer reaches its high mark (256 KiB
//! here), and the sender then waits for `drained()` (`'drain'`). The
//! receiver reads the socket through a throttle, so the kernel's buffers
//! fill, the writer's task stalls, and the weir buffer fills. Every half
//! second the program prints what was sent and received, what the sender's
//! buffer holds (flat at its mark, whatever the size), and the Full/drain
//! episodes so far. At the end the same transfer without waiting for
//! `'drain'` is refused with an overflow error instead of growing memory.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use weir::Written;
use weir::io::net::{TcpStream, listen};
use weir::pipe::Throttle;

const CHUNK: usize = 64 * 1024;
const HWM: usize = 256 * 1024;

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(48);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let total = mib << 20;

    let listener = listen("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The slow receiver: reads at `rate` MiB/s and counts.
    let receiver = tokio::spawn(async move {
        let (sock, _) = listener.accept().await?;
        let (reader, _writer) = sock.into_split();
        let counter = reader.counter();
        let mut slow = std::pin::pin!(Throttle::new(reader, rate << 20));
        let mut got = 0u64;
        while let Some(chunk) = slow.next().await {
            got += chunk?.len() as u64;
        }
        debug_assert_eq!(got, counter.get());
        Ok::<u64, weir::Error>(got)
    });

    let (_reader, mut writer) = TcpStream::builder()
        .write_high_water_mark(HWM)
        .connect(addr)
        .await?
        .into_split();
    let stats = writer.stats_handle();
    let sent_counter = writer.counter();
    println!(
        "sending {} to a receiver reading {rate} MiB/s; write high mark {}",
        common::human(total),
        common::human(HWM as u64)
    );
    println!(
        "{:>6}  {:>10}  {:>10}  {:>10}  {:>6}  {:>6}  {:>9}",
        "time", "queued", "on wire", "buffered", "full", "drain", "rss"
    );
    let start = Instant::now();
    let monitor = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let s = stats.stats();
            println!(
                "{:>5.1}s  {:>10}  {:>10}  {:>10}  {:>6}  {:>6}  {:>9}",
                start.elapsed().as_secs_f64(),
                common::human(s.written),
                common::human(sent_counter.get()),
                common::human(s.buffered as u64),
                s.full_events,
                s.drains,
                common::human(common::rss().map_or(0, |r| r.0)),
            );
        }
    });

    // The sender, as in the seed's answer: write while write() says go on,
    // then wait for 'drain'.
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let mut queued = 0u64;
    let mut max_buffered = 0;
    while queued < total {
        let piece = chunk.slice(..(total - queued).min(CHUNK as u64) as usize);
        queued += piece.len() as u64;
        let answer = writer.write(piece)?;
        max_buffered = max_buffered.max(writer.buffered());
        if answer == Written::Full {
            writer.drained().await?; // 'drain'
        }
    }
    let written = writer.finish().await?;
    let received = receiver
        .await
        .map_err(|e| weir::Error::msg(e.to_string()))??;
    monitor.abort();
    let s = writer.stats();
    println!(
        "\nsent {} in {:.1}s, received {}; the sender's buffer peaked at {} (mark {} + one chunk), {} Full / {} drain episodes",
        common::human(written),
        start.elapsed().as_secs_f64(),
        common::human(received),
        common::human(s.peak_buffered as u64),
        common::human(HWM as u64),
        s.full_events,
        s.drains
    );
    assert!(max_buffered <= HWM + CHUNK);

    // What if the sender ignores Full? The buffer refuses past its hard cap
    // (twice the mark) instead of queueing everything in memory.
    let listener = listen("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let _stalled = tokio::spawn(async move {
        let held = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(held);
    });
    let (_r, mut careless) = TcpStream::builder()
        .write_high_water_mark(HWM)
        .connect(addr)
        .await?
        .into_split();
    let mut pushed = 0u64;
    let refusal = loop {
        match careless.write(chunk.clone()) {
            Ok(_) => pushed += CHUNK as u64,
            Err(e) => break e.into_parts().1,
        }
    };
    println!(
        "ignoring Full: {} accepted (the cap, plus what the writer's task had already handed to the socket), then refused: {refusal}; buffered {}",
        common::human(pushed),
        common::human(careless.buffered() as u64)
    );
    Ok(())
}
