//! A minimal HTTP/1.1 client whose response bodies are weir readables.

use std::future::Future;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use weir_core::Error;

use super::{BodyReader, ResponseBody};

/// Sends `GET url` and returns the response once its head has arrived; the
/// body is a weir readable, read from the socket only as fast as it is
/// consumed.
///
/// Only `http://` URLs (no TLS); one connection per request. Redirects are
/// not followed. No timeouts and no body limit: [`fetch_with`] sets them.
///
/// # Cancel safety
/// Cancel safe: dropping the future closes the connection.
///
/// # Errors
/// A malformed or non-`http` URL, a connection error ([`Error::is_io`]),
/// or an HTTP protocol error. A 4xx or 5xx answer is *not* an error: check
/// [`Response::status`].
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use hyper::{Request, Response};
/// use weir_io::http::{HttpServer, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = HttpServer::bind("127.0.0.1:0").await?;
/// let url = format!("http://{}/", server.local_addr()?);
/// tokio::spawn(server.serve(|_req: Request<hyper::body::Incoming>| async {
///     Response::new(ResponseBody::full("streamed\n"))
/// }));
/// let response = weir_io::http::get(&url).await?;
/// assert_eq!(response.status(), 200);
/// let body: Vec<_> = response.into_body().try_collect().await?;
/// assert_eq!(body.concat(), b"streamed\n");
/// # Ok(()) }
/// ```
pub async fn get(url: &str) -> Result<Response<BodyReader<Incoming>>, Error> {
    let req = Request::get(url)
        .body(ResponseBody::empty())
        .map_err(|e| Error::other(e).with_stage("http.client"))?;
    fetch(req).await
}

/// Sends `req` (its body a weir readable, pulled as fast as the server takes
/// it) and returns the response once its head has arrived. No timeouts and
/// no body limit: [`fetch_with`] sets them.
///
/// The URI must be absolute (`http://host[:port]/path`); `Host` is set from
/// it unless present.
///
/// # Cancel safety
/// Cancel safe: dropping the future closes the connection.
///
/// # Errors
/// As [`get`].
///
/// # Examples
/// ```
/// use http::Request;
/// use weir_io::http::{fetch, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let req = Request::get("https://example.invalid/").body(ResponseBody::empty()).unwrap();
/// let err = fetch(req).await.unwrap_err();
/// assert!(err.to_string().contains("only http"));
/// # }
/// ```
pub async fn fetch(req: Request<ResponseBody>) -> Result<Response<BodyReader<Incoming>>, Error> {
    fetch_with(req, &FetchOptions::new()).await
}

/// The guards of a request sent by [`fetch_with`]: timeouts for each phase
/// and a limit on the response body. All off in [`FetchOptions::new`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use weir_io::http::FetchOptions;
///
/// let options = FetchOptions::new()
///     .connect_timeout(Duration::from_secs(30))
///     .header_timeout(Duration::from_secs(60))
///     .idle_timeout(Duration::from_secs(60))
///     .max_body(1 << 30);
/// assert_eq!(options.max_body_len(), Some(1 << 30));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchOptions {
    connect: Option<Duration>,
    headers: Option<Duration>,
    idle: Option<Duration>,
    max_body: Option<u64>,
}

impl FetchOptions {
    /// No timeouts, no body limit.
    pub fn new() -> Self {
        FetchOptions::default()
    }

    /// Fails if the host is not resolved and connected within `timeout`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect = Some(timeout);
        self
    }

    /// Fails if the response head has not arrived within `timeout` of the
    /// connection being made (the time spent sending the request's body
    /// counts too).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.headers = Some(timeout);
        self
    }

    /// Fails the response body if nothing arrives for `timeout` while it
    /// is being read ([`BodyReader::idle_timeout`]): time the consumer
    /// spends elsewhere does not count.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout);
        self
    }

    /// Fails the response body past `max` bytes, counted as they arrive,
    /// whatever its framing (`Content-Length`, chunked, or up to the end of
    /// the connection); a declared `Content-Length` over `max` fails before
    /// anything is read ([`BodyReader::limit`]).
    pub fn max_body(mut self, max: u64) -> Self {
        self.max_body = Some(max);
        self
    }

    /// The connect timeout, if any.
    pub fn connect_timeout_value(&self) -> Option<Duration> {
        self.connect
    }

    /// The response-head timeout, if any.
    pub fn header_timeout_value(&self) -> Option<Duration> {
        self.headers
    }

    /// The body's idle timeout, if any.
    pub fn idle_timeout_value(&self) -> Option<Duration> {
        self.idle
    }

    /// The body limit, if any.
    pub fn max_body_len(&self) -> Option<u64> {
        self.max_body
    }
}

/// [`fetch`] with guards: each phase that takes longer than its timeout
/// fails with an error for which [`Error::is_timeout`] is true and whose
/// message names the phase (`connect`, `response headers`, `body`); a body
/// over [`FetchOptions::max_body`] fails with [`Error::is_limit`].
///
/// # Cancel safety
/// Cancel safe: dropping the future closes the connection.
///
/// # Errors
/// As [`get`], and the timeouts above (the connect and header timeouts
/// here; the idle timeout and the limit from the response body's stream).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use http::Request;
/// use weir_io::http::{fetch_with, FetchOptions, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // A server that accepts and never answers.
/// let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// let url = format!("http://{}/", silent.local_addr().unwrap());
/// let req = Request::get(url).body(ResponseBody::empty()).unwrap();
/// let options = FetchOptions::new().header_timeout(Duration::from_millis(50));
/// let err = fetch_with(req, &options).await.unwrap_err();
/// assert!(err.is_timeout());
/// assert!(err.to_string().contains("response headers"));
/// # }
/// ```
pub async fn fetch_with(
    mut req: Request<ResponseBody>,
    options: &FetchOptions,
) -> Result<Response<BodyReader<Incoming>>, Error> {
    let stage = "http.client";
    let uri = req.uri().clone();
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(
                Error::msg(format!("{other}:// is not supported (only http://)")).with_stage(stage),
            );
        }
        None => return Err(Error::msg(format!("not an absolute URL: {uri}")).with_stage(stage)),
    }
    let Some(host) = uri.host() else {
        return Err(Error::msg(format!("no host in {uri}")).with_stage(stage));
    };
    let port = uri.port_u16().unwrap_or(80);
    let host_trimmed = host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host_trimmed, port));
    let socket = within(options.connect, connect)
        .await
        .map_err(|after| {
            Error::timeout(format!(
                "connect: no connection to {host}:{port} within {}",
                seconds(after)
            ))
            .with_stage(stage)
        })?
        .map_err(|e| {
            let e = std::io::Error::new(e.kind(), format!("connect to {host}:{port}: {e}"));
            Error::from(e).with_stage(stage)
        })?;
    let _ = socket.set_nodelay(true);
    if !req.headers().contains_key(header::HOST) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(host);
        if let Ok(v) = HeaderValue::from_str(authority) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    let origin = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse::<Uri>()
        .map_err(|e| Error::other(e).with_stage(stage))?;
    *req.uri_mut() = origin;
    // The connection task ends when the response body is read or dropped;
    // it is aborted at once if the head does not come in time.
    let mut conn_task = None;
    let exchange = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
            .await
            .map_err(|e| Error::other(e).with_stage(stage))?;
        conn_task = Some(AbortOnDrop(Some(tokio::spawn(async move {
            let _ = conn.await;
        }))));
        sender
            .send_request(req)
            .await
            .map_err(|e| Error::other(e).with_stage(stage))
    };
    let response = match within(options.headers, exchange).await {
        Ok(r) => r?,
        Err(after) => {
            return Err(Error::timeout(format!(
                "response headers: none within {}",
                seconds(after)
            ))
            .with_stage(stage));
        }
    };
    if let Some(mut task) = conn_task {
        task.detach();
    }
    let options = *options;
    Ok(response.map(move |body| {
        let mut body = BodyReader::new(body);
        if let Some(max) = options.max_body {
            body = body.limit(max);
        }
        if let Some(idle) = options.idle {
            body = body.idle_timeout(idle);
        }
        body
    }))
}

/// Runs `fut` within `limit` (if any); `Err(limit)` if it took longer.
async fn within<F: Future>(limit: Option<Duration>, fut: F) -> Result<F::Output, Duration> {
    match limit {
        None => Ok(fut.await),
        Some(d) => tokio::time::timeout(d, fut).await.map_err(|_| d),
    }
}

/// `1.5s`, `0.25s`.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A spawned task aborted when dropped, unless detached first.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl AbortOnDrop {
    /// Lets the task run on its own.
    fn detach(&mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}
