//! `ResponseBody::from_pipeline` behind an axum router: a pipeline's error
//! reaches the client as an aborted body (never a clean end), the run's
//! report is there once the response is complete, a slow client holds the
//! pipeline back, and a client going away cancels the run. And the other
//! direction: a gzipped upload through a pipeline with limits (413 over
//! them, a gzip bomb included).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::TryStreamExt;
use support::{raw_http, status_of, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::{Mutex, mpsc};
use weir_codecs::{GzipDecoder, GzipEncoder};
use weir_core::{Error, ReadableExt};
use weir_io::http::{BodyReader, HttpServer, ResponseBody, ServerStatsHandle, error_status};
use weir_pipe::{Pipeline, Report};

#[derive(Clone)]
struct App {
    /// Each response's report (or the run's error), once its body ended.
    reports: mpsc::Sender<Result<Report, Error>>,
    /// Bytes the endless source has produced.
    produced: Arc<AtomicU64>,
}

/// Line `i` of the generated text.
fn line(i: u64) -> String {
    format!("{i:08} the quick brown fox jumps over the lazy dog\n")
}

/// `n` generated lines, 1000 per chunk.
fn lines(n: u64) -> impl futures::Stream<Item = Result<Bytes, Error>> + Send + 'static {
    futures::stream::iter((0..n).step_by(1000).map(move |start| {
        let text: String = (start..(start + 1000).min(n)).map(line).collect();
        Ok(Bytes::from(text))
    }))
}

/// Sends the body's report to the test once the response has ended.
fn respond(app: &App, pipeline: Pipeline<Bytes>, len: Option<u64>) -> ResponseBody {
    let (body, report) = ResponseBody::from_pipeline(pipeline);
    let reports = app.reports.clone();
    tokio::spawn(async move {
        let _ = reports.send(report.report().await).await;
    });
    match len {
        Some(n) => body.with_len(n),
        None => body,
    }
}

/// Five 10 000-byte chunks, 50 ms apart, then an error. (An error
/// overtakes the chunks still in a pipeline's buffers, so the pauses let
/// the chunks reach the client first; on a loaded machine the last may
/// still be overtaken.)
fn failing() -> impl futures::Stream<Item = Result<Bytes, Error>> + Send + 'static {
    futures::stream::unfold(0, |i| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        match i {
            0..5 => Some((Ok(Bytes::from(vec![b'x'; 10_000])), i + 1)),
            5 => Some((Err(Error::msg("disk on fire")), i + 1)),
            _ => None,
        }
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/gz",
            get(|State(app): State<App>| async move {
                let p = Pipeline::from(lines(100_000))
                    .named("generate")
                    .through("gzip", GzipEncoder::new());
                (
                    [("content-encoding", "gzip")],
                    Body::new(respond(&app, p, None)),
                )
            }),
        )
        .route(
            "/fail",
            get(|State(app): State<App>| async move {
                let p = Pipeline::from(failing()).named("generate");
                Body::new(respond(&app, p, None))
            }),
        )
        .route(
            "/fail-len",
            get(|State(app): State<App>| async move {
                let p = Pipeline::from(failing()).named("generate");
                (
                    [("content-length", "60000")],
                    Body::new(respond(&app, p, Some(60_000))),
                )
            }),
        )
        .route(
            "/endless",
            get(|State(app): State<App>| async move {
                let produced = app.produced.clone();
                let chunk = Bytes::from(vec![b'e'; 16 * 1024]);
                let endless = futures::stream::repeat_with(move || {
                    produced.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Ok(chunk.clone())
                });
                let p = Pipeline::from(endless).named("generate");
                Body::new(respond(&app, p, None))
            }),
        )
        .route("/upload", post(upload))
        .with_state(app)
}

/// Compressed uploads may be 256 KiB, and decode to at most 1 MiB.
const MAX_UPLOAD: u64 = 256 * 1024;
const MAX_DECODED: u64 = 1024 * 1024;

/// A gzipped upload through a pipeline: the body (limited), gunzip
/// (limited), a counting sink. 413 over either limit, 400 for bad gzip.
async fn upload(req: Request) -> Response {
    let body = BodyReader::new(req.into_body()).limit(MAX_UPLOAD);
    let decoded = Arc::new(AtomicU64::new(0));
    let count = decoded.clone();
    let sink = weir_core::writable::from_fn(move |chunk: Bytes| {
        count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        async { Ok(()) }
    });
    let gunzip = GzipDecoder::builder()
        .max_output(MAX_DECODED)
        .max_ratio(100)
        .build();
    let run = Pipeline::from(body)
        .named("upload")
        .through("gunzip", gunzip)
        .into_named("count", sink)
        .run()
        .await;
    match run {
        Ok(report) => format!("decoded {}", report.bytes_out).into_response(),
        Err(e) => (error_status(&e), e.to_string()).into_response(),
    }
}

struct Server {
    addr: SocketAddr,
    stats: ServerStatsHandle,
    reports: Mutex<mpsc::Receiver<Result<Report, Error>>>,
    produced: Arc<AtomicU64>,
}

impl Server {
    async fn start() -> Server {
        let (tx, rx) = mpsc::channel(16);
        let produced = Arc::new(AtomicU64::new(0));
        let app = App {
            reports: tx,
            produced: produced.clone(),
        };
        let server = HttpServer::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats_handle();
        tokio::spawn(server.serve_service(router(app)));
        Server {
            addr,
            stats,
            reports: Mutex::new(rx),
            produced,
        }
    }

    /// The next response's report.
    async fn report(&self) -> Result<Report, Error> {
        tokio::time::timeout(Duration::from_secs(20), self.reports.lock().await.recv())
            .await
            .expect("no report within 20 s")
            .expect("report channel closed")
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn gzip(data: Vec<u8>) -> Vec<u8> {
    let parts: Vec<Bytes> = weir_core::readable::from_iter([Bytes::from(data)])
        .through(GzipEncoder::new())
        .try_collect()
        .await
        .unwrap();
    parts.concat()
}

async fn gunzip(data: Vec<u8>) -> Vec<u8> {
    let parts: Vec<Bytes> = weir_core::readable::from_iter([Bytes::from(data)])
        .through(GzipDecoder::new())
        .try_collect()
        .await
        .unwrap();
    parts.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_error_aborts_the_body_and_the_client_sees_it() {
    within(60, async {
        let s = Server::start().await;
        // weir's client (hyper's) reads the chunks, then an error: the body
        // is incomplete, not ended.
        for path in ["/fail", "/fail-len"] {
            let response = weir_io::http::get(&s.url(path)).await.unwrap();
            assert_eq!(response.status(), 200);
            let mut body = response.into_body();
            let mut got = 0usize;
            let end = loop {
                match body.try_next().await {
                    Ok(Some(chunk)) => got += chunk.len(),
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            let e = end.unwrap_or_else(|| panic!("{path}: a clean end after {got} bytes"));
            assert!((10_000..=50_000).contains(&got), "{path}: {got}: {e}");
            // The run's error, naming the stage that failed.
            let e = s.report().await.unwrap_err();
            assert_eq!(e.stage(), Some("generate"), "{e}");
            assert!(e.to_string().contains("disk on fire"), "{e}");
        }
        // On the wire: a chunked body without its last chunk, then a close.
        let r = raw_http(s.addr, b"GET /fail HTTP/1.1\r\nhost: t\r\n\r\n").await;
        assert_eq!(status_of(&r), 200, "{}", &r[..200.min(r.len())]);
        assert!(r.contains("transfer-encoding: chunked"));
        assert!(r.contains(&"x".repeat(10_000)), "{r}");
        assert!(!r.ends_with("0\r\n\r\n"), "the body looks complete");
        // With a declared length: fewer bytes than it says, then a close.
        let r = raw_http(s.addr, b"GET /fail-len HTTP/1.1\r\nhost: t\r\n\r\n").await;
        let body = &r[r.find("\r\n\r\n").unwrap() + 4..];
        assert!(
            body.len() < 60_000 && body.len() % 10_000 == 0,
            "{}",
            body.len()
        );
        // The server goes on.
        assert_eq!(s.report().await.unwrap_err().stage(), Some("generate"));
        assert_eq!(s.report().await.unwrap_err().stage(), Some("generate"));
        assert!(s.stats.stats().failed >= 4);
        let response = weir_io::http::get(&s.url("/gz")).await.unwrap();
        assert_eq!(response.status(), 200);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_there_once_the_response_is_complete() {
    within(60, async {
        let s = Server::start().await;
        let response = weir_io::http::get(&s.url("/gz")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        let parts: Vec<Bytes> = response.into_body().try_collect().await.unwrap();
        let gz = parts.concat();
        let plain = gunzip(gz.clone()).await;
        let expected: String = (0..100_000).map(line).collect();
        assert!(plain == expected.as_bytes(), "decoded body differs");
        let report = s.report().await.unwrap();
        let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["generate", "gzip", "response"]);
        assert_eq!(report.bytes_in, expected.len() as u64);
        assert_eq!(report.bytes_out, gz.len() as u64);
        assert_eq!(
            report.stage("gzip").unwrap().bytes_in,
            expected.len() as u64
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_holds_the_pipeline_back_and_leaving_cancels_it() {
    within(60, async {
        let s = Server::start().await;
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut c = socket.connect(s.addr).await.unwrap();
        c.write_all(b"GET /endless HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .unwrap();
        // Read 2 MiB at about 4 MiB/s, then stop.
        let mut read = 0u64;
        let mut buf = vec![0u8; 16 * 1024];
        while read < 2 << 20 {
            let n = c.read(&mut buf).await.unwrap();
            assert_ne!(n, 0);
            read += n as u64;
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let ahead = s.produced.load(Ordering::Relaxed) - read;
        // The pipeline's buffers (2 × 64 KiB), hyper's write buffer, the
        // socket's unsent queue and the client's window: well under 1 MiB.
        assert!(ahead < 1 << 20, "the source ran {ahead} bytes ahead");
        // Going away cancels the run: the handle says so, the source stops.
        drop(c);
        let e = s.report().await.unwrap_err();
        assert!(e.is_aborted(), "{e}");
        let t = Instant::now();
        let mut last = s.produced.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = s.produced.load(Ordering::Relaxed);
            if now == last {
                break;
            }
            // What was in flight when the run was cancelled may still come;
            // a source that goes on for 10 s is not stopped.
            assert!(t.elapsed() < Duration::from_secs(10), "the source goes on");
            last = now;
        }
    })
    .await;
}

/// POSTs `body` to `/upload` with a `Content-Length`; the raw answer.
async fn post_upload(addr: SocketAddr, body: &[u8]) -> String {
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw_http(addr, &req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzipped_uploads_over_their_limits_get_413() {
    within(60, async {
        let s = Server::start().await;
        // Within the limits: decoded whole.
        let text: Vec<u8> = (0..10_000).flat_map(|i| line(i).into_bytes()).collect();
        let r = post_upload(s.addr, &gzip(text.clone()).await).await;
        assert_eq!(status_of(&r), 200, "{r}");
        assert!(r.ends_with(&format!("decoded {}", text.len())), "{r}");
        // Decoding to more than 1 MiB: 413, after exactly the allowed output.
        let more: Vec<u8> = (0..40_000).flat_map(|i| line(i).into_bytes()).collect();
        assert!(more.len() as u64 > MAX_DECODED);
        let r = post_upload(s.addr, &gzip(more).await).await;
        assert_eq!(status_of(&r), 413, "{r}");
        // A gzip bomb: 64 MiB of zeros in about 64 KiB. The ratio limit
        // (100×) stops it long before 1 MiB is decoded.
        let bomb = gzip(vec![0u8; 64 << 20]).await;
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        let t = Instant::now();
        let r = post_upload(s.addr, &bomb).await;
        assert_eq!(status_of(&r), 413, "{r}");
        assert!(r.contains("gunzip"), "{r}");
        // The 413 naming gunzip says the ratio limit stopped it; the time
        // bound is generous, for a loaded machine.
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        // More compressed bytes than allowed (declared): 413 before reading.
        let noise = support::random(7, 300 * 1024);
        let r = post_upload(s.addr, &gzip(noise).await).await;
        assert_eq!(status_of(&r), 413, "{r}");
        assert!(r.contains("larger than 262144 bytes"), "{r}");
        // Not gzip at all: 400.
        let r = post_upload(s.addr, b"plain text, not gzip").await;
        assert_eq!(status_of(&r), 400, "{r}");
        assert!(r.contains("gunzip"), "{r}");
    })
    .await;
}
