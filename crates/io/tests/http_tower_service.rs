//! `HttpServer::serve_service`: an axum `Router` (or any tower service)
//! served with every guard of weir's own handler API: the header timeout
//! against slowloris, the write timeout, the connection cap and its
//! shedding, the `Host` rule, and graceful shutdown finishing the
//! responses in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use support::{eventually, raw_http, raw_http_closed, status_of, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use weir_io::http::{HttpServer, HttpServerBuilder, ResponseBody, ServerStatsHandle};

/// `/`: "hello"; `/big`: an endless body; `/slow`: ten 1000-byte chunks,
/// one every 100 ms, with a `Content-Length`.
fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route(
            "/big",
            get(|| async {
                let chunk = Bytes::from(vec![b'z'; 64 * 1024]);
                let endless = futures::stream::repeat_with(move || Ok(chunk.clone()));
                Body::new(ResponseBody::from_readable(endless))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                let ticks = futures::stream::unfold(0u32, |i| async move {
                    if i == 10 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok(Bytes::from(vec![b'0' + i as u8; 1000])), i + 1))
                });
                let body = ResponseBody::from_readable(ticks).with_len(10_000);
                Response::builder()
                    .header("content-length", "10000")
                    .body(Body::new(body))
                    .unwrap()
            }),
        )
}

async fn start(options: &HttpServerBuilder) -> (SocketAddr, ServerStatsHandle) {
    let server = options.bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats_handle();
    tokio::spawn(server.serve_service(router()));
    (addr, stats)
}

async fn still_serving(addr: SocketAddr) {
    let r = raw_http(
        addr,
        b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&r), 200, "{r}");
    assert!(r.ends_with("hello"), "{r}");
}

/// Waits (at most 20 s: only a bound for a loaded machine) until `done`
/// holds; the caller asserts it.
async fn wait_for(done: impl FnMut() -> bool) {
    eventually(20, done).await;
}

#[tokio::test]
async fn an_axum_router_is_served_and_host_is_checked_before_it() {
    within(60, async {
        let (addr, stats) = start(&HttpServer::builder()).await;
        still_serving(addr).await;
        let r = raw_http(
            addr,
            b"GET /nowhere HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&r), 404, "{r}");
        // The server's own rule, before the router sees the request.
        let r = raw_http(addr, b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n").await;
        assert_eq!(status_of(&r), 400, "{r}");
        assert!(r.contains("Host"), "{r}");
        // weir's client reads it too.
        let response = weir_io::http::get(&format!("http://{addr}/"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(stats.stats().requests, 4);
        // Counted by status, the router's answers and the server's own.
        assert_eq!(stats.stats().responses, [(200, 2), (400, 1), (404, 1)]);
    })
    .await;
}

#[tokio::test]
async fn a_slowloris_client_is_cut_by_the_header_timeout() {
    within(60, async {
        let (addr, stats) =
            start(HttpServer::builder().header_read_timeout(Some(Duration::from_millis(300))))
                .await;
        // One header byte every 50 ms: each byte arrives well within any
        // per-read timeout, but the head never completes. The drip would
        // last 10 s: a cut while it goes on is the header timeout's.
        let mut drip = b"GET / HTTP/1.1\r\nx-drip: ".to_vec();
        drip.resize(200, b'a');
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let t = Instant::now();
        let mut cut = false;
        for b in &drip {
            if s.write_all(&[*b]).await.is_err() {
                cut = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut buf = [0u8; 256];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
            {
                cut = n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408");
                if cut {
                    break;
                }
            }
        }
        assert!(cut, "a drip-fed request head was never cut");
        wait_for(|| stats.stats().header_timeouts == 1).await;
        assert_eq!(stats.stats().header_timeouts, 1);
        let took = t.elapsed();
        // Not before the timeout (300 ms), and long before the drip ends
        // (10 s; the margin is for a loaded machine's late timers).
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(8),
            "cut after {took:?}"
        );
        assert_eq!(stats.stats().requests, 0, "the router never saw it");
        assert!(stats.stats().failed >= 1);
        still_serving(addr).await;
    })
    .await;
}

/// A client with a small receive window that asks for an endless body.
async fn big_request(addr: SocketAddr) -> tokio::net::TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    s
}

#[tokio::test]
async fn the_connection_cap_holds_and_sheds_idle_connections_first() {
    within(60, async {
        let (addr, stats) = start(HttpServer::builder().max_connections(2)).await;
        // Two idle connections (waiting for headers) at the cap: a new one
        // sheds the oldest and is served.
        let mut idle1 = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _idle2 = tokio::net::TcpStream::connect(addr).await.unwrap();
        wait_for(|| stats.stats().active == 2).await;
        still_serving(addr).await;
        assert_eq!(stats.stats().shed, 1);
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(20), idle1.read(&mut buf))
            .await
            .expect("the oldest idle connection was not closed")
            .unwrap_or(0);
        assert_eq!(n, 0);
        drop(_idle2);
        wait_for(|| stats.stats().active == 0).await;
        // Two connections answering requests: a third gets 503.
        let a = big_request(addr).await;
        let b = big_request(addr).await;
        wait_for(|| stats.stats().requests == 3).await;
        assert_eq!(stats.stats().requests, 3);
        let r = raw_http(addr, b"GET / HTTP/1.1\r\nhost: t\r\n\r\n").await;
        assert_eq!(status_of(&r), 503, "{r}");
        assert!(r.contains("retry-after: 1"), "{r}");
        assert_eq!(stats.stats().refused, 1);
        drop((a, b));
        wait_for(|| stats.stats().active == 0).await;
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_by_the_write_timeout() {
    within(60, async {
        let (addr, stats) = start(
            HttpServer::builder()
                .write_timeout(Some(Duration::from_millis(300)))
                .min_rate(0, Duration::ZERO),
        )
        .await;
        let mut s = big_request(addr).await;
        // Read nothing until the server gives up on us.
        wait_for(|| stats.stats().too_slow == 1).await;
        assert_eq!(stats.stats().too_slow, 1);
        assert_eq!(stats.stats().write_timeouts, 1);
        // What we then read ends (a cut, not an endless body).
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        assert!(total < 64 << 20, "read {total} bytes of an endless body");
        still_serving(addr).await;
    })
    .await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_responses_in_flight() {
    within(60, async {
        let server = HttpServer::builder()
            .shutdown_grace(Duration::from_secs(30))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.serve_service_until(router(), async {
            let _ = stopped.await;
        }));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        // The head and the first chunk, then stop the server mid-response.
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert_ne!(n, 0);
            got.extend_from_slice(&buf[..n]);
        }
        let t = Instant::now();
        stop.send(()).unwrap();
        // No longer accepting (once the server has seen the stop).
        let mut refused = false;
        for _ in 0..2000 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "still accepting after the stop");
        // The response in flight is finished, then the connection closed.
        s.read_to_end(&mut got).await.unwrap();
        let text = String::from_utf8_lossy(&got);
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        assert_eq!(body.len(), 10_000, "{text}");
        assert!(body.starts_with(&"0".repeat(1000)) && body.ends_with(&"9".repeat(1000)));
        running.await.unwrap().unwrap();
        // The response takes about a second; the server ended with it, not
        // at the end of the 30 s grace.
        assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    })
    .await;
}

/// A service that is not ready at its first `poll_ready`, refuses to be
/// called unready, and fails on `/fail`.
#[derive(Clone)]
struct Picky {
    ready: Arc<AtomicBool>,
}

impl tower::Service<Request<Incoming>> for Picky {
    type Response = Response<http_body_util::Full<Bytes>>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.ready.swap(true, Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let ready = self.ready.swap(false, Ordering::SeqCst);
        std::future::ready(match (ready, req.uri().path()) {
            (false, _) => panic!("called before poll_ready said Ready"),
            (true, "/fail") => Err(std::io::Error::other("the service broke")),
            (true, _) => Ok(Response::new(http_body_util::Full::new(Bytes::from(
                "ready",
            )))),
        })
    }
}

#[tokio::test]
async fn a_plain_tower_service_is_polled_ready_and_its_failure_is_a_500() {
    within(60, async {
        let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats_handle();
        tokio::spawn(server.serve_service(Picky {
            ready: Arc::new(AtomicBool::new(false)),
        }));
        for _ in 0..3 {
            let r = raw_http(
                addr,
                b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
            )
            .await;
            assert_eq!(status_of(&r), 200, "{r}");
            assert!(r.ends_with("ready"), "{r}");
        }
        // Keep-alive is asked for, but a failed service closes the
        // connection after its 500 (a kept-alive one would stay open).
        let r = raw_http_closed(addr, b"GET /fail HTTP/1.1\r\nhost: t\r\n\r\n", 20)
            .await
            .expect("the server kept the connection open after the 500");
        assert_eq!(status_of(&r), 500, "{r}");
        assert!(r.contains("connection: close"), "{r}");
        assert_eq!(stats.stats().requests, 4);
        assert_eq!(stats.stats().responses, [(200, 3), (500, 1)]);
    })
    .await;
}
