use std::io;
use std::net::SocketAddr;

use tokio::net::ToSocketAddrs;
use weir_core::Error;

use super::{TcpStream, TcpStreamBuilder};

/// A listening socket whose accepted connections are weir [`TcpStream`]s
/// (Node's `net.Server`).
///
/// # Examples
/// ```
/// use weir_io::net::{TcpListener, TcpStream};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let mut listener = TcpListener::bind("127.0.0.1:0").await?;
/// listener.options().write_high_water_mark(1 << 20);
/// let client = TcpStream::builder().connect(listener.local_addr()?).await?;
/// let (server, peer) = listener.accept().await?;
/// assert_eq!(peer, client.local_addr());
/// assert_eq!(server.writer_ref().high_water_mark(), 1 << 20);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpListener {
    inner: tokio::net::TcpListener,
    options: TcpStreamBuilder,
}

/// Listens on `addr` with the default stream options (port 0 picks a free
/// port; read it back with [`TcpListener::local_addr`]).
///
/// # Errors
/// The bind error ([`Error::is_io`]), e.g. `AddrInUse`.
///
/// # Cancel safety
/// Cancel safe: if the future is dropped before it completes (name
/// resolution or binding in progress), no socket is left listening.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let listener = weir_io::net::listen("127.0.0.1:0").await?;
/// assert_ne!(listener.local_addr()?.port(), 0);
/// # Ok(()) }
/// ```
pub async fn listen(addr: impl ToSocketAddrs) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await
}

impl TcpListener {
    /// Listens on `addr`.
    ///
    /// # Cancel safety
    /// Cancel safe, as [`listen`].
    ///
    /// # Errors
    /// The bind error ([`Error::is_io`]).
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<TcpListener, Error> {
        let inner = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::from(e).with_stage("listen"))?;
        Ok(TcpListener::from_tokio(inner))
    }

    /// Wraps a Tokio listener.
    pub fn from_tokio(inner: tokio::net::TcpListener) -> TcpListener {
        TcpListener {
            inner,
            options: TcpStreamBuilder::default(),
        }
    }

    /// The options given to accepted streams, to change.
    pub fn options(&mut self) -> &mut TcpStreamBuilder {
        &mut self.options
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// If the socket cannot tell (it is then broken).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Waits for the next connection.
    ///
    /// # Cancel safety
    /// Cancel safe: no connection is lost if the future is dropped.
    ///
    /// # Errors
    /// An accept error ([`Error::is_io`]), e.g. too many open files.
    pub async fn accept(&self) -> Result<(TcpStream, SocketAddr), Error> {
        let (socket, peer) = self
            .inner
            .accept()
            .await
            .map_err(|e| Error::from(e).with_stage("accept"))?;
        Ok((self.options.wrap(socket)?, peer))
    }

    /// The Tokio listener.
    pub fn into_inner(self) -> tokio::net::TcpListener {
        self.inner
    }
}
