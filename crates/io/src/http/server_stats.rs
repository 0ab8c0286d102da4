use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of an [`HttpServer`](super::HttpServer)'s counters, from
/// [`HttpServer::stats`](super::HttpServer::stats) or a
/// [`ServerStatsHandle`](super::ServerStatsHandle).
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = weir_io::http::HttpServer::bind("127.0.0.1:0").await?;
/// let s = server.stats();
/// assert_eq!((s.accepted, s.active, s.requests), (0, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections turned away (503) because `max_connections` were open.
    pub refused: u64,
    /// Connections closed while they waited for a request's headers, to
    /// make room for a new one at `max_connections` (the oldest waiting
    /// first: the slowloris defence).
    pub shed: u64,
    /// Connections open now.
    pub active: u64,
    /// Requests handled.
    pub requests: u64,
    /// Connections ended because the client took data too slowly or not at
    /// all (idle write timeout, minimum rate).
    pub too_slow: u64,
    /// Connections that ended with an error (malformed request, header
    /// timeout, peer reset, too slow, a failing body).
    pub failed: u64,
    /// Bytes written to clients.
    pub bytes_sent: u64,
    /// Bytes read from clients.
    pub bytes_received: u64,
    /// Connections cut by the header-read timeout: a request's headers
    /// (or the next request on a kept-alive connection) took too long.
    pub header_timeouts: u64,
    /// Connections cut by the idle write timeout: the client took nothing
    /// for that long (part of `too_slow`).
    pub write_timeouts: u64,
    /// Connections cut by the minimum data rate (part of `too_slow`).
    pub min_rate_cuts: u64,
    /// Responses the service gave, by status code: `(code, count)` in
    /// increasing order of code, codes never given left out. The canned
    /// 503 of a connection turned away at the cap is counted in `refused`,
    /// not here.
    pub responses: Vec<(u16, u64)>,
}

/// The live counters behind [`ServerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) shed: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) too_slow: Arc<AtomicU64>,
    pub(crate) failed: AtomicU64,
    pub(crate) sent: Arc<AtomicU64>,
    pub(crate) received: Arc<AtomicU64>,
    pub(crate) header_timeouts: AtomicU64,
    pub(crate) write_timeouts: Arc<AtomicU64>,
    pub(crate) min_rate_cuts: Arc<AtomicU64>,
    pub(crate) statuses: StatusCounts,
}

/// One counter per status code from 100 to 599.
#[derive(Debug)]
pub(crate) struct StatusCounts(Box<[AtomicU64]>);

impl Default for StatusCounts {
    fn default() -> Self {
        StatusCounts((100..600).map(|_| AtomicU64::new(0)).collect())
    }
}

impl StatusCounts {
    /// Counts one response with `status`.
    pub(crate) fn count(&self, status: http::StatusCode) {
        if let Some(c) = self.0.get(usize::from(status.as_u16()).wrapping_sub(100)) {
            c.fetch_add(1, Relaxed);
        }
    }

    fn snapshot(&self) -> Vec<(u16, u64)> {
        (100u16..)
            .zip(self.0.iter())
            .map(|(code, c)| (code, c.load(Relaxed)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

impl Counters {
    pub(crate) fn snapshot(&self) -> ServerStats {
        ServerStats {
            accepted: self.accepted.load(Relaxed),
            refused: self.refused.load(Relaxed),
            shed: self.shed.load(Relaxed),
            active: self.active.load(Relaxed),
            requests: self.requests.load(Relaxed),
            too_slow: self.too_slow.load(Relaxed),
            failed: self.failed.load(Relaxed),
            bytes_sent: self.sent.load(Relaxed),
            bytes_received: self.received.load(Relaxed),
            header_timeouts: self.header_timeouts.load(Relaxed),
            write_timeouts: self.write_timeouts.load(Relaxed),
            min_rate_cuts: self.min_rate_cuts.load(Relaxed),
            responses: self.statuses.snapshot(),
        }
    }
}
