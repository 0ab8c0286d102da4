//! Memory per slow connection: many clients reading a large file slowly
//! through small receive buffers make the file server hold only a small,
//! bounded amount of file data per connection (counted by the server
//! itself, `FileServer::stats`, not guessed from the process's RSS), while
//! a fast client still gets large blocks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use http::Request;
use hyper::body::Incoming;
use support::{eventually, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use weir_io::http::{FileServer, HttpServer};

const FILE: u64 = 64 << 20;
const CLIENTS: usize = 80;

/// A server of a folder holding a sparse 64 MiB `big.bin`, with the
/// defaults `weir serve` uses (64 KiB chunks, 256 KiB blocks at most) and
/// the slow-client guards off.
async fn start() -> (
    SocketAddr,
    FileServer,
    tokio::task::JoinHandle<()>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    f.set_len(FILE).unwrap();
    let files = FileServer::builder(dir.path())
        .chunk_size(64 * 1024)
        .block_size(256 * 1024)
        .build()
        .await
        .unwrap();
    let server = HttpServer::builder()
        .write_timeout(None)
        .min_rate(0, Duration::ZERO)
        .write_buffer(64 * 1024)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handler_files = Arc::new(files.clone());
    let task = tokio::spawn(async move {
        let _ = server
            .serve(move |req: Request<Incoming>| {
                let files = handler_files.clone();
                async move { files.handle(&req).await }
            })
            .await;
    });
    (addr, files, task, dir)
}

/// Requests `big.bin` with an 8 KiB receive buffer and reads about
/// 20 KB/s (2 KiB every 100 ms) until `stop` is set.
async fn slow_client(addr: SocketAddr, stop: Arc<AtomicBool>) -> u64 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8 * 1024).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut got = 0u64;
    while !stop.load(Relaxed) {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server ended the response early");
        got += n as u64;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_clients_hold_little_file_data_each() {
    within(60, async {
        let (addr, files, task, _dir) = start().await;
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(slow_client(addr, stop.clone())))
            .collect();
        // Steady state: every response open (however long a loaded machine
        // takes to get there), then a second for the socket buffers to
        // fill; then samples for 2.5 s.
        let open = eventually(30, || files.stats().bodies == CLIENTS as u64).await;
        assert!(open, "not every client was answered: {:?}", files.stats());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let until = Instant::now() + Duration::from_millis(2500);
        let mut steady = 0u64;
        let mut samples = 0;
        while Instant::now() < until {
            let s = files.stats();
            assert_eq!(s.bodies, CLIENTS as u64, "every client is being answered");
            steady = steady.max(s.buffered / CLIENTS as u64);
            samples += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Relaxed);
        let mut received = 0;
        for c in clients {
            received += c.await.unwrap();
        }
        let peak = files.stats().peak_buffered / CLIENTS as u64;
        task.abort();
        eprintln!(
            "{CLIENTS} slow clients: file data held per connection {steady} B (largest of {samples} samples), \
             {peak} B at the peak; received {received} B in all"
        );
        assert!(received > CLIENTS as u64 * 20_000, "the clients were served");
        // Hyper's write buffer (64 KiB and one 16 KiB chunk) and at most
        // two more 16 KiB blocks: far below the two 256 KiB blocks a fast
        // client gets (before reads were sized by the client's pace: 512
        // KiB per connection here).
        let bound = 112 * 1024;
        assert!(steady <= bound, "{steady} B of file data per slow connection (bound {bound})");
        assert!(peak <= bound, "{peak} B per slow connection at the peak (bound {bound})");
    })
    .await;
}

/// A fast client gets the whole file, read in blocks grown to the largest
/// size (more file data in flight than the slow clients' bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_client_gets_whole_blocks() {
    within(60, async {
        let (addr, files, task, _dir) = start().await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /big.bin HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got += n as u64;
        }
        let stats = files.stats();
        task.abort();
        eprintln!(
            "fast client: {got} B received, peak file data held {} B",
            stats.peak_buffered
        );
        assert!(got > FILE, "the whole file and the head");
        assert!(
            stats.peak_buffered >= 2 * 256 * 1024,
            "the blocks did not grow: peak {} B",
            stats.peak_buffered
        );
    })
    .await;
}
