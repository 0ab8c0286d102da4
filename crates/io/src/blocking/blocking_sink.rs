use std::fmt;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_sink::Sink;
use weir_core::Error;

use crate::write_engine::WriteEngine;
use crate::{BlockingSinkBuilder, ByteCounter};

/// A `Sink<Bytes>` over any blocking `std::io::Write`, writing on Tokio's
/// blocking pool in batches, with one batch in flight while the next fills.
///
/// Chunks are gathered into a batch until it holds the block size (1 MiB by
/// default); the full batch goes to the blocking pool in one hop and is
/// written there with vectored writes (short writes are continued where
/// they stopped), then the writer is flushed. Meanwhile the next batch
/// fills. Chunks under 4 KiB are copied together so that a stream of tiny
/// chunks still makes few, large writes; larger chunks are never copied.
/// [`stdout()`](crate::stdout) is one of these; for files use
/// [`FileSink`](crate::FileSink).
///
/// # Backpressure
/// `poll_ready` is `Pending` only while a batch is full and the previous one
/// is still being written.
///
/// # Closing
/// `poll_flush` writes everything accepted so far (a partial batch too) and
/// flushes the writer; `poll_close` does the same, then drops the writer on
/// the blocking pool. After `close`, sending is an error
/// ([`is_ended`](weir_core::Error::is_ended)).
///
/// # Memory use
/// At most two batches (the filling one, up to the block size plus one
/// chunk, and the one in flight).
///
/// # Cancel safety
/// The `Sink` methods are poll functions: a dropped `send`, `flush` or
/// `close` future loses nothing, and calling again continues. Dropping the
/// sink itself abandons what was not written yet: a write in flight
/// finishes on the blocking pool, the rest is dropped.
///
/// # Errors
/// The first write error (or a panic in the writer, or a missing Tokio
/// runtime) fails the sink: it is returned once, and every later call
/// returns a copy of it. A writer that takes 0 bytes is a `WriteZero`
/// error. Errors carry the stage name.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
/// use weir_io::{BlockingSink, BlockingSource};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let src = BlockingSource::new(std::io::Cursor::new(vec![1u8; 300_000]));
/// let mut sink = BlockingSink::new(std::io::sink());
/// src.forward(&mut sink).await?; // sends everything, then closes
/// assert_eq!(sink.bytes_written(), 300_000);
/// assert!(sink.send(Bytes::from_static(b"late")).await.unwrap_err().is_ended());
/// # Ok(()) }
/// ```
#[must_use = "sinks do nothing unless polled"]
pub struct BlockingSink<W> {
    engine: WriteEngine<W>,
}

impl<W: Write + Send + 'static> BlockingSink<W> {
    /// A sink over `writer` with the default settings (see
    /// [`BlockingSinkBuilder`]).
    pub fn new(writer: W) -> Self {
        BlockingSinkBuilder::default().build(writer)
    }

    pub(crate) fn from_engine(engine: WriteEngine<W>) -> Self {
        BlockingSink { engine }
    }

    /// The batch size.
    pub fn block_size(&self) -> usize {
        self.engine.block_size()
    }

    /// Bytes the writer has taken so far.
    pub fn bytes_written(&self) -> u64 {
        self.engine.counter().get()
    }

    /// Bytes accepted and not yet written.
    pub fn buffered(&self) -> usize {
        self.engine.buffered()
    }

    /// A live handle on [`bytes_written`](Self::bytes_written), usable after
    /// the sink has been moved into a pipeline.
    pub fn counter(&self) -> ByteCounter {
        self.engine.counter().clone()
    }
}

impl BlockingSink<()> {
    /// Settings for a sink: batch size and name; ended by
    /// [`BlockingSinkBuilder::build`], which fixes the writer type.
    pub fn builder() -> BlockingSinkBuilder {
        BlockingSinkBuilder::new()
    }
}

impl<W: Write + Send + 'static> Sink<Bytes> for BlockingSink<W> {
    type Error = Error;

    /// # Return value
    /// - `Pending`: a full batch waits for the one in flight; the task is
    ///   woken when it is written.
    /// - `Ready(Ok(()))`: `start_send` may be called.
    /// - `Ready(Err(e))`: the sink has failed or is closed.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().engine.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        self.get_mut().engine.start_send(chunk)
    }

    /// # Return value
    /// - `Pending`: writes are in flight; the task is woken when one ends.
    /// - `Ready(Ok(()))`: everything accepted has been written and flushed.
    /// - `Ready(Err(e))`: a write failed; the sink has failed.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().engine.poll_flush(cx)
    }

    /// # Return value
    /// - `Pending`: the last writes are in flight.
    /// - `Ready(Ok(()))`: everything is written and the writer dropped;
    ///   later calls return `Ok` again.
    /// - `Ready(Err(e))`: a write failed; the sink has failed.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().engine.poll_close(cx)
    }
}

impl<W> fmt::Debug for BlockingSink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingSink")
            .field("engine", &self.engine)
            .finish()
    }
}
