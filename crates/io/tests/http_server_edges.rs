//! Edge cases of the server's guards found in review: a response still
//! being flushed must not be shed at the connection cap, and "no limit"
//! values (`usize::MAX` connections, a `Duration::MAX` write timeout) must
//! not panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_io::http::{HttpServer, ResponseBody};

const LEN: usize = 8 << 20;

async fn big(_req: Request<Incoming>) -> Response<ResponseBody> {
    Response::new(ResponseBody::full(vec![b'x'; LEN]))
}

/// Small enough for hyper to take whole into its write buffer (64 KiB) and
/// drop the body, too large for an unread 8 KiB receive buffer and the
/// server's 16 KiB of unsent data to take.
const TAIL: usize = 60 * 1024;

async fn tail(_req: Request<Incoming>) -> Response<ResponseBody> {
    Response::new(ResponseBody::full(vec![b'x'; TAIL]))
}

/// Reads one response from `conn` and returns the length of its body (the
/// server closes after it, or it is complete at `len`).
async fn body_length(conn: &mut tokio::net::TcpStream, len: usize) -> usize {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n")
                && got.len() - p - 4 >= len
            {
                break;
            }
        }
    })
    .await;
    let head_end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    got.len() - head_end
}

/// hyper drops a response's body once it has taken its end, while the end
/// may still wait in its write buffer for a slow reader: such a connection
/// is not waiting for headers yet and must not be shed for a newcomer.
#[tokio::test]
async fn a_response_being_flushed_is_not_shed() {
    let server = HttpServer::builder()
        .max_connections(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats_handle();
    tokio::spawn(server.serve(tail));
    // A small receive buffer, so that the kernel cannot take the whole
    // response off hyper's hands.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    let mut a = socket.connect(addr).await.unwrap();
    a.write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
        .await
        .unwrap();
    // Once the server has taken A's request (before that, A waits for its
    // headers and may rightly be shed), A reads nothing for a while: hyper
    // holds the body's tail.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while stats.stats().requests < 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats.stats().requests, 1, "{:?}", stats.stats());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut b = tokio::net::TcpStream::connect(addr).await.unwrap();
    b.write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    // B is refused (A is not to be shed) before A reads on: once A has its
    // response, it waits for its next headers and may be shed.
    let mut refused = String::new();
    tokio::time::timeout(Duration::from_secs(20), b.read_to_string(&mut refused))
        .await
        .expect("B got no answer")
        .unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    let body = body_length(&mut a, TAIL).await;
    assert_eq!(body, TAIL, "A's response was cut: {:?}", stats.stats());
    assert_eq!(stats.stats().shed, 0);
    drop(b);
}

/// `max_connections(usize::MAX)`, "no cap", serves (a semaphore cannot count
/// that far: it is as many as it can).
#[tokio::test]
async fn no_connection_cap_serves() {
    let server = HttpServer::builder()
        .max_connections(usize::MAX)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let task = tokio::spawn(
        server.serve(|_req: Request<Incoming>| async { Response::new(ResponseBody::full("ok")) }),
    );
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = String::new();
    tokio::time::timeout(Duration::from_secs(10), c.read_to_string(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(!task.is_finished(), "serve ended: {:?}", task.await);
}

/// A write timeout too long to add to the clock is no timeout, not a panic
/// of the connection's task.
#[tokio::test]
async fn a_write_timeout_of_duration_max_is_no_timeout() {
    let server = HttpServer::builder()
        .write_timeout(Some(Duration::MAX))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let stats = server.stats_handle();
    tokio::spawn(server.serve(big));
    let mut a = tokio::net::TcpStream::connect(addr).await.unwrap();
    a.write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    // The server's writes wait on the unread socket meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let body = body_length(&mut a, LEN).await;
    assert_eq!(body, LEN, "{:?}", stats.stats());
}
