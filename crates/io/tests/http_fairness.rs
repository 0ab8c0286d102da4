//! Fairness under CPU load: clients pulling gzip-compressed files keep the
//! compression busy, yet a small identity request is answered quickly,
//! because compression runs on the blocking pool, a slice at a time, under
//! a bounded number of permits, never on the server's Tokio workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use http::Request;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_codecs::GzipEncoder;
use weir_io::http::{FileServer, HttpServer};

const GZIP_CLIENTS: usize = 20;
const SMALL_REQUESTS: usize = 10;

/// Log-like text: compressible, but real work for gzip.
fn text(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 200);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut i = 0u64;
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        writeln!(
            out,
            "10.{}.{}.{} - - [30/Nov/2026:12:{:02}:{:02}] \"GET /item/{} HTTP/1.1\" 200 {} req={i:x}",
            x % 256,
            (x >> 8) % 256,
            (x >> 16) % 256,
            (x >> 24) % 60,
            (x >> 30) % 60,
            (x >> 36) % 100_000,
            (x >> 48) % 50_000
        )
        .unwrap();
        i += 1;
    }
    out.truncate(size);
    out
}

/// A file server with gzip (level 6) and the slow-client guards off, on a
/// runtime of its own with two workers (as `weir serve` on this machine),
/// so that the clients' tasks do not share its workers.
fn start(dir: std::path::PathBuf) -> (SocketAddr, std::sync::mpsc::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let files = FileServer::builder(&dir)
                .gzip(|| Box::new(GzipEncoder::with_level(6)))
                .build()
                .await
                .unwrap();
            let server = HttpServer::builder()
                .write_timeout(None)
                .min_rate(0, Duration::ZERO)
                .bind("127.0.0.1:0")
                .await
                .unwrap();
            addr_tx.send(server.local_addr().unwrap()).unwrap();
            let files = Arc::new(files);
            let stop = tokio::task::spawn_blocking(move || {
                let _ = stop_rx.recv();
            });
            let _ = server
                .serve_until(
                    move |req: Request<Incoming>| {
                        let files = files.clone();
                        async move { files.handle(&req).await }
                    },
                    async move {
                        let _ = stop.await;
                    },
                )
                .await;
        });
        rt.shutdown_background();
    });
    (addr_rx.recv().unwrap(), stop_tx)
}

/// Asks for `big.log` in gzip and reads it at up to ~1.6 MB/s of
/// compressed bytes (16 KiB per 10 ms) until `until`.
async fn gzip_client(addr: SocketAddr, until: Instant, got: Arc<AtomicU64>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /big.log HTTP/1.1\r\nhost: t\r\naccept-encoding: gzip\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                got.fetch_add(n as u64, Relaxed);
            }
            Err(_) => continue,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One request for the 6-byte `small.txt` on a new connection, without
/// gzip; its time to the whole answer.
async fn small_request(addr: SocketAddr) -> Duration {
    let start = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /small.txt HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("hello\n"), "{answer}");
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_requests_are_answered_quickly_while_gzip_keeps_the_cpu_busy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.log"), text(32 << 20)).unwrap();
    std::fs::write(dir.path().join("small.txt"), b"hello\n").unwrap();
    let (addr, stop) = start(dir.path().to_path_buf());
    let test = async {
        let until = Instant::now() + Duration::from_secs(60);
        let got = Arc::new(AtomicU64::new(0));
        let clients: Vec<_> = (0..GZIP_CLIENTS)
            .map(|_| tokio::spawn(gzip_client(addr, until, got.clone())))
            .collect();
        // Let the compressions start and fill every queue.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut times = Vec::new();
        for _ in 0..SMALL_REQUESTS {
            times.push(small_request(addr).await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for c in &clients {
            c.abort();
        }
        (times, got.load(Relaxed))
    };
    let (times, got) = tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("the test hung");
    let _ = stop.send(());
    let worst = times.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{SMALL_REQUESTS} small requests under {GZIP_CLIENTS} gzip clients: {:?} ms (worst {worst:?}); \
         the gzip clients received {got} B",
        times.iter().map(|t| t.as_millis()).collect::<Vec<_>>()
    );
    assert!(
        got > GZIP_CLIENTS as u64 * 16 * 1024,
        "the gzip clients were served"
    );
    // A debug build compresses slowly, so the gzip clients keep both cores
    // busy all along; a second is generous for a 6-byte answer.
    for t in &times {
        assert!(
            *t < Duration::from_secs(1),
            "a small request took {t:?}: {times:?}"
        );
    }
}
