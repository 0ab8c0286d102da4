//! Out of file descriptors: a server whose process has used up its
//! RLIMIT_NOFILE answers new connections with 503 and `Retry-After`
//! (instead of leaving them in the accept queue), answers a request whose
//! file cannot be opened with 503 and `Retry-After` (not 500), does not
//! spin, and serves normally once descriptors are free again.
//!
//! The only test in its binary: it lowers the process's own soft limit and
//! fills the descriptor table.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::process::{Resource, getrlimit, setrlimit};
use support::{status_of, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weir_io::http::{FileServer, HttpServer};

/// CPU time (user + system) this process has used, from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// Opens /dev/null until the process is out of descriptors.
fn fill() -> Vec<File> {
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) if e.raw_os_error() == Some(24) => return held,
            Err(e) => panic!("{e}"),
        }
        assert!(held.len() < 100_000, "no limit on descriptors?");
    }
}

/// Sends a GET on a connection that took the descriptor just freed; the
/// whole answer, or what came within `secs`.
async fn get(addr: SocketAddr, path: &str, secs: u64) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(secs), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn out_of_descriptors_means_503_with_retry_after() {
    within(60, async {
        let before = getrlimit(Resource::Nofile);
        let mut low = before;
        low.current = Some(256.min(before.current.unwrap_or(256)));
        setrlimit(Resource::Nofile, low).unwrap();

        let dir = support::tempdir();
        std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
        let files = Arc::new(FileServer::new(dir.path()).await.unwrap());
        let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats_handle();
        tokio::spawn(server.serve(move |req| {
            let files = files.clone();
            async move { files.handle(&req).await }
        }));
        let r = get(addr, "/a.txt", 10).await;
        assert_eq!(status_of(&r), 200, "{r}");

        let cpu = cpu_time();
        let t = Instant::now();
        let mut held = fill();
        // One descriptor free: the client's socket takes it, the server has
        // none left to accept with.
        for i in 0..3 {
            drop(held.pop());
            let r = get(addr, "/a.txt", 10).await;
            eprintln!("accept without a descriptor {i}: {r:?}");
            assert_eq!(status_of(&r), 503, "{i}: {r:?}; {:?}", stats.stats());
            assert!(r.to_lowercase().contains("retry-after: 1"), "{r}");
            // Back to a full table (the client's socket is closed).
            held.extend(fill());
        }
        // Two free: the server accepts, but cannot open the file.
        drop(held.pop());
        drop(held.pop());
        let r = get(addr, "/a.txt", 10).await;
        eprintln!("open without a descriptor: {r:?}");
        assert_eq!(status_of(&r), 503, "{r:?}; {:?}", stats.stats());
        assert!(r.to_lowercase().contains("retry-after: 1"), "{r}");
        held.extend(fill());
        // Out of descriptors with a connection waiting and no way to take
        // it: the server must not spin.
        drop(held.pop());
        let waiting = tokio::net::TcpStream::connect(addr).await.unwrap();
        held.extend(fill());
        tokio::time::sleep(Duration::from_secs(1)).await;
        drop(waiting);
        drop(held);
        let used = cpu_time().saturating_sub(cpu);
        let wall = t.elapsed();
        eprintln!(
            "CPU {used:?} in {wall:?} out of descriptors; {:?}",
            stats.stats()
        );
        assert!(used < wall / 2, "CPU {used:?} in {wall:?}");
        setrlimit(Resource::Nofile, before).unwrap();
        let r = get(addr, "/a.txt", 10).await;
        assert_eq!(status_of(&r), 200, "{r}");
        assert!(r.ends_with("hello"), "{r}");
    })
    .await;
}
