//! Q5: HTTP backpressure — a fast server streaming a large body to a slow
//! client.
//!
//! Run: `cargo run --release --example q5_http_large_file [MiB] [client MiB/s]`
//! (defaults 512 and 64)
//!
//! The server generates a body of several hundred MiB into a weir buffer
//! (high mark 256 KiB) with `send().await` — the `pipe()` answer — and hyper
//! pulls the response from that buffer only when the socket has room. The
//! client (weir's own `get`, read through a throttle) takes the body at a
//! fixed, slow rate. Every half second the program prints what the server
//! has generated and the client received, the difference (what the server
//! read ahead: its buffer, hyper's and the kernel's), the server's buffered
//! bytes against its mark, and the process's resident memory: all flat,
//! while hundreds of MiB go through.

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http::{Request, Response};
use weir::io::http::{HttpServer, ResponseBody};
use weir::pipe::Throttle;
use weir::{BufferConfig, Limit, StatsHandle};

const CHUNK: usize = 64 * 1024;
const HWM: usize = 256 * 1024;

#[tokio::main]
async fn main() -> Result<(), weir::Error> {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
    let rate: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let size = mib << 20;

    let generated = Arc::new(AtomicU64::new(0));
    let buffer_stats: Arc<std::sync::Mutex<Option<StatsHandle>>> = Arc::default();
    let server = HttpServer::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/large", server.local_addr()?);
    let (g, b) = (generated.clone(), buffer_stats.clone());
    tokio::spawn(server.serve(move |_req: Request<hyper::body::Incoming>| {
        let (g, b) = (g.clone(), b.clone());
        async move {
            let (mut tx, rx) = BufferConfig::new(Limit::<Bytes>::bytes(HWM))
                .name("response")
                .build();
            if let Ok(mut slot) = b.lock() {
                *slot = Some(rx.stats_handle());
            }
            // The producer: as fast as the buffer lets it.
            tokio::spawn(async move {
                let chunk = Bytes::from(vec![b'.'; CHUNK]);
                let mut made = 0u64;
                while made < size {
                    let piece = chunk.slice(..(size - made).min(CHUNK as u64) as usize);
                    made += piece.len() as u64;
                    if tx.send(piece).await.is_err() {
                        return; // the client went away
                    }
                    g.store(made, Relaxed);
                }
                tx.end();
            });
            Response::new(ResponseBody::from_readable(rx).with_len(size))
        }
    }));

    println!(
        "streaming {} to a client reading {rate} MiB/s; server buffer mark {}",
        common::human(size),
        common::human(HWM as u64)
    );
    println!(
        "{:>6}  {:>10}  {:>10}  {:>10}  {:>10}  {:>6}  {:>9}",
        "time", "generated", "received", "read ahead", "buffered", "full", "rss"
    );
    let received = Arc::new(AtomicU64::new(0));
    // The most the table showed, so that the summary agrees with it (the
    // kernel updates VmHWM lazily, so it can lag behind a VmRSS sample).
    let (table_ahead, table_rss) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let monitor = {
        let (generated, received, buffer_stats) =
            (generated.clone(), received.clone(), buffer_stats.clone());
        let (table_ahead, table_rss) = (table_ahead.clone(), table_rss.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let (g, r) = (generated.load(Relaxed), received.load(Relaxed));
                let s = buffer_stats
                    .lock()
                    .ok()
                    .and_then(|s| s.as_ref().map(|h| h.stats()));
                let rss = common::rss().map_or(0, |r| r.0);
                table_ahead.fetch_max(g.saturating_sub(r), Relaxed);
                table_rss.fetch_max(rss, Relaxed);
                println!(
                    "{:>5.1}s  {:>10}  {:>10}  {:>10}  {:>10}  {:>6}  {:>9}",
                    start.elapsed().as_secs_f64(),
                    common::human(g),
                    common::human(r),
                    common::human(g.saturating_sub(r)),
                    common::human(s.as_ref().map_or(0, |s| s.buffered as u64)),
                    s.as_ref().map_or(0, |s| s.full_events),
                    common::human(rss),
                );
            }
        })
    };

    // The slow client.
    let response = weir::io::http::get(&url).await?;
    let body = Throttle::new(response.into_body(), rate << 20);
    let mut body = std::pin::pin!(body);
    let mut max_ahead = 0u64;
    while let Some(chunk) = body.next().await {
        let n = chunk?.len() as u64;
        let r = received.fetch_add(n, Relaxed) + n;
        max_ahead = max_ahead.max(generated.load(Relaxed).saturating_sub(r));
    }
    monitor.abort();
    let s = buffer_stats
        .lock()
        .ok()
        .and_then(|s| s.as_ref().map(|h| h.stats()));
    let peak = s.as_ref().map_or(0, |s| s.peak_buffered);
    println!(
        "\nreceived {} in {:.1}s; the server read at most {} ahead of the client; its buffer peaked at {} (mark {}); peak RSS {}",
        common::human(received.load(Relaxed)),
        start.elapsed().as_secs_f64(),
        common::human(max_ahead.max(table_ahead.load(Relaxed))),
        common::human(peak as u64),
        common::human(HWM as u64),
        common::human(
            common::rss()
                .map_or(0, |r| r.1)
                .max(table_rss.load(Relaxed))
        ),
    );
    Ok(())
}
