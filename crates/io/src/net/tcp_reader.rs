use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use pin_project_lite::pin_project;
use tokio::net::tcp::OwnedReadHalf;
use weir_core::Error;
use weir_core::readable::ChunkReader;

use crate::counter::ByteCounter;

pin_project! {
    /// The readable half of a [`TcpStream`](super::TcpStream): the bytes the
    /// peer sends, as a stream of `Bytes` chunks of at most the chunk size
    /// (64 KiB by default). The stream ends (`None`) when the peer shuts down
    /// its write side, and is fused after the end or an error.
    ///
    /// The socket is read only while the stream is polled: a consumer that
    /// stops leaves data in the kernel's receive buffer, the TCP window
    /// closes and the sender is held back. Each chunk is what one read
    /// returned, split off a shared allocation without copying.
    ///
    /// # Examples
    /// ```
    /// use futures::TryStreamExt;
    /// use weir_io::net::{connect, listen};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
    /// let listener = listen("127.0.0.1:0").await?;
    /// let mut client = connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// client.writer().send("ping".into()).await?;
    /// client.writer().finish().await?; // half-close: client can still read
    /// let (reader, _w) = server.into_split();
    /// let got: Vec<_> = reader.try_collect().await?;
    /// assert_eq!(got.concat(), b"ping");
    /// # Ok(()) }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct TcpReader {
        #[pin]
        inner: ChunkReader<OwnedReadHalf>,
        read: ByteCounter,
        peer: Option<SocketAddr>,
        stage: Arc<str>,
    }
}

impl fmt::Debug for TcpReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpReader")
            .field("stage", &self.stage)
            .field("peer", &self.peer)
            .field("read", &self.read.get())
            .finish()
    }
}

impl TcpReader {
    pub(crate) fn new(half: OwnedReadHalf, chunk_size: usize, stage: Arc<str>) -> Self {
        let peer = half.peer_addr().ok();
        TcpReader {
            inner: ChunkReader::with_chunk_size(half, chunk_size),
            read: ByteCounter::new(),
            peer,
            stage,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.get()
    }

    /// A live count of the bytes read.
    pub fn counter(&self) -> ByteCounter {
        self.read.clone()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The most one chunk holds.
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size()
    }
}

impl Stream for TcpReader {
    type Item = Result<Bytes, Error>;

    /// # Return value
    /// - `Poll::Pending`: nothing has arrived; the waker is registered.
    /// - `Poll::Ready(Some(Ok(chunk)))`: the next bytes, never empty.
    /// - `Poll::Ready(Some(Err(e)))`: the socket failed (e.g. the peer reset
    ///   the connection); the stream is finished.
    /// - `Poll::Ready(None)`: the peer ended its side; fused.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        match this.inner.poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.read.add(chunk.len());
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.with_stage(this.stage.clone())))),
            other => other,
        }
    }
}

impl FusedStream for TcpReader {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}
