use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::io::AsyncRead;
use tokio_util::io::poll_read_buf;

use crate::error::Error;
use crate::limit::DEFAULT_BYTES;

pin_project! {
    /// Reads an `AsyncRead` as a stream of `Bytes` chunks of at most a chosen
    /// size (64 KiB by default, Node's file `highWaterMark`).
    ///
    /// Each chunk is what one read returned: a file gives full chunks, a socket
    /// gives what has arrived. Chunks are split off one growing allocation, so
    /// reading copies nothing beyond what the `AsyncRead` itself does. The
    /// stream is fused: after the end or an error it yields `None`.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use weir::readable::ChunkReader;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let data: &[u8] = b"0123456789";
    /// let chunks: Vec<_> = ChunkReader::with_chunk_size(data, 4).try_collect().await?;
    /// assert_eq!(chunks, ["0123", "4567", "89"]);
    /// # Ok(()) }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct ChunkReader<R> {
        #[pin]
        inner: Option<R>,
        buf: BytesMut,
        chunk_size: usize,
    }
}

impl<R: AsyncRead> ChunkReader<R> {
    /// Reads `reader` in chunks of at most 64 KiB.
    pub fn new(reader: R) -> Self {
        ChunkReader::with_chunk_size(reader, DEFAULT_BYTES)
    }

    /// Reads `reader` in chunks of at most `chunk_size` bytes (at least 1).
    pub fn with_chunk_size(reader: R, chunk_size: usize) -> Self {
        ChunkReader {
            inner: Some(reader),
            buf: BytesMut::new(),
            chunk_size: chunk_size.max(1),
        }
    }

    /// The chunk size.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The reader, unless the stream has finished.
    pub fn get_ref(&self) -> Option<&R> {
        self.inner.as_ref()
    }

    /// The reader, unless the stream has finished.
    pub fn into_inner(self) -> Option<R> {
        self.inner
    }
}

impl<R: AsyncRead> Stream for ChunkReader<R> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let Some(reader) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        if this.buf.capacity() - this.buf.len() < *this.chunk_size {
            // Room for one more chunk; allocations whose chunks have all been
            // dropped by their consumers are reclaimed here.
            this.buf.reserve(*this.chunk_size);
        }
        // At most one chunk per read: the reader sees only `chunk_size` bytes
        // of spare capacity.
        let res = poll_read_buf(reader, cx, &mut (&mut *this.buf).limit(*this.chunk_size));
        match res {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => {
                this.inner.set(None);
                Poll::Ready(None)
            }
            Poll::Ready(Ok(n)) => Poll::Ready(Some(Ok(this.buf.split_to(n).freeze()))),
            Poll::Ready(Err(e)) => {
                this.inner.set(None);
                Poll::Ready(Some(Err(Error::from(e))))
            }
        }
    }
}

impl<R: AsyncRead> FusedStream for ChunkReader<R> {
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}

impl<R> fmt::Debug for ChunkReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkReader")
            .field("chunk_size", &self.chunk_size)
            .field("finished", &self.inner.is_none())
            .finish()
    }
}
