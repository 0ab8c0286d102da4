//! Readable streams: where chunks come from.
//!
//! In weir a readable is any `Stream<Item = Result<T, Error>>` (the
//! [`Readable`] trait names that shape). This module makes them from the usual
//! sources and gives them combinators ([`ReadableExt`]):
//!
//! - [`ChunkReader`]: an `AsyncRead` (a file, a socket) read in chunks of a
//!   chosen size, as `Bytes` (Node's `fs.createReadStream` with its
//!   `highWaterMark`).
//! - [`from_iter`]: an iterator (Node's `Readable.from(array)`).
//! - [`from_stream`] and [`from_try_stream`]: any `Stream` (Node's
//!   `Readable.from(asyncGenerator)`).
//! - [`ReadableExt::into_byte_reader`]: back to `AsyncRead`/`AsyncBufRead`
//!   (named apart from `TryStreamExt::into_async_read`, which gives a
//!   futures-io reader).
//!
//! # Backpressure
//! A readable is polled, never pushed: it produces a chunk only when its
//! consumer asks for one, so it cannot run ahead of a slow consumer.

mod chunk_reader;
mod from;

pub use self::chunk_reader::ChunkReader;
pub use self::from::{
    FromIter, FromStream, FromTryStream, from_iter, from_stream, from_try_stream,
};

use bytes::Bytes;
use futures_core::Stream;
use tokio_util::io::StreamReader;

use crate::error::Error;
use crate::transform::{Through, Transform};

/// A readable stream of `T`: any `Stream<Item = Result<T, Error>>`.
///
/// This trait has a blanket impl; use it to name the shape in bounds.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::Readable;
///
/// async fn total_len(src: impl Readable<Bytes>) -> Result<usize, weir::Error> {
///     src.try_fold(0, |n, chunk| async move { Ok(n + chunk.len()) }).await
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let src = weir::readable::from_iter(["ab", "cde"].map(|s: &'static str| Bytes::from(s)));
/// assert_eq!(total_len(src).await?, 5);
/// # Ok(()) }
/// ```
pub trait Readable<T>: Stream<Item = Result<T, Error>> {}

impl<S, T> Readable<T> for S where S: Stream<Item = Result<T, Error>> + ?Sized {}

/// Combinators on readable streams.
pub trait ReadableExt: Stream {
    /// Runs `transform` over this stream, pull-driven (see [`Through`]).
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use weir::{readable, transform::map, ReadableExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let out: Vec<u32> = readable::from_iter(1..=3u32).through(map(|n| n * 10)).try_collect().await?;
    /// assert_eq!(out, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    fn through<X>(self, transform: X) -> Through<Self, X>
    where
        Self: Sized + Readable<X::In>,
        X: Transform,
    {
        Through::new(self, transform)
    }

    /// Reads this stream of bytes as an `AsyncRead` + `AsyncBufRead`. Errors
    /// become `io::Error`s whose `get_ref()` downcasts to [`Error`].
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use tokio::io::AsyncReadExt;
    /// use weir::{readable, ReadableExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let mut r = readable::from_iter(["he", "llo"].map(|s: &'static str| Bytes::from(s))).into_byte_reader();
    /// let mut s = String::new();
    /// r.read_to_string(&mut s).await?;
    /// assert_eq!(s, "hello");
    /// # Ok(()) }
    /// ```
    fn into_byte_reader(self) -> StreamReader<Self, Bytes>
    where
        Self: Sized + Readable<Bytes>,
    {
        StreamReader::new(self)
    }
}

impl<S> ReadableExt for S where S: Stream + ?Sized {}
