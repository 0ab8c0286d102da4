use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use tokio::net::ToSocketAddrs;
use weir_core::Error;

use super::{TcpReader, TcpStreamBuilder, TcpWriter};

/// A connected TCP socket as a weir duplex (Node's `net.Socket`): a
/// [`TcpReader`] and a [`TcpWriter`], each with its own buffer, usable
/// together (this type is a `Stream` and a `Sink<Bytes>`) or apart
/// ([`into_split`](TcpStream::into_split)), e.g. on two tasks.
///
/// # Examples
/// A half-close: the client ends its writing and still reads the answer.
/// ```
/// use futures::TryStreamExt;
/// use weir_io::net::{connect, listen};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let listener = listen("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// tokio::spawn(async move {
///     let (sock, _) = listener.accept().await?;
///     let (reader, mut writer) = sock.into_split();
///     let question: Vec<_> = reader.try_collect().await?; // until the client's FIN
///     writer.send(format!("got {} bytes", question.concat().len()).into()).await?;
///     writer.finish().await.map(drop)
/// });
/// let (reader, mut writer) = connect(addr).await?.into_split();
/// writer.send("hello".into()).await?;
/// writer.finish().await?;
/// let answer: Vec<_> = reader.try_collect().await?;
/// assert_eq!(answer.concat(), b"got 5 bytes");
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct TcpStream {
    reader: TcpReader,
    writer: TcpWriter,
    local: SocketAddr,
    peer: SocketAddr,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}

/// Connects to `addr` with the default options (see [`TcpStreamBuilder`]).
///
/// # Cancel safety
/// Cancel safe: dropping the future abandons the attempt.
///
/// # Errors
/// The connection error ([`Error::is_io`]), e.g. `ConnectionRefused`.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let listener = weir_io::net::listen("127.0.0.1:0").await.unwrap();
/// let port = listener.local_addr().unwrap().port();
/// drop(listener);
/// let err = weir_io::net::connect(("127.0.0.1", port)).await.unwrap_err();
/// assert_eq!(err.io_kind(), std::io::ErrorKind::ConnectionRefused);
/// # }
/// ```
pub async fn connect(addr: impl ToSocketAddrs) -> Result<TcpStream, Error> {
    TcpStreamBuilder::default().connect(addr).await
}

impl TcpStream {
    /// Options for a new stream.
    pub fn builder() -> TcpStreamBuilder {
        TcpStreamBuilder::default()
    }

    pub(crate) fn from_parts(
        reader: TcpReader,
        writer: TcpWriter,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        TcpStream {
            reader,
            writer,
            local,
            peer,
        }
    }

    /// The two halves, to use apart.
    pub fn into_split(self) -> (TcpReader, TcpWriter) {
        (self.reader, self.writer)
    }

    /// The readable half.
    pub fn reader(&mut self) -> &mut TcpReader {
        &mut self.reader
    }

    /// The writable half.
    pub fn writer(&mut self) -> &mut TcpWriter {
        &mut self.writer
    }

    /// The writable half, shared.
    pub fn writer_ref(&self) -> &TcpWriter {
        &self.writer
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
}

impl Stream for TcpStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().reader).poll_next(cx)
    }
}

impl Sink<Bytes> for TcpStream {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        Pin::new(&mut self.get_mut().writer).start_send(chunk)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }
    /// Writes what is buffered and shuts down the write side; the readable
    /// half stays open.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}
