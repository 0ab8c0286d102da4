//! Slowloris: clients that open connections and drip their request headers
//! a byte at a time, more of them than the server's connection cap. The
//! server sheds the connections still waiting for their headers, oldest
//! first, so a normal client is answered at once throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use support::{eventually, raw_http, status_of, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_io::http::{HttpServer, ResponseBody};

const CAP: usize = 20;
const ATTACKERS: usize = CAP + 10;

async fn ok(_req: Request<Incoming>) -> Response<ResponseBody> {
    Response::new(ResponseBody::full("ok"))
}

/// One attacker: connects, sends a request line, then one header byte every
/// 100 ms, never ending the head; connects again whenever the server closes
/// the connection. Counts its connections.
async fn drip(addr: SocketAddr, connections: Arc<AtomicU64>) {
    loop {
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        connections.fetch_add(1, Relaxed);
        let mut open = s
            .write_all(b"GET / HTTP/1.1\r\nhost: t\r\nx-drip: ")
            .await
            .is_ok();
        let mut buf = [0u8; 512];
        while open {
            tokio::select! {
                // Closed, or answered (503): connect again.
                _ = s.read(&mut buf) => open = false,
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    open = s.write_all(b"a").await.is_ok();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_normal_client_is_answered_during_a_slowloris_attack() {
    within(120, async {
        let server = HttpServer::builder()
            .max_connections(CAP)
            .header_read_timeout(Some(Duration::from_secs(30)))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats_handle();
        tokio::spawn(server.serve(ok));
        let connections = Arc::new(AtomicU64::new(0));
        let attackers: Vec<_> = (0..ATTACKERS)
            .map(|_| tokio::spawn(drip(addr, connections.clone())))
            .collect();
        // Let the attack fill the cap. (Connections are shed and replaced
        // all along, so the count is at the cap, or one below it for a
        // moment; never above it.)
        let full = eventually(20, || stats.stats().active == CAP as u64).await;
        assert!(full, "the attack never filled the cap: {:?}", stats.stats());
        let mut answered = Vec::new();
        for i in 0..10 {
            assert!(
                stats.stats().active <= CAP as u64,
                "over the cap: {:?}",
                stats.stats()
            );
            let t = Instant::now();
            // A normal client is answered at once; the 10 s only bound the
            // test on a loaded machine (without shedding it would get a
            // 503, or wait for the 30 s header timeout).
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                raw_http(
                    addr,
                    b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n",
                ),
            )
            .await;
            let took = t.elapsed();
            let r = r.unwrap_or_else(|_| panic!("request {i}: no answer within 10 s"));
            assert_eq!(
                status_of(&r),
                200,
                "request {i} after {took:?}: {r:?}; {:?}",
                stats.stats()
            );
            answered.push(took);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let s = stats.stats();
        eprintln!(
            "answered in {answered:?}; {s:?}; attackers opened {} connections",
            connections.load(Relaxed)
        );
        assert!(s.shed >= 10, "{s:?}");
        for a in attackers {
            a.abort();
        }
    })
    .await;
}
