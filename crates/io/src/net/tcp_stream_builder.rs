use std::sync::Arc;

use tokio::net::ToSocketAddrs;
use weir_core::{DEFAULT_BYTES, Error};

use super::{TcpReader, TcpStream, TcpWriter};

/// Options of a [`TcpStream`]: the write high mark, the read chunk size,
/// `TCP_NODELAY` and the name its errors and buffer carry.
///
/// Defaults (not part of the semver contract): a 64 KiB write high mark
/// (Node's `writableHighWaterMark`), 64 KiB read chunks, `TCP_NODELAY` on,
/// name `"tcp"`.
///
/// # Examples
/// ```
/// use weir_io::net::{TcpListener, TcpStream};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir_core::Error> {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let client = TcpStream::builder()
///     .write_high_water_mark(256 * 1024)
///     .chunk_size(16 * 1024)
///     .connect(addr)
///     .await?;
/// assert_eq!(client.writer_ref().high_water_mark(), 256 * 1024);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TcpStreamBuilder {
    pub(crate) write_hwm: usize,
    pub(crate) chunk_size: usize,
    pub(crate) nodelay: bool,
    pub(crate) name: Arc<str>,
}

impl Default for TcpStreamBuilder {
    fn default() -> Self {
        TcpStreamBuilder {
            write_hwm: DEFAULT_BYTES,
            chunk_size: DEFAULT_BYTES,
            nodelay: true,
            name: Arc::from("tcp"),
        }
    }
}

impl TcpStreamBuilder {
    /// The default options.
    pub fn new() -> Self {
        TcpStreamBuilder::default()
    }

    /// The write buffer's high mark in bytes (at least 1): where
    /// [`TcpWriter::write`] starts answering `Full`.
    pub fn write_high_water_mark(&mut self, bytes: usize) -> &mut Self {
        self.write_hwm = bytes.max(1);
        self
    }

    /// The most one read hands out (at least 1).
    pub fn chunk_size(&mut self, bytes: usize) -> &mut Self {
        self.chunk_size = bytes.max(1);
        self
    }

    /// Sets `TCP_NODELAY` (on by default: the write buffer already gathers
    /// small chunks, so Nagle's delay only adds latency).
    pub fn nodelay(&mut self, on: bool) -> &mut Self {
        self.nodelay = on;
        self
    }

    /// The stage name errors carry and the write buffer's name.
    pub fn name(&mut self, name: impl Into<Arc<str>>) -> &mut Self {
        self.name = name.into();
        self
    }

    /// Connects to `addr` (the first address that accepts).
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future abandons the connection attempt.
    ///
    /// # Errors
    /// The connection error ([`Error::is_io`]), e.g. `ConnectionRefused`.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> Result<TcpStream, Error> {
        let socket = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Error::from(e).with_stage(self.name.clone()))?;
        self.wrap(socket)
    }

    /// Wraps a connected Tokio socket. Must be called inside a Tokio runtime
    /// (the writer spawns its task).
    ///
    /// # Errors
    /// If the socket's addresses cannot be read or `TCP_NODELAY` cannot be
    /// set (the socket is then already broken).
    pub fn wrap(&self, socket: tokio::net::TcpStream) -> Result<TcpStream, Error> {
        let err = |e: std::io::Error| Error::from(e).with_stage(self.name.clone());
        socket.set_nodelay(self.nodelay).map_err(err)?;
        let local = socket.local_addr().map_err(err)?;
        let peer = socket.peer_addr().map_err(err)?;
        let (r, w) = socket.into_split();
        let reader = TcpReader::new(r, self.chunk_size, self.name.clone());
        let writer = TcpWriter::spawn_socket(w, self.write_hwm, self.name.clone());
        Ok(TcpStream::from_parts(reader, writer, local, peer))
    }
}
