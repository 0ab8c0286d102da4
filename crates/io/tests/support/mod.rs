//! Helpers shared by weir-io's integration tests.
#![allow(dead_code, unreachable_pub, clippy::expect_used)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use weir_core::Error;

/// Fails the test if `f` takes longer than `secs` seconds.
pub async fn within<F: Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("the test hung")
}

/// `n` pseudo-random bytes from `seed`.
pub fn random(seed: u64, n: usize) -> Vec<u8> {
    weir_core::testing::Rng::new(seed).bytes(n)
}

/// Every chunk of a stream, or the first error.
pub async fn chunks<S>(s: S) -> Result<Vec<Bytes>, Error>
where
    S: Stream<Item = Result<Bytes, Error>>,
{
    let mut s = std::pin::pin!(s);
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.push(c?);
    }
    Ok(out)
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Names in a folder that look like our temporary files.
pub fn temp_files(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.contains(".weir-") && n.ends_with(".tmp"))
        .collect()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Whether this process runs as root (who ignores file permissions).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Sends `request` as raw bytes to `addr` and returns everything the server
/// sends back until it closes the connection (or 20 s pass: every caller
/// expects a close, and a loaded machine may take seconds to answer).
pub async fn raw_http(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `request` as raw bytes to `addr` and returns everything the server
/// sends back, once it has closed the connection; `None` if it has not
/// closed it within `secs` seconds. (For tests that must tell "the server
/// closed the connection" from "it stayed silent", whatever the load.)
pub async fn raw_http_closed(
    addr: std::net::SocketAddr,
    request: &[u8],
    secs: u64,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(secs), s.read_to_end(&mut out)).await {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

/// Waits until `done` holds, checking every 10 ms, for at most `secs`
/// seconds; whether it held. Tests wait on an event with this rather than
/// sleeping for a fixed time, so that a loaded machine only makes them
/// slower, and assert on the result.
pub async fn eventually(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if done() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The status code of a raw HTTP response.
pub fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
