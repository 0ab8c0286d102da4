use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_sink::Sink;
use pin_project_lite::pin_project;
use tokio::io::AsyncWrite;

use crate::error::Error;
use crate::limit::DEFAULT_BYTES;
use crate::writable::poll_write_chunks;

pin_project! {
    /// A `Sink<Bytes>` over any `AsyncWrite`, holding up to a high mark of
    /// unwritten bytes (Node's `Writable` with its `highWaterMark`).
    ///
    /// Chunks are written as soon as the `AsyncWrite` takes them. While it
    /// is busy they queue; once the queue reaches the high mark (64 KiB by
    /// default), `poll_ready` waits. Queued chunks go out in one vectored
    /// write when the `AsyncWrite` supports it (Node's `_writev`), else one by
    /// one. Nothing is copied on the way.
    ///
    /// `poll_flush` writes everything and flushes the `AsyncWrite`;
    /// `poll_close` does that and then shuts it down (Node's `end()`). A
    /// write of 0 bytes is a `WriteZero` error.
    ///
    /// # Errors
    /// The `AsyncWrite`'s errors, as [`Error::is_io`] errors. Once
    /// `poll_close` has been called, `poll_ready` and `start_send` fail with
    /// an error for which [`Error::is_ended`] is true (Node's write after
    /// end), and the chunk never reaches the `AsyncWrite`.
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use futures::SinkExt;
    /// use weir::writable::ChunkWriter;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let mut w = ChunkWriter::new(Vec::new());
    /// w.send(Bytes::from_static(b"hello ")).await?;
    /// w.send(Bytes::from_static(b"world")).await?;
    /// w.close().await?;
    /// assert_eq!(w.get_ref(), b"hello world");
    /// # Ok(()) }
    /// ```
    #[must_use = "sinks do nothing unless polled"]
    pub struct ChunkWriter<W> {
        #[pin]
        inner: W,
        queue: VecDeque<Bytes>,
        queued: usize,
        high: usize,
        written: u64,
        // `poll_close` was called: later chunks are refused.
        ended: bool,
    }
}

impl<W: AsyncWrite> ChunkWriter<W> {
    /// A sink over `writer` with a high mark of 64 KiB.
    pub fn new(writer: W) -> Self {
        ChunkWriter::with_high_water_mark(writer, DEFAULT_BYTES)
    }

    /// A sink over `writer` that holds at most `high` unwritten bytes (plus
    /// one chunk) before `poll_ready` waits.
    pub fn with_high_water_mark(writer: W, high: usize) -> Self {
        ChunkWriter {
            inner: writer,
            queue: VecDeque::new(),
            queued: 0,
            high: high.max(1),
            written: 0,
            ended: false,
        }
    }

    /// Bytes queued and not yet taken by the `AsyncWrite`.
    pub fn buffered(&self) -> usize {
        self.queued
    }

    /// Bytes the `AsyncWrite` has taken so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The `AsyncWrite`.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The `AsyncWrite`, mutably. Writing to it directly may interleave with
    /// queued chunks.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The `AsyncWrite`, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.project().inner
    }

    /// The `AsyncWrite` and the chunks not yet written to it.
    pub fn into_parts(self) -> (W, VecDeque<Bytes>) {
        (self.inner, self.queue)
    }

    /// Writes queued chunks until none is left or the writer is not ready.
    fn poll_write_queued(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        while *this.queued > 0 {
            let n = ready!(poll_write_chunks(this.inner.as_mut(), cx, this.queue))?;
            if n == 0 {
                // Only empty chunks were left (and are gone).
                *this.queued = 0;
                break;
            }
            *this.queued -= n.min(*this.queued);
            *this.written += n as u64;
        }
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite> Sink<Bytes> for ChunkWriter<W> {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.ended {
            return Poll::Ready(Err(Error::ended()));
        }
        match self.as_mut().poll_write_queued(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            // The writer is busy: queue more until the high mark.
            Poll::Pending if self.queued < self.high => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn start_send(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        if self.ended {
            return Err(Error::ended());
        }
        if !chunk.is_empty() {
            let this = self.project();
            *this.queued += chunk.len();
            this.queue.push_back(chunk);
        }
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.as_mut().poll_write_queued(cx))?;
        ready!(self.project().inner.poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Ended from the first call on, as Node's `end()`: what is queued
        // still goes out, nothing more is taken.
        *self.as_mut().project().ended = true;
        ready!(self.as_mut().poll_write_queued(cx))?;
        ready!(self.project().inner.poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}

impl<W> fmt::Debug for ChunkWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkWriter")
            .field("queued", &self.queued)
            .field("high", &self.high)
            .field("written", &self.written)
            .field("ended", &self.ended)
            .finish()
    }
}
