use std::time::Duration;

use tokio::net::ToSocketAddrs;
use weir_core::Error;

use super::HttpServer;

/// Options of an [`HttpServer`]: the timeouts and limits that keep stalled
/// or slow-drip clients from holding its resources.
///
/// Defaults (not part of the semver contract):
///
/// | option | default | like |
/// |---|---|---|
/// | [`header_read_timeout`](Self::header_read_timeout) | 30 s | Kestrel `RequestHeadersTimeout`, nginx `client_header_timeout` |
/// | [`write_timeout`](Self::write_timeout) | 60 s | nginx `send_timeout` |
/// | [`min_rate`](Self::min_rate) | 240 bytes/s after 5 s | Kestrel `MinResponseDataRate` |
/// | [`max_connections`](Self::max_connections) | 512 | nginx `worker_connections` |
/// | [`max_header_size`](Self::max_header_size) | 16 KiB | nginx `large_client_header_buffers` |
/// | [`write_buffer`](Self::write_buffer) | 64 KiB | Node's `highWaterMark` |
/// | [`shutdown_grace`](Self::shutdown_grace) | 10 s | Node's `server.close()` + a deadline |
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use weir_io::http::HttpServer;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = HttpServer::builder()
///     .header_read_timeout(Some(Duration::from_secs(10)))
///     .write_timeout(Some(Duration::from_secs(30)))
///     .min_rate(240, Duration::from_secs(5))
///     .max_connections(100)
///     .bind("127.0.0.1:0")
///     .await?;
/// assert_ne!(server.local_addr()?.port(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HttpServerBuilder {
    pub(crate) header_read_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) min_rate: u64,
    pub(crate) min_rate_grace: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_header_size: usize,
    pub(crate) write_buffer: usize,
    pub(crate) keep_alive: bool,
    pub(crate) shutdown_grace: Duration,
}

impl Default for HttpServerBuilder {
    fn default() -> Self {
        HttpServerBuilder {
            header_read_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(60)),
            min_rate: 240,
            min_rate_grace: Duration::from_secs(5),
            max_connections: 512,
            max_header_size: 16 * 1024,
            write_buffer: 64 * 1024,
            keep_alive: true,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl HttpServerBuilder {
    /// The default options.
    pub fn new() -> Self {
        HttpServerBuilder::default()
    }

    /// How long a client may take to send a request's headers, counted
    /// from when the server starts waiting for them (so it also bounds an
    /// idle keep-alive connection). `None`: no limit. A client that runs out
    /// of time has its connection closed (hyper sends no response).
    pub fn header_read_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a write to a client may wait without the client taking any
    /// byte. `None`: no limit. The connection is then closed.
    ///
    /// On Linux the server's sockets queue at most 16 KiB unsent
    /// (`TCP_NOTSENT_LOWAT`), so a write waits only until the client has
    /// taken what was queued, not until megabytes of send buffer drain.
    /// The client's receive window still reopens in steps (half its
    /// receive buffer), so with a [minimum rate](Self::min_rate) one wait
    /// may last as long as the previous step takes at that rate, twice
    /// over, and at most four write timeouts: a client reading steadily at
    /// the minimum rate is not cut, one that stops is cut after the write
    /// timeout (longer only if its last step was large: a client that
    /// never reads, through a large receive window, is cut after up to four
    /// write timeouts, as it cannot be told from one reading slowly).
    pub fn write_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.write_timeout = timeout;
        self
    }

    /// The minimum rate a client must take response bytes at: once the
    /// time the server has spent waiting on the client passes `grace`, the
    /// bytes written to it must be at least `bytes_per_sec` times that
    /// time, else the connection is closed. `0` turns the check off.
    ///
    /// The server cannot see the client between two wake-ups of the socket,
    /// so the check is an average over the connection of the bytes the
    /// kernel accepted. On Linux the unsent queue is bounded (16 KiB,
    /// `TCP_NOTSENT_LOWAT`), so those run ahead of what the client took by
    /// at most its receive window, that bound and one segment (28 KiB for
    /// a client with a 16 KiB receive buffer, ~160 KiB with Linux's default
    /// one), not the few MiB a send buffer grows to: that much is the
    /// credit of a client that drips from the start. Elsewhere the whole
    /// send buffer counts. A client that stops taking data altogether is cut
    /// by the [`write_timeout`](Self::write_timeout) instead.
    pub fn min_rate(&mut self, bytes_per_sec: u64, grace: Duration) -> &mut Self {
        self.min_rate = bytes_per_sec;
        self.min_rate_grace = grace;
        self
    }

    /// The most connections open at once (at least 1). When all are open,
    /// a new connection takes the place of the one that has waited longest
    /// for a request's headers (a new connection, or a kept-alive one
    /// between requests), which is closed (counted as
    /// [`shed`](super::ServerStats::shed)): clients dripping their headers
    /// slowly cannot hold every connection for a whole
    /// [`header_read_timeout`](Self::header_read_timeout). When every open
    /// connection is answering a request, the new one gets
    /// `503 Service Unavailable` with `Retry-After: 1` and is closed.
    pub fn max_connections(&mut self, n: usize) -> &mut Self {
        self.max_connections = n.max(1);
        self
    }

    /// The largest request head (request line and headers) accepted; a
    /// larger one gets `431 Request Header Fields Too Large`.
    pub fn max_header_size(&mut self, bytes: usize) -> &mut Self {
        self.max_header_size = bytes.max(1024);
        self
    }

    /// The most response bytes hyper queues per connection before it stops
    /// pulling the body (at least 8 KiB): with the socket buffers, this is
    /// what a slow client makes the server hold.
    pub fn write_buffer(&mut self, bytes: usize) -> &mut Self {
        self.write_buffer = bytes.max(8 * 1024);
        self
    }

    /// Whether connections are kept open between requests (default on).
    pub fn keep_alive(&mut self, on: bool) -> &mut Self {
        self.keep_alive = on;
        self
    }

    /// How long [`serve_until`](HttpServer::serve_until) waits, once told
    /// to stop, for open connections to finish their responses (default
    /// 10 s). Connections still open then are left to end with their tasks.
    pub fn shutdown_grace(&mut self, grace: Duration) -> &mut Self {
        self.shutdown_grace = grace;
        self
    }

    /// Listens on `addr`.
    ///
    /// # Cancel safety
    /// Cancel safe: if the future is dropped before it completes (name
    /// resolution or binding in progress), no socket is left listening.
    ///
    /// # Errors
    /// The bind error ([`Error::is_io`]), e.g. `AddrInUse`.
    pub async fn bind(&self, addr: impl ToSocketAddrs) -> Result<HttpServer, Error> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::from(e).with_stage("listen"))?;
        Ok(self.listener(listener))
    }

    /// Serves on a listening Tokio socket.
    pub fn listener(&self, listener: tokio::net::TcpListener) -> HttpServer {
        HttpServer::new(listener, self.clone())
    }
}
