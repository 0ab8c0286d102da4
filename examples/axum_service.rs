//! An axum service on weir's guarded server: a large generated body,
//! gzipped, streamed to a slow client in bounded memory; and gzipped
//! uploads decoded through a pipeline with size limits (413 over them).
//!
//! Run: `cargo run --release --example axum_service [MiB] [client KiB/s]`
//! (defaults 64 and 2048)
//!
//! - `GET /logs` generates `MiB` of log lines and, when the client's
//!   `Accept-Encoding` allows it (`negotiate_encoding`), gzips them: a weir
//!   `Pipeline` (generate → gzip) that becomes the response body in one call,
//!   `ResponseBody::from_pipeline`. Hyper pulls the body as the client reads,
//!   so the generator runs only as far ahead as the buffers allow. Once the
//!   response has ended, the run's report comes back through its
//!   `ReportHandle`: the `response` stage (the slow client) is the
//!   bottleneck.
//! - `POST /upload` takes a gzipped body through a pipeline: the request body
//!   (at most 1 MiB compressed) → gunzip (at most 16 MiB out, 200× the
//!   input) → a counting sink. Over either limit: 413 Payload Too Large; not
//!   gzip: 400.
//!
//! The router is served by `HttpServer::serve_service_until`, so it gets
//! weir's header timeout, write timeout, minimum rate, connection cap and
//! graceful shutdown without a line of its own. The same process is the
//! client: it downloads `/logs` through a throttle, printing every half
//! second what the server generated, what the client received and the
//! process's resident memory (flat), then uploads a small file (200) and
//! a gzip bomb (413).

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use weir::codecs::{GzipDecoder, GzipEncoder};
use weir::io::http::{
    BodyReader, ContentCoding, HttpServer, ResponseBody, error_status, negotiate_encoding,
};
use weir::pipe::{Pipeline, Report, Throttle};
use weir::{Error, ReadableExt};

/// Compressed uploads: at most 1 MiB in, 16 MiB out, 200× expansion.
const MAX_UPLOAD: u64 = 1 << 20;
const MAX_DECODED: u64 = 16 << 20;
const MAX_RATIO: u64 = 200;

#[derive(Clone)]
struct App {
    /// Bytes of log lines to generate per download.
    size: u64,
    /// Generated so far (for the progress table).
    generated: Arc<AtomicU64>,
    /// Where a download's run report goes once its body has ended.
    reports: tokio::sync::mpsc::Sender<Result<Report, Error>>,
}

/// `size` bytes of log lines, 64 KiB per chunk, counted in `generated`.
fn log_lines(
    size: u64,
    generated: Arc<AtomicU64>,
) -> impl futures::Stream<Item = Result<Bytes, Error>> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut line = 0u64;
    let mut made = 0u64;
    futures::stream::iter(std::iter::from_fn(move || {
        if made >= size {
            return None;
        }
        let mut chunk = String::with_capacity(64 * 1024 + 128);
        while chunk.len() < 64 * 1024 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let level = ["INFO", "INFO", "INFO", "WARN", "DEBUG"][(seed % 5) as usize];
            chunk.push_str(&format!(
                "2026-11-30T17:{:02}:{:02}.{:03}Z {level} request {line} served in {} us from 10.0.{}.{}\n",
                (line / 60_000) % 60,
                (line / 1000) % 60,
                line % 1000,
                seed % 100_000,
                (seed >> 20) % 256,
                (seed >> 28) % 256,
            ));
            line += 1;
        }
        let mut bytes = Bytes::from(chunk);
        bytes.truncate((size - made).min(bytes.len() as u64) as usize);
        made += bytes.len() as u64;
        generated.fetch_add(bytes.len() as u64, Relaxed);
        Some(Ok(bytes))
    }))
}

/// `GET /logs`: the generated lines, gzipped if the client takes gzip.
async fn logs(State(app): State<App>, req: Request) -> Response {
    let coding = negotiate_encoding(
        req.headers(),
        &[ContentCoding::Gzip, ContentCoding::Identity],
    );
    let source = Pipeline::from(log_lines(app.size, app.generated.clone())).named("generate");
    let pipeline = match coding {
        Some(ContentCoding::Gzip) => source.through("gzip", GzipEncoder::new()),
        Some(_) => source,
        None => return (StatusCode::NOT_ACCEPTABLE, "no acceptable coding\n").into_response(),
    };
    let (body, report) = ResponseBody::from_pipeline(pipeline);
    let reports = app.reports.clone();
    tokio::spawn(async move {
        let _ = reports.send(report.report().await).await;
    });
    let mut response = Body::new(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(value) = coding.and_then(ContentCoding::header_value) {
        headers.insert(header::CONTENT_ENCODING, value);
    }
    response
}

/// `POST /upload`: a gzipped body, decoded and counted within the limits.
async fn upload(req: Request) -> Response {
    let body = BodyReader::new(req.into_body()).limit(MAX_UPLOAD);
    let decoded = Arc::new(AtomicU64::new(0));
    let counter = decoded.clone();
    let count = weir::writable::from_fn(move |chunk: Bytes| {
        counter.fetch_add(chunk.len() as u64, Relaxed);
        async { Ok(()) }
    });
    let gunzip = GzipDecoder::builder()
        .max_output(MAX_DECODED)
        .max_ratio(MAX_RATIO)
        .build();
    let run = Pipeline::from(body)
        .named("upload")
        .through("gunzip", gunzip)
        .into_named("count", count)
        .run()
        .await;
    match run {
        Ok(report) => format!("decoded {} bytes\n", report.bytes_out).into_response(),
        // 413 for a limit, 408 for a client too slow, 400 for bad gzip.
        Err(e) => (error_status(&e), format!("{e}\n")).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let rate_kib: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2048);

    let generated = Arc::new(AtomicU64::new(0));
    let (reports_tx, mut reports) = tokio::sync::mpsc::channel(4);
    let app = App {
        size: mib << 20,
        generated: generated.clone(),
        reports: reports_tx,
    };
    let router = Router::new()
        .route("/logs", get(logs))
        .route("/upload", post(upload))
        .with_state(app);

    let server = HttpServer::builder()
        .header_read_timeout(Some(Duration::from_secs(10)))
        .max_connections(64)
        .bind("127.0.0.1:0")
        .await?;
    let addr = server.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_service_until(router, async {
        let _ = stopped.await;
    }));

    // The slow client: gzip accepted, read through a throttle.
    println!(
        "GET /logs: {} of log lines, gzipped, to a client reading {} KiB/s",
        common::human(mib << 20),
        rate_kib
    );
    println!(
        "{:>6}  {:>10}  {:>10}  {:>9}",
        "time", "generated", "received", "rss"
    );
    let request = http::Request::get(format!("http://{addr}/logs"))
        .header("accept-encoding", "br;q=1.0, gzip;q=0.8, identity;q=0.1")
        .body(ResponseBody::empty())?;
    let response = weir::io::http::fetch(request).await?;
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let received = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let table = {
        let (generated, received) = (generated.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                println!(
                    "{:>5.1}s  {:>10}  {:>10}  {:>9}",
                    start.elapsed().as_secs_f64(),
                    common::human(generated.load(Relaxed)),
                    common::human(received.load(Relaxed)),
                    common::human(common::rss().map_or(0, |r| r.0)),
                );
            }
        })
    };
    // Decode on the client too, to check what arrived.
    let body = Throttle::new(response.into_body(), rate_kib << 10).inspect_ok({
        let received = received.clone();
        move |chunk| {
            received.fetch_add(chunk.len() as u64, Relaxed);
        }
    });
    let mut plain = std::pin::pin!(body.through(GzipDecoder::new()));
    let mut decoded = 0u64;
    while let Some(chunk) = plain.next().await {
        decoded += chunk?.len() as u64;
    }
    table.abort();
    println!(
        "\nreceived {} gzipped, {} decoded (all of it: {}), in {:.1}s; peak RSS {}",
        common::human(received.load(Relaxed)),
        common::human(decoded),
        decoded == mib << 20,
        start.elapsed().as_secs_f64(),
        common::human(common::rss().map_or(0, |r| r.1)),
    );
    match reports.recv().await {
        Some(Ok(report)) => println!("\nthe server's run report:\n{report}"),
        Some(Err(e)) => println!("\nthe server's run failed: {e}"),
        None => {}
    }

    // Uploads: a small gzipped file, then a bomb (256 MiB of zeros, about
    // 256 KiB gzipped: under the upload limit, far over the decoded one).
    let small: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let bomb = weir::readable::from_iter(std::iter::repeat_n(Bytes::from(vec![0u8; 1 << 20]), 256));
    for (what, plain) in [
        (
            "a small file",
            weir::readable::from_iter([Bytes::from(small)]).boxed(),
        ),
        ("a gzip bomb", bomb.boxed()),
    ] {
        let gz: Vec<Bytes> = plain.through(GzipEncoder::new()).try_collect().await?;
        let gz = Bytes::from(gz.concat());
        let request = http::Request::post(format!("http://{addr}/upload"))
            .header("content-encoding", "gzip")
            .header("content-length", gz.len())
            .body(ResponseBody::full(gz.clone()))?;
        let response = weir::io::http::fetch(request).await?;
        let status = response.status();
        let text: Vec<Bytes> = response.into_body().try_collect().await?;
        print!(
            "POST /upload, {what} ({} gzipped): {status}: {}",
            common::human(gz.len() as u64),
            String::from_utf8_lossy(&text.concat())
        );
    }

    let _ = stop.send(());
    serving.await??;
    Ok(())
}
