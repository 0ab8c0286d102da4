use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::Poll;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, watch};
use weir_core::Error;

use super::conn_table::{ConnTable, TrackedBody};
use super::fd_limit::{Reserve, is_out_of_fds, retry_after_on_503};
use super::guarded_io::{GuardedIo, TripCounters};
use super::rate_guard::{MinRate, RateGuard};
use super::send_queue::{UNSENT_LIMIT, limit_unsent};
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

    /// Serves until `shutdown` completes, then stops accepting, lets each
    /// open connection finish its current response, and returns when all
    /// are closed or the [shutdown grace](HttpServerBuilder::shutdown_grace)
    /// has passed.
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
        let handler = Arc::new(handler);
        let max = self.options.max_connections;
        // "No cap" (as `usize::MAX`) is as many as a semaphore can count.
        let max = max.min(Semaphore::MAX_PERMITS);
        let permits = Arc::new(Semaphore::new(max));
        let conns = Arc::new(ConnTable::default());
        let mut reserve = Reserve::new();
        let (stop_tx, stop_rx) = watch::channel(false);
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
        let http = Arc::new(http);
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
            let rate = (self.options.min_rate > 0).then_some(MinRate {
                bytes_per_sec: self.options.min_rate,
                grace: self.options.min_rate_grace,
            });
            let guard = RateGuard::new(self.options.write_timeout, rate).paced_idle(true);
            let counters = self.counters.clone();
            let conns = conns.clone();
            let handler = handler.clone();
            let http = http.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let permit = match permit {
                    Ok(permit) => permit,
                    Err(permits) => {
                        match tokio::time::timeout(SHED_WAIT, permits.acquire_owned()).await {
                            Ok(Ok(permit)) => permit,
                            _ => {
                                counters.refused.fetch_add(1, Relaxed);
                                refuse(socket).await;
                                return;
                            }
                        }
                    }
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
                    let fut = (!host_is_bad(&req)).then(|| handler(req));
                    async move {
                        let response = retry_after_on_503(match fut {
                            Some(fut) => fut.await,
                            None => bad_host(),
                        });
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
            });
        }
        let _ = stop_tx.send(true);
        // Every connection holds a permit until it ends.
        let all = u32::try_from(max).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(self.options.shutdown_grace, permits.acquire_many(all)).await;
        Ok(())
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
fn bad_host() -> Response<ResponseBody> {
    let text = "400 Bad Request: missing or repeated Host\n";
    let mut r = Response::new(ResponseBody::full(text));
    *r.status_mut() = http::StatusCode::BAD_REQUEST;
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
