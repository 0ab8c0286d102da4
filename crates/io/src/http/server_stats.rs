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
        }
    }
}
