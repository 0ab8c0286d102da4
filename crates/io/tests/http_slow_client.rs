//! A slow client of a large response: what the server reads from its source
//! ahead of what the client has received stays under a constant that does
//! not grow with the body's size, and weir's own buffer stays within its
//! marks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use weir_core::{BufferConfig, Limit};
use weir_io::http::{HttpServer, ResponseBody};

const CHUNK: usize = 64 * 1024;

/// A generated body of `size` bytes, counting what is pulled from it.
fn generated(size: u64, pulled: Arc<AtomicU64>) -> ResponseBody {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let stream = futures::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        let pulled = pulled.clone();
        async move {
            if sent >= size {
                return None;
            }
            let n = (size - sent).min(CHUNK as u64) as usize;
            pulled.fetch_add(n as u64, Relaxed);
            Some((Ok(chunk.slice(..n)), sent + n as u64))
        }
    });
    ResponseBody::from_readable(stream).with_len(size)
}

/// Reads the response at about `rate` bytes/s for `secs`, sampling
/// `pulled - received`; returns the largest gap seen and what was received.
async fn slow_read(addr: SocketAddr, pulled: Arc<AtomicU64>, rate: u64, secs: f64) -> (u64, u64) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut received = 0u64;
    let mut max_gap = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    let step = Duration::from_millis(16);
    let per_step = rate * 16 / 1000;
    while start.elapsed().as_secs_f64() < secs {
        let mut this_step = 0;
        while this_step < per_step {
            let want = buf.len().min((per_step - this_step) as usize);
            let n = s.read(&mut buf[..want]).await.unwrap();
            assert!(n > 0, "the server ended the response early");
            this_step += n as u64;
        }
        received += this_step;
        let gap = pulled.load(Relaxed).saturating_sub(received);
        max_gap = max_gap.max(gap);
        tokio::time::sleep(step).await;
    }
    (max_gap, received)
}

async fn read_ahead_for(size: u64) -> (u64, u64) {
    let server = HttpServer::builder()
        .write_buffer(64 * 1024)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let pulled = Arc::new(AtomicU64::new(0));
    let p = pulled.clone();
    let task = tokio::spawn(server.serve(move |_req: Request<Incoming>| {
        let p = p.clone();
        async move { Response::new(generated(size, p)) }
    }));
    let out = slow_read(addr, pulled, 1_000_000, 2.0).await;
    task.abort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_ahead_of_a_slow_client_does_not_grow_with_the_body() {
    within(30, async {
        let (small_gap, small_got) = read_ahead_for(64 << 20).await;
        let (big_gap, big_got) = read_ahead_for(16 << 30).await;
        eprintln!(
            "read ahead of a ~1 MB/s client: {small_gap} bytes (64 MiB body), {big_gap} bytes (16 GiB body); received {small_got} / {big_got}"
        );
        // The client really was slow and really was served.
        assert!(small_got > 1_000_000 && big_got > 1_000_000);
        // Hyper's write buffer (64 KiB + a chunk) plus the kernel's socket
        // buffers on both ends (loopback autotuning: a few MiB): bounded,
        // and nowhere near either body.
        let bound = 16u64 << 20;
        assert!(small_gap < bound, "{small_gap} bytes read ahead (64 MiB body)");
        assert!(big_gap < bound, "{big_gap} bytes read ahead (16 GiB body)");
        // The same constant at 256 times the size.
        let diff = small_gap.abs_diff(big_gap);
        assert!(diff < 4 << 20, "read-ahead changed with the body size: {small_gap} vs {big_gap}");
    })
    .await;
}

/// A producer writing into a weir buffer that the response body drains: the
/// buffer never holds more than its high mark plus one chunk, however slow
/// the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_buffer_behind_a_response_stays_within_its_marks() {
    within(30, async {
        let high = 256 * 1024;
        let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let pulled = Arc::new(AtomicU64::new(0));
        let stats = Arc::new(std::sync::Mutex::new(None));
        let (p, st) = (pulled.clone(), stats.clone());
        let task = tokio::spawn(server.serve(move |_req: Request<Incoming>| {
            let (p, st) = (p.clone(), st.clone());
            async move {
                let (mut tx, rx) = BufferConfig::new(Limit::<Bytes>::bytes(high)).build();
                *st.lock().unwrap() = Some(rx.stats_handle());
                tokio::spawn(async move {
                    let chunk = Bytes::from(vec![b'y'; CHUNK]);
                    loop {
                        if tx.send(chunk.clone()).await.is_err() {
                            return;
                        }
                        p.fetch_add(CHUNK as u64, Relaxed);
                    }
                });
                Response::new(ResponseBody::from_readable(rx))
            }
        }));
        let (gap, got) = slow_read(addr, pulled, 1_000_000, 1.5).await;
        let s = stats.lock().unwrap().as_ref().unwrap().stats();
        task.abort();
        eprintln!(
            "weir buffer peak {} (high {high}); read ahead {gap}; received {got}",
            s.peak_buffered
        );
        assert!(s.full_events > 0, "the slow client never filled the buffer");
        assert!(
            s.peak_buffered <= high + CHUNK,
            "peak {} > {high} + {CHUNK}",
            s.peak_buffered
        );
        assert!(gap < 16 << 20, "{gap}");
    })
    .await;
}
