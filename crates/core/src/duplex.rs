//! A duplex: two independent one-way buffers, one per direction.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use crate::buffer::{BufferConfig, Reader, Writer};
use crate::error::Error;
use crate::limit::Limit;
use crate::stats::Stats;

/// One end of a duplex pair: it writes into one buffer and reads from the
/// other (Node's `Duplex`, like a `net.Socket`: two independent buffers).
///
/// A `Duplex` is a [`Stream`] of what the other end wrote and a [`Sink`] for
/// what it sends; a `Duplex<Bytes>` is also `AsyncRead` + `AsyncBufRead` +
/// `AsyncWrite`. Each direction has its own limit, stats and closing:
/// ending the write half (`end`, `poll_close`, `poll_shutdown`) is a
/// half-close, and the read half keeps working.
///
/// # Half-open
/// By default an end stays half-open when the other end finishes writing
/// (Node's `Duplex` default, `allowHalfOpen: true`): reading the end of the
/// stream leaves this end's write half open. With
/// [`allow_half_open(false)`](Duplex::allow_half_open), the end of what it
/// reads ends what it writes too (Node's `allowHalfOpen: false`): what it
/// has written still reaches the other end, then the end of the stream.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use weir::{duplex, Limit};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let (mut client, mut server) = duplex::<Bytes>(Limit::bytes(64));
/// client.write_all(b"ping").await?;
/// client.shutdown().await?;              // half-close: the client can still read
/// let mut req = Vec::new();
/// server.read_to_end(&mut req).await?;
/// server.write_all(b"pong").await?;
/// server.shutdown().await?;
/// let mut resp = String::new();
/// client.read_to_string(&mut resp).await?;
/// assert_eq!((req.as_slice(), resp.as_str()), (&b"ping"[..], "pong"));
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct Duplex<T> {
    writer: Writer<T>,
    reader: Reader<T>,
    /// Node's `allowHalfOpen` (default `true`).
    half_open: bool,
}

/// Makes a connected duplex pair whose two directions each buffer up to
/// `limit`. What one end writes, the other reads.
pub fn duplex<T>(limit: Limit<T>) -> (Duplex<T>, Duplex<T>) {
    let cfg = BufferConfig::new(limit);
    Duplex::pair(&cfg, &cfg)
}

impl<T> Duplex<T> {
    /// Makes a connected pair with one configuration per direction:
    /// `a_to_b` for what the first end writes, `b_to_a` for what the second
    /// writes.
    ///
    /// # Examples
    /// ```
    /// use bytes::Bytes;
    /// use weir::{BufferConfig, Duplex, Limit};
    ///
    /// let up = BufferConfig::new(Limit::<Bytes>::bytes(1024)).name("upload").clone();
    /// let down = BufferConfig::new(Limit::<Bytes>::bytes(64 * 1024)).name("download").clone();
    /// let (client, server) = Duplex::pair(&up, &down);
    /// assert_eq!(client.write_stats().high_water_mark, 1024);
    /// assert_eq!(server.write_stats().high_water_mark, 64 * 1024);
    /// ```
    pub fn pair(a_to_b: &BufferConfig<T>, b_to_a: &BufferConfig<T>) -> (Duplex<T>, Duplex<T>) {
        let (wa, rb) = a_to_b.build();
        let (wb, ra) = b_to_a.build();
        (Duplex::from_parts(wa, ra), Duplex::from_parts(wb, rb))
    }

    /// Whether this end stays half-open when the other end finishes
    /// writing (Node's `allowHalfOpen`; `true` by default, as for Node's
    /// `Duplex`). With `false`, once this end reads the end of the stream,
    /// through its `Stream`, `AsyncRead` or `AsyncBufRead` side, it ends its
    /// write half as [`Writer::end`] does: what it wrote is still delivered,
    /// then the other end sees the end. An error read (an abort, a dropped
    /// writer) is not an end and leaves the write half as it is. Reading
    /// through [`reader`](Duplex::reader) or after
    /// [`into_parts`](Duplex::into_parts) bypasses the duplex, and so this.
    ///
    /// # Examples
    /// ```
    /// use futures::{SinkExt, StreamExt};
    /// use weir::{duplex, Limit};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
    /// let (server, mut client) = duplex::<u32>(Limit::items(8));
    /// let mut server = server.allow_half_open(false);
    /// client.send(1).await?;
    /// client.close().await?;                 // the client is done writing
    /// assert_eq!(server.next().await.transpose()?, Some(1));
    /// assert!(server.next().await.is_none()); // ... and the server ends too
    /// assert!(client.next().await.is_none());
    /// # Ok(()) }
    /// ```
    pub fn allow_half_open(mut self, allow: bool) -> Self {
        self.half_open = allow;
        self
    }

    /// Whether this end stays half-open (see
    /// [`allow_half_open`](Duplex::allow_half_open)).
    pub fn allows_half_open(&self) -> bool {
        self.half_open
    }

    /// After a read: without half-open, the end of the read half ends the
    /// write half.
    fn after_read(&mut self) {
        if !self.half_open && self.reader.saw_end() {
            // Once: `end` hands the writer's gathered chunks over first and
            // does nothing when called again.
            self.half_open = true;
            self.writer.end();
        }
    }

    /// Joins a writing half and a reading half into one duplex.
    pub fn from_parts(writer: Writer<T>, reader: Reader<T>) -> Self {
        Duplex {
            writer,
            reader,
            half_open: true,
        }
    }

    /// Splits into the writing half and the reading half, which can then be
    /// used from different tasks.
    pub fn into_parts(self) -> (Writer<T>, Reader<T>) {
        (self.writer, self.reader)
    }

    /// The writing half.
    pub fn writer(&mut self) -> &mut Writer<T> {
        &mut self.writer
    }

    /// The reading half.
    pub fn reader(&mut self) -> &mut Reader<T> {
        &mut self.reader
    }

    /// Stats of the direction this end writes into.
    pub fn write_stats(&self) -> Stats {
        self.writer.stats()
    }

    /// Stats of the direction this end reads from.
    pub fn read_stats(&self) -> Stats {
        self.reader.stats()
    }
}

impl<T> fmt::Debug for Duplex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("writer", &self.writer)
            .field("reader", &self.reader)
            .finish()
    }
}

impl<T> Unpin for Duplex<T> {}

impl<T> Stream for Duplex<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let out = this.reader.poll_recv(cx);
        this.after_read();
        out
    }
}

impl<T> Sink<T> for Duplex<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().writer).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}

impl AsyncRead for Duplex<Bytes> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let out = Pin::new(&mut this.reader).poll_read(cx, buf);
        this.after_read();
        out
    }
}

impl AsyncBufRead for Duplex<Bytes> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        // The filled buffer borrows the reader, so look first and lend after:
        // once a chunk is current, filling again lends it without a poll.
        let at_end = match Pin::new(&mut this.reader).poll_fill_buf(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(buf)) => buf.is_empty(),
        };
        if at_end {
            this.after_read();
            return Poll::Ready(Ok(&[]));
        }
        Pin::new(&mut this.reader).poll_fill_buf(cx)
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().reader).consume(amt)
    }
}

impl AsyncWrite for Duplex<Bytes> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().writer), cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_shutdown(cx)
    }
}
