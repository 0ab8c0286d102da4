//! The network commands: `send`, `recv`, `serve` and `get`.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, HeaderValue};
use weir_codecs::{GzipDecoder, GzipEncoder};
use weir_core::Error;
use weir_io::http::{BodyReader, FetchOptions, FileServer, HttpServer, ResponseBody};
use weir_io::net::{TcpListener, TcpStream};
use weir_pipe::{CancellationToken, Pipeline, Report};

use crate::args::{Get, Recv, Send, Serve, StatsFormat};
use crate::run::{finish, open_input_path, open_output_path};

/// `weir send ADDR [INPUT]`: the input into a TCP connection; the socket's
/// write buffer is the pipeline's sink, so a slow receiver shows up as the
/// `send` stage being the bottleneck.
pub(crate) async fn send(args: Send, token: CancellationToken) -> Result<Report, Error> {
    let (pipeline, len) = open_input_path(&args.input, args.run.chunk, &token).await?;
    let mut options = TcpStream::builder();
    options.write_high_water_mark(args.run.hwm).name("send");
    let socket = tokio::select! {
        s = tokio::net::TcpStream::connect(args.addr.as_str()) => s.map_err(|e| {
            let e = std::io::Error::new(e.kind(), format!("connect to {}: {e}", args.addr));
            Error::io(e).with_stage("send")
        })?,
        () = token.cancelled() => return Err(Error::cancelled()),
    };
    let stream = options.wrap(socket)?;
    let (_reader, writer) = stream.into_split();
    let run = pipeline
        .high_water_mark(args.run.hwm, weir_core::DEFAULT_ITEMS)
        .into_named("send", writer)
        .cancel_on(token);
    let report = finish(run, &args.run, len).await?;
    if report.bytes_out == 0 {
        // Not an error (an empty file is a file), but a `weir recv` without
        // --keep-empty takes an empty connection for a port scan.
        eprintln!(
            "weir send: the input was empty: nothing was sent (a weir recv without \
             --keep-empty ignores an empty connection and keeps listening)"
        );
    }
    Ok(report)
}

/// `weir recv --listen ADDR`: accepts one connection and writes what arrives
/// until the sender ends, optionally throttled.
///
/// A connection that closes without sending a byte is ignored (unless
/// `--keep-empty`) and recv keeps listening: a port scanner's connect must
/// not replace the output with an empty file. A connection reset before
/// its first byte is an error, as one reset later.
pub(crate) async fn recv(args: Recv, token: CancellationToken) -> Result<Report, Error> {
    let listener = TcpListener::bind(args.listen.as_str()).await?;
    let addr = listener.local_addr().map_err(Error::from)?;
    let listener = listener.into_inner();
    let mut options = TcpStream::builder();
    options.chunk_size(args.run.chunk).name("recv");
    eprintln!("weir recv: listening on {addr}");
    // Open the output first: a bad path fails before anyone connects.
    let sink = open_output_path(&args.out.output, args.out.fsync, &token).await?;
    let (socket, peer) = loop {
        let (socket, peer) = tokio::select! {
            r = listener.accept() => r.map_err(|e| Error::from(e).with_stage("accept"))?,
            () = token.cancelled() => return Err(Error::cancelled()),
        };
        // Wait for the first byte (left in the socket), the end, or an error.
        let mut byte = [0u8; 1];
        let first = tokio::select! {
            r = socket.peek(&mut byte) => r,
            () = token.cancelled() => return Err(Error::cancelled()),
        };
        match first {
            Ok(0) if !args.keep_empty => {
                tracing::info!(peer = %peer, "ignored: closed without sending anything");
                eprintln!(
                    "weir recv: {peer} sent nothing and closed: ignored, still listening \
                     (--keep-empty takes it as an empty transfer)"
                );
            }
            Ok(_) => break (socket, peer),
            Err(e) => return Err(reset_or(e, peer)),
        }
    };
    drop(listener);
    tracing::info!(peer = %peer, "accepted");
    let stream = options.wrap(socket).map_err(|e| match e.io_kind() {
        // The peer reset the connection after its first byte arrived.
        std::io::ErrorKind::NotConnected => {
            reset_or(std::io::ErrorKind::ConnectionReset.into(), peer)
        }
        _ => e,
    })?;
    let (reader, _writer) = stream.into_split();
    let mut pipeline = Pipeline::from(reader)
        .named("recv")
        .high_water_mark(args.run.hwm, weir_core::DEFAULT_ITEMS);
    if let Some(rate) = args.rate {
        pipeline = pipeline.throttle(rate);
    }
    let run = pipeline.into_named("write", sink).cancel_on(token);
    finish(run, &args.run, None).await
}

/// `e`, a failure of the connection from `peer`, as recv's error; a reset
/// says so in words ("connection reset by peer").
fn reset_or(e: std::io::Error, peer: std::net::SocketAddr) -> Error {
    let e = match e.kind() {
        std::io::ErrorKind::ConnectionReset => std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            format!("connection reset by peer ({peer})"),
        ),
        _ => e,
    };
    Error::from(e).with_stage("recv")
}

/// How long `serve`, told to stop, waits for open connections to finish.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `weir serve [DIR]`: a static file server until Ctrl-C or SIGTERM, then a
/// graceful stop.
pub(crate) async fn serve(args: Serve, token: CancellationToken) -> Result<(), Error> {
    let mut files = FileServer::builder(&args.dir);
    files
        .chunk_size(args.chunk)
        .block_size(args.block)
        .min_block_size(args.min_block)
        .listing(!args.no_listing);
    if args.gzip_level > 0 {
        let level = args.gzip_level;
        files.gzip(move || Box::new(GzipEncoder::with_level(level)));
    }
    let files = files.build().await?;
    let fds = crate::fd_limit::raise(args.max_connections);
    let server = HttpServer::builder()
        .header_read_timeout(args.header_timeout.0)
        .write_timeout(args.write_timeout.0)
        .min_rate(
            args.min_rate,
            args.min_rate_grace.0.unwrap_or(std::time::Duration::ZERO),
        )
        .max_connections(args.max_connections)
        .write_buffer(args.hwm)
        .shutdown_grace(SHUTDOWN_GRACE)
        .bind(args.addr.as_str())
        .await?;
    let addr = server.local_addr().map_err(Error::from)?;
    eprintln!(
        "weir serve: serving {} on http://{addr}/",
        files.root().display()
    );
    if let Some(warning) = fds.warning(args.max_connections) {
        eprintln!("{warning}");
    }
    let stats = server.stats_handle();
    let files = Arc::new(files);
    let metrics_stop = CancellationToken::new();
    let metrics = match &args.metrics {
        Some(at) => {
            let sources = crate::serve_metrics::Sources {
                server: stats.clone(),
                files: files.clone(),
            };
            let (local, task) =
                crate::serve_metrics::start(at, sources, metrics_stop.clone()).await?;
            eprintln!("weir serve: metrics on http://{local}/metrics");
            Some(task)
        }
        None => None,
    };
    let handler = move |req: http::Request<hyper::body::Incoming>| {
        let files = files.clone();
        async move {
            let response = files.handle(&req).await;
            tracing::info!(
                method = %req.method(),
                path = %req.uri().path(),
                status = response.status().as_u16(),
                "request"
            );
            response
        }
    };
    let stopping = stats.clone();
    server
        .serve_until(handler, async move {
            token.cancelled().await;
            let open = stopping.stats().active;
            if open > 0 {
                eprintln!(
                    "weir serve: stopping: waiting up to {} for {open} open connection{} to \
                     finish (press Ctrl-C again to stop now)",
                    seconds(SHUTDOWN_GRACE),
                    if open == 1 { "" } else { "s" }
                );
            }
        })
        .await?;
    metrics_stop.cancel();
    if let Some(task) = metrics {
        let _ = task.await;
    }
    let s = stats.stats();
    match args.stats {
        Some(StatsFormat::Table) => eprintln!(
            "connections {} (refused {}, shed {}, failed {}, too slow {}), requests {}, sent {}, received {}",
            s.accepted,
            s.refused,
            s.shed,
            s.failed,
            s.too_slow,
            s.requests,
            crate::fmt::bytes(s.bytes_sent),
            crate::fmt::bytes(s.bytes_received)
        ),
        Some(StatsFormat::Json) => eprintln!(
            "{}",
            serde_json::json!({
                "accepted": s.accepted,
                "refused": s.refused,
                "shed": s.shed,
                "failed": s.failed,
                "too_slow": s.too_slow,
                "requests": s.requests,
                "bytes_sent": s.bytes_sent,
                "bytes_received": s.bytes_received,
                "header_timeouts": s.header_timeouts,
                "write_timeouts": s.write_timeouts,
                "min_rate_cuts": s.min_rate_cuts,
                "responses": s.responses.iter()
                    .map(|(code, n)| (code.to_string(), serde_json::json!(n)))
                    .collect::<serde_json::Map<_, _>>(),
            })
        ),
        None => {}
    }
    Ok(())
}

/// `weir get URL`: a streaming download, gzip decoded, bounded in size
/// (`--max-output`, counted as bytes arrive) and in time (`--connect-timeout`,
/// `--timeout` between bytes, `--max-time` for the whole transfer).
pub(crate) async fn get(args: Get, token: CancellationToken) -> Result<Report, Error> {
    let deadline = args.max_time.0.map(|d| tokio::time::Instant::now() + d);
    let response = request(&args, deadline, &token).await?;
    let len = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (body, decoder) = limited_body(response, len, args.max_output)?;
    let sink = open_output_path(&args.out.output, args.out.fsync, &token).await?;
    let mut pipeline: Pipeline<Bytes> = Pipeline::from(body)
        .named("download")
        .high_water_mark(args.run.hwm, weir_core::DEFAULT_ITEMS);
    if let Some(d) = decoder {
        pipeline = pipeline.spawn("gunzip", d);
    }
    // --max-time cancels the run through a token of its own, so every stage
    // ends (and an atomic output's temporary file is removed) before the
    // error is reported.
    let run_token = token.child_token();
    let run = pipeline
        .into_named("write", sink)
        .cancel_on(run_token.clone());
    let finished = finish(run, &args.run, len);
    tokio::pin!(finished);
    let result = tokio::select! {
        r = &mut finished => r,
        () = sleep_until(deadline) => {
            run_token.cancel();
            match finished.await {
                // It ended just in time, or failed on its own.
                Ok(report) => Ok(report),
                Err(e) if !e.is_cancelled() || token.is_cancelled() => Err(e),
                Err(_) => {
                    return Err(Error::timeout(format!(
                        "body: the transfer was not done within {}",
                        max_time(&args)
                    ))
                    .with_stage("get"));
                }
            }
        }
    };
    result.map_err(|e| match args.max_output {
        Some(max) if e.is_limit() => too_large(max),
        _ => name_timeout(e),
    })
}

/// `--max-time` as the errors name it.
fn max_time(args: &Get) -> String {
    format!(
        "--max-time {}",
        seconds(args.max_time.0.unwrap_or_default())
    )
}

/// A download's body.
type Download = BodyReader<hyper::body::Incoming>;

/// Sends the request and waits for a successful response's head, within
/// the connect and header timeouts and the `--max-time` deadline.
async fn request(
    args: &Get,
    deadline: Option<tokio::time::Instant>,
    token: &CancellationToken,
) -> Result<http::Response<Download>, Error> {
    let req = http::Request::get(args.url.as_str())
        .header(ACCEPT_ENCODING, HeaderValue::from_static("gzip"))
        .body(ResponseBody::empty())
        .map_err(|e| Error::msg(format!("bad URL {:?}: {e}", args.url)))?;
    let mut options = FetchOptions::new();
    if let Some(d) = args.connect_timeout.0 {
        options = options.connect_timeout(d);
    }
    if let Some(d) = args.timeout.0 {
        options = options.header_timeout(d).idle_timeout(d);
    }
    let response = tokio::select! {
        r = weir_io::http::fetch_with(req, &options) => r.map_err(name_timeout)?,
        () = token.cancelled() => return Err(Error::cancelled()),
        () = sleep_until(deadline) => {
            return Err(Error::timeout(format!(
                "connect / response headers: not done within {}",
                max_time(args)
            ))
            .with_stage("get"));
        }
    };
    let status = response.status();
    if !status.is_success() {
        // Redirects are not followed: say where it points.
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|to| format!(" (Location: {to}; weir get does not follow redirects)"))
            .unwrap_or_default();
        return Err(Error::msg(format!(
            "the server answered {} {}{location}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ))
        .with_stage("get"));
    }
    Ok(response)
}

/// The response's body under `--max-output`, and the decoder its
/// Content-Encoding needs: an identity body is limited as its bytes arrive
/// (whatever the framing; a declared length over the limit fails at once),
/// a gzip one by its decoder's output.
fn limited_body(
    response: http::Response<Download>,
    len: Option<u64>,
    max_output: Option<u64>,
) -> Result<(Download, Option<GzipDecoder>), Error> {
    let encoding = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let mut body = response.into_body();
    match encoding.as_deref() {
        None | Some("identity") => {
            if let Some(max) = max_output {
                if let Some(n) = len.filter(|&n| n > max) {
                    return Err(Error::limit(format!(
                        "the body's Content-Length ({n} bytes) is over --max-output ({}, {max} bytes)",
                        crate::fmt::bytes(max)
                    ))
                    .with_stage("get"));
                }
                body = body.limit(max);
            }
            Ok((body, None))
        }
        Some("gzip") | Some("x-gzip") => {
            let mut b = GzipDecoder::builder();
            if let Some(n) = max_output {
                b.max_output(n);
            }
            Ok((body, Some(b.build())))
        }
        Some(other) => {
            Err(Error::msg(format!("unsupported Content-Encoding {other:?}")).with_stage("get"))
        }
    }
}

/// Waits until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The error for an output over `--max-output`.
fn too_large(max: u64) -> Error {
    Error::limit(format!(
        "the output passed --max-output ({}, {max} bytes)",
        crate::fmt::bytes(max)
    ))
    .with_stage("get")
}

/// A timeout of the client, its message (which names the phase) completed
/// with the option that set it.
fn name_timeout(e: Error) -> Error {
    if !e.is_timeout() {
        return e.with_stage("get");
    }
    let message = e.message().unwrap_or("timed out");
    let option = if message.starts_with("connect") {
        "--connect-timeout"
    } else {
        "--timeout"
    };
    Error::timeout(format!("{message} ({option})")).with_stage("get")
}

/// `1s`, `1.5s`, `0.25s`.
fn seconds(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
