//! The client's guards against hostile servers (`fetch_with` and
//! `FetchOptions`): a body limit counted as bytes arrive, whatever the
//! framing, and timeouts for connecting, the response head and a stalled
//! body. Each server is a few lines of Tokio on 127.0.0.1, ended by the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use weir_core::Error;
use weir_io::http::{FetchOptions, ResponseBody, fetch_with};

/// The most a test server sends, whatever the client does.
const CAP: u64 = 256 << 20;

/// A server for one connection: reads the request head, writes `head`,
/// then `block` (chunk-framed if `chunked`) until the client goes, `CAP`
/// is reached or `stall` says to stop writing and hold the connection.
/// Returns the URL, the count of bytes written and the task (aborted by
/// the caller).
async fn server(
    head: &'static str,
    block: Option<Vec<u8>>,
    chunked: bool,
) -> (String, Arc<AtomicU64>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        if let Some(block) = block {
            let framed = if chunked {
                [format!("{:x}\r\n", block.len()).as_bytes(), &block, b"\r\n"].concat()
            } else {
                block
            };
            while counter.load(Ordering::Relaxed) < CAP {
                if socket.write_all(&framed).await.is_err() {
                    return;
                }
                counter.fetch_add(framed.len() as u64, Ordering::Relaxed);
            }
        }
        // Hold the connection open without a word.
        std::future::pending::<()>().await;
    });
    (url, sent, task)
}

fn get(url: &str) -> http::Request<ResponseBody> {
    http::Request::get(url).body(ResponseBody::empty()).unwrap()
}

/// Reads a body to its end or first error; returns the bytes read and the
/// error.
async fn drain(mut body: weir_io::http::BodyReader<hyper::body::Incoming>) -> (u64, Option<Error>) {
    let mut n = 0;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => n += c.len() as u64,
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

async fn limit_stops(head: &'static str, chunked: bool) {
    let (url, sent, task) = server(head, Some(vec![7u8; 64 << 10]), chunked).await;
    let options = FetchOptions::new().max_body(1 << 20);
    let response = within(10, fetch_with(get(&url), &options)).await.unwrap();
    let (read, err) = within(10, drain(response.into_body())).await;
    task.abort();
    let err = err.expect("an endless body must fail");
    assert!(err.is_limit(), "{err}");
    assert!(read <= 1 << 20, "read {read} bytes");
    // The limit stopped the reading: the server is held back by the
    // kernel's buffers, far from its 256 MiB cap.
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 64 << 20, "the server sent {sent} bytes");
}

#[tokio::test]
async fn max_body_stops_an_endless_chunked_body() {
    limit_stops(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    )
    .await;
}

#[tokio::test]
async fn max_body_stops_an_endless_close_delimited_body() {
    limit_stops("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", false).await;
}

#[tokio::test]
async fn max_body_refuses_a_declared_length_over_it_at_once() {
    let (url, _sent, task) = server(
        "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n",
        Some(vec![7u8; 64 << 10]),
        false,
    )
    .await;
    let options = FetchOptions::new().max_body(1 << 20);
    let response = within(10, fetch_with(get(&url), &options)).await.unwrap();
    let (read, err) = within(10, drain(response.into_body())).await;
    task.abort();
    assert!(err.unwrap().is_limit());
    assert_eq!(read, 0);
}

#[tokio::test]
async fn header_timeout_names_the_response_headers() {
    let (url, _sent, task) = server("HTTP/1.1 200 OK\r\ncontent-", None, false).await;
    let options = FetchOptions::new().header_timeout(Duration::from_millis(300));
    let t = Instant::now();
    let err = within(10, fetch_with(get(&url), &options))
        .await
        .unwrap_err();
    task.abort();
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("response headers"), "{err}");
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn idle_timeout_names_the_body() {
    let (url, _sent, task) = server(
        "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\nsome bytes",
        None,
        false,
    )
    .await;
    let options = FetchOptions::new().idle_timeout(Duration::from_millis(300));
    let response = within(10, fetch_with(get(&url), &options)).await.unwrap();
    let t = Instant::now();
    let (read, err) = within(10, drain(response.into_body())).await;
    task.abort();
    let err = err.expect("a stalled body must fail");
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("body"), "{err}");
    assert_eq!(read, 10);
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
}

/// A listener with a full accept queue that never accepts: Linux then drops
/// new SYNs, so a connect hangs. Skipped where that cannot be arranged.
#[tokio::test]
async fn connect_timeout_names_the_connect() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => {
                full = true;
                break;
            }
        }
    }
    if !full {
        eprintln!("skipped: cannot make a loopback connect hang here");
        return;
    }
    let options = FetchOptions::new().connect_timeout(Duration::from_millis(300));
    let err = within(10, fetch_with(get(&format!("http://{addr}/")), &options))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    drop(listener);
}
