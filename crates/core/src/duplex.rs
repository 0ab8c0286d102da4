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
        (
            Duplex {
                writer: wa,
                reader: ra,
            },
            Duplex {
                writer: wb,
                reader: rb,
            },
        )
    }

    /// Joins a writing half and a reading half into one duplex.
    pub fn from_parts(writer: Writer<T>, reader: Reader<T>) -> Self {
        Duplex { writer, reader }
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
        self.get_mut().reader.poll_recv(cx)
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
        Pin::new(&mut self.get_mut().reader).poll_read(cx, buf)
    }
}

impl AsyncBufRead for Duplex<Bytes> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().reader).poll_fill_buf(cx)
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
