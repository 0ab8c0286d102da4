//! `weir serve --metrics ADDR`: the process's `metrics` figures (pipeline
//! stages, if any run) and the server's own counters, as Prometheus text on
//! a listener of their own.
//!
//! The recorder is weir-pipe's `TextRecorder`, installed as the process's
//! global recorder. The server's counters live in `ServerStats` and
//! `FileServerStats`; each scrape copies them into the recorder
//! (`Counter::absolute`, `Gauge::set`) and renders it, so they cost
//! nothing between scrapes.

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use weir_core::Error;
use weir_io::http::{FileServer, HttpServer, ResponseBody, ServerStatsHandle};
use weir_pipe::CancellationToken;
use weir_pipe::metrics::TextRecorder;

/// What the figures are read from at each scrape.
#[derive(Clone)]
pub(crate) struct Sources {
    pub(crate) server: ServerStatsHandle,
    pub(crate) files: Arc<FileServer>,
}

/// Binds the metrics listener on `addr` and serves scrapes until `token`
/// is cancelled. Returns the address it listens on and its task.
///
/// # Errors
/// Binding fails, or a global recorder was installed already.
pub(crate) async fn start(
    addr: &str,
    sources: Sources,
    token: CancellationToken,
) -> Result<
    (
        std::net::SocketAddr,
        tokio::task::JoinHandle<Result<(), Error>>,
    ),
    Error,
> {
    let recorder = TextRecorder::new();
    recorder
        .install()
        .map_err(|_| Error::msg("a metrics recorder is already installed"))?;
    describe();
    let server = HttpServer::builder()
        .max_connections(16)
        .bind(addr)
        .await
        .map_err(|e| e.with_stage("metrics"))?;
    let local = server.local_addr().map_err(Error::from)?;
    let handler = move |req: Request<hyper::body::Incoming>| {
        let answer = scrape(&req, &recorder, &sources);
        async move { answer }
    };
    let task = tokio::spawn(server.serve_until(handler, async move { token.cancelled().await }));
    Ok((local, task))
}

/// The content type of Prometheus' text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn scrape(
    req: &Request<hyper::body::Incoming>,
    recorder: &TextRecorder,
    sources: &Sources,
) -> Response<ResponseBody> {
    let path = req.uri().path();
    let (status, body, kind) =
        if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                "405 Method Not Allowed\n".to_string(),
                "text/plain",
            )
        } else if path == "/metrics" || path == "/" {
            update(sources);
            (StatusCode::OK, recorder.render(), TEXT_FORMAT)
        } else {
            (
                StatusCode::NOT_FOUND,
                "404 Not Found: the metrics are at /metrics\n".to_string(),
                "text/plain",
            )
        };
    let len = body.len();
    let mut r = Response::new(if req.method() == http::Method::HEAD {
        ResponseBody::empty()
    } else {
        ResponseBody::full(body)
    });
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(kind),
    );
    h.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    r
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(
        "weir_http_connections_accepted_total",
        Unit::Count,
        "Connections accepted and served"
    );
    describe_gauge!(
        "weir_http_connections_open",
        Unit::Count,
        "Connections open now"
    );
    describe_counter!(
        "weir_http_connections_cut_total",
        Unit::Count,
        "Connections cut or turned away, by the guard that did it"
    );
    describe_counter!(
        "weir_http_connections_failed_total",
        Unit::Count,
        "Connections that ended with an error (guards' cuts included)"
    );
    describe_counter!("weir_http_requests_total", Unit::Count, "Requests handled");
    describe_counter!(
        "weir_http_responses_total",
        Unit::Count,
        "Responses, by status code"
    );
    describe_counter!(
        "weir_http_sent_bytes_total",
        Unit::Bytes,
        "Bytes written to clients"
    );
    describe_counter!(
        "weir_http_received_bytes_total",
        Unit::Bytes,
        "Bytes read from clients"
    );
    describe_gauge!(
        "weir_file_server_bodies",
        Unit::Count,
        "File bodies being sent now"
    );
    describe_gauge!(
        "weir_file_server_buffered_bytes",
        Unit::Bytes,
        "Bytes of file blocks held now"
    );
    describe_gauge!(
        "weir_file_server_peak_buffered_bytes",
        Unit::Bytes,
        "The most bytes of file blocks held at once"
    );
}

/// Copies the server's counters into the recorder.
fn update(sources: &Sources) {
    let s = sources.server.stats();
    metrics::counter!("weir_http_connections_accepted_total").absolute(s.accepted);
    metrics::gauge!("weir_http_connections_open").set(s.active as f64);
    for (guard, n) in [
        ("header_timeout", s.header_timeouts),
        ("write_timeout", s.write_timeouts),
        ("min_rate", s.min_rate_cuts),
        ("shed", s.shed),
        ("max_connections", s.refused),
    ] {
        metrics::counter!("weir_http_connections_cut_total", "guard" => guard).absolute(n);
    }
    metrics::counter!("weir_http_connections_failed_total").absolute(s.failed);
    metrics::counter!("weir_http_requests_total").absolute(s.requests);
    for (code, n) in &s.responses {
        metrics::counter!("weir_http_responses_total", "status" => code.to_string()).absolute(*n);
    }
    metrics::counter!("weir_http_sent_bytes_total").absolute(s.bytes_sent);
    metrics::counter!("weir_http_received_bytes_total").absolute(s.bytes_received);
    let f = sources.files.stats();
    metrics::gauge!("weir_file_server_bodies").set(f.bodies as f64);
    metrics::gauge!("weir_file_server_buffered_bytes").set(f.buffered as f64);
    metrics::gauge!("weir_file_server_peak_buffered_bytes").set(f.peak_buffered as f64);
}
