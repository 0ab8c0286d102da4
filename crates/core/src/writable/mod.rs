//! Writable sinks: where chunks go.
//!
//! In weir a writable is any `Sink<T, Error = Error>` (the [`Writable`] trait
//! names that shape): a buffer's [`Writer`](crate::Writer), or a
//! [`ChunkWriter`] over any `AsyncWrite` (a file, a socket, stdout), or
//! [`from_fn`] over an async function called once per chunk.
//!
//! # Backpressure
//! A sink says it is ready for another chunk through `poll_ready`; the
//! `SinkExt::send`/`feed` futures and weir's pumps wait on it. A
//! [`ChunkWriter`] is ready while it holds less than its high mark of
//! unwritten bytes: past it, it waits for the `AsyncWrite` to take them.

mod chunk_writer;
mod from_fn;
mod vectored;

pub use self::chunk_writer::ChunkWriter;
pub use self::from_fn::{FromFn, from_fn};
pub use self::vectored::poll_write_chunks;

use futures_sink::Sink;

use crate::error::Error;

/// A writable sink of `T`: any `Sink<T, Error = Error>`.
///
/// This trait has a blanket impl; use it to name the shape in bounds.
///
/// # Examples
/// ```
/// use futures::SinkExt;
/// use weir::Writable;
///
/// async fn greet(mut dst: impl Writable<String> + Unpin) -> Result<(), weir::Error> {
///     dst.send("hello".to_string()).await?;
///     dst.close().await
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let (tx, mut rx) = weir::buffer(weir::Limit::items(4));
/// greet(tx).await?;
/// assert_eq!(rx.try_next().as_deref(), Some("hello"));
/// # Ok(()) }
/// ```
pub trait Writable<T>: Sink<T, Error = Error> {}

impl<S, T> Writable<T> for S where S: Sink<T, Error = Error> + ?Sized {}
