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
    /// one. Nothing is copied on the way. [`cork`](ChunkWriter::cork) holds
    /// chunks back on purpose, to send them together.
    ///
    /// `poll_flush` writes everything (unless corked) and flushes the
    /// `AsyncWrite`; `poll_close` uncorks, does that and then shuts it down
    /// (Node's `end()`). A
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
        // How many `cork()` calls are not yet undone by `uncork()`.
        corked: u32,
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
            corked: 0,
        }
    }

    /// Holds chunks back until [`uncork`](ChunkWriter::uncork) (Node's
    /// `writable.cork()`): chunks sent meanwhile only queue, even to an idle
    /// `AsyncWrite`, and `poll_flush` leaves them queued. Uncorked, they go
    /// out together, in one vectored write when the `AsyncWrite` supports
    /// it (up to 64 chunks per write), instead of one write each.
    ///
    /// Backpressure still applies: once the queue reaches the high mark,
    /// `poll_ready` writes what is queued (in one vectored write) before
    /// taking another chunk, and the cork holds for the chunks after. Calls
    /// nest, as in Node: each `cork` needs its `uncork`. `poll_close`
    /// uncorks (Node's `end()`).
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use futures::SinkExt;
    /// use weir::writable::ChunkWriter;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let mut w = ChunkWriter::new(Vec::new());
    /// w.cork();
    /// w.send(Bytes::from_static(b"HTTP/1.1 200 OK\r\n")).await?;
    /// w.send(Bytes::from_static(b"\r\n")).await?;
    /// assert!(w.get_ref().is_empty()); // held back
    /// w.uncork();
    /// w.flush().await?;                // both go out together
    /// assert_eq!(w.get_ref(), b"HTTP/1.1 200 OK\r\n\r\n");
    /// # Ok(()) }
    /// ```
    pub fn cork(&mut self) {
        self.corked = self.corked.saturating_add(1);
    }

    /// Undoes one [`cork`](ChunkWriter::cork) (Node's `writable.uncork()`).
    /// After the last one, the queued chunks go out together at the next
    /// poll: the `poll_ready` of the next chunk, or `poll_flush`
    /// (`flush().await`) or `poll_close`. Does nothing if not corked.
    pub fn uncork(&mut self) {
        self.corked = self.corked.saturating_sub(1);
    }

    /// Whether chunks are held back (see [`cork`](ChunkWriter::cork)).
    pub fn is_corked(&self) -> bool {
        self.corked > 0
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
        if self.corked > 0 && self.queued < self.high {
            // Corked: hold chunks back until uncork() or the high mark.
            return Poll::Ready(Ok(()));
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
        // Corked, the queue waits for uncork(); what the AsyncWrite took is
        // still flushed.
        if self.corked == 0 {
            ready!(self.as_mut().poll_write_queued(cx))?;
        }
        ready!(self.project().inner.poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Ended from the first call on, as Node's `end()`: what is queued
        // still goes out, nothing more is taken.
        *self.as_mut().project().ended = true;
        *self.as_mut().project().corked = 0;
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
            .field("corked", &self.corked)
            .finish()
    }
}
