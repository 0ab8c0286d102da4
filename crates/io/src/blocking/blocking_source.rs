use std::fmt;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use weir_core::Error;

use crate::read_engine::ReadEngine;
use crate::{BlockingSourceBuilder, ByteCounter};

/// Any blocking `std::io::Read` as a stream of `Bytes` chunks, read on
/// Tokio's blocking pool one block per hop with one block of read-ahead.
///
/// The first poll starts reading the first block; as soon as a block
/// arrives the next one is started, and the arrived one is handed out in
/// chunks of at most the chunk size (64 KiB by default), split off without
/// copying. How each block is read (filled, or one read call) is set with
/// [`BlockingSourceBuilder::fill`]. [`stdin()`](crate::stdin) is one of
/// these; for files use [`FileSource`](crate::FileSource), which adds the
/// path to its errors.
///
/// The stream is fused: after the end or an error it yields `None`.
///
/// # Memory use
/// At most two blocks: the one being handed out and the one being read. In
/// read-once mode the reused read buffer (one block) comes on top.
///
/// # Cancel safety
/// Dropping the stream, or a `next()` future, loses at most the block being
/// read ahead: the blocking read in flight finishes by itself and its data
/// is dropped. Nothing blocks and nothing leaks, but a read that never
/// returns (a terminal nobody types into) keeps its blocking-pool thread,
/// and so the runtime's shutdown, waiting; see [`stdin()`](crate::stdin).
///
/// # Errors
/// A read error is yielded once, in place of the block it hit (data of that
/// block read before the error is dropped), and ends the stream. A panic in
/// the reader is an error for which `is_panic()` is true. Without a Tokio
/// runtime the first poll yields an error. Errors carry the stage name.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir_io::BlockingSource;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let reader = std::io::Cursor::new(vec![7u8; 100_000]);
/// let chunks: Vec<_> = BlockingSource::new(reader).try_collect().await?;
/// assert_eq!(chunks.len(), 2); // 64 KiB + the rest
/// assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 100_000);
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct BlockingSource<R> {
    engine: ReadEngine<R>,
}

impl<R: Read + Send + 'static> BlockingSource<R> {
    /// A source over `reader` with the default settings (see
    /// [`BlockingSourceBuilder`]).
    pub fn new(reader: R) -> Self {
        BlockingSourceBuilder::default().build(reader)
    }

    pub(crate) fn from_engine(engine: ReadEngine<R>) -> Self {
        BlockingSource { engine }
    }

    /// The largest chunk this source hands out.
    pub fn chunk_size(&self) -> usize {
        self.engine.config().chunk
    }

    /// How much one blocking read asks for (after rounding).
    pub fn block_size(&self) -> usize {
        self.engine.config().block
    }

    /// Bytes handed out so far.
    pub fn bytes_read(&self) -> u64 {
        self.engine.counter().get()
    }

    /// A live handle on [`bytes_read`](Self::bytes_read), usable after the
    /// source has been moved into a pipeline.
    pub fn counter(&self) -> ByteCounter {
        self.engine.counter().clone()
    }
}

impl BlockingSource<()> {
    /// Settings for a source: chunk and block size, fill mode, name; ended
    /// by [`BlockingSourceBuilder::build`], which fixes the reader type.
    pub fn builder() -> BlockingSourceBuilder {
        BlockingSourceBuilder::new()
    }
}

impl<R: Read + Send + 'static> Stream for BlockingSource<R> {
    type Item = Result<Bytes, Error>;

    /// # Return value
    /// - `Pending`: a block is being read; the task is woken when it arrives.
    /// - `Ready(Some(Ok(chunk)))`: the next chunk, never empty.
    /// - `Ready(Some(Err(e)))`: the read failed; the stream has ended.
    /// - `Ready(None)`: the input has ended (and stays ended).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().engine.poll_next(cx)
    }
}

impl<R: Read + Send + 'static> FusedStream for BlockingSource<R> {
    fn is_terminated(&self) -> bool {
        self.engine.is_terminated()
    }
}

impl<R> fmt::Debug for BlockingSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingSource").finish_non_exhaustive()
    }
}
