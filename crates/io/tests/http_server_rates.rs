//! The write guards judged by what the client actually takes, not by what
//! the kernel's send buffer accepted: a client reading below the minimum
//! rate is cut soon after the grace period, a client reading steadily at or
//! above it is never cut by the write timeout, and a client that stops
//! reading is cut by the write timeout.
//!
//! Each client has a small receive buffer and reads at a controlled rate;
//! the server uses small timeouts so each test ends within seconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use weir_io::http::{HttpServer, HttpServerBuilder, ResponseBody, ServerStatsHandle};

const GRACE: Duration = Duration::from_secs(1);
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The minimum rate the server asks for.
const MIN_RATE: u64 = 32_000;
/// A minimum rate low enough that a client reading steadily at it wakes
/// the server's socket less often than the write timeout (the client's
/// window reopens in steps of about half its 16 KiB receive buffer).
const LOW_MIN_RATE: u64 = 6_000;

/// An endless generated body.
async fn endless(_req: Request<Incoming>) -> Response<ResponseBody> {
    let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
    let stream = futures::stream::repeat_with(move || Ok(chunk.clone()));
    Response::new(ResponseBody::from_readable(stream))
}

fn options(min_rate: u64) -> HttpServerBuilder {
    let mut o = HttpServer::builder();
    o.write_timeout(Some(WRITE_TIMEOUT))
        .min_rate(min_rate, GRACE);
    o
}

async fn start(options: &HttpServerBuilder) -> (SocketAddr, ServerStatsHandle) {
    let server = options.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats_handle();
    tokio::spawn(server.serve(endless));
    (addr, stats)
}

/// A client with a small receive buffer that has asked for the endless body.
async fn request(addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    s
}

/// How a paced read ended.
#[derive(Debug)]
struct Read {
    bytes: u64,
    /// When the server closed the connection, if it did.
    closed_after: Option<Duration>,
    /// When the last bytes were read.
    last_read: Option<Instant>,
}

/// Reads at most `rate` bytes/s (in steps of at most `rate / 20` bytes)
/// for `secs`, or until the server closes the connection.
async fn paced_read(s: &mut tokio::net::TcpStream, rate: u64, secs: Duration) -> Read {
    let start = Instant::now();
    let mut buf = vec![0u8; (rate / 20).max(1) as usize];
    let mut bytes = 0u64;
    let mut last_read = None;
    while start.elapsed() < secs {
        let left = secs.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0) | Err(_)) => {
                return Read {
                    bytes,
                    closed_after: Some(start.elapsed()),
                    last_read,
                };
            }
            Ok(Ok(n)) => {
                bytes += n as u64;
                last_read = Some(Instant::now());
            }
        }
        // Sleep until the average is back at `rate`.
        let due = Duration::from_secs_f64(bytes as f64 / rate as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait.min(secs.saturating_sub(start.elapsed()))).await;
        }
    }
    Read {
        bytes,
        closed_after: None,
        last_read,
    }
}

/// Waits until the server has cut `n` connections for being too slow, at
/// most `limit`; returns how long that took.
async fn cut(stats: &ServerStatsHandle, n: u64, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if stats.stats().too_slow >= n {
            return Some(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn a_reader_below_the_minimum_rate_is_cut_soon_after_the_grace_period() {
    within(60, async {
        // No write timeout: only the rate guard can cut.
        let mut o = options(MIN_RATE);
        o.write_timeout(None);
        let (addr, stats) = start(&o).await;
        let mut s = request(addr).await;
        let t = Instant::now();
        // An eighth of the minimum rate.
        let reader =
            tokio::spawn(
                async move { paced_read(&mut s, MIN_RATE / 8, Duration::from_secs(30)).await },
            );
        let took = cut(&stats, 1, Duration::from_secs(30)).await;
        let sent = stats.stats().bytes_sent;
        reader.abort();
        eprintln!("below the rate: cut after {took:?} (server wrote {sent} bytes)");
        let took = took.unwrap_or_else(|| {
            panic!(
                "never cut in 30 s; {:?} (t = {:?})",
                stats.stats(),
                t.elapsed()
            )
        });
        // Soon after the grace period: a reader at an eighth of the rate
        // earns little credit (what the socket buffers hold); the margin
        // is for a loaded machine's late timers.
        assert!(took < GRACE + Duration::from_secs(10), "cut after {took:?}");
    })
    .await;
}

#[tokio::test]
async fn a_steady_reader_at_the_minimum_rate_is_never_cut() {
    within(90, async {
        for min_rate in [MIN_RATE, LOW_MIN_RATE] {
            let (addr, stats) = start(&options(min_rate)).await;
            let mut s = request(addr).await;
            // Just above the minimum rate, for several write timeouts.
            let r = paced_read(&mut s, min_rate * 5 / 4, Duration::from_secs(8)).await;
            eprintln!(
                "steady reader at {} bytes/s: {r:?}, {:?}",
                min_rate * 5 / 4,
                stats.stats()
            );
            assert_eq!(r.closed_after, None, "cut: {r:?}");
            assert_eq!(
                stats.stats().too_slow,
                0,
                "min rate {min_rate}: {:?}",
                stats.stats()
            );
            assert!(r.bytes > min_rate * 8, "{r:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_reader_that_stops_is_cut_by_the_write_timeout() {
    within(60, async {
        let (addr, stats) = start(&options(MIN_RATE)).await;
        let mut s = request(addr).await;
        // Steady well above the rate for a while (it earns credit with the
        // rate guard), then nothing.
        let r = paced_read(&mut s, MIN_RATE * 4, Duration::from_secs(3)).await;
        assert_eq!(r.closed_after, None, "cut while reading: {r:?}");
        assert_eq!(
            stats.stats().too_slow,
            0,
            "cut while reading: {:?}",
            stats.stats()
        );
        let cut_seen = cut(&stats, 1, Duration::from_secs(20)).await;
        // Timed from the client's last read (paced_read's last sleep may
        // end well after it on a loaded machine), not from its return.
        let last_read = r.last_read.expect("the reader read something");
        let took = cut_seen.map(|_| last_read.elapsed());
        eprintln!("stopped reader: cut {took:?} after its last read");
        let took = took.unwrap_or_else(|| panic!("never cut; {:?}", stats.stats()));
        assert!(
            took >= WRITE_TIMEOUT - Duration::from_millis(300),
            "cut too early: {took:?}"
        );
        // The write timeout, stretched at most to twice the last step at
        // the minimum rate (a few KiB here: well under a second); the rest
        // is for a loaded machine's late timers, still short of the four
        // write timeouts a stretched wait could last at most.
        assert!(
            took < WRITE_TIMEOUT * 2 + Duration::from_secs(3),
            "cut only after {took:?}"
        );
    })
    .await;
}
