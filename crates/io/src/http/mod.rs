//! HTTP/1.1 on hyper 1 with weir bodies: responses pulled from readables,
//! requests and downloads read as readables, and a guarded static file
//! server.
//!
//! - [`ResponseBody`]: a hyper body from any weir readable of `Bytes`
//!   (Node's `readable.pipe(res)`). Hyper pulls it, so a slow client slows
//!   the source.
//! - [`BodyReader`]: any hyper body (a request's, a download's) as a weir
//!   readable, with a size limit (an [`Error::is_limit`](weir_core::Error::is_limit)
//!   error, 413) and a minimum data rate.
//! - [`ResponseBody::from_pipeline`] (feature `pipe`, on by default): a
//!   weir-pipe `Pipeline` as a response body, whose failure aborts the
//!   response, and a [`ReportHandle`] for its run report once the body has
//!   ended (Node's `stream.pipeline(source, gzip, res, callback)`).
//! - [`HttpServer`]: connections on tasks, with a header-read timeout, an
//!   idle write timeout, a minimum response data rate, a maximum header size
//!   and a maximum number of connections (shedding those still waiting for
//!   headers first; 503 with `Retry-After` past it or out of descriptors),
//!   and graceful shutdown. It serves a weir handler (an async function from
//!   request to [`ResponseBody`] response) or any tower service, an axum
//!   `Router` included ([`HttpServer::serve_service`]), with the same guards.
//! - [`negotiate_encoding`]: the content coding ([`ContentCoding`]) to answer
//!   in, from the request's `Accept-Encoding` (RFC 9110's weights, `*`,
//!   `identity;q=0`).
//! - [`FileServer`]: the static file handler behind `weir serve`: streaming,
//!   `Range`, `HEAD`, gzip negotiation ([`negotiate_encoding`]), and no way
//!   out of its root.
//! - [`get`], [`fetch`] and [`fetch_with`]: a client whose response body is
//!   a [`BodyReader`]; [`FetchOptions`] set its connect, response-head and
//!   idle timeouts and a limit on the body, counted as it arrives.
//!
//! # Backpressure
//! Hyper writes a response by asking its body for the next chunk only when
//! its write buffer (at most [`HttpServerBuilder::write_buffer`]) has room,
//! and that buffer empties only as fast as the kernel's socket buffer,
//! which empties as fast as the client reads. So what a server reads ahead
//! of a slow client is bounded by those buffers plus the source's own,
//! whatever the body's size. Reading works the other way round: hyper reads
//! the socket when the body is polled, so a consumer that stops closes the
//! sender's TCP window.
//!
//! # Slow and stalled clients
//! A client that never finishes its headers is cut by the header-read
//! timeout (the connection is closed), and sooner when the server is at its
//! connection cap: the connection that has waited longest for its headers
//! is shed for each new one. A client that stops reading the response is cut by the
//! write timeout; one that reads, but slower than the minimum rate (240
//! bytes/s once 5 s have been spent waiting on it, by default), is cut too.
//! Both close the connection: the client sees a truncated body. On Linux
//! both are judged by what the client took, not by what filled the
//! kernel's send buffer (see [`HttpServerBuilder::min_rate`]).
#[cfg(unix)]
mod beneath;
#[cfg(not(unix))]
#[path = "beneath_portable.rs"]
mod beneath;
mod body_reader;
mod client;
mod conn_table;
mod content_coding;
mod fd_limit;
mod file_server;
mod file_server_builder;
mod file_server_stats;
mod guarded_io;
mod http_server;
mod http_server_builder;
#[cfg(feature = "pipe")]
mod pipeline_body;
mod pooled_encode;
mod rate_guard;
#[cfg(feature = "pipe")]
mod report_handle;
mod resolve;
mod response_body;
mod send_queue;
mod served_body;
mod server_stats;
mod server_stats_handle;

pub use self::body_reader::BodyReader;
pub use self::client::{FetchOptions, fetch, fetch_with, get};
pub use self::content_coding::{ContentCoding, negotiate_encoding};
pub use self::file_server::FileServer;
pub use self::file_server_builder::{BoxEncoder, FileServerBuilder};
pub use self::file_server_stats::FileServerStats;
pub use self::http_server::HttpServer;
pub use self::http_server_builder::HttpServerBuilder;
#[cfg(feature = "pipe")]
#[cfg_attr(docsrs, doc(cfg(feature = "pipe")))]
pub use self::report_handle::ReportHandle;
pub use self::response_body::ResponseBody;
pub use self::server_stats::ServerStats;
pub use self::server_stats_handle::ServerStatsHandle;

/// The status a server answers a failed request body with: 413 for a body
/// over its limit, 408 for a client too slow, 400 otherwise.
///
/// # Examples
/// ```
/// use weir_io::http::error_status;
///
/// assert_eq!(error_status(&weir_core::Error::limit("too big")), 413);
/// assert_eq!(error_status(&weir_core::Error::timeout("slow")), 408);
/// ```
pub fn error_status(e: &weir_core::Error) -> http::StatusCode {
    if e.is_limit() {
        http::StatusCode::PAYLOAD_TOO_LARGE
    } else if e.is_timeout() {
        http::StatusCode::REQUEST_TIMEOUT
    } else {
        http::StatusCode::BAD_REQUEST
    }
}
