use std::fmt;
use std::sync::Arc;

use super::ServerStats;
use super::server_stats::Counters;

/// Reads an [`HttpServer`](super::HttpServer)'s counters from anywhere,
/// while the server runs and after it is gone.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let server = weir_io::http::HttpServer::bind("127.0.0.1:0").await?;
/// let handle = server.stats_handle();
/// drop(server);
/// assert_eq!(handle.stats().requests, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerStatsHandle(pub(crate) Arc<Counters>);

impl ServerStatsHandle {
    /// The counters now.
    pub fn stats(&self) -> ServerStats {
        self.0.snapshot()
    }
}

impl fmt::Debug for ServerStatsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ServerStatsHandle")
            .field(&self.stats())
            .finish()
    }
}
