//! Bad and slow clients: malformed requests, oversized headers, stalled
//! headers, bodies over their limit, clients that stop reading or read too
//! slowly, peers that reset, too many connections. Each gets a clear status
//! or a closed connection, and the server keeps serving the others.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use support::{eventually, raw_http, raw_http_closed, status_of, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use weir_io::http::{
    BodyReader, HttpServer, HttpServerBuilder, ResponseBody, ServerStatsHandle, error_status,
};

/// `/big`: an endless generated body; `POST /upload`: reads the body with
/// a 1000-byte limit and answers its length or the error's status; anything
/// else: "ok".
async fn handler(req: Request<Incoming>) -> Response<ResponseBody> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/big") => {
            let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
            let endless = futures::stream::repeat_with(move || Ok(chunk.clone()));
            Response::new(ResponseBody::from_readable(endless))
        }
        (&Method::POST, "/upload") => {
            let body = BodyReader::new(req.into_body()).limit(1000);
            match body.try_collect::<Vec<Bytes>>().await {
                Ok(parts) => Response::new(ResponseBody::full(parts.concat().len().to_string())),
                Err(e) => {
                    let mut r = Response::new(ResponseBody::full(e.to_string()));
                    *r.status_mut() = error_status(&e);
                    r
                }
            }
        }
        _ => Response::new(ResponseBody::full("ok")),
    }
}

async fn start(options: &HttpServerBuilder) -> (SocketAddr, ServerStatsHandle) {
    let server = options.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats_handle();
    tokio::spawn(server.serve(handler));
    (addr, stats)
}

/// The server still answers a plain GET.
async fn still_serving(addr: SocketAddr) {
    let r = raw_http(
        addr,
        b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&r), 200, "{r}");
    assert!(r.ends_with("ok"), "{r}");
}

#[tokio::test]
async fn malformed_requests_get_400() {
    within(60, async {
        let (addr, _) = start(&HttpServer::builder()).await;
        for bad in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/9.9\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\nhost: t\r\n\r\n",
            b"GET / HTTP/1.1\r\nbad header line\r\n\r\n",
            b"POST /upload HTTP/1.1\r\nhost: t\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello",
        ] {
            let r = raw_http(addr, bad).await;
            assert_eq!(status_of(&r), 400, "{:?} -> {r}", String::from_utf8_lossy(bad));
        }
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn http11_without_one_host_gets_400_and_http10_without_host_is_served() {
    within(60, async {
        let (addr, stats) = start(&HttpServer::builder()).await;
        // RFC 9112 §3.2: an HTTP/1.1 request with no Host, or with several,
        // is 400, whatever the request target (absolute form included).
        for bad in [
            &b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n"[..],
            b"GET http://t/ HTTP/1.1\r\nconnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n",
            b"GET / HTTP/1.0\r\nhost: a\r\nhost: b\r\n\r\n",
        ] {
            let r = raw_http(addr, bad).await;
            assert_eq!(
                status_of(&r),
                400,
                "{:?} -> {r}",
                String::from_utf8_lossy(bad)
            );
            assert!(!r.ends_with("ok"), "the handler ran: {r}");
        }
        // HTTP/1.0 had no Host: still served without one.
        let r = raw_http(addr, b"GET / HTTP/1.0\r\n\r\n").await;
        assert_eq!(status_of(&r), 200, "{r}");
        assert!(r.ends_with("ok"), "{r}");
        // An empty Host is allowed (RFC 9112 §3.2: a target without an
        // authority).
        let r = raw_http(
            addr,
            b"GET / HTTP/1.1\r\nhost:\r\nconnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 200, "{r}");
        still_serving(addr).await;
        assert_eq!(stats.stats().requests, 7);
        // Responses by status: the four 400s for a bad Host, and three
        // 200s (HTTP/1.0, the empty Host, `still_serving`).
        assert_eq!(stats.stats().responses, [(200, 3), (400, 4)]);
    })
    .await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    within(60, async {
        let (addr, _) = start(HttpServer::builder().max_header_size(4096)).await;
        let mut req = b"GET / HTTP/1.1\r\nhost: t\r\nx-big: ".to_vec();
        req.extend(std::iter::repeat_n(b'a', 10_000));
        req.extend_from_slice(b"\r\n\r\n");
        let r = raw_http(addr, &req).await;
        assert_eq!(status_of(&r), 431, "{r}");
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn stalled_headers_are_cut_by_the_header_timeout() {
    within(60, async {
        let (addr, stats) =
            start(HttpServer::builder().header_read_timeout(Some(Duration::from_millis(300))))
                .await;
        // Half a request line, then silence: the server closes the
        // connection (with a 408 or without a word). Without a header
        // timeout it would wait for ever; 15 s only bounds the test.
        let r = raw_http_closed(addr, b"GET / HT", 15)
            .await
            .expect("a stalled request head was never cut");
        assert!(r.is_empty() || status_of(&r) == 408, "{r}");
        // A slow drip of header bytes is cut too: the timeout is for the
        // whole head, not between bytes. The drip (a byte every 50 ms)
        // would last 10 s, so a cut while it goes on is the header
        // timeout's, however late a loaded machine runs its timer.
        let mut drip = b"GET / HTTP/1.1\r\nx-drip: ".to_vec();
        drip.resize(200, b'a');
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut closed = false;
        for b in &drip {
            if s.write_all(&[*b]).await.is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut buf = [0u8; 256];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
            {
                closed = n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408");
                if closed {
                    break;
                }
            }
        }
        assert!(closed, "a drip-fed request head was never cut");
        // Both cut by the header timeout, and counted as such (the count
        // may land just after the client sees the close).
        eventually(10, || stats.stats().header_timeouts >= 2).await;
        assert!(stats.stats().failed >= 2);
        assert_eq!(stats.stats().header_timeouts, 2, "{:?}", stats.stats());
        assert_eq!(stats.stats().too_slow, 0);
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn request_body_over_its_limit_gets_413() {
    within(60, async {
        let (addr, _) = start(&HttpServer::builder()).await;
        // Declared too large: refused before reading.
        let mut req = b"POST /upload HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: 5000\r\n\r\n".to_vec();
        req.extend(std::iter::repeat_n(b'b', 5000));
        let r = raw_http(addr, &req).await;
        assert_eq!(status_of(&r), 413, "{r}");
        assert!(r.contains("larger than 1000 bytes"), "{r}");
        // Chunked, no length: refused once it passes the limit.
        let mut req = b"POST /upload HTTP/1.1\r\nhost: t\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..5 {
            req.extend_from_slice(b"258\r\n");
            req.extend(std::iter::repeat_n(b'c', 600));
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"0\r\n\r\n");
        let r = raw_http(addr, &req).await;
        assert_eq!(status_of(&r), 413, "{r}");
        // Within the limit: read whole.
        let r = raw_http(
            addr,
            b"POST /upload HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: 11\r\n\r\nhello world",
        )
        .await;
        assert_eq!(status_of(&r), 200, "{r}");
        assert!(r.ends_with("11"), "{r}");
        still_serving(addr).await;
    })
    .await;
}

/// A client with a small receive window that requests an endless body.
async fn big_request(addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    s
}

/// Reads until the server closes the connection; returns the bytes read.
async fn read_until_closed(s: &mut tokio::net::TcpStream, pause: Duration, step: usize) -> u64 {
    let mut buf = vec![0u8; step];
    let mut total = 0u64;
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n as u64,
        }
        tokio::time::sleep(pause).await;
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_by_the_write_timeout() {
    within(60, async {
        let (addr, stats) = start(
            HttpServer::builder()
                .write_timeout(Some(Duration::from_millis(500)))
                .min_rate(0, Duration::ZERO),
        )
        .await;
        let mut s = big_request(addr).await;
        // Read nothing: the server's writes stall until it gives up (the
        // write timeout; 20 s only bounds the test).
        eventually(20, || stats.stats().too_slow >= 1).await;
        assert_eq!(stats.stats().too_slow, 1, "{:?}", stats.stats());
        assert_eq!(
            (stats.stats().write_timeouts, stats.stats().min_rate_cuts),
            (1, 0),
            "{:?}",
            stats.stats()
        );
        // What was sent before the cut, then the end: a truncated body
        // (an endless one would never end: bounded by `within`).
        read_until_closed(&mut s, Duration::ZERO, 1 << 20).await;
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn a_client_below_the_minimum_rate_is_cut() {
    within(60, async {
        // A rate a debug build moves many times over on a loaded machine,
        // and a grace period longer than the pauses such a machine makes.
        let (addr, stats) = start(
            HttpServer::builder()
                .write_timeout(None)
                .min_rate(256_000, Duration::from_secs(1)),
        )
        .await;
        // About 16 KB/s, far below 256 KB/s. (What the server had already
        // queued in its socket buffer still reaches the client after the
        // cut, so watch the server's counter rather than the end.)
        let mut slow = big_request(addr).await;
        let t = Instant::now();
        let reader = tokio::spawn(async move {
            read_until_closed(&mut slow, Duration::from_millis(200), 3200).await
        });
        eventually(20, || stats.stats().too_slow > 0).await;
        let took = t.elapsed();
        assert_eq!(stats.stats().too_slow, 1, "{:?}", stats.stats());
        assert_eq!(
            (stats.stats().write_timeouts, stats.stats().min_rate_cuts),
            (0, 1),
            "{:?}",
            stats.stats()
        );
        eprintln!("slow client cut after {took:?}");
        reader.abort();
        // A client reading at full speed is not cut for the same time.
        let mut fast = big_request(addr).await;
        let t = Instant::now();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        while t.elapsed() < Duration::from_secs(2) {
            let n = fast.read(&mut buf).await.unwrap();
            assert!(n > 0, "a fast client was cut");
            total += n as u64;
        }
        // Well above the minimum rate (2 s at 256 KB/s is 512 KB).
        assert!(total > 2 << 20, "{total} bytes in 2 s");
        assert_eq!(stats.stats().too_slow, 1);
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn a_peer_resetting_mid_transfer_does_not_stop_the_server() {
    within(60, async {
        let (addr, stats) = start(&HttpServer::builder()).await;
        for _ in 0..5 {
            let mut s = big_request(addr).await;
            let mut buf = vec![0u8; 100_000];
            let _ = s.read(&mut buf).await.unwrap();
            s.set_zero_linger().unwrap();
            drop(s); // RST
        }
        still_serving(addr).await;
        // The server notices each reset as a failed connection.
        eventually(20, || stats.stats().failed >= 5).await;
        assert_eq!(stats.stats().failed, 5, "{:?}", stats.stats());
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_maximum_get_503() {
    within(60, async {
        let (addr, stats) = start(HttpServer::builder().max_connections(2)).await;
        // Two connections answering a request (idle ones waiting for
        // headers would be shed to make room instead).
        let a = big_request(addr).await;
        let b = big_request(addr).await;
        // Let the server accept both and start answering.
        eventually(20, || stats.stats().requests >= 2).await;
        assert_eq!(stats.stats().requests, 2, "{:?}", stats.stats());
        let r = raw_http(addr, b"GET / HTTP/1.1\r\nhost: t\r\n\r\n").await;
        assert_eq!(status_of(&r), 503, "{r}");
        assert!(r.contains("retry-after: 1"), "{r}");
        assert_eq!(stats.stats().refused, 1);
        assert_eq!(stats.stats().shed, 0);
        drop((a, b));
        eventually(20, || stats.stats().active == 0).await;
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn status_codes_of_body_errors() {
    assert_eq!(
        error_status(&weir_core::Error::limit("x")),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        error_status(&weir_core::Error::timeout("x")),
        StatusCode::REQUEST_TIMEOUT
    );
    assert_eq!(
        error_status(&weir_core::Error::msg("x")),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn shutdown_waits_for_open_connections_at_most_the_grace() {
    within(60, async {
        let server = HttpServer::builder()
            .shutdown_grace(Duration::from_millis(1000))
            .write_timeout(None)
            .min_rate(0, Duration::ZERO)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats_handle();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.serve_until(handler, async {
            let _ = stopped.await;
        }));
        // One quick request on a kept-alive connection, one endless download
        // that is not read.
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("200"));
        let _stuck = big_request(addr).await;
        // The download is under way once the server has taken its request.
        eventually(20, || stats.stats().requests >= 2).await;
        assert_eq!(stats.stats().requests, 2, "{:?}", stats.stats());
        let t = Instant::now();
        stop.send(()).unwrap();
        running.await.unwrap().unwrap();
        let took = t.elapsed();
        // At least the grace (the download never ends by itself), and not
        // much more: the endless download is cut when it runs out.
        assert!(
            took >= Duration::from_millis(950),
            "did not wait for the download: {took:?}"
        );
        assert!(took < Duration::from_secs(10), "{took:?}");
        // The idle keep-alive connection was closed (at once, and in any
        // case by now; 10 s only bounds the test).
        let n = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
        // No longer listening.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    })
    .await;
}
