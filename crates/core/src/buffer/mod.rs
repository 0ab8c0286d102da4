//! The bounded buffer that joins every stage of a weir stream.
//!
//! [`buffer`] makes a [`Writer`] and a [`Reader`] joined by a queue whose size
//! is measured against a [`Limit`] (Node's `highWaterMark`).
//!
//! # Backpressure
//! The buffer is *full* once the buffered amount reaches the high mark, and
//! stays full until the reader has brought it down to the low mark (by default
//! half the high mark; `0` is Node's drain-when-empty). While it is full,
//! [`Writer::write`] answers [`Written::Full`] and [`Writer::drained`],
//! [`Writer::send`], `Sink::poll_ready` and `AsyncWrite::poll_write` wait.
//! The gap between the marks (hysteresis) means a waiting writer is woken once
//! per batch of room rather than once per chunk.
//!
//! # Memory use
//! A producer that waits for room keeps the buffered amount at or below the
//! high mark plus one chunk. A producer that ignores `Full` meets the hard cap
//! and the [`Overflow`] policy (by default an error). Nothing on the way
//! copies a chunk: `Bytes` move through as they are.
//!
//! # Closing
//! See [`Writer`] ("Closing") for end, abort and drop on the writing side, and
//! [`Reader`] for what the reader sees in each case.

mod config;
mod reader;
pub(crate) mod shared;
mod writer;

#[cfg(all(test, loom))]
mod tests;

pub use self::config::{BufferConfig, Overflow};
pub use self::reader::Reader;
pub use self::shared::Written;
pub use self::writer::Writer;

use crate::limit::Limit;

/// Makes a bounded buffer with high mark `limit` and default settings: a
/// [`Writer`] and a [`Reader`] joined by it. Use [`BufferConfig`] to set the
/// low mark, the hard cap, the overflow policy or a name.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::StreamExt;
/// use weir::{buffer, Limit, Written};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(16 * 1024));
/// match tx.write(Bytes::from_static(b"hello"))? {
///     Written::Ready => {}                  // room left: keep writing
///     Written::Full => tx.drained().await?, // Node's 'drain'
/// }
/// tx.end();
/// assert_eq!(rx.next().await.transpose()?, Some(Bytes::from_static(b"hello")));
/// assert!(rx.next().await.is_none());
/// # Ok(()) }
/// ```
pub fn buffer<T>(limit: Limit<T>) -> (Writer<T>, Reader<T>) {
    BufferConfig::new(limit).build()
}
