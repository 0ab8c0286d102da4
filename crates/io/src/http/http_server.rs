use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::Body;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower_service::Service;
use weir_core::{BoxError, Error};

use super::conn_table::{ConnTable, TrackedBody};
use super::fd_limit::{Reserve, is_out_of_fds, retry_after_on_503};
use super::guarded_io::{GuardedIo, TripCounters};
use super::rate_guard::{MinRate, RateGuard};
use super::send_queue::{UNSENT_LIMIT, limit_unsent};
use super::served_body::ServedBody;
use super::server_stats::Counters;
use super::{HttpServerBuilder, ResponseBody, ServerStats, ServerStatsHandle};
use crate::trace::io_debug;

/// An HTTP/1.1 server on hyper whose responses are weir readables
/// ([`ResponseBody`]), guarded against clients that stall or drip.
///
/// Each connection runs on a task of its own. A response body is pulled only
/// as fast as the client takes it. The guards (see [`HttpServerBuilder`]):
/// a header-read timeout (the connection is closed), an idle write timeout and a minimum data
/// rate for responses (the connection is closed), a maximum header size
/// (431), and a maximum number of open connections (at the cap, the
/// connection that has waited longest for its request's headers is shed
/// for a new one; with none waiting, 503). Malformed
/// requests get 400 from hyper, and so does, before the handler sees it,
/// an HTTP/1.1 request without a `Host` header or any request with
/// several (RFC 9112 §3.2; HTTP/1.0 may go without). None of them stops the server: it goes on
/// serving everyone else.
///
/// # Examples
/// ```
/// use hyper::{Request, Response};
/// use weir_io::http::{HttpServer, ResponseBody};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = HttpServer::bind("127.0.0.1:0").await?;
/// let url = format!("http://{}/", server.local_addr()?);
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let running = tokio::spawn(server.serve_until(
///     |_req: Request<hyper::body::Incoming>| async {
///         Response::new(ResponseBody::full("hello\n"))
///     },
///     async { let _ = stopped.await; },
/// ));
/// let response = weir_io::http::get(&url).await?;
/// assert_eq!(response.status(), 200);
/// let _ = stop.send(());
/// running.await.unwrap()?;
/// # Ok(()) }
/// ```
pub struct HttpServer {
    listener: tokio::net::TcpListener,
    options: HttpServerBuilder,
    counters: Arc<Counters>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.listener.local_addr().ok())
            .field("options", &self.options)
            .field("stats", &self.counters.snapshot())
            .finish()
    }
}

impl HttpServer {
    /// Options for a new server.
    pub fn builder() -> HttpServerBuilder {
        HttpServerBuilder::default()
    }

    /// Listens on `addr` with the default options.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes (name
    /// resolution or binding in progress), no socket is left listening.
    ///
    /// # Errors
    /// The bind error ([`Error::is_io`]), e.g. `AddrInUse`.
    pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> Result<HttpServer, Error> {
        HttpServerBuilder::default().bind(addr).await
    }

    pub(crate) fn new(listener: tokio::net::TcpListener, options: HttpServerBuilder) -> Self {
        HttpServer {
            listener,
            options,
            counters: Arc::default(),
        }
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// If the socket cannot tell (it is then broken).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The counters now.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// A handle to read the counters while the server runs.
    pub fn stats_handle(&self) -> ServerStatsHandle {
        ServerStatsHandle(self.counters.clone())
    }

    /// Serves every connection with `handler` until the task is dropped.
    ///
    /// # Cancel safety
    /// Dropping the future stops accepting; connections already open go on
    /// on their own tasks until they end.
    ///
    /// # Errors
    /// None in practice: accept errors (e.g. out of file descriptors) are
    /// waited out, not returned.
    pub async fn serve<H, F>(self, handler: H) -> Result<(), Error>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<ResponseBody>> + Send + 'static,
    {
        self.serve_until(handler, std::future::pending::<()>())
            .await
    }

    /// Serves until `shutdown` completes, then stops accepting (the
    /// listening socket is closed at once), lets each open connection
    /// finish its current response (idle ones close at once), and returns
    /// when all are closed or the
    /// [shutdown grace](HttpServerBuilder::shutdown_grace) has passed.
    ///
    /// # Cancel safety
    /// As [`serve`](HttpServer::serve).
    ///
    /// # Errors
    /// None in practice (see [`serve`](HttpServer::serve)).
    pub async fn serve_until<H, F, S>(self, handler: H, shutdown: S) -> Result<(), Error>
    where
        H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
        F: Future<Output = Response<ResponseBody>> + Send + 'static,
        S: Future<Output = ()>,
    {
        self.serve_service_until(HandlerService(Arc::new(handler)), shutdown)
            .await
    }

    /// Serves every connection with a tower [`Service`] (an axum `Router`,
    /// a tower-http stack, a `tower::service_fn`…) until the task is
    /// dropped, with the same guards as [`serve`](HttpServer::serve).
    ///
    /// See [`serve_service_until`](HttpServer::serve_service_until).
    ///
    /// # Cancel safety
    /// As [`serve`](HttpServer::serve).
    ///
    /// # Errors
    /// None in practice (see [`serve`](HttpServer::serve)).
    pub async fn serve_service<S, B>(self, service: S) -> Result<(), Error>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.serve_service_until(service, std::future::pending::<()>())
            .await
    }

    /// Serves every connection with a tower [`Service`] until `shutdown`
    /// completes, then shuts down gracefully as
    /// [`serve_until`](HttpServer::serve_until) does.
    ///
    /// Every guard of the server holds for the service's connections too:
    /// they are enforced on the connection (hyper's header-read timeout, the
    /// write timeout and minimum rate on the socket, the connection cap and
    /// its shedding), not in a handler, so the service needs no code of its
    /// own for them. The service is cloned for each request and waited on
    /// with `poll_ready` before its `call` (tower's `oneshot`). A request
    /// that breaks RFC 9112's `Host` rule gets 400 before the service sees
    /// it. A service that fails (`Err`, which an axum `Router` never
    /// returns) gets its client a `500 Internal Server Error` and a closed
    /// connection. A response body that fails ends the connection without
    /// finishing the body, so the client sees an incomplete response, never
    /// a clean end.
    ///
    /// A response's body may carry any [`Buf`](bytes::Buf) as its data: a
    /// `Bytes` (what axum, hyper and weir use) is handed on without a copy,
    /// anything else is copied once.
    ///
    /// # Cancel safety
    /// As [`serve`](HttpServer::serve).
    ///
    /// # Errors
    /// None in practice (see [`serve`](HttpServer::serve)).
    ///
    /// # Examples
    /// A `tower::service_fn` (an axum `Router` is served the same way: see
    /// `examples/axum_service.rs`):
    /// ```
    /// use std::convert::Infallible;
    /// use hyper::{Request, Response, body::Incoming};
    /// use weir_io::http::{HttpServer, ResponseBody};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
    /// let server = HttpServer::bind("127.0.0.1:0").await?;
    /// let url = format!("http://{}/", server.local_addr()?);
    /// let service = tower::service_fn(|req: Request<Incoming>| async move {
    ///     let text = format!("you asked for {}\n", req.uri().path());
    ///     Ok::<_, Infallible>(Response::new(ResponseBody::full(text)))
    /// });
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let running = tokio::spawn(server.serve_service_until(service, async {
    ///     let _ = stopped.await;
    /// }));
    /// let response = weir_io::http::get(&url).await?;
    /// assert_eq!(response.status(), 200);
    /// let _ = stop.send(());
    /// running.await.unwrap()?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_service_until<S, B, F>(self, service: S, shutdown: F) -> Result<(), Error>
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Error: Into<BoxError>,
        F: Future<Output = ()>,
    {
        let max = self.options.max_connections;
        // "No cap" (as `usize::MAX`) is as many as a semaphore can count.
        let max = max.min(Semaphore::MAX_PERMITS);
        let permits = Arc::new(Semaphore::new(max));
        let conns = Arc::new(ConnTable::default());
        let mut reserve = Reserve::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        let http = Arc::new(self.hyper_builder());
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                r = self.listener.accept() => r,
            };
            let (socket, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    io_debug!(error = %e, "accept failed");
                    // Out of descriptors: the spare one lets the waiting
                    // client be told 503. Else (or for other errors) wait a
                    // little instead of spinning on a ready listener.
                    if !(is_out_of_fds(&e) && self.refuse_with_reserve(&mut reserve).await) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            };
            let permit = match permits.clone().try_acquire_owned() {
                Ok(permit) => Ok(permit),
                // At the cap: the connection that has waited longest for
                // its request's headers makes room for this one.
                Err(_) if conns.shed_oldest() => {
                    self.counters.shed.fetch_add(1, Relaxed);
                    Err(permits.clone())
                }
                Err(_) => {
                    self.counters.refused.fetch_add(1, Relaxed);
                    tokio::spawn(refuse(socket));
                    continue;
                }
            };
            let conn = Conn {
                socket,
                peer,
                guard: self.write_guard(),
                counters: self.counters.clone(),
                conns: conns.clone(),
                http: http.clone(),
                stop: stop_rx.clone(),
            };
            tokio::spawn(conn.serve(permit, service.clone()));
        }
        let _ = stop_tx.send(true);
        // Close the listening socket now, as Node's `server.close()` does: a
        // client connecting while open connections finish is refused at
        // once rather than left in the backlog until the grace ends.
        let grace = self.options.shutdown_grace;
        drop(self);
        // Every connection holds a permit until it ends.
        let all = u32::try_from(max).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(grace, permits.acquire_many(all)).await;
        Ok(())
    }

    /// hyper's HTTP/1 server with this server's options.
    fn hyper_builder(&self) -> hyper::server::conn::http1::Builder {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.options.header_read_timeout)
            .keep_alive(self.options.keep_alive)
            .max_header_size(self.options.max_header_size)
            .max_buf_size(
                self.options
                    .write_buffer
                    .max(self.options.max_header_size)
                    .max(8192),
            );
        http
    }

    /// A new connection's write guard: the idle timeout and minimum rate.
    fn write_guard(&self) -> RateGuard {
        let rate = (self.options.min_rate > 0).then_some(MinRate {
            bytes_per_sec: self.options.min_rate,
            grace: self.options.min_rate_grace,
        });
        RateGuard::new(self.options.write_timeout, rate).paced_idle(true)
    }
}

/// One accepted connection and what its task needs from the server.
struct Conn {
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    guard: RateGuard,
    counters: Arc<Counters>,
    conns: Arc<ConnTable>,
    http: Arc<hyper::server::conn::http1::Builder>,
    stop: watch::Receiver<bool>,
}

impl Conn {
    /// Serves the connection with `service` until it closes, is shed, or
    /// the server stops (then after its current response). `permit` is the
    /// connection's place under the cap, or, for a connection let in by
    /// shedding another, the semaphore to wait on for the shed one's.
    async fn serve<S, B>(self, permit: Result<OwnedSemaphorePermit, Arc<Semaphore>>, service: S)
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let Conn {
            socket,
            peer,
            guard,
            counters,
            conns,
            http,
            mut stop,
        } = self;
        let permit = match permit {
            Ok(permit) => permit,
            Err(permits) => match tokio::time::timeout(SHED_WAIT, permits.acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    counters.refused.fetch_add(1, Relaxed);
                    refuse(socket).await;
                    return;
                }
            },
        };
        let _ = socket.set_nodelay(true);
        limit_unsent(&socket, UNSENT_LIMIT);
        counters.accepted.fetch_add(1, Relaxed);
        counters.active.fetch_add(1, Relaxed);
        let entry = Arc::new(conns.register());
        let io = GuardedIo::new(
            socket,
            guard,
            counters.sent.clone(),
            counters.received.clone(),
            counters.too_slow.clone(),
        )
        .with_flush_hook(entry.on_flush())
        .with_trip_counters(TripCounters {
            idle: counters.write_timeouts.clone(),
            slow: counters.min_rate_cuts.clone(),
        });
        let counters2 = counters.clone();
        let entry2 = entry.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            counters2.requests.fetch_add(1, Relaxed);
            let counters3 = counters2.clone();
            let busy = entry2.busy();
            let bad_host = host_is_bad(&req);
            let service = service.clone();
            async move {
                let response = if bad_host {
                    bad_host_response().map(ServedBody::own)
                } else {
                    match oneshot(service, req).await {
                        Ok(response) => response.map(ServedBody::service),
                        Err(e) => {
                            let e: BoxError = e.into();
                            io_debug!(peer = %peer, error = %e, "http service failed");
                            let _ = e;
                            service_failed().map(ServedBody::own)
                        }
                    }
                };
                let response = retry_after_on_503(response);
                counters3.statuses.count(response.status());
                Ok::<_, Infallible>(response.map(|b| TrackedBody::new(b, busy)))
            }
        });
        let conn = http.serve_connection(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let stopping = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let result = tokio::select! {
            r = conn.as_mut() => r,
            () = stopping => {
                conn.as_mut().graceful_shutdown();
                conn.as_mut().await
            }
            // Shed while waiting for headers: close at once.
            () = entry.shed() => Ok(()),
        };
        if let Err(e) = result {
            counters.failed.fetch_add(1, Relaxed);
            if e.is_timeout() {
                // hyper's only timeout: the header-read one.
                counters.header_timeouts.fetch_add(1, Relaxed);
            }
            io_debug!(peer = %peer, error = %e, "http connection ended with an error");
            let _ = e;
        }
        let _ = peer;
        counters.active.fetch_sub(1, Relaxed);
        drop(permit);
    }
}

/// Waits for `service` to be ready, then calls it with `req` (tower's
/// `ServiceExt::oneshot`).
async fn oneshot<S, R>(mut service: S, req: R) -> Result<S::Response, S::Error>
where
    S: Service<R>,
{
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(req).await
}

/// A weir handler (an async function from request to response) as a tower
/// service that never fails.
struct HandlerService<H>(Arc<H>);

impl<H> Clone for HandlerService<H> {
    fn clone(&self) -> Self {
        HandlerService(self.0.clone())
    }
}

impl<H, F> Service<Request<Incoming>> for HandlerService<H>
where
    H: Fn(Request<Incoming>) -> F,
    F: Future<Output = Response<ResponseBody>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = NeverFails<F>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> NeverFails<F> {
        NeverFails {
            inner: (self.0)(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// A handler's future as a service's: its response, `Ok`.
    struct NeverFails<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for NeverFails<F> {
    type Output = Result<F::Output, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Ok)
    }
}

/// Whether `req` breaks RFC 9112 §3.2's rule on `Host`: an HTTP/1.1
/// request needs exactly one (empty is allowed), and no request may have
/// several. HTTP/1.0 may go without.
fn host_is_bad<B>(req: &Request<B>) -> bool {
    let mut hosts = req.headers().get_all(http::header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => true,
        (None, _) => req.version() == http::Version::HTTP_11,
        (Some(_), None) => false,
    }
}

/// The answer to a request [`host_is_bad`] refuses: 400, and the
/// connection is closed after it.
fn bad_host_response() -> Response<ResponseBody> {
    closing_text(
        http::StatusCode::BAD_REQUEST,
        "400 Bad Request: missing or repeated Host\n",
    )
}

/// The answer when the service fails: 500, and the connection is closed
/// after it (the service may be in any state).
fn service_failed() -> Response<ResponseBody> {
    closing_text(
        http::StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error\n",
    )
}

/// A short plain-text answer with `status`, after which the connection is
/// closed.
fn closing_text(status: http::StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::full(text));
    *r.status_mut() = status;
    let headers = r.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(text.len()),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    r
}

impl HttpServer {
    /// `accept` failed for want of a descriptor: gives up the spare one,
    /// takes the waiting connection with it, answers 503 and closes it at
    /// once, then takes a spare again. `false` if there was no spare or no
    /// connection was waiting (Linux fails `accept` for want of a
    /// descriptor before it looks at the queue).
    async fn refuse_with_reserve(&self, reserve: &mut Reserve) -> bool {
        if !reserve.release() {
            reserve.refill();
            return false;
        }
        // One try, no waiting: the spare must be taken again before anyone
        // else takes the descriptor.
        let accepted = std::future::poll_fn(|cx| Poll::Ready(self.listener.poll_accept(cx))).await;
        let served = if let Poll::Ready(Ok((socket, _))) = accepted {
            self.counters.refused.fetch_add(1, Relaxed);
            refuse_now(socket);
            true
        } else {
            false
        };
        reserve.refill();
        served
    }
}

/// Answers 503 without waiting and closes the socket, freeing its
/// descriptor at once. The request is read first if it has arrived, so that
/// closing does not reset the connection under the answer.
fn refuse_now(socket: tokio::net::TcpStream) {
    let mut request = [0u8; 4096];
    let _ = socket.try_read(&mut request);
    let _ = socket.try_write(REFUSAL);
    if let Ok(socket) = socket.into_std() {
        let _ = socket.shutdown(std::net::Shutdown::Write);
    }
}

/// The canned answer to a connection that cannot be served now.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n";

/// How long a connection let in by shedding another waits for that one to
/// close (it closes as soon as its task runs) before it gets 503 instead.
const SHED_WAIT: Duration = Duration::from_secs(1);

/// Answers a connection over the limit with 503 and closes it.
async fn refuse(mut socket: tokio::net::TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = socket.write_all(REFUSAL).await;
        let _ = socket.shutdown().await;
    })
    .await;
}
